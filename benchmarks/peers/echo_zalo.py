"""The peer of the Zalo throughput benchmark: a minimal aiohttp webhook.

It answers every event 200 at once and sends one consultation message back with the Open API
v3 (the text of the event), in the background — no signature check, no storage, no dialog.

    ZALO_API_URL=http://127.0.0.1:PORT ZALO_ACCESS_TOKEN=… PORT=8081 \
        python -m benchmarks.peers.echo_zalo
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
from aiohttp import web

TASKS: set[asyncio.Task[None]] = set()


async def send(session: aiohttp.ClientSession, url: str, token: str, user: str,
               text: str) -> None:
    body = {"recipient": {"user_id": user}, "message": {"text": text or "…"}}
    async with session.post(url, json=body, headers={"access_token": token}) as resp:
        await resp.read()


def make_app() -> web.Application:
    url = os.environ["ZALO_API_URL"].rstrip("/") + "/v3.0/oa/message/cs"
    token = os.environ["ZALO_ACCESS_TOKEN"]
    app = web.Application()
    state: dict[str, aiohttp.ClientSession] = {}

    async def webhook(request: web.Request) -> web.Response:
        event: dict[str, Any] = json.loads(await request.read())
        user = str(event.get("sender", {}).get("id", ""))
        text = str(event.get("message", {}).get("text", ""))
        task = asyncio.create_task(send(state["session"], url, token, user, text))
        TASKS.add(task)
        task.add_done_callback(TASKS.discard)
        return web.json_response({"error": 0})

    async def lifetime(app: web.Application) -> Any:
        state["session"] = aiohttp.ClientSession()
        yield
        await state["session"].close()

    app.router.add_post("/zalo/webhook", webhook)
    app.cleanup_ctx.append(lifetime)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8081")),
                print=None, access_log=None)
