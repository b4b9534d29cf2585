"""What citizens wrote: ``/comment`` texts and the reasons given with low ratings, so that the
"Cán bộ sẽ xem xét" they were told is true.  In `dvcbot report` (text and HTML), on the dashboard
(``/admin/comments``) and in the officials' chat (``/comments``).

The texts were masked before they were stored (``bot.privacy``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.reports.catalog import word

SHOWN = 20  # comments (and low ratings) in a report: the latest
LOCAL = dt.timezone(dt.timedelta(hours=7))
NO_NAMES: Mapping[str, str] = {}


@dataclass(frozen=True)
class Comment:
    ts: str
    text: str
    entry: str  # the name of what was rated ("" if nothing)
    channel: str | None
    satisfied: bool | None  # the rating it came with (None: not rated)
    reason: str  # the reason given with a low rating, by name ("" if none)


@dataclass(frozen=True)
class LowRating:
    ts: str
    entry: str
    channel: str | None
    reason: str


def comments(db: Any, bounds: tuple[str, str], limit: int = SHOWN,
             entries: Mapping[str, str] = NO_NAMES,
             reasons: Mapping[str, str] = NO_NAMES) -> tuple[Comment, ...]:
    """Comments in ``[from, to)`` (UTC ISO), newest first, with the rating they followed."""
    rows = db.execute(
        "SELECT c.ts, c.text, a.entry_id, a.channel, r.satisfied, rs.reason FROM comments c "
        "LEFT JOIN answers a ON a.id = c.answer_id LEFT JOIN ratings r ON r.answer_id = "
        "c.answer_id LEFT JOIN reasons rs ON rs.answer_id = c.answer_id WHERE c.ts >= ? AND "
        "c.ts < ? AND c.text IS NOT NULL ORDER BY c.ts DESC, c.id DESC LIMIT ?",
        [*bounds, limit]).fetchall()
    return tuple(Comment(ts, text, entries.get(entry, entry) if entry else "", channel,
                         None if ok is None else bool(ok),
                         reasons.get(reason, reason) if reason else "")
                 for ts, text, entry, channel, ok, reason in rows)


def low_ratings(db: Any, bounds: tuple[str, str], limit: int = SHOWN,
                entries: Mapping[str, str] = NO_NAMES,
                reasons: Mapping[str, str] = NO_NAMES) -> tuple[LowRating, ...]:
    """"Not satisfied" ratings that came with a reason, newest first."""
    rows = db.execute(
        "SELECT r.ts, r.entry_id, r.channel, rs.reason FROM ratings r JOIN reasons rs ON "
        "rs.answer_id = r.answer_id WHERE r.satisfied = 0 AND r.ts >= ? AND r.ts < ? "
        "ORDER BY r.ts DESC, r.answer_id DESC LIMIT ?", [*bounds, limit]).fetchall()
    return tuple(LowRating(ts, entries.get(entry, entry) if entry else "", channel,
                           reasons.get(reason, reason)) for ts, entry, channel, reason in rows)


def local_day(ts: str, lang: str) -> str:
    moment = dt.datetime.fromisoformat(ts).astimezone(LOCAL)
    return moment.strftime(word(lang, "report.date_format"))


def comment_lines(items: tuple[Comment, ...], lang: str) -> list[str]:
    lines = []
    for item in items:
        tail = " · ".join(x for x in (item.entry, item.reason) if x)
        lines.append(f"  - {local_day(item.ts, lang)}: “{item.text}”"
                     + (f" ({tail})" if tail else ""))
    return lines


def low_lines(items: tuple[LowRating, ...], lang: str) -> list[str]:
    return [f"  - {local_day(r.ts, lang)}: {r.reason}" + (f" ({r.entry})" if r.entry else "")
            for r in items]
