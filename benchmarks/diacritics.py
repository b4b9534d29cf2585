"""Every curated title and alias asked without diacritics: same decision and entry as with them.

    .venv/bin/python benchmarks/diacritics.py [KNOWLEDGE_DIR]

Prints the share that agree (target ≥ 0.99) and lists the ones that do not.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge.loader import load_knowledge
from bot.retrieval.engine import Engine, Result
from bot.retrieval.text import fold


def outcome(result: Result) -> tuple[str, str | None]:
    best = result.best.entry_id if result.best and result.decision == "answer" else None
    return result.decision, best


def disagreements(engine: Engine) -> tuple[int, list[tuple[str, str, str]]]:
    surfaces = [(e.id, s) for e in engine.kb.entries.values() if e.curated
                for s in (e.title, *e.aliases) if s != fold(s)]
    bad = []
    for entry_id, surface in surfaces:
        accented, plain = engine.ask(surface), engine.ask(fold(surface))
        if outcome(accented) != outcome(plain):
            bad.append((entry_id, surface, f"{outcome(accented)} vs {outcome(plain)}"))
    return len(surfaces), bad


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_KNOWLEDGE_DIR
    n, bad = disagreements(Engine(load_knowledge(root)))
    for entry_id, surface, what in bad:
        print(f"  {entry_id}: {surface!r}: {what}")
    print(f"same_without_diacritics={(n - len(bad)) / n:.3f} n={n} differ={len(bad)}")


if __name__ == "__main__":
    main()
