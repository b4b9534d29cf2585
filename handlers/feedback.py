"""Ratings (``r:<answer>:<value>``), reasons (``rr:<answer>:<reason>``), /comment and /feedback.

The thank-you is sent only after the rating is committed to the store.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.actions import AskPerson, Rate, Reason, Stale
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Button, Presents, Reply
from bot.knowledge.schema import Procedure, SurveyFile
from bot.retrieval.text import clean
from handlers.views import in_language, rating_buttons

GENERAL_FIELD = "Câu hỏi chung"
SERVICE_FIELD = "Đánh giá chung"
OFFICE_FIELD = "Trung tâm phục vụ hành chính công"
STAFF_CHANNEL = "staff"  # the answers row's decision, and the rating's channel, of staff answers
UNHAPPY_BEFORE_HANDOFF = 2


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    return inc.command in {"feedback", "danhgia", "comment", "gopy"} or (
        isinstance(inc.action, Rate | Reason)
        or (isinstance(inc.action, Stale) and inc.action.kind in {"r", "rr"})
    )


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    if inc.command in {"feedback", "danhgia"}:
        return await _service_prompt(turn)
    if inc.command in {"comment", "gopy"}:
        return await _comment(turn)
    action = inc.action
    if isinstance(action, Stale):
        return [Reply(turn.t("rating.expired"), kind="info")]
    if isinstance(action, Reason):
        return await _reason(turn, action.answer_id, action.reason)
    assert isinstance(action, Rate)
    return await _rate(turn, action.answer_id, action.value)


async def _service_prompt(turn: Turn) -> list[Reply]:
    store, inc = turn.store, turn.incoming
    answer_id = await store.call(lambda: store.log_answer(inc.user, inc.channel, "service"))
    return [Reply(turn.t("feedback.prompt"), buttons=rating_buttons(turn, answer_id),
                  kind="rating", answer_id=answer_id)]


def _field(turn: Turn, entry_id: str | None, decision: str) -> str:
    entry = turn.services.knowledge.kb.get(entry_id) if entry_id else None
    if isinstance(entry, Procedure):
        return entry.field
    return {"service": SERVICE_FIELD, "office": OFFICE_FIELD}.get(decision, GENERAL_FIELD)


async def _rate(turn: Turn, answer_id: int, value: int) -> list[Reply]:
    store, inc = turn.store, turn.incoming
    survey: SurveyFile = turn.services.knowledge.kb.survey
    option = next((o for o in survey.scale if o.value == value), None)
    answer = await store.call(store.answer, answer_id)
    if option is None or answer is None or answer["user_ref"] != inc.user:
        return [Reply(turn.t("rating.expired"), kind="info")]
    field = _field(turn, answer["entry_id"], answer["decision"])
    # A staff member's answer relayed from a hand-over ticket counts as channel "staff".
    channel = STAFF_CHANNEL if answer["decision"] == STAFF_CHANNEL else inc.channel
    await store.call(
        lambda: store.save_rating(answer_id, inc.user, channel, option.value, option.satisfied,
                                  len(survey.scale), answer["entry_id"], field, answer["office_id"])
    )
    unhappy = turn.state.unhappy + (not option.satisfied)
    await turn.remember(last_rated=answer_id, unhappy=unhappy)
    person = _person_button(turn, unhappy, answer)
    if option.satisfied or not survey.reasons:
        return [Reply(turn.t("rating.thanks"), kind="thanks", buttons=person,
                      presents=Presents(handoff=bool(person), lang=turn.lang))]
    question = in_language(survey, "reason_question", turn.lang)
    buttons = tuple(
        (Button(in_language(r, "label", turn.lang), Reason(answer_id, r.id)),)
        for r in survey.reasons
    )
    return [Reply(question or turn.t("rating.thanks"), buttons=buttons + person, kind="rating",
                  presents=Presents(handoff=bool(person), lang=turn.lang))]


def _person_button(turn: Turn, unhappy: int, answer: dict[str, Any]
                   ) -> tuple[tuple[Button, ...], ...]:
    """Two "not satisfied" in one conversation: offer a person ("Gặp cán bộ")."""
    desk = turn.services.desk
    if unhappy < UNHAPPY_BEFORE_HANDOFF or desk is None or not desk.staffed:
        return ()
    question_id = int(answer.get("question_id") or 0)
    return ((Button(turn.t("button.person"), AskPerson(question_id)),),)


async def _reason(turn: Turn, answer_id: int, reason: str) -> list[Reply]:
    store, inc = turn.store, turn.incoming
    survey = turn.services.knowledge.kb.survey
    rating = await store.call(store.rating, answer_id)
    known = {r.id for r in survey.reasons}
    if rating is None or rating["user_ref"] != inc.user or reason not in known:
        return [Reply(turn.t("rating.expired"), kind="info")]
    if rating["satisfied"]:  # re-rated as satisfied since the reasons were offered
        return [Reply(turn.t("rating.thanks"), kind="thanks")]
    await store.call(store.save_reason, answer_id, reason)
    return [Reply(turn.t("rating.thanks_reason"), kind="thanks")]


async def _comment(turn: Turn) -> list[Reply]:
    text = clean(turn.incoming.args, 1000)
    answer_id = turn.state.last_rated
    if not text:
        return [Reply(turn.t("comment.empty"), kind="info")]
    if not answer_id:
        return [Reply(turn.t("comment.no_answer"), kind="info")]
    store = turn.store
    await store.call(store.save_comment, int(answer_id), text)
    return [Reply(turn.t("comment.thanks"), kind="thanks")]


ROUTE = Route("feedback", matches, handle)
