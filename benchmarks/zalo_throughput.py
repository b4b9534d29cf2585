"""Zalo webhook throughput, side by side: the real bot (`dvcbot serve`, Zalo channel, durable
inbox on) and a minimal aiohttp handler that answers 200 and sends one message
(``benchmarks/peers/echo_zalo.py``), one after the other in the same run, against the same fake
Zalo (``tests/fake_zalo.py``) on 127.0.0.1.

Each server runs as its own process pinned to CPU 0; the fake Zalo and the load generator (signed
webhook POSTs) run in this process on CPU 1.  Events: questions and button presses (one in five),
the same for both.  The echo handler sends one message per event; the bot sends its real replies
(an answer with buttons is two or three Zalo messages: Zalo allows 5 buttons per message).

  burst  N events posted at once (at most 64 requests in flight): events/s = N / the time until
         the last message arrives (and every POST got its 200);
  paced  events at a fixed rate (default 300/s) over 600 users (one event in flight per user):
         latency from the POST to the first message of the reply, p50 / p99.

    .venv/bin/python -m benchmarks.zalo_throughput [--rounds 3] [--events 3000] [--rate 300]
                                                   [--seconds 10] [--only dvcbot]
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
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from benchmarks.throughput import cpu_times, percentile, pin
from tests.fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_ID,
    OA_SECRET_KEY,
    FakeZalo,
    event,
    signed_request,
)

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["lam giay khai sinh cho con", "đăng ký kết hôn", "cap lai can cuoc",
             "giá xăng hôm nay", "mất bao nhiêu tiền?", "/menu", "đăng ký thường trú",
             "giấy phép lái xe", "xin chào", "/office"]
PRESSES = ["#dvc:p:khai-sinh:fee", "#dvc:p:ket-hon:documents", "#dvc:m:e"]
BOT_CPU, LOAD_CPU = 0, 1
IN_FLIGHT = 64


class Watch:
    """Records when messages reach the fake Zalo, per user, and matches them to events."""

    def __init__(self, fake: FakeZalo) -> None:
        self.fake = fake
        self.waiting: dict[str, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        self.last = 0.0
        self.seen = 0
        self._original = fake._notify

        async def notify() -> None:  # the fake calls this for every message it accepts
            self.arrived()
            await self._original()

        fake._notify = notify  # type: ignore[method-assign]

    def arrived(self) -> None:
        now = time.monotonic()
        while self.seen < len(self.fake.sent):
            user = self.fake.sent[self.seen]["user_id"]
            self.seen += 1
            self.last = now
            queue = self.waiting.get(user)
            if queue:  # the first message after an event: that event's reply
                self.latencies.append(now - queue.popleft())


@dataclass
class Phase:
    name: str
    count: int
    rate: float
    cpu_ms: float
    messages: int
    p50: float = 0.0
    p99: float = 0.0

    def line(self, server: str) -> str:
        return (f"{server:7} {self.name:11} n={self.count:5d} {self.rate:7.1f} events/s | "
                f"server CPU {self.cpu_ms:4.2f} ms/event | {self.messages:5d} messages | "
                f"latency ms p50 {self.p50:6.1f} p99 {self.p99:6.1f}")


def payload(sequence: int, user: str) -> tuple[bytes, dict[str, str]]:
    text = PRESSES[sequence % 3] if sequence % 5 == 0 else QUESTIONS[sequence % len(QUESTIONS)]
    return signed_request(event("user_send_text", user, text=text))


async def post(http: aiohttp.ClientSession, url: str, body: bytes,
               headers: dict[str, str]) -> None:
    async with http.post(url, data=body, headers=headers) as resp:
        await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")


async def quiet(watch: Watch, seconds: float = 0.5) -> None:
    """Wait until no message has arrived for ``seconds``."""
    while time.monotonic() - max(watch.last, 0) < seconds:
        await asyncio.sleep(0.05)


async def burst(http: aiohttp.ClientSession, url: str, watch: Watch, pid: int, users: list[str],
                count: int) -> Phase:
    gate = asyncio.Semaphore(IN_FLIGHT)
    before = len(watch.fake.sent)
    cpu0, start = cpu_times(pid), time.monotonic()

    async def one(n: int) -> None:
        async with gate:
            await post(http, url, *payload(n, users[n % len(users)]))

    await asyncio.gather(*(one(n) for n in range(count)))
    await quiet(watch)
    elapsed = watch.last - start
    return Phase("burst", count, count / elapsed, 1000 * (cpu_times(pid) - cpu0) / count,
                 len(watch.fake.sent) - before)


async def paced(http: aiohttp.ClientSession, url: str, watch: Watch, pid: int,
                users: list[str], rate: float, seconds: float) -> Phase:
    count = int(rate * seconds)
    before = len(watch.fake.sent)
    watch.latencies = []
    tasks: list[asyncio.Task[None]] = []
    cpu0, start = cpu_times(pid), time.monotonic()
    for n in range(count):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        user = users[n % len(users)]
        watch.waiting[user].append(time.monotonic())
        tasks.append(asyncio.create_task(post(http, url, *payload(n, user))))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    await quiet(watch)
    ms = [v * 1000 for v in watch.latencies]
    return Phase(f"paced {rate:g}/s", count, count / elapsed,
                 1000 * (cpu_times(pid) - cpu0) / count, len(watch.fake.sent) - before,
                 statistics.median(ms), percentile(ms, 99))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def ready(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(600):
        try:
            async with http.post(url, data=b"{}") as resp:
                await resp.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not come up")


@dataclass
class Run:
    server: str
    phases: dict[str, Phase] = field(default_factory=dict)


async def run_server(server: str, fake: FakeZalo, knowledge: Path, args: argparse.Namespace,
                     base: int) -> Run:
    fake.refresh_token, fake.valid_access = "rt-0", {"at-0"}  # each server starts afresh
    fake.sent.clear()
    port = free_port()
    data = tempfile.mkdtemp(prefix=f"dvcbot-zbench-{server}-")
    env = {**{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
           "PORT": str(port), "HOST": "127.0.0.1", "DATA_DIR": data, "LOG_LEVEL": "WARNING",
           "PSEUDONYM_KEY": "benchmark-key-0001", "KNOWLEDGE_DIR": str(knowledge),
           "WEB_ENABLED": "false", "ZALO_APP_ID": APP_ID, "ZALO_APP_SECRET": APP_SECRET,
           "ZALO_OA_ID": OA_ID, "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
           "ZALO_ACCESS_TOKEN": "at-0", "ZALO_REFRESH_TOKEN": "rt-0", "ZALO_API_URL": fake.url,
           "ZALO_OAUTH_URL": fake.url, "PYTHONPATH": str(ROOT)}
    command = ([sys.executable, "-m", "benchmarks.peers.echo_zalo"] if server == "echo" else
               [str(Path(sys.executable).parent / "dvcbot"), "serve"])
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=ROOT, preexec_fn=lambda: pin(BOT_CPU),
        stderr=asyncio.subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/zalo/webhook"
    run = Run(server)
    watch = Watch(fake)
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT * 2)
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            await ready(http, url)
            burst_users = [f"9{base + i:017d}" for i in range(200)]
            paced_users = [f"9{base + 1000 + i:017d}" for i in range(600)]
            for users in (burst_users, paced_users):  # first contact, not counted
                await asyncio.gather(*(post(http, url, *payload(1, u)) for u in users))
            await quiet(watch)
            for phase in (await burst(http, url, watch, proc.pid, burst_users, args.events),
                          await paced(http, url, watch, proc.pid, paced_users, args.rate,
                                      args.seconds)):
                run.phases[phase.name.split()[0]] = phase
                print(phase.line(server), flush=True)
    finally:
        fake._notify = watch._original  # type: ignore[method-assign]
        proc.terminate()
        await proc.wait()
        shutil.rmtree(data, ignore_errors=True)
    return run


def summary(runs: list[Run]) -> None:
    def med(server: str, phase: str, attr: str) -> float:
        values = [getattr(r.phases[phase], attr) for r in runs if r.server == server]
        return statistics.median(values) if values else float("nan")

    print("\nmedians over the rounds:")
    for server in ("echo", "dvcbot"):
        print(f"  {server:7} burst {med(server, 'burst', 'rate'):7.1f} events/s "
              f"({med(server, 'burst', 'cpu_ms'):4.2f} ms CPU/event) | paced p50 "
              f"{med(server, 'paced', 'p50'):5.1f} ms p99 {med(server, 'paced', 'p99'):6.1f} ms")
    burst = med("dvcbot", "burst", "rate") / med("echo", "burst", "rate")
    p99 = med("dvcbot", "paced", "p99") / med("echo", "paced", "p99")
    print(f"  burst ratio dvcbot/echo {burst:4.2f} (target ≥ 0.8); p99 ratio dvcbot/echo "
          f"{p99:4.2f} (target ≤ 3)")


async def main(args: argparse.Namespace) -> None:
    pin(LOAD_CPU)
    knowledge = Path(tempfile.mkdtemp(prefix="dvcbot-zbench-kb-")) / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    fake = FakeZalo()
    await fake.start()
    runs: list[Run] = []
    base = 0
    try:
        print(f"fake Zalo {fake.url}; servers pinned to CPU {BOT_CPU}, fake Zalo and load on "
              f"CPU {LOAD_CPU} of {os.cpu_count()}")
        for round_ in range(args.rounds):
            for server in (["echo", "dvcbot"] if round_ % 2 == 0 else ["dvcbot", "echo"]):
                if args.only and server != args.only:
                    continue
                base += 2000
                runs.append(await run_server(server, fake, knowledge, args, base))
    finally:
        await fake.close()
        shutil.rmtree(knowledge.parent, ignore_errors=True)
    if not args.only:
        summary(runs)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=["echo", "dvcbot"])
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
