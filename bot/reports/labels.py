"""Words and number formats shared by every report format (Vietnamese by default, or English).

The words are the ``report.*`` keys of the gettext catalogs; so are the decimal mark and the
date format, so no language is named here.
"""

from __future__ import annotations

import datetime as dt

from bot.conversation.i18n import DEFAULT
from bot.reports.catalog import word
from bot.reports.handoff import duration_text
from bot.reports.indicator import MIN_RATINGS, Group, Summary

__all__ = ["DECISION_LABELS", "WORDS", "date_text", "duration", "fmt_pct", "handoff_lines",
           "interval_text", "labels", "period_text", "word"]

# The names under ``report.`` that ``labels()`` returns, each one ``report.<name>`` in a catalog.
WORDS = (
    "title", "period", "indicator", "indicator_short", "indicator_note", "overall", "procedure",
    "field", "office", "channel", "week", "month", "group", "ratings", "satisfied", "ci",
    "too_few", "no_ratings", "reasons", "usage", "questions", "per_day", "answered", "clarified",
    "declined", "other", "top_entries", "top_unanswered", "times", "none", "chart_trend",
    "chart_field", "chart_days", "chat_title", "generated",
    "handoff", "handoff_opened", "handoff_answered", "handoff_waiting", "handoff_median",
    "handoff_median_office", "handoff_within_day", "handoff_note", "comments", "low_reasons",
    "unit_h", "unit_min", "unit_d",
)

# A logged decision → its name in ``labels()``.
DECISION_LABELS = {"answer": "answered", "clarify": "clarified", "decline": "declined",
                   "other": "other"}


def labels(lang: str = DEFAULT) -> dict[str, str]:
    """Every report word by its short name (``labels('vi')['title']``)."""
    words = {name: word(lang, f"report.{name}") for name in WORDS}
    words["indicator_note"] = word(lang, "report.indicator_note", min=MIN_RATINGS)
    return words


def duration(seconds: float | None, lang: str = DEFAULT) -> str:
    """'2 giờ 05 phút' / '2 h 05 min'; '–' for None."""
    words = labels(lang)
    return duration_text(seconds, {"h": words["unit_h"], "min": words["unit_min"],
                                   "d": words["unit_d"]})


def handoff_lines(summary: Summary, lang: str) -> list[str]:
    """The hand-over figures as lines of text (the text report and the officials' chat)."""
    words, h = labels(lang), summary.handoff
    share = fmt_pct(h.share_within_day, lang)
    return [
        f"  {words['handoff_opened']}: {h.opened} · {words['handoff_answered']}: {h.answered} "
        f"({fmt_pct(h.share_answered, lang)}) · {words['handoff_waiting']}: {h.waiting}",
        f"  {words['handoff_median']}: {duration(h.median_seconds, lang)} "
        f"({words['handoff_median_office']}: {duration(h.median_working_seconds, lang)})",
        f"  {words['handoff_within_day']}: {share} ({h.within_day}/{h.judged})",
    ]


def fmt_pct(value: float | None, lang: str = DEFAULT) -> str:
    """0.7778 → '77,8%' (Vietnamese decimal comma) or '77.8%' in English; None → '–'."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}%".replace(".", word(lang, "report.decimal_mark"))


def interval_text(group: Group, lang: str) -> str:
    if group.interval is None:
        return "–"
    low, high = group.interval
    return f"{fmt_pct(low, lang)}–{fmt_pct(high, lang)}"


def date_text(day: dt.date, lang: str) -> str:
    """31/01/2026 in Vietnamese, 2026-01-31 in English (``report.date_format``)."""
    return day.strftime(word(lang, "report.date_format"))


def period_text(start: dt.date, end: dt.date, lang: str) -> str:
    return f"{date_text(start, lang)} – {date_text(end, lang)}"
