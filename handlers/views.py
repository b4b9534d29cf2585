"""Reply builders shared by several handlers: data in, ``Reply`` out (text from templates).

Every builder fills ``Reply.presents``: what the reply shows, as data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.conversation.actions import Rate, ShowEntry, ShowOffice
from bot.conversation.dialog import Turn
from bot.conversation.replies import Button, Presents, Reply, rows
from bot.knowledge.loader import AnyEntry
from bot.knowledge.schema import SECTIONS, Faq, Office, Procedure, Section


def in_language(obj: object, name: str, lang: str) -> str:
    """``obj.<name>_<lang>`` where the knowledge base has it (``label_en``), else ``obj.<name>``
    (the Vietnamese written by staff)."""
    value = getattr(obj, f"{name}_{lang}", None) or getattr(obj, name)
    return str(value) if value is not None else ""


def entry_title(turn: Turn, entry: AnyEntry) -> str:
    return turn.render("title", entry=entry).strip()


def localised(entry: AnyEntry, lang: str) -> AnyEntry:
    """The entry with its parts in the reply's language in place of the Vietnamese ones (the
    ``en:`` block for English), for the templates."""
    block = getattr(entry, lang, None) if isinstance(entry, Procedure) else None
    if block is None:
        return entry
    parts = {k: v for k, v in block if v not in (None, [])}
    return entry.model_copy(update=parts)


PHONE_LIMIT = 3800  # characters of a reply's text: one Telegram message with title and buttons


def phone_sized(turn: Turn, entry: AnyEntry, text: str) -> str:
    """A reply that would flood a phone (a long imported record) is cut at a line, with a link
    to the full record, instead of being sent as many messages."""
    if len(text) <= PHONE_LIMIT:
        return text
    more = turn.t("reply.more", url=entry.sources[0])
    head = text[: PHONE_LIMIT - len(more) - 4]
    cut = head.rfind("\n")
    head = head[:cut] if cut > PHONE_LIMIT // 2 else head
    return f"{head.rstrip()}\n…\n\n{more}"


def section_buttons(turn: Turn, entry_id: str, exclude: Sequence[Section] = ()) -> list[Button]:
    return [Button(turn.t(f"section.{s}"), ShowEntry(entry_id, s))
            for s in SECTIONS if s not in exclude]


def rating_buttons(turn: Turn, answer_id: int) -> tuple[tuple[Button, ...], ...]:
    """The survey scale as buttons: one row for three options, rows of three beyond that."""
    survey = turn.services.knowledge.kb.survey
    buttons = [
        Button(in_language(opt, "label", turn.lang), Rate(answer_id, opt.value))
        for opt in survey.scale
    ]
    return rows(buttons, per_row=3)


def survey_question(turn: Turn) -> str:
    survey = turn.services.knowledge.kb.survey
    return in_language(survey, "question", turn.lang)


def entry_reply(turn: Turn, entry: AnyEntry, sections: Sequence[Section],
                answer_id: int | None) -> Reply:
    """A procedure or FAQ answer; ``answer_id`` adds the one-tap rating (once per answer)."""
    buttons: list[tuple[Button, ...]] = []
    shown = localised(entry, turn.lang)
    if isinstance(shown, Faq):
        text = turn.render("faq", entry=shown)
        sections = ()
    else:
        text = phone_sized(turn, entry,
                           turn.render("procedure", entry=shown, sections=list(sections)))
        buttons += rows(section_buttons(turn, entry.id, exclude=sections), per_row=3)
    if answer_id is not None:
        buttons.extend(rating_buttons(turn, answer_id))
        text = f"{text}\n\n{survey_question(turn)}"
    presents = Presents(answers=(entry.id,), sections=tuple(sections), lang=turn.lang)
    return Reply(text, title=entry_title(turn, entry), buttons=tuple(buttons), kind="answer",
                 answer_id=answer_id, presents=presents)


def section_reply(turn: Turn, entry: Procedure, sections: Sequence[Section]) -> Reply:
    shown = localised(entry, turn.lang)
    text = phone_sized(turn, entry, turn.render("sections", entry=shown, sections=list(sections)))
    others = [Button(turn.t("button.overview"), ShowEntry(entry.id))]
    others += section_buttons(turn, entry.id, exclude=sections)
    presents = Presents(answers=(entry.id,), sections=tuple(sections), lang=turn.lang)
    return Reply(text, title=entry_title(turn, entry), buttons=rows(others, per_row=3),
                 kind="answer", presents=presents)


def office_reply(turn: Turn, offices: Sequence[Office], answer_id: int | None) -> Reply:
    text = turn.render("office", offices=list(offices))
    buttons: tuple[tuple[Button, ...], ...] = ()
    if answer_id is not None:
        text = f"{text}\n\n{survey_question(turn)}"
        buttons = rating_buttons(turn, answer_id)
    presents = Presents(offices=tuple(o.id for o in offices), lang=turn.lang)
    return Reply(text, buttons=buttons, kind="answer", answer_id=answer_id, presents=presents)


def office_menu(turn: Turn, offices: Sequence[Office], key: str) -> Reply:
    """The provincial centres as buttons, and how to find one's commune (80 buttons is too many
    for a phone)."""
    province = sorted((o for o in offices if o.level == "province"), key=lambda o: o.name)
    buttons = [Button(_label(o), ShowOffice(o.id)) for o in province]
    text = f"{turn.t(key)}\n{turn.t('office.type_commune')}"
    return Reply(text, buttons=rows(buttons, per_row=1), kind="info",
                 presents=Presents(lang=turn.lang))


def _label(office: Office) -> str:
    short = re.sub("trung tâm phục vụ hành chính công", "TTPVHCC", office.name, flags=re.I)
    return short[:60]


def info(turn: Turn, text: str, act: str | None = None, **presents: object) -> Reply:
    """A short reply from the catalogs (acts, notices)."""
    return Reply(text, kind="info",
                 presents=Presents(act=act, lang=turn.lang, **presents))  # type: ignore[arg-type]
