"""Reply → Telegram message parts: HTML with everything escaped, split below 4,096 characters.

Pure functions, no aiogram: the adapter turns each ``Part`` into a sendMessage call.  Sizes are
measured on the HTML markup in UTF-16 code units, which is never less than what Telegram counts
(characters after entity parsing), so a part that fits here fits there.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from bot.conversation.replies import Button, Reply

LIMIT = 4096  # Telegram's limit for one text message
PARAGRAPH = "\n\n"
SEPARATORS = ("\n", " ")  # inside a paragraph that is too long: break at lines, then words


@dataclass(frozen=True)
class Part:
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()


def escape(text: str) -> str:
    """Telegram HTML: every <, > and & that is not markup must be an entity."""
    return html.escape(text, quote=False)


def size(text: str) -> int:
    """Length of ``text`` once escaped, in UTF-16 code units."""
    return len(escape(text).encode("utf-16-le")) // 2


def text_id(text: str) -> str:
    """A short stable id for logs: lets staff match a failure to a reply without the text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def render(reply: Reply, limit: int = LIMIT) -> list[Part]:
    """The messages for one reply: title in bold on the first, buttons on the last."""
    heading = f"<b>{escape(reply.title.strip())}</b>" if reply.title and reply.title.strip() else ""
    body = reply.text.strip()
    if not body and not heading:
        body = "…"  # Telegram refuses an empty message; a reply with only buttons still needs text
    heading_size = len(heading.encode("utf-16-le")) // 2 + len(PARAGRAPH) if heading else 0
    first_room = limit - heading_size
    pieces = split(body, limit, first_limit=max(first_room, 1)) if body else []
    texts = [escape(piece) for piece in pieces] or [""]
    if heading:
        texts[0] = f"{heading}{PARAGRAPH}{texts[0]}" if texts[0] else heading
    parts = [Part(text) for text in texts]
    parts[-1] = Part(parts[-1].html, reply.buttons)
    return parts


def split(text: str, limit: int, first_limit: int | None = None) -> list[str]:
    """Greedy packing of paragraphs into pieces whose escaped size fits; order is kept."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for chunk in _chunks(text, min(limit, first_limit or limit)):
        room = first_limit if first_limit is not None and not pieces else limit
        extra = size(chunk) + (len(PARAGRAPH) if current else 0)
        if current and used + extra > room:
            pieces.append(PARAGRAPH.join(current))
            current, used = [], 0
            extra = size(chunk)
        current.append(chunk)
        used += extra
    if current:
        pieces.append(PARAGRAPH.join(current))
    return pieces


def _chunks(text: str, limit: int) -> list[str]:
    """Paragraphs; one that is too long on its own is cut at lines, then words, then anywhere."""
    chunks: list[str] = []
    for paragraph in text.split(PARAGRAPH):
        if paragraph.strip():
            chunks.extend(_fit(paragraph, limit, SEPARATORS))
    return chunks


def _fit(block: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if size(block) <= limit:
        return [block]
    if not separators:
        return _hard_cut(block, limit)
    sep, rest = separators[0], separators[1:]
    out: list[str] = []
    current, used = "", 0
    for unit in block.split(sep):
        for piece in _fit(unit, limit, rest):
            width = size(piece)
            if current and used + len(sep) + width > limit:
                out.append(current)
                current, used = "", 0
            current, used = (f"{current}{sep}{piece}", used + len(sep) + width) if current else (
                piece, width)
    if current:
        out.append(current)
    return out


def _hard_cut(block: str, limit: int) -> list[str]:
    out: list[str] = []
    current, used = "", 0
    for char in block:
        width = size(char)
        if current and used + width > limit:
            out.append(current)
            current, used = "", 0
        current += char
        used += width
    if current:
        out.append(current)
    return out
