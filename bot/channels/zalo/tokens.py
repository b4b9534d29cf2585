"""Zalo OA access tokens: the persisted pair, refreshed before expiry and after a token error.

Zalo OAuth v4 (developers.zalo.me, "Xác thực và ủy quyền cho ứng dụng"): an OA access token lives
about 25 hours (``expires_in`` 90000 s); a refresh token is single-use and lasts about 3 months.
``POST {oauth}/v4/oa/access_token`` with header ``secret_key: <app secret>`` and the form fields
``refresh_token``, ``app_id``, ``grant_type=refresh_token`` returns a NEW pair, which is written at
once to ``DATA_DIR/zalo_tokens.json`` (mode 0600) — the old refresh token is dead from then on.

Several workers (``REDIS_URL``, bot/store/shared.py) share one pair, so exactly one of them
refreshes it: the one that takes the lock ``zalo:token-refresh``.  It publishes the new pair under
``zalo:tokens`` (and writes its own file as before); a worker that does not get the lock polls,
briefly and for a bounded time, until the published pair changes and uses it.  Before using or
refreshing its pair a worker adopts a newer published one (and saves it to its file).  A refresh
token Zalo refused is published too (as a fingerprint), so that only the worker that saw the
refusal tells the admins.  With one process (``LocalShared``) this is the same as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeGuard

import aiohttp

from bot.config import Settings
from bot.store.shared import Lease, LocalShared, Shared, SharedError

log = logging.getLogger(__name__)

ACCESS_TOKEN_PATH = "/v4/oa/access_token"
TOKEN_FILE = "zalo_tokens.json"
DEFAULT_LIFETIME = 90_000.0  # seconds; Zalo's documented OA access-token lifetime (25 h)
REFRESH_MARGIN = 3_600.0  # refresh this long before the access token expires
CHECK_INTERVAL = 300.0  # how often the background task looks at the expiry
TIMEOUT = aiohttp.ClientTimeout(total=20)
TOKENS_KEY = "zalo:tokens"  # the newest pair, published by the worker that refreshed it (JSON)
REJECTED_KEY = "zalo:tokens-rejected"  # fingerprint of a refresh token Zalo refused
REFRESH_LOCK = "zalo:token-refresh"  # held by the one worker refreshing
LOCK_TTL = 60.0  # seconds; longer than one refresh request (TIMEOUT) and the file write
WAIT_POLL = 0.1  # seconds between looks while another worker refreshes
WAIT_LIMIT = LOCK_TTL + 5.0  # the longest a worker waits for another's refresh

Alert = Callable[[str], Awaitable[None]]
SessionGetter = Callable[[], aiohttp.ClientSession]


class ZaloError(Exception):
    """Anything that stops a message from reaching Zalo."""


class RefreshRejected(ZaloError):
    """Zalo refused the refresh token (expired, already used, revoked): re-authorise the OA.

    ``first`` is True only the first time a given failure is seen, so admins are told once.
    """

    def __init__(self, reason: str, first: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.first = first


class RefreshUnavailable(ZaloError):
    """The OAuth server could not be reached or failed; try again later."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_at: float | None  # epoch seconds; None when unknown (the pair from the environment)
    generation: int = 0  # refreshes since the pair from the environment (0: that pair, or unknown)


def seed_of(refresh_token: str | None) -> str | None:
    """A short fingerprint of the environment's refresh token, to notice when it is replaced."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:16] if refresh_token else None


def pair_of(data: dict[str, Any]) -> TokenPair:
    """The pair of a saved or published record (``TokenFile`` format)."""
    expires, generation = data.get("expires_at"), data.get("generation")
    return TokenPair(str(data["access_token"]), data.get("refresh_token") or None,
                     float(expires) if expires is not None else None,
                     generation if isinstance(generation, int) else 0)


def record(pair: TokenPair, seed: str | None) -> dict[str, Any]:
    """What is saved and published: the pair and the seed it descends from."""
    return {**asdict(pair), "seed": seed}


def newer(pair: TokenPair | None, than: TokenPair | None) -> TypeGuard[TokenPair]:
    """``pair`` came from a later refresh than ``than``: by generation, then (pairs saved before
    generations were counted) by expiry; a pair of unknown age is the oldest."""
    if pair is None or pair.expires_at is None:
        return False
    return than is None or _rank(pair) > _rank(than)


def _rank(pair: TokenPair) -> tuple[int, float]:
    return pair.generation, -1.0 if pair.expires_at is None else pair.expires_at


def parse_record(text: str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("access_token") else None


class TokenFile:
    """The current pair under DATA_DIR, readable by the bot's user only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("%s is unreadable; using the tokens from the environment", self.path)
            return None
        return data if isinstance(data, dict) and data.get("access_token") else None

    def save(self, pair: TokenPair, seed: str | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record(pair, seed), handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


class TokenKeeper:
    """Holds the current pair; refreshes it (one refresh at a time among all the workers sharing
    ``shared``), persists every new pair and publishes it to the other workers."""

    def __init__(self, settings: Settings, session: SessionGetter, alert: Alert,
                 clock: Callable[[], float] = time.time, shared: Shared | None = None) -> None:
        self.app_id = settings.zalo_app_id or ""
        self.app_secret = settings.zalo_app_secret.get_secret_value() if (
            settings.zalo_app_secret) else None
        self.url = settings.zalo_oauth_url.rstrip("/") + ACCESS_TOKEN_PATH
        self.file = TokenFile(settings.data_dir / TOKEN_FILE)
        self.session = session
        self.alert = alert
        self.clock = clock
        self.shared: Shared = shared if shared is not None else LocalShared()
        env_refresh = settings.zalo_refresh_token
        self.seed = seed_of(env_refresh.get_secret_value() if env_refresh else None)
        self.pair = self._initial(settings)
        self._lock = asyncio.Lock()
        self._rejected: str | None = None  # a refresh token Zalo refused: never sent again
        self._reported_missing = False

    def _initial(self, settings: Settings) -> TokenPair | None:
        saved = self.file.load()
        if saved and self._same_seed(saved):
            return pair_of(saved)
        access, refresh = settings.zalo_access_token, settings.zalo_refresh_token
        if access is None and refresh is None:
            return None
        return TokenPair(access.get_secret_value() if access else "",
                         refresh.get_secret_value() if refresh else None, None)

    def _same_seed(self, data: dict[str, Any]) -> bool:
        """From the tokens in the environment (not from ones replaced since)."""
        return self.seed is None or data.get("seed") == self.seed

    @property
    def access_token(self) -> str:
        return self.pair.access_token if self.pair else ""

    @property
    def can_refresh(self) -> bool:
        pair = self.pair
        return bool(pair and pair.refresh_token and self.app_secret
                    and pair.refresh_token != self._rejected)

    def due(self) -> bool:
        pair = self.pair
        if pair is None:
            return False
        return pair.expires_at is None or pair.expires_at - self.clock() <= REFRESH_MARGIN

    async def current(self) -> str:
        """The access token to use now (a newer pair another worker published is adopted)."""
        try:
            await self._adopt()
        except SharedError as exc:
            log.warning("Zalo tokens of the other workers not read (%s)", exc)
        return self.access_token

    async def ensure_fresh(self) -> None:
        """Refresh now if the access token expires within the margin (or its expiry is unknown)."""
        token = await self.current()
        if self.due() and self.can_refresh:
            await self.refresh(token)

    async def keep_fresh(self, interval: float = CHECK_INTERVAL) -> None:
        while True:
            try:
                await self.ensure_fresh()
            except RefreshUnavailable as exc:
                log.warning("Zalo token refresh failed, will retry: %s", exc)
            except RefreshRejected:
                pass  # already logged and reported to the admins
            await asyncio.sleep(interval)

    async def refresh(self, stale: str) -> str:
        """A fresh access token; ``stale`` is the one that failed (skip if already replaced)."""
        try:
            async with self._lock:
                return await self._refresh_shared(stale)
        except SharedError as exc:  # without the lock no refresh: it could burn the token
            raise RefreshUnavailable(f"shared state: {exc}") from None
        except RefreshRejected as exc:
            if exc.first:
                await self._report(exc.reason)
            raise

    def _replaced(self, stale: str) -> bool:
        return bool(self.pair and self.pair.access_token != stale and not self.due())

    async def _refresh_shared(self, stale: str) -> str:
        """Refresh holding the workers' lock, or wait for the worker that holds it (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_LIMIT
        while True:
            await self._adopt()
            if self._replaced(stale):
                return self.access_token
            await self._refused_elsewhere()
            lease = await self.shared.acquire(REFRESH_LOCK, LOCK_TTL)
            if lease is not None:
                return await self._refresh_leased(stale, lease)
            if loop.time() >= deadline:
                raise RefreshUnavailable("another worker's token refresh did not finish")
            await asyncio.sleep(WAIT_POLL)

    async def _refresh_leased(self, stale: str, lease: Lease) -> str:
        try:
            await self._adopt()  # published between our look and the lock
            if self._replaced(stale):
                return self.access_token
            await self._refused_elsewhere()  # refused between our look and the lock
            return await self._refresh_locked()
        finally:
            await self.shared.release(lease)

    async def _adopt(self) -> None:
        """Take the pair another worker published if it is newer than ours (and save it);
        publish ours if it is newer than what is published (a new or emptied Redis)."""
        published = parse_record(await self.shared.get(TOKENS_KEY))
        theirs = pair_of(published) if published and self._same_seed(published) else None
        if newer(theirs, self.pair):
            self.pair = theirs
            await self._save(theirs)
            log.info("Zalo tokens refreshed by another worker taken over")
        elif newer(self.pair, theirs):
            await self._publish(self.pair)

    async def _publish(self, pair: TokenPair) -> None:
        await self.shared.put(TOKENS_KEY, json.dumps(record(pair, self.seed)))

    async def _refused_elsewhere(self) -> None:
        """Another worker saw Zalo refuse our refresh token: it told the admins."""
        token = self.pair.refresh_token if self.pair else None
        if token and token != self._rejected and (
                await self.shared.get(REJECTED_KEY) == seed_of(token)):
            self._rejected = token
            raise RefreshRejected("the refresh token was already refused", first=False)

    async def _save(self, pair: TokenPair) -> None:
        try:
            await asyncio.to_thread(self.file.save, pair, self.seed)
        except OSError as exc:
            log.error("new Zalo tokens not saved to %s (%s): they are lost on restart",
                      self.file.path, exc)

    async def _refresh_locked(self) -> str:
        pair = self.pair
        if pair is None or not pair.refresh_token or not self.app_secret:
            first, self._reported_missing = not self._reported_missing, True
            raise RefreshRejected("ZALO_REFRESH_TOKEN or ZALO_APP_SECRET not set", first)
        if pair.refresh_token == self._rejected:
            raise RefreshRejected("the refresh token was already refused", first=False)
        try:
            new = await self._request(pair.refresh_token)
        except RefreshRejected:
            self._rejected = pair.refresh_token
            with contextlib.suppress(SharedError):  # the other workers learn it from Zalo
                await self.shared.put(REJECTED_KEY, seed_of(pair.refresh_token) or "")
            raise
        new = replace(new, generation=pair.generation + 1)
        self.pair = new
        try:
            await self._publish(new)
        except SharedError as exc:
            log.error("new Zalo tokens not shared with the other workers (%s)", exc)
        await self._save(new)
        log.info("Zalo access token refreshed; valid for %.0f h",
                 ((new.expires_at or 0) - self.clock()) / 3600)
        return new.access_token

    async def _request(self, refresh_token: str) -> TokenPair:
        form = {"refresh_token": refresh_token, "app_id": self.app_id,
                "grant_type": "refresh_token"}
        headers = {"secret_key": self.app_secret or ""}
        try:
            async with self.session().post(self.url, data=form, headers=headers,
                                           timeout=TIMEOUT) as resp:
                status = resp.status
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RefreshUnavailable(f"OAuth server: {type(exc).__name__}") from None
        if status >= 500 or not isinstance(body, dict):
            raise RefreshUnavailable(f"OAuth server answered HTTP {status}")
        if not body.get("access_token"):
            reason = body.get("error_name") or body.get("error_description") or body.get("message")
            raise RefreshRejected(f"error {body.get('error')}: {reason}")
        lifetime = DEFAULT_LIFETIME
        with contextlib.suppress(TypeError, ValueError):
            lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
        return TokenPair(str(body["access_token"]), str(body.get("refresh_token") or refresh_token),
                         self.clock() + lifetime)

    async def _report(self, reason: str) -> None:
        log.error("Zalo refresh token failed (%s): the bot cannot send on Zalo until the OA is "
                  "re-authorised and new ZALO_ACCESS_TOKEN / ZALO_REFRESH_TOKEN are set", reason)
        await self.alert(f"Zalo: làm mới token thất bại ({reason}). Cần cấp quyền lại cho OA và "
                         "đặt ZALO_ACCESS_TOKEN / ZALO_REFRESH_TOKEN mới.")
