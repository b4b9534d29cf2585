"""Sending to the Bot API: per-chat ordered queue, flood control, retries, optional methods.

- A 429 with ``retry_after`` pauses only that chat's lane for the time asked, then the same call
  is made again: nothing is dropped and order within the chat is kept.
- Network errors and 5xx answers are retried with exponential backoff (with jitter).
- A call that finally fails is logged with the chat's pseudonymous reference and the text id —
  never the token, never the text.
- Optional methods (sendChatAction, setMyCommands, deleteWebhook) may be rejected by a
  self-hosted server or an emulator: that is logged once and the bot carries on without them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod

from bot.channels.lanes import Lanes
from bot.channels.telegram.session import RawMethod, call_raw

log = logging.getLogger(__name__)

TRANSIENT = (TelegramNetworkError, TelegramServerError, ClientDecodeError)


@dataclass(frozen=True)
class Job:
    method: TelegramMethod[Any] | RawMethod  # RawMethod: plain JSON, the hot path
    text_id: str = "-"
    optional: bool = False  # tolerated when rejected; not retried; skipped once unsupported
    done: Callable[[bool], None] | None = None  # told when the call is finished (sent or not)

    @property
    def name(self) -> str:
        return str(self.method.__api_method__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # network errors / 5xx: 0.5 + 1 + 2 + 4 + 8 s of waiting in all
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        jitter = random.uniform(0.8, 1.2)
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * jitter)


class Sender:
    def __init__(self, bot: Bot, chat_ref: Callable[[int | str], str],
                 policy: RetryPolicy | None = None) -> None:
        self.bot = bot
        self.chat_ref = chat_ref
        self.policy = policy or RetryPolicy()
        self.unsupported: set[str] = set()
        self.delivered = 0
        self.failed = 0
        self._lanes = Lanes("telegram-send")

    def send(self, chat_id: int, jobs: list[Job]) -> None:
        """Queue calls for a chat; they go out in this order, after what is already queued."""
        for job in jobs:
            self._lanes.submit(chat_id, lambda job=job: self.call(job, chat_id))  # type: ignore[misc]

    def send_aside(self, key: str, chat_id: int, job: Job) -> None:
        """Queue a call in a side lane (e.g. answering a button press), not behind the messages."""
        self._lanes.submit((key, chat_id), lambda: self.call(job, chat_id))

    def pending(self) -> int:
        return len(self._lanes)

    async def drain(self, timeout: float) -> int:
        left = await self._lanes.drain(timeout)
        if left:
            log.error("telegram: %d queued call(s) not sent at shutdown", left)
        return left

    async def call(self, job: Job, chat_id: int | str | None = None) -> bool:
        """Make one call with flood control and retries; True when the server accepted it."""
        sent = await self._call(job, chat_id)  # cancelled (shutdown): not done, sent next start
        if job.done is not None:
            job.done(sent)
        return sent

    async def _call(self, job: Job, chat_id: int | str | None) -> bool:
        failures = 0
        while job.name not in self.unsupported:
            try:
                if isinstance(job.method, RawMethod):
                    await call_raw(self.bot, job.method)
                else:
                    await self.bot(job.method)
            except Exception as exc:
                failures += not isinstance(exc, TelegramRetryAfter)
                wait = self._after_failure(job, chat_id, exc, failures)
                if wait is None:
                    return False
                await asyncio.sleep(wait)
                continue
            self.delivered += 1
            return True
        return False

    def _after_failure(self, job: Job, chat_id: int | str | None, exc: Exception,
                       failures: int) -> float | None:
        """Seconds to wait before the same call again, or None to give up (logged)."""
        if isinstance(exc, TelegramRetryAfter):
            if job.optional:
                return None
            log.warning("telegram flood control: chat %s waits %s s before %s",
                        self._ref(chat_id), exc.retry_after, job.name)
            return float(exc.retry_after)
        if job.optional:
            self._optional_failed(job, exc)
            return None
        retryable = isinstance(exc, TRANSIENT) and not isinstance(exc, TelegramEntityTooLarge)
        if retryable and failures < self.policy.attempts:
            return self.policy.delay(failures)
        self._failed(job, chat_id, exc, failures)
        return None

    def _ref(self, chat_id: int | str | None) -> str:
        return "-" if chat_id is None else self.chat_ref(chat_id)

    def _failed(self, job: Job, chat_id: int | str | None, exc: Exception, attempts: int) -> bool:
        self.failed += 1
        log.error("telegram %s to chat %s failed after %d attempt(s): %s (text id %s)",
                  job.name, self._ref(chat_id), attempts, self._describe(exc), job.text_id)
        return False

    def _optional_failed(self, job: Job, exc: Exception) -> bool:
        if isinstance(exc, TelegramNotFound | TelegramServerError | ClientDecodeError):
            if job.name not in self.unsupported:
                log.warning("the Bot API server does not support %s (%s); carrying on without it",
                            job.name, self._describe(exc))
            self.unsupported.add(job.name)
        else:
            log.warning("optional call %s refused: %s; carrying on", job.name, self._describe(exc))
        return False

    def _describe(self, exc: BaseException) -> str:
        return describe(exc).replace(self.bot.token, "***")


def describe(exc: BaseException) -> str:
    """Exception type and the server's description, short; aiogram never puts the URL in it."""
    if isinstance(exc, TelegramAPIError):
        text = exc.message
    elif isinstance(exc, ClientDecodeError):
        text = "answer is not Bot API JSON"
    else:
        text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}"
