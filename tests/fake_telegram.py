"""A fake Telegram Bot API server: aiohttp on 127.0.0.1, real HTTP, the Bot API's wire format.

It stands in for api.telegram.org (or a self-hosted server / emulator) in tests and benchmarks:
- ``/bot<token>/<method>`` with form-encoded, multipart or JSON parameters, answering
  ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …}``;
- getUpdates long-polls (``long_poll=True``) or answers at once (``long_poll=False``), confirms
  updates by offset, and refuses with 409 while a webhook is set, as Telegram does;
- checks what Telegram checks: HTML parse mode markup (only Telegram's tags, entities escaped),
  4,096 characters, 64-byte callback_data;
- can be told to answer 429 with retry_after, to fail with any error, to drop the connection
  (a network error), to delay a method, or to reject a method outright (unsupported);
- delivers updates to the registered webhook with the registered secret, like Telegram;
- records every call (``calls``) with its parsed parameters and its result (a sent message's id);
- updates from a group (a staff group, replies to the bot's messages) are plain updates: tests
  build them (``tests/test_handoff.py``) and deliver them like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijkl"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "DVC Bot", "username": "dvc_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}
RAW_FIELDS = {"text", "caption", "callback_query_id", "secret_token", "url", "action",
              "parse_mode", "language_code", "data"}
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "tg-spoiler", "span", "blockquote", "tg-emoji"}
TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 200
    result: Any = None  # what the server answered (sendMessage: the message, with message_id)


@dataclass
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    drop: bool = False
    chat_id: int | None = None


@dataclass
class Rule:
    faults: list[Fault] = field(default_factory=list)


class BadRequest(Exception):
    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


def check_html(text: str) -> str:
    """Telegram's HTML parse mode: raise like Telegram does; return the visible text."""
    stack: list[str] = []
    visible: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = TAG.match(text, pos)
            if not match or match.group(2) not in TAGS:
                raise BadRequest(f"Bad Request: can't parse entities: unsupported start tag at "
                                 f"byte offset {pos}")
            closing, name = match.group(1), match.group(2)
            if closing:
                if not stack or stack.pop() != name:
                    raise BadRequest("Bad Request: can't parse entities: unmatched end tag")
            else:
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = ENTITY.match(text, pos)
            if not match:
                raise BadRequest("Bad Request: can't parse entities: unescaped &")
            visible.append(html.unescape(match.group(0)))
            pos = match.end()
        elif char == ">":
            raise BadRequest("Bad Request: can't parse entities: unescaped >")
        else:
            visible.append(char)
            pos += 1
    if stack:
        raise BadRequest("Bad Request: can't parse entities: unclosed tag")
    return "".join(visible)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    def __init__(self, token: str = TOKEN, *, long_poll: bool = True) -> None:
        self.token = token
        self.long_poll = long_poll
        self.calls: list[Call] = []  # answered calls, in the order they were answered
        self.arrivals: list[str] = []  # methods, in the order the requests arrived
        self.updates: list[dict[str, Any]] = []
        self.pushed_at: dict[int, float] = {}  # update_id → when it became available
        self.delivered_at: dict[int, float] = {}  # update_id → when getUpdates handed it over
        self.faults: list[Fault] = []
        self.rejected: dict[str, tuple[int, str]] = {}
        self.delays: dict[str, float] = {}
        self.webhook: tuple[str, str | None] | None = None
        self.on_call: Callable[[Call], None] | None = None
        self._next_update = 100_000_001
        self._next_message = 1
        self._arrived = asyncio.Event()
        self._called = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> FakeTelegram:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._endpoint)
        app.router.add_get("/bot{token}/{method}", self._endpoint)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock).start()
        return self

    async def close(self) -> None:
        self._closing = True
        self._arrived.set()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what a test tells the fake -----------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        """Make an update available to getUpdates; returns its update_id."""
        update = dict(update)
        if not update.get("update_id"):
            update["update_id"] = self._next_update
        self._next_update = max(self._next_update, update["update_id"]) + 1
        self.updates.append(update)
        self.pushed_at[update["update_id"]] = time.monotonic()
        self._arrived.set()
        return int(update["update_id"])

    def fail(self, method: str, *, status: int = 429, retry_after: int | None = None,
             description: str | None = None, times: int = 1, chat_id: int | None = None,
             drop: bool = False) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` if given) fail like this."""
        if status == 429 and description is None:
            description = f"Too Many Requests: retry after {retry_after}"
        for _ in range(times):
            self.faults.append(Fault(method, status, description or "Internal Server Error",
                                     retry_after, drop, chat_id))

    def reject(self, method: str, status: int = 404, description: str = "Not Found") -> None:
        """Every call of ``method`` fails: a server that does not implement it."""
        self.rejected[method] = (status, description)

    def delay(self, method: str, seconds: float) -> None:
        self.delays[method] = seconds

    async def deliver(self, update: dict[str, Any], secret: str | None = "registered") -> int:
        """POST an update to the registered webhook, like Telegram; returns the HTTP status."""
        assert self.webhook is not None, "no webhook registered"
        url, registered = self.webhook
        token = registered if secret == "registered" else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token is not None else {}
        if self._client is None:
            self._client = aiohttp.ClientSession()
        async with self._client.post(url, json=update, headers=headers) as resp:
            await resp.read()
            return resp.status

    # -- what a test reads ----------------------------------------------------------------------

    def called(self, method: str, status: int | None = 200) -> list[Call]:
        return [c for c in self.calls if c.method == method and (status is None or
                                                                 c.status == status)]

    def messages(self, chat_id: int | None = None) -> list[Call]:
        """Messages accepted (sendMessage answered 200), in the order they arrived."""
        return [c for c in self.called("sendMessage")
                if chat_id is None or c.params.get("chat_id") == chat_id]

    async def wait_for_arrival(self, method: str, timeout: float = 10.0) -> None:
        """Wait until a request for ``method`` has arrived (it may still be being answered)."""
        deadline = time.monotonic() + timeout
        while method not in self.arrivals:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} request in {timeout}s")
            self._called.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._called.wait(), 0.5)

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0,
                       where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Wait until ``count`` successful calls of ``method`` (matching ``where``) arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.called(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(c.method, c.status) for c in self.calls[-10:]]
                raise AssertionError(f"{count} × {method} not seen in {timeout}s; last: {seen}")
            self._called.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._called.wait(), min(remaining, 0.5))

    # -- the Bot API --------------------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        self.arrivals.append(method)
        self._called.set()
        params, files = await self._params(request)
        call = Call(method, params, files, time.monotonic())
        try:
            response = await self._answer(request, call)
        finally:
            self.calls.append(call)
            if self.on_call is not None:
                self.on_call(call)
            self._called.set()
        return response

    async def _answer(self, request: web.Request, call: Call) -> web.StreamResponse:
        if call.method in self.delays:
            await asyncio.sleep(self.delays[call.method])
        fault = self._take_fault(call)
        if fault is not None:
            call.status = 0 if fault.drop else fault.status
            if fault.drop:
                assert request.transport is not None
                request.transport.close()  # the client sees the connection die
                return web.Response(status=500)
            return self._error(fault.status, fault.description, fault.retry_after)
        if call.method in self.rejected:
            call.status, description = self.rejected[call.method]
            return self._error(call.status, description)
        handler = getattr(self, f"_m_{call.method.lower()}", None)
        if handler is None:
            call.status = 404
            return self._error(404, "Not Found")
        try:
            result = await handler(call)
        except BadRequest as exc:
            call.status = exc.status
            return self._error(exc.status, exc.description)
        call.result = result
        return web.json_response({"ok": True, "result": result})

    def _take_fault(self, call: Call) -> Fault | None:
        for fault in self.faults:
            if fault.method == call.method and fault.chat_id in (None, call.params.get("chat_id")):
                self.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    @staticmethod
    async def _params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        if request.content_type == "application/json":
            return dict(await request.json()), {}
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
            elif key in RAW_FIELDS:
                params[key] = str(value)
            else:
                try:
                    params[key] = json.loads(str(value))
                except ValueError:
                    params[key] = str(value)
        for key, value in list(params.items()):  # multipart uploads: photo=attach://<field>
            if isinstance(value, str) and value.startswith("attach://"):
                files[key] = files.pop(value.removeprefix("attach://"), b"")
        return params, files

    # -- methods ------------------------------------------------------------------------------

    async def _m_getme(self, call: Call) -> Any:
        return BOT_USER

    async def _m_getupdates(self, call: Call) -> Any:
        if self.webhook is not None:
            raise BadRequest("Conflict: can't use getUpdates method while webhook is active; "
                             "use deleteWebhook to delete the webhook first", status=409)
        offset = int(call.params.get("offset") or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(call.params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while not self.updates and self.long_poll and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                break
        batch = self.updates[: int(call.params.get("limit") or 100)]
        now = time.monotonic()
        for update in batch:
            self.delivered_at.setdefault(update["update_id"], now)
        return batch

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        self._next_message += 1
        return {"message_id": self._next_message, "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group",
                         "first_name": "Citizen"}, **content}

    async def _m_sendmessage(self, call: Call) -> Any:
        text = str(call.params.get("text", ""))
        if call.params.get("parse_mode") == "HTML":
            text = check_html(text)
        if not text.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise BadRequest("Bad Request: message is too long")
        markup = call.params.get("reply_markup")
        self._check_markup(markup)
        extra = {"reply_markup": markup} if markup else {}
        return self._message(int(call.params["chat_id"]), text=text, **extra)

    @staticmethod
    def _check_markup(markup: Any) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
                if data is None and not str(button.get("url", "")).startswith(("http", "tg:")):
                    raise BadRequest("Bad Request: inline keyboard button URL is invalid")

    async def _m_sendphoto(self, call: Call) -> Any:
        if "photo" not in call.files:
            raise BadRequest("Bad Request: there is no photo in the request")
        size = {"file_id": f"photo-{len(self.calls)}", "file_unique_id": "u1", "width": 800,
                "height": 400}
        return self._message(int(call.params["chat_id"]), photo=[size])

    async def _m_senddocument(self, call: Call) -> Any:
        if "document" not in call.files:
            raise BadRequest("Bad Request: there is no document in the request")
        doc = {"file_id": f"doc-{len(self.calls)}", "file_unique_id": "u2"}
        return self._message(int(call.params["chat_id"]), document=doc)

    async def _m_editmessagereplymarkup(self, call: Call) -> Any:
        self._check_markup(call.params.get("reply_markup"))
        return self._message(int(call.params.get("chat_id", 1)), text="…")

    async def _m_answercallbackquery(self, call: Call) -> Any:
        if not call.params.get("callback_query_id"):
            raise BadRequest("Bad Request: query is too old and response timeout expired")
        return True

    async def _m_setwebhook(self, call: Call) -> Any:
        url = str(call.params.get("url", ""))
        if not url:
            raise BadRequest("Bad Request: bad webhook: URL is empty")
        self.webhook = (url, call.params.get("secret_token"))
        return True

    async def _m_deletewebhook(self, call: Call) -> Any:
        self.webhook = None
        return True

    async def _m_getwebhookinfo(self, call: Call) -> Any:
        url = self.webhook[0] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_setmycommands(self, call: Call) -> Any:
        for command in call.params.get("commands", []):
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise BadRequest("Bad Request: BOT_COMMAND_INVALID")
        return True

    async def _m_sendchataction(self, call: Call) -> Any:
        return True
