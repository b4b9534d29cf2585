"""The citizen-satisfaction indicator and the usage figures, computed from the store.

The indicator is the share of ratings marked ``satisfied`` (``knowledge/survey.yaml`` says which
options count: on the 3-level scale all but "Không hài lòng", on a 5-level scale "Hài lòng" and
"Rất hài lòng").  Every figure comes with its sample size and a 95% Wilson score interval; a group
with fewer than ``MIN_RATINGS`` ratings is flagged as too few to judge.

Days, ISO weeks and months are counted in Vietnam's time (UTC+7, no daylight saving).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.conversation.i18n import DEFAULT
from bot.handoff.hours import OfficeHours
from bot.reports.catalog import word
from bot.reports.comments import Comment, LowRating, comments, low_ratings
from bot.reports.handoff import HandoffFigures, handoff_figures
from bot.retrieval.text import clean, fold, words

Z_95 = 1.96  # two-sided 95% normal quantile, as in the usual published Wilson tables
MIN_RATINGS = 10
UTC_OFFSET_HOURS = 7
LOCAL_TZ = dt.timezone(dt.timedelta(hours=UTC_OFFSET_HOURS), "ICT")
BREAKDOWNS = ("procedure", "field", "office", "channel", "week", "month")
GROUP_TYPES = ("overall", *BREAKDOWNS)
DECISIONS = ("answer", "clarify", "decline")
GENERAL_FIELD = "Câu hỏi chung"  # ratings stored without a field (older rows) count here
TOP = 10
# named by ``report.channel_name.<id>``; "staff": answers of staff relayed from hand-over tickets
CHANNELS = ("telegram", "zalo", "web", "console", "staff")


def wilson(satisfied: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for ``satisfied`` of ``n``; None when there are no ratings."""
    if n <= 0:
        return None
    p = satisfied / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    @classmethod
    def last_days(cls, days: int, today: dt.date | None = None) -> Period:
        end = today or local_today()
        return cls(end - dt.timedelta(days=days - 1), end)

    def utc_bounds(self) -> tuple[str, str]:
        """``[from, to)`` as UTC ISO strings, comparable with the store's ``ts`` columns."""
        return _utc_iso(self.start), _utc_iso(self.end + dt.timedelta(days=1))

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def weeks(self) -> list[str]:
        return list(dict.fromkeys(week_of(day) for day in self.days()))


def local_today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def _utc_iso(day: dt.date) -> str:
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ)
    return midnight.astimezone(dt.UTC).isoformat(timespec="seconds")


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Group:
    group_type: str
    key: str
    label: str
    ratings: int
    satisfied: int

    @property
    def indicator(self) -> float | None:
        return self.satisfied / self.ratings if self.ratings else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.satisfied, self.ratings)

    @property
    def too_few(self) -> bool:
        return self.ratings < MIN_RATINGS


@dataclass(frozen=True)
class Usage:
    questions: int
    per_day: tuple[tuple[dt.date, int], ...]
    decisions: Mapping[str, int]
    top_entries: tuple[tuple[str, int], ...]  # (label, answers given)
    top_unanswered: tuple[tuple[str, int], ...]  # (question as typed, times asked)

    def share(self, decision: str) -> float | None:
        if not self.questions:
            return None
        if decision == "other":
            return 1 - sum(self.decisions.get(d, 0) for d in DECISIONS) / self.questions
        return self.decisions.get(decision, 0) / self.questions


@dataclass(frozen=True)
class Summary:
    period: Period
    overall: Group
    groups: Mapping[str, tuple[Group, ...]]
    reasons: tuple[tuple[str, int], ...]  # (reason label, count) among dissatisfied ratings
    usage: Usage
    handoff: HandoffFigures = field(default_factory=HandoffFigures)  # tickets to staff
    comments: tuple[Comment, ...] = ()  # the latest /comment texts (masked)
    low: tuple[LowRating, ...] = ()  # the latest "not satisfied" ratings with a reason

    def all_groups(self) -> list[Group]:
        return [self.overall, *(g for kind in BREAKDOWNS for g in self.groups.get(kind, ()))]


@dataclass(frozen=True)
class Names:
    """Readable names for ids (from the knowledge base); unknown ids stay as they are."""

    entries: Mapping[str, str] = field(default_factory=dict)
    offices: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=lambda: channel_names(DEFAULT))
    overall: str = field(default_factory=lambda: word(DEFAULT, "report.all"))

    def label(self, group_type: str, key: str) -> str:
        table: Mapping[str, str] = {
            "procedure": self.entries, "office": self.offices, "channel": self.channels,
        }.get(group_type, {})
        return self.overall if group_type == "overall" else table.get(key, key)


def channel_names(lang: str) -> dict[str, str]:
    return {channel: word(lang, f"report.channel_name.{channel}") for channel in CHANNELS}


def names_from(kb: Any, lang: str = DEFAULT) -> Names:
    """``Names`` from a ``KnowledgeBase`` (typed loosely: no knowledge import needed here)."""
    entries = {e.id: _entry_name(e, lang) for e in kb.entries.values()}
    offices = {o.id: o.name for o in kb.offices}
    reasons = {r.id: _translated(r, "label", lang) or r.label for r in kb.survey.reasons}
    return Names(entries, offices, reasons, channel_names(lang), word(lang, "report.all"))


def _translated(item: Any, name: str, lang: str) -> Any:
    """The knowledge base's own translation, ``<name>_<lang>`` (``title_en``); None if none."""
    return getattr(item, f"{name}_{lang}", None)


def _entry_name(entry: Any, lang: str) -> str:
    """The title (a FAQ's question) in ``lang`` if the entry has one, else the Vietnamese."""
    names = (_translated(entry, "title", lang), _translated(entry, "question", lang),
             getattr(entry, "title", None), getattr(entry, "question", None))
    return str(next((name for name in names if name), entry.id))


# -- queries (run them on the store's thread: ``await store.call(summarise, db, period)``) ------

_LOCAL_DAY = f"date(ts, '+{UTC_OFFSET_HOURS} hours')"


def summarise(db: Any, period: Period, names: Names | None = None,
              hours: OfficeHours | None = None, top: int = TOP) -> Summary:
    """Every figure for ``period`` from a sqlite-utils ``Database`` (``hours``: OFFICE_HOURS,
    for the share of tickets answered within one working day)."""
    names = names or Names()
    bounds = period.utc_bounds()
    cube = list(db.execute(
        f"SELECT {_LOCAL_DAY}, channel, entry_id, field, office_id, count(*), sum(satisfied) "
        "FROM ratings WHERE ts >= ? AND ts < ? GROUP BY 1, 2, 3, 4, 5", bounds,
    ).fetchall())
    total = sum(row[5] for row in cube)
    overall = Group("overall", "all", names.label("overall", "all"), total,
                    sum(row[6] for row in cube))
    return Summary(period, overall, _breakdowns(cube, names), _reasons(db, bounds, names),
                   usage(db, period, names, top), handoff_figures(db, bounds, hours),
                   comments(db, bounds, entries=names.entries, reasons=names.reasons),
                   low_ratings(db, bounds, entries=names.entries, reasons=names.reasons))


def _breakdowns(cube: Iterable[tuple[Any, ...]], names: Names) -> dict[str, tuple[Group, ...]]:
    counts: dict[str, dict[str, list[int]]] = {kind: defaultdict(lambda: [0, 0])
                                               for kind in BREAKDOWNS}
    for day, channel, entry_id, field_, office_id, n, satisfied in cube:
        date = dt.date.fromisoformat(day)
        keys = {"procedure": entry_id, "field": field_ or GENERAL_FIELD, "office": office_id,
                "channel": channel, "week": week_of(date), "month": day[:7]}
        for kind, key in keys.items():
            if key:
                counts[kind][key][0] += n
                counts[kind][key][1] += satisfied
    result: dict[str, tuple[Group, ...]] = {}
    for kind, table in counts.items():
        groups = [Group(kind, key, names.label(kind, key), n, s) for key, (n, s) in table.items()]
        if kind in {"week", "month"}:
            groups.sort(key=lambda g: g.key)
        else:
            groups.sort(key=lambda g: (-g.ratings, g.label))
        result[kind] = tuple(groups)
    return result


def _reasons(db: Any, bounds: tuple[str, str], names: Names) -> tuple[tuple[str, int], ...]:
    rows = db.execute(
        "SELECT reasons.reason, count(*) FROM reasons JOIN ratings USING (answer_id) "
        "WHERE ratings.ts >= ? AND ratings.ts < ? AND ratings.satisfied = 0 "
        "GROUP BY 1 ORDER BY 2 DESC, 1", bounds,
    ).fetchall()
    return tuple((names.reasons.get(reason, reason), n) for reason, n in rows)


def usage(db: Any, period: Period, names: Names | None = None, top: int = TOP) -> Usage:
    names = names or Names()
    bounds = period.utc_bounds()
    per_day: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    for day, decision, n in db.execute(
        f"SELECT {_LOCAL_DAY}, decision, count(*) FROM questions "
        "WHERE ts >= ? AND ts < ? GROUP BY 1, 2", bounds,
    ).fetchall():
        per_day[day] += n
        decisions[decision] += n
    entries = db.execute(
        "SELECT entry_id, count(*) FROM answers WHERE ts >= ? AND ts < ? "
        "AND entry_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?", [*bounds, top],
    ).fetchall()
    return Usage(
        questions=sum(per_day.values()),
        per_day=tuple((day, per_day.get(day.isoformat(), 0)) for day in period.days()),
        decisions=dict(decisions),
        top_entries=tuple((names.label("procedure", key), n) for key, n in entries),
        top_unanswered=_unanswered(db, bounds, top),
    )


def _unanswered(db: Any, bounds: tuple[str, str], top: int) -> tuple[tuple[str, int], ...]:
    """Declined questions, the same words (ignoring case, accents, punctuation) counted once."""
    counts: Counter[str] = Counter()
    latest: dict[str, tuple[str, str]] = {}  # key → (time, wording) of the latest asking
    for text, n, last in db.execute(
        "SELECT text, count(*), max(ts) FROM questions WHERE decision = 'decline' "
        "AND text IS NOT NULL AND ts >= ? AND ts < ? GROUP BY text", bounds,
    ).fetchall():
        key = " ".join(words(fold(text)))
        if key:
            counts[key] += n
            latest[key] = max(latest.get(key, ("", "")), (last, clean(text, 200)))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple((latest[key][1], n) for key, n in ranked)
