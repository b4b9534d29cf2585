"""The composition root: the one place that assembles the bot.

settings → services (knowledge with its search engine, store, renderer) → dialog (the handlers of
``handlers/``, in order) → channels → a ``Runtime`` that runs the background work beside them
(the knowledge watcher, whose failed reloads go to the officials, and housekeeping jobs).

``dvcbot serve`` (the aiohttp app), ``dvcbot run`` with Telegram polling, and ``dvcbot chat`` all
start from here; nothing else builds services, a dialog or channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from aiohttp import web

from bot.channels.http import DIALOG, SERVICES, ChannelPlugin, healthz
from bot.config import LOCALES_DIR, Settings
from bot.conversation.dialog import Dialog, Services
from bot.conversation.i18n import I18n
from bot.conversation.render import Renderer
from bot.handoff.desk import Desk
from bot.knowledge.holder import KnowledgeHolder, ReloadOutcome
from bot.retrieval.engine import Engine
from bot.store.inbox import inbox_job
from bot.store.retention import retention_job
from bot.store.shared import open_shared
from bot.store.store import Store
from handlers import ROUTES

log = logging.getLogger(__name__)

PluginFactory = Callable[[Settings, Services, Dialog], ChannelPlugin]
BackgroundJob = Callable[[Services], Coroutine[Any, Any, None]]
POLLER_SECONDS = 30.0  # the poller's lease (renewed while it polls)
ALERT_ONCE_SECONDS = 600.0  # the same alert from several workers reaches the officials once



def build_services(settings: Settings) -> Services:
    knowledge = KnowledgeHolder(settings.knowledge_dir, Engine)
    store = Store(settings.store_target)
    renderer = Renderer(I18n(LOCALES_DIR))
    desk = Desk(settings, store, renderer, knowledge)  # hand-over tickets to staff
    shared = open_shared(settings)
    store.cache_users = not shared.coordinated  # several workers: read each chat's state
    return Services(settings=settings, knowledge=knowledge, store=store, renderer=renderer,
                    desk=desk, shared=shared)


def build_dialog(services: Services) -> Dialog:
    return Dialog(services, ROUTES)


def build(settings: Settings) -> Dialog:
    return build_dialog(build_services(settings))


def default_jobs() -> list[BackgroundJob]:
    return [retention_job, inbox_job]  # inbox_job: forgets old event ids (EVENT_IDS_KEEP_HOURS)


def configured_channels(settings: Settings) -> list[PluginFactory]:
    factories: list[PluginFactory] = []
    if settings.telegram_enabled:
        from bot.channels.telegram.channel import webhook_plugin

        factories.append(webhook_plugin)
    if settings.zalo_enabled:
        from bot.channels.zalo.channel import zalo_plugin

        factories.append(zalo_plugin)
    return factories


def web_channels(settings: Settings) -> list[PluginFactory]:
    """The web chat, its widget and the officials' dashboard (WEB_ENABLED, on by default)."""
    if not settings.web_enabled:
        return []
    from bot.channels.web.channel import web_plugin

    return [web_plugin]


class Runtime:
    """The background work every way of running the bot shares."""

    def __init__(self, services: Services, channels: Sequence[ChannelPlugin] = (),
                 jobs: Sequence[BackgroundJob] | None = None) -> None:
        self.services = services
        self.channels = list(channels)
        self.jobs = list(default_jobs() if jobs is None else jobs)
        if services.desk is not None:  # the channels that reach citizens, the staff group
            services.desk.attach(self.channels)

    async def _notify(self, outcome: ReloadOutcome) -> None:
        if outcome.ok:
            return
        services = self.services
        lang = services.settings.default_locale
        head = services.renderer.t(lang, "reload.failed")
        said = (p.render(lang, services.renderer.t) for p in outcome.problems[:20])
        text = "\n".join([head, *(f"- {line}" for line in said)])
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if await services.shared.acquire(f"alert:{digest}", ALERT_ONCE_SECONDS) is None:
            return  # another worker has told the officials already
        for channel in self.channels:
            await channel.notify_admins(text)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        knowledge = self.services.knowledge
        knowledge.listeners.append(self._notify)
        interval = self.services.settings.kb_reload_seconds
        tasks = [asyncio.create_task(knowledge.watch(interval))]
        tasks += [asyncio.create_task(job(self.services)) for job in self.jobs]
        if self.services.desk is not None:  # relays staff answers, posts tickets to staff
            tasks.append(asyncio.create_task(self.services.desk.run()))
        try:
            yield
        finally:
            knowledge.listeners.remove(self._notify)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


RUNTIME = web.AppKey("runtime", Runtime)


def make_app(settings: Settings, services: Services | None = None,
             plugins: list[PluginFactory] | None = None,
             jobs: list[BackgroundJob] | None = None) -> web.Application:
    """The one aiohttp application: every channel's webhook and /healthz."""
    services = services or build_services(settings)
    dialog = build_dialog(services)
    factories = [*configured_channels(settings), *web_channels(settings)] if plugins is None \
        else plugins
    channels = [factory(settings, services, dialog) for factory in factories]
    runtime = Runtime(services, channels, jobs)
    app = web.Application(client_max_size=256 * 1024)
    app[SERVICES] = services
    app[DIALOG] = dialog
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    for channel in channels:
        channel.add_routes(app)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        async with runtime.running():
            for channel in channels:
                await channel.start()
            try:
                yield
            finally:
                for channel in channels:
                    await channel.stop()
                services.store.close()
                await services.shared.close()

    app.cleanup_ctx.append(lifetime)
    return app


def run_server(settings: Settings) -> None:
    app = make_app(settings)
    log.info("serving on %s:%s", settings.host, settings.port)
    several = settings.redis_url is not None  # workers may share the port (SO_REUSEPORT)
    web.run_app(app, host=settings.host, port=settings.port, shutdown_timeout=10,
                print=None, handle_signals=True, reuse_port=several or None)


async def run_polling(settings: Settings) -> None:
    """`dvcbot run` with a token and no PUBLIC_URL: poll until SIGTERM / SIGINT."""
    from bot.channels.telegram.channel import TelegramChannel, TelegramStartError, quiet_aiogram

    quiet_aiogram()
    services = build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with sole_poller(services):
            channel = TelegramChannel(settings, services, build_dialog(services))
            async with Runtime(services, [channel]).running():
                await channel.run_polling(stop)
    except TelegramStartError as exc:
        raise SystemExit(f"telegram: {exc}") from None
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        services.store.close()
        await services.shared.close()
    log.info("telegram polling stopped")


@contextlib.asynccontextmanager
async def sole_poller(services: Services) -> AsyncIterator[None]:
    """Telegram lets one process poll a bot: with several workers (REDIS_URL), the second poller
    stops at once and says so."""
    lease = await services.shared.acquire("telegram:poller", POLLER_SECONDS)
    if lease is None:
        raise SystemExit("telegram: another worker is already polling this bot (Telegram allows "
                         "one poller); run several workers behind the webhook (PUBLIC_URL)")

    async def keep() -> None:
        while await services.shared.renew(lease, POLLER_SECONDS):
            await asyncio.sleep(POLLER_SECONDS / 3)
        log.error("telegram: the poller's lease was lost")

    keeper = asyncio.create_task(keep())
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await services.shared.release(lease)


async def run_chat(settings: Settings) -> None:
    """The console chat, with the same background work as a server."""
    from bot.channels.console import ConsoleChat

    services = build_services(settings)
    try:
        async with Runtime(services).running():
            await ConsoleChat(build_dialog(services)).run()
    finally:
        services.store.close()


async def run_local(settings: Settings, announce: Callable[[str], None] = print) -> None:
    """`dvcbot run` with nothing configured: the console chat, and beside it the web chat and the
    officials' dashboard on 127.0.0.1:PORT, both on the same services (one store, one watcher)."""
    from bot.channels.console import ConsoleChat
    from bot.channels.web.channel import web_plugin

    if not settings.web_enabled:
        await run_chat(settings)
        return
    local = settings.model_copy(update={"host": "127.0.0.1"})
    services = build_services(local)
    runner = web.AppRunner(make_app(local, services, plugins=[web_plugin]), handle_signals=False)
    await runner.setup()  # starts the runtime (knowledge watcher, jobs) and the web channel
    try:
        try:
            await web.TCPSite(runner, local.host, local.port).start()
        except OSError as exc:
            announce(services.renderer.t(local.default_locale, "cli.web_not_started",
                                         port=local.port, host=local.host, why=exc.strerror))
        else:
            base = f"http://{local.host}:{local.port}"
            announce(services.renderer.t(local.default_locale, "cli.web_started", base=base))
        await ConsoleChat(build_dialog(services), read=_StdinLines()).run()
    finally:
        await runner.cleanup()  # stops the channel and the runtime, closes the store


class _StdinLines:
    """Console input without a blocked thread: the event loop waits for stdin to be readable, so
    Ctrl-C stops the console chat and the web server at once (``input()`` in a worker thread
    would keep the process alive until Enter)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.eof = False

    async def _chunk(self, fd: int) -> bytes:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        try:
            loop.add_reader(fd, lambda: None if ready.done() else ready.set_result(None))
        except (NotImplementedError, PermissionError, OSError):  # a file, or no selector loop
            return await asyncio.to_thread(os.read, fd, 4096)
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        return os.read(fd, 4096)

    async def __call__(self, prompt: str) -> str | None:
        print(prompt, end="", flush=True)
        fd = sys.stdin.fileno()
        while b"\n" not in self.buffer and not self.eof:
            chunk = await self._chunk(fd)
            self.eof = not chunk
            self.buffer += chunk
        if not self.buffer:
            return None
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")
