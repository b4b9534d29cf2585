"""Soak: 1,000 chats × 20 messages through the Telegram webhook of a real `dvcbot serve`.

The fake Bot API server delivers every update to the webhook as Telegram does (at most 40
requests in flight, Telegram's default ``max_connections``), chat after chat, round after round;
each update is a question or a button press, and each gets exactly one message back.  Reported:

  errors   webhook answers other than 200, generic error replies, ERROR lines in the bot's log;
  lost     updates without their reply, inbox rows not finished (read from the database after a
           clean stop);
  memory   resident memory (VmRSS) of the bot after the warm-up (the first 2 rounds: every chat
           has been seen) and at the end, and the change; the target is within 10 %.

    .venv/bin/python -m benchmarks.soak [--chats 1000] [--rounds 20] [--in-flight 40]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import shutil
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

from benchmarks.throughput import CALLBACK, PRESSES, QUESTIONS, TEMPLATE, percentile, pin
from tests.fake_telegram import TOKEN, Call, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
ERROR_TEXT = "Xin lỗi, đã có lỗi"
FIRST_CHAT = 700_000_000


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def update_for(chat: int, round_: int, sequence: int) -> dict[str, Any]:
    if round_ % 5 == 4:
        update = copy.deepcopy(CALLBACK)
        query = update["callback_query"]
        query.update(id=f"s{sequence}", data=PRESSES[chat % len(PRESSES)])
        query["from"]["id"] = query["message"]["chat"]["id"] = chat
    else:
        update = copy.deepcopy(TEMPLATE)
        message = update["message"]
        message.update(text=QUESTIONS[(chat + round_) % len(QUESTIONS)], message_id=sequence)
        message["from"]["id"] = message["chat"]["id"] = chat
    update["update_id"] = 500_000_000 + sequence
    return dict(update)


class Replies:
    def __init__(self, fake: FakeTelegram) -> None:
        self.per_chat: Counter[int] = Counter()
        self.errors = 0
        self.waiting: dict[int, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        fake.on_call = self.on_call

    def on_call(self, call: Call) -> None:
        if call.method != "sendMessage" or call.status != 200:
            return
        chat = int(call.params["chat_id"])
        self.per_chat[chat] += 1
        self.errors += ERROR_TEXT in str(call.params.get("text"))
        queue = self.waiting.get(chat)
        if queue:
            self.latencies.append(call.at - queue.popleft())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def drive(fake: FakeTelegram, pid: int, args: argparse.Namespace,
                replies: Replies) -> dict[str, Any]:
    """Deliver every round; the resident memory after the warm-up and at the end."""
    refused = 0
    gate = asyncio.Semaphore(args.in_flight)
    sequence = 0
    warm = (0.0, 0.0)
    start = time.monotonic()

    async def deliver(update: dict[str, Any], chat: int) -> None:
        nonlocal refused
        async with gate:
            replies.waiting[chat].append(time.monotonic())
            if await fake.deliver(update) != 200:
                refused += 1

    for round_ in range(args.rounds):
        jobs = []
        for index in range(args.chats):
            sequence += 1
            jobs.append(deliver(update_for(FIRST_CHAT + index, round_, sequence),
                                FIRST_CHAT + index))
        await asyncio.gather(*jobs)
        deadline = time.monotonic() + 120
        while sum(replies.per_chat.values()) < sequence and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        fake.calls.clear()  # the fake's own record: kept small
        if round_ == 1:
            warm = rss_mb(pid)
            print(f"after warm-up (2 rounds): RSS {warm[0]:.1f} MB", flush=True)
        if round_ % 5 == 4:
            print(f"round {round_ + 1:2d}: {sequence} updates, RSS {rss_mb(pid)[0]:.1f} MB, "
                  f"{sequence / (time.monotonic() - start):.0f} updates/s", flush=True)
    return {"refused": refused, "updates": sequence, "elapsed": time.monotonic() - start,
            "warm": warm, "end": rss_mb(pid)}


def report(run: dict[str, Any], replies: Replies, work: Path, args: argparse.Namespace) -> None:
    logged = sum("ERROR" in line for line in (work / "bot.log").read_text(errors="replace")
                 .splitlines())
    with sqlite3.connect(work / "data" / "dvcbot.sqlite3") as db:
        states = dict(db.execute("SELECT state, count(*) FROM inbox GROUP BY state").fetchall())
    missing = sum(max(0, args.rounds - replies.per_chat[FIRST_CHAT + i])
                  for i in range(args.chats))
    extra = sum(max(0, n - args.rounds) for n in replies.per_chat.values())
    ms = [v * 1000 for v in replies.latencies]
    warm, end = run["warm"], run["end"]
    growth = 100 * (end[0] - warm[0]) / warm[0] if warm[0] else float("nan")
    print(f"\n{run['updates']} updates in {run['elapsed']:.1f} s "
          f"({run['updates'] / run['elapsed']:.0f}/s); latency ms p50 {statistics.median(ms):.1f}"
          f" p99 {percentile(ms, 99):.1f}")
    print(f"errors: {run['refused']} non-200 answers, {replies.errors} error replies, "
          f"{logged} ERROR log lines")
    print(f"lost: {missing} updates without a reply ({extra} extra replies); inbox {states}")
    print(f"memory: RSS after warm-up {warm[0]:.1f} MB, at the end {end[0]:.1f} MB "
          f"({growth:+.1f} %), peak {end[1]:.1f} MB")
    ok = (run["refused"] == replies.errors == logged == missing == 0 and abs(growth) <= 10
          and set(states) == {"sent"})
    print("target met" if ok else "TARGET MISSED")


async def main(args: argparse.Namespace) -> None:
    pin(1)
    work = Path(tempfile.mkdtemp(prefix="dvcbot-soak-"))
    shutil.copytree(ROOT / "knowledge", work / "knowledge")
    port = free_port()
    async with FakeTelegram() as fake:
        env = {**{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
               "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url,
               "PUBLIC_URL": f"http://127.0.0.1:{port}", "TELEGRAM_WEBHOOK_SECRET": "soak-Secret1",
               "HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": str(work / "data"),
               "KNOWLEDGE_DIR": str(work / "knowledge"), "LOG_LEVEL": "WARNING",
               "PSEUDONYM_KEY": "benchmark-key-0001", "WEB_ENABLED": "false"}
        with (work / "bot.log").open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "dvcbot"), "serve", env=env, cwd=work,
                preexec_fn=lambda: pin(0), stderr=stderr)
        try:
            await fake.wait_for("setWebhook", timeout=60)
            replies = Replies(fake)
            run = await drive(fake, proc.pid, args, replies)
        finally:
            proc.terminate()
            await proc.wait()
    report(run, replies, work, args)
    shutil.rmtree(work, ignore_errors=True)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=40)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
