"""A fake Zalo platform on 127.0.0.1 speaking the real protocol over real HTTP.

It plays three parts of Zalo:
- the OA Open API v3 consultation endpoint ``POST /v3.0/oa/message/cs`` (checks the
  ``access_token`` header and the message shape and limits, records what the bot sends; refuses,
  as Zalo does with -230, a message to a user past the consultation window: ``closed_windows``);
- the OAuth v4 token endpoint ``POST /v4/oa/access_token`` (``grant_type=refresh_token``,
  single-use refresh tokens, new pair with ``expires_in`` 90000);
- the webhook sender: events built from ``tests/data/zalo/*.json`` and signed with
  ``X-ZEvent-Signature: mac=sha256(app_id + body + timestamp + OA secret key)``.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

DATA = Path(__file__).resolve().parent / "data" / "zalo"
APP_ID = "360846524940903967"
OA_ID = "388613280878808645"
APP_SECRET = "fake-app-secret-5f2c"
OA_SECRET_KEY = "fake-oa-secret-key-9d41"
USER_ID = "246845883529197922"

TEXT_LIMIT = 2000
BUTTON_TYPES = {"oa.open.url", "oa.query.show", "oa.query.hide", "oa.open.sms", "oa.open.phone"}


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def sign(body: bytes, timestamp: str, app_id: str = APP_ID, secret: str = OA_SECRET_KEY,
         prefix: bool = True) -> str:
    mac = hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()
    return f"mac={mac}" if prefix else mac


_msg_ids = itertools.count(1)


def event(name: str, user_id: str = USER_ID, text: str | None = None,
          msg_id: str | None = None) -> dict[str, Any]:
    """An event in Zalo's shape (from the data files) for ``user_id``, with a fresh msg_id."""
    payload: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    payload = copy.deepcopy(payload)
    payload["timestamp"] = str(int(time.time() * 1000))
    if "follower" in payload:
        payload["follower"]["id"] = user_id
    elif name.startswith("user_send_"):
        payload["sender"]["id"] = user_id
    message = payload.get("message")
    if isinstance(message, dict) and "msg_id" in message:
        message["msg_id"] = msg_id or f"msg{next(_msg_ids):06d}{user_id[-4:]}"
    if text is not None:
        payload["message"]["text"] = text
    return payload


def signed_request(payload: dict[str, Any], **sign_args: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json",
               "X-ZEvent-Signature": sign(body, str(payload["timestamp"]), **sign_args)}
    return body, headers


class FakeZalo:
    def __init__(self, access_token: str = "at-0", refresh_token: str = "rt-0") -> None:
        self.valid_access = {access_token}
        self.expired_access: set[str] = set()
        self.refresh_token: str | None = refresh_token
        self.sent: list[dict[str, Any]] = []  # accepted messages: {"user_id", "message", "token"}
        self.errors: list[dict[str, Any]] = []  # refused sends: {"error", "message", "body"}
        self.refreshes = 0
        self.token_requests = 0  # every request to the OAuth token endpoint, refused ones too
        self.token_delay = 0.0  # seconds the token endpoint takes to answer
        self.refuse_templates: int | None = None  # an error code for every button template
        self.fail_next_with_500 = 0
        self.gate: asyncio.Event | None = None  # when set, sends wait until it is released
        # Users past the consultation window: Zalo refuses messages to them with -230.
        self.closed_windows: set[str] = set()
        self._counter = itertools.count(1)
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._message)
        app.router.add_post("/v4/oa/access_token", self._token)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> None:
        await self.server.start_server()

    async def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        await self.server.close()

    # --- controls used by the tests ----------------------------------------------------

    def expire_access_tokens(self) -> None:
        self.expired_access |= self.valid_access
        self.valid_access = set()

    def revoke_refresh_token(self) -> None:
        self.refresh_token = None

    def to(self, user_id: str) -> list[dict[str, Any]]:
        return [m["message"] for m in self.sent if m["user_id"] == user_id]

    async def wait_for(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- OA Open API v3: consultation message ---------------------------------------------

    async def _message(self, request: web.Request) -> web.Response:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next_with_500 > 0:
            self.fail_next_with_500 -= 1
            return web.Response(status=502, text="bad gateway")
        token = request.headers.get("access_token", "")
        body = await request.json()
        error = self._check_token(token) or self._check_message(body)
        if error is None and self.refuse_templates and "attachment" in body.get("message", {}):
            error = (self.refuse_templates, "message type is invalid or not support")
        if error is None and body["recipient"]["user_id"] in self.closed_windows:
            error = (-230, "User has not interacted with the OA in the past 7 days")
        if error is not None:
            self.errors.append({"error": error[0], "message": error[1], "body": body})
            await self._notify()
            return web.json_response({"error": error[0], "message": error[1]})
        user_id = body["recipient"]["user_id"]
        self.sent.append({"user_id": user_id, "message": body["message"], "token": token})
        await self._notify()
        return web.json_response({"error": 0, "message": "Success", "data": {
            "message_id": f"oa{next(self._counter):08x}", "user_id": user_id}})

    def _check_token(self, token: str) -> tuple[int, str] | None:
        if token in self.expired_access:
            return -220, "access_token is expired or removed"
        if token not in self.valid_access:
            return -216, "Access token is invalid"
        return None

    def _check_message(self, body: Any) -> tuple[int, str] | None:
        if not isinstance(body, dict) or not isinstance(body.get("recipient"), dict) or not (
                isinstance(body["recipient"].get("user_id"), str)):
            return -201, "recipient is invalid!"
        message = body.get("message")
        if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
            return -201, "message is invalid!"
        text = message.get("text")
        if text is not None and (not isinstance(text, str) or units(text) > TEXT_LIMIT):
            return -210, "Parameter exceeds allowable limit: text"
        if "attachment" in message:
            return _check_buttons(message["attachment"])
        return None

    # --- OAuth v4: refresh the OA access token -----------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        await asyncio.sleep(self.token_delay)
        form = await request.post()
        if request.headers.get("secret_key") != APP_SECRET:
            return web.json_response({"error": -14005, "error_name": "Invalid secret key",
                                      "error_description": "secret_key is wrong"})
        if form.get("app_id") != APP_ID or form.get("grant_type") != "refresh_token":
            return web.json_response({"error": -14002, "error_name": "Invalid parameter"})
        if self.refresh_token is None or form.get("refresh_token") != self.refresh_token:
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token",
                                      "error_description": "refresh token is invalid or used"})
        self.refreshes += 1
        access, refresh = f"at-{self.refreshes}", f"rt-{self.refreshes}"
        self.valid_access.add(access)
        self.refresh_token = refresh
        await self._notify()
        return web.json_response({"access_token": access, "refresh_token": refresh,
                                  "expires_in": "90000"})


def _check_buttons(attachment: Any) -> tuple[int, str] | None:
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        return -201, "attachment.type is invalid!"
    payload = attachment.get("payload")
    buttons = payload.get("buttons") if isinstance(payload, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 5:
        return -210, "Parameter exceeds allowable limit: buttons"
    return next((e for e in map(_check_button, buttons) if e is not None), None)


def _check_button(button: Any) -> tuple[int, str] | None:
    if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
        return -201, "button.type is invalid!"
    title = button.get("title")
    if not isinstance(title, str) or not title or units(title) > 100:
        return -210, "Parameter exceeds allowable limit: title"
    value = button.get("payload")
    if button["type"] == "oa.open.url":
        if not isinstance(value, dict) or not str(value.get("url", "")).startswith("http"):
            return -201, "button.payload.url is invalid!"
    elif not isinstance(value, str) or not value or len(value) > 1000:
        return -201, "button.payload is invalid!"
    return None
