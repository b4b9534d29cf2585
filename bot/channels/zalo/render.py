"""Neutral ``Reply`` → Zalo consultation messages: plain text, button templates, numbered choices.

Limits from Zalo OA Open API v3, "Gửi tin Tư vấn" (developers.zalo.me/docs/official-account/
tin-nhan/tin-tu-van): message text at most 2,000 characters; a message template carries at most
5 buttons, each with a title of at most 100 characters and a payload of at most 1,000.
Lengths are counted in UTF-16 code units (an emoji counts twice), the conservative reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.channels import split
from bot.conversation.replies import MAX_ACTION_BYTES, Button, Reply

TEXT_LIMIT = 2000  # characters per text message (Zalo OA API v3, tin tư vấn dạng văn bản)
MAX_BUTTONS = 5  # buttons per message template (Zalo OA API v3, tin tư vấn đính kèm nút)
BUTTON_TITLE_LIMIT = 100  # characters per button title (same source)
PAYLOAD_PREFIX = "#dvc:"  # marks a button press in the user_send_text event Zalo sends back

@dataclass(frozen=True)
class Outgoing:
    text: str
    buttons: tuple[Button, ...] = ()


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return split.utf16_units(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Chunks within ``limit``, cut at a paragraph, line, sentence or word where possible, with
    no whitespace at either end."""
    return [chunk.strip() for chunk in split.split_text(text.strip(), limit, units)]


def clip(text: str, limit: int) -> str:
    if units(text) <= limit:
        return text
    return text[: split.fitting(text, limit - 1, units)].rstrip() + "…"


def pack(rows: tuple[tuple[Button, ...], ...]) -> list[tuple[Button, ...]]:
    """Button rows into groups of at most MAX_BUTTONS, keeping a row together where it fits."""
    groups: list[tuple[Button, ...]] = []
    current: list[Button] = []
    for row in rows:
        for start in range(0, len(row), MAX_BUTTONS):
            part = row[start : start + MAX_BUTTONS]
            if current and len(current) + len(part) > MAX_BUTTONS:
                groups.append(tuple(current))
                current = []
            current.extend(part)
    if current:
        groups.append(tuple(current))
    return groups


def plan(reply: Reply) -> list[Outgoing]:
    """The messages for one reply: text chunks, the first buttons on the last chunk, then the
    remaining button groups, each under the reply's title."""
    full = f"{reply.title}\n\n{reply.text}" if reply.title else reply.text
    chunks = split_text(full) or ["…"]
    groups = pack(reply.buttons)
    if not groups:
        return [Outgoing(chunk) for chunk in chunks]
    out = [Outgoing(chunk) for chunk in chunks[:-1]]
    out.append(Outgoing(chunks[-1], groups[0]))
    lead = clip(reply.title, TEXT_LIMIT) if reply.title else "…"
    out.extend(Outgoing(lead, group) for group in groups[1:])
    return out


def button_json(button: Button) -> dict[str, Any]:
    title = clip(button.label, BUTTON_TITLE_LIMIT)
    if button.url:
        return {"title": title, "type": "oa.open.url", "payload": {"url": button.url}}
    return {"title": title, "type": "oa.query.hide", "payload": PAYLOAD_PREFIX + button.packed}


def template(out: Outgoing) -> dict[str, Any]:
    return {"text": out.text, "attachment": {
        "type": "template", "payload": {"buttons": [button_json(b) for b in out.buttons]}}}


def text_message(text: str) -> dict[str, Any]:
    return {"text": text}


def numbered(text: str, buttons: list[Button], start: int,
             hint: str) -> tuple[list[str], list[str]]:
    """Text chunks listing the buttons as numbered choices, and the actions in number order."""
    lines: list[str] = []
    actions: list[str] = []
    for button in buttons:
        if button.url:
            lines.append(f"🔗 {button.label}: {button.url}")
        else:
            actions.append(button.packed)
            lines.append(f"{start + len(actions)}. {button.label}")
    if actions:
        lines.append(hint)
    body = f"{text}\n\n" + "\n".join(lines) if lines else text
    return split_text(body), actions


def action_of(text: str) -> str | None:
    """The action a button press carries back, or None for typed text."""
    if not text.startswith(PAYLOAD_PREFIX):
        return None
    action = text[len(PAYLOAD_PREFIX):].strip()
    if not action or len(action.encode("utf-8")) > MAX_ACTION_BYTES:
        return None
    return action


def choice_number(text: str) -> int | None:
    """'2', ' 2 ', '2.' → 2; anything else → None."""
    stripped = text.strip().rstrip(".)")
    return int(stripped) if stripped.isdigit() and len(stripped) <= 3 else None
