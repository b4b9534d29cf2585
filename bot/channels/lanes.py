"""Work in lanes: one job at a time per key (a chat), in arrival order; keys run side by side.

The one per-chat ordering mechanism of the channels.  Telegram uses it twice: incoming updates
(a citizen's second message is handled after the first) and outgoing sends (a 429 pause holds only
that chat's lane).  Zalo runs each webhook event — handling and sending its replies — in the
user's lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[object]]


class Lanes:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lanes: dict[Hashable, deque[Work]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        """Jobs not finished yet (queued or running)."""
        return sum(len(lane) for lane in self._lanes.values())

    def submit(self, key: Hashable, work: Work) -> None:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            task = asyncio.create_task(self._drive(key, lane), name=f"{self.name}:{key}")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        lane.append(work)

    async def run(self, key: Hashable, work: Work) -> None:
        """Submit and wait until the job has run (in its turn)."""
        done = asyncio.get_running_loop().create_future()

        async def job() -> None:
            try:
                await work()
            finally:
                if not done.done():
                    done.set_result(None)

        self.submit(key, job)
        await done

    async def _drive(self, key: Hashable, lane: deque[Work]) -> None:
        try:
            while lane:
                try:
                    await lane[0]()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: a job failed; the lane carries on", self.name)
                lane.popleft()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for every lane to empty (new jobs included); cancel what is left at the deadline.

        Without a timeout, wait as long as it takes.  Returns the number of jobs that did not run.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._workers and (deadline is None or loop.time() < deadline):
            left = None if deadline is None else deadline - loop.time()
            await asyncio.wait(set(self._workers), timeout=left)
        left = len(self)
        for task in list(self._workers):
            task.cancel()
        for task in list(self._workers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return left
