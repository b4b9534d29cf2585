"""Shared by the web tests: the whole application on 127.0.0.1 and a client that behaves like the
chat page (cookie jar, Origin, CSRF token) or an official's browser."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import make_app
from bot.channels.web.accounts import hash_password
from bot.channels.web.channel import WEB, WebChannel, web_plugin
from bot.config import Settings, load_settings
from bot.conversation.dialog import Dialog, Services
from bot.store.store import add_account

KEY = "test-key-123456"
PASSWORD = "mat-khau-du-dai-1"
# Hashing at full cost is what production does; tests make a few accounts, so it stays.
_HASHES: dict[str, str] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def web_settings(tmp_path: Path, **extra: Any) -> Settings:
    return load_settings(environ={}, dotenv=None, data_dir=tmp_path / "data", pseudonym_key=KEY,
                         **extra)


async def make_account(services: Services, name: str = "minh", password: str = PASSWORD) -> None:
    """An account, written on the store's own thread (the running app shares the connection)."""
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    store = services.store
    assert await store.call(add_account, store, name, _HASHES[password])


class Running:
    """The application serving on 127.0.0.1:``port``."""

    def __init__(self, app: web.Application, port: int) -> None:
        self.app = app
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    @property
    def channel(self) -> WebChannel:
        return self.app[WEB]

    @property
    def services(self) -> Services:
        return self.channel.services


PluginFactory = Callable[[Settings, Services, Dialog], WebChannel]


@asynccontextmanager
async def serve(settings: Settings, port: int | None = None,
                plugin: PluginFactory = web_plugin) -> AsyncIterator[Running]:
    """The real application (``make_app``) with the web channel, on 127.0.0.1 only."""
    port = port or free_port()
    app = make_app(settings, plugins=[plugin], jobs=[])
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Running(app, port)
    finally:
        await runner.cleanup()


CSRF = re.compile(r'data-csrf="([^"]+)"')
FORM_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browserish:
    """An HTTP client with cookies that sends what the chat page sends."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.origin = base

    async def close(self) -> None:
        await self.http.close()

    async def open_chat(self, query: str = "") -> tuple[aiohttp.ClientResponse, str]:
        response = await self.http.get(f"{self.base}/chat{query}")
        html = await response.text()
        match = CSRF.search(html)
        assert match, html[:500]
        self.csrf = match.group(1)
        return response, html

    async def post(self, body: Any, **headers: str) -> aiohttp.ClientResponse:
        sent = {"Origin": self.origin, "X-CSRF-Token": self.csrf, **headers}
        sent = {k: v for k, v in sent.items() if v}
        return await self.http.post(f"{self.base}/chat/api/message", json=body, headers=sent)

    async def say(self, text: str) -> dict[str, Any]:
        response = await self.post({"text": text})
        assert response.status == 200, await response.text()
        data: dict[str, Any] = await response.json()
        return data

    async def press(self, action: str) -> dict[str, Any]:
        response = await self.post({"action": action})
        assert response.status == 200, await response.text()
        data: dict[str, Any] = await response.json()
        return data

    async def log_in(self, name: str = "minh", password: str = PASSWORD,
                     origin: str | None = None) -> aiohttp.ClientResponse:
        page = await self.http.get(f"{self.base}/admin/login")
        match = FORM_CSRF.search(await page.text())
        assert match
        return await self.http.post(
            f"{self.base}/admin/login", data={"name": name, "password": password,
                                              "csrf": match.group(1)},
            headers={"Origin": origin or self.origin}, allow_redirects=False)


def button(data: dict[str, Any], label: str) -> dict[str, str]:
    for reply in data["replies"]:
        for row in reply["buttons"]:
            for b in row:
                if label.lower() in b["label"].lower():
                    return dict(b)
    raise AssertionError(f"no button {label!r} in {data}")
