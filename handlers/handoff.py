"""Asking for a person ("cho mình gặp cán bộ", "talk to a real person", the "Gặp cán bộ"
button): say how to reach staff today.  The ticket to staff arrives with the hand-over issue."""

from __future__ import annotations

from bot.conversation.actions import AskPerson
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Presents, Reply


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    if isinstance(inc.action, AskPerson):
        return True
    return bool(inc.text) and not inc.command and turn.understood.act == "person"


async def handle(turn: Turn) -> list[Reply]:
    return [Reply(turn.render("handoff"), kind="info",
                  presents=Presents(handoff=True, lang=turn.lang))]


ROUTE = Route("handoff", matches, handle)
