"""Zalo OA access tokens: the persisted pair, refreshed before expiry and after a token error.

Zalo OAuth v4 (developers.zalo.me, "Xác thực và ủy quyền cho ứng dụng"): an OA access token lives
about 25 hours (``expires_in`` 90000 s); a refresh token is single-use and lasts about 3 months.
``POST {oauth}/v4/oa/access_token`` with header ``secret_key: <app secret>`` and the form fields
``refresh_token``, ``app_id``, ``grant_type=refresh_token`` returns a NEW pair, which is written at
once to ``DATA_DIR/zalo_tokens.json`` (mode 0600) — the old refresh token is dead from then on.
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Settings

log = logging.getLogger(__name__)

ACCESS_TOKEN_PATH = "/v4/oa/access_token"
TOKEN_FILE = "zalo_tokens.json"
DEFAULT_LIFETIME = 90_000.0  # seconds; Zalo's documented OA access-token lifetime (25 h)
REFRESH_MARGIN = 3_600.0  # refresh this long before the access token expires
CHECK_INTERVAL = 300.0  # how often the background task looks at the expiry
TIMEOUT = aiohttp.ClientTimeout(total=20)

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


def seed_of(refresh_token: str | None) -> str | None:
    """A short fingerprint of the environment's refresh token, to notice when it is replaced."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:16] if refresh_token else None


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
            json.dump({**asdict(pair), "seed": seed}, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


class TokenKeeper:
    """Holds the current pair; refreshes it (one refresh at a time) and persists every new pair."""

    def __init__(self, settings: Settings, session: SessionGetter, alert: Alert,
                 clock: Callable[[], float] = time.time) -> None:
        self.app_id = settings.zalo_app_id or ""
        self.app_secret = settings.zalo_app_secret.get_secret_value() if (
            settings.zalo_app_secret) else None
        self.url = settings.zalo_oauth_url.rstrip("/") + ACCESS_TOKEN_PATH
        self.file = TokenFile(settings.data_dir / TOKEN_FILE)
        self.session = session
        self.alert = alert
        self.clock = clock
        env_refresh = settings.zalo_refresh_token
        self.seed = seed_of(env_refresh.get_secret_value() if env_refresh else None)
        self.pair = self._initial(settings)
        self._lock = asyncio.Lock()
        self._rejected: str | None = None  # a refresh token Zalo refused: never sent again
        self._reported_missing = False

    def _initial(self, settings: Settings) -> TokenPair | None:
        saved = self.file.load()
        if saved and (self.seed is None or saved.get("seed") == self.seed):
            expires = saved.get("expires_at")
            return TokenPair(str(saved["access_token"]), saved.get("refresh_token") or None,
                             float(expires) if expires is not None else None)
        access, refresh = settings.zalo_access_token, settings.zalo_refresh_token
        if access is None and refresh is None:
            return None
        return TokenPair(access.get_secret_value() if access else "",
                         refresh.get_secret_value() if refresh else None, None)

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

    async def ensure_fresh(self) -> None:
        """Refresh now if the access token expires within the margin (or its expiry is unknown)."""
        if self.due() and self.can_refresh:
            await self.refresh(self.access_token)

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
                if self.pair and self.pair.access_token != stale and not self.due():
                    return self.pair.access_token
                return await self._refresh_locked()
        except RefreshRejected as exc:
            if exc.first:
                await self._report(exc.reason)
            raise

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
            raise
        self.pair = new
        try:
            await asyncio.to_thread(self.file.save, new, self.seed)
        except OSError as exc:
            log.error("new Zalo tokens not saved to %s (%s): they are lost on restart",
                      self.file.path, exc)
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
