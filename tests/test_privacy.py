"""Personal data: masked before it is stored or logged; private files; no payload in the logs."""

from __future__ import annotations

import io
import json
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot import logs
from bot.app import build_services, make_app
from bot.channels.telegram.channel import webhook_plugin
from bot.channels.zalo.channel import zalo_plugin
from bot.config import Settings, load_settings
from bot.privacy import ACCOUNT, EMAIL, ID_NUMBER, PHONE, mask
from tests import backend
from tests.conftest import Chat
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.fake_zalo import APP_ID, APP_SECRET, OA_ID, OA_SECRET_KEY, FakeZalo, event, sign

DATA = Path(__file__).resolve().parent / "data" / "telegram"


@pytest.mark.parametrize(("typed", "stored"), [
    ("sdt em 0912 345 678 nhé", f"sdt em {PHONE} nhé"),
    ("gọi +84 912 345 678 giúp", f"gọi {PHONE} giúp"),
    ("(+84) 912345678", PHONE),
    ("số 0912.345.678", f"số {PHONE}"),
    ("sđt-0987654321", f"sđt-{PHONE}"),
    ("máy bàn 024 3825 1234", f"máy bàn {PHONE}"),
    ("cccd 001203004567 bị mất", f"cccd {ID_NUMBER} bị mất"),
    ("cmnd cũ 123456789", f"cmnd cũ {ID_NUMBER}"),
    ("mail nguyen.van.a+dvc@gmail.com nhé", f"mail {EMAIL} nhé"),
    ("stk 1903 5555 1234 techcombank", f"stk {ACCOUNT} techcombank"),
    ("số tài khoản: 123456", f"số tài khoản: {ACCOUNT}"),
    ("chuyển vào 0071000123456 vietcombank", f"chuyển vào {ACCOUNT} vietcombank"),
])
def test_personal_data_is_masked(typed: str, stored: str) -> None:
    assert mask(typed) == stored


@pytest.mark.parametrize("kept", [
    "lệ phí 100.000.000 đồng", "phí 150000000 đồng", "thủ tục 1.001193", "tổng đài 18001096",
    "gọi 1900 1234", "hẹn ngày 12-05-2024", "năm 2025 làm sổ đỏ",
    "mã hồ sơ 000.00.12.H56-250101-0001",
    "nghị định 118/2025/NĐ-CP", "",
])
def test_what_is_not_personal_is_kept(kept: str) -> None:
    assert mask(kept) == kept


async def test_question_texts_and_comments_are_stored_masked(chat: Chat) -> None:
    replies = await chat.say("làm lại căn cước 001203004567 thì gọi số 0912345678 nhé")
    rate = next(b.packed for r in replies for b in r.flat_buttons if b.packed.startswith("r:"))
    await chat.press(rate)
    await chat.say("/comment cán bộ gọi lại cho em qua 0987 654 321 hoặc a.b@gmail.com")
    store = chat.dialog.services.store
    [question] = list(store.db["questions"].rows)
    [comment] = list(store.db["comments"].rows)
    assert question["text"] == f"làm lại căn cước {ID_NUMBER} thì gọi số {PHONE} nhé"
    assert comment["text"] == f"cán bộ gọi lại cho em qua {PHONE} hoặc {EMAIL}"
    everything = json.dumps({t: list(store.db[t].rows) for t in store.db.table_names()},
                            ensure_ascii=False, default=str)
    for secret in ("001203004567", "0912345678", "0987 654 321", "a.b@gmail.com"):
        assert secret not in everything


def test_data_folder_is_0700_and_its_files_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # an existing, too open folder is tightened
    settings = load_settings(environ={}, dotenv=None, data_dir=data)  # creates pseudonym.key
    services = build_services(settings)
    try:
        services.store.db.execute("SELECT 1")
    finally:
        services.store.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.iterdir() if p.is_file()]
    expected = {"pseudonym.key"} if backend.SERVER else {"dvcbot.sqlite3", "pseudonym.key"}
    assert {p.name for p in files} >= expected
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_log_lines_and_tracebacks_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.SecretFilter(["super-secret-token"]))
    logger = logging.getLogger("tests.privacy")
    logger.addHandler(handler)
    try:
        logger.warning("citizen wrote %s with super-secret-token", "0912345678")
        try:
            raise ValueError("bad input from a.b@gmail.com, cccd 001203004567")
        except ValueError:
            logger.exception("handler failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert PHONE in text and EMAIL in text and ID_NUMBER in text and "***" in text
    for secret in ("0912345678", "a.b@gmail.com", "001203004567", "super-secret-token"):
        assert secret not in text


def test_warnings_go_through_the_log_filter(capfd: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    import warnings

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logging.captureWarnings(False)  # undo what an earlier in-process `dvcbot` run left
    logs.setup(load_settings(environ={}, dotenv=None, data_dir=tmp_path / "data",
                             pseudonym_key="test-key-123456"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("Update: {'phone_number': '0912345678'}", RuntimeWarning, stacklevel=1)
    finally:
        logging.captureWarnings(False)
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capfd.readouterr().err
    assert PHONE in err and "0912345678" not in err


# -- nothing from a platform's payload reaches a log -----------------------------------------------


@pytest.fixture
async def both(settings: Settings) -> AsyncIterator[tuple[TestServer, FakeTelegram, FakeZalo]]:
    zalo = FakeZalo()
    await zalo.start()
    async with FakeTelegram() as telegram:
        configured = load_settings(
            environ={}, dotenv=None, data_dir=settings.data_dir, pseudonym_key="test-key-123456",
            telegram_bot_token=TOKEN, telegram_api_url=telegram.url,
            telegram_webhook_secret="s3cret-Privacy", zalo_app_id=APP_ID,
            zalo_app_secret=APP_SECRET, zalo_oa_id=OA_ID, zalo_oa_secret_key=OA_SECRET_KEY,
            zalo_access_token="at-0", zalo_refresh_token="rt-0", zalo_api_url=zalo.url,
            zalo_oauth_url=zalo.url)
        server = TestServer(make_app(configured, plugins=[webhook_plugin, zalo_plugin], jobs=[]),
                            host="127.0.0.1")
        await server.start_server()
        try:
            yield server, telegram, zalo
        finally:
            await server.close()
            await zalo.close()


async def test_no_payload_value_reaches_the_logs_even_at_debug(
        both: tuple[TestServer, FakeTelegram, FakeZalo], caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    server, telegram, zalo = both
    update: dict[str, Any] = json.loads((DATA / "message_text.json").read_text("utf-8"))
    sender = update["message"]["from"]
    sender.update(first_name="Privatename", last_name="Familyname", username="private_handle")
    update["message"]["text"] = "khai sinh cho con, sđt 0912345678, email x.y@gmail.com"
    zalo_event = event("user_send_text", "246845883529197999", text="kết hôn, cccd 001203004567")
    zalo_event["sender"]["name"] = "Privatename"
    async with aiohttp.ClientSession() as http:
        async with http.post(server.make_url("/telegram/webhook"), json=update, headers={
                "X-Telegram-Bot-Api-Secret-Token": "s3cret-Privacy"}) as resp:
            assert resp.status == 200
        body = json.dumps(zalo_event).encode()
        async with http.post(server.make_url("/zalo/webhook"), data=body, headers={
                "X-ZEvent-Signature": sign(body, zalo_event["timestamp"])}) as resp:
            assert resp.status == 200
        bad = dict(update, update_id="x")
        async with http.post(server.make_url("/telegram/webhook"), json=bad, headers={
                "X-Telegram-Bot-Api-Secret-Token": "s3cret-Privacy"}) as resp:
            assert resp.status == 400
    await telegram.wait_for("sendMessage")
    await zalo.wait_for(lambda: bool(zalo.sent))
    out, err = capfd.readouterr()
    everything = caplog.text + out + err
    for value in ("Privatename", "Familyname", "private_handle", "0912345678", "x.y@gmail.com",
                  "001203004567", "khai sinh cho con", "246845883529197999",
                  str(sender["id"])):
        assert value not in everything, value
