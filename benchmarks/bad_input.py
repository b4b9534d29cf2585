"""Cost of hostile or oversized messages through normalisation + search + decision.

Run: .venv/bin/python benchmarks/bad_input.py   (prints p50/p99 in ms for each kind of message)
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge.loader import load_knowledge
from bot.retrieval.engine import Engine

ALPHABET = "abcdeghiklmnopqrstuvxyđăâêôơưáàảãạéèẻẽẹíìỉĩịóòỏõọúùủũụ "


def messages(rng: random.Random) -> dict[str, Callable[[], str]]:
    return {
        "10k repeated words": lambda: ("khai sinh cho con " * 600)[:10_000],
        "10k random letters": lambda: "".join(rng.choice(ALPHABET) for _ in range(10_000)),
        "10k emoji": lambda: "😀🙏🏻" * 3_333,
        "html injection": lambda: "<script>alert(1)</script>" * 400,
        "control characters": lambda: "".join(chr(rng.randrange(0, 32)) for _ in range(10_000)),
    }


def main(rounds: int = 200) -> None:
    engine = Engine(load_knowledge(DEFAULT_KNOWLEDGE_DIR))
    rng = random.Random(7)
    print(f"{'message':<22} {'p50_ms':>8} {'p99_ms':>8} {'max_ms':>8}")
    for name, make in messages(rng).items():
        times = []
        for _ in range(rounds):
            text = make()
            started = time.perf_counter()
            engine.ask(text)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        print(f"{name:<22} {statistics.median(times):>8.2f} {p99:>8.2f} {times[-1]:>8.2f}")


if __name__ == "__main__":
    main()
