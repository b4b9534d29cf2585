"""Telegram throughput: updates through the real bot (`dvcbot run`, long polling, aiogram) and a
fake Bot API server on 127.0.0.1; prints updates/s and p50/p99 handling latency.

The bot runs as its own process, pinned to one CPU; the fake server and the load generator run
in this process on another CPU (when there is one), so their work is not counted against the bot.
Latency of an update = from the moment the fake server makes it available to getUpdates until
the bot's sendMessage with the answer arrives at the fake server (polling pick-up, aiogram
dispatch, dialog, SQLite, rendering and the HTTP call are all inside).

Two phases:
  burst   N updates at once over C chats: how many updates/s the bot sustains;
  paced   updates at a fixed rate (default 300/s) over C chats for S seconds: the latency.

    .venv/bin/python -m benchmarks.throughput [--updates 3000] [--chats 200]
                                              [--rate 150,200,250,300] [--seconds 10]
Target: >= 300 updates/s on one core, p99 <= 50 ms, with 200 concurrent chats.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path

from tests.fake_telegram import TOKEN, Call, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = json.loads((ROOT / "tests/data/telegram/message_text.json").read_text("utf-8"))
CALLBACK = json.loads((ROOT / "tests/data/telegram/callback_query.json").read_text("utf-8"))
QUESTIONS = ["lam giay khai sinh cho con", "đăng ký kết hôn", "cap lai can cuoc",
             "giá xăng hôm nay", "mất bao nhiêu tiền?", "/menu", "đăng ký thường trú",
             "giấy phép lái xe", "xin chào", "/office"]
PRESSES = ["p:khai-sinh:fee", "p:ket-hon:documents", "m:e"]  # one update in five is a button
FIRST_CHAT = 900_000_000


class Load:
    """Pushes updates into the fake server and matches each chat's replies to its updates."""

    def __init__(self, fake: FakeTelegram, chats: int) -> None:
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
        chat = FIRST_CHAT + self.sequence % self.chats
        if self.sequence % 5 == 0:
            update = copy.deepcopy(CALLBACK)
            query = update["callback_query"]
            query.update(id=f"q{self.sequence}", data=PRESSES[self.sequence % len(PRESSES)])
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


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Meter:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu0 = cpu_times(pid)
        self.start = time.monotonic()

    def report(self, name: str, load: Load, count: int) -> None:
        elapsed = time.monotonic() - self.start
        user, system = (b - a for a, b in zip(self.cpu0, cpu_times(self.pid), strict=True))
        cpu = user + system
        ms = [v * 1000 for v in load.latencies]
        print(f"{name:12} n={count:5d} {count / elapsed:6.1f} updates/s | bot CPU "
              f"{100 * cpu / elapsed:3.0f}% of a core (user {user:4.2f}s sys {system:4.2f}s), "
              f"{1000 * cpu / count:4.2f} ms/update | latency ms p50 {statistics.median(ms):6.1f}"
              f" p99 {percentile(ms, 99):6.1f} max {max(ms):6.1f}")


async def burst(load: Load, pid: int, count: int) -> None:
    load.reset(count)
    meter = Meter(pid)
    for _ in range(count):
        load.push()
    await asyncio.wait_for(load.done.wait(), 300)
    meter.report("burst", load, count)


async def paced(load: Load, pid: int, rate: float, seconds: float) -> None:
    count = int(rate * seconds)
    load.reset(count)
    meter = Meter(pid)
    for i in range(count):
        delay = meter.start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        load.push()
    await asyncio.wait_for(load.done.wait(), 300)
    meter.report(f"paced {rate:g}/s", load, count)


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


async def main(args: argparse.Namespace) -> None:
    cpus = os.cpu_count() or 1
    if cpus > 1:
        pin(1)  # the fake server and the load generator: not on the bot's core
    async with FakeTelegram() as fake:
        data = tempfile.mkdtemp(prefix="dvcbot-bench-")
        env = {**{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
               "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url, "DATA_DIR": data,
               "LOG_LEVEL": "WARNING", "PSEUDONYM_KEY": "benchmark-key-0001"}
        bot = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "dvcbot"), "run", env=env, cwd=data,
            preexec_fn=lambda: pin(0), stderr=asyncio.subprocess.DEVNULL)
        try:
            await fake.wait_for_arrival("getUpdates", timeout=60)
            print(f"bot pid {bot.pid} pinned to CPU 0 of {cpus}; fake server on "
                  f"{fake.url}; {args.chats} chats")
            load = Load(fake, args.chats)
            await burst(load, bot.pid, args.chats)  # warm-up: every chat's first contact
            print("(warm-up above: first contact of every chat)")
            await burst(load, bot.pid, args.updates)
            for rate in args.rate:
                await paced(load, bot.pid, rate, args.seconds)
            retried = len([c for c in fake.calls if c.status != 200])
            print(f"calls refused by the fake server: {retried}")
        finally:
            bot.terminate()
            await bot.wait()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rate", type=lambda text: [float(r) for r in text.split(",")],
                        default=[150.0, 200.0, 250.0, 300.0],
                        help="paced rates in updates/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
