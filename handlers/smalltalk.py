"""Greetings, thanks, goodbyes, "what can you do", and off-topic messages: a friendly reply
saying what the bot is for, never a decline."""

from __future__ import annotations

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply
from handlers.views import info

ACTS = frozenset({"greeting", "thanks", "bye", "help", "offtopic"})


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    return bool(inc.text) and not inc.command and turn.understood.act in ACTS


async def handle(turn: Turn) -> list[Reply]:
    understood = turn.understood
    act = understood.act
    text = turn.t(f"smalltalk.{act}")
    if act == "offtopic":  # logged, so that staff see what people ask beyond the bot
        store, inc = turn.store, turn.incoming
        await store.call(lambda: store.log_question(
            inc.user, inc.channel, text=understood.question, decision="decline", section=None,
            candidates=[]))
    if act == "help":
        text = f"{text}\n\n{turn.render('help')}"
    return [info(turn, text, act=act)]


ROUTE = Route("smalltalk", matches, handle)
