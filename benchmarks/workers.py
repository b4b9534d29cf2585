"""Several workers, measured: 1, 2 and 4 ``dvcbot serve`` processes on one port (SO_REUSEPORT),
the store on PostgreSQL and what they share on Redis, beside the single process on SQLite (the
default deployment, the peer) — all in the same run, against the same fake Bot API server, which
delivers the updates to the webhook as Telegram does (up to ``--connections`` requests at once).

Per set-up:
  warm-up  one update per chat (first contact), not counted;
  burst    N updates at once over C chats: updates/s (until the last reply arrived);
  paced    updates at a fixed rate over C other chats for S seconds: p50/p99 latency, from the
           webhook request to the bot's sendMessage for it at the fake server.

    .venv/bin/python -m benchmarks.workers --database-url postgresql://… --redis-url redis://…
        [--rounds 3] [--updates 2000] [--chats 200] [--rate 150] [--seconds 10] [--workers 1,2,4]

Start the servers with ``./dev services`` (it prints the two URLs).  Each PostgreSQL set-up gets
a schema of its own.  The machine has 2 cores: the workers, PostgreSQL, Redis, the fake server
and the load share them, so the figures show the cost of coordination more than the gain.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from benchmarks.throughput import Load, drive, percentile
from tests.fake_telegram import TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-Workers-0001"


class WebhookLoad(Load):
    """``Load``, delivering each update to the webhook instead of queueing it for getUpdates."""

    def __init__(self, fake: FakeTelegram, chats: range, connections: asyncio.Semaphore) -> None:
        super().__init__(fake, chats)
        self.connections = connections
        self.tasks: set[asyncio.Task[None]] = set()
        self.failed = 0
        fake.push = self._deliver  # type: ignore[method-assign,assignment]

    def _deliver(self, update: dict[str, Any]) -> None:
        self.sequence_id = getattr(self, "sequence_id", 800_000_000) + 1
        update["update_id"] = self.sequence_id
        task = asyncio.create_task(self._post(update))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post(self, update: dict[str, Any]) -> None:
        async with self.connections:
            for _ in range(50):  # Telegram retries a webhook that did not answer 200
                try:
                    if await self.fake.deliver(update) == 200:
                        return
                except OSError:
                    pass
                await asyncio.sleep(0.1)
            self.failed += 1


@dataclass
class Result:
    setup: str
    burst: float
    p50: float
    p99: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_schema(server: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options={quote(f'-csearch_path={schema}')}"


async def measure(load: WebhookLoad, count: int, rate: float | None) -> tuple[float, list[float]]:
    elapsed = await drive(load, count, rate)
    return count / elapsed, [v * 1000 for v in load.latencies]


async def run_setup(name: str, workers: int, extra: dict[str, str], fake: FakeTelegram,
                    knowledge: Path, args: argparse.Namespace, base: int) -> Result:
    fake.calls.clear()
    fake.webhook = None
    port = free_port()
    data = tempfile.mkdtemp(prefix="dvcbot-bench-workers-")
    env = {**{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
           "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url, "DATA_DIR": data,
           "LOG_LEVEL": "WARNING", "PSEUDONYM_KEY": "benchmark-key-0001",
           "KNOWLEDGE_DIR": str(knowledge), "PUBLIC_URL": f"http://127.0.0.1:{port}",
           "TELEGRAM_WEBHOOK_SECRET": SECRET, "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_ENABLED": "false", "FLOOD_LIMIT": "10000", **extra}
    dvcbot = str(Path(sys.executable).parent / "dvcbot")
    procs = []
    try:
        for n in range(workers):
            procs.append(await asyncio.create_subprocess_exec(
                dvcbot, "serve", env=env, cwd=ROOT, stderr=asyncio.subprocess.DEVNULL))
            await fake.wait_for("setWebhook", count=n + 1, timeout=60)
        await asyncio.sleep(1.0)  # every worker listening
        connections = asyncio.Semaphore(args.connections)
        burst_load = WebhookLoad(fake, range(base, base + args.chats), connections)
        await measure(burst_load, args.chats, None)  # warm-up: first contact
        burst, _ = await measure(burst_load, args.updates, None)
        paced_load = WebhookLoad(fake, range(base + args.chats, base + 2 * args.chats),
                                 connections)
        await measure(paced_load, args.chats, None)
        _, latencies = await measure(paced_load, int(args.rate * args.seconds), args.rate)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()
        shutil.rmtree(data, ignore_errors=True)
    result = Result(name, burst, statistics.median(latencies), percentile(latencies, 99))
    print(f"{name:26} burst {burst:7.1f} updates/s | paced {args.rate:g}/s p50 {result.p50:6.1f} "
          f"ms p99 {result.p99:6.1f} ms", flush=True)
    return result


async def main(args: argparse.Namespace) -> None:
    knowledge = Path(tempfile.mkdtemp(prefix="dvcbot-bench-kb-")) / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    counts = [int(n) for n in args.workers.split(",")]
    results: list[Result] = []
    base = 950_000_000
    try:
        async with FakeTelegram() as fake:
            for _ in range(args.rounds):
                setups: list[tuple[str, int, dict[str, str]]] = [("1 process, SQLite", 1, {})]
                for n in counts:
                    shared = {"DATABASE_URL": fresh_schema(args.database_url),
                              "REDIS_URL": args.redis_url}
                    setups.append((f"{n} worker(s), PG + Redis", n, shared))
                for name, workers, extra in setups:
                    base += 2 * args.chats
                    results.append(await run_setup(name, workers, extra, fake, knowledge,
                                                   args, base))
    finally:
        shutil.rmtree(knowledge.parent, ignore_errors=True)
    summary(results)


def summary(results: list[Result]) -> None:
    print("\nmedians over the rounds:")
    names = list(dict.fromkeys(r.setup for r in results))
    reference = statistics.median(r.burst for r in results if r.setup == names[0])
    for name in names:
        mine = [r for r in results if r.setup == name]
        burst = statistics.median(r.burst for r in mine)
        print(f"  {name:26} burst {burst:7.1f} updates/s ({burst / reference:4.2f} × SQLite) | "
              f"p50 {statistics.median(r.p50 for r in mine):6.1f} ms "
              f"p99 {statistics.median(r.p99 for r in mine):6.1f} ms")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=40)  # Telegram's default
    parser.add_argument("--workers", default="1,2,4")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
