"""Zalo Official Account channel: the signed webhook in, consultation messages out.

``POST /zalo/webhook``, in this order and before any other work: a body over 256 KB, not JSON or
nested too deeply gets 400; a missing or wrong ``X-ZEvent-Signature`` 401; a signed event whose
own timestamp is more than ``ZALO_EVENT_MAX_AGE_MINUTES`` old (or ahead) 400 — a replayed event
is never handled again.  Then the event is committed to the durable inbox (a retry with the same
``msg_id`` is not accepted twice) and only then answered 200 (Zalo retries after about 2 s and
never after a 200).  It is handled right after in the user's lane (arrival order per user, flood
control per user) through the intake (``bot.channels.intake``): the dialog, then the replies with
the OA Open API v3.  Buttons become a message template; when Zalo refuses a template the choices
are sent as numbered text and a reply "2" from that user presses choice 2.  At start-up what the
last run left in the inbox is handled first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.http import bad_request, read_json
from bot.channels.intake import Intake, Item, Outcome, Progress
from bot.channels.zalo.api import ZaloApi, ZaloApiError
from bot.channels.zalo.events import (
    SIGNATURE_HEADER,
    BadSignature,
    ZaloEvent,
    age_seconds,
    parse,
    verify,
)
from bot.channels.zalo.render import (
    Outgoing,
    action_of,
    choice_number,
    numbered,
    plan,
    split_text,
    template,
    text_message,
)
from bot.channels.zalo.tokens import TokenKeeper, ZaloError
from bot.config import Settings
from bot.conversation import actions
from bot.conversation.actions import Pressed
from bot.conversation.dialog import Dialog, Services
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Incoming, Reply
from bot.handoff.relay import Delivery
from bot.store.shared import Shared

log = logging.getLogger(__name__)

CHANNEL = "zalo"
WEBHOOK_PATH = "/zalo/webhook"
MAX_BODY = 256 * 1024  # bytes
STOP_GRACE = 10.0  # seconds stop() waits for replies still being sent
CHOICES_TTL = 24 * 3600.0  # numbered choices are forgotten after a day
# Zalo OA API errors for a consultation message outside the window after the user's last
# interaction: -230 "User has not interacted with the OA in the past 7 days", -232 "… or the last
# interaction has expired", -305 "Official Account cannot response to user after 48 hours" (older
# OA packages).
WINDOW_CLOSED = frozenset({-230, -232, -305})


class Choices:
    """The numbered actions last shown to each user (by pseudonymous ref), kept where every
    worker sees them (``Shared``: in memory, or Redis with several workers) for a day."""

    def __init__(self, shared: Shared, ttl: float = CHOICES_TTL) -> None:
        self.shared = shared
        self.ttl = ttl

    async def remember(self, user: str, actions: list[str]) -> None:
        await self.shared.put(f"zalo-choices:{user}", json.dumps(actions), self.ttl)

    async def pick(self, user: str, number: int) -> str | None:
        stored = await self.shared.get(f"zalo-choices:{user}")
        actions = json.loads(stored) if stored else []
        if not isinstance(actions, list) or not 0 < number <= len(actions):
            return None
        chosen = actions[number - 1]
        return chosen if isinstance(chosen, str) else None


class ZaloChannel:
    name = CHANNEL

    def __init__(self, settings: Settings, services: Services, dialog: Dialog,
                 shared: Shared | None = None) -> None:
        self.settings = settings
        self.services = services
        self.dialog = dialog
        self.key = settings.pseudonym_key.get_secret_value()
        self.app_id = settings.zalo_app_id or ""
        secret = settings.zalo_oa_secret_key
        self.oa_secret = secret.get_secret_value() if secret else ""
        self.admins = frozenset(settings.zalo_admin_ids)
        self._session: aiohttp.ClientSession | None = None
        self.keeper = TokenKeeper(settings, self.session, self.notify_admins,
                                  shared=shared or services.shared)
        self.api = ZaloApi(settings.zalo_api_url, self.keeper, self.session)
        self.choices = Choices(shared or services.shared)
        self.max_age = settings.zalo_event_max_age_minutes * 60
        self.intake: Intake[ZaloEvent] = Intake(self, services.store, settings, services.shared)
        self._refresher: asyncio.Task[None] | None = None
        self._stopping = False

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    # --- ChannelPlugin -------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        if self.keeper.pair is None:
            log.error("Zalo is on but has no token: set ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN")
        self._refresher = asyncio.create_task(self.keeper.keep_fresh())
        await self.intake.recover()
        log.info("Zalo webhook at %s", WEBHOOK_PATH)

    async def stop(self) -> None:
        self._stopping = True
        if self._refresher:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        left = await self.intake.drain(STOP_GRACE)
        if left:
            log.warning("zalo: %d event(s) not handled at shutdown; kept in the inbox for the "
                        "next start", left)
        if self._session is not None:
            await self._session.close()

    async def drain(self) -> None:
        """Wait until every event received so far has been handled and answered."""
        await self.intake.drain()

    async def notify_admins(self, text: str) -> None:
        for admin in self.admins:
            try:
                for chunk in split_text(text):
                    await self.api.send(admin, text_message(chunk))
            except ZaloError as exc:
                log.warning("could not notify a Zalo admin: %s", exc)

    # --- webhook -------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        body, payload = await read_json(request, MAX_BODY)
        if body is None:
            return bad_request("the body is too large, not JSON or nested too deeply")
        if not isinstance(payload, dict):
            return bad_request("not an event")
        try:
            verify(request.headers.get(SIGNATURE_HEADER), body, payload, self.app_id,
                   self.oa_secret)
        except BadSignature as exc:
            log.warning("Zalo webhook rejected: %s", exc)
            return web.json_response({"error": "bad signature"}, status=401)
        age = age_seconds(str(payload["timestamp"]), time.time())
        if age is None or abs(age) > self.max_age:
            log.warning("Zalo event refused: its timestamp is not within %g minutes of now",
                        self.max_age / 60)
            return web.json_response({"error": "stale event"}, status=400)
        event = parse(payload)
        if event.kind == "ignore" or event.sender_id is None:
            log.debug("Zalo event ignored")
        elif self._other_oa(event):
            log.warning("Zalo event for another OA ignored")
        else:
            key = self.event_key(event)
            if key is not None:
                await self.intake.accept([Item(key, event, _text(body, payload))])
        return web.json_response({"error": 0})

    def _other_oa(self, event: ZaloEvent) -> bool:
        oa_id = self.settings.zalo_oa_id
        return bool(oa_id and event.recipient_id and event.recipient_id != oa_id)

    def event_key(self, event: ZaloEvent) -> str | None:
        """The inbox key: Zalo's msg_id; a follow (which has none) by user and timestamp."""
        assert event.sender_id is not None
        if event.kind == "follow":
            return f"follow:{user_ref(self.key, CHANNEL, event.sender_id)}:{event.timestamp}"
        return event.event_id

    # --- the intake's adapter ------------------------------------------------------------

    def target(self, event: ZaloEvent) -> str:
        return event.sender_id or ""

    def read(self, payload: str) -> ZaloEvent | None:
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError):
            return None
        event = parse(data) if isinstance(data, dict) else None
        return event if event is not None and event.sender_id is not None else None

    async def handle(self, event: ZaloEvent, recovered: bool = False) -> Outcome:
        """The dialog for one event (the intake runs it in the user's lane)."""
        assert event.sender_id is not None
        ref = user_ref(self.key, CHANNEL, event.sender_id)
        handled = await self.dialog.handle(await self.to_incoming(event, ref))
        return Outcome(event.sender_id, handled.replies, handled.save)

    async def notice(self, event: ZaloEvent) -> Outcome:
        assert event.sender_id is not None
        lang = await self._lang(user_ref(self.key, CHANNEL, event.sender_id))
        text = self.services.renderer.t(lang, "flood.notice")
        return Outcome(event.sender_id, [Reply(text, kind="info")])

    def units(self, outcome: Outcome) -> int:
        return len(outcome.replies)

    async def send(self, outcome: Outcome, skip: int, progress: Progress) -> None:
        user_id = str(outcome.to)
        await self.deliver(user_id, user_ref(self.key, CHANNEL, user_id), outcome.replies, skip,
                           progress)

    async def to_incoming(self, event: ZaloEvent, ref: str) -> Incoming:
        text: str | None = event.text or ""
        action: Pressed | None = None
        if event.kind == "follow":
            text = "/start"  # the welcome is the /start reply
        elif event.kind == "text":
            packed = action_of(text or "")
            number = choice_number(text or "")
            if packed is None and number is not None:
                packed = await self.choices.pick(ref, number)
            action = actions.parse(packed)
            if packed is not None:
                text = None
        return Incoming(CHANNEL, ref, text=text, action=action,
                        is_admin=event.sender_id in self.admins,
                        attachment=event.kind == "attachment",
                        extra={"address": event.sender_id or ""})  # staff answers go here

    # --- hand-over to staff (bot.handoff.relay.Reach) ------------------------------------

    async def reach(self, address: str, replies: list[Reply]) -> Delivery:
        """A staff answer to a citizen, in the user's lane (after the bot's own replies).
        Zalo refuses a consultation message long after the user's last message: that is
        ``window_closed``, so staff are told rather than the answer failing silently."""
        if self._stopping:
            return "retry"
        outcome: list[Delivery] = []

        async def send() -> None:
            outcome.append(await self._reach(address, replies))

        await self.intake.lanes.run(address, send)
        return outcome[0] if outcome else "retry"

    async def _reach(self, address: str, replies: list[Reply]) -> Delivery:
        ref = user_ref(self.key, CHANNEL, address)
        shown: list[str] = []
        text_mode = False
        try:
            for reply in replies:
                text_mode = await self._send_reply(address, ref, reply, shown, text_mode)
        except ZaloApiError as exc:
            if exc.code in WINDOW_CLOSED:
                log.info("Zalo: a staff answer to %s is past the consultation window (%s)", ref,
                         exc.code)
                return "window_closed"
            log.warning("Zalo: a staff answer to %s refused: %s", ref, exc)
            return "failed"
        except ZaloError as exc:
            log.warning("Zalo: a staff answer to %s not sent now: %s", ref, exc)
            return "retry"
        if shown:
            await self.choices.remember(ref, shown)
        return "sent"

    # --- replies -------------------------------------------------------------------------

    async def deliver(self, user_id: str, ref: str, replies: list[Reply], skip: int = 0,
                      progress: Progress | None = None) -> None:
        """Send the replies in order (from reply ``skip`` on); remember the numbered choices if
        templates were refused; ``progress`` after each reply, sent or given up."""
        shown: list[str] = []
        text_mode = False
        try:
            for index, reply in enumerate(replies):
                if index < skip:
                    continue
                text_mode = await self._send_reply(user_id, ref, reply, shown, text_mode)
                last = index + 1 == len(replies)
                if last:  # the choices are known before the next event of the chat is handled
                    await self.choices.remember(ref, shown)
                if progress is not None:
                    progress(index + 1, last)
        except ZaloError as exc:
            log.warning("Zalo reply to %s not delivered: %s", ref, exc)
            await self.choices.remember(ref, shown)
            if progress is not None:
                progress(len(replies), True)  # given up

    async def _send_reply(self, user_id: str, ref: str, reply: Reply, shown: list[str],
                          text_mode: bool) -> bool:
        if reply.image is not None:
            log.info("image replies are not sent on Zalo; text only")
        messages = plan(reply)
        for index, out in enumerate(messages):
            if not out.buttons:
                await self.api.send(user_id, text_message(out.text))
                continue
            if not text_mode:
                try:
                    await self.api.send(user_id, template(out))
                    continue
                except ZaloApiError as exc:
                    if exc.token_error or exc.code in WINDOW_CLOSED:  # not about the template
                        raise
                    log.warning("Zalo refused a button template (%s); numbered text instead", exc)
                    text_mode = True
            await self._send_numbered(user_id, ref, out, messages[index:], shown)
            break
        return text_mode

    async def _send_numbered(self, user_id: str, ref: str, out: Outgoing, rest: list[Outgoing],
                             shown: list[str]) -> None:
        buttons = [button for message in rest for button in message.buttons]
        hint = self.services.renderer.t(await self._lang(ref), "choices.hint")
        chunks, actions = numbered(out.text, buttons, len(shown), hint)
        shown.extend(actions)
        for chunk in chunks:
            await self.api.send(user_id, text_message(chunk))

    async def _lang(self, ref: str) -> str:
        store = self.services.store
        user = await store.call(store.user, ref)
        return str(user.get("locale") or self.settings.default_locale)


def _text(body: bytes, payload: Any) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return json.dumps(payload, ensure_ascii=False)


def zalo_plugin(settings: Settings, services: Services, dialog: Dialog) -> ZaloChannel:
    return ZaloChannel(settings, services, dialog)
