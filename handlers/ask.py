"""Free text about procedures and places: composed from the understanding step.

A procedure named with confidence becomes the focus and is answered (with every section asked
for, and the office of a place named with it); a follow-up shows the asked sections of the focus;
a place gets its one-stop office; close candidates get "which one?"; anything else an honest
decline with where to ask.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.actions import AskPerson, Meaning, NoneOfThese, ShowEntry
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Button, Presents, Reply
from bot.conversation.understanding import Understanding, understand
from bot.knowledge.schema import Procedure
from bot.retrieval.engine import Result
from bot.retrieval.text import fold
from handlers.offices import details
from handlers.views import entry_reply, entry_title, info, section_reply

ANSWERING = frozenset({"question", "follow-up", "place", "clarify", "decline", "empty"})
DECLINES_BEFORE_HANDOFF = 2


def matches(turn: Turn) -> bool:
    inc = turn.incoming
    if isinstance(inc.action, NoneOfThese | Meaning):
        return True
    return bool(inc.text) and not inc.command and turn.understood.act in ANSWERING


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    if isinstance(inc.action, NoneOfThese | Meaning):
        return await _action(turn, inc.action)
    notes = [info(turn, turn.t("toolong.text"))] if len(inc.text or "") > \
        turn.services.settings.max_message_chars else []
    return notes + await answer(turn, turn.understood)


async def answer(turn: Turn, understood: Understanding) -> list[Reply]:
    act = understood.act
    if act in ("question", "follow-up") and understood.entry_id:
        replies = await _about_entry(turn, understood)
    elif act == "place":
        replies = [await _offices(turn, understood)]
    elif act == "clarify" and understood.result:
        replies = [await _clarify(turn, understood)]
    elif act == "empty":
        replies = [info(turn, turn.t("empty.text"))]
    else:
        replies = [await _decline(turn, understood)]
    if act != "decline":
        await turn.remember(declines=0)
    return replies


async def _about_entry(turn: Turn, understood: Understanding) -> list[Reply]:
    kb = turn.services.knowledge.kb
    entry = kb.full(understood.entry_id or "")
    assert entry is not None  # the engine only names entries of this knowledge base
    sections = understood.sections if isinstance(entry, Procedure) else ()
    replies: list[Reply] = []
    if understood.act == "follow-up" and sections and isinstance(entry, Procedure):
        replies.append(section_reply(turn, entry, sections))
    else:
        store, inc = turn.store, turn.incoming
        question = _question_log(understood, "answer")
        _, answer_id = await store.call(
            lambda: store.record_answer(inc.user, inc.channel, question, entry.id)
        )
        replies.append(entry_reply(turn, entry, sections, answer_id))
    await turn.remember(focus_entry=entry.id)
    if understood.offices:
        replies.append(await _offices(turn, understood, rated=False))
    return replies


async def _offices(turn: Turn, understood: Understanding, rated: bool = True) -> Reply:
    return await details(turn, list(understood.offices[:3]), rated)


def _question_log(understood: Understanding, decision: str) -> dict[str, Any]:
    result = understood.result
    return {"text": understood.question, "decision": decision,
            "section": understood.sections[0] if understood.sections else None,
            "candidates": [dict(vars(c)) for c in result.candidates] if result else []}


async def _log(turn: Turn, understood: Understanding, decision: str) -> int:
    store, inc = turn.store, turn.incoming
    question = _question_log(understood, decision)
    return await store.call(lambda: store.log_question(inc.user, inc.channel, **question))


async def _clarify(turn: Turn, understood: Understanding) -> Reply:
    result = understood.result
    assert result is not None
    question_id = await _log(turn, understood, "clarify")
    if result.ambiguous:
        return _ambiguous(turn, result, question_id)
    kb = turn.services.knowledge.kb
    choices = [kb.entries[c.entry_id] for c in result.choices]
    buttons = [(Button(entry_title(turn, e)[:60], ShowEntry(e.id)),) for e in choices]
    buttons.append((Button(turn.t("button.none_of_these"), NoneOfThese(question_id)),))
    text = turn.render("clarify", choices=[{"title": entry_title(turn, e)} for e in choices])
    await turn.remember(choices=tuple(e.id for e in choices))
    presents = Presents(clarify=tuple(e.id for e in choices), lang=turn.lang)
    return Reply(text, buttons=tuple(buttons), kind="clarify", presents=presents)


def _ambiguous(turn: Turn, result: Result, question_id: int) -> Reply:
    syn = result.ambiguous[0]
    buttons = tuple(
        (Button(meaning, Meaning(question_id, i)),) for i, meaning in enumerate(syn.ambiguous)
    )
    text = turn.render("ambiguous", term=syn.term, meanings=syn.ambiguous)
    clarify = tuple(c.entry_id for c in result.choices)
    return Reply(text, buttons=buttons, kind="clarify",
                 presents=Presents(clarify=clarify, lang=turn.lang))


async def _decline(turn: Turn, understood: Understanding) -> Reply:
    question_id = await _log(turn, understood, "decline")
    declines = turn.state.declines + 1
    await turn.remember(declines=declines)
    handoff = declines >= DECLINES_BEFORE_HANDOFF
    buttons = ((Button(turn.t("button.person"), AskPerson(question_id)),),) if handoff else ()
    return Reply(turn.render("decline"), kind="decline", buttons=buttons,
                 presents=Presents(decline=True, handoff=handoff, lang=turn.lang))


async def _action(turn: Turn, action: NoneOfThese | Meaning) -> list[Reply]:
    store = turn.store
    if isinstance(action, NoneOfThese):
        return [info(turn, turn.t("none_of_these.text"))]
    row = await store.call(store.question, action.question_id)
    text = row["text"] if row else None
    if not text:
        return [info(turn, turn.t("empty.text"))]
    engine = turn.services.knowledge.engine
    syn = engine.normalise(text).ambiguous
    if syn and action.choice < len(syn[0].ambiguous):
        meaning = syn[0].ambiguous[action.choice]
        text = " ".join(meaning if fold(w) == fold(syn[0].term) else w for w in text.split())
    understood = understand(text, turn.state, engine, turn.services.settings.max_message_chars)
    return await answer(turn, understood)


ROUTE = Route("ask", matches, handle)
