"""Reply builders shared by several handlers: data in, ``Reply`` out (text from templates)."""

from __future__ import annotations

from bot.conversation.actions import Rate, ShowEntry
from bot.conversation.dialog import Turn
from bot.conversation.replies import Button, Reply, rows
from bot.knowledge.loader import AnyEntry
from bot.knowledge.schema import SECTIONS, Faq, Procedure, Section


def entry_title(turn: Turn, entry: AnyEntry) -> str:
    if isinstance(entry, Procedure):
        english = turn.lang == "en" and entry.title_en
        return f"{entry.title_en} ({entry.title})" if english else entry.title
    return entry.question_en if turn.lang == "en" and entry.question_en else entry.question


def section_buttons(turn: Turn, entry_id: str, exclude: Section | None = None) -> list[Button]:
    return [
        Button(turn.t(f"section.{s}"), ShowEntry(entry_id, s)) for s in SECTIONS if s != exclude
    ]


def rating_buttons(turn: Turn, answer_id: int) -> tuple[tuple[Button, ...], ...]:
    """The survey scale as buttons: one row for three options, rows of three beyond that."""
    survey = turn.services.knowledge.kb.survey
    buttons = [
        Button(opt.label_en if turn.lang == "en" else opt.label, Rate(answer_id, opt.value))
        for opt in survey.scale
    ]
    return rows(buttons, per_row=3)


def survey_question(turn: Turn) -> str:
    survey = turn.services.knowledge.kb.survey
    return survey.question_en if turn.lang == "en" else survey.question


def entry_reply(turn: Turn, entry: AnyEntry, section: Section | None, answer_id: int | None,
                ) -> Reply:
    """A procedure or FAQ answer; ``answer_id`` adds the one-tap rating (once per answer)."""
    buttons: list[tuple[Button, ...]] = []
    if isinstance(entry, Faq):
        text = turn.render("faq", entry=entry)
    else:
        text = turn.render("procedure", entry=entry, section=section)
        buttons += rows(section_buttons(turn, entry.id, exclude=section), per_row=3)
    if answer_id is not None:
        buttons.extend(rating_buttons(turn, answer_id))
        text = f"{text}\n\n{survey_question(turn)}"
    return Reply(text, title=entry_title(turn, entry), buttons=tuple(buttons), kind="answer",
                 answer_id=answer_id)


def section_reply(turn: Turn, entry: Procedure, section: Section) -> Reply:
    text = turn.render("section", entry=entry, section=section)
    others = [Button(turn.t("button.overview"), ShowEntry(entry.id))]
    others += section_buttons(turn, entry.id, exclude=section)
    return Reply(text, title=entry_title(turn, entry), buttons=rows(others, per_row=3),
                 kind="answer")
