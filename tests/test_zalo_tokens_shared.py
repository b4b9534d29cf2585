"""The Zalo token refresh across workers (bot/channels/zalo/tokens.py with bot/store/shared.py).

The refresh token is single-use: when several workers find the access token expired at once,
exactly one request may reach Zalo's OAuth server (``tests/fake_zalo.py``, real HTTP on
127.0.0.1), and every worker ends with the new pair.  The workers share a real Redis server
(``redis_url``) or, in one process, one ``LocalShared``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels.zalo import tokens
from bot.channels.zalo.api import ZaloApi
from bot.channels.zalo.tokens import (
    REFRESH_LOCK,
    TOKEN_FILE,
    RefreshRejected,
    RefreshUnavailable,
    TokenFile,
    TokenKeeper,
    TokenPair,
    seed_of,
)
from bot.config import Settings, load_settings
from bot.store.shared import LocalShared, RedisShared, Shared
from tests.fake_zalo import APP_ID, APP_SECRET, OA_ID, OA_SECRET_KEY, USER_ID, FakeZalo
from tests.servers import free_port

FAR = 9e12  # an expiry far ahead


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    zalo = FakeZalo()
    zalo.token_delay = 0.3  # the refresh takes a while: the other worker finds the lock held
    await zalo.start()
    yield zalo
    await zalo.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


class Deployment:
    """Workers of one deployment: each its own data folder, all sharing through ``shares``."""

    def __init__(self, tmp_path: Path, fake: FakeZalo, session: aiohttp.ClientSession,
                 shares: list[Shared]) -> None:
        self.tmp_path, self.fake, self.session, self.shares = tmp_path, fake, session, shares
        self.alerts: list[str] = []
        self.count = 0

    def settings(self, name: str) -> Settings:
        return load_settings(environ={}, dotenv=None, **{
            "data_dir": self.tmp_path / name, "pseudonym_key": "k", "zalo_app_id": APP_ID,
            "zalo_app_secret": APP_SECRET, "zalo_oa_id": OA_ID,
            "zalo_oa_secret_key": OA_SECRET_KEY, "zalo_access_token": "at-0",
            "zalo_refresh_token": "rt-0", "zalo_api_url": self.fake.url,
            "zalo_oauth_url": self.fake.url})

    async def alert(self, text: str) -> None:
        self.alerts.append(text)

    def worker(self, saved: TokenPair | None = None) -> TokenKeeper:
        """A new worker (its shared client in turn); ``saved``: the pair in its token file."""
        name = f"w{self.count}"
        shared = self.shares[self.count % len(self.shares)]
        self.count += 1
        settings = self.settings(name)
        if saved is not None:
            TokenFile(settings.data_dir / TOKEN_FILE).save(saved, seed_of("rt-0"))
        return TokenKeeper(settings, lambda: self.session, self.alert, shared=shared)


@pytest.fixture(params=["local", "one-redis-client", "two-redis-clients"])
async def deployment(request: pytest.FixtureRequest, tmp_path: Path, fake: FakeZalo,
                     session: aiohttp.ClientSession) -> AsyncIterator[Deployment]:
    shares: list[Shared]
    if request.param == "local":
        shares = [LocalShared()]
    else:
        url = request.getfixturevalue("redis_url")
        shares = [RedisShared(url) for _ in range(1 if request.param == "one-redis-client" else 2)]
    yield Deployment(tmp_path, fake, session, shares)
    for shared in shares:
        await shared.close()


def saved_token(keeper: TokenKeeper) -> Any:
    return json.loads(keeper.file.path.read_text())["access_token"]


async def test_expired_token_seen_by_two_workers_is_refreshed_once(
        deployment: Deployment, fake: FakeZalo) -> None:
    one, two = deployment.worker(), deployment.worker()  # the pair from the environment: due
    await asyncio.gather(one.ensure_fresh(), two.ensure_fresh())
    assert fake.token_requests == 1 and fake.refreshes == 1
    assert one.access_token == two.access_token == "at-1"
    assert one.pair == two.pair and one.pair is not None and one.pair.refresh_token == "rt-1"
    assert saved_token(one) == saved_token(two) == "at-1"  # every worker keeps its file
    assert deployment.alerts == []


async def test_token_refused_on_send_by_two_workers_is_refreshed_once(
        deployment: Deployment, fake: FakeZalo, session: aiohttp.ClientSession) -> None:
    keepers = [deployment.worker(TokenPair("at-0", "rt-0", FAR)) for _ in range(2)]
    apis = [ZaloApi(fake.url, keeper, lambda: session) for keeper in keepers]
    fake.expire_access_tokens()  # Zalo ended the token early: both sends are refused
    await asyncio.gather(*(api.send(USER_ID, {"text": f"tin {n}"}) for n, api in enumerate(apis)))
    assert fake.token_requests == 1
    assert sorted(m["message"]["text"] for m in fake.sent) == ["tin 0", "tin 1"]
    assert {m["token"] for m in fake.sent} == {"at-1"}


async def test_a_worker_started_later_takes_the_published_pair(
        deployment: Deployment, fake: FakeZalo) -> None:
    first = deployment.worker()
    await first.ensure_fresh()
    assert fake.token_requests == 1
    later = deployment.worker()  # starts with the environment's pair; rt-0 is dead by now
    assert later.access_token == "at-0"
    await later.ensure_fresh()
    assert fake.token_requests == 1  # nothing sent to Zalo: the published pair was adopted
    assert later.access_token == "at-1" and saved_token(later) == "at-1"
    fake.valid_access = {"at-1"}
    assert await later.current() == "at-1"


async def test_a_refused_refresh_token_is_sent_once_and_reported_once(
        deployment: Deployment, fake: FakeZalo) -> None:
    fake.revoke_refresh_token()
    one, two = deployment.worker(), deployment.worker()
    results = await asyncio.gather(one.refresh("at-0"), two.refresh("at-0"),
                                   return_exceptions=True)
    assert all(isinstance(result, RefreshRejected) for result in results)
    assert fake.token_requests == 1
    assert len(deployment.alerts) == 1  # told by the worker that saw Zalo refuse it
    assert not one.can_refresh and not two.can_refresh


async def test_a_lock_left_by_a_dead_worker_expires_and_is_taken(
        deployment: Deployment, fake: FakeZalo) -> None:
    dead = await deployment.shares[0].acquire(REFRESH_LOCK, 0.5)  # never published, never freed
    assert dead is not None
    keeper = deployment.worker()
    assert await keeper.refresh("at-0") == "at-1"
    assert fake.token_requests == 1


async def test_waiting_for_another_workers_refresh_is_bounded(
        deployment: Deployment, fake: FakeZalo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "WAIT_LIMIT", 0.3)
    assert await deployment.shares[0].acquire(REFRESH_LOCK, 30) is not None
    keeper = deployment.worker()
    with pytest.raises(RefreshUnavailable):
        await keeper.refresh("at-0")
    assert fake.token_requests == 0
    assert deployment.alerts == []


async def test_without_redis_no_refresh_and_the_own_token_still_used(
        tmp_path: Path, fake: FakeZalo, session: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    down = RedisShared(f"redis://:pw-x1@127.0.0.1:{free_port()}/0")
    keeper = Deployment(tmp_path, fake, session, [down]).worker(TokenPair("at-0", "rt-0", FAR))
    with caplog.at_level(logging.WARNING, logger="bot.channels.zalo.tokens"):
        assert await keeper.current() == "at-0"
        with pytest.raises(RefreshUnavailable):
            await keeper.refresh("at-0")  # the lock cannot be taken: the token is not risked
    assert fake.token_requests == 0
    assert "pw-x1" not in caplog.text
    await down.close()
