"""Asking for a person ("cho mình gặp cán bộ", "talk to a real person", the "Gặp cán bộ" button
offered after two declines in a row or two "Không hài lòng"): a hand-over ticket to staff.

The citizen gets the ticket's code and an honest word on when a person will answer (office
hours; out of hours, when the office opens; on Zalo, how long Zalo lets the answer reach them).
Staff get the ticket in their Telegram group and on the dashboard (``bot.handoff.desk``); their
answer comes back here, on the citizen's own channel.  Asking again while a ticket is open adds
to that ticket.  Where no staff can see tickets (no staff group, no dashboard), the reply says
how to reach staff by phone or in person instead.
"""

from __future__ import annotations

from bot.conversation.actions import AskPerson
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Presents, Reply

ASK_WORDS = frozenset({"canbo", "person"})  # /canbo, /person: the same as asking in words


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    if isinstance(inc.action, AskPerson) or inc.command in ASK_WORDS:
        return True
    return bool(inc.text) and not inc.command and turn.understood.act == "person"


def _reason(turn: Turn) -> str:
    if turn.state.unhappy >= 2:
        return "unhappy"
    if turn.state.declines >= 2:
        return "declines"
    return "asked"


async def handle(turn: Turn) -> list[Reply]:
    desk = turn.services.desk
    if desk is None or not desk.staffed:
        return [Reply(turn.render("handoff"), kind="info",
                      presents=Presents(handoff=True, lang=turn.lang))]
    inc, store = turn.incoming, turn.store
    question = None
    if isinstance(inc.action, AskPerson) and inc.action.question_id:
        row = await store.call(store.question, inc.action.question_id)
        question = row["text"] if row and row.get("user_ref") == inc.user else None
    request = inc.args if inc.command else inc.text
    ticket = await desk.open(
        user=inc.user, channel=inc.channel, lang=turn.lang,
        address=inc.extra.get("address") or inc.user, entry_id=turn.state.focus_entry,
        question=question, request=request, reason=_reason(turn))
    await turn.remember(declines=0, unhappy=0)
    timing = desk.timing()
    text = turn.render(
        "handoff_opened", code=ticket["code"], existing=ticket["existing"],
        open_now=timing.open_now,
        closes=desk.clock(timing.closes) if timing.closes else None,
        next_open=desk.when_text(timing.next_open, turn.lang) if timing.next_open else None,
        window_days=f"{desk.windows.get(inc.channel, 0) / 86400:g}",
        channel=inc.channel, session_hours=turn.services.settings.web_session_hours)
    return [Reply(text, kind="info",
                  presents=Presents(handoff=True, ticket=ticket["code"], lang=turn.lang))]


ROUTE = Route("handoff", matches, handle)
