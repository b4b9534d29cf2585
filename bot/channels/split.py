"""One text splitter for every channel: a long text → pieces that each fit a platform's limit.

A cut goes where a reader expects a break, the coarsest that works: between paragraphs (``\\n\\n``),
then lines, then sentences (the spaces after ``.``, ``!``, ``?`` or ``…``), then words, and only
as a last resort between any two characters.  A paragraph that fits is never cut; paragraphs (and,
inside an oversized paragraph, its lines, sentences, words) are packed greedily, in order.

Sizes are counted by ``measure`` in the platform's units (Telegram: UTF-16 code units of the
HTML-escaped text; Zalo: UTF-16 code units).  ``measure`` must be additive — the size of a joined
text is the sum of the sizes of its parts — which holds for anything counted character by
character.  ``first_limit`` gives the first piece less room (e.g. for a heading put before it).

Nothing is lost but the separators cut at: a piece is the text exactly as given, except that
blank paragraphs are dropped, and between two pieces the text had only the separator of the cut (a
paragraph break, a newline, spaces, or nothing for a hard cut) and any whitespace next to it.
No piece is blank: an empty message cannot be sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Measure = Callable[[str], int]
Fragment = tuple[str, str]  # (the separator before it in the text, the text)

PARAGRAPH = "\n\n"
# Each pattern captures the separator it splits at; blank units are dropped at the paragraph level.
LEVELS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile("(\n\n)"), True),  # paragraphs
    (re.compile("(\n)"), False),  # lines
    (re.compile("(?<=[.!?…])( +)"), False),  # sentences
    (re.compile("( +)"), False),  # words
)


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def fitting(text: str, limit: int, measure: Measure = utf16_units) -> int:
    """How many leading characters of ``text`` fit in ``limit`` units."""
    used = 0
    for index, char in enumerate(text):
        used += measure(char)
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int, measure: Measure = utf16_units,
               first_limit: int | None = None) -> list[str]:
    """Pieces of ``text`` in order, each within ``limit`` units (the first within ``first_limit``
    when given), cut at paragraphs, lines, sentences, words, then anywhere."""
    first = limit if first_limit is None else first_limit
    if limit < 1 or first < 1:
        raise ValueError(f"limits must be positive, not {limit} and {first}")
    fragments = _cut(text, 0, min(limit, first), measure)
    return [piece for _, piece in _pack(fragments, first, limit, measure)]


def _cut(block: str, level: int, room: int, measure: Measure) -> list[Fragment]:
    """The units of ``block`` at ``level``, each cut finer (and packed) if it exceeds ``room``."""
    if level == len(LEVELS):
        return _hard_cut(block, room, measure)
    pattern, drop_blank = LEVELS[level]
    parts = pattern.split(block)  # unit, separator, unit, separator, …, unit
    out: list[Fragment] = []
    for index in range(0, len(parts), 2):
        unit = parts[index]
        if drop_blank and not unit.strip():
            continue
        if measure(unit) <= room:
            inner = [("", unit)]
        else:
            inner = _pack(_cut(unit, level + 1, room, measure), room, room, measure)
        if inner:
            out.append(((parts[index - 1] if index else "") + inner[0][0], inner[0][1]))
            out.extend(inner[1:])
    return out


def _pack(fragments: list[Fragment], first: int, rest: int, measure: Measure) -> list[Fragment]:
    """Greedy: each fragment joins the current piece (with its separator) if that still fits.

    A piece never starts with a blank fragment: such whitespace goes, with the separator cut at,
    into the gap before the piece.  Each piece comes with that gap (the text between it and the
    previous piece), so that pieces cut for a smaller room can be packed again without loss.
    """
    pieces: list[Fragment] = []
    parts: list[str] = []
    used, gap = 0, ""
    for sep, text in fragments:
        width = measure(text)
        if parts:
            extra = measure(sep) + width
            if used + extra <= (rest if pieces else first):
                parts += (sep, text)
                used += extra
                continue
            pieces.append((gap, "".join(parts)))
            gap, parts = "", []
        gap += sep
        if text.strip():
            parts, used = [text], width
        else:
            gap += text
    if parts:
        pieces.append((gap, "".join(parts)))
    return pieces


def _hard_cut(block: str, room: int, measure: Measure) -> list[Fragment]:
    """Cut anywhere (between code points); at least one character per piece."""
    out: list[Fragment] = []
    while block:
        take = max(fitting(block, room, measure), 1)
        out.append(("", block[:take]))
        block = block[take:]
    return out
