"""What every channel on the one aiohttp application shares: how a channel plugs in, /healthz.

Channels plug in through ``ChannelPlugin``: they add routes, start (register a webhook, refresh
tokens), and stop (finish what is in flight).  ``bot/app.py`` assembles the application;
`dvcbot serve` runs it; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiohttp import web

from bot.conversation.dialog import Dialog, Services

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
DIALOG = web.AppKey("dialog", Dialog)
TASKS = web.AppKey("tasks", list[asyncio.Task[None]])


class ChannelPlugin(Protocol):
    name: str

    def add_routes(self, app: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def notify_admins(self, text: str) -> None: ...


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    kb = services.knowledge.kb
    try:
        await services.store.call(lambda: services.store.db.execute("select 1").fetchone())
        store_ok = True
    except Exception:
        log.exception("store not reachable")
        store_ok = False
    body = {"ok": store_ok, "knowledge_version": kb.version, "entries": len(kb.entries),
            "store": "ok" if store_ok else "unreachable"}
    return web.json_response(body, status=200 if store_ok else 503)
