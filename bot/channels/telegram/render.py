"""Reply → Telegram message parts: HTML with everything escaped, split below 4,096 characters.

Pure functions, no aiogram: the adapter turns each ``Part`` into a sendMessage call.  Sizes are
measured on the HTML markup in UTF-16 code units, which is never less than what Telegram counts
(characters after entity parsing), so a part that fits here fits there.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from bot.channels.split import PARAGRAPH, split_text, utf16_units
from bot.conversation.replies import Button, Reply

LIMIT = 4096  # Telegram's limit for one text message


@dataclass(frozen=True)
class Part:
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()


def escape(text: str) -> str:
    """Telegram HTML: every <, > and & that is not markup must be an entity."""
    return html.escape(text, quote=False)


def size(text: str) -> int:
    """Length of ``text`` once escaped, in UTF-16 code units."""
    return utf16_units(escape(text))


def text_id(text: str) -> str:
    """A short stable id for logs: lets staff match a failure to a reply without the text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def render(reply: Reply, limit: int = LIMIT) -> list[Part]:
    """The messages for one reply: title in bold on the first, buttons on the last."""
    heading = f"<b>{escape(reply.title.strip())}</b>" if reply.title and reply.title.strip() else ""
    body = reply.text.strip()
    if not body and not heading:
        body = "…"  # Telegram refuses an empty message; a reply with only buttons still needs text
    heading_size = utf16_units(heading) + len(PARAGRAPH) if heading else 0
    first_room = limit - heading_size
    pieces = split(body, limit, first_limit=max(first_room, 1)) if body else []
    texts = [escape(piece) for piece in pieces] or [""]
    if heading:
        texts[0] = f"{heading}{PARAGRAPH}{texts[0]}" if texts[0] else heading
    parts = [Part(text) for text in texts]
    parts[-1] = Part(parts[-1].html, reply.buttons)
    return parts


def split(text: str, limit: int, first_limit: int | None = None) -> list[str]:
    """Pieces whose escaped size fits, cut at paragraphs first; see ``bot.channels.split``."""
    return split_text(text, limit, size, first_limit)
