"""Words and number formats shared by every report format (Vietnamese by default, or English).

The words are the ``report.*`` keys of the gettext catalogs; so are the decimal mark and the
date format, so no language is named here.
"""

from __future__ import annotations

import datetime as dt

from bot.conversation.i18n import DEFAULT
from bot.reports.catalog import word
from bot.reports.indicator import MIN_RATINGS, Group

__all__ = ["DECISION_LABELS", "WORDS", "date_text", "fmt_pct", "interval_text", "labels",
           "period_text", "word"]

# The names under ``report.`` that ``labels()`` returns, each one ``report.<name>`` in a catalog.
WORDS = (
    "title", "period", "indicator", "indicator_short", "indicator_note", "overall", "procedure",
    "field", "office", "channel", "week", "month", "group", "ratings", "satisfied", "ci",
    "too_few", "no_ratings", "reasons", "usage", "questions", "per_day", "answered", "clarified",
    "declined", "other", "top_entries", "top_unanswered", "times", "none", "chart_trend",
    "chart_field", "chart_days", "chat_title", "generated",
)

# A logged decision → its name in ``labels()``.
DECISION_LABELS = {"answer": "answered", "clarify": "clarified", "decline": "declined",
                   "other": "other"}


def labels(lang: str = DEFAULT) -> dict[str, str]:
    """Every report word by its short name (``labels('vi')['title']``)."""
    words = {name: word(lang, f"report.{name}") for name in WORDS}
    words["indicator_note"] = word(lang, "report.indicator_note", min=MIN_RATINGS)
    return words


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
