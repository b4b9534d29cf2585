"""`dvcbot eval`: run a question file against the engine and compute the figures."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.retrieval.engine import Engine, Result

DECLINED = frozenset({"decline", "empty"})


@dataclass(frozen=True)
class Case:
    q: str
    expect: str | None
    also: tuple[str, ...] = ()
    section: str | None = None
    category: str = ""

    @property
    def right(self) -> frozenset[str]:
        return frozenset({self.expect, *self.also}) if self.expect else frozenset()


@dataclass
class Outcome:
    case: Case
    result: Result

    @property
    def ranked(self) -> list[str]:
        return [c.entry_id for c in self.result.candidates]

    @property
    def declined(self) -> bool:
        return self.result.decision in DECLINED

    def hit(self, k: int) -> bool:
        return bool(self.case.right & set(self.ranked[:k]))

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self.case),
            "decision": self.result.decision,
            "section_detected": self.result.section,
            "top": [asdict(c) for c in self.result.candidates],
            "top1_ok": self.hit(1) if self.case.expect else None,
            "elapsed_ms": round(self.result.elapsed_ms, 3),
        }


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def _share(self, items: list[bool]) -> float:
        return sum(items) / len(items) if items else 0.0

    def figures(self, outcomes: list[Outcome] | None = None) -> dict[str, float]:
        rows = self.outcomes if outcomes is None else outcomes
        scope = [o for o in rows if o.case.expect]
        out = [o for o in rows if not o.case.expect]
        sect = [o for o in rows if o.case.section]
        times = sorted(o.result.elapsed_ms for o in rows) or [0.0]
        p99_index = min(len(times) - 1, max(0, round(0.99 * len(times) + 0.5) - 1))
        return {
            "top1": self._share([o.hit(1) for o in scope]),
            "top3": self._share([o.hit(3) for o in scope]),
            "decline": self._share([o.declined for o in out]),
            "false_decline": self._share([o.declined for o in scope]),
            "section": self._share([o.result.section == o.case.section for o in sect]),
            "p50_ms": statistics.median(times),
            "p99_ms": times[p99_index],
            "n": float(len(rows)),
        }

    def last_line(self) -> str:
        f = self.figures()
        return (
            f"top1={f['top1']:.3f} top3={f['top3']:.3f} decline={f['decline']:.3f} "
            f"false_decline={f['false_decline']:.3f} section={f['section']:.3f} "
            f"p50_ms={f['p50_ms']:.2f} p99_ms={f['p99_ms']:.2f} n={int(f['n'])}"
        )

    def by_category(self) -> dict[str, dict[str, float]]:
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for o in self.outcomes:
            groups[o.case.category].append(o)
        return {name: self.figures(rows) for name, rows in sorted(groups.items())}


def category(case: dict[str, Any]) -> str:
    """A case's category: given in the file, or derived (out-of-scope, English, typed plainly …)."""
    if case.get("category"):
        return str(case["category"])
    q = str(case["q"])
    if case.get("expect") is None:
        return "out-of-scope"
    if q.isascii():
        words = q.lower().split()
        english = {"how", "to", "a", "the", "registration", "get", "register", "certificate"}
        return "english" if english & set(words) else "no-diacritics"
    return "diacritics"


def load_cases(path: Path) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of cases")
    cases = []
    for item in raw:
        cases.append(Case(q=str(item["q"]), expect=item.get("expect"),
                          also=tuple(item.get("also") or ()), section=item.get("section"),
                          category=category(item)))
    return cases


def run(engine: Engine, cases: list[Case]) -> Report:
    for case in cases[:3]:  # warm caches so that latency measures steady state
        engine.ask(case.q)
    return Report([Outcome(case, engine.ask(case.q)) for case in cases])
