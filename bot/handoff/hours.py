"""Office hours: when staff answer, so that the citizen is told honestly when to expect a person.

``OFFICE_HOURS`` lists days and time spans, groups separated by ``;``::

    Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30

Days are ``Mon`` … ``Sun`` (or ``T2`` … ``T7``, ``CN``), a range ``Mon-Fri`` or a list
``Mon,Wed``; times are 24-hour ``HH:MM``.  ``OFFICE_HOLIDAYS`` lists closed dates
(``2026-02-16,2026-02-17``).  Times are Vietnam's (UTC+7, no daylight saving).

"One working day" is the open time of the longest day of the week (8 hours for the default):
a ticket is answered within one working day when at most that much office time has passed
between its opening and the first staff answer (a ticket opened at night starts counting when
the office opens).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

LOCAL_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
DEFAULT_HOURS = "Mon-Fri 07:30-11:30,13:30-17:00"
SEARCH_DAYS = 62  # how far ahead the next opening is looked for (a long holiday included)

_DAY_NAMES = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "t2": 0, "t3": 1, "t4": 2, "t5": 3, "t6": 4, "t7": 5, "cn": 6,
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$|^24:00$")

Span = tuple[int, int]  # minutes after midnight: [start, end)


def _minutes(text: str) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a time like 07:30")
    if text.strip() == "24:00":
        return 24 * 60
    return int(match.group(1)) * 60 + int(match.group(2))


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in _DAY_NAMES or (last and last not in _DAY_NAMES):
            raise ValueError(f"{part.strip()!r} is not a day or range of days like Mon-Fri")
        start = _DAY_NAMES[first]
        end = _DAY_NAMES[last] if last else start
        days += [d % 7 for d in range(start, end + (7 if end < start else 0) + 1)]
    return days


def _spans(text: str) -> list[Span]:
    spans = []
    for part in text.split(","):
        start_text, sep, end_text = part.strip().partition("-")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not a time span like 07:30-11:30")
        start, end = _minutes(start_text), _minutes(end_text)
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts")
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise ValueError(f"the spans of {text.strip()!r} overlap")
    return spans


@dataclass(frozen=True)
class OfficeHours:
    week: tuple[tuple[Span, ...], ...]  # per weekday (Monday first)
    holidays: frozenset[dt.date] = frozenset()

    @classmethod
    def parse(cls, text: str = DEFAULT_HOURS, holidays: Iterable[dt.date] = ()) -> OfficeHours:
        """``OfficeHours`` from the OFFICE_HOURS text; ``ValueError`` with what is wrong."""
        week: list[list[Span]] = [[] for _ in range(7)]
        groups = [g.strip() for g in text.split(";") if g.strip()]
        if not groups:
            raise ValueError("no office hours given")
        for group in groups:
            days_text, _, spans_text = group.partition(" ")
            spans = _spans(spans_text.replace(" ", ""))
            for day in _days(days_text):
                if week[day]:
                    raise ValueError(f"a day is given twice in {text!r}")
                week[day] = spans
        return cls(tuple(tuple(day) for day in week), frozenset(holidays))

    def spans_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        if day in self.holidays:
            return []
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ)
        return [(midnight + dt.timedelta(minutes=a), midnight + dt.timedelta(minutes=b))
                for a, b in self.week[day.weekday()]]

    def _ahead(self, moment: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The open spans that end after ``moment``, in order."""
        local = moment.astimezone(LOCAL_TZ)
        for offset in range(SEARCH_DAYS):
            for start, end in self.spans_on(local.date() + dt.timedelta(days=offset)):
                if end > local:
                    yield start, end

    def is_open(self, moment: dt.datetime) -> bool:
        return any(start <= moment < end for start, end in self.spans_on(
            moment.astimezone(LOCAL_TZ).date()))

    def next_open(self, moment: dt.datetime) -> dt.datetime | None:
        """``moment`` when the office is open, else when it opens next (local time)."""
        for start, _ in self._ahead(moment):
            return max(start, moment.astimezone(LOCAL_TZ))
        return None

    def closes_at(self, moment: dt.datetime) -> dt.datetime | None:
        """When the current open span ends; None when the office is closed."""
        local = moment.astimezone(LOCAL_TZ)
        return next((end for start, end in self.spans_on(local.date()) if start <= local < end),
                    None)

    @property
    def day_seconds(self) -> float:
        """One working day: the open time of the longest day of the week."""
        return max((sum(b - a for a, b in day) for day in self.week), default=0) * 60.0

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Office time between two moments."""
        total = 0.0
        for a, b in self._ahead(start):
            if a >= end:
                break
            total += (min(b, end) - max(a, start)).total_seconds()
        return max(total, 0.0)

    def within_working_day(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.working_seconds(start, end) <= self.day_seconds

    def working_day_deadline(self, start: dt.datetime) -> dt.datetime | None:
        """The moment one working day of office time after ``start``."""
        left = self.day_seconds
        for a, b in self._ahead(start):
            begin = max(a, start.astimezone(LOCAL_TZ))
            span = (b - begin).total_seconds()
            if span >= left:
                return begin + dt.timedelta(seconds=left)
            left -= span
        return None
