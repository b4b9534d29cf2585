"""What every channel on the one aiohttp application shares: how a channel plugs in, /healthz.

Channels plug in through ``ChannelPlugin``: they add routes, start (register a webhook, refresh
tokens), and stop (finish what is in flight).  ``bot/app.py`` assembles the application;
`dvcbot serve` runs it; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

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


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is over ``limit`` bytes (not read further)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, limit: int) -> tuple[bytes | None, Any]:
    """(body, parsed JSON); (None, None) for a body over ``limit`` bytes, one that is not JSON
    (or not UTF-8), or JSON nested too deeply to parse — a 400, before any other work."""
    body = await read_body(request, limit)
    if body is None:
        return None, None
    try:
        return body, json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, None


def bad_request(description: str) -> web.Response:
    """400 with a short JSON reason: never a stack trace, never the payload."""
    return web.json_response({"ok": False, "description": description}, status=400)


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
