"""The web channel as a ``ChannelPlugin``: the chat, the widget and the dashboard on the one app.

``bot/app.py`` adds it with ``web_plugin`` when WEB_ENABLED (the default).  Nothing here runs
in the background except an hourly clean-up of expired dashboard sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot.channels.web.chat import WebChat
from bot.channels.web.dashboard import Dashboard
from bot.channels.web.pages import Pages, Static
from bot.channels.web.render import reply_json
from bot.config import Settings
from bot.conversation.dialog import Dialog, Services
from bot.conversation.replies import Reply
from bot.handoff.relay import Delivery
from bot.store import store as tables
from bot.store import tickets

log = logging.getLogger(__name__)

CHANNEL = "web"
CLEAN_UP_SECONDS = 3600.0
STOP_GRACE = 10.0


class WebChannel:
    name = CHANNEL

    def __init__(self, settings: Settings, services: Services, dialog: Dialog) -> None:
        self.settings = settings
        self.services = services
        self.static = Static()
        self.pages = Pages(services.renderer, self.static)
        self.chat = WebChat(settings, services, dialog, self.pages)
        self.dashboard = Dashboard(settings, services, self.pages)
        self._cleaner: asyncio.Task[None] | None = None

    def add_routes(self, app: web.Application) -> None:
        app[WEB] = self
        app.router.add_get(f"{Static.PREFIX}{{name}}", self.static.handle)
        self.chat.add_routes(app)
        self.dashboard.add_routes(app)

    async def start(self) -> None:
        self._cleaner = asyncio.create_task(self._clean_up())

    async def stop(self) -> None:
        if self._cleaner is not None:
            self._cleaner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cleaner
        left = await self.chat.lanes.drain(STOP_GRACE)
        if left:
            log.warning("web chat: %d message(s) not answered at shutdown", left)

    async def reach(self, address: str, replies: list[Reply]) -> Delivery:
        """A staff answer for a web chat (``address`` is its pseudonym): kept in the store until
        the page asks for it (``GET /chat/api/updates``)."""
        store = self.services.store
        for reply in replies:
            body = reply_json(reply)
            await store.call(tickets.mailbox_put, store, address, body)
        return "sent"

    async def notify_admins(self, text: str) -> None:
        """The dashboard has no inbox yet: officials see reload problems in the log."""

    async def _clean_up(self) -> None:
        store = self.services.store
        while True:
            try:
                removed = await store.call(tables.forget_sessions, store)
                if removed:
                    log.info("dashboard: %d expired session(s) removed", removed)
            except Exception:
                log.exception("dashboard: session clean-up failed")
            await asyncio.sleep(CLEAN_UP_SECONDS)


WEB = web.AppKey("web", WebChannel)


def web_plugin(settings: Settings, services: Services, dialog: Dialog) -> WebChannel:
    return WebChannel(settings, services, dialog)
