"""The peer of the Telegram throughput benchmark: a minimal aiogram 3 echo bot.

Long polling, aiogram's dispatcher, one handler per kind: a message is answered with its text,
a button press with answerCallbackQuery and a message — what a bot does at the very least.

    TELEGRAM_BOT_TOKEN=… TELEGRAM_API_URL=http://127.0.0.1:PORT \
        python -m benchmarks.peers.echo_telegram
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message

dispatcher = Dispatcher()


@dispatcher.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "…")


@dispatcher.callback_query()
async def pressed(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None:
        await query.bot.send_message(query.message.chat.id, query.data or "…")  # type: ignore[union-attr]


async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=api))
    await dispatcher.start_polling(bot, polling_timeout=25, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())
