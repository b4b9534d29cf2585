"""Greetings, thanks, "who are you": a friendly reply saying what the bot does, not a decline."""

from __future__ import annotations

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply
from bot.retrieval.lexicon import SMALLTALK_PHRASES, STOP_FOLDED
from bot.retrieval.text import fold, words


def kind_of(text: str) -> str | None:
    """The smalltalk kind when the message is nothing but smalltalk (and function words)."""
    padded = f" {' '.join(fold(w) for w in words(text))} "
    found = None
    for kind in ("who", "thanks", "bye", "greeting"):
        for phrase in sorted(SMALLTALK_PHRASES[kind], key=len, reverse=True):
            if f" {phrase} " in padded:
                padded = padded.replace(f" {phrase} ", " ")
                found = found or kind
    rest = [w for w in padded.split() if w not in STOP_FOLDED and w not in {"ban", "nhe", "nha"}]
    return found if found and not rest else None


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    return bool(inc.text) and not inc.command and kind_of(inc.text or "") is not None


async def handle(turn: Turn) -> list[Reply]:
    kind = kind_of(turn.incoming.text or "") or "greeting"
    text = turn.t(f"smalltalk.{kind}")
    if kind == "who":
        text = f"{text}\n\n{turn.render('help')}"
    return [Reply(text, kind="info")]


ROUTE = Route("smalltalk", matches, handle)
