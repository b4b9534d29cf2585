"""aiogram's aiohttp session, without parsing what is never read.

Telegram answers every sendMessage with the whole message it created (chat, sender, the
keyboard echoed back …).  The bot never reads it, and turning it into aiogram objects costs
more CPU than the rest of sending; for those calls a successful answer is only checked for
``"ok": true``.  Errors still go through aiogram's own checks (429 → TelegramRetryAfter …).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    GetMe,
    GetUpdates,
    Response,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from pydantic import ValidationError

if TYPE_CHECKING:
    from aiogram import Bot

JSON_HEADERS = {"Content-Type": "application/json"}
UNREAD: frozenset[type[TelegramMethod[Any]]] = frozenset(
    {SendMessage, SendPhoto, SendDocument, SendChatAction, AnswerCallbackQuery}
)


class LeanSession(AiohttpSession):
    def check_response(self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int,
                       content: str) -> Response[TelegramType]:
        if type(method) in UNREAD and HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                data = self.json_loads(content)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("ok") is True:
                return cast(Response[TelegramType], RESPONSE_ANY.model_construct(ok=True))
        return super().check_response(bot, method, status_code, content)


# -- the hot path without aiogram's models --------------------------------------------------------

RESPONSE_ANY: Any = Response[Any]  # the generic model, made once (not once per call)
RAW_METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage, "answerCallbackQuery": AnswerCallbackQuery,
    "sendChatAction": SendChatAction, "getUpdates": GetUpdates,
}


@dataclass(frozen=True)
class RawMethod:
    """A Bot API call as plain JSON parameters.

    The hot path (getUpdates, sendMessage, answerCallbackQuery, sendChatAction) posts JSON
    directly: aiogram builds a multipart form from its pydantic model for every call, which costs
    more than the call itself.  Errors still go through aiogram's own checks (429 →
    ``TelegramRetryAfter``, 5xx → ``TelegramServerError`` …), with the aiogram method built
    only then."""

    name: str
    params: dict[str, Any]

    @property
    def __api_method__(self) -> str:
        return self.name

    def model(self) -> TelegramMethod[Any]:
        kind = RAW_METHODS.get(self.name)
        if kind is None:
            raise ValueError(f"no aiogram method for {self.name}")
        return kind.model_validate(self.params)


async def call_raw(bot: Bot, method: RawMethod, timeout: float | None = None) -> Any:
    """Make the call; its ``result`` on success, aiogram's exceptions otherwise."""
    session = cast(AiohttpSession, bot.session)
    client = await session.create_session()
    url = session.api.api_url(token=bot.token, method=method.name)
    body = json.dumps(method.params, ensure_ascii=False, separators=(",", ":")).encode()
    limit = aiohttp.ClientTimeout(total=session.timeout if timeout is None else timeout)
    try:
        async with client.post(url, data=body, headers=JSON_HEADERS, timeout=limit) as resp:
            content = await resp.text()
            status = resp.status
    except TimeoutError as exc:
        raise TelegramNetworkError(method=_model(method), message="Request timeout error") \
            from exc
    except aiohttp.ClientError as exc:
        raise TelegramNetworkError(method=_model(method),
                                   message=f"{type(exc).__name__}: {exc}") from exc
    if status == HTTPStatus.OK:
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("ok") is True:
            return data.get("result")
    response = session.check_response(bot, _model(method), status, content)  # raises on errors
    return response.result  # pragma: no cover - an "ok" answer was returned above


def _model(method: RawMethod) -> TelegramMethod[Any]:
    try:
        return method.model()
    except (ValueError, ValidationError):
        return GetMe()  # only names the call in aiogram's error text
