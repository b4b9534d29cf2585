"""One-stop offices: /office, ``o:<office-id>``, and questions such as
"một cửa phường Đồng Hới mấy giờ mở cửa" or "trung tâm hành chính công ở đâu".

A question naming a place (also a former commune or ward) gets that office; a "where is it"
question without a place gets the list.  A general question about opening hours is left to the
FAQ, which explains the usual hours.
"""

from __future__ import annotations

import re

from bot.conversation.actions import ShowOffice
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Button, Reply, rows
from bot.knowledge.schema import Office
from bot.retrieval.offices import find_offices, has_cue, is_office_question
from handlers.views import rating_buttons, survey_question


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    if inc.command in {"office", "offices", "motcua"} or isinstance(inc.action, ShowOffice):
        return True
    text = inc.text or ""
    if inc.command or not text or not is_office_question(text):
        return False
    offices = turn.services.knowledge.kb.offices
    return bool(find_offices(offices, text)) or has_cue(text, ("o dau", "dia chi", "cho nao"))


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    offices = turn.services.knowledge.kb.offices
    if isinstance(inc.action, ShowOffice):
        chosen = [o for o in offices if o.id == inc.action.office_id]
        return [await _details(turn, chosen)] if chosen else [_menu(turn, offices, "office.list")]
    query = inc.args if inc.command else (inc.text or "")
    found = find_offices(offices, query) if query else []
    if found:
        return [await _details(turn, found[:3])]
    if inc.command and query:
        return [_menu(turn, offices, "office.not_found")]
    return [_menu(turn, offices, "office.choose")]


async def _details(turn: Turn, offices: list[Office]) -> Reply:
    store, inc = turn.store, turn.incoming
    answer_id = await store.call(
        lambda: store.log_answer(inc.user, inc.channel, "office", None, offices[0].id)
    )
    text = f"{turn.render('office', offices=offices)}\n\n{survey_question(turn)}"
    return Reply(text, buttons=rating_buttons(turn, answer_id), kind="answer", answer_id=answer_id)


def _label(office: Office) -> str:
    short = re.sub("trung tâm phục vụ hành chính công", "TTPVHCC", office.name, flags=re.I)
    return short[:60]


def _menu(turn: Turn, offices: list[Office], key: str) -> Reply:
    """The provincial centres as buttons, and how to find one's commune (80 buttons is too many
    for a phone)."""
    province = sorted((o for o in offices if o.level == "province"), key=lambda o: o.name)
    buttons = [Button(_label(o), ShowOffice(o.id)) for o in province]
    text = f"{turn.t(key)}\n{turn.t('office.type_commune')}"
    return Reply(text, buttons=rows(buttons, per_row=1), kind="info")


ROUTE = Route("offices", matches, handle)
