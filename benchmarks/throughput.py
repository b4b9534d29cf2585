"""Telegram throughput, side by side: the real bot (`dvcbot run`, long polling, durable inbox on)
and a minimal aiogram echo bot (``benchmarks/peers/echo_telegram.py``), one after the other in
the same run, against the same fake Bot API server on 127.0.0.1.

Each bot runs as its own process pinned to CPU 0; the fake server and the load generator run in
this process on CPU 1, so their work is not counted against the bot.  Latency of an update =
from the moment the fake server makes it available to getUpdates until the bot's sendMessage
for it arrives at the fake server (polling pick-up, parsing, inbox commit, dialog, SQLite,
rendering and the HTTP call are all inside).  Updates: questions and button presses (one in five),
the same for both bots; the echo bot answers each with its text.

Per round and bot:
  warm-up  one update per chat (first contact), not counted;
  burst    N updates at once over C chats: updates/s;
  paced    updates at a fixed rate (default 300/s) over C other chats for S seconds: p50/p99.
Rounds alternate which bot goes first; the last lines are the medians over the rounds.

    .venv/bin/python -m benchmarks.throughput [--rounds 3] [--updates 3000] [--chats 200]
                                              [--rate 300] [--seconds 10] [--only dvcbot]
Targets (issue 12): burst ≥ 0.8 × the echo bot's updates/s; p99 at 300/s ≤ 3 × the echo bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_telegram import TOKEN, Call, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = json.loads((ROOT / "tests/data/telegram/message_text.json").read_text("utf-8"))
CALLBACK = json.loads((ROOT / "tests/data/telegram/callback_query.json").read_text("utf-8"))
QUESTIONS = ["lam giay khai sinh cho con", "đăng ký kết hôn", "cap lai can cuoc",
             "giá xăng hôm nay", "mất bao nhiêu tiền?", "/menu", "đăng ký thường trú",
             "giấy phép lái xe", "xin chào", "/office"]
PRESSES = ["p:khai-sinh:fee", "p:ket-hon:documents", "m:e"]  # one update in five is a button
BOT_CPU, LOAD_CPU = 0, 1


class Load:
    """Pushes updates into the fake server and matches each chat's replies to its updates."""

    def __init__(self, fake: FakeTelegram, chats: range) -> None:
        self.fake = fake
        self.chats = chats
        self.sequence = 0
        self.waiting: dict[int, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        self.replied = 0
        self.done = asyncio.Event()
        self.expected = 0
        fake.on_call = self.on_call

    def push(self) -> None:
        self.sequence += 1
        chat = self.chats[self.sequence % len(self.chats)]
        if self.sequence % 5 == 0:
            update = copy.deepcopy(CALLBACK)
            query = update["callback_query"]
            query.update(id=f"q{chat}-{self.sequence}", data=PRESSES[self.sequence % len(PRESSES)])
            query["from"]["id"] = query["message"]["chat"]["id"] = chat
        else:
            update = copy.deepcopy(TEMPLATE)
            message = update["message"]
            message.update(text=QUESTIONS[self.sequence % len(QUESTIONS)],
                           message_id=self.sequence)
            message["from"]["id"] = message["chat"]["id"] = chat
        update["update_id"] = 0
        self.waiting[chat].append(time.monotonic())
        self.fake.push(update)

    def on_call(self, call: Call) -> None:
        if call.method != "sendMessage" or call.status != 200:
            return
        queue = self.waiting.get(int(call.params["chat_id"]))
        if not queue:
            return
        self.latencies.append(call.at - queue.popleft())
        self.replied += 1
        if self.replied >= self.expected:
            self.done.set()

    def reset(self, expected: int) -> None:
        self.latencies, self.replied, self.expected = [], 0, expected
        self.done.clear()


def cpu_times(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Phase:
    name: str
    count: int
    rate: float  # updates/s achieved
    cpu_ms: float  # bot CPU per update
    load_cpu: float  # share of a core used by the fake server and the load (this process)
    p50: float
    p99: float

    def line(self, bot: str) -> str:
        return (f"{bot:7} {self.name:11} n={self.count:5d} {self.rate:7.1f} updates/s | "
                f"bot CPU {self.cpu_ms:4.2f} ms/update | fake+load CPU {100 * self.load_cpu:3.0f}%"
                f" | latency ms p50 {self.p50:6.1f} p99 {self.p99:6.1f}")


async def drive(load: Load, count: int, rate: float | None) -> float:
    """Push ``count`` updates (at ``rate`` a second, or all at once) and wait for every reply;
    returns the seconds it took."""
    load.reset(count)
    start = time.monotonic()
    for i in range(count):
        if rate is not None:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        load.push()
    await asyncio.wait_for(load.done.wait(), 600)
    return time.monotonic() - start


async def measure(name: str, load: Load, pid: int, count: int, rate: float | None) -> Phase:
    cpu0, own0 = cpu_times(pid), time.process_time()
    elapsed = await drive(load, count, rate)
    ms = [v * 1000 for v in load.latencies]
    return Phase(name, count, count / elapsed, 1000 * (cpu_times(pid) - cpu0) / count,
                 (time.process_time() - own0) / elapsed, statistics.median(ms),
                 percentile(ms, 99))


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def command(bot: str) -> list[str]:
    if bot == "echo":
        return [sys.executable, "-m", "benchmarks.peers.echo_telegram"]
    if os.environ.get("BENCH_DVCBOT"):  # an experiment: another command line for the bot
        return os.environ["BENCH_DVCBOT"].split()
    return [str(Path(sys.executable).parent / "dvcbot"), "run"]


@dataclass
class Run:
    bot: str
    phases: dict[str, Phase] = field(default_factory=dict)


async def run_bot(bot: str, fake: FakeTelegram, knowledge: Path, args: argparse.Namespace,
                  base: int) -> Run:
    fake.updates.clear()
    fake.calls.clear()
    fake.arrivals.clear()
    data = tempfile.mkdtemp(prefix=f"dvcbot-bench-{bot}-")
    env = {**{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
           "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url, "DATA_DIR": data,
           "LOG_LEVEL": "WARNING", "PSEUDONYM_KEY": "benchmark-key-0001",
           "KNOWLEDGE_DIR": str(knowledge), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        *command(bot), env=env, cwd=ROOT, preexec_fn=lambda: pin(BOT_CPU),
        stderr=asyncio.subprocess.DEVNULL)
    run = Run(bot)
    try:
        await fake.wait_for_arrival("getUpdates", timeout=60)
        burst_chats = range(base, base + args.chats)
        paced_chats = range(base + args.chats, base + 2 * args.chats)
        for chats, phase, rate, count in ((burst_chats, "burst", None, args.updates),
                                          (paced_chats, f"paced {args.rate:g}/s", args.rate,
                                           int(args.rate * args.seconds))):
            load = Load(fake, chats)
            await measure("warm-up", load, proc.pid, len(chats), None)  # first contact
            fake.calls.clear()
            run.phases[phase.split()[0]] = result = await measure(phase, load, proc.pid, count,
                                                                  rate)
            print(result.line(bot), flush=True)
    finally:
        proc.terminate()
        await proc.wait()
        shutil.rmtree(data, ignore_errors=True)
    return run


def summary(runs: list[Run]) -> None:
    def med(bot: str, phase: str, attr: str) -> float | None:
        values = [getattr(r.phases[phase], attr) for r in runs
                  if r.bot == bot and phase in r.phases]
        return statistics.median(values) if values else None

    print("\nmedians over the rounds:")
    for bot in ("echo", "dvcbot"):
        burst, cpu = med(bot, "burst", "rate"), med(bot, "burst", "cpu_ms")
        p50, p99 = med(bot, "paced", "p50"), med(bot, "paced", "p99")
        if burst is not None and p99 is not None and p50 is not None and cpu is not None:
            print(f"  {bot:7} burst {burst:7.1f} updates/s ({cpu:4.2f} ms CPU/update) | "
                  f"paced p50 {p50:5.1f} ms p99 {p99:6.1f} ms")
    echo_burst, bot_burst = med("echo", "burst", "rate"), med("dvcbot", "burst", "rate")
    echo_p99, bot_p99 = med("echo", "paced", "p99"), med("dvcbot", "paced", "p99")
    if echo_burst and bot_burst and echo_p99 and bot_p99:
        print(f"  burst ratio dvcbot/echo {bot_burst / echo_burst:4.2f} (target ≥ 0.8); "
              f"p99 ratio dvcbot/echo {bot_p99 / echo_p99:4.2f} (target ≤ 3)")


async def main(args: argparse.Namespace) -> None:
    pin(LOAD_CPU)  # the fake server and the load generator: not on the bots' core
    knowledge = Path(tempfile.mkdtemp(prefix="dvcbot-bench-kb-")) / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)  # a snapshot: edits meanwhile are not reloads
    runs: list[Run] = []
    base = 900_000_000
    try:
        async with FakeTelegram() as fake:
            print(f"fake Bot API server {fake.url}; bots pinned to CPU {BOT_CPU}, fake server "
                  f"and load on CPU {LOAD_CPU} of {os.cpu_count()}")
            for round_ in range(args.rounds):
                order = ["echo", "dvcbot"] if round_ % 2 == 0 else ["dvcbot", "echo"]
                for bot in order:
                    if args.only and bot != args.only:
                        continue
                    base += 2 * args.chats
                    runs.append(await run_bot(bot, fake, knowledge, args, base))
    finally:
        shutil.rmtree(knowledge.parent, ignore_errors=True)
    summary(runs)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=["echo", "dvcbot"])
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
