"""One-stop offices: /office [place], the office buttons, and "where is the one-stop office"
asked without a place (the list of provincial centres and how to find one's commune).

A message that names a place (also a former commune or ward) is read by the understanding step
and answered by ``handlers/ask.py``, with the procedure when one is named too.
"""

from __future__ import annotations

from bot.conversation.actions import ShowOffice
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply
from bot.knowledge.schema import Office
from bot.retrieval.offices import has_cue, is_office_question
from handlers.views import office_menu, office_reply

WHERE = ("o dau", "dia chi", "cho nao", "where")


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    if inc.command in {"office", "offices", "motcua"} or isinstance(inc.action, ShowOffice):
        return True
    text = inc.text or ""
    if inc.command or not text or not is_office_question(text) or not has_cue(text, WHERE):
        return False
    understood = turn.understood
    return not understood.offices and understood.entry_id is None


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    offices = turn.services.knowledge.kb.offices
    if isinstance(inc.action, ShowOffice):
        chosen = [o for o in offices if o.id == inc.action.office_id]
        return [await details(turn, chosen)] if chosen else [office_menu(turn, offices,
                                                                          "office.list")]
    query = inc.args if inc.command else ""
    found = turn.services.knowledge.engine.places.find(query, context=True) if query else []
    if found:
        return [await details(turn, found[:3])]
    if query:
        return [office_menu(turn, offices, "office.not_found")]
    return [office_menu(turn, offices, "office.choose")]


async def details(turn: Turn, offices: list[Office], rated: bool = True) -> Reply:
    """The offices shown (and, ``rated``, logged as an answer to rate); the first is the office
    the chat is now about."""
    answer_id = None
    if rated:
        store, inc = turn.store, turn.incoming
        answer_id = await store.call(
            lambda: store.log_answer(inc.user, inc.channel, "office", None, offices[0].id)
        )
    await turn.remember(focus_office=offices[0].id)
    return office_reply(turn, offices, answer_id)


ROUTE = Route("offices", matches, handle)
