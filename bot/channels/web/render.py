"""``Reply`` → the JSON the chat page renders.  Pure: no aiohttp, no store.

The page builds every element with ``textContent`` (never ``innerHTML``), so text is data here, not
markup.  A button carries either its packed action (``bot.conversation.actions.pack``, an opaque
token the page posts back) or a link; only ``http`` and ``https`` links are passed on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.conversation.replies import Button, Reply


def safe_url(url: str | None) -> str | None:
    """The link when it is an absolute http(s) URL with a host, else None (no ``javascript:``)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return parts.geturl()


def button_json(button: Button) -> dict[str, str] | None:
    if button.action is not None:
        return {"label": button.label, "action": button.packed}
    url = safe_url(button.url)
    return {"label": button.label, "url": url} if url else None


def reply_json(reply: Reply) -> dict[str, Any]:
    rows = []
    for row in reply.buttons:
        shown = [b for b in (button_json(button) for button in row) if b is not None]
        if shown:
            rows.append(shown)
    data: dict[str, Any] = {"kind": reply.kind, "text": reply.text, "buttons": rows}
    if reply.title:
        data["title"] = reply.title
    return data
