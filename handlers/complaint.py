"""A complaint ("nobody answers the hotline", "the file is two months late"): acknowledge it and
give the official feedback route (the ``phan-anh-kien-nghi`` entry), not a generic decline."""

from __future__ import annotations

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Presents, Reply
from handlers.views import localised

ROUTE_ENTRY = "phan-anh-kien-nghi"


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    return bool(inc.text) and not inc.command and turn.understood.act == "complaint"


async def handle(turn: Turn) -> list[Reply]:
    entry = turn.services.knowledge.kb.get(ROUTE_ENTRY)
    route = localised(entry, turn.lang) if entry else None
    text = turn.render("complaint", entry=route)
    answers = (ROUTE_ENTRY,) if entry else ()
    await turn.remember(focus_entry=ROUTE_ENTRY if entry else turn.state.focus_entry)
    return [Reply(text, kind="info",
                  presents=Presents(act="complaint", answers=answers, lang=turn.lang))]


ROUTE = Route("complaint", matches, handle)
