"""Flood control per chat: past the limit one polite notice, the rest dropped; other chats go on."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import Runtime, build_services, make_app
from bot.channels.flood import FloodGate
from bot.channels.zalo.channel import ZaloChannel, zalo_plugin
from bot.config import Settings, load_settings
from bot.conversation.dialog import Dialog, Services
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_ID,
    OA_SECRET_KEY,
    FakeZalo,
    event,
    signed_request,
)
from tests.test_telegram import make_channel

DATA = Path(__file__).resolve().parent / "data" / "telegram"
NOTICE_VI = "Bạn gửi nhanh quá"
FLOODER, NEIGHBOUR = 5_300_000_001, 5_300_000_002


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_limit_then_one_notice_then_drops_until_refilled() -> None:
    clock = Clock()
    gate = FloodGate(limit=3, window=60, clock=clock)
    assert [gate.admit("a") for _ in range(6)] == ["ok", "ok", "ok", "notice", "drop", "drop"]
    assert gate.admit("b") == "ok"  # another chat has its own bucket
    clock.now += 20  # one token back (3 per 60 s)
    assert [gate.admit("a") for _ in range(3)] == ["ok", "notice", "drop"]  # a new flood: notice
    clock.now += 60
    assert [gate.admit("a") for _ in range(4)] == ["ok", "ok", "ok", "notice"]
    assert gate.dropped == 6  # not handled by the dialog: the drops and the notices


def test_idle_chats_are_forgotten() -> None:
    clock = Clock()
    gate = FloodGate(limit=2, window=10, clock=clock)
    for chat in range(30_000):
        gate.admit(chat)
    clock.now += 11
    gate.admit("one more")  # a sweep: every bucket is full again
    assert len(gate) < 30_000


def message(chat: int, text: str, update_id: int) -> dict[str, Any]:
    update: dict[str, Any] = json.loads((DATA / "message_text.json").read_text("utf-8"))
    update = copy.deepcopy(update)
    update["update_id"] = update_id
    update["message"].update(text=text, message_id=update_id)
    update["message"]["from"]["id"] = update["message"]["chat"]["id"] = chat
    return update


async def test_telegram_flood_gets_one_notice_and_the_neighbour_is_answered(
        settings: Settings) -> None:
    async with FakeTelegram() as fake:
        configured = load_settings(
            environ={}, dotenv=None, data_dir=settings.data_dir, pseudonym_key="test-key-123456",
            telegram_bot_token=TOKEN, telegram_api_url=fake.url, flood_limit=5)
        services = build_services(configured)
        try:
            channel = make_channel(services)
            stop = asyncio.Event()
            async with Runtime(services, [channel], jobs=[]).running():
                task = asyncio.create_task(channel.run_polling(stop))
                for n in range(40):  # 40 messages at once from one chat …
                    fake.push(message(FLOODER, "đăng ký kết hôn", 960_000_001 + n))
                fake.push(message(NEIGHBOUR, "đăng ký kết hôn", 960_000_100))  # … and one here
                await fake.wait_for("sendMessage", 5 + 1 + 1)
                await channel.intake.drain()
                await channel.sender.drain(5)
                stop.set()
                await task
            counts = await services.store.call(channel.intake.inbox.counts)
        finally:
            services.store.close()
    flooder = [c.params["text"] for c in fake.messages(FLOODER)]
    assert len(flooder) == 6
    assert sum(NOTICE_VI in text for text in flooder) == 1 and NOTICE_VI in flooder[5]
    assert all("kết hôn" in text for text in flooder[:5])
    [neighbour] = fake.messages(NEIGHBOUR)
    assert "kết hôn" in neighbour.params["text"]
    assert counts == {"sent": 5 + 1 + 1, "dropped": 34}  # acknowledged, never handled


@pytest.fixture
async def zalo_app(settings: Settings) -> AsyncIterator[tuple[TestServer, FakeZalo, list[Any]]]:
    fake = FakeZalo()
    await fake.start()
    configured = load_settings(
        environ={}, dotenv=None, data_dir=settings.data_dir, pseudonym_key="test-key-123456",
        zalo_app_id=APP_ID, zalo_app_secret=APP_SECRET, zalo_oa_id=OA_ID,
        zalo_oa_secret_key=OA_SECRET_KEY, zalo_access_token="at-0", zalo_refresh_token="rt-0",
        zalo_api_url=fake.url, zalo_oauth_url=fake.url, flood_limit=3)
    made: list[ZaloChannel] = []

    def factory(settings: Settings, services: Services, dialog: Dialog) -> ZaloChannel:
        made.append(zalo_plugin(settings, services, dialog))
        return made[0]

    server = TestServer(make_app(configured, plugins=[factory], jobs=[]), host="127.0.0.1")
    await server.start_server()
    yield server, fake, made
    await server.close()
    await fake.close()


async def test_zalo_flood_gets_one_notice(
        zalo_app: tuple[TestServer, FakeZalo, list[ZaloChannel]]) -> None:
    server, fake, [channel] = zalo_app
    async with aiohttp.ClientSession() as http:
        for _ in range(12):
            body, headers = signed_request(event("user_send_text", "111", text="cảm ơn"))
            async with http.post(server.make_url("/zalo/webhook"), data=body,
                                 headers=headers) as resp:
                assert resp.status == 200  # every event is acknowledged
        body, headers = signed_request(event("user_send_text", "222", text="cảm ơn"))
        async with http.post(server.make_url("/zalo/webhook"), data=body, headers=headers):
            pass
    await channel.drain()
    texts = [m["text"] for m in fake.to("111")]
    assert len(texts) == 3 + 1 and NOTICE_VI in texts[-1]
    assert len(fake.to("222")) == 1
