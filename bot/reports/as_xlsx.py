"""The report as an XLSX workbook (xlsxwriter): the indicator table, usage, unanswered questions."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from bot.conversation.i18n import DEFAULT
from bot.reports.as_csv import COLUMNS
from bot.reports.indicator import Summary
from bot.reports.labels import DECISION_LABELS, labels


def to_xlsx(summary: Summary, lang: str = DEFAULT) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    formats = {"pct": book.add_format({"num_format": "0.0%"}),
               "bold": book.add_format({"bold": True}),
               "date": book.add_format({"num_format": "yyyy-mm-dd"})}
    _indicator_sheet(book, summary, lang, formats)
    _usage_sheet(book, summary, lang, formats)
    _handoff_sheet(book, summary, lang, formats)
    book.close()
    return out.getvalue()


def _indicator_sheet(book: Any, summary: Summary, lang: str, fmt: dict[str, Any]) -> None:
    words = labels(lang)
    sheet = book.add_worksheet("indicator")
    sheet.write_row(0, 0, [*COLUMNS, "too_few"], fmt["bold"])
    for i, group in enumerate(summary.all_groups(), 1):
        low, high = group.interval or (None, None)
        sheet.write_row(i, 0, [group.group_type, group.label, group.ratings, group.satisfied])
        for col, value in enumerate((group.indicator, low, high), 4):
            if value is None:
                sheet.write_blank(i, col, None)
            else:
                sheet.write_number(i, col, value, fmt["pct"])
        sheet.write_boolean(i, 7, group.too_few)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 44)
    sheet.set_column(2, 7, 11)
    sheet.freeze_panes(1, 0)
    sheet.write(len(summary.all_groups()) + 2, 0, words["indicator_note"])


def _usage_sheet(book: Any, summary: Summary, lang: str, fmt: dict[str, Any]) -> None:
    words, usage = labels(lang), summary.usage
    sheet = book.add_worksheet("usage")
    sheet.write_row(0, 0, [words["questions"], usage.questions], fmt["bold"])
    for row, decision in enumerate(("answer", "clarify", "decline", "other"), 1):
        share = usage.share(decision)
        sheet.write(row, 0, words[DECISION_LABELS[decision]])
        if share is not None:
            sheet.write_number(row, 1, share, fmt["pct"])
    row = 6
    sheet.write_row(row, 0, [words["per_day"], words["questions"]], fmt["bold"])
    for i, (day, n) in enumerate(usage.per_day, row + 1):
        sheet.write_datetime(i, 0, day, fmt["date"])
        sheet.write_number(i, 1, n)
    column = 3
    for title, items in ((words["top_entries"], usage.top_entries),
                         (words["top_unanswered"], usage.top_unanswered)):
        sheet.write_row(0, column, [title, words["times"]], fmt["bold"])
        for i, (label, n) in enumerate(items, 1):
            sheet.write_row(i, column, [label, n])
        sheet.set_column(column, column, 48)
        column += 3
    sheet.set_column(0, 0, 22)


def _handoff_sheet(book: Any, summary: Summary, lang: str, fmt: dict[str, Any]) -> None:
    """Tickets to staff, and what citizens wrote (comments, reasons of low ratings)."""
    words, h = labels(lang), summary.handoff
    sheet = book.add_worksheet("handoff")
    sheet.write(0, 0, words["handoff"], fmt["bold"])
    rows: list[tuple[str, float | int | None, bool]] = [
        (words["handoff_opened"], h.opened, False),
        (words["handoff_answered"], h.answered, False),
        (words["handoff_waiting"], h.waiting, False),
        (words["handoff_median"] + " (h)", None if h.median_seconds is None
         else round(h.median_seconds / 3600, 2), False),
        (words["handoff_median_office"] + " (h)", None if h.median_working_seconds is None
         else round(h.median_working_seconds / 3600, 2), False),
        (words["handoff_within_day"], h.share_within_day, True),
    ]
    for i, (label, value, pct) in enumerate(rows, 1):
        sheet.write(i, 0, label)
        if value is not None:
            sheet.write_number(i, 1, value, fmt["pct"] if pct else None)
    row = len(rows) + 2
    sheet.write(row, 0, words["comments"], fmt["bold"])
    for i, comment in enumerate(summary.comments, row + 1):
        sheet.write_row(i, 0, [comment.ts, comment.text, comment.entry, comment.reason])
    row += len(summary.comments) + 2
    sheet.write(row, 0, words["low_reasons"], fmt["bold"])
    for i, low in enumerate(summary.low, row + 1):
        sheet.write_row(i, 0, [low.ts, low.reason, low.entry])
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 3, 30)
