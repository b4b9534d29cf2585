"""The engine next to two baselines a team might ship, on the same questions and knowledge.

Run: .venv/bin/python benchmarks/retrieval.py [QUESTIONS.yaml] [--knowledge-dir DIR]
(default: ../shared/eval/dev.yaml and knowledge/)

- engine: ``bot.retrieval.engine.Engine`` (normalisation, synonyms, typo correction,
  BM25 + confidence, answer / clarify / decline).
- rapidfuzz: ``process.extract`` with ``fuzz.WRatio`` over the entry titles as written
  (rapidfuzz's default processor: lower case, punctuation removed; no diacritics folding).
- bm25s: BM25 (``bm25s``, default k1/b) over one document per entry: title + aliases, diacritics
  folded (``bot.retrieval.text.fold``); the question folded the same way.

Baselines decide by a threshold on their best score: below it they decline.  The threshold is
picked on these same questions to maximise (decline + (1 - false_decline)) / 2 — the most
favourable setting for the baseline — and printed.  Baselines get the engine's section detector
(``bot.retrieval.engine.detect_section``), so the section column compares like with like.
Figures are those of ``dvcbot eval`` (``bot.retrieval.evaluation.Report``); latency is per
question, in this process.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s
import numpy as np
from rapidfuzz import fuzz, process, utils

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge.loader import KnowledgeBase, load_knowledge
from bot.retrieval import evaluation
from bot.retrieval.engine import Candidate, Decision, Engine, Result, detect_section
from bot.retrieval.text import fold

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev.yaml"
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
Ranker = Callable[[str], list[tuple[str, float]]]  # question -> [(entry id, score)], best first


def wratio_ranker(kb: KnowledgeBase) -> Ranker:
    ids = list(kb.entries)
    titles = [kb.entries[i].title for i in ids]

    def rank(question: str) -> list[tuple[str, float]]:
        found = process.extract(question, titles, scorer=fuzz.WRatio,
                                processor=utils.default_process, limit=5)
        return [(ids[index], float(score)) for _, score, index in found]

    return rank


def bm25_ranker(kb: KnowledgeBase) -> Ranker:
    ids = list(kb.entries)
    corpus = [fold(" ".join([e.title, *e.aliases])) for e in kb.entries.values()]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords=None, show_progress=False),
                    show_progress=False)
    vocab = set(bm25s.tokenize(corpus, stopwords=None, show_progress=False).vocab)

    def rank(question: str) -> list[tuple[str, float]]:
        tokens = [t for t in TOKEN.findall(fold(question)) if t in vocab]
        if not tokens:
            return []
        scores = retriever.get_scores(tokens)
        top = np.argsort(-scores)[:5]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]

    return rank


def run_baseline(rank: Ranker, kb: KnowledgeBase, cases: Sequence[evaluation.Case],
                 threshold: float) -> evaluation.Report:
    outcomes = []
    for case in cases:
        started = time.perf_counter()
        ranked = rank(case.q)
        decision: Decision = "answer" if ranked and ranked[0][1] >= threshold else "decline"
        section = detect_section(fold(case.q))
        elapsed = (time.perf_counter() - started) * 1000
        candidates = tuple(Candidate(entry_id=i, title=kb.entries[i].title, score=s,
                                     confidence=s, bm25=s) for i, s in ranked)
        result = Result(case.q, decision, candidates, section, (), elapsed)
        outcomes.append(evaluation.Outcome(case, result))
    return evaluation.Report(outcomes)


def best_threshold(rank: Ranker, cases: Sequence[evaluation.Case]) -> float:
    """The decline threshold with the best (decline + 1 - false_decline) / 2 on ``cases``."""
    tops = [(case.expect is not None, (rank(case.q) or [("", 0.0)])[0][1]) for case in cases]
    scope = [s for inside, s in tops if inside]
    out = [s for inside, s in tops if not inside]
    best, best_value = 0.0, -1.0
    for threshold in sorted({0.0, *(s + 1e-9 for _, s in tops)}):
        declined = sum(s < threshold for s in out) / max(len(out), 1)
        false = sum(s < threshold for s in scope) / max(len(scope), 1)
        value = (declined + 1 - false) / 2
        if value > best_value:
            best, best_value = threshold, value
    return best


def row(name: str, report: evaluation.Report, rule: str) -> str:
    f = report.figures()
    return (f"{name:<34} {f['top1']:>6.3f} {f['top3']:>6.3f} {f['decline']:>8.3f} "
            f"{f['false_decline']:>7.3f} {f['section']:>8.3f} {f['p50_ms']:>7.2f} "
            f"{f['p99_ms']:>7.2f}  {rule}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("questions", nargs="?", type=Path, default=DEV)
    parser.add_argument("--knowledge-dir", type=Path, default=DEFAULT_KNOWLEDGE_DIR)
    args = parser.parse_args()
    kb = load_knowledge(args.knowledge_dir)
    cases = evaluation.load_cases(args.questions)
    started = time.perf_counter()
    engine = Engine(kb)
    built = {"engine": time.perf_counter() - started}
    reports = [("engine (bot.retrieval.engine)", evaluation.run(engine, cases),
                "its own answer/clarify/decline")]
    for name, make in (("rapidfuzz WRatio, titles", wratio_ranker),
                       ("bm25s, titles+aliases folded", bm25_ranker)):
        started = time.perf_counter()
        rank = make(kb)
        built[name] = time.perf_counter() - started
        threshold = best_threshold(rank, cases)
        for case in cases[:3]:  # warm up, as evaluation.run does for the engine
            rank(case.q)
        reports.append((name, run_baseline(rank, kb, cases, threshold),
                        f"decline if best score < {threshold:.2f}"))
    n_scope = sum(1 for c in cases if c.expect)
    print(f"{len(cases)} questions ({n_scope} in scope, {len(cases) - n_scope} out of scope) "
          f"from {args.questions}; {len(kb.entries)} entries from {args.knowledge_dir}")
    print(f"{'':<34} {'top1':>6} {'top3':>6} {'decline':>8} {'f_decl':>7} {'section':>8} "
          f"{'p50_ms':>7} {'p99_ms':>7}  decision rule")
    for name, report, rule in reports:
        print(row(name, report, rule))
    print("index build: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in built.items()))


if __name__ == "__main__":
    main()
