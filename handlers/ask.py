"""Free text: search the knowledge base, then answer, ask which one was meant, or decline."""

from __future__ import annotations

from typing import Any

from bot.conversation.actions import Meaning, NoneOfThese, ShowEntry
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Button, Reply
from bot.knowledge.schema import Procedure, Section
from bot.retrieval.engine import Result
from bot.retrieval.text import clean, fold, has_letters
from handlers.views import entry_reply, entry_title, section_reply


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    return (bool(inc.text) and not inc.command) or isinstance(inc.action, NoneOfThese | Meaning)


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    if isinstance(inc.action, NoneOfThese | Meaning):
        return await _action(turn, inc.action)
    limit = turn.services.settings.max_message_chars
    raw = inc.text or ""
    text = clean(raw, limit)
    notes = [Reply(turn.t("toolong.text"), kind="info")] if len(raw) > limit else []
    if not has_letters(text):
        return [*notes, Reply(turn.t("empty.text"), kind="info")]
    return notes + await answer(turn, text)


async def answer(turn: Turn, text: str) -> list[Reply]:
    result = turn.services.knowledge.engine.ask(text)
    follow_up = _follow_up(turn, result)
    store, inc = turn.store, turn.incoming
    decision = "answer" if follow_up else result.decision
    if result.ambiguous and decision not in {"answer", "empty"}:
        decision = "clarify"  # the bot asks which meaning of a short form was meant
    question: dict[str, Any] = {"text": text, "decision": decision, "section": result.section,
                                "candidates": [dict(vars(c)) for c in result.candidates]}
    if result.decision == "answer" and result.best and follow_up is None:
        return [await _answer_entry(turn, result.best.entry_id, result.section, question)]
    question_id = await store.call(lambda: store.log_question(inc.user, inc.channel, **question))
    if follow_up is not None:
        return [section_reply(turn, follow_up, result.section)] if result.section else []
    if result.ambiguous and result.decision != "answer":
        return [_ambiguous(turn, result, question_id)]
    if result.decision == "clarify":
        return [_clarify(turn, result, question_id)]
    if result.decision == "empty":
        return [Reply(turn.t("empty.text"), kind="info")]
    return [Reply(turn.render("decline"), kind="decline")]


def _follow_up(turn: Turn, result: Result) -> Procedure | None:
    """'còn lệ phí thì sao?' right after an answer: the section of the entry just discussed."""
    if result.decision not in {"decline", "empty"} or not result.section:
        return None
    last = turn.user.get("last_entry")
    entry = turn.services.knowledge.kb.get(last) if last else None
    words = fold(result.question).split()
    return entry if isinstance(entry, Procedure) and len(words) <= 6 else None


async def _answer_entry(turn: Turn, entry_id: str, section: Section | None,
                        question: dict[str, Any]) -> Reply:
    entry = turn.services.knowledge.kb.entries[entry_id]
    store, inc = turn.store, turn.incoming
    _, answer_id = await store.call(
        lambda: store.record_answer(inc.user, inc.channel, question, entry_id)
    )
    turn.user["last_entry"] = entry_id
    return entry_reply(turn, entry, section if isinstance(entry, Procedure) else None, answer_id)


def _clarify(turn: Turn, result: Result, question_id: int) -> Reply:
    kb = turn.services.knowledge.kb
    choices = [kb.entries[c.entry_id] for c in result.choices]
    buttons = [(Button(entry_title(turn, e)[:60], ShowEntry(e.id)),) for e in choices]
    buttons.append((Button(turn.t("button.none_of_these"), NoneOfThese(question_id)),))
    text = turn.render("clarify", choices=[{"title": entry_title(turn, e)} for e in choices])
    return Reply(text, buttons=tuple(buttons), kind="clarify")


def _ambiguous(turn: Turn, result: Result, question_id: int) -> Reply:
    syn = result.ambiguous[0]
    buttons = tuple(
        (Button(meaning, Meaning(question_id, i)),) for i, meaning in enumerate(syn.ambiguous)
    )
    text = turn.render("ambiguous", term=syn.term, meanings=syn.ambiguous)
    return Reply(text, buttons=buttons, kind="clarify")


async def _action(turn: Turn, action: NoneOfThese | Meaning) -> list[Reply]:
    store = turn.store
    if isinstance(action, NoneOfThese):
        return [Reply(turn.t("none_of_these.text"), kind="info")]
    row = await store.call(store.question, action.question_id)
    text = row["text"] if row else None
    if not text:
        return [Reply(turn.t("empty.text"), kind="info")]
    engine = turn.services.knowledge.engine
    syn = engine.normalise(text).ambiguous
    if not syn or action.choice >= len(syn[0].ambiguous):
        return await answer(turn, text)
    meaning = syn[0].ambiguous[action.choice]
    rewritten = " ".join(meaning if fold(w) == fold(syn[0].term) else w for w in text.split())
    return await answer(turn, rewritten)


ROUTE = Route("ask", matches, handle)
