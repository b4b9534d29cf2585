"""Hand-over in a real browser (headless Chromium, as ``tests/test_web_browser.py``): a citizen in
the web chat asks for a person, an official answers on the dashboard, and the answer appears in
the chat page by itself (the page asks while the ticket is open) — once, also after a reload.
The tickets pages pass axe-core and read on a 390 px phone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.test_web_browser import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    DESKTOP,
    NO_OVERLAP,
    PHONE,
    ask,
    axe,
    bot_says,
    log_in,
    new_page,
    require_tools,
    shot,
)
from tests.web_support import make_account, serve, web_settings

POLL_WAIT = 20_000  # ms: the page asks every 10 s


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    require_tools()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def test_a_dashboard_answer_appears_in_the_chat_page_once(chromium: Browser,
                                                                tmp_path: Path) -> None:
    browser = chromium
    async with serve(web_settings(tmp_path)) as running:
        await make_account(running.services)
        chat_context, chat, problems = await new_page(browser)
        await chat.goto(f"{running.base}/chat")
        await ask(chat, "cho mình gặp cán bộ")
        await bot_says(chat, "Mã yêu cầu")
        text = await chat.locator(".msg.bot").last.inner_text()
        found = re.search(r"DVC-[0-9A-Z]{4}", text)
        assert found
        code = found.group(0)

        office_context, office, office_problems = await new_page(browser, PHONE,
                                                                 axe_ready=True)
        await log_in(office, running.base)
        await office.get_by_role("link", name="Yêu cầu gặp cán bộ").click()
        await expect(office.locator(f'tr[data-ticket="{code}"]')).to_have_attribute(
            "data-state", "open")
        assert await office.evaluate(NO_OVERLAP) == []
        await axe(office, "tickets-360")
        await office.get_by_role("link", name=code).click()
        await axe(office, "ticket-360")
        await shot(office, "ticket-360")
        await office.get_by_label(re.compile("Câu trả lời")).fill(
            "Chào bạn, bạn có thể nộp hồ sơ trực tuyến trên Cổng dịch vụ công.")
        await office.get_by_role("button", name="Gửi câu trả lời").click()
        await expect(office.get_by_role("status")).to_contain_text("đang được gửi")

        answer = chat.locator(".msg.bot", has_text="nộp hồ sơ trực tuyến trên Cổng")
        await expect(answer).to_have_count(1, timeout=POLL_WAIT)
        await expect(answer).to_contain_text(code)
        await expect(answer.get_by_role("button", name="😊 Rất hài lòng")).to_be_visible()
        await chat.reload()
        await expect(answer).to_have_count(1)
        await chat.wait_for_timeout(11_000)  # another round of asking: nothing new
        await expect(answer).to_have_count(1)
        await office.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
        await axe(office, "ticket-1280")
        assert not problems, problems
        assert not office_problems, office_problems
        await chat_context.close()
        await office_context.close()
