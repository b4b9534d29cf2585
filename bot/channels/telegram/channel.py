"""Telegram channel: updates → durable inbox → ``Incoming`` → dialog → ``Reply`` → Bot API calls.

Two ways in, one way through:
- ``dvcbot run`` (token set, no PUBLIC_URL): ``run_polling`` long-polls getUpdates; a batch of
  updates is committed to the inbox before the next getUpdates moves the offset past it.
- ``dvcbot serve``: ``webhook_plugin`` adds ``POST /telegram/webhook`` to the one aiohttp app and
  registers ``PUBLIC_URL/telegram/webhook`` with a secret token.  A request without the right
  ``X-Telegram-Bot-Api-Secret-Token`` gets 401; a body that is too large, not JSON, nested too
  deeply or not an update gets 400 — before any other work, never with a stack trace.  An update
  gets its 200 once it is committed to the inbox; it is handled right after.
Either way each update is handled in its chat's lane (order kept per chat, chats side by side,
flood control per chat) through the intake (``bot.channels.intake``); replies go out through
``Sender`` (Telegram's flood control, retries).  On start-up what the last run left in the inbox
is handled first.  On SIGTERM updates in flight are finished and queued replies sent before the
process ends; what cannot be finished in time stays in the inbox for the next start.

Updates are read from their JSON (``updates.read_update``) and the hot Bot API calls are made
with plain JSON (``session.RawMethod``); aiogram is the client for everything else.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import DeleteWebhook, GetMe, SendDocument, SendPhoto, SetWebhook
from aiogram.types import BufferedInputFile, User
from aiohttp import web

from bot.channels.http import bad_request, read_json
from bot.channels.intake import Intake, Item, Outcome, Progress
from bot.channels.telegram.commands import command_menus
from bot.channels.telegram.poll import ALLOWED_UPDATES, Poller
from bot.channels.telegram.render import Part, render, text_id
from bot.channels.telegram.send import TRANSIENT, Job, RetryPolicy, Sender, describe
from bot.channels.telegram.session import LeanSession, RawMethod, call_raw
from bot.channels.telegram.updates import TgUpdate, read_update, update_id
from bot.config import Settings
from bot.conversation.actions import parse
from bot.conversation.dialog import Dialog, Services
from bot.conversation.i18n import pick_language
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Button, Incoming, Reply
from bot.handoff.relay import Delivery, Rows

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_BODY = 256 * 1024  # bytes: Telegram's largest updates are a few kilobytes
NO_PREVIEW = {"is_disabled": True}


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
        self.staff_chat = settings.telegram_staff_chat_id  # hand-over tickets (bot/handoff)
        self.staff_ids = frozenset(settings.telegram_staff_ids)
        self.secret = webhook_secret(settings)
        self._key = settings.pseudonym_key.get_secret_value()
        api = TelegramAPIServer.from_base(settings.telegram_api_url)
        self.bot = Bot(settings.telegram_bot_token.get_secret_value(),
                       session=LeanSession(api=api))
        self.sender = Sender(self.bot, self.chat_ref, policy)
        self.intake: Intake[TgUpdate] = Intake(self, services.store, settings, services.shared)
        self.poller: Poller | None = None
        self._closing = False
        self._closed = False
        self._registration: asyncio.Task[None] | None = None

    def chat_ref(self, chat_id: int | str) -> str:
        return user_ref(self._key, CHANNEL, chat_id)

    # -- ChannelPlugin ----------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        """Hand what the last run left to the lanes, then register the webhook and the command
        menus in the background (the app serves on)."""
        await self.intake.recover()
        self._registration = asyncio.create_task(self._register_webhook())

    async def stop(self) -> None:
        """Finish the updates in flight, send what is queued, then close the HTTP session."""
        if self._closed:
            return
        self._closing = True
        if self._registration is not None:
            self._registration.cancel()
            await asyncio.gather(self._registration, return_exceptions=True)
        left = await self.intake.drain(self.shutdown_timeout)
        if left:
            log.warning("telegram: %d update(s) not handled at shutdown; kept in the inbox for "
                        "the next start", left)
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
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.secret.encode()):
            log.warning("telegram webhook refused: wrong or missing secret token (from %s)",
                        request.remote)
            return web.json_response({"ok": False, "description": "Unauthorized"}, status=401)
        if self._closing:
            return web.json_response({"ok": False, "description": "shutting down"}, status=503)
        body, data = await read_json(request, MAX_BODY)
        if body is None:
            return bad_request("the body is too large, not JSON or nested too deeply")
        if update_id(data) is None:
            return bad_request("not an update")
        update = read_update(data)
        if update is not None:  # else a kind of update the bot does not handle: acknowledged
            await self.accept([(update, _text(body, data))])
        return web.json_response({"ok": True})

    # -- updates ----------------------------------------------------------------------------

    async def accept(self, updates: list[tuple[TgUpdate, str]]) -> None:
        """Commit updates (with their JSON) to the inbox and queue them in their chats' lanes;
        a button press gets its answerCallbackQuery (stops the spinner) at once."""
        items = [Item(str(u.update_id), u, payload) for u, payload in updates]
        admitted = await self.intake.accept(items)
        for (update, _), how in zip(updates, admitted, strict=True):
            if how == "new" and update.kind == "callback" and update.callback_id:
                answer = RawMethod("answerCallbackQuery", {"callback_query_id": update.callback_id})
                self.sender.send_aside("cb", update.chat_id, Job(answer))

    async def _polled(self, raw: list[dict[str, Any]]) -> None:
        updates = [(u, json.dumps(d, ensure_ascii=False)) for d in raw
                   if (u := read_update(d)) is not None]
        if updates:
            await self.accept(updates)

    # -- the intake's adapter ---------------------------------------------------------------

    def target(self, event: TgUpdate) -> int:
        return event.chat_id

    def read(self, payload: str) -> TgUpdate | None:
        try:
            return read_update(json.loads(payload))
        except (ValueError, RecursionError):
            return None

    async def handle(self, event: TgUpdate, recovered: bool) -> Outcome:
        incoming = self._incoming(event)
        if incoming is None:  # a press with no data, or by another bot: answered, nothing else
            return Outcome(event.chat_id, [])
        typing = asyncio.get_running_loop().call_later(self.typing_after, self._typing,
                                                       event.chat_id)
        try:
            handled = await self.dialog.handle(incoming)
        finally:
            typing.cancel()
        return Outcome(event.chat_id, handled.replies, handled.save)

    async def notice(self, event: TgUpdate) -> Outcome:
        store = self.services.store
        user = await store.call(store.user, user_ref(self._key, CHANNEL, event.user_id))
        lang = user.get("locale") or pick_language(event.language,
                                                   self.settings.default_locale)
        text = self.services.renderer.t(lang, "flood.notice")
        return Outcome(event.chat_id, [Reply(text, kind="info")])

    def units(self, outcome: Outcome) -> int:
        return len(outcome_jobs(outcome))

    async def send(self, outcome: Outcome, skip: int, progress: Progress) -> None:
        jobs = outcome_jobs(outcome)
        total = len(jobs)

        def done(n: int) -> Callable[[bool], None]:
            return lambda sent: progress(n, n == total)

        queued = [replace(job, done=done(n)) for n, job in enumerate(jobs, start=1) if n > skip]
        self.sender.send(int(outcome.to), queued)

    def _incoming(self, event: TgUpdate) -> Incoming | None:
        ref = user_ref(self._key, CHANNEL, event.user_id)
        admin = event.user_id in self.admins
        extra = self._extra(event)
        if event.kind == "callback":
            if event.data is None:
                return None
            return Incoming(CHANNEL, ref, action=parse(event.data), locale=event.language,
                            is_admin=admin, extra=extra)
        return Incoming(CHANNEL, ref, text=event.text or "", locale=event.language,
                        is_admin=admin, attachment=event.kind == "attachment", extra=extra)

    def _extra(self, event: TgUpdate) -> dict[str, str]:
        """For hand-over tickets: the staff group's messages are marked as such (with whether
        the sender is in TELEGRAM_STAFF_IDS); a citizen's chat id is where staff answers go."""
        if self.staff_chat is not None and event.chat_id == self.staff_chat:
            return {"desk": "staff", "chat": str(event.chat_id),
                    "staff": "1" if event.user_id in self.staff_ids else "",
                    "staff_name": event.name or f"tg:{event.user_id}",
                    "reply_to": str(event.reply_to or "")}
        return {"address": str(event.chat_id)}

    # -- hand-over to staff (bot.handoff.relay: Reach, StaffRoom) -------------------------------

    async def reach(self, address: str, replies: list[Reply]) -> Delivery:
        """A staff answer to a citizen's chat, in order; "failed" when Telegram refuses it."""
        if self._closing:
            return "retry"
        try:
            chat_id = int(address)
        except ValueError:
            return "failed"
        for job in outcome_jobs(Outcome(chat_id, replies)):
            if not await self.sender.call(job, chat_id):
                return "failed"
        return "sent"

    @property
    def staff_room(self) -> str | None:
        return None if self.staff_chat is None else str(self.staff_chat)

    async def post_staff(self, text: str, buttons: Rows = ()) -> list[int]:
        """Post to the staff group; the ids of the messages (the buttons on the last)."""
        if self.staff_chat is None or self._closing:
            return []
        posted: list[int] = []
        for part in render(Reply(text, buttons=buttons, kind="admin")):
            result = await self._call_for_result(_message(self.staff_chat, part))
            if not isinstance(result, dict) or _id_of(result) is None:
                return posted
            posted.append(int(result["message_id"]))
        return posted

    async def _call_for_result(self, method: RawMethod) -> Any:
        """One Bot API call whose answer is needed, with Telegram's flood control and retries."""
        policy = self.sender.policy
        for attempt in range(1, policy.attempts + 1):
            try:
                return await call_raw(self.bot, method)
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
            except (TelegramAPIError, ClientDecodeError) as exc:
                if not isinstance(exc, TRANSIENT) or attempt == policy.attempts:
                    log.error("telegram %s to the staff group failed: %s", method.name,
                              describe(exc).replace(self.bot.token, "***"))
                    return None
                await asyncio.sleep(policy.delay(attempt))
        return None

    def _typing(self, chat_id: int) -> None:
        action = RawMethod("sendChatAction", {"chat_id": chat_id, "action": "typing"})
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
        self.poller = Poller(self.bot, self._polled, timeout=self.poll_timeout)
        try:
            await self.check_token()
            await self.sender.call(Job(DeleteWebhook(drop_pending_updates=False), optional=True))
            await self.intake.recover()
            await self.register_commands()
            log.info("telegram polling %s", self.settings.telegram_api_url)
            await self.poller.run(stop)
        except TelegramUnauthorizedError:
            raise TelegramStartError("the Bot API server refused TELEGRAM_BOT_TOKEN") from None
        finally:
            await self.stop()


def _text(body: bytes, data: Any) -> str:
    """The update's JSON as text to keep in the inbox (the body as sent, when it is UTF-8)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:  # UTF-16/32 JSON (allowed, never sent by Telegram)
        return json.dumps(data, ensure_ascii=False)


def _id_of(result: dict[str, Any]) -> int | None:
    value = result.get("message_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def outcome_jobs(outcome: Outcome) -> list[Job]:
    chat_id = int(outcome.to)
    return [job for reply in outcome.replies for job in reply_jobs(chat_id, reply)]


def reply_jobs(chat_id: int, reply: Reply) -> list[Job]:
    """The Bot API calls for one reply: the picture first, then the text parts in order."""
    ident = text_id(reply.text)
    jobs: list[Job] = []
    if reply.image:
        jobs.append(Job(_picture(chat_id, reply.image, reply.image_name), text_id=ident))
    for index, part in enumerate(render(reply)):
        jobs.append(Job(_message(chat_id, part), text_id=f"{ident}#{index}"))
    return jobs


def _message(chat_id: int, part: Part) -> RawMethod:
    params: dict[str, Any] = {"chat_id": chat_id, "text": part.html, "parse_mode": "HTML",
                              "link_preview_options": NO_PREVIEW}
    markup = keyboard(part.buttons)
    if markup is not None:
        params["reply_markup"] = markup
    return RawMethod("sendMessage", params)


def _picture(chat_id: int, image: bytes, name: str | None) -> SendPhoto | SendDocument:
    if image.startswith(PNG_MAGIC):
        return SendPhoto(chat_id=chat_id, photo=BufferedInputFile(image, name or "chart.png"))
    return SendDocument(chat_id=chat_id, document=BufferedInputFile(image, name or "chart.svg"))


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> dict[str, Any] | None:
    """An inline keyboard (``InlineKeyboardMarkup`` as JSON)."""
    if not rows:
        return None
    return {"inline_keyboard": [
        [{"text": b.label, "url": b.url} if b.url else {"text": b.label, "callback_data": b.packed}
         for b in row]
        for row in rows if row
    ]}


# -- entry points (bot/app.py) ----------------------------------------------------------------


def webhook_plugin(settings: Settings, services: Services, dialog: Dialog) -> TelegramChannel:
    quiet_aiogram()
    return TelegramChannel(settings, services, dialog)


def quiet_aiogram() -> None:
    """aiogram logs every update at INFO; our own logs say what matters."""
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
