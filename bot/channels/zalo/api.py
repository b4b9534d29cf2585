"""The Zalo OA Open API v3 client: one consultation message (``tin tư vấn``) at a time.

``POST {api}/v3.0/oa/message/cs`` with the header ``access_token`` and a JSON body
``{"recipient": {"user_id": …}, "message": {…}}``; Zalo answers HTTP 200 with ``{"error": 0, …}``
on success and a negative ``error`` code otherwise.  An invalid or expired access token is
refreshed and the message retried once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from bot.channels.zalo.tokens import SessionGetter, TokenKeeper, ZaloError

log = logging.getLogger(__name__)

MESSAGE_CS_PATH = "/v3.0/oa/message/cs"
# Zalo OA API error codes: -216 "Access token is invalid", -220 "access_token is expired or
# removed"; -124 is the same condition on older gateways.
TOKEN_ERRORS = frozenset({-124, -216, -220})
RATE_LIMITED = -32  # "Your application reached limit call api"
TIMEOUT = aiohttp.ClientTimeout(total=20)


class ZaloApiError(ZaloError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo API error {code}: {message}")
        self.code = code

    @property
    def token_error(self) -> bool:
        return self.code in TOKEN_ERRORS


class ZaloUnavailable(ZaloError):
    """Zalo's API could not be reached or failed (network, HTTP 5xx)."""


class ZaloApi:
    retry_delay = 1.0  # seconds before the one retry after a network error, 5xx or rate limit

    def __init__(self, base_url: str, keeper: TokenKeeper, session: SessionGetter) -> None:
        self.url = base_url.rstrip("/") + MESSAGE_CS_PATH
        self.keeper = keeper
        self.session = session

    async def send(self, user_id: str, message: dict[str, Any]) -> str | None:
        """Send one message; returns Zalo's message id.  Raises ``ZaloError``."""
        token = await self.keeper.current()
        try:
            return await self._post(token, user_id, message)
        except ZaloApiError as exc:
            if not exc.token_error:
                raise
            log.info("Zalo access token refused (%s); refreshing and retrying once", exc.code)
        fresh = await self.keeper.refresh(token)
        return await self._post(fresh, user_id, message)

    async def _post(self, token: str, user_id: str, message: dict[str, Any]) -> str | None:
        body = {"recipient": {"user_id": user_id}, "message": message}
        for attempt in (1, 2):
            try:
                data = await self._call(token, body)
            except ZaloUnavailable:
                if attempt == 2:
                    raise
                await asyncio.sleep(self.retry_delay)
                continue
            code = _code(data.get("error"))
            if code == RATE_LIMITED and attempt == 1:
                await asyncio.sleep(self.retry_delay)
                continue
            if code != 0:
                raise ZaloApiError(code, str(data.get("message") or ""))
            result = data.get("data")
            return str(result.get("message_id")) if isinstance(result, dict) else None
        raise ZaloUnavailable("no answer")  # pragma: no cover - the loop always returns or raises

    async def _call(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self.session().post(self.url, json=body, headers={"access_token": token},
                                           timeout=TIMEOUT) as resp:
                if resp.status >= 500:
                    raise ZaloUnavailable(f"HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ZaloUnavailable(type(exc).__name__) from None
        if not isinstance(data, dict):
            raise ZaloUnavailable("answer is not a JSON object")
        return data


def _code(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return -1
