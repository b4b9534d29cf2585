"""Two ``dvcbot serve`` workers behind one port (SO_REUSEPORT), on PostgreSQL and Redis; one is
killed with SIGKILL in the middle of a burst and not started again.

Citizens in many chats on Telegram (webhook) and Zalo ask a question, wait for the answer and
press its rating button, over and over; each request goes to whichever worker the kernel picks.
At the end every event that got a 200 is handled exactly once — by the survivor if its worker
died — and in each chat the answers came in the order of the questions.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests import backend
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.fake_zalo import APP_ID, APP_SECRET, OA_ID, OA_SECRET_KEY, FakeZalo
from tests.test_kill import (
    CHATS,
    ROUNDS,
    BotProcess,
    Ledger,
    assert_exactly_once,
    both_channels,
    environment,
    every_thank_you,
    free_port,
    tg_duplicates,
    until,
    zl_duplicates,
)

KILL_AT = 0.4  # share of the events acknowledged when one worker is killed


async def test_killing_one_of_two_workers_loses_nothing(tmp_path: Path, postgres_url: str,
                                                       redis_url: str) -> None:
    port = free_port()
    zalo = FakeZalo()
    await zalo.start()
    async with FakeTelegram() as telegram, aiohttp.ClientSession() as http:
        env = environment(
            tmp_path, DATABASE_URL=backend.fresh_url(postgres_url), REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.url,
            PUBLIC_URL=f"http://127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET="s3cret-Two_workers",
            HOST="127.0.0.1", PORT=str(port), ZALO_APP_ID=APP_ID, ZALO_APP_SECRET=APP_SECRET,
            ZALO_OA_ID=OA_ID, ZALO_OA_SECRET_KEY=OA_SECRET_KEY, ZALO_ACCESS_TOKEN="at-0",
            ZALO_REFRESH_TOKEN="rt-0", ZALO_API_URL=zalo.url, ZALO_OAUTH_URL=zalo.url)
        workers = [BotProcess("serve", env, tmp_path, tmp_path / f"worker{n}.log")
                   for n in (1, 2)]
        for worker in workers:
            await worker.start()
            await telegram.wait_for("setWebhook", count=workers.index(worker) + 1, timeout=60)
        try:
            ledger = Ledger(planned=2 * 2 * CHATS * ROUNDS)
            tg_chats = range(6_300_000_001, 6_300_000_001 + CHATS)
            zl_users = [f"9{index:017d}" for index in range(CHATS)]
            webhook = f"http://127.0.0.1:{port}/zalo/webhook"

            async def kill_one() -> None:
                await until(lambda: ledger.acked >= KILL_AT * ledger.planned, "progress")
                await workers[0].kill()

            killing = asyncio.create_task(kill_one())
            await both_channels(telegram, zalo, tg_chats, zl_users, webhook, ledger, http)
            await killing
            await every_thank_you(telegram, zalo, tg_chats, zl_users)
        finally:
            for worker in workers:
                await worker.stop()
            await zalo.close()
    assert workers[0].proc is not None and workers[0].proc.returncode == -9  # it was killed
    store = env["DATABASE_URL"]
    assert_exactly_once(store, "telegram", ledger)
    assert_exactly_once(store, "zalo", ledger)
    assert ledger.questions["telegram"] == ledger.presses["telegram"] == CHATS * ROUNDS
    assert ledger.questions["zalo"] == ledger.presses["zalo"] == CHATS * ROUNDS
    unconfirmed = {channel: workers[1].unconfirmed(channel) for channel in ("telegram", "zalo")}
    print(f"one of two workers killed: telegram repeats {tg_duplicates(telegram, tg_chats)} of "
          f"{unconfirmed['telegram']} unconfirmed; zalo repeats "
          f"{zl_duplicates(zalo, zl_users)} of {unconfirmed['zalo']} unconfirmed")
    assert 0 <= tg_duplicates(telegram, tg_chats) <= unconfirmed["telegram"]
    assert 0 <= zl_duplicates(zalo, zl_users) <= 4 * unconfirmed["zalo"]
    for worker in workers:
        assert "Traceback" not in worker.log.read_text(encoding="utf-8")
