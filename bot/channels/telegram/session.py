"""aiogram's aiohttp session, without parsing what is never read.

Telegram answers every sendMessage with the whole message it created (chat, sender, the
keyboard echoed back …).  The bot never reads it, and turning it into aiogram objects costs
more CPU than the rest of sending; for those calls a successful answer is only checked for
``"ok": true``.  Errors still go through aiogram's own checks (429 → TelegramRetryAfter …).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import (
    AnswerCallbackQuery,
    Response,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

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
                return cast(Response[TelegramType], Response[Any].model_construct(ok=True))
        return super().check_response(bot, method, status_code, content)
