"""The officials' dashboard over real HTTP: accounts from the command line with scrypt hashes,
log-in and sessions that expire, failed log-ins slowed and logged, nothing without a session,
and figures that are those of `dvcbot report` and `dvcbot kb gaps`."""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.channels.web.accounts import (
    SCRYPT_N,
    AccountError,
    LoginThrottle,
    check_password,
    hash_password,
    verify_password,
)
from bot.channels.web.dashboard import SESSION_COOKIE
from bot.cli.main import main
from bot.store.store import account, accounts
from tests.test_gaps import SEED
from tests.test_satisfaction import seed
from tests.web_support import KEY, PASSWORD, Browserish, Running, make_account, serve, web_settings

PERIOD = {"from": "2026-01-01", "to": "2026-02-28"}
PAGES = ("/admin", "/admin/", "/admin/gaps", "/admin/comments", "/admin/report.csv",
         "/admin/report.xlsx", "/admin/report.html")


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with serve(web_settings(tmp_path, web_admin_session_minutes=30)) as app:
        app.channel.dashboard.failed_delay = 0.0
        await make_account(app.services)
        yield app


@pytest.fixture
async def official(running: Running) -> AsyncIterator[Browserish]:
    browser = Browserish(running.base)
    yield browser
    await browser.close()


class Rows(HTMLParser):
    """The figures the dashboard marks with ``data-group-type`` (one per group)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = dict(attrs)
        if data.get("data-group-type"):
            self.rows.append(tuple(data.get(f"data-{k}") or "" for k in (
                "group-type", "group", "ratings", "satisfied", "indicator", "ci-low", "ci-high")))


def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str, input: str | None = None
        ) -> tuple[int, str, bytes]:
    monkeypatch.chdir(tmp_path)
    env = {"DATA_DIR": str(tmp_path / "data"), "PSEUDONYM_KEY": KEY,
           "DEFAULT_LOCALE": "en"}  # the officials' words in English here (Vietnamese below)
    result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
    return result.exit_code, result.output, result.stdout_bytes


# -- accounts -------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes() -> None:
    one, two = hash_password(PASSWORD), hash_password(PASSWORD)
    assert one != two and one.startswith(f"scrypt${SCRYPT_N}$8$1$") and PASSWORD not in one
    assert verify_password(PASSWORD, one) and not verify_password(PASSWORD + "x", one)
    assert not verify_password(PASSWORD, None) and not verify_password(PASSWORD, "garbage")
    with pytest.raises(AccountError):
        check_password("short")


def test_accounts_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(tmp_path, monkeypatch, "admin", "add-user", "minh",
                       input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0 and "account minh made" in out and PASSWORD not in out
    code, out, _ = cli(tmp_path, monkeypatch, "admin", "add-user", "minh",
                       input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 1 and "exists already" in out
    code, out, _ = cli(tmp_path, monkeypatch, "admin", "add-user", "lan",
                       input=f"{PASSWORD}\nsomething-else-1\n")  # the confirmation differs
    assert code != 0 and "do not match" in out
    code, out, _ = cli(tmp_path, monkeypatch, "admin", "add-user", "lan", input="short\nshort\n")
    assert code == 1 and "at least 10 characters" in out
    code, out, _ = cli(tmp_path, monkeypatch, "admin", "add-user", "bad name", input="")
    assert code == 1 and "a name has" in out
    new = "mot-mat-khau-moi-2"
    code, out, _ = cli(tmp_path, monkeypatch, "admin", "add-user", "minh", "--update",
                       input=f"{new}\n{new}\n")
    assert code == 0 and "new password for minh" in out
    code, out, _ = cli(tmp_path, monkeypatch, "admin", "list-users")
    assert out.startswith("minh  created ") and "last login never" in out
    from bot.store.store import Store

    store = Store(tmp_path / "data" / "dvcbot.sqlite3")
    try:
        row = account(store, "minh")
        assert row and verify_password(new, row["password"]) and len(accounts(store)) == 1
    finally:
        store.close()
    assert cli(tmp_path, monkeypatch, "admin", "remove-user", "minh")[0] == 0
    assert "no accounts yet" in cli(tmp_path, monkeypatch, "admin", "list-users")[1]


# -- log-in ---------------------------------------------------------------------------------


async def test_nothing_is_reachable_without_logging_in(running: Running,
                                                       official: Browserish) -> None:
    for path in PAGES:
        response = await official.http.get(f"{running.base}{path}", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] in {
            "/admin/login", "/admin"}, path
    official.http.cookie_jar.update_cookies({SESSION_COOKIE: "made-up-token-1234567890"})
    for path in PAGES:
        response = await official.http.get(f"{running.base}{path}", allow_redirects=False)
        assert response.status == 303, path
    logout = await official.http.post(f"{running.base}/admin/logout",
                                      headers={"Origin": running.base}, allow_redirects=False)
    assert logout.status == 403


async def test_log_in_see_the_pages_and_log_out(running: Running, official: Browserish) -> None:
    response = await official.log_in()
    assert response.status == 303 and response.headers["Location"] == "/admin"
    cookie = SimpleCookie(response.headers.getall("Set-Cookie")[0])[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/admin"
    assert int(cookie["max-age"]) == 30 * 60
    stored = list(running.services.store.db.execute("SELECT token, account FROM web_sessions"))
    assert len(stored) == 1 and stored[0][0] != cookie.value  # only the token's hash is kept
    for path in ("/admin", "/admin/gaps", "/admin/comments"):
        page = await official.http.get(f"{running.base}{path}")
        html = await page.text()
        assert page.status == 200 and "Đăng xuất (minh)" in html, path
        assert page.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    html = await (await official.http.get(f"{running.base}/admin")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    refused = await official.http.post(f"{running.base}/admin/logout", data={"csrf": "x"},
                                       headers={"Origin": running.base}, allow_redirects=False)
    assert refused.status == 403
    refused = await official.http.post(f"{running.base}/admin/logout", data={"csrf": csrf},
                                       headers={"Origin": "http://evil.example"},
                                       allow_redirects=False)
    assert refused.status == 403
    out = await official.http.post(f"{running.base}/admin/logout", data={"csrf": csrf},
                                   headers={"Origin": running.base}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/admin/login"
    assert running.services.store.db.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 0
    again = await official.http.get(f"{running.base}/admin", allow_redirects=False)
    assert again.status == 303


async def test_a_wrong_password_is_refused_and_logged(
        running: Running, official: Browserish, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.channels.web.dashboard")
    response = await official.log_in(password="not-the-password")
    assert response.status == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in await response.text()
    assert SESSION_COOKIE not in response.cookies
    assert "failed log-in for 'minh' from 127.0.0.1 (1 recent failures)" in caplog.text
    unknown = await official.log_in(name="nobody")
    assert unknown.status == 401  # the same answer for a name that does not exist
    assert (await official.log_in(origin="http://evil.example")).status == 403


async def test_repeated_failures_are_slowed(running: Running, official: Browserish,
                                            caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    running.channel.dashboard.throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(4):
        assert (await official.log_in(password="wrong-password")).status == 401
    blocked = await official.log_in()  # even the right password waits its turn
    assert blocked.status == 429 and blocked.headers["Retry-After"] == "2"
    assert "Vui lòng thử lại sau 2 giây" in await blocked.text()
    assert "too many failures" in caplog.text
    now[0] += 1.5
    assert (await official.log_in()).status == 303


def test_the_pause_doubles_and_is_capped() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    waits = []
    for _ in range(12):
        throttle.failed("name:a", "addr:x")
        waits.append(throttle.wait("addr:x"))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert throttle.wait("name:other") == 0
    now[0] += 16 * 60  # failures older than the window are forgotten
    assert throttle.wait("addr:x") == 0


async def test_sessions_expire(running: Running, official: Browserish) -> None:
    await official.log_in()
    assert (await official.http.get(f"{running.base}/admin", allow_redirects=False)).status == 200
    store = running.services.store
    await store.call(store.db.execute,
                     "UPDATE web_sessions SET expires = '2000-01-01T00:00:00+00:00'")
    response = await official.http.get(f"{running.base}/admin", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin/login"


# -- the figures ----------------------------------------------------------------------------


async def test_the_numbers_are_those_of_dvcbot_report(
        running: Running, official: Browserish, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await running.services.store.call(seed, running.services.store.db)
    await official.log_in()
    page = await official.http.get(f"{running.base}/admin", params=PERIOD)
    parser = Rows()
    parser.feed(await page.text())
    code, _, out = cli(tmp_path, monkeypatch, "report", "--from", PERIOD["from"], "--to",
                       PERIOD["to"], "--format", "csv")
    assert code == 0
    expected = [tuple(row) for row in csv.reader(io.StringIO(out.decode()))][1:]
    assert parser.rows == expected
    assert ("overall", "Tất cả", "22", "18", "0.8182", "0.6148", "0.9269") in parser.rows
    downloaded = await official.http.get(f"{running.base}/admin/report.csv", params=PERIOD)
    assert await downloaded.read() == out
    assert 'filename="dvcbot-report-2026-01-01-2026-02-28.csv"' in \
        downloaded.headers["Content-Disposition"]
    xlsx = await official.http.get(f"{running.base}/admin/report.xlsx", params=PERIOD)
    assert "xl/worksheets/sheet1.xml" in zipfile.ZipFile(io.BytesIO(await xlsx.read())).namelist()
    html = await (await official.http.get(f"{running.base}/admin/report.html",
                                          params=PERIOD)).text()
    code, _, cli_html = cli(tmp_path, monkeypatch, "report", "--from", PERIOD["from"], "--to",
                            PERIOD["to"], "--format", "html")

    def undated(text: str) -> str:
        return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "", text)

    assert undated(html) == undated(cli_html.decode())
    english = await (await official.http.get(f"{running.base}/admin",
                                             params={**PERIOD, "lang": "en"})).text()
    assert '<html lang="en">' in english and "Satisfaction indicator" in english
    kept = await (await official.http.get(f"{running.base}/admin/gaps")).text()
    assert '<html lang="en">' in kept  # the language is remembered


async def test_a_bad_period_falls_back_to_the_last_30_days(running: Running,
                                                           official: Browserish) -> None:
    await official.log_in()
    for query in ({"from": "2026-02-01", "to": "2026-01-01"}, {"from": "yesterday"}):
        html = await (await official.http.get(f"{running.base}/admin", params=query)).text()
        assert "Khoảng thời gian không hợp lệ" in html


async def test_unanswered_questions_are_grouped_as_kb_gaps(
        running: Running, official: Browserish, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = running.services.store

    def log() -> None:
        for text, decision, candidates in SEED:
            store.log_question("u1", "web", text, decision, candidates, None)
        store.log_question("u1", "web", "<script>alert(1)</script> khai sinh", "decline",
                           [{"entry_id": "khai-sinh", "confidence": 0.3}], None)
        store.log_question("u2", "web", "xã Tân Kỳ Bắc cũ nộp ở đâu", "decline", [], None)

    await store.call(log)
    await official.log_in()
    html = await (await official.http.get(f"{running.base}/admin/gaps?days=0")).text()
    code, out, _ = cli(tmp_path, monkeypatch, "kb", "gaps", "--days", "0")
    assert code == 0
    cli_order = [g for g in re.findall(r"^(\S+) — ", out, flags=re.M) if g != "off-topic"]
    page_order = re.findall(r'<h2 id="gap-\d+">([^<]+)', html)
    assert cli_order == ["khai-sinh"] and len(page_order) == len(cli_order)
    assert page_order[0].startswith("Đăng ký khai sinh")
    assert "Câu hỏi ngoài phạm vi" in html and "giá vàng hôm nay bao nhiêu" in html
    assert "- Tân Kỳ Bắc  # 1×" in html and "place names not recognised" in out
    assert "- khai sinh cho bé sinh đôi  # 2×" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


async def test_comments_and_reasons(running: Running, official: Browserish) -> None:
    citizen = Browserish(running.base)
    try:
        await citizen.open_chat()
        answer = await citizen.say("làm giấy khai sinh")
        from tests.web_support import button

        reasons = await citizen.press(button(answer, "Không hài lòng")["action"])
        await citizen.press(button(reasons, "Khó hiểu")["action"])
        await citizen.say("/comment Trang web <b>khó</b> dùng & chậm")
    finally:
        await citizen.close()
    await official.log_in()
    html = await (await official.http.get(f"{running.base}/admin/comments")).text()
    assert "Trang web &lt;b&gt;khó&lt;/b&gt; dùng &amp; chậm" in html
    assert "Đăng ký khai sinh" in html and "Khó hiểu" in html and "Không hài lòng" in html
    assert "Web chat" in html


def test_account_commands_speak_the_default_language(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "PSEUDONYM_KEY": KEY, "DEFAULT_LOCALE": "vi"}
    result = CliRunner().invoke(main, ["admin", "list-users"], env=env)
    assert result.exit_code == 0 and "Chưa có tài khoản nào" in result.output
