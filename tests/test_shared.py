"""What the workers share (bot/store/shared.py), in one process and through a real Redis server.

Every behaviour test runs on both ``LocalShared`` and ``RedisShared``; the Redis server is a
real one (tests/servers.py).  Expiry is tested only as "after the ttl it is gone", with short
ttls and sleeps well past them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.store.shared import LocalShared, RedisShared, Shared, SharedError, open_shared
from tests.servers import free_port

TTL = 0.2
PAST = 0.4  # sleep this long to be past TTL

Worker = Callable[[], Awaitable[Shared]]


@pytest.fixture(params=["local", "redis"])
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[Worker]:
    """Makes the "workers" of one deployment: one process (the same LocalShared each time) or
    separate RedisShared clients of the same server."""
    opened: list[Shared] = []
    local = LocalShared()

    async def worker() -> Shared:
        if request.param == "local":
            return local
        shared = RedisShared(request.getfixturevalue("redis_url"))
        opened.append(shared)
        return shared

    yield worker
    for shared in opened:
        await shared.close()


@pytest.fixture
async def shared(workers: Worker) -> Shared:
    return await workers()


async def test_second_acquire_fails_while_held_and_succeeds_after_release(shared: Shared) -> None:
    lease = await shared.acquire("job", 5)
    assert lease is not None and lease.name == "job"
    assert await shared.held("job")
    assert await shared.acquire("job", 5) is None
    assert await shared.acquire("other", 5) is not None  # locks are by name
    assert await shared.release(lease)
    assert not await shared.held("job")
    again = await shared.acquire("job", 5)
    assert again is not None and again.token != lease.token


async def test_lock_is_free_after_its_ttl(shared: Shared) -> None:
    assert await shared.acquire("job", TTL) is not None
    assert await shared.acquire("job", TTL) is None
    await asyncio.sleep(PAST)
    assert not await shared.held("job")
    assert await shared.acquire("job", TTL) is not None


async def test_release_with_a_stale_token_keeps_the_new_holders_lock(shared: Shared) -> None:
    old = await shared.acquire("job", TTL)
    assert old is not None
    await asyncio.sleep(PAST)  # the old holder's lease expired …
    new = await shared.acquire("job", 5)  # … and someone else took the lock
    assert new is not None
    assert not await shared.release(old)
    assert not await shared.renew(old, 5)
    assert await shared.held("job")
    assert await shared.acquire("job", 5) is None
    assert await shared.release(new)
    assert not await shared.release(new)  # twice: nothing left to release


async def test_renew_extends_the_lease(shared: Shared) -> None:
    lease = await shared.acquire("job", TTL)
    assert lease is not None
    assert await shared.renew(lease, 5)
    await asyncio.sleep(PAST)  # past the first ttl, within the renewed one
    assert await shared.held("job")
    assert await shared.acquire("job", 5) is None
    assert await shared.renew(lease, TTL)  # renew may also shorten
    await asyncio.sleep(PAST)
    assert not await shared.held("job")
    assert not await shared.renew(lease, 5)  # expired: cannot be renewed


async def test_hit_counts_within_the_window_and_restarts_after_it(shared: Shared) -> None:
    assert [await shared.hit("chat:1", TTL) for _ in range(3)] == [1, 2, 3]
    assert await shared.hit("chat:2", TTL) == 1  # counters are by name
    await asyncio.sleep(PAST)
    assert await shared.hit("chat:1", TTL) == 1
    assert await shared.hit("chat:1", TTL) == 2


async def test_later_hits_do_not_extend_the_window(shared: Shared) -> None:
    assert await shared.hit("chat:1", 0.3) == 1
    await asyncio.sleep(0.15)
    assert await shared.hit("chat:1", 0.3) == 2
    await asyncio.sleep(0.35)  # past the first hit's window (not past the second hit's)
    assert await shared.hit("chat:1", 0.3) == 1


async def test_get_and_put_with_and_without_ttl(shared: Shared) -> None:
    assert await shared.get("missing") is None
    await shared.put("kept", "một")
    await shared.put("brief", "hai", ttl=TTL)
    assert await shared.get("kept") == "một"
    assert await shared.get("brief") == "hai"
    await shared.put("kept", '{"a": 1}')
    assert await shared.get("kept") == '{"a": 1}'
    await asyncio.sleep(PAST)
    assert await shared.get("brief") is None
    assert await shared.get("kept") == '{"a": 1}'
    await shared.put("brief", "ba")  # written again without a ttl: kept
    await asyncio.sleep(PAST)
    assert await shared.get("brief") == "ba"


async def test_locks_values_and_names_are_separate(shared: Shared) -> None:
    await shared.put("job", "value")
    assert not await shared.held("job")
    assert await shared.acquire("job", 5) is not None
    assert await shared.hit("job", 5) == 1
    assert await shared.get("job") == "value"


async def test_workers_see_each_others_locks_counters_and_values(workers: Worker) -> None:
    one, two = await workers(), await workers()
    lease = await one.acquire("zalo:token-refresh", 5)
    assert lease is not None
    assert await two.held("zalo:token-refresh")
    assert await two.acquire("zalo:token-refresh", 5) is None
    assert not await two.release(type(lease)(lease.name, "not-the-token"))
    assert await one.hit("flood:42", 5) == 1
    assert await two.hit("flood:42", 5) == 2
    assert await one.hit("flood:42", 5) == 3
    await one.put("zalo:tokens", "pair")
    assert await two.get("zalo:tokens") == "pair"
    assert await one.release(lease)
    assert await two.acquire("zalo:token-refresh", 5) is not None


async def test_concurrent_acquires_give_one_lease(workers: Worker) -> None:
    many = [await workers() for _ in range(8)]
    leases = await asyncio.gather(*(s.acquire("job", 5) for s in many))
    assert sum(lease is not None for lease in leases) == 1


async def test_a_prefix_separates_deployments(redis_url: str) -> None:
    one, two = RedisShared(redis_url, prefix="a:"), RedisShared(redis_url, prefix="b:")
    try:
        assert await one.acquire("job", 5) is not None
        assert await two.acquire("job", 5) is not None
        assert await one.hit("n", 5) == 1 and await two.hit("n", 5) == 1
    finally:
        await one.close()
        await two.close()


def test_open_shared_follows_redis_url(tmp_path: Path, redis_url: str) -> None:
    alone = open_shared(Settings(pseudonym_key="k", data_dir=tmp_path))
    assert isinstance(alone, LocalShared) and not alone.coordinated
    many = open_shared(Settings(pseudonym_key="k", data_dir=tmp_path, redis_url=redis_url))
    assert isinstance(many, RedisShared) and many.coordinated
    asyncio.run(many.close())


async def test_unreachable_redis_raises_shared_error_without_the_url() -> None:
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    shared = RedisShared(url)
    assert "s3cret" not in repr(shared) and "127.0.0.1" not in repr(shared)
    with pytest.raises(SharedError) as caught:
        await shared.get("x")
    assert "s3cret" not in str(caught.value) and str(caught.value).startswith("Redis: ")
    await shared.close()
