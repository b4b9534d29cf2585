"""The Telegram channel end to end: real aiogram, real HTTP, a fake Bot API server on 127.0.0.1.

Conversations are driven through long polling and through the webhook on the one aiohttp app
(``bot.channels.http.make_app``); the fake server checks what Telegram checks (HTML markup, 4,096
characters, 64-byte callback_data) and can answer 429, fail, or reject optional methods.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_dialog, build_services, make_app, run_polling
from bot.channels.telegram.channel import TelegramChannel, reply_jobs, webhook_plugin
from bot.channels.telegram.render import LIMIT, render
from bot.channels.telegram.send import RetryPolicy
from bot.config import Settings, load_settings
from bot.conversation.actions import ShowEntry
from bot.conversation.dialog import Dialog, Services, Turn
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Button, Reply
from handlers import admin
from tests.fake_telegram import TOKEN, Call, FakeTelegram, check_html

DATA = Path(__file__).resolve().parent / "data" / "telegram"
ADMIN = 7001
CITIZEN = 5120348871
FAST = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2)
UPDATE_IDS = itertools.count(800_000_001)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def recorded(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")))


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def telegram_settings(base: Settings, fake: FakeTelegram, **more: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": base.data_dir, "knowledge_dir": base.knowledge_dir,
        "pseudonym_key": "test-key-123456", "telegram_bot_token": TOKEN,
        "telegram_api_url": fake.url, "telegram_admin_ids": str(ADMIN)}
    return load_settings(environ={}, dotenv=None, **{**values, **more})


@pytest.fixture
def tg_settings(settings: Settings, fake: FakeTelegram) -> Settings:
    return telegram_settings(settings, fake)


@pytest.fixture
def tg_services(tg_settings: Settings) -> Iterator[Services]:
    built = build_services(tg_settings)
    yield built
    built.store.close()


def make_channel(services: Services, **options: Any) -> TelegramChannel:
    options.setdefault("policy", FAST)
    return TelegramChannel(services.settings, services, build_dialog(services), **options)


@asynccontextmanager
async def polling(channel: TelegramChannel) -> AsyncIterator[TelegramChannel]:
    stop = asyncio.Event()
    async with Runtime(channel.services, [channel], jobs=[]).running():
        task = asyncio.create_task(channel.run_polling(stop))
        try:
            yield channel
        finally:
            stop.set()
            await task


class Citizen:
    """One Telegram user; updates go in by ``deliver`` (polling: push; webhook: POST)."""

    def __init__(self, fake: FakeTelegram, deliver: Callable[[dict[str, Any]], Awaitable[Any]],
                 user_id: int = CITIZEN, language: str = "vi") -> None:
        self.fake = fake
        self.deliver = deliver
        self.user_id = user_id
        self.language = language
        self.seen = 0
        self.last: list[Call] = []
        self.sequence = 0

    def _who(self, update: dict[str, Any], key: str) -> dict[str, Any]:
        update = copy.deepcopy(update)
        update["update_id"] = next(UPDATE_IDS)
        event = update[key]
        event["from"].update(id=self.user_id, language_code=self.language)
        chat = event["message"]["chat"] if key == "callback_query" else event["chat"]
        chat["id"] = self.user_id
        return update

    async def say(self, text: str, replies: int = 1) -> list[Call]:
        update = self._who(recorded("message_text"), "message")
        self.sequence += 1
        update["message"].update(text=text, message_id=2000 + self.sequence)
        if text.startswith("/"):
            update["message"]["entities"] = [
                {"offset": 0, "length": len(text.split(maxsplit=1)[0]), "type": "bot_command"}]
        await self.deliver(update)
        return await self.replies(replies)

    async def press(self, data: str, replies: int = 1) -> list[Call]:
        update = self._who(recorded("callback_query"), "callback_query")
        self.sequence += 1
        update["callback_query"].update(data=data, id=f"cb-{self.user_id}-{self.sequence}")
        await self.deliver(update)
        answered = f"cb-{self.user_id}-{self.sequence}"
        await self.fake.wait_for("answerCallbackQuery",
                                 where=lambda c: c.params["callback_query_id"] == answered)
        return await self.replies(replies)

    async def replies(self, count: int = 1) -> list[Call]:
        if count == 0:
            self.last = []
            return []
        calls = await self.fake.wait_for("sendMessage", self.seen + count, where=self._mine)
        self.last = calls[self.seen: self.seen + count]
        self.seen += count
        return self.last

    def _mine(self, call: Call) -> bool:
        return bool(call.params.get("chat_id") == self.user_id)

    def button(self, label_part: str) -> str:
        for call in self.last:
            for label, data in buttons(call).items():
                if label_part.lower() in label.lower():
                    return data
        raise AssertionError(f"no button {label_part!r} in {[buttons(c) for c in self.last]}")


def buttons(call: Call) -> dict[str, str]:
    markup = call.params.get("reply_markup") or {}
    return {b["text"]: b.get("callback_data") or b.get("url", "")
            for row in markup.get("inline_keyboard", []) for b in row}


def pusher(fake: FakeTelegram) -> Callable[[dict[str, Any]], Awaitable[int]]:
    async def push(update: dict[str, Any]) -> int:
        return fake.push(update)

    return push


# -- polling: whole conversations ------------------------------------------------------------


async def test_polling_question_section_button_and_rating(
        fake: FakeTelegram, tg_services: Services) -> None:
    async with polling(make_channel(tg_services)):
        lan = Citizen(fake, pusher(fake))
        [answer] = await lan.say("lam giay khai sinh cho con")
        assert answer.params["parse_mode"] == "HTML"
        assert answer.params["text"].startswith("<b>Đăng ký khai sinh</b>")
        data = buttons(answer)
        assert "p:khai-sinh:fee" in data.values()
        assert all(len(d.encode()) <= 64 for d in data.values())

        [fee] = await lan.press(lan.button("Lệ phí"))
        assert "Lệ phí" in fee.params["text"]
        [rating] = await lan.press(next(d for d in data.values() if d.startswith("r:")))
        assert rating.params["text"]  # the thank-you, after the rating was stored

    rows = list(tg_services.store.db["ratings"].rows)
    assert len(rows) == 1 and rows[0]["channel"] == "telegram"
    assert rows[0]["user_ref"] == user_ref("test-key-123456", "telegram", CITIZEN)
    assert str(CITIZEN) not in json.dumps(rows)
    answered = [c.params["callback_query_id"] for c in fake.called("answerCallbackQuery")]
    assert answered == ["cb-5120348871-2", "cb-5120348871-3"]  # every press stops the spinner


async def test_polling_clarification_then_choice(
        fake: FakeTelegram, tg_services: Services) -> None:
    async with polling(make_channel(tg_services)):
        lan = Citizen(fake, pusher(fake))
        [question] = await lan.say("giấy phép lái xe")
        choices = [d for d in buttons(question).values() if d.startswith("p:")]
        assert len(choices) >= 2
        [answer] = await lan.press(choices[0])
        assert answer.params["text"].startswith("<b>")
        assert any(d.startswith("r:") for d in buttons(answer).values())


async def test_polling_decline_has_the_hotline_and_no_buttons(
        fake: FakeTelegram, tg_services: Services) -> None:
    async with polling(make_channel(tg_services)):
        lan = Citizen(fake, pusher(fake))
        [decline] = await lan.say("xin giấy phép khai thác khoáng sản ở đâu")
    hotline = tg_services.knowledge.kb.contacts.national_hotline
    assert hotline in check_html(decline.params["text"])
    assert not buttons(decline)
    questions = list(tg_services.store.db["questions"].rows)
    assert questions[0]["decision"] == "decline" and questions[0]["channel"] == "telegram"


async def test_knowledge_text_with_markup_characters_is_escaped(
        settings: Settings, fake: FakeTelegram, kb_copy: Path) -> None:
    entry = kb_copy / "procedures" / "khai-sinh.yaml"
    text = entry.read_text(encoding="utf-8")
    entry.write_text(text.replace("  Cha, mẹ đăng ký", "  Cha & mẹ <b>đăng ký</b>", 1),
                     encoding="utf-8")
    services = build_services(telegram_settings(settings, fake, knowledge_dir=kb_copy))
    try:
        async with polling(make_channel(services)):
            [answer] = await Citizen(fake, pusher(fake)).say("làm giấy khai sinh")
    finally:
        services.store.close()
    assert "Cha &amp; mẹ &lt;b&gt;đăng ký&lt;/b&gt;" in answer.params["text"]
    assert "Cha & mẹ <b>đăng ký</b>" in check_html(answer.params["text"])  # shown as written


async def test_language_from_telegram_then_lang_switch(
        fake: FakeTelegram, tg_services: Services) -> None:
    async with polling(make_channel(tg_services)):
        john = Citizen(fake, pusher(fake), user_id=6000001, language="en")
        [hello] = await john.say("/help")
        assert "Hello" in hello.params["text"]
        await john.say("/lang")
        assert set(buttons(john.last[0]).values()) == {"l:vi", "l:en"}
        await john.press("l:vi")
        [answer] = await john.say("đăng ký kết hôn")
        assert answer.params["text"].startswith("<b>Đăng ký kết hôn</b>")


async def test_menu_by_life_event_and_offices(
        fake: FakeTelegram, tg_services: Services) -> None:
    async with polling(make_channel(tg_services)):
        lan = Citizen(fake, pusher(fake))
        await lan.say("/menu")
        [events] = await lan.press(lan.button("Sự kiện"))
        [procedures] = await lan.press(next(iter(buttons(events).values())))
        [offices] = await lan.say("/office")
    assert procedures.params["text"] and all(d.startswith("p:") for d in
                                             buttons(procedures).values())
    assert buttons(offices) and all(d.startswith("o:") for d in buttons(offices).values())


async def test_attachment_gets_a_hint_and_service_messages_are_ignored(
        fake: FakeTelegram, tg_services: Services) -> None:
    async with polling(make_channel(tg_services)):
        fake.push(recorded("message_group_join"))
        fake.push(recorded("message_photo"))
        lan = Citizen(fake, pusher(fake))
        [hint] = await lan.replies(1)
        [after] = await lan.say("/help")
    assert "gõ câu hỏi" in hint.params["text"]
    assert {c.params["chat_id"] for c in fake.messages()} == {CITIZEN}  # nothing to the group
    assert after.params["text"]


# -- flood control, network errors, failures -----------------------------------------------


async def test_429_is_honoured_order_kept_and_other_chats_not_held_up(
        fake: FakeTelegram, tg_services: Services) -> None:
    lan = Citizen(fake, pusher(fake))
    minh = Citizen(fake, pusher(fake), user_id=6000002)
    fake.fail("sendMessage", status=429, retry_after=2, chat_id=CITIZEN)
    async with polling(make_channel(tg_services)):
        await lan.deliver(lan._who(recorded("message_command"), "message"))  # /start
        await lan.say("đăng ký kết hôn", replies=0)
        await minh.say("đăng ký kết hôn")
        first, second = await lan.replies(2)
    refused = fake.called("sendMessage", status=429)
    assert len(refused) == 1 and refused[0].params["chat_id"] == CITIZEN
    assert "Trợ lý" in first.params["text"] and "kết hôn" in second.params["text"]  # in order
    assert first.params["text"] == refused[0].params["text"]  # the same call, not dropped
    assert first.at - refused[0].at >= 2  # retried after retry_after, not before
    minh_reply = fake.messages(6000002)[0]
    assert minh_reply.at < first.at  # the other chat went on meanwhile


async def test_network_errors_are_retried_with_backoff(
        fake: FakeTelegram, tg_services: Services) -> None:
    fake.fail("getUpdates", status=502, description="Bad Gateway")
    fake.fail("sendMessage", drop=True, times=2)
    fake.fail("sendMessage", status=502, description="Bad Gateway")
    async with polling(make_channel(tg_services)):
        lan = Citizen(fake, pusher(fake))
        [answer] = await lan.say("đăng ký kết hôn")
    assert "kết hôn" in answer.params["text"]
    attempts = fake.called("sendMessage", status=None)
    assert [c.status for c in attempts] == [0, 0, 502, 200]
    assert fake.called("getUpdates", status=None)[0].status == 502


async def test_reply_that_finally_fails_is_logged_without_text_or_token(
        fake: FakeTelegram, tg_services: Services, caplog: pytest.LogCaptureFixture) -> None:
    fake.fail("sendMessage", status=500, description="Internal Server Error", times=4)
    caplog.set_level(logging.INFO)
    channel = make_channel(tg_services)
    async with polling(channel):
        lan = Citizen(fake, pusher(fake))
        fake.push(lan._who(recorded("message_text"), "message"))
        while channel.sender.failed == 0:
            await asyncio.sleep(0.05)
        [later] = await lan.say("đăng ký kết hôn")  # the next reply gets through
    failures = [r.getMessage() for r in caplog.records if "failed after" in r.getMessage()]
    assert len(failures) == 1
    assert user_ref("test-key-123456", "telegram", CITIZEN) in failures[0]
    assert "text id" in failures[0]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in everything and TOKEN.split(":")[1] not in everything
    assert "khai sinh" not in everything and str(CITIZEN) not in everything
    assert "kết hôn" in later.params["text"]


async def test_server_answering_at_once_and_rejecting_optional_methods(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with FakeTelegram(long_poll=False) as fake:
        fake.reject("setMyCommands")
        fake.reject("sendChatAction", 501, "Not Implemented")
        services = build_services(telegram_settings(settings, fake))
        try:
            async with polling(make_channel(services, typing_after=0)):
                lan = Citizen(fake, pusher(fake))
                [answer] = await lan.say("đăng ký kết hôn")
                [fee] = await lan.press(lan.button("Lệ phí"))
        finally:
            services.store.close()
    assert "kết hôn" in answer.params["text"] and "Lệ phí" in fee.params["text"]
    assert len(fake.called("setMyCommands", status=404)) == 1  # tried once, then left alone
    assert len(fake.called("sendChatAction", status=501)) == 1
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "setMyCommands" in warnings and "sendChatAction" in warnings
    assert len(fake.called("getUpdates")) < 100  # no busy loop against an at-once server


async def test_bad_token_stops_polling_with_a_clear_message(
        settings: Settings, fake: FakeTelegram) -> None:
    broken = telegram_settings(settings, fake, telegram_bot_token="42:WrongTokenWrongToken")
    with pytest.raises(SystemExit, match="refused TELEGRAM_BOT_TOKEN"):
        await run_polling(broken)


# -- commands, officials -------------------------------------------------------------------


async def test_command_menus_in_vietnamese_and_english_with_admin_scope(
        fake: FakeTelegram, tg_services: Services) -> None:
    async with polling(make_channel(tg_services)):
        await fake.wait_for("setMyCommands", 6)
    menus = {(json.dumps(c.params.get("scope")), c.params.get("language_code")):
             [cmd["command"] for cmd in c.params["commands"]]
             for c in fake.called("setMyCommands")}
    public = ["start", "help", "lang", "menu", "office", "feedback"]
    default = json.dumps({"type": "default"})
    admin = json.dumps({"type": "chat", "chat_id": ADMIN})
    assert menus[(default, "vi")] == menus[(default, "en")] == menus[(default, None)] == public
    assert menus[(admin, "en")] == [*public, "report", "gaps", "reload"]
    descriptions = {c.params.get("language_code"): c.params["commands"][0]["description"]
                    for c in fake.called("setMyCommands")}
    assert descriptions["vi"] == "Bắt đầu" and descriptions["en"] == "Start"


async def test_officials_reach_admin_commands_and_citizens_do_not(
        fake: FakeTelegram, tg_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    async def report(turn: Turn) -> list[Reply]:
        return [Reply("Chỉ số hài lòng: 92% (n=25)", title="Báo cáo", kind="admin",
                      image=PNG, image_name="trend.png")]

    monkeypatch.setattr(admin, "report_command", report)
    async with polling(make_channel(tg_services)):
        official = Citizen(fake, pusher(fake), user_id=ADMIN)
        [reloaded] = await official.say("/reload")
        [summary] = await official.say("/report")
        lan = Citizen(fake, pusher(fake))
        [refused] = await lan.say("/reload")
    kb = tg_services.knowledge.kb
    assert str(len(kb.entries)) in reloaded.params["text"]
    assert "92%" in summary.params["text"]
    [photo] = fake.called("sendPhoto")
    assert photo.params["chat_id"] == ADMIN and photo.files["photo"] == PNG
    assert photo.at < summary.at  # the chart, then the text
    assert "quản trị" in refused.params["text"]


async def test_failed_knowledge_reload_is_sent_to_officials(
        settings: Settings, fake: FakeTelegram, kb_copy: Path) -> None:
    services = build_services(telegram_settings(settings, fake, knowledge_dir=kb_copy,
                                                kb_reload_seconds=0.2))
    try:
        async with polling(make_channel(services)):
            await fake.wait_for_arrival("getUpdates")
            broken = next(kb_copy.rglob("procedures/*.yaml"))
            broken.write_text("id: [unclosed\n", encoding="utf-8")  # the watcher notices
            [alert] = await fake.wait_for("sendMessage", where=lambda c: "bot vẫn dùng bản cũ" in
                                          c.params["text"])
    finally:
        services.store.close()
    assert services.knowledge.kb.get(broken.stem) is not None  # the last good version serves
    assert alert.params["chat_id"] == ADMIN and broken.name in alert.params["text"]


async def test_long_text_is_split_at_paragraphs_with_buttons_on_the_last(
        fake: FakeTelegram, tg_services: Services) -> None:
    paragraphs = [f"Đoạn {i}: " + "thủ tục <hành chính> & hồ sơ " * 40 for i in range(12)]
    reply = Reply("\n\n".join(paragraphs), title="Hướng dẫn",
                  buttons=((Button("Cổng DVC", url="https://dichvucong.gov.vn"),
                            Button("Lệ phí", ShowEntry("khai-sinh", "fee"))),))
    parts = render(reply)
    assert len(parts) > 1 and all(len(p.html.encode("utf-16-le")) // 2 <= LIMIT for p in parts)
    assert [bool(p.buttons) for p in parts] == [False] * (len(parts) - 1) + [True]
    channel = make_channel(tg_services)
    async with polling(channel):
        channel.sender.send(CITIZEN, reply_jobs(CITIZEN, reply))
        sent = await fake.wait_for("sendMessage", len(parts))
    visible = [check_html(c.params["text"]) for c in sent]
    assert visible[0].startswith("Hướng dẫn\n\nĐoạn 0:")
    assert all(v.rstrip().endswith("hồ sơ") for v in visible)  # cut between paragraphs
    assert "\n\n".join(visible).replace("Hướng dẫn\n\n", "", 1) == reply.text.strip()
    assert buttons(sent[-1]) == {"Cổng DVC": "https://dichvucong.gov.vn",
                                 "Lệ phí": "p:khai-sinh:fee"}


# -- webhook on the one aiohttp app ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def webhook_app(base: Settings, fake: FakeTelegram) -> AsyncIterator[TestServer]:
    port = free_port()
    settings = telegram_settings(base, fake, public_url=f"http://127.0.0.1:{port}",
                                 telegram_webhook_secret="s3cret-Token_1")
    app = make_app(settings, plugins=[webhook_plugin], jobs=[])
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        await fake.wait_for("setWebhook")
        yield server
    finally:
        await server.close()


def dialog_of(server: TestServer) -> Dialog:
    from bot.channels.http import DIALOG

    return server.app[DIALOG]


async def test_webhook_registered_with_secret_and_a_conversation(
        settings: Settings, fake: FakeTelegram) -> None:
    async def post(update: dict[str, Any]) -> None:
        assert await fake.deliver(update) == 200

    async with webhook_app(settings, fake) as server:
        assert fake.webhook == (f"http://127.0.0.1:{server.port}/telegram/webhook",
                                "s3cret-Token_1")
        lan = Citizen(fake, post)
        [answer] = await lan.say("đăng ký kết hôn")
        [fee] = await lan.press(lan.button("Lệ phí"))
        [thanks] = await lan.press(next(d for d in buttons(answer).values() if d.startswith("r:")))
        [clarify] = await lan.say("giấy phép lái xe")
        [decline] = await lan.say("xin giấy phép khai thác khoáng sản")
        store = dialog_of(server).services.store
        ratings = list(store.db["ratings"].rows)
    assert answer.params["text"].startswith("<b>Đăng ký kết hôn</b>")
    assert "Lệ phí" in fee.params["text"] and thanks.params["text"]
    assert len(buttons(clarify)) >= 2 and not buttons(decline)
    assert len(ratings) == 1 and ratings[0]["channel"] == "telegram"
    assert sent_once(fake)


def sent_once(fake: FakeTelegram) -> bool:
    """Nothing was sent twice."""
    texts = [(c.params["chat_id"], c.params["text"]) for c in fake.messages()]
    return len(texts) == len(set(texts))


async def test_forged_webhook_is_refused_and_not_processed(
        settings: Settings, fake: FakeTelegram) -> None:
    async with webhook_app(settings, fake) as server, TestClient(server) as client:
        update = recorded("message_text")
        missing = await client.post("/telegram/webhook", json=update)
        wrong = await client.post("/telegram/webhook", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
        assert await fake.deliver(update, secret="s3cret-Token_") == 401
        store = dialog_of(server).services.store
        processed = list(store.db["processed"].rows)
        users = list(store.db["users"].rows)
        garbage = await client.post("/telegram/webhook", data=b"{not json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"})
    assert missing.status == wrong.status == 401 and garbage.status == 400
    assert processed == [] and users == []
    assert fake.messages() == []


async def test_webhook_retry_of_the_same_update_is_handled_once(
        settings: Settings, fake: FakeTelegram) -> None:
    async with webhook_app(settings, fake):
        update = recorded("message_text")
        statuses = [await fake.deliver(update) for _ in range(3)]
        await fake.wait_for("sendMessage")
        lan = Citizen(fake, fake.deliver)
        lan.seen = 1
        await lan.say("/help")  # a later update still gets its answer
    assert statuses == [200, 200, 200]
    answers = [c for c in fake.messages() if c.params["text"].startswith("<b>Đăng ký khai sinh")]
    assert len(answers) == 1


async def test_webhook_429_then_success(settings: Settings, fake: FakeTelegram) -> None:
    fake.fail("sendMessage", status=429, retry_after=1)

    async def post(update: dict[str, Any]) -> None:
        assert await fake.deliver(update) == 200

    async with webhook_app(settings, fake):
        [answer] = await Citizen(fake, post).say("đăng ký kết hôn")
    [refused] = fake.called("sendMessage", status=429)
    assert refused.params["text"] == answer.params["text"]


# -- shutdown --------------------------------------------------------------------------------


async def test_stop_finishes_the_update_in_flight(
        fake: FakeTelegram, tg_services: Services) -> None:
    fake.delay("sendMessage", 0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(make_channel(tg_services).run_polling(stop))
    update_id = fake.push(recorded("message_text"))
    await fake.wait_for_arrival("sendMessage")
    stop.set()  # while the reply is on its way
    await task
    [answer] = fake.messages(CITIZEN)
    assert "khai sinh" in answer.params["text"].lower()
    assert fake.called("getUpdates")[-1].params["offset"] == update_id + 1  # confirmed


async def test_sigterm_ends_dvcbot_run_cleanly_after_answering(
        fake: FakeTelegram, tmp_path: Path) -> None:
    fake.delay("sendMessage", 0.8)
    env = {"PATH": os.environ.get("PATH", ""), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_URL": fake.url, "DATA_DIR": str(tmp_path / "data"),
           "PSEUDONYM_KEY": "test-key-123456", "LOG_LEVEL": "INFO"}
    dvcbot = Path(sys.executable).parent / "dvcbot"
    proc = await asyncio.create_subprocess_exec(str(dvcbot), "run", env=env, cwd=tmp_path,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        await fake.wait_for_arrival("getUpdates", timeout=30)
        fake.push(recorded("message_text"))
        await fake.wait_for_arrival("sendMessage", timeout=30)
        proc.send_signal(signal.SIGTERM)  # while the reply is on its way
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = err.decode()
    assert proc.returncode == 0, log
    [answer] = fake.messages()
    assert "khai sinh" in answer.params["text"].lower()
    assert TOKEN.split(":")[1] not in log and "khai sinh" not in log


async def test_sigterm_ends_dvcbot_serve_after_sending_what_is_queued(
        fake: FakeTelegram, tmp_path: Path) -> None:
    fake.delay("sendMessage", 0.8)
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_URL": fake.url, "DATA_DIR": str(tmp_path / "data"),
           "PSEUDONYM_KEY": "test-key-123456", "HOST": "127.0.0.1", "PORT": str(port),
           "PUBLIC_URL": f"http://127.0.0.1:{port}", "TELEGRAM_WEBHOOK_SECRET": "s3cret-Token_2"}
    dvcbot = Path(sys.executable).parent / "dvcbot"
    proc = await asyncio.create_subprocess_exec(str(dvcbot), "serve", env=env, cwd=tmp_path,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        await fake.wait_for("setWebhook", timeout=30)
        assert await fake.deliver(recorded("message_text")) == 200  # handled, reply queued
        await fake.wait_for_arrival("sendMessage")
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    [answer] = fake.messages()
    assert "khai sinh" in answer.params["text"].lower()
    assert fake.webhook is not None  # left registered: Telegram keeps updates for the restart
