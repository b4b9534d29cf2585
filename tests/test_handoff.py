"""Hand-over to staff end to end, over real HTTP on 127.0.0.1.

The whole application (``make_app``) runs with the Telegram webhook (the staff group and, in one
test, the citizen too), the Zalo webhook and the web chat; ``tests/fake_telegram.py`` and
``tests/fake_zalo.py`` play the platforms.  A citizen asks for a person → the staff group gets the
ticket with Take / Close buttons → a staff member replies to it in the group → the answer reaches
the citizen on their own channel, once, marked as from staff with the ticket's code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import make_app
from bot.channels.http import SERVICES
from bot.channels.telegram.channel import webhook_plugin
from bot.channels.web.channel import web_plugin
from bot.channels.zalo.channel import ZaloChannel, zalo_plugin
from bot.config import Settings, load_settings
from bot.conversation.dialog import Dialog, Services
from bot.conversation.pseudonym import user_ref
from bot.handoff.codes import find_code
from bot.handoff.hours import LOCAL_TZ
from tests.fake_telegram import BOT_USER, TOKEN, Call, FakeTelegram
from tests.fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_ID,
    OA_SECRET_KEY,
    USER_ID,
    FakeZalo,
    event,
    signed_request,
)
from tests.web_support import Browserish, free_port

KEY = "test-key-123456"
STAFF_CHAT = -1001234567890
STAFF = 7001  # in TELEGRAM_STAFF_IDS
STRANGER = 7002  # in the staff group, not in the allow-list
CITIZEN = 5120348871  # a Telegram citizen
ALWAYS = "Mon-Sun 00:00-24:00"
UPDATES = itertools.count(900_000_001)
MESSAGES = itertools.count(50_001)
Messages = list[dict[str, Any]]


# -- the application with both fakes ---------------------------------------------------------------


@dataclass
class Stack:
    server: TestServer
    tg: FakeTelegram
    zalo: FakeZalo
    http: aiohttp.ClientSession
    zalo_channel: ZaloChannel | None

    @property
    def services(self) -> Services:
        return self.server.app[SERVICES]

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    # Zalo citizen -----------------------------------------------------------------------------

    async def zalo_says(self, text: str, user: str = USER_ID) -> Messages:
        before = len(self.zalo.to(user))
        body, headers = signed_request(event("user_send_text", user, text=text))
        async with self.http.post(f"{self.base}/zalo/webhook", data=body,
                                  headers=headers) as resp:
            assert resp.status == 200
        assert self.zalo_channel is not None
        await self.zalo_channel.drain()
        return self.zalo.to(user)[before:]

    # Telegram: the staff group, a Telegram citizen --------------------------------------------

    async def deliver(self, update: dict[str, Any]) -> None:
        assert await self.tg.deliver(update) == 200

    async def ticket_post(self, code: str) -> Call:
        """The staff group's message with the ticket (and its buttons)."""
        [post] = await self.tg.wait_for("sendMessage", where=lambda c: c.params.get(
            "chat_id") == STAFF_CHAT and code in c.params["text"] and "reply_markup" in c.params)
        return post

    async def staff_note(self, part: str, count: int = 1) -> list[Call]:
        return await self.tg.wait_for("sendMessage", count, where=lambda c: c.params.get(
            "chat_id") == STAFF_CHAT and part in c.params["text"])

    def group_texts(self) -> list[str]:
        return [str(c.params["text"]) for c in self.tg.messages(STAFF_CHAT)]


def group_message(staff: int, text: str, reply_to: int | None = None) -> dict[str, Any]:
    chat = {"id": STAFF_CHAT, "type": "supergroup", "title": "Cán bộ một cửa"}
    message: dict[str, Any] = {
        "message_id": next(MESSAGES), "date": int(time.time()), "chat": chat, "text": text,
        "from": {"id": staff, "is_bot": False, "first_name": f"Cán bộ {staff}"}}
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": reply_to, "from": BOT_USER, "chat": chat,
                                       "date": int(time.time()), "text": "…"}
    return {"update_id": next(UPDATES), "message": message}


def group_press(staff: int, data: str, message_id: int) -> dict[str, Any]:
    chat = {"id": STAFF_CHAT, "type": "supergroup", "title": "Cán bộ một cửa"}
    return {"update_id": next(UPDATES), "callback_query": {
        "id": f"cb-{next(MESSAGES)}", "chat_instance": "-1",
        "from": {"id": staff, "is_bot": False, "first_name": f"Cán bộ {staff}"},
        "message": {"message_id": message_id, "from": BOT_USER, "chat": chat,
                    "date": int(time.time()), "text": "…"},
        "data": data}}


def private_message(text: str, user: int = CITIZEN) -> dict[str, Any]:
    return {"update_id": next(UPDATES), "message": {
        "message_id": next(MESSAGES), "date": int(time.time()), "text": text,
        "from": {"id": user, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
        "chat": {"id": user, "type": "private", "first_name": "Lan"}}}


def private_press(data: str, user: int = CITIZEN) -> dict[str, Any]:
    return {"update_id": next(UPDATES), "callback_query": {
        "id": f"cb-{next(MESSAGES)}", "chat_instance": "-2", "data": data,
        "from": {"id": user, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
        "message": {"message_id": next(MESSAGES), "from": BOT_USER, "date": int(time.time()),
                    "chat": {"id": user, "type": "private"}, "text": "…"}}}


def buttons_of(call: Call) -> dict[str, str]:
    markup = call.params.get("reply_markup") or {}
    return {b["text"]: b.get("callback_data", "") for row in markup.get("inline_keyboard", [])
            for b in row}


def zalo_buttons(messages: Messages) -> dict[str, str]:
    return {b["title"]: b["payload"] for m in messages
            for b in m.get("attachment", {}).get("payload", {}).get("buttons", [])}


def text_of(messages: Messages) -> str:
    return "\n".join(m.get("text", "") for m in messages)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeTelegram, FakeZalo]]:
    zalo = FakeZalo()
    await zalo.start()
    async with FakeTelegram() as tg:
        yield tg, zalo
    await zalo.close()


def stack_settings(tmp_path: Path, tg: FakeTelegram, zalo: FakeZalo, port: int,
                   **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "pseudonym_key": KEY,
        "telegram_bot_token": TOKEN, "telegram_api_url": tg.url,
        "public_url": f"http://127.0.0.1:{port}", "telegram_webhook_secret": "s3cret-Token_1",
        "telegram_staff_chat_id": str(STAFF_CHAT), "telegram_staff_ids": str(STAFF),
        "zalo_app_id": APP_ID, "zalo_app_secret": APP_SECRET, "zalo_oa_id": OA_ID,
        "zalo_oa_secret_key": OA_SECRET_KEY, "zalo_access_token": "at-0",
        "zalo_refresh_token": "rt-0", "zalo_api_url": zalo.url, "zalo_oauth_url": zalo.url,
        "office_hours": ALWAYS,
    }
    values.update(extra)
    return load_settings(environ={}, dotenv=None, **values)


@asynccontextmanager
async def stack(tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo],
                **extra: Any) -> AsyncIterator[Stack]:
    tg, zalo = fakes
    port = free_port()
    settings = stack_settings(tmp_path, tg, zalo, port, **extra)
    made: list[ZaloChannel] = []

    def zalo_factory(settings: Settings, services: Services, dialog: Dialog) -> ZaloChannel:
        channel = zalo_plugin(settings, services, dialog)
        channel.api.retry_delay = 0.0
        made.append(channel)
        return channel

    app = make_app(settings, plugins=[webhook_plugin, zalo_factory, web_plugin], jobs=[])
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    http = aiohttp.ClientSession()
    try:
        await tg.wait_for("setWebhook")
        desk = app[SERVICES].desk
        assert desk is not None
        desk.poll_seconds = 0.2  # held answers are looked at often (10 s in production)
        yield Stack(server, tg, zalo, http, made[0])
    finally:
        await http.close()
        await server.close()


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.05)


def rows(services: Services, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return list(services.store.db.execute(sql, list(args)).fetchall())


# -- Zalo ------------------------------------------------------------------------------------------


async def test_zalo_citizen_reaches_staff_and_gets_the_answer_once(
        tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo]) -> None:
    async with stack(tmp_path, fakes) as app:
        await app.zalo_says("cho minh hoi ho so cap so do lan dau sdt 0912345678")
        opened = await app.zalo_says("cho minh gap can bo")
        code = find_code(text_of(opened))
        assert code is not None and "đang trong giờ làm việc" in text_of(opened)
        assert "7 ngày" in text_of(opened)  # Zalo's window, said honestly

        post = await app.ticket_post(code)
        text = str(post.params["text"])
        assert "Zalo" in text and "[số điện thoại]" in text and "0912345678" not in text
        assert sorted(buttons_of(post)) == ["✅ Đóng yêu cầu", "✋ Nhận xử lý"]
        close = buttons_of(post)["✅ Đóng yêu cầu"]
        assert close.startswith("tc:")

        answer = "Chào bạn, hồ sơ cấp sổ đỏ lần đầu nộp tại Trung tâm phục vụ hành chính công."
        reply = group_message(STAFF, answer, reply_to=post.result["message_id"])
        await app.deliver(reply)
        await app.zalo.wait_for(lambda: any(answer in m.get("text", "")
                                            for m in app.zalo.to(USER_ID)))
        await app.staff_note("✅")
        await app.deliver(reply)  # Telegram retries the same update: nothing is sent again
        await asyncio.sleep(0.5)
        relayed = [m for m in app.zalo.to(USER_ID) if answer in m.get("text", "")]
        assert len(relayed) == 1
        assert code in relayed[0]["text"] and "Cán bộ" in relayed[0]["text"]
        assert len(app.group_texts()) == 2  # the ticket, and "delivered" once

        # the citizen rates the staff answer: channel "staff" in the indicator
        await app.zalo_says(zalo_buttons(relayed)["😊 Rất hài lòng"])
        services = app.services
        assert rows(services, "SELECT channel, value FROM ratings") == [("staff", 3)]
        [(state, answered)] = rows(services, "SELECT state, answered FROM tickets")
        assert state == "answered" and answered
        # while the ticket is open, what reaches the citizen is kept; once closed, it is gone
        assert rows(services, "SELECT address FROM ticket_contacts") == [(USER_ID,)]
        await app.deliver(group_press(STAFF, close, post.result["message_id"]))
        await app.staff_note(f"{code}: đã đóng")
        assert rows(services, "SELECT state FROM tickets") == [("closed",)]
        assert rows(services, "SELECT * FROM ticket_contacts") == []
    assert app.zalo.errors == []


async def test_out_of_hours_the_citizen_is_told_when_staff_answer(
        tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo]) -> None:
    today = dt.datetime.now(LOCAL_TZ).date()
    tomorrow = today + dt.timedelta(days=1)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[tomorrow.weekday()]
    async with stack(tmp_path, fakes, office_hours=f"{day} 08:00-09:00") as app:
        opened = await app.zalo_says("tôi muốn nói chuyện với người thật")
        text = text_of(opened)
        code = find_code(text)
        assert code is not None
        assert "ngoài giờ làm việc" in text
        weekdays = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
        assert f"08:00 {weekdays[tomorrow.weekday()]}, {tomorrow:%d/%m/%Y}" in text
        post = await app.ticket_post(code)
        assert "ngoài giờ" in post.params["text"]
        [(out,)] = rows(app.services, "SELECT out_of_hours FROM tickets")
        assert out == 1


async def test_a_closed_zalo_window_is_told_to_staff_and_the_answer_waits(
        tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo]) -> None:
    async with stack(tmp_path, fakes) as app:
        opened = await app.zalo_says("cho em gặp cán bộ với")
        code = find_code(text_of(opened))
        assert code is not None
        post = await app.ticket_post(code)
        # eight days pass without a word from the citizen (Zalo allows 7)
        ref = user_ref(KEY, "zalo", USER_ID)
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).isoformat(timespec="seconds")
        store = app.services.store
        await store.call(lambda: store.db.execute("UPDATE users SET updated = ? WHERE ref = ?",
                                                  [old, ref]))
        sent_before = len(app.zalo.sent)
        answer = "Hồ sơ của bạn đã được tiếp nhận."
        await app.deliver(group_message(STAFF, answer, reply_to=post.result["message_id"]))
        [warning] = await app.staff_note("⚠️")
        assert code in warning.params["text"] and "168 giờ" in warning.params["text"]
        await asyncio.sleep(0.5)
        assert len(app.zalo.sent) == sent_before  # nothing tried past the window
        [(delivery,)] = rows(app.services, "SELECT delivery FROM ticket_messages")
        assert delivery == "window_closed"

        # the citizen writes again: the answer goes out by itself, once
        await app.zalo_says("chào, có ai trả lời chưa")
        await app.zalo.wait_for(lambda: any(answer in m.get("text", "")
                                            for m in app.zalo.to(USER_ID)))
        await app.staff_note("✅")
        await asyncio.sleep(0.5)
        assert sum(answer in m.get("text", "") for m in app.zalo.to(USER_ID)) == 1
        assert rows(app.services, "SELECT delivery FROM ticket_messages") == [("sent",)]


async def test_zalo_refusing_past_its_window_is_told_to_staff(
        tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo]) -> None:
    """Zalo's own verdict (-230) counts too: staff are told, the answer waits."""
    async with stack(tmp_path, fakes) as app:
        opened = await app.zalo_says("cho mình gặp cán bộ")
        code = find_code(text_of(opened))
        assert code is not None
        post = await app.ticket_post(code)
        app.zalo.closed_windows.add(USER_ID)
        answer = "Bạn mang theo căn cước khi đến nhận kết quả."
        await app.deliver(group_message(STAFF, f"{code}: {answer}"))  # by code, not a reply
        [warning] = await app.staff_note("⚠️")
        assert code in warning.params["text"]
        assert [e["error"] for e in app.zalo.errors] == [-230]
        assert not any(answer in m.get("text", "") for m in app.zalo.to(USER_ID))
        app.zalo.closed_windows.clear()
        await asyncio.sleep(1.1)  # the store keeps times to the second
        await app.zalo_says("alo")
        await app.zalo.wait_for(lambda: any(answer in m.get("text", "")
                                            for m in app.zalo.to(USER_ID)))
        assert post.result["message_id"]


async def test_staff_not_in_the_allow_list_cannot_answer_or_close(
        tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo]) -> None:
    async with stack(tmp_path, fakes) as app:
        opened = await app.zalo_says("cho minh gap can bo")
        code = find_code(text_of(opened))
        assert code is not None
        post = await app.ticket_post(code)
        message_id = post.result["message_id"]
        sent_before = len(app.zalo.to(USER_ID))
        await app.deliver(group_message(STRANGER, "Tôi trả lời thay nhé", reply_to=message_id))
        await app.staff_note("⛔")
        close = next(d for d in buttons_of(post).values() if d.startswith("tc:"))
        take = next(d for d in buttons_of(post).values() if d.startswith("tt:"))
        await app.deliver(group_press(STRANGER, close, message_id))
        await app.deliver(group_press(STRANGER, take, message_id))
        await app.staff_note("⛔", 3)
        await asyncio.sleep(0.5)
        assert len(app.zalo.to(USER_ID)) == sent_before
        services = app.services
        assert rows(services, "SELECT state, taken_by FROM tickets") == [("open", None)]
        assert rows(services, "SELECT count(*) FROM ticket_messages WHERE author = 'staff'") \
            == [(0,)]
        # talk among staff that answers no ticket is left alone
        await app.deliver(group_message(STRANGER, "Ai trực hôm nay?"))
        await app.deliver(group_message(STAFF, "Tôi trực."))
        # the allow-listed staff member can
        await app.deliver(group_press(STAFF, take, message_id))
        await app.staff_note(f"{code}: Cán bộ {STAFF} đã nhận xử lý")
        await app.deliver(group_message(STAFF, "/tickets"))
        [queue] = await app.staff_note("Yêu cầu chưa đóng (1)")
        assert code in queue.params["text"]
        assert len([t for t in app.group_texts() if "⛔" in t]) == 3
        assert rows(services, "SELECT state, taken_by FROM tickets") == [
            ("open", f"Cán bộ {STAFF}")]


# -- Telegram citizen ------------------------------------------------------------------------------


async def test_telegram_citizen_reaches_staff_and_gets_the_answer_once(
        tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo]) -> None:
    async with stack(tmp_path, fakes) as app:
        tg = app.tg

        def to_citizen() -> list[Call]:
            return tg.messages(CITIZEN)

        await app.deliver(private_message("xin giấy phép khai thác khoáng sản"))
        await app.deliver(private_message("cấp phép bay flycam"))
        await tg.wait_for("sendMessage", 2, where=lambda c: c.params["chat_id"] == CITIZEN)
        # two declines in a row: the "Gặp cán bộ" button
        person = buttons_of(to_citizen()[-1])["👤 Gặp cán bộ"]
        await app.deliver(private_press(person))
        [opened] = await tg.wait_for("sendMessage", where=lambda c: c.params[
            "chat_id"] == CITIZEN and "DVC-" in c.params["text"])
        code = find_code(opened.params["text"])
        assert code is not None
        post = await app.ticket_post(code)
        assert "flycam" in post.params["text"]  # the question
        assert "khoáng sản" in post.params["text"]  # and the turns before it
        assert "không trả lời được hai lần" in post.params["text"]

        answer = "Việc cấp phép bay flycam do Bộ Quốc phòng giải quyết; bạn nộp trên Cổng DVC."
        reply = group_message(STAFF, answer, reply_to=post.result["message_id"])
        await app.deliver(reply)
        [relayed] = await tg.wait_for("sendMessage", where=lambda c: c.params[
            "chat_id"] == CITIZEN and "flycam do Bộ" in c.params["text"])
        await app.staff_note("✅")
        await app.deliver(reply)  # a retry of the same update
        await asyncio.sleep(0.5)
        assert len([c for c in to_citizen() if "flycam do Bộ" in c.params["text"]]) == 1
        assert code in relayed.params["text"]
        assert any(d.startswith("r:") for d in buttons_of(relayed).values())
        # a second request while this one is open adds to it (no second ticket)
        await app.deliver(private_message("cho tôi gặp cán bộ, tôi muốn hỏi thêm"))
        [note] = await app.staff_note("💬")
        assert code in note.params["text"] and "hỏi thêm" in note.params["text"]
        assert rows(app.services, "SELECT count(*) FROM tickets") == [(1,)]
        assert rows(app.services, "SELECT address FROM ticket_contacts") == [(str(CITIZEN),)]


# -- web chat --------------------------------------------------------------------------------------


async def test_web_chat_citizen_gets_the_staff_answer_once(
        tmp_path: Path, fakes: tuple[FakeTelegram, FakeZalo]) -> None:
    async with stack(tmp_path, fakes) as app:
        browser = Browserish(app.base)
        try:
            await browser.open_chat()
            data = await browser.say("tôi muốn nói chuyện với người thật")
            assert data["poll"] is True
            text = data["replies"][0]["text"]
            code = find_code(text)
            assert code is not None and "Mã yêu cầu" in text and "khung chat này" in text
            post = await app.ticket_post(code)
            assert "Web chat" in post.params["text"]

            answer = "Bạn nộp trực tuyến trên Cổng dịch vụ công quốc gia."
            await app.deliver(group_message(STAFF, answer, reply_to=post.result["message_id"]))
            await app.staff_note("✅")
            first = await (await browser.http.get(f"{app.base}/chat/api/updates?after=0")).json()
            assert len(first["replies"]) == 1
            relayed = first["replies"][0]
            assert answer in relayed["text"] and code in relayed["text"]
            assert "Cán bộ trả lời" in relayed["text"]
            again = await (await browser.http.get(
                f"{app.base}/chat/api/updates?after={first['next']}")).json()
            assert again["replies"] == [] and again["poll"] is True
            # rating it from the page
            rate = next(b["action"] for b in relayed["buttons"][0] if "Rất" in b["label"])
            thanks = await browser.press(rate)
            assert thanks["replies"][0]["kind"] == "thanks"
            assert rows(app.services, "SELECT channel FROM ratings") == [("staff",)]
            # someone else's session sees nothing of it
            other = Browserish(app.base)
            try:
                await other.open_chat()
                theirs = await (await other.http.get(
                    f"{app.base}/chat/api/updates?after=0")).json()
                assert theirs == {"replies": [], "next": 0, "poll": False}
            finally:
                await other.close()
        finally:
            await browser.close()
