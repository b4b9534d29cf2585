"""Hostile input never reaches a stack trace: what a sender can put in a request gets a 4xx before
any work, or is handled as text, or is ignored — never a 500, never the generic error reply.

Over real HTTP on the one aiohttp app (Telegram webhook and Zalo webhook), plus property-based
fuzzing (hypothesis) of the webhook parsers, the normaliser and the action parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import make_app
from bot.channels.telegram.channel import webhook_plugin
from bot.channels.telegram.updates import TgUpdate, read_update
from bot.channels.zalo import events as zalo_events
from bot.channels.zalo.channel import ZaloChannel, zalo_plugin
from bot.config import Settings, load_settings
from bot.conversation import actions
from bot.conversation.dialog import Dialog, Services
from bot.knowledge.loader import KnowledgeBase
from bot.privacy import mask
from bot.retrieval.text import Normaliser, clean
from bot.store.store import Store
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.fake_zalo import APP_ID, APP_SECRET, OA_ID, OA_SECRET_KEY, FakeZalo, event, sign

DATA = Path(__file__).resolve().parent / "data" / "telegram"
SECRET = "s3cret-Hostile_1"
ERROR_VI = "Xin lỗi, đã có lỗi"
FUZZ = settings(max_examples=300, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def recorded(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")))


class App:
    """The one aiohttp app with the Telegram and Zalo webhooks, served on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.zalo: ZaloChannel | None = None
        self.services: Services | None = None
        self.server = TestServer(make_app(settings, plugins=[webhook_plugin, self._zalo],
                                          jobs=[]), host="127.0.0.1")
        self.http = aiohttp.ClientSession()

    def _zalo(self, settings: Settings, services: Services, dialog: Dialog) -> ZaloChannel:
        self.services = services
        self.zalo = zalo_plugin(settings, services, dialog)
        return self.zalo

    @property
    def store(self) -> Store:
        assert self.services is not None
        return self.services.store

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None,
                   chunked: bool = False) -> tuple[int, str]:
        data: Any = body
        if chunked:
            async def stream() -> AsyncIterator[bytes]:
                for start in range(0, len(body), 65536):
                    yield body[start:start + 65536]

            data = stream()
        async with self.http.post(self.server.make_url(path), data=data,
                                  headers=headers or {}) as resp:
            return resp.status, await resp.text()

    async def telegram(self, body: bytes, chunked: bool = False) -> tuple[int, str]:
        return await self.post("/telegram/webhook", body, {
            "X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
            chunked)

    async def drain(self) -> None:
        assert self.zalo is not None
        await self.zalo.drain()
        await asyncio.sleep(0)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.store.db[table].rows)


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def fake_zl() -> AsyncIterator[FakeZalo]:
    zalo = FakeZalo()
    await zalo.start()
    yield zalo
    await zalo.close()


@pytest.fixture
async def app(settings: Settings, fake_tg: FakeTelegram,
              fake_zl: FakeZalo) -> AsyncIterator[App]:
    configured = load_settings(
        environ={}, dotenv=None, data_dir=settings.data_dir, pseudonym_key="test-key-123456",
        telegram_bot_token=TOKEN, telegram_api_url=fake_tg.url, telegram_webhook_secret=SECRET,
        zalo_app_id=APP_ID, zalo_app_secret=APP_SECRET, zalo_oa_id=OA_ID,
        zalo_oa_secret_key=OA_SECRET_KEY, zalo_access_token="at-0", zalo_refresh_token="rt-0",
        zalo_api_url=fake_zl.url, zalo_oauth_url=fake_zl.url)
    running = App(configured)
    await running.server.start_server()
    yield running
    await running.http.close()
    await running.server.close()


def nested(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return (opener * depth + closer * depth).encode()


HOSTILE_BODIES = {
    "not json": b"{not json",
    "invalid utf-8": b'{"update_id": 1, "message": {"text": "\xff\xfe"}}',
    "nested arrays": nested(100_000),
    "nested objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nested under update": b'{"update_id": 5, "message": ' + nested(5_000) + b"}",
    "huge integer": b'{"update_id": ' + b"9" * 5000 + b"}",
    "oversized": b'{"update_id": 7, "x": "' + b"a" * 300_000 + b'"}',
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
async def test_hostile_bodies_get_400_on_both_webhooks_and_nothing_is_stored(
        app: App, fake_zl: FakeZalo, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    macs: list[str] = []
    original = zalo_events.expected_mac
    monkeypatch.setattr(zalo_events, "expected_mac",
                        lambda *a: macs.append("x") or original(*a))  # type: ignore[func-returns-value]
    body = HOSTILE_BODIES[name]
    for chunked in (False, True):
        status, text = await app.telegram(body, chunked=chunked)
        assert status == 400, (name, text)
        assert "Traceback" not in text and "Error" not in text
        zalo_headers = {"X-ZEvent-Signature": "mac=" + "0" * 64}
        status, text = await app.post("/zalo/webhook", body, zalo_headers, chunked=chunked)
        assert status == 400, (name, text)
        assert "Traceback" not in text
    assert macs == []  # refused before any signature work
    assert app.rows("inbox") == [] and app.rows("users") == []


@pytest.mark.parametrize("body", [b"[]", b"null", b"42", b'"text"', b'{"update_id": "1"}',
                                  b'{"update_id": true}', b'{"update_id": 1e3}',
                                  b'{"update_id": 1180591620717411303424}', b"{}"])
async def test_json_that_is_not_an_update_gets_400(app: App, body: bytes) -> None:
    status, text = await app.telegram(body)
    assert status == 400 and "not an update" in text
    assert app.rows("inbox") == []


async def test_unknown_update_kinds_are_acknowledged_ignored_and_never_printed(
        app: App, fake_tg: FakeTelegram, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    reaction = {"update_id": 900_000_001, "message_reaction": {
        "chat": {"id": 5120348871, "type": "private", "first_name": "Secretname"},
        "user": {"id": 5120348871, "is_bot": False, "first_name": "Secretname",
                 "username": "secret_user_name"},
        "message_id": 3, "date": 1767596413, "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
    weird = [reaction,
             {"update_id": 900_000_002, "message": {"chat": {"id": 2**70}, "text": "x"}},
             {"update_id": 900_000_003, "message": {"chat": {"id": 1}, "from": {
                 "id": 1, "is_bot": True, "first_name": "Secretname"}, "text": "hi"}},
             {"update_id": 900_000_004, "callback_query": {"id": [], "from": "Secretname"}},
             {"update_id": 900_000_005, "edited_message": recorded("message_text")["message"]}]
    for update in weird:
        status, _ = await app.telegram(json.dumps(update).encode())
        assert status == 200
    out, err = capfd.readouterr()
    everything = out + err + caplog.text
    assert "Secretname" not in everything and "secret_user_name" not in everything
    assert app.rows("inbox") == [] and fake_tg.messages() == []


async def test_lone_surrogates_and_huge_numbers_are_text_or_stale_never_the_error(
        app: App, fake_tg: FakeTelegram) -> None:
    def message(text: str, update_id: int) -> bytes:
        update = recorded("message_text")
        update["update_id"] = update_id
        update["message"]["text"] = text
        return json.dumps(update).encode()  # "\ud800" travels as the escape, as in JSON

    def press(data: str, update_id: int) -> bytes:
        update = recorded("callback_query")
        update["update_id"] = update_id
        update["callback_query"].update(id=f"q{update_id}", data=data)
        return json.dumps(update).encode()

    bodies = [message("đăng ký kết hôn \ud800", 910_000_001), message("\udfff\ud83d", 910_000_002),
              press("r:99999999999999999999999999:3", 910_000_003),
              press("r:9007199254740991:3", 910_000_004),
              press("am:1:" + "9" * 40, 910_000_005), press("p:\ud800", 910_000_006),
              press("n:-1", 910_000_007), press("x" * 5000, 910_000_008)]
    for body in bodies:
        status, _ = await app.telegram(body)
        assert status == 200
    sent = await fake_tg.wait_for("sendMessage", len(bodies))
    texts = [c.params["text"] for c in sent]
    assert not any(ERROR_VI in t for t in texts), texts
    assert texts[0].startswith("<b>Đăng ký kết hôn")  # answered as text
    [question] = [q for q in app.rows("questions") if "\ufffd" in (q["text"] or "")]
    assert question["decision"] == "answer"


async def test_zalo_replayed_or_future_events_are_refused(app: App, fake_zl: FakeZalo) -> None:
    week = event("user_send_text", text="đăng ký kết hôn")
    week["timestamp"] = str(int((time.time() - 7 * 86400) * 1000))
    future = event("user_send_text", text="đăng ký kết hôn")
    future["timestamp"] = str(int((time.time() + 3 * 3600) * 1000))
    garbage = event("user_send_text", text="đăng ký kết hôn")
    garbage["timestamp"] = "yesterday"
    for payload in (week, future, garbage):
        body = json.dumps(payload).encode()
        headers = {"X-ZEvent-Signature": sign(body, str(payload["timestamp"]))}
        status, text = await app.post("/zalo/webhook", body, headers)
        assert status == 400 and "stale" in text
    await app.drain()
    assert fake_zl.sent == [] and app.rows("inbox") == []


async def test_zalo_odd_fields_are_ignored_or_text(app: App, fake_zl: FakeZalo) -> None:
    odd = event("user_send_text", text="đăng ký kết hôn")
    odd["message"]["msg_id"] = json.loads(nested(500).decode())
    odd["sender"]["id"] = {"nested": True}
    surrogate = event("user_send_text", text="làm giấy khai sinh \ud800")
    for payload in (odd, surrogate):
        body = json.dumps(payload).encode()
        headers = {"X-ZEvent-Signature": sign(body, str(payload["timestamp"]))}
        status, _ = await app.post("/zalo/webhook", body, headers)
        assert status == 200
    await app.drain()
    texts = [m["message"].get("text", "") for m in fake_zl.sent]
    assert texts and texts[0].startswith("Đăng ký khai sinh")
    assert not any(ERROR_VI in t for t in texts)


async def test_random_bytes_never_get_a_500(app: App) -> None:
    rng = random.Random(12)
    alphabet = b'{}[]",:0123456789truefalsnul \\u\xff\n'
    for _ in range(150):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        status, _ = await app.telegram(body)
        assert status in (200, 400)
        status, _ = await app.post("/zalo/webhook", body, {"X-ZEvent-Signature": "mac=00"})
        assert status in (400, 401)


# -- property-based fuzzing ----------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=80)  # lone surrogates too
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    ANY_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)), max_leaves=20)


def storable(text: str | None) -> bool:
    return text is None or bool(text.encode("utf-8")) or text == ""


def update_like() -> st.SearchStrategy[dict[str, Any]]:
    user = st.fixed_dictionaries({"id": SCALARS, "is_bot": SCALARS, "language_code": SCALARS})
    message = st.fixed_dictionaries({"chat": st.one_of(JSON, st.fixed_dictionaries({
        "id": SCALARS})), "from": st.one_of(JSON, user), "text": SCALARS,
        "caption": SCALARS, "photo": JSON})
    query = st.fixed_dictionaries({"id": SCALARS, "from": st.one_of(JSON, user),
                                   "data": SCALARS, "message": st.one_of(JSON, message)})
    return st.fixed_dictionaries({"update_id": SCALARS},
                                 optional={"message": st.one_of(JSON, message),
                                           "callback_query": st.one_of(JSON, query)})


@FUZZ
@given(st.one_of(JSON, update_like()))
def test_fuzz_telegram_update_reader(data: Any) -> None:
    update = read_update(data)
    assert update is None or isinstance(update, TgUpdate)
    if update is not None:
        assert isinstance(update.chat_id, int) and isinstance(update.update_id, int)
        for text in (update.text, update.data, update.language, update.callback_id):
            assert text is None or storable(text)
        if update.data is not None:
            actions.parse(update.data)  # what the channel does next: never raises


def zalo_like() -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(["user_send_text", "follow", "user_send_image", "oa_send_text",
                             "user_send_sticker", "unfollow"])
    who = st.one_of(JSON, st.fixed_dictionaries({"id": SCALARS}))
    return st.fixed_dictionaries({
        "event_name": st.one_of(names, SCALARS), "timestamp": SCALARS, "sender": who,
        "recipient": who, "follower": who, "oa_id": SCALARS,
        "message": st.one_of(JSON, st.fixed_dictionaries({"msg_id": SCALARS,
                                                          "text": SCALARS}))})


@FUZZ
@given(st.one_of(zalo_like(), st.dictionaries(ANY_TEXT, JSON, max_size=5)), ANY_TEXT,
       st.binary(max_size=64))
def test_fuzz_zalo_event_parser_and_signature(payload: dict[str, Any], header: str,
                                              body: bytes) -> None:
    event_ = zalo_events.parse(payload)
    assert event_.kind in ("text", "follow", "attachment", "ignore")
    assert storable(event_.text) and storable(event_.sender_id) and storable(event_.event_id)
    with contextlib.suppress(zalo_events.BadSignature):
        zalo_events.verify(header, body, payload, APP_ID, OA_SECRET_KEY)
    zalo_events.age_seconds(header, time.time())


@FUZZ
@given(ANY_TEXT, st.integers(min_value=1, max_value=5000))
def test_fuzz_normaliser_and_clean(kb: KnowledgeBase, text: str, limit: int) -> None:
    cleaned = clean(text, limit)
    assert len(cleaned) <= limit and cleaned == cleaned.strip()
    normalised = Normaliser(kb.synonyms)(text)
    assert all(token.folded == token.folded.lower() for token in normalised.tokens)
    assert normalised.original == text


@FUZZ
@given(st.text(max_size=200) | ANY_TEXT)
def test_fuzz_action_parser(text: str) -> None:
    pressed = actions.parse(text)
    assert pressed is not None
    if not isinstance(pressed, actions.Stale):
        assert actions.parse(actions.pack(pressed)) == pressed  # what parses packs back


ACTIONS = st.one_of(
    st.builds(actions.Rate, st.integers(0, 2**53 - 1), st.integers(0, 2**53 - 1)),
    st.builds(actions.NoneOfThese, st.integers(0, 2**53 - 1)),
    st.builds(actions.Meaning, st.integers(0, 2**53 - 1), st.integers(0, 99)),
    st.builds(actions.ShowEntry, st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,8}){0,2}",
                                               fullmatch=True)),
    st.builds(actions.SetLanguage, st.sampled_from(["vi", "en"])),
)


@FUZZ
@given(ACTIONS)
def test_fuzz_actions_round_trip(action: actions.Action) -> None:
    assert actions.parse(actions.pack(action)) == action


@FUZZ
@given(ANY_TEXT)
def test_fuzz_mask_never_raises_and_is_stable(text: str) -> None:
    masked = mask(text)
    assert storable(masked)
    assert mask(masked) == masked
