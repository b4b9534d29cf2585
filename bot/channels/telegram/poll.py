"""Long polling (getUpdates) that also copes with servers that answer at once.

Telegram holds a getUpdates request open up to ``timeout`` seconds; some self-hosted servers and
emulators answer immediately with an empty list.  Against those the poller waits a little
(0.1 s, doubling to 1 s while nothing comes) instead of hammering the server.  Errors back off;
the update offset only moves past updates once ``accept`` has returned — the channel commits
them to the durable inbox there — so an update is confirmed to Telegram only when it is safe.
getUpdates is called with plain JSON and its answer read as JSON (``bot.channels.telegram
.updates``), not turned into aiogram models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates

from bot.channels.telegram.send import RetryPolicy, describe
from bot.channels.telegram.session import RawMethod, call_raw
from bot.channels.telegram.updates import update_id

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]


class Poller:
    def __init__(self, bot: Bot, accept: Callable[[list[dict[str, Any]]], Awaitable[None]], *,
                 timeout: int = 25,
                 idle: tuple[float, float] = (0.1, 1.0), policy: RetryPolicy | None = None) -> None:
        self.bot = bot
        self.accept = accept
        self.timeout = timeout
        self.idle_min, self.idle_max = idle
        self.policy = policy or RetryPolicy(attempts=0, base_delay=1.0, max_delay=30.0)
        self.offset: int | None = None
        self.requests = 0

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        idle, failures = self.idle_min, 0
        while not stop.is_set():
            started = loop.time()
            try:
                updates = await self._fetch(stop)
            except TelegramUnauthorizedError:
                raise
            except TelegramRetryAfter as exc:
                await self._pause(exc.retry_after, stop)
                continue
            except (TelegramAPIError, ClientDecodeError) as exc:
                failures += 1
                self._log_failure(exc, failures)
                await self._pause(self.policy.delay(failures), stop)
                continue
            if updates is None:  # stopped while waiting
                return
            if failures:
                log.info("telegram polling works again after %d failure(s)", failures)
            failures = 0
            try:
                await self.accept(updates)  # committed: now the offset may move past them
            except Exception:  # e.g. the disk is full: fetch them again, later
                failures += 1
                log.exception("telegram updates could not be stored (%d in a row)", failures)
                await self._pause(self.policy.delay(failures), stop)
                continue
            ids = [i for i in map(update_id, updates) if i is not None]
            if ids:
                self.offset = max(ids) + 1
            if updates:
                idle = self.idle_min
            elif loop.time() - started < self.timeout / 2:  # answered at once: do not hammer it
                await self._pause(idle, stop)
                idle = min(idle * 2, self.idle_max)

    async def _fetch(self, stop: asyncio.Event) -> list[dict[str, Any]] | None:
        params: dict[str, Any] = {"timeout": self.timeout, "allowed_updates": ALLOWED_UPDATES}
        if self.offset is not None:
            params["offset"] = self.offset
        self.requests += 1
        fetch = asyncio.ensure_future(call_raw(self.bot, RawMethod("getUpdates", params),
                                               timeout=self.timeout + 15))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramAPIError):
                    await fetch
        if not fetch.done() or fetch.cancelled():
            return None
        result = fetch.result()
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def confirm(self) -> None:
        """Tell the server which updates were handled, so a restart does not get them again."""
        if self.offset is None:
            return
        with contextlib.suppress(TelegramAPIError, ClientDecodeError, asyncio.TimeoutError):
            await self.bot(GetUpdates(offset=self.offset, timeout=0, limit=1,
                                      allowed_updates=ALLOWED_UPDATES), request_timeout=5)

    def _log_failure(self, exc: Exception, failures: int) -> None:
        hint = ""
        if isinstance(exc, TelegramConflictError):
            hint = " (a webhook is set or another instance is polling with this token)"
        text = describe(exc).replace(self.bot.token, "***")
        log.warning("telegram getUpdates failed (%d in a row): %s%s", failures, text, hint)

    @staticmethod
    async def _pause(seconds: float, stop: asyncio.Event) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
