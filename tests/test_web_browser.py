"""The web chat, the widget and the dashboard in a real browser: headless Chromium (Debian's
``chromium``) driven by Playwright, against the real application on 127.0.0.1.

Nothing is skipped: without Chromium or axe-core these tests fail and say what to install
(``.ci/run`` installs both).  Screenshots at 360 px and 1280 px, and the axe-core results, are
written to ``test-artifacts/web/``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Frame, Page, async_playwright, expect

from bot.channels.web.channel import WebChannel
from bot.config import LOCALES_DIR, Settings
from bot.conversation.dialog import Dialog, Route, Services, Turn
from bot.conversation.i18n import I18n
from bot.conversation.replies import Button, Reply
from handlers import ROUTES
from tests.web_support import PASSWORD, Running, free_port, make_account, serve, web_settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "web"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
WORDS = I18n(LOCALES_DIR)


def t(key: str, lang: str = "vi") -> str:
    return WORDS.gettext(lang, key)


def require_tools() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
                    "(apt-get update && apt-get install -y chromium; .ci/run does it)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: npm install --prefix tests/web (.ci/run does it)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_tools()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return web_settings(tmp_path)


async def new_page(browser: Browser, viewport: dict[str, int] = PHONE, *,
                   axe_ready: bool = False) -> tuple[BrowserContext, Page, list[str]]:
    """A fresh browser profile.  ``axe_ready`` lets axe-core be injected into pages whose policy
    forbids inline scripts (ours do); everything else runs with the policy enforced."""
    context = await browser.new_context(viewport=viewport, bypass_csp=axe_ready,  # type: ignore[arg-type]
                                        locale="vi-VN")
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: problems.append(f"a dialog opened: {d.message}"))
    return context, page, problems


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def axe(target: Page | Frame, name: str, include: str | None = None) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA rules (and best practices); fails on serious or critical."""
    await target.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = await target.evaluate(
        """async (include) => {
            const context = include ? document.querySelector(include) : document;
            const result = await axe.run(context, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }""", include)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(violations, indent=1,
                                                           ensure_ascii=False))
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert not serious, f"axe on {name}: {json.dumps(serious, ensure_ascii=False, indent=1)}"
    return violations


async def bot_says(page: Page | Frame, text: str) -> None:
    await expect(page.locator(".msg.bot").last).to_contain_text(text)


async def ask(page: Page | Frame, question: str, label: str = "Câu hỏi của bạn") -> None:
    box = page.get_by_label(label)
    await box.fill(question)
    await box.press("Enter")


NO_OVERLAP = """() => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) problems.push('sideways scroll ' + doc.scrollWidth);
    for (const row of document.querySelectorAll('tr')) {
        const cells = [...row.children].filter(c => c.getClientRects().length)
            .map(c => [c, c.getBoundingClientRect()]).filter(([, r]) => r.width && r.height);
        for (let i = 0; i < cells.length; i++) for (let j = i + 1; j < cells.length; j++) {
            const [a, b] = [cells[i][1], cells[j][1]];
            if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
                && b.top < a.bottom - 1) problems.push('overlap: ' + row.textContent.trim());
        }
    }
    for (const cell of document.querySelectorAll('td, th')) {
        if (cell.getBoundingClientRect().width <= 2) continue;  /* visually hidden headers */
        if (cell.scrollWidth > cell.clientWidth + 1) problems.push('cut: ' + cell.textContent);
    }
    return problems;
}"""


async def log_in(page: Page, base: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/admin")
    await expect(page).to_have_url(f"{base}/admin/login")
    await page.get_by_label("Tên đăng nhập").fill("minh")
    await page.get_by_label("Mật khẩu").fill(password)
    await page.get_by_role("button", name="Đăng nhập").click()


# -- the chat page and the dashboard --------------------------------------------------------


async def test_chat_rate_reload_and_see_the_rating_on_the_dashboard(
        browser: Browser, settings: Settings) -> None:
    async with serve(settings) as running:
        await make_account(running.services)
        context, page, problems = await new_page(browser)
        await chat_scenario(page, running)
        assert not problems, problems  # no script errors, nothing refused by the page's policy
        await dashboard_scenario(page, running, problems)
        assert not problems, problems
        await context.close()


async def chat_scenario(page: Page, running: Running) -> None:
    """Ask, read, press a section button (by mouse and by keyboard), rate, reload, English."""
    await page.goto(f"{running.base}/chat")
    await expect(page.get_by_role("log", name=t("web.log_label"))).to_be_visible()
    await bot_says(page, t("bot.name"))  # the welcome
    await ask(page, "làm giấy khai sinh cần giấy tờ gì")
    await expect(page.locator(".msg.me").last).to_contain_text("làm giấy khai sinh")
    await expect(page.locator(".msg.bot").last.locator(".title")).to_have_text(
        "Đăng ký khai sinh")
    answer = page.locator(".msg.bot").nth(await page.locator(".msg.bot").count() - 1)
    await answer.get_by_role("button", name="Lệ phí", exact=True).click()
    await bot_says(page, "Lệ phí")
    # keyboard: Tab from the conversation reaches the answer's buttons; Enter presses one
    await page.get_by_role("log").focus()
    for _ in range(40):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent")
        if focused == "Hồ sơ":
            break
    assert focused == "Hồ sơ"
    await page.keyboard.press("Enter")
    await bot_says(page, "Hồ sơ")
    await answer.get_by_role("button", name="😊 Rất hài lòng").click()
    await bot_says(page, t("rating.thanks"))
    await shot(page, "chat-360")
    said = await page.locator(".msg").all_inner_texts()
    await page.reload()
    await expect(page.locator(".msg")).to_have_count(len(said))
    assert await page.locator(".msg").all_inner_texts() == said
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await shot(page, "chat-1280")
    ratings = list(running.services.store.db.execute(
        "SELECT channel, value, satisfied, entry_id FROM ratings"))
    assert ratings == [("web", 3, 1, "khai-sinh")]
    # English, from the language button in the header
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await ask(page, "how do I register a birth", label="Your question")
    await bot_says(page, "Birth registration")


async def dashboard_scenario(page: Page, running: Running, problems: list[str]) -> None:
    """A wrong password is refused; logged in, the chat's rating is counted; phone and print."""
    base = running.base
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await log_in(page, base, password="not-the-password")
    await expect(page.get_by_role("alert")).to_have_text(t("admin.login_failed"))
    await expect(page).to_have_url(f"{base}/admin/login")
    assert problems == ["Failed to load resource: the server responded with a status of "
                        "401 (Unauthorized)"]
    problems.clear()
    await log_in(page, base)
    await expect(page).to_have_url(f"{base}/admin")
    web_row = page.locator('tr[data-group-type="channel"][data-group="Web chat"]')
    await expect(web_row).to_have_attribute("data-ratings", "1")
    await expect(web_row).to_have_attribute("data-satisfied", "1")
    await expect(web_row).to_contain_text("100,0%")
    await expect(web_row).to_contain_text(t("report.too_few"))
    overall = page.locator('[data-group-type="overall"]')
    await expect(overall).to_have_attribute("data-ratings", "1")
    await page.set_viewport_size({"width": 390, "height": 844})
    problems_390 = await page.evaluate(NO_OVERLAP)
    assert problems_390 == [], problems_390
    await shot(page, "dashboard-390")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await shot(page, "dashboard-360")
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await shot(page, "dashboard-1280")
    await page.get_by_role("link", name=t("admin.nav_comments")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("admin.comments_title"))
    await page.emulate_media(media="print")
    await expect(page.get_by_role("navigation")).to_be_hidden()
    await page.emulate_media(media="screen")


async def test_no_serious_accessibility_violation_on_chat_and_dashboard(
        browser: Browser, settings: Settings) -> None:
    async with serve(settings) as running:
        await make_account(running.services)
        for viewport, width in ((PHONE, 360), (DESKTOP, 1280)):
            context, page, problems = await new_page(browser, viewport, axe_ready=True)
            await page.goto(f"{running.base}/chat")
            await ask(page, "làm giấy khai sinh")
            await bot_says(page, "Đăng ký khai sinh")
            await axe(page, f"chat-{width}")
            await log_in(page, running.base)
            await expect(page).to_have_url(f"{running.base}/admin")
            await axe(page, f"dashboard-{width}")
            for path in ("/admin/gaps", "/admin/comments"):
                await page.goto(f"{running.base}{path}")
                await axe(page, f"dashboard{path.replace('/admin/', '-')}-{width}")
            await page.goto(f"{running.base}/admin/login")  # the form itself, logged out
            await context.clear_cookies()
            await page.goto(f"{running.base}/admin/login")
            await axe(page, f"login-{width}")
            assert not problems, problems
            await context.close()


async def test_the_html_report_reads_on_a_390_px_phone(browser: Browser,
                                                       settings: Settings) -> None:
    from tests.test_satisfaction import seed

    async with serve(settings) as running:
        await make_account(running.services)
        await running.services.store.call(seed, running.services.store.db)
        context, page, _ = await new_page(browser, {"width": 390, "height": 844})
        await log_in(page, running.base)
        await expect(page).to_have_url(f"{running.base}/admin")
        response = await page.request.get(
            f"{running.base}/admin/report.html?from=2026-01-01&to=2026-02-28")
        assert response.ok
        await page.set_content(await response.text())
        assert await page.evaluate(NO_OVERLAP) == []
        await shot(page, "report-html-390")
        await page.goto(f"{running.base}/admin?from=2026-01-01&to=2026-02-28")
        assert await page.evaluate(NO_OVERLAP) == []
        await shot(page, "dashboard-seeded-390")
        await context.close()


# -- links and escaping ---------------------------------------------------------------------


def with_links(settings: Settings, services: Services, dialog: Dialog) -> WebChannel:
    """The web channel on a dialog with one extra route that answers with links and markup."""
    async def handle(turn: Turn) -> list[Reply]:
        return [Reply("Xem https://dichvucong.gov.vn/ hoặc gọi 18001096.\n"
                      "<img src=x onerror=alert(1)> & <script>alert(2)</script>",
                      title="<b>Liên kết</b>",
                      buttons=((Button("Cổng DVC", url="https://dichvucong.gov.vn/"),
                                Button("Xấu", url="javascript:alert(3)")),))]

    route = Route("links", lambda turn: turn.incoming.text == "/links", handle)
    return WebChannel(settings, services, Dialog(services, (route, *ROUTES)))


async def test_link_buttons_are_links_and_everything_is_escaped(browser: Browser,
                                                                settings: Settings) -> None:
    async with serve(settings, plugin=with_links) as running:
        context, page, problems = await new_page(browser)
        await page.goto(f"{running.base}/chat")
        await bot_says(page, t("bot.name"))
        await ask(page, "/links")
        message = page.locator(".msg.bot").last
        await expect(message.locator(".title")).to_have_text("<b>Liên kết</b>")
        await expect(message).to_contain_text("<img src=x onerror=alert(1)> & <script>")
        assert await message.locator("img, script, b").count() == 0
        portal = message.get_by_role("link", name="Cổng DVC")
        await expect(portal).to_have_attribute("href", "https://dichvucong.gov.vn/")
        await expect(portal).to_have_attribute("target", "_blank")
        await expect(portal).to_have_attribute("rel", "noopener noreferrer")
        await expect(message.get_by_text("Xấu")).to_have_count(0)  # not an http(s) link
        await expect(message.locator('a[href="tel:18001096"]')).to_have_count(1)
        await expect(message.locator('.text a[href="https://dichvucong.gov.vn/"]')).to_have_count(1)
        # a decline carries the portal and hotline as links too
        await ask(page, "thủ tục cấp phép bay drone")
        await expect(page.locator(".msg.bot").last.locator('a[href^="tel:"]')).not_to_have_count(0)
        assert not problems, problems
        await context.close()


# -- the widget on another site ---------------------------------------------------------------

HOST_PAGE = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>Cổng dịch vụ công (trang thử)</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
button, span, div {{ font-size: 40px !important; background: #ff0000 !important;
  color: #ffff00 !important; border-radius: 0 !important; }}
* {{ font-family: serif !important; }}
</style></head>
<body><header><h1>Cổng dịch vụ công tỉnh Quảng Trị</h1></header>
<main><p>Trang của cổng, với chat của trợ lý ở góc dưới.</p></main>
<script src="{bot}/widget.js" defer></script>
</body></html>"""

FRAMING_PAGE = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>x</title>
<link rel="icon" href="data:,"></head>
<body><iframe title="chat" src="{bot}/chat?embed=1"></iframe></body></html>"""


Serve = Callable[[], Awaitable[web.AppRunner]]


async def host_site(port: int, page: str) -> web.AppRunner:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def test_the_widget_on_the_portal(browser: Browser, tmp_path: Path) -> None:
    host_port, bot_port, other_port = free_port(), free_port(), free_port()
    host = f"http://127.0.0.1:{host_port}"
    settings = web_settings(tmp_path, web_allowed_origins=host)
    async with serve(settings, port=bot_port) as running:
        bot = running.base
        portal = await host_site(host_port, HOST_PAGE.format(bot=bot))
        other = await host_site(other_port, HOST_PAGE.format(bot=bot))
        try:
            await widget_scenario(browser, running, host)
            await refused_elsewhere(browser, running, f"http://127.0.0.1:{other_port}")
        finally:
            await portal.cleanup()
            await other.cleanup()


async def widget_scenario(browser: Browser, running: Running, host: str) -> None:
    context, page, problems = await new_page(browser, DESKTOP, axe_ready=True)
    await page.goto(host)
    launcher = page.get_by_role("button", name=t("web.widget_open"))
    await expect(launcher).to_be_visible()
    style = await launcher.evaluate(
        "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.fontSize]; }")
    assert style == ["rgb(11, 74, 139)", "16px"]  # the portal's own styles do not reach it
    box = await launcher.bounding_box()
    assert box and box["x"] + box["width"] > 1200 and box["y"] + box["height"] > 740  # corner
    await shot(page, "widget-closed-1280")
    await axe(page, "widget-closed-1280", include="[data-dvcbot]")
    await launcher.click()
    dialog = page.get_by_role("dialog", name=t("web.title"))
    await expect(dialog).to_be_visible()
    frame = page.frame_locator(f'iframe[title="{t("web.title")}"]')
    await expect(frame.locator(".msg.bot").first).to_contain_text(t("bot.name"))
    await expect(frame.get_by_label("Câu hỏi của bạn")).to_be_focused()
    await ask(frame, "đổi giấy phép lái xe")  # type: ignore[arg-type]
    await expect(frame.locator(".msg.bot").last).to_contain_text("Đổi giấy phép lái xe")
    await frame.get_by_role("button", name="Lệ phí", exact=True).last.click()
    await expect(frame.locator(".msg.bot").last).to_contain_text("Lệ phí")
    await frame.get_by_role("button", name="🙂 Hài lòng").last.click()
    await expect(frame.locator(".msg.bot").last).to_contain_text(t("rating.thanks"))
    await shot(page, "widget-open-1280")
    await axe(page, "widget-open-1280", include="[data-dvcbot]")
    chat_frame = next(f for f in page.frames if "/chat?embed=1" in f.url)
    await axe(chat_frame, "widget-frame-1280")
    # Escape in the chat closes the panel and gives the focus back to the button
    await frame.get_by_label("Câu hỏi của bạn").press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(launcher).to_be_focused()
    await launcher.click()
    await page.get_by_role("button", name=t("web.widget_close")).click()
    await expect(dialog).to_be_hidden()
    await launcher.click()
    said = await frame.locator(".msg").all_inner_texts()
    await page.reload()  # the panel opens again where it was, with the conversation
    await expect(page.get_by_role("dialog", name=t("web.title"))).to_be_visible()
    await expect(frame.locator(".msg")).to_have_count(len(said))
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    panel = await page.get_by_role("dialog").bounding_box()
    assert panel and panel["width"] == 360 and panel["x"] == 0  # the whole screen on a phone
    await shot(page, "widget-open-360")
    await axe(page, "widget-open-360", include="[data-dvcbot]")
    ratings = list(running.services.store.db.execute("SELECT channel, value FROM ratings"))
    assert ratings == [("web", 2)]
    assert not problems, problems
    await context.close()


async def refused_elsewhere(browser: Browser, running: Running, other: str) -> None:
    """A site that is not in WEB_ALLOWED_ORIGINS gets no button, and cannot frame the chat."""
    context, page, problems = await new_page(browser, DESKTOP)
    await page.goto(other)
    await page.wait_for_load_state("networkidle")
    assert await page.locator("[data-dvcbot]").count() == 0
    assert any("is not in WEB_ALLOWED_ORIGINS" in p for p in problems + await warnings(page))
    framing = await host_site(port := free_port(), FRAMING_PAGE.format(bot=running.base))
    try:
        await page.goto(f"http://127.0.0.1:{port}/")
        await page.wait_for_load_state("networkidle")
        child = page.frames[1]
        assert await child.locator("#dvc-chat").count() == 0  # refused by frame-ancestors
    finally:
        await framing.cleanup()
    await context.close()


async def warnings(page: Page) -> list[str]:
    """Console warnings of a reload (the widget says why it does not show)."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text))
    await page.reload()
    await page.wait_for_load_state("networkidle")
    return seen
