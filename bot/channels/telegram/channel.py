"""Telegram channel on aiogram 3: updates → ``Incoming`` → dialog → ``Reply`` → Bot API calls.

Two ways in, one way through:
- ``dvcbot run`` (token set, no PUBLIC_URL): ``run_polling`` long-polls getUpdates.
- ``dvcbot serve``: ``webhook_plugin`` adds ``POST /telegram/webhook`` to the one aiohttp app and
  registers ``PUBLIC_URL/telegram/webhook`` with a secret token; a request without the right
  ``X-Telegram-Bot-Api-Secret-Token`` gets 401 and is not processed.
Either way each update goes through aiogram's dispatcher in its chat's lane (order kept per
chat, chats side by side); replies go out through ``Sender`` (flood control, retries).  On
SIGTERM updates in flight are finished and queued replies sent before the process ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections import OrderedDict

from aiogram import Bot, Dispatcher, Router
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction, ContentType, ParseMode
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramUnauthorizedError
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetMe,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from aiohttp import web
from pydantic import ValidationError

from bot.channels.lanes import Lanes
from bot.channels.telegram.commands import command_menus
from bot.channels.telegram.poll import ALLOWED_UPDATES, Poller
from bot.channels.telegram.render import Part, render, text_id
from bot.channels.telegram.send import Job, RetryPolicy, Sender
from bot.channels.telegram.session import LeanSession
from bot.config import Settings
from bot.conversation.actions import parse
from bot.conversation.dialog import Dialog, Services
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Button, Incoming, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ATTACHMENTS = frozenset({
    ContentType.PHOTO, ContentType.DOCUMENT, ContentType.STICKER, ContentType.VOICE,
    ContentType.VIDEO, ContentType.VIDEO_NOTE, ContentType.AUDIO, ContentType.ANIMATION,
    ContentType.CONTACT, ContentType.LOCATION, ContentType.VENUE, ContentType.POLL,
})
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramStartError(RuntimeError):
    """The bot cannot start: the token is refused or the server cannot be reached."""


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or (unset) one derived from the token, stable across restarts."""
    if settings.telegram_webhook_secret is not None:
        secret = settings.telegram_webhook_secret.get_secret_value()
        if not SECRET_PATTERN.match(secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: use 1-256 characters A-Z a-z 0-9 _ -")
        return secret
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value().encode()
    return hmac.new(token, b"dvcbot-telegram-webhook", hashlib.sha256).hexdigest()


class RecentUpdates:
    """update_ids seen lately: a webhook retry of an update still in flight is dropped here;
    the dialog's store-backed de-duplication covers restarts."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._seen: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


class TelegramChannel:
    name = CHANNEL

    def __init__(self, settings: Settings, services: Services, dialog: Dialog, *,
                 policy: RetryPolicy | None = None, typing_after: float = 1.0,
                 shutdown_timeout: float = 10.0, poll_timeout: int = 25) -> None:
        if settings.telegram_bot_token is None:
            raise TelegramStartError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.services = services
        self.dialog = dialog
        self.typing_after = typing_after
        self.shutdown_timeout = shutdown_timeout
        self.poll_timeout = poll_timeout
        self.admins = frozenset(settings.telegram_admin_ids)
        self.secret = webhook_secret(settings)
        self._key = settings.pseudonym_key.get_secret_value()
        api = TelegramAPIServer.from_base(settings.telegram_api_url)
        self.bot = Bot(settings.telegram_bot_token.get_secret_value(),
                       session=LeanSession(api=api))
        self.sender = Sender(self.bot, self.chat_ref, policy)
        self.dispatcher = Dispatcher(disable_fsm=True)  # conversation state lives in the store
        self.dispatcher.include_router(self._router())
        self.inbox = Lanes("telegram-updates")
        self.recent = RecentUpdates()
        self.poller: Poller | None = None
        self._closing = False
        self._closed = False
        self._registration: asyncio.Task[None] | None = None

    def _router(self) -> Router:
        router = Router(name="dvcbot")
        router.message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        return router

    def chat_ref(self, chat_id: int | str) -> str:
        return user_ref(self._key, CHANNEL, chat_id)

    # -- ChannelPlugin ----------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        """Register the webhook and the command menus in the background (the app serves on)."""
        self._registration = asyncio.create_task(self._register_webhook())

    async def stop(self) -> None:
        """Finish the updates in flight, send what is queued, then close the HTTP session."""
        if self._closed:
            return
        self._closing = True
        if self._registration is not None:
            self._registration.cancel()
            await asyncio.gather(self._registration, return_exceptions=True)
        left = await self.inbox.drain(self.shutdown_timeout)
        if left:
            log.error("telegram: %d update(s) not handled at shutdown", left)
        await self.sender.drain(self.shutdown_timeout)
        if self.poller is not None:
            await self.poller.confirm()
        self._closed = True
        await self.bot.session.close()

    async def notify_admins(self, text: str) -> None:
        for admin in sorted(self.admins):
            self.sender.send(admin, reply_jobs(admin, Reply(text, kind="admin")))

    # -- webhook ----------------------------------------------------------------------------

    @property
    def webhook_url(self) -> str | None:
        base = self.settings.public_url
        return f"{base.rstrip('/')}{WEBHOOK_PATH}" if base else None

    async def _register_webhook(self) -> None:
        url = self.webhook_url
        if url is None:
            log.warning("PUBLIC_URL is not set: Telegram webhook not registered "
                        "(use `dvcbot run` for polling)")
            return
        method = SetWebhook(url=url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES,
                            drop_pending_updates=False)
        if await self.sender.call(Job(method)):
            log.info("telegram webhook registered at %s", url)
        await self.register_commands()

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram webhook refused: wrong or missing secret token (from %s)",
                        request.remote)
            return web.json_response({"ok": False, "description": "Unauthorized"}, status=401)
        if self._closing:
            return web.json_response({"ok": False, "description": "shutting down"}, status=503)
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except (ValueError, ValidationError):
            return web.json_response({"ok": False, "description": "not an update"}, status=400)
        await self.handle(update)
        return web.json_response({"ok": True})

    # -- updates ----------------------------------------------------------------------------

    def accept(self, update: Update) -> None:
        """Queue an update in its chat's lane (polling: the next getUpdates goes on meanwhile)."""
        if self.recent.first_time(update.update_id):
            self.inbox.submit(update_chat(update), lambda: self._feed(update))

    async def handle(self, update: Update) -> None:
        """Handle an update in its chat's lane and wait for it (webhook: answer after that)."""
        if self.recent.first_time(update.update_id):
            await self.inbox.run(update_chat(update), lambda: self._feed(update))
        else:
            log.info("telegram update %s seen already; ignored", update.update_id)

    async def _feed(self, update: Update) -> None:
        await self.dispatcher.feed_update(self.bot, update)

    async def _on_message(self, message: Message, event_update: Update) -> None:
        user = message.from_user
        is_text = message.text is not None
        if user is None or user.is_bot or not (is_text or message.content_type in ATTACHMENTS):
            return  # service messages (members joined, pinned …) and other bots
        text = message.text or message.caption or ""
        await self._respond(message.chat.id, self._incoming(user, event_update, text=text,
                                                            attachment=not is_text))

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        chat_id = query.message.chat.id if query.message else query.from_user.id
        self.sender.send_aside("cb", chat_id, Job(AnswerCallbackQuery(callback_query_id=query.id)))
        if query.data and not query.from_user.is_bot:
            await self._respond(chat_id, self._incoming(query.from_user, event_update,
                                                        action=parse(query.data)))

    def _incoming(self, user: User, update: Update, **what: object) -> Incoming:
        return Incoming(CHANNEL, user_ref(self._key, CHANNEL, user.id), locale=user.language_code,
                        is_admin=user.id in self.admins, event_id=str(update.update_id),
                        **what)  # type: ignore[arg-type]

    async def _respond(self, chat_id: int, incoming: Incoming) -> None:
        loop = asyncio.get_running_loop()
        typing = loop.call_later(self.typing_after, self._typing, chat_id)
        try:
            replies = await self.dialog.dispatch(incoming)
        finally:
            typing.cancel()
        self.sender.send(chat_id, [job for reply in replies for job in reply_jobs(chat_id, reply)])

    def _typing(self, chat_id: int) -> None:
        action = SendChatAction(chat_id=chat_id, action=ChatAction.TYPING)
        self.sender.send(chat_id, [Job(action, optional=True)])

    # -- start-up, polling ------------------------------------------------------------------

    async def check_token(self) -> User:
        """getMe, retried with backoff while the server cannot be reached; a refused token stops."""
        policy = self.sender.policy
        for attempt in range(1, policy.attempts + 1):
            try:
                me = await self.bot(GetMe())
            except TelegramUnauthorizedError:
                raise TelegramStartError("the Bot API server refused TELEGRAM_BOT_TOKEN") from None
            except (TelegramAPIError, ClientDecodeError) as exc:
                if attempt == policy.attempts:
                    raise TelegramStartError(
                        f"cannot reach the Bot API server at {self.settings.telegram_api_url}: "
                        f"{type(exc).__name__}") from None
                log.warning("telegram getMe failed (%s); trying again", type(exc).__name__)
                await asyncio.sleep(policy.delay(attempt))
                continue
            log.info("telegram bot @%s (id %s) ready", me.username, me.id)
            return me
        raise TelegramStartError("RetryPolicy.attempts must be at least 1")

    async def register_commands(self) -> None:
        for method in command_menus(tuple(sorted(self.admins))):
            await self.sender.call(Job(method, optional=True))

    async def run_polling(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set, then shut down cleanly (see ``stop``)."""
        self.poller = Poller(self.bot, self.accept, timeout=self.poll_timeout)
        try:
            await self.check_token()
            await self.sender.call(Job(DeleteWebhook(drop_pending_updates=False), optional=True))
            await self.register_commands()
            log.info("telegram polling %s", self.settings.telegram_api_url)
            await self.poller.run(stop)
        except TelegramUnauthorizedError:
            raise TelegramStartError("the Bot API server refused TELEGRAM_BOT_TOKEN") from None
        finally:
            await self.stop()


def update_chat(update: Update) -> int:
    """The lane key: the chat the update belongs to (0 for kinds we do not handle)."""
    if update.message is not None:
        return update.message.chat.id
    query = update.callback_query
    if query is not None:
        return query.message.chat.id if query.message else query.from_user.id
    return 0


def reply_jobs(chat_id: int, reply: Reply) -> list[Job]:
    """The Bot API calls for one reply: the picture first, then the text parts in order."""
    ident = text_id(reply.text)
    jobs: list[Job] = []
    if reply.image:
        jobs.append(Job(_picture(chat_id, reply.image, reply.image_name), text_id=ident))
    for index, part in enumerate(render(reply)):
        jobs.append(Job(_message(chat_id, part), text_id=f"{ident}#{index}"))
    return jobs


def _message(chat_id: int, part: Part) -> SendMessage:
    return SendMessage(chat_id=chat_id, text=part.html, parse_mode=ParseMode.HTML,
                       link_preview_options=NO_PREVIEW, reply_markup=keyboard(part.buttons))


def _picture(chat_id: int, image: bytes, name: str | None) -> TelegramMethod[Message]:
    if image.startswith(PNG_MAGIC):
        return SendPhoto(chat_id=chat_id, photo=BufferedInputFile(image, name or "chart.png"))
    return SendDocument(chat_id=chat_id, document=BufferedInputFile(image, name or "chart.svg"))


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.label, url=b.url) if b.url
         else InlineKeyboardButton(text=b.label, callback_data=b.packed) for b in row]
        for row in rows if row
    ])


# -- entry points (bot/app.py) ----------------------------------------------------------------


def webhook_plugin(settings: Settings, services: Services, dialog: Dialog) -> TelegramChannel:
    quiet_aiogram()
    return TelegramChannel(settings, services, dialog)


def quiet_aiogram() -> None:
    """aiogram logs every update at INFO; our own logs say what matters."""
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
