"""The Zalo OA channel end to end: signed webhooks into the real app, replies to a fake Zalo.

Both sides are real HTTP on 127.0.0.1: the bot is the whole aiohttp application (``make_app``)
with the Zalo channel on, and ``tests/fake_zalo.py`` plays Zalo's API, OAuth and webhook sender.
"""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import configured_channels, make_app
from bot.channels.zalo.channel import ZaloChannel, zalo_plugin
from bot.channels.zalo.render import (
    MAX_BUTTONS,
    TEXT_LIMIT,
    choice_number,
    pack,
    plan,
    split_text,
    units,
)
from bot.channels.zalo.tokens import TOKEN_FILE, TokenFile, TokenKeeper, TokenPair, seed_of
from bot.config import Settings, load_settings
from bot.conversation.actions import Rate, ShowEntry
from bot.conversation.dialog import Dialog, Services
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Button, Reply, rows
from tests.fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_ID,
    OA_SECRET_KEY,
    USER_ID,
    FakeZalo,
    event,
    sign,
    signed_request,
)

ADMIN_ID = "8675309000111222333"
KEY = "test-key-123456"
Messages = list[dict[str, Any]]


def make_settings(tmp_path: Path, fake: FakeZalo, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "pseudonym_key": KEY, "zalo_app_id": APP_ID,
        "zalo_app_secret": APP_SECRET, "zalo_oa_id": OA_ID, "zalo_oa_secret_key": OA_SECRET_KEY,
        "zalo_access_token": "at-0", "zalo_refresh_token": "rt-0", "zalo_api_url": fake.url,
        "zalo_oauth_url": fake.url, "zalo_admin_ids": ADMIN_ID,
    }
    values.update(extra)
    return load_settings(environ={}, dotenv=None, **values)


def buttons(messages: Messages) -> list[dict[str, Any]]:
    return [b for m in messages for b in m.get("attachment", {}).get("payload", {}).get(
        "buttons", [])]


def text_of(messages: Messages) -> str:
    return "\n".join(m.get("text", "") for m in messages)


class Bot:
    """The whole application with the Zalo channel, served on 127.0.0.1."""

    def __init__(self, settings: Settings, fake: FakeZalo) -> None:
        self.settings = settings
        self.fake = fake
        self.channel: ZaloChannel | None = None
        self.server = TestServer(make_app(settings, plugins=[self._factory]), host="127.0.0.1")
        self.http: aiohttp.ClientSession | None = None

    def _factory(self, settings: Settings, services: Services, dialog: Dialog) -> ZaloChannel:
        self.channel = zalo_plugin(settings, services, dialog)
        self.channel.api.retry_delay = 0.0
        return self.channel

    @property
    def zalo(self) -> ZaloChannel:
        assert self.channel is not None
        return self.channel

    async def start(self) -> None:
        await self.server.start_server()
        self.http = aiohttp.ClientSession()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        await self.server.close()

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        assert self.http is not None
        async with self.http.post(self.server.make_url("/zalo/webhook"), data=body,
                                  headers=headers) as resp:
            return resp.status

    async def send(self, payload: dict[str, Any], user: str = USER_ID) -> Messages:
        """Post a signed event, wait until the bot has answered it, return what the user got."""
        before = len(self.fake.to(user))
        body, headers = signed_request(payload)
        assert await self.post(body, headers) == 200
        await self.zalo.drain()
        return self.fake.to(user)[before:]

    async def say(self, text: str, user: str = USER_ID) -> Messages:
        return await self.send(event("user_send_text", user, text=text), user)

    async def press(self, messages: Messages, label: str, user: str = USER_ID) -> Messages:
        """Tap a template button: Zalo sends its payload back as the user's (hidden) text."""
        for button in buttons(messages):
            if label.lower() in button["title"].lower():
                return await self.say(button["payload"], user)
        raise AssertionError(f"no button {label!r} in {messages}")

    @property
    def store_rows(self) -> dict[str, list[dict[str, Any]]]:
        db = self.zalo.services.store.db
        return {name: list(db[name].rows) for name in db.table_names()}


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    zalo = FakeZalo()
    await zalo.start()
    yield zalo
    await zalo.close()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeZalo) -> AsyncIterator[Bot]:
    running = Bot(make_settings(tmp_path, fake), fake)
    await running.start()
    # The pair from the environment has an unknown age: the bot refreshes it at start-up.
    await fake.wait_for(lambda: fake.refreshes >= 1)
    yield running
    await running.close()


# --- whole conversations -------------------------------------------------------------------


async def test_follow_question_button_section_rating(bot: Bot, fake: FakeZalo) -> None:
    welcome = await bot.send(event("follow"))
    assert "Trợ lý dịch vụ công" in text_of(welcome)

    answer = await bot.say("lam giay khai sinh cho con")
    assert answer[0]["text"].startswith("Đăng ký khai sinh")
    payloads = [b["payload"] for b in buttons(answer)]
    assert "#dvc:p:khai-sinh:fee" in payloads
    assert all(b["type"] == "oa.query.hide" for b in buttons(answer))

    section = await bot.press(answer, "Lệ phí")
    assert "▸ Lệ phí" in section[0]["text"]

    thanks = await bot.press(answer, "Rất hài lòng")
    assert text_of(thanks) == "Cảm ơn bạn đã đánh giá!"
    [rating] = bot.store_rows["ratings"]
    assert rating["channel"] == "zalo" and rating["value"] == 3
    assert rating["user_ref"] == user_ref(KEY, "zalo", USER_ID)
    assert fake.errors == []  # every message was within Zalo's shape and limits


async def test_raw_zalo_id_is_never_stored(bot: Bot) -> None:
    await bot.send(event("follow"))
    await bot.say("đăng ký kết hôn")
    await bot.say("giá xăng hôm nay")
    dump = json.dumps(bot.store_rows, default=str)
    assert USER_ID not in dump
    assert user_ref(KEY, "zalo", USER_ID) in dump


@pytest.mark.parametrize("name", ["user_send_sticker", "user_send_image", "user_send_file"])
async def test_sticker_image_file_get_please_type(bot: Bot, name: str) -> None:
    [reply] = await bot.send(event(name))
    assert "gõ câu hỏi" in reply["text"]


async def test_delivery_receipts_are_ignored(bot: Bot, fake: FakeZalo) -> None:
    assert await bot.send(event("user_received_message")) == []
    assert fake.sent == []


async def test_event_for_another_oa_is_ignored(bot: Bot, fake: FakeZalo) -> None:
    payload = event("user_send_text", text="khai sinh")
    payload["recipient"]["id"] = "111"
    assert await bot.send(payload) == []


async def test_admin_is_recognised_by_zalo_id(bot: Bot) -> None:
    [citizen] = await bot.say("/reload")
    assert "quản trị" in citizen["text"]
    [official] = await bot.say("/reload", user=ADMIN_ID)
    assert "quản trị" not in official["text"]


async def test_long_answer_is_split_to_zalo_limit(bot: Bot, fake: FakeZalo) -> None:
    long_text = "\n\n".join(f"Đoạn {i}: " + "thủ tục hành chính " * 30 for i in range(12))
    await bot.zalo.deliver(USER_ID, "zl-x", [Reply(long_text, title="Dài")])
    sent = fake.to(USER_ID)
    assert len(sent) >= 3 and all(units(m["text"]) <= TEXT_LIMIT for m in sent)
    assert " ".join(" ".join(m["text"].split()) for m in sent) == " ".join(
        f"Dài\n\n{long_text}".split())


# --- the webhook: signatures, replays, answering at once ---------------------------------


async def test_unsigned_event_is_refused_and_not_processed(bot: Bot, fake: FakeZalo) -> None:
    body, headers = signed_request(event("user_send_text", text="khai sinh"))
    del headers["X-ZEvent-Signature"]
    assert await bot.post(body, headers) == 401
    await bot.zalo.drain()
    assert fake.sent == [] and bot.store_rows["questions"] == []


@pytest.mark.parametrize("forge", ["wrong-secret", "wrong-app", "tampered-body", "garbage"])
async def test_forged_event_is_refused_and_not_processed(bot: Bot, fake: FakeZalo,
                                                         forge: str) -> None:
    payload = event("user_send_text", text="khai sinh")
    body, headers = signed_request(payload)
    if forge == "wrong-secret":
        headers["X-ZEvent-Signature"] = sign(body, payload["timestamp"], secret="guess")
    elif forge == "wrong-app":
        headers["X-ZEvent-Signature"] = sign(body, payload["timestamp"], app_id="42")
    elif forge == "tampered-body":
        body = body.replace(b"khai sinh", b"ket hon")
    else:
        headers["X-ZEvent-Signature"] = "mac=" + "0" * 64
    assert await bot.post(body, headers) == 401
    await bot.zalo.drain()
    assert fake.sent == [] and bot.store_rows["questions"] == []


async def test_signature_without_mac_prefix_is_accepted(bot: Bot, fake: FakeZalo) -> None:
    payload = event("user_send_text", text="đăng ký kết hôn")
    body, headers = signed_request(payload, prefix=False)
    assert not headers["X-ZEvent-Signature"].startswith("mac=")
    assert await bot.post(body, headers) == 200
    await bot.zalo.drain()
    assert fake.to(USER_ID)[0]["text"].startswith("Đăng ký kết hôn")


async def test_retried_follow_is_welcomed_once(bot: Bot, fake: FakeZalo) -> None:
    body, headers = signed_request(event("follow"))
    assert await bot.post(body, headers) == 200
    assert await bot.post(body, headers) == 200
    await bot.zalo.drain()
    assert len(fake.to(USER_ID)) == 1


async def test_retried_event_is_answered_once(bot: Bot, fake: FakeZalo) -> None:
    body, headers = signed_request(event("user_send_text", text="đăng ký kết hôn"))
    assert await bot.post(body, headers) == 200
    await bot.zalo.drain()
    first = len(fake.to(USER_ID))
    assert first >= 1
    assert await bot.post(body, headers) == 200  # Zalo's retry: same msg_id, same signature
    await bot.zalo.drain()
    assert len(fake.to(USER_ID)) == first
    assert len(bot.store_rows["questions"]) == 1


async def test_webhook_answers_before_the_reply_is_sent(bot: Bot, fake: FakeZalo) -> None:
    fake.gate = asyncio.Event()  # Zalo's API is slow: sends hang until the gate opens
    body, headers = signed_request(event("user_send_text", text="đăng ký kết hôn"))
    assert await bot.post(body, headers) == 200
    assert fake.sent == []
    fake.gate.set()
    await bot.zalo.drain()
    assert fake.to(USER_ID)[0]["text"].startswith("Đăng ký kết hôn")


async def test_a_failed_send_is_retried_once(bot: Bot, fake: FakeZalo) -> None:
    fake.fail_next_with_500 = 1
    [reply] = await bot.say("cảm ơn nhé")
    assert "Không có gì" in reply["text"]


# --- tokens ----------------------------------------------------------------------------------


async def test_token_expiring_mid_conversation_is_refreshed_and_retried(
        bot: Bot, fake: FakeZalo, tmp_path: Path) -> None:
    answer = await bot.say("làm giấy khai sinh cho con")
    refreshes = fake.refreshes
    fake.expire_access_tokens()
    section = await bot.press(answer, "Lệ phí")
    assert "▸ Lệ phí" in section[0]["text"]
    assert fake.refreshes == refreshes + 1
    assert [e["error"] for e in fake.errors] == [-220]
    saved_path = tmp_path / "data" / TOKEN_FILE
    saved = json.loads(saved_path.read_text())
    assert saved["access_token"] == f"at-{fake.refreshes}"
    assert saved["refresh_token"] == fake.refresh_token
    assert stat.S_IMODE(saved_path.stat().st_mode) == 0o600


async def test_saved_pair_survives_a_restart(bot: Bot, fake: FakeZalo, tmp_path: Path) -> None:
    await bot.say("xin chào")
    await bot.close()
    again = Bot(make_settings(tmp_path, fake), fake)  # same environment, same DATA_DIR
    await again.start()
    try:
        await again.say("cảm ơn nhé")
        assert fake.sent[-1]["token"] == f"at-{fake.refreshes}"
        assert fake.refreshes == 1  # the single-use env refresh token was not sent again
    finally:
        await again.close()


async def test_new_tokens_in_the_environment_replace_the_saved_pair(
        fake: FakeZalo, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, fake, zalo_access_token="at-new", zalo_refresh_token="rt-n")
    TokenFile(settings.data_dir / TOKEN_FILE).save(
        TokenPair("at-old", "rt-old", 9e12), seed_of("rt-0"))
    keeper = TokenKeeper(settings, _no_session, alert=_no_alert)
    assert keeper.pair == TokenPair("at-new", "rt-n", None)


async def test_refresh_happens_before_expiry(fake: FakeZalo, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, fake)
    now = 1_000_000.0
    TokenFile(settings.data_dir / TOKEN_FILE).save(
        TokenPair("at-0", "rt-0", now + 10 * 3600), seed_of("rt-0"))
    async with aiohttp.ClientSession() as session:
        keeper = TokenKeeper(settings, lambda: session, alert=_no_alert, clock=lambda: now)
        await keeper.ensure_fresh()
        assert fake.refreshes == 0  # ten hours left: nothing to do
        now += 9.5 * 3600
        await keeper.ensure_fresh()  # half an hour left: refreshed ahead of expiry
    assert fake.refreshes == 1 and keeper.access_token == "at-1"
    assert keeper.pair is not None and keeper.pair.expires_at == now + 90000


async def test_failed_refresh_token_alerts_admins(fake: FakeZalo, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    fake.revoke_refresh_token()
    running = Bot(make_settings(tmp_path, fake), fake)
    with caplog.at_level(logging.ERROR, logger="bot.channels.zalo.tokens"):
        await running.start()
        try:
            await fake.wait_for(lambda: bool(fake.to(ADMIN_ID)))
            [alert] = fake.to(ADMIN_ID)
            assert "token" in alert["text"]
            fake.expire_access_tokens()
            assert await running.say("xin chào") == []  # cannot send; the refresh is not retried
            assert len(fake.to(ADMIN_ID)) == 1  # admins are told once
        finally:
            await running.close()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "re-authorised" in errors[0].getMessage()
    assert "rt-0" not in caplog.text and "at-0" not in caplog.text


def _no_session() -> aiohttp.ClientSession:
    raise AssertionError("no HTTP expected")


async def _no_alert(text: str) -> None:
    raise AssertionError(f"unexpected alert: {text}")


# --- refused templates -------------------------------------------------------------------------


async def test_refused_template_falls_back_to_numbered_choices(bot: Bot, fake: FakeZalo) -> None:
    fake.refuse_templates = -233
    answer = await bot.say("lam giay khai sinh cho con")
    assert buttons(answer) == []
    text = text_of(answer)
    assert "Trả lời bằng số" in text
    lines = {line.split(". ", 1)[1]: line.split(". ", 1)[0] for line in text.splitlines()
             if line[:1].isdigit() and ". " in line}
    section = await bot.say(lines["Lệ phí"])
    assert "▸ Lệ phí" in section[0]["text"]
    again = {line.split(". ", 1)[1]: line.split(". ", 1)[0]
             for line in text_of(section).splitlines() if line[:1].isdigit() and ". " in line}
    overview = await bot.say(again["Tổng quan"] + ".")
    assert overview[0]["text"].startswith("Đăng ký khai sinh")
    assert {e["error"] for e in fake.errors} == {-233}


async def test_numbers_only_press_the_last_numbered_list(bot: Bot, fake: FakeZalo) -> None:
    fake.refuse_templates = -233
    assert "2. " in text_of(await bot.say("đăng ký kết hôn"))  # a numbered list is shown
    fake.refuse_templates = None
    assert buttons(await bot.say("lam giay khai sinh cho con"))  # buttons again: list forgotten
    reply = await bot.say("2")
    assert reply and "▸" not in text_of(reply)


# --- rendering to Zalo's limits ----------------------------------------------------------------


def test_split_text_respects_limit_and_paragraphs() -> None:
    paragraphs = ["a" * 900, "b" * 900, "c" * 900]
    chunks = split_text("\n\n".join(paragraphs))
    assert chunks == ["a" * 900 + "\n\n" + "b" * 900, "c" * 900]
    assert split_text("x" * 4500) == ["x" * 2000, "x" * 2000, "x" * 500]
    emoji = split_text("😊" * 1500)
    assert [units(c) for c in emoji] == [2000, 1000]


def test_buttons_are_packed_five_per_message_keeping_rows() -> None:
    section = [Button(f"S{i}", ShowEntry(f"x{i}")) for i in range(7)]
    rating = (Button("3", Rate(1, 3)), Button("2", Rate(1, 2)), Button("1", Rate(1, 1)))
    groups = pack((*rows(section, per_row=3), rating))
    assert all(len(g) <= MAX_BUTTONS for g in groups)
    assert [b for g in groups for b in g] == [*section, *rating]
    assert groups[-1] == rating
    messages = plan(Reply("body", title="Title", buttons=(*rows(section, 3), rating)))
    assert messages[0].text == "Title\n\nbody" and messages[-1].buttons == rating


def test_choice_numbers() -> None:
    assert [choice_number(t) for t in ["2", " 3 ", "4.", "1)", "x", "12a", ""]] == [
        2, 3, 4, 1, None, None, None]


async def test_zalo_is_configured_when_app_id_and_oa_secret_are_set(
        fake: FakeZalo, tmp_path: Path) -> None:
    assert configured_channels(make_settings(tmp_path, fake)) == [zalo_plugin]
    off = make_settings(tmp_path, fake, zalo_oa_secret_key=None)
    assert configured_channels(off) == []


async def test_healthz_with_zalo_on(bot: Bot) -> None:
    assert bot.http is not None
    async with bot.http.get(bot.server.make_url("/healthz")) as resp:
        body = await resp.json()
    assert resp.status == 200 and body["ok"] and body["entries"] > 0
    assert body["knowledge_version"]
