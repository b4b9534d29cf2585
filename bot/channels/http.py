"""The one aiohttp application: every channel's webhook, /healthz, and the officials' pages.

Channels plug in through ``ChannelPlugin``: they add routes, start (register a webhook, refresh
tokens), and stop (finish what is in flight).  `dvcbot serve` runs the app; SIGTERM stops it
cleanly (aiohttp's ``run_app`` handles the signal, then the cleanup hooks run).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from aiohttp import web

from bot.app import build_services
from bot.config import Settings
from bot.conversation.dialog import Dialog, Services, build_dialog

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


PluginFactory = Callable[[Settings, Services, Dialog], ChannelPlugin]
BackgroundJob = Callable[[Services], Coroutine[Any, Any, None]]


def configured_channels(settings: Settings) -> list[PluginFactory]:
    factories: list[PluginFactory] = []
    if settings.telegram_enabled:
        from bot.channels.telegram.channel import webhook_plugin

        factories.append(webhook_plugin)
    if settings.zalo_enabled:
        from bot.channels.zalo.channel import zalo_plugin

        factories.append(zalo_plugin)
    return factories


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


def make_app(settings: Settings, services: Services | None = None,
             plugins: list[PluginFactory] | None = None,
             jobs: list[BackgroundJob] | None = None) -> web.Application:
    services = services or build_services(settings)
    dialog = build_dialog(services)
    app = web.Application(client_max_size=256 * 1024)
    app[SERVICES] = services
    app[DIALOG] = dialog
    app[TASKS] = []
    app.router.add_get("/healthz", healthz)
    channels = [factory(settings, services, dialog) for factory in
                (configured_channels(settings) if plugins is None else plugins)]
    for channel in channels:
        channel.add_routes(app)

    async def notify(outcome: object) -> None:
        from bot.knowledge.holder import ReloadOutcome

        if isinstance(outcome, ReloadOutcome) and not outcome.ok:
            text = "\n".join(["Knowledge base not reloaded:", *map(str, outcome.problems[:20])])
            for channel in channels:
                await channel.notify_admins(text)

    async def on_startup(app: web.Application) -> None:
        services.knowledge.listeners.append(notify)
        watch = services.knowledge.watch(settings.kb_reload_seconds)
        app[TASKS].append(asyncio.create_task(watch))
        for job in jobs or default_jobs():
            app[TASKS].append(asyncio.create_task(job(services)))
        for channel in channels:
            await channel.start()

    async def on_cleanup(app: web.Application) -> None:
        for channel in channels:
            await channel.stop()
        for task in app[TASKS]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        services.store.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def default_jobs() -> list[BackgroundJob]:
    try:
        from bot.store.retention import retention_job
    except ImportError:  # pragma: no cover - retention arrives with the feedback issue
        return []
    return [retention_job]


def run_server(settings: Settings) -> None:
    app = make_app(settings)
    log.info("serving on %s:%s", settings.host, settings.port)
    web.run_app(app, host=settings.host, port=settings.port, shutdown_timeout=10,
                print=None, handle_signals=True)


def run_polling(settings: Settings) -> None:
    from bot.channels.telegram.channel import run_polling as telegram_polling

    asyncio.run(telegram_polling(settings))
