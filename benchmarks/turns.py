"""Per turn through the dialog, and the index at national scale.

Run: .venv/bin/python benchmarks/turns.py [DATA.jsonl.gz] [CONVERSATIONS.yaml]

Three knowledge folders, each measured in a fresh child process pinned to one core:
- ``sample``: knowledge/ as shipped;
- ``+imported``: with the 2,642 national-portal records imported (``dvcbot kb import``);
- ``x4``: the imported records four times over under new ids (~10,000 entries).
For each: knowledge load time, index build time, resident memory of the started services (load,
index, store: as the bot starts), and p50/p99 of one
turn through the real dialog (all handlers, a temporary SQLite store) over the conversations of
CONVERSATIONS.yaml, replayed three times.  Targets (issue 11): p99 ≤ 10 ms (sample), ≤ 15 ms
(+imported); at ~10,000 entries build ≤ 2 s and memory ≤ 250 MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "national-procedures.jsonl.gz"
CONVERSATIONS = ROOT.parent / "shared" / "eval" / "conversations.yaml"
ROUNDS = 3


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build_folders(data: Path, base: Path) -> dict[str, Path]:
    sample = base / "sample"
    shutil.copytree(ROOT / "knowledge", sample)
    imported = base / "imported"
    shutil.copytree(sample, imported)
    command = [sys.executable, "-m", "bot.cli.main", "kb", "import", str(data),
               "--out", str(imported / "imported"), "--knowledge-dir", str(imported)]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    four = base / "x4"
    shutil.copytree(imported, four)
    for copy in (2, 3, 4):
        target = four / f"imported-{copy}"
        target.mkdir()
        for path in (imported / "imported").glob("*.yaml"):
            text = path.read_text(encoding="utf-8")
            text = re.sub(r"^id: (.+)$", rf"id: \1-c{copy}", text, count=1, flags=re.M)
            text = re.sub(r"^title: (.+)$", rf"title: \1 (bản {copy})", text, count=1,
                          flags=re.M)
            text = re.sub(r'^code: "?([0-9.]+)"?$', "", text, count=1, flags=re.M)
            (target / f"{path.stem}-c{copy}.yaml").write_text(text, encoding="utf-8")
    return {"sample": sample, "+imported": imported, "x4": four}


def measure(folder: Path, conversations: Path) -> dict[str, float]:
    """In this (child) process: build, then replay the conversations turn by turn."""
    os.sched_setaffinity(0, {0})
    from bot.app import build_dialog, build_services
    from bot.config import load_settings
    from bot.conversation import evaluation
    from bot.knowledge.loader import load_knowledge
    from bot.retrieval.engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(environ={}, dotenv=None, knowledge_dir=folder, data_dir=tmp,
                                 pseudonym_key="benchmark-key-123")
        started = time.perf_counter()
        kb = load_knowledge(folder)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        Engine(kb)
        index_s = time.perf_counter() - started
        del kb
        services = build_services(settings)  # as the bot starts: load, index, settle
        memory = rss_mb()
        dialog = build_dialog(services)
        items = evaluation.load(conversations)
        times: list[float] = []
        for round_ in range(ROUNDS):
            report = asyncio.run(evaluation.run(dialog, items, f"r{round_}"))
            times += [t.ms for t in report.turns]
        services.store.close()
    times.sort()
    return {"entries": len(services.knowledge.kb.entries), "load_s": load_s, "index_s": index_s,
            "rss_mb": memory,
            "p50_ms": statistics.median(times), "p99_ms": times[round(0.99 * (len(times) - 1))]}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(measure(Path(sys.argv[2]), Path(sys.argv[3]))))
        return
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    conversations = Path(sys.argv[2]) if len(sys.argv) > 2 else CONVERSATIONS
    with tempfile.TemporaryDirectory(prefix="dvcbot-turns-") as tmp:
        folders = build_folders(data, Path(tmp))
        print(f"{'folder':<10} {'entries':>8} {'load_s':>7} {'index_s':>8} {'rss_mb':>7} "
              f"{'p50_ms':>7} {'p99_ms':>7}")
        for name, folder in folders.items():
            out = subprocess.run([sys.executable, __file__, "--child", str(folder),
                                  str(conversations)], check=True, capture_output=True,
                                 text=True, cwd=ROOT)
            fig = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{name:<10} {int(fig['entries']):>8} {fig['load_s']:>7.2f} "
                  f"{fig['index_s']:>8.2f} {fig['rss_mb']:>7.0f} {fig['p50_ms']:>7.2f} "
                  f"{fig['p99_ms']:>7.2f}")


if __name__ == "__main__":
    main()
