"""What the workers share: short locks (leases), fixed-window counters and small values.

One ``dvcbot`` process keeps them in memory (``LocalShared``, exactly the single-process
behaviour).  Several stateless ``dvcbot serve`` workers behind the webhooks share them through
Redis (``RedisShared``, when ``REDIS_URL`` is set): a lock one worker holds is held for all, a
counter counts the hits of all.  ``open_shared(settings)`` picks one; ``shared.coordinated`` tells
whether several workers may run.

- ``acquire(name, ttl)`` never waits: a ``Lease`` (the name and a random token) or ``None``.  The
  lock frees itself after ``ttl`` seconds unless renewed; ``renew`` and ``release`` act only while
  the token still matches, so a worker whose lease expired never frees another worker's lock.
- ``hit(name, window)`` adds one to a counter that lives ``window`` seconds from its first hit
  (a fixed window) and returns the count.
- ``get`` / ``put`` a string, optionally for ``ttl`` seconds.

The Redis URL may hold a password: it is never logged nor shown in a ``repr``, and Redis errors
are raised as ``SharedError`` with the error's type only.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from bot.config import Settings

PREFIX = "dvcbot:"
SWEEP_EVERY = 1024  # LocalShared drops expired entries once per this many writes


class SharedError(Exception):
    """The shared state (Redis) could not be reached or refused a command."""


@dataclass(frozen=True)
class Lease:
    """A lock held: its name and the random token that proves who holds it."""

    name: str
    token: str


class Shared(Protocol):
    """What the workers share; see the module docstring."""

    @property
    def coordinated(self) -> bool:
        """True when several workers may share this (Redis); False for one process."""
        ...

    async def acquire(self, name: str, ttl: float) -> Lease | None: ...

    async def renew(self, lease: Lease, ttl: float) -> bool: ...

    async def release(self, lease: Lease) -> bool: ...

    async def held(self, name: str) -> bool: ...

    async def hit(self, name: str, window: float) -> int: ...

    async def get(self, name: str) -> str | None: ...

    async def put(self, name: str, value: str, ttl: float | None = None) -> None: ...

    async def close(self) -> None: ...


def open_shared(settings: Settings) -> Shared:
    """Redis when ``REDIS_URL`` is set (several workers), else in this process only."""
    if settings.redis_url is None:
        return LocalShared()
    return RedisShared(settings.redis_url.get_secret_value())


def new_token() -> str:
    return secrets.token_hex(16)


def millis(seconds: float) -> int:
    """A ttl in whole milliseconds, at least 1 (Redis refuses 0)."""
    return max(1, math.ceil(seconds * 1000))


# --- one process ------------------------------------------------------------------------------


class LocalShared:
    """In this process only: what one ``dvcbot`` process has always done."""

    coordinated = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, tuple[Any, float | None]] = {}  # name → (value, deadline)
        self._writes = 0

    def _read(self, name: str) -> Any:
        entry = self._entries.get(name)
        if entry is None:
            return None
        value, deadline = entry
        if deadline is not None and deadline <= self.clock():
            del self._entries[name]
            return None
        return value

    def _write(self, name: str, value: Any, ttl: float | None) -> None:
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            self._sweep()
        self._entries[name] = (value, None if ttl is None else self.clock() + ttl)

    def _sweep(self) -> None:
        now = self.clock()
        for name in [n for n, (_, d) in self._entries.items() if d is not None and d <= now]:
            del self._entries[name]

    def _deadline(self, name: str) -> float | None:
        return self._entries[name][1]

    async def acquire(self, name: str, ttl: float) -> Lease | None:
        key = "lock:" + name
        if self._read(key) is not None:
            return None
        lease = Lease(name, new_token())
        self._write(key, lease.token, ttl)
        return lease

    async def renew(self, lease: Lease, ttl: float) -> bool:
        key = "lock:" + lease.name
        if self._read(key) != lease.token:
            return False
        self._write(key, lease.token, ttl)
        return True

    async def release(self, lease: Lease) -> bool:
        key = "lock:" + lease.name
        if self._read(key) != lease.token:
            return False
        del self._entries[key]
        return True

    async def held(self, name: str) -> bool:
        return self._read("lock:" + name) is not None

    async def hit(self, name: str, window: float) -> int:
        key = "hits:" + name
        count = self._read(key)
        if count is None:
            self._write(key, 1, window)
            return 1
        self._entries[key] = (count + 1, self._deadline(key))
        return int(count) + 1

    async def get(self, name: str) -> str | None:
        value = self._read("value:" + name)
        return None if value is None else str(value)

    async def put(self, name: str, value: str, ttl: float | None = None) -> None:
        self._write("value:" + name, value, ttl)

    async def close(self) -> None:
        self._entries.clear()


# --- several workers: Redis -------------------------------------------------------------------

# KEYS[1] the lock, ARGV[1] the token, ARGV[2] the new ttl in ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] the lock, ARGV[1] the token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS[1] the counter, ARGV[1] the window in ms: the expiry is set by the first hit only (works
# on every Redis with Lua, like INCR + PEXPIRE NX of Redis 7).
_HIT = """
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""


@contextmanager
def _errors() -> Iterator[None]:
    """Redis errors as ``SharedError``, without their text (it may name the server)."""
    try:
        yield
    except RedisError as exc:
        raise SharedError(f"Redis: {type(exc).__name__}") from None


class RedisShared:
    """Shared by every worker using the same Redis server and ``prefix``."""

    coordinated = True

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=True)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._hit = self._redis.register_script(_HIT)

    def __repr__(self) -> str:  # never the URL: it may hold a password
        return f"RedisShared(prefix={self.prefix!r})"

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    async def acquire(self, name: str, ttl: float) -> Lease | None:
        lease = Lease(name, new_token())
        with _errors():
            done = await self._redis.set(self._key("lock", name), lease.token, nx=True,
                                         px=millis(ttl))
        return lease if done else None

    async def renew(self, lease: Lease, ttl: float) -> bool:
        with _errors():
            done = await self._renew(keys=[self._key("lock", lease.name)],
                                     args=[lease.token, millis(ttl)])
        return bool(done)

    async def release(self, lease: Lease) -> bool:
        with _errors():
            done = await self._release(keys=[self._key("lock", lease.name)], args=[lease.token])
        return bool(done)

    async def held(self, name: str) -> bool:
        with _errors():
            return bool(await self._redis.exists(self._key("lock", name)))

    async def hit(self, name: str, window: float) -> int:
        with _errors():
            count = await self._hit(keys=[self._key("hits", name)], args=[millis(window)])
        return int(count)

    async def get(self, name: str) -> str | None:
        with _errors():
            value = await self._redis.get(self._key("value", name))
        return None if value is None else str(value)

    async def put(self, name: str, value: str, ttl: float | None = None) -> None:
        px = None if ttl is None else millis(ttl)
        with _errors():
            await self._redis.set(self._key("value", name), value, px=px)

    async def close(self) -> None:
        with _errors():
            await self._redis.aclose()
