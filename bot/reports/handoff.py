"""Hand-over figures for officials: tickets opened, answered, the median time to the first staff
answer, and the share answered within one working day (``bot.handoff.hours``).

Counted over the tickets *opened* in the period:

- ``answered``: those with a staff answer (whenever it came);
- ``median_seconds``: the median wall-clock time from opening to the first staff answer, over the
  answered ones (``median_working_seconds``: the same in office time);
- ``within_day`` of ``judged``: answered within one working day of office time, out of the
  tickets that are either answered or have had a whole working day to be (a ticket opened an hour
  ago and not answered yet is too early to count against anyone).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from bot.handoff.hours import OfficeHours


@dataclass(frozen=True)
class HandoffFigures:
    opened: int = 0
    answered: int = 0
    closed: int = 0
    waiting: int = 0  # still without a staff answer
    median_seconds: float | None = None
    median_working_seconds: float | None = None
    within_day: int = 0
    judged: int = 0

    @property
    def share_within_day(self) -> float | None:
        return self.within_day / self.judged if self.judged else None

    @property
    def share_answered(self) -> float | None:
        return self.answered / self.opened if self.opened else None


def _time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def handoff_figures(db: Any, bounds: tuple[str, str], hours: OfficeHours | None = None,
                    now: dt.datetime | None = None) -> HandoffFigures:
    """The figures for tickets opened in ``[from, to)`` (UTC ISO) from a sqlite-utils
    ``Database``; an empty ``HandoffFigures`` when the store has no tickets table."""
    if "tickets" not in db.table_names():
        return HandoffFigures()
    hours = hours or OfficeHours.parse()
    now = now or dt.datetime.now(dt.UTC)
    rows = db.execute("SELECT opened, answered, state FROM tickets WHERE opened >= ? AND "
                      "opened < ?", list(bounds)).fetchall()
    waits, working = [], []
    within = judged = closed = 0
    for opened_text, answered_text, state in rows:
        opened, answered = _time(opened_text), _time(answered_text)
        closed += state == "closed"
        if opened is None:
            continue
        if answered is not None:
            waits.append((answered - opened).total_seconds())
            office = hours.working_seconds(opened, answered)
            working.append(office)
            judged += 1
            within += office <= hours.day_seconds
        elif hours.working_seconds(opened, now) > hours.day_seconds:
            judged += 1
    return HandoffFigures(
        opened=len(rows), answered=len(waits), closed=closed, waiting=len(rows) - len(waits),
        median_seconds=statistics.median(waits) if waits else None,
        median_working_seconds=statistics.median(working) if working else None,
        within_day=within, judged=judged)


def duration_text(seconds: float | None, lang_words: dict[str, str]) -> str:
    """'2 h 05 min' / '35 min' / '3 d 4 h' from the words ``h``, ``min``, ``d``."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} {lang_words['d']} {hours} {lang_words['h']}"
    if hours:
        return f"{hours} {lang_words['h']} {mins:02d} {lang_words['min']}"
    return f"{mins} {lang_words['min']}"
