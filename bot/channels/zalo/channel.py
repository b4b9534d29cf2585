"""Zalo Official Account channel: the signed webhook in, consultation messages out.

``POST /zalo/webhook`` checks ``X-ZEvent-Signature`` (401 and nothing else when it is missing or
wrong), answers 200 at once (Zalo retries after about 2 s) and handles the event in a background
task: dispatch through the dialog, then send the replies with the OA Open API v3.  Buttons become
a message template; when Zalo refuses a template the choices are sent as numbered text and a reply
"2" from that user presses choice 2.  Per user, events are handled in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict

import aiohttp
from aiohttp import web

from bot.channels.lanes import Lanes
from bot.channels.zalo.api import ZaloApi, ZaloApiError
from bot.channels.zalo.events import SIGNATURE_HEADER, BadSignature, ZaloEvent, parse, verify
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

log = logging.getLogger(__name__)

CHANNEL = "zalo"
WEBHOOK_PATH = "/zalo/webhook"
STOP_GRACE = 10.0  # seconds stop() waits for replies still being sent
CHOICES_TTL = 24 * 3600.0  # numbered choices are forgotten after a day
CHOICES_MAX_USERS = 50_000


class Choices:
    """The numbered actions last shown to each user (by pseudonymous ref), in memory only."""

    def __init__(self, ttl: float = CHOICES_TTL, max_users: int = CHOICES_MAX_USERS) -> None:
        self.ttl = ttl
        self.max_users = max_users
        self._data: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()

    def remember(self, user: str, actions: list[str]) -> None:
        self._data.pop(user, None)
        if actions:
            self._data[user] = (time.monotonic(), actions)
            while len(self._data) > self.max_users:
                self._data.popitem(last=False)

    def pick(self, user: str, number: int) -> str | None:
        entry = self._data.get(user)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        actions = entry[1]
        return actions[number - 1] if 0 < number <= len(actions) else None


class ZaloChannel:
    name = CHANNEL

    def __init__(self, settings: Settings, services: Services, dialog: Dialog) -> None:
        self.settings = settings
        self.services = services
        self.dialog = dialog
        self.key = settings.pseudonym_key.get_secret_value()
        self.app_id = settings.zalo_app_id or ""
        secret = settings.zalo_oa_secret_key
        self.oa_secret = secret.get_secret_value() if secret else ""
        self.admins = frozenset(settings.zalo_admin_ids)
        self._session: aiohttp.ClientSession | None = None
        self.keeper = TokenKeeper(settings, self.session, self.notify_admins)
        self.api = ZaloApi(settings.zalo_api_url, self.keeper, self.session)
        self.choices = Choices()
        self.lanes = Lanes("zalo-events")  # per user (pseudonymous ref): handled in arrival order
        self._refresher: asyncio.Task[None] | None = None

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
        log.info("Zalo webhook at %s", WEBHOOK_PATH)

    async def stop(self) -> None:
        if self._refresher:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        left = await self.lanes.drain(STOP_GRACE)
        if left:
            log.warning("zalo: %d event(s) not handled at shutdown", left)
        if self._session is not None:
            await self._session.close()

    async def drain(self) -> None:
        """Wait until every event received so far has been handled and answered."""
        await self.lanes.drain()

    async def notify_admins(self, text: str) -> None:
        for admin in self.admins:
            try:
                for chunk in split_text(text):
                    await self.api.send(admin, text_message(chunk))
            except ZaloError as exc:
                log.warning("could not notify a Zalo admin: %s", exc)

    # --- webhook -------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload = verify(request.headers.get(SIGNATURE_HEADER), body, self.app_id,
                             self.oa_secret)
        except BadSignature as exc:
            log.warning("Zalo webhook rejected: %s", exc)
            return web.json_response({"error": "bad signature"}, status=401)
        event = parse(payload)
        if event.kind == "ignore" or event.sender_id is None:
            log.debug("Zalo event %s ignored", event.name)
        elif self._other_oa(event):
            log.warning("Zalo event for another OA ignored")
        else:
            ref = user_ref(self.key, CHANNEL, event.sender_id)
            self.lanes.submit(ref, lambda: self.handle(event))
        return web.json_response({"error": 0})

    def _other_oa(self, event: ZaloEvent) -> bool:
        oa_id = self.settings.zalo_oa_id
        return bool(oa_id and event.recipient_id and event.recipient_id != oa_id)

    # --- one event -----------------------------------------------------------------------

    async def handle(self, event: ZaloEvent) -> None:
        """Dispatch one event and send the replies; run in the user's lane (see ``webhook``)."""
        assert event.sender_id is not None
        ref = user_ref(self.key, CHANNEL, event.sender_id)
        try:
            replies = await self.dialog.dispatch(self.to_incoming(event, ref))
            if replies:
                await self.deliver(event.sender_id, ref, replies)
        except Exception:
            log.exception("Zalo event %s for %s failed", event.name, ref)

    def to_incoming(self, event: ZaloEvent, ref: str) -> Incoming:
        text: str | None = event.text or ""
        action: Pressed | None = None
        event_id = event.event_id
        if event.kind == "follow":
            text = "/start"  # the welcome is the /start reply
            event_id = f"follow:{ref}:{event.timestamp}"  # a retry has the same timestamp
        elif event.kind == "text":
            packed = action_of(text or "")
            number = choice_number(text or "")
            if packed is None and number is not None:
                packed = self.choices.pick(ref, number)
            action = actions.parse(packed)
            if packed is not None:
                text = None
        return Incoming(CHANNEL, ref, text=text, action=action,
                        is_admin=event.sender_id in self.admins, event_id=event_id,
                        attachment=event.kind == "attachment")

    # --- replies -------------------------------------------------------------------------

    async def deliver(self, user_id: str, ref: str, replies: list[Reply]) -> None:
        """Send the replies in order; remember the numbered choices if templates were refused."""
        lang = await self._lang(ref)
        shown: list[str] = []
        text_mode = False
        try:
            for reply in replies:
                text_mode = await self._send_reply(user_id, reply, shown, text_mode, lang)
        except ZaloError as exc:
            log.warning("Zalo reply to %s not delivered: %s", ref, exc)
        self.choices.remember(ref, shown)

    async def _send_reply(self, user_id: str, reply: Reply, shown: list[str], text_mode: bool,
                          lang: str) -> bool:
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
                    if exc.token_error:
                        raise
                    log.warning("Zalo refused a button template (%s); numbered text instead", exc)
                    text_mode = True
            await self._send_numbered(user_id, out, messages[index:], shown, lang)
            break
        return text_mode

    async def _send_numbered(self, user_id: str, out: Outgoing, rest: list[Outgoing],
                             shown: list[str], lang: str) -> None:
        buttons = [button for message in rest for button in message.buttons]
        hint = self.services.renderer.t(lang, "choices.hint")
        chunks, actions = numbered(out.text, buttons, len(shown), hint)
        shown.extend(actions)
        for chunk in chunks:
            await self.api.send(user_id, text_message(chunk))

    async def _lang(self, ref: str) -> str:
        store = self.services.store
        user = await store.call(store.user, ref)
        return str(user.get("locale") or self.settings.default_locale)


def zalo_plugin(settings: Settings, services: Services, dialog: Dialog) -> ZaloChannel:
    return ZaloChannel(settings, services, dialog)
