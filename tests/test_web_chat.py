"""The web chat over real HTTP on 127.0.0.1: the same dialog as the other channels, a signed
HttpOnly session cookie mapped to a pseudonym, Origin and CSRF checks, size and rate limits,
escaping, the widget's configuration, and the size budget of the page's files."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from yarl import URL

from bot.app import configured_channels, make_app, web_channels
from bot.channels.web.channel import WEB, web_plugin
from bot.channels.web.pages import STATIC_DIR
from bot.channels.web.render import reply_json, safe_url
from bot.channels.web.security import RateLimiter
from bot.channels.web.sessions import COOKIE
from bot.conversation.actions import ShowEntry, parse
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Button, Reply
from tests.web_support import KEY, Browserish, Running, button, serve, web_settings

BUDGET = 50 * 1024  # bytes of JS + CSS, uncompressed (the limit)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with serve(web_settings(tmp_path, web_rate_per_minute=8)) as app:
        yield app


@pytest.fixture
async def client(running: Running) -> AsyncIterator[Browserish]:
    browser = Browserish(running.base)
    yield browser
    await browser.close()


def test_the_web_channel_is_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    assert web_channels(web_settings(tmp_path)) == [web_plugin]
    assert web_channels(web_settings(tmp_path, web_enabled=False)) == []
    assert configured_channels(web_settings(tmp_path)) == []  # messaging platforms only
    app = make_app(web_settings(tmp_path), jobs=[])
    assert WEB in app and any(r.resource and r.resource.canonical == "/chat"
                              for r in app.router.routes())
    assert WEB not in make_app(web_settings(tmp_path, web_enabled=False), jobs=[])


def test_js_and_css_stay_within_50_kb() -> None:
    files = sorted(STATIC_DIR.glob("*.js")) + sorted(STATIC_DIR.glob("*.css"))
    sizes = {path.name: path.stat().st_size for path in files}
    assert {"chat.js", "chat.css", "widget.js", "admin.css"} <= set(sizes)
    assert sum(sizes.values()) <= BUDGET, sizes
    for path in files:  # nothing from a CDN or another site (comments aside)
        code = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", code), path.name


async def test_a_conversation_with_buttons_and_a_rating(running: Running,
                                                        client: Browserish) -> None:
    response, html = await client.open_chat()
    assert response.status == 200 and '<html lang="vi">' in html
    assert 'role="log"' in html and '<label for="dvc-input">' in html
    welcome = await client.say("/start")
    assert welcome["lang"] == "vi" and welcome["replies"][0]["kind"] == "info"
    answer = await client.say("làm giấy khai sinh cần giấy tờ gì")
    first = answer["replies"][0]
    assert first["title"] == "Đăng ký khai sinh" and first["kind"] == "answer"
    fee = button(answer, "Lệ phí")
    assert parse(fee["action"]) == ShowEntry("khai-sinh", "fee")
    section = await client.press(fee["action"])
    assert "Lệ phí" in section["replies"][0]["text"]
    thanks = await client.press(button(answer, "Rất hài lòng")["action"])
    assert thanks["replies"][0]["kind"] == "thanks"
    store = running.services.store
    rows = list(store.db.execute("SELECT channel, value, satisfied, entry_id FROM ratings"))
    assert rows == [("web", 3, 1, "khai-sinh")]


async def test_english_on_the_same_dialog(client: Browserish) -> None:
    _, html = await client.open_chat("?lang=en")
    assert '<html lang="en">' in html and "Your question" in html
    data = await client.say("how do I register a birth")
    assert data["lang"] == "en" and data["replies"][0]["title"].startswith("Birth registration")
    switch = re.search(r'data-action="([^"]+)"\s+data-switch="vi"', html)
    assert switch and (await client.press(switch.group(1)))["lang"] == "vi"
    _, again = await client.open_chat()
    assert '<html lang="vi">' in again  # the page follows the conversation's language


async def test_the_session_cookie_is_httponly_samesite_and_pseudonymous(
        running: Running, client: Browserish) -> None:
    response, _ = await client.open_chat()
    cookie = SimpleCookie(response.headers["Set-Cookie"])[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert 24 * 3600 - 2 <= int(cookie["max-age"]) <= 24 * 3600  # what is left of a new session
    session_id = cookie.value.split(".")[0]
    await client.say("xin chào")
    users = [r[0] for r in running.services.store.db.execute("SELECT ref FROM users")]
    assert users == [user_ref(KEY, "web", session_id)]
    assert session_id not in json.dumps(list(running.services.store.db.execute(
        "SELECT * FROM questions")))
    # a second visit in the same browser is the same conversation: no new cookie
    again, _ = await client.open_chat()
    assert "Set-Cookie" not in again.headers


async def test_a_forged_or_expired_cookie_is_not_a_session(running: Running,
                                                           client: Browserish) -> None:
    await client.open_chat()
    jar = client.http.cookie_jar
    value = next(c.value for c in jar if c.key == COOKIE)
    sid, issued, mac = value.split(".")
    for forged in (f"{sid}x.{issued}.{mac}", f"{sid}.{int(issued) - 90000}.{mac}", "nonsense"):
        jar.clear()
        jar.update_cookies({COOKIE: forged}, URL(running.base))
        response = await client.post({"text": "xin chào"})
        assert response.status == 401 and (await response.json())["error"] == "session"


async def test_requests_from_another_site_or_without_the_token_are_refused(
        running: Running, client: Browserish, caplog: pytest.LogCaptureFixture) -> None:
    await client.open_chat()
    assert (await client.post({"text": "hi"}, Origin="http://evil.example")).status == 403
    assert "another site refused" in caplog.text
    client.origin = ""
    assert (await client.post({"text": "hi"})).status == 403  # neither Origin nor Referer
    assert (await client.post({"text": "hi"}, Referer=f"{running.base}/chat")).status == 200
    client.origin = running.base
    assert (await client.post({"text": "hi"}, **{"X-CSRF-Token": "wrong"})).status == 403
    client.csrf, token = "", client.csrf
    assert (await client.post({"text": "hi"})).status == 403
    client.csrf = token
    assert running.services.store.db.execute("SELECT count(*) FROM users").fetchone()[0] == 1


async def test_size_and_shape_limits(running: Running, client: Browserish) -> None:
    await client.open_chat()
    limit = running.channel.settings.max_message_chars
    too_long = await client.post({"text": "a" * (limit + 1)})
    assert too_long.status == 413 and (await too_long.json())["error"] == "too_long"
    assert (await client.post({"text": "a" * limit})).status == 200
    huge = await client.http.post(f"{running.base}/chat/api/message", data=b"x" * 20000,
                                  headers={"Origin": running.base, "X-CSRF-Token": client.csrf,
                                           "Content-Type": "application/json"})
    assert huge.status == 413
    for body in ({"text": "   "}, {"text": 5}, {"text": "a", "action": "p:khai-sinh"}, [1]):
        assert (await client.post(body)).status == 400, body
    stale = await client.press("zz:not-ours")
    assert stale["replies"], "a button that is not ours is answered, never an error"


async def test_rate_limit_per_session(running: Running, client: Browserish) -> None:
    await client.open_chat()
    statuses = [(await client.post({"text": "xin chào"})).status for _ in range(9)]
    assert statuses == [200] * 8 + [429]
    refused = await client.post({"text": "xin chào"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, window=60, clock=lambda: now[0])
    assert [limiter.hit("a"), limiter.hit("a")] == [0.0, 0.0]
    assert limiter.hit("a") == 60.0 and limiter.hit("b") == 0.0
    now[0] = 60.5
    assert limiter.hit("a") == 0.0


async def test_pages_carry_a_strict_policy_and_the_allowed_embedders(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, web_allowed_origins="https://dichvucong.quangtri.gov.vn/")
    async with serve(settings) as running:
        browser = Browserish(running.base)
        try:
            response, _ = await browser.open_chat("?embed=1")
            policy = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy
            assert policy.endswith("frame-ancestors 'self' https://dichvucong.quangtri.gov.vn")
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            widget = await browser.http.get(f"{running.base}/widget.js")
            source = await widget.text()
            assert widget.headers["Content-Type"].startswith("text/javascript")
            config = json.loads(re.search(r"var config = (\{.*?\}) \|\|", source).group(1))  # type: ignore[union-attr]
            assert config["origins"] == ["https://dichvucong.quangtri.gov.vn"]
            assert config["words"]["en"]["widget_open"] == "Ask the assistant"
            css = await browser.http.get(f"{running.base}/static/web/chat.css",
                                         headers={"Accept-Encoding": "gzip"})
            assert css.status == 200 and css.headers.get("Content-Encoding") == "gzip"
        finally:
            await browser.close()


def test_bad_allowed_origins_are_refused_at_start_up(tmp_path: Path) -> None:
    from bot.config import ConfigError

    origins = web_settings(tmp_path, web_allowed_origins="HTTPS://Portal.example.vn:443/, "
                           "http://127.0.0.1:8081").web_allowed_origins
    assert origins == ("https://portal.example.vn", "http://127.0.0.1:8081")

    for value in ("dichvucong.gov.vn", "https://portal.example/path", "javascript:alert(1)"):
        with pytest.raises(ConfigError, match="WEB_ALLOWED_ORIGINS"):
            web_settings(tmp_path, web_allowed_origins=value)


def test_replies_become_json_with_only_http_links() -> None:
    assert safe_url("https://dichvucong.gov.vn/p?a=1") == "https://dichvucong.gov.vn/p?a=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "", None):
        assert safe_url(bad) is None
    reply = Reply("<b>bold</b> & text", title="T<i>", buttons=(
        (Button("Hồ sơ", ShowEntry("khai-sinh", "documents")),
         Button("Cổng DVC", url="https://dichvucong.gov.vn")),
        (Button("x", url="javascript:alert(1)"),)))
    assert reply_json(reply) == {
        "kind": "info", "title": "T<i>", "text": "<b>bold</b> & text",
        "buttons": [[{"label": "Hồ sơ", "action": "p:khai-sinh:documents"},
                     {"label": "Cổng DVC", "url": "https://dichvucong.gov.vn"}]],
    }


async def test_behind_a_trusted_proxy(tmp_path: Path) -> None:
    """WEB_TRUST_PROXY: the proxy's scheme and host make the origin; the client's address counts."""
    settings = web_settings(tmp_path, web_trust_proxy=True, web_ip_rate_per_minute=2)
    async with serve(settings) as running:
        browser = Browserish(running.base)
        try:
            proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.vn"}
            response = await browser.http.get(f"{running.base}/chat", headers=proxied)
            cookie = SimpleCookie(response.headers["Set-Cookie"])[COOKIE]
            assert cookie["secure"]  # the browser talks HTTPS to the proxy
            html = await response.text()
            browser.csrf = re.search(r'data-csrf="([^"]+)"', html).group(1)  # type: ignore[union-attr]
            # the test client speaks plain HTTP, so it must send the cookie back itself
            headers = {**proxied, "Cookie": f"{COOKIE}={cookie.value}",
                       "X-Forwarded-For": "203.0.113.7"}
            ok = await browser.post({"text": "xin chào"}, Origin="https://chat.example.vn",
                                    **headers)
            assert ok.status == 200, await ok.text()
            other = await browser.post({"text": "xin chào"}, Origin="https://evil.example",
                                       **headers)
            assert other.status == 403
            statuses = [(await browser.post({"text": "xin chào"}, Origin="https://chat.example.vn",
                                            **headers)).status for _ in range(2)]
            assert statuses == [200, 429]  # two a minute from 203.0.113.7
            elsewhere = await browser.post({"text": "xin chào"}, Origin="https://chat.example.vn",
                                           **{**headers, "X-Forwarded-For": "198.51.100.9"})
            assert elsewhere.status == 200
        finally:
            await browser.close()


def test_every_word_of_the_web_pages_is_in_both_catalogs() -> None:
    from bot.channels.web import chat
    from bot.channels.web.pages import WEB_TEMPLATES
    from bot.config import LOCALES_DIR
    from bot.conversation.i18n import I18n

    i18n = I18n(LOCALES_DIR)
    used: set[str] = set()
    for path in WEB_TEMPLATES.glob("*.j2"):
        used |= set(re.findall(r"""_\(\s*'([a-z_]+\.[a-z_.]+[a-z])'""", path.read_text()))
    for path in Path(chat.__file__).parent.glob("*.py"):
        used |= set(re.findall(r"""\.t\([^"']*["']([a-z_]+\.[a-z_.]+)["']""", path.read_text()))
    used |= {f"web.{name}" for name in (*chat.PAGE_WORDS, *chat.WIDGET_WORDS)}
    used |= {f"admin.download_{fmt}" for fmt in ("html", "csv", "xlsx")}
    used |= {f"admin.gap_kind_{kind}" for kind in ("decline", "clarify", "low")}
    used |= {f"admin.place_how_{how}" for how in ("spelling", "shown")}
    assert len(used) > 60
    for lang in ("vi", "en"):
        missing = sorted(key for key in used if key not in i18n.keys(lang))
        assert not missing, (lang, missing)
