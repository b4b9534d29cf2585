"""Flood control per chat: a token bucket of ``FLOOD_LIMIT`` messages per ``FLOOD_WINDOW_SECONDS``.

A chat may send ``limit`` messages at once; the bucket refills evenly over the window.  The first
message past the limit gets one polite notice (``"notice"``); the rest of the flood is dropped
(``"drop"``) until the bucket has a token again.  Other chats are unaffected: each has its own
bucket, and a dropped message costs a row in the inbox, not a turn of the dialog.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

from bot.store.shared import Shared

Verdict = Literal["ok", "notice", "drop"]
SWEEP_EVERY = 10_000  # buckets; idle (full) buckets are forgotten when there are more


@dataclass
class _Bucket:
    tokens: float
    at: float
    noticed: bool = False


class FloodGate:
    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(limit)
        self.rate = limit / window  # tokens a second
        self.window = window
        self.clock = clock
        self.dropped = 0
        self._buckets: dict[Hashable, _Bucket] = {}
        self._next_sweep = SWEEP_EVERY

    def admit(self, chat: Hashable) -> Verdict:
        now = self.clock()
        bucket = self._buckets.get(chat)
        if bucket is None:
            bucket = self._buckets[chat] = _Bucket(self.capacity, now)
            if len(self._buckets) > self._next_sweep:
                self._sweep(now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.noticed = False
            return "ok"
        self.dropped += 1
        if bucket.noticed:
            return "drop"
        bucket.noticed = True
        return "notice"

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Forget the chats whose bucket has filled up again: they are as if never seen."""
        full = [chat for chat, b in self._buckets.items()
                if b.tokens + (now - b.at) * self.rate >= self.capacity]
        for chat in full:
            del self._buckets[chat]
        self._next_sweep = max(SWEEP_EVERY, 2 * len(self._buckets))


class SharedFloodGate:
    """The same limit counted for all workers (REDIS_URL): a fixed window per chat that starts
    at its first message; the first message past the limit gets the notice, the rest are dropped
    until the window ends."""

    def __init__(self, shared: Shared, channel: str, limit: int, window: float) -> None:
        self.shared = shared
        self.channel = channel
        self.limit = limit
        self.window = window
        self.dropped = 0

    async def admit(self, chat: Hashable) -> Verdict:
        count = await self.shared.hit(f"flood:{self.channel}:{chat}", self.window)
        if count <= self.limit:
            return "ok"
        self.dropped += 1
        return "notice" if count == self.limit + 1 else "drop"
