"""Hand-over, part by part: office hours, codes, when a person is offered, tickets in the store,
the desk's relay (console, dashboard → web chat), the officials' figures, learning from answered
tickets, comments that reach people, and what is kept about the citizen and for how long."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import Runtime, build_dialog, build_services
from bot.channels.console import ConsoleChat
from bot.config import ConfigError, Settings, load_settings
from bot.conversation import actions
from bot.conversation.actions import AskPerson, CloseTicket, TakeTicket
from bot.conversation.dialog import Services
from bot.handoff.codes import ALPHABET, find_code, leading_code, new_code
from bot.handoff.desk import Desk
from bot.handoff.hours import LOCAL_TZ, OfficeHours
from bot.reports.as_html import to_html
from bot.reports.as_text import full_text
from bot.reports.gaps import learn
from bot.reports.handoff import handoff_figures
from bot.reports.indicator import Period, names_from, summarise
from bot.store import tickets
from tests.conftest import Chat
from tests.web_support import Browserish, make_account, serve, web_settings

KEY = "test-key-123456"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


# -- office hours and codes ------------------------------------------------------------------------


def test_office_hours_open_next_opening_and_working_time() -> None:
    hours = OfficeHours.parse("Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30",
                              [dt.date(2026, 1, 1)])
    monday_noon = local(2026, 1, 5, 12, 0)  # lunch break
    assert not hours.is_open(monday_noon)
    assert hours.next_open(monday_noon) == local(2026, 1, 5, 13, 30)
    assert hours.is_open(local(2026, 1, 5, 8, 0))
    assert hours.closes_at(local(2026, 1, 5, 8, 0)) == local(2026, 1, 5, 11, 30)
    friday_evening = local(2026, 1, 9, 18, 0)
    assert hours.next_open(friday_evening) == local(2026, 1, 10, 7, 30)  # Saturday morning
    assert hours.next_open(local(2026, 1, 10, 12, 0)) == local(2026, 1, 12, 7, 30)  # Monday
    assert hours.next_open(local(2025, 12, 31, 20, 0)) == local(2026, 1, 2, 7, 30)  # holiday
    assert hours.day_seconds == 7.5 * 3600
    # Friday 16:00 → Monday 10:00: 1 h on Friday, 4 h on Saturday, 2.5 h on Monday
    assert hours.working_seconds(local(2026, 1, 9, 16, 0), local(2026, 1, 12, 10, 0)) == 7.5 * 3600
    assert hours.within_working_day(local(2026, 1, 9, 16, 0), local(2026, 1, 12, 10, 0))
    assert not hours.within_working_day(local(2026, 1, 9, 16, 0), local(2026, 1, 12, 10, 1))
    assert hours.working_day_deadline(local(2026, 1, 9, 16, 0)) == local(2026, 1, 12, 10, 0)
    assert OfficeHours.parse("T2-T6 08:00-12:00").is_open(local(2026, 1, 6, 9, 0))


@pytest.mark.parametrize("bad", ["Mon-Fri", "Mon-Fri 7h30-11h30", "Xyz 08:00-09:00",
                                 "Mon 09:00-08:00", "Mon 08:00-10:00,09:00-11:00",
                                 "Mon 08:00-09:00; Mon 10:00-11:00"])
def test_wrong_office_hours_stop_the_start_with_a_reason(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match="OFFICE_HOURS"):
        load_settings(environ={"OFFICE_HOURS": bad}, dotenv=None, data_dir=tmp_path,
                      pseudonym_key=KEY)


def test_settings_read_staff_ids_and_holidays(tmp_path: Path) -> None:
    settings = load_settings(environ={"TELEGRAM_STAFF_CHAT_ID": "-100123",
                                      "TELEGRAM_STAFF_IDS": "7001, 7002",
                                      "OFFICE_HOLIDAYS": "2026-02-16,2026-02-17"},
                             dotenv=None, data_dir=tmp_path, pseudonym_key=KEY)
    assert settings.telegram_staff_chat_id == -100123
    assert settings.telegram_staff_ids == (7001, 7002)
    assert not settings.hours.is_open(local(2026, 2, 16, 9, 0))


def test_codes_are_short_unambiguous_and_found_as_typed() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(re.fullmatch(f"DVC-[{ALPHABET}]{{4}}", c) for c in codes) and len(codes) > 190
    assert not set("015ILOSUVZ2") & set(ALPHABET)
    assert find_code("ma cua em la dvc 7k3f a") == "DVC-7K3F"
    assert find_code("DVC7K3F") == "DVC-7K3F" and find_code("DVC-7K3") is None
    assert leading_code("dvc-7k3f: Chào bạn") == ("DVC-7K3F", "Chào bạn")
    assert leading_code("Chào DVC-7K3F") == (None, "Chào DVC-7K3F")


def test_staff_actions_pack_and_parse() -> None:
    for action in (TakeTicket(12), CloseTicket(345)):
        assert actions.parse(actions.pack(action)) == action
    assert isinstance(actions.parse("tt:x"), actions.Stale)
    assert actions.pack(AskPerson(7)) == "h:7"


# -- when a person is offered, and the ticket ------------------------------------------------------


def ticket_rows(services: Services) -> list[dict[str, Any]]:
    return list(services.store.db["tickets"].rows)


async def test_two_not_satisfied_ratings_offer_a_person(chat: Chat, services: Services) -> None:
    await chat.say("đăng ký kết hôn")
    [why] = await chat.press(chat.button("Không hài lòng"))
    assert not why.presents.handoff
    await chat.say("đăng ký khai sinh")
    [why] = await chat.press(chat.button("Không hài lòng"))
    assert why.presents.handoff
    [opened] = await chat.press(chat.button("Gặp cán bộ"))
    code = opened.presents.ticket
    assert code and code in opened.text
    [ticket] = ticket_rows(services)
    assert ticket["reason"] == "unhappy" and ticket["entry_id"] == "khai-sinh"
    assert ticket["channel"] == "console" and ticket["state"] == "open"
    turns = json.loads(ticket["transcript"])
    assert [t["text"] for t in turns] == ["đăng ký kết hôn", "đăng ký khai sinh"]


async def test_a_person_in_english_and_masked_personal_data(dialog: Any,
                                                           services: Services) -> None:
    chat = Chat(dialog, locale="en")
    [opened] = await chat.say("I want to talk to a real person, my phone is 0912 345 678")
    assert "request code" in opened.text and opened.presents.lang == "en"
    [ticket] = ticket_rows(services)
    assert ticket["lang"] == "en"
    stored = json.dumps(list(services.store.db["ticket_messages"].rows), ensure_ascii=False)
    assert "[số điện thoại]" in stored + (ticket["question"] or "")
    assert "0912" not in stored + (ticket["question"] or "")


async def test_without_staff_anywhere_the_citizen_is_told_how_to_reach_them(
        tmp_path: Path) -> None:
    settings = load_settings(environ={}, dotenv=None, data_dir=tmp_path / "data",
                             pseudonym_key=KEY, web_enabled=False)
    services = build_services(settings)
    try:
        [reply] = await Chat(build_dialog(services)).say("cho mình gặp cán bộ")
        assert reply.presents.handoff and reply.presents.ticket is None
        assert "18001096" in reply.text
        assert ticket_rows(services) == []
    finally:
        services.store.close()


# -- the desk: console, dashboard → web chat -------------------------------------------------------


async def test_a_dashboard_answer_reaches_the_console_chat(services: Services) -> None:
    written: list[str] = []
    console = ConsoleChat(build_dialog(services), write=written.append)
    desk = services.desk
    assert desk is not None
    desk.register(console)
    async with Runtime(services, jobs=[]).running():
        await console.turn("cho mình gặp cán bộ")
        [ticket] = ticket_rows(services)
        await desk.answer(ticket, "minh", "dashboard", "Bạn mang theo căn cước công dân.")
        for _ in range(100):
            if any("căn cước công dân" in w for w in written):
                break
            await asyncio.sleep(0.05)
    shown = "\n".join(written)
    assert "căn cước công dân" in shown and ticket["code"] in shown
    assert "Rất hài lòng" in shown  # the rating buttons, numbered
    [message] = list(services.store.db["ticket_messages"].rows)
    assert message["delivery"] == "sent" and message["via"] == "dashboard"


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Any]:
    async with serve(web_settings(tmp_path), plugin=__import__(
            "bot.channels.web.channel", fromlist=["web_plugin"]).web_plugin) as app:
        app.channel.dashboard.failed_delay = 0.0
        assert app.services.desk is not None
        await make_account(app.services)
        yield app


async def test_the_dashboard_queue_answers_a_web_chat_citizen(web: Any) -> None:
    citizen, official = Browserish(web.base), Browserish(web.base)
    try:
        await citizen.open_chat()
        opened = await citizen.say("cho toi gap can bo hoi ve the can cuoc")
        code = find_code(opened["replies"][0]["text"])
        assert code and opened["poll"] is True
        assert (await official.http.get(f"{web.base}/admin/tickets",
                                        allow_redirects=False)).status == 303
        await official.log_in()
        queue = await (await official.http.get(f"{web.base}/admin/tickets")).text()
        assert f'data-ticket="{code}"' in queue and 'data-state="open"' in queue
        assert 'data-handoff-opened="1"' in queue
        page = await (await official.http.get(f"{web.base}/admin/tickets/{code}")).text()
        assert "the can cuoc" in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        post = await official.http.post(
            f"{web.base}/admin/tickets/{code}/answer", allow_redirects=False,
            data={"csrf": csrf.group(1), "text": "Bạn đặt lịch trên VNeID rồi đến công an xã."},
            headers={"Origin": web.base})
        assert post.status == 303 and post.headers["Location"].endswith("done=answer")
        forged = await official.http.post(f"{web.base}/admin/tickets/{code}/close",
                                          data={"csrf": "x"}, headers={"Origin": web.base})
        assert forged.status == 403
        got: dict[str, Any] = {"replies": []}
        for _ in range(100):
            got = await (await citizen.http.get(f"{web.base}/chat/api/updates?after=0")).json()
            if got["replies"]:
                break
            await asyncio.sleep(0.05)
        [relayed] = got["replies"]
        assert "đặt lịch trên VNeID" in relayed["text"] and code in relayed["text"]
        detail = await (await official.http.get(f"{web.base}/admin/tickets/{code}")).text()
        assert "đã gửi tới công dân" in detail
        # learning: the entry in focus gets a suggested alias (never added by itself)
        gaps = await (await official.http.get(f"{web.base}/admin/gaps")).text()
        assert code in gaps
        await official.http.post(f"{web.base}/admin/tickets/{code}/close",
                                 data={"csrf": csrf.group(1)}, headers={"Origin": web.base})
        rows = list(web.services.store.db.execute(
            "SELECT state, closed_by FROM tickets").fetchall())
        assert rows == [("closed", "minh")]
        assert list(web.services.store.db["ticket_contacts"].rows) == []
        after = await (await citizen.http.get(f"{web.base}/chat/api/updates?after=0")).json()
        assert after["poll"] is False
    finally:
        await citizen.close()
        await official.close()


async def test_a_dashboard_answer_past_zalo_window_is_held_and_said(services: Services) -> None:
    store, desk = services.store, services.desk
    assert desk is not None
    ref = "za-0123"
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=9)).isoformat(timespec="seconds")
    await store.call(lambda: store.save_user(ref, "zalo", locale="vi"))
    await store.call(lambda: store.db.execute("UPDATE users SET updated = ? WHERE ref = ?",
                                              [old, ref]))
    ticket = await desk.open(user=ref, channel="zalo", lang="vi", address="246", entry_id=None,
                             question="hỏi về sổ đỏ", request=None, reason="asked")
    result = await desk.answer(ticket, "minh", "dashboard", "Trả lời")
    assert result["delivery"] == "window_closed" and result["last_seen"] == old
    [(state,)] = store.db.execute("SELECT state FROM handoff_outbox WHERE kind = 'relay'")
    assert state == "held"
    # the citizen writes again (their state is saved): the answer is due again
    await store.call(lambda: store.save_user(ref, "zalo", locale="vi"))
    assert await store.call(tickets.release_held, store) == [ticket["id"]]


# -- figures, comments, learning -------------------------------------------------------------------


def add_ticket(services: Services, opened: str, answered: str | None,
               state: str = "answered", code: str = "DVC-AAAA") -> None:
    services.store.db.execute(
        "INSERT INTO tickets (code, opened, user_ref, channel, lang, state, answered, question) "
        "VALUES (?, ?, 'u', 'zalo', 'vi', ?, ?, 'hỏi')", [code, opened, state, answered])


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def test_figures_opened_answered_median_and_one_working_day(services: Services) -> None:
    hours = OfficeHours.parse("Mon-Fri 07:30-11:30,13:30-17:00")
    monday = local(2026, 1, 5, 9, 0)
    add_ticket(services, utc(monday), utc(monday + dt.timedelta(hours=1)), code="DVC-AAA3")
    # Friday 16:00 → Monday 11:00: 1 h + 3.5 h of office time: within one working day
    add_ticket(services, utc(local(2026, 1, 9, 16, 0)), utc(local(2026, 1, 12, 11, 0)),
               code="DVC-AAA4")
    # Monday 9:00 → Wednesday 9:00: two working days
    add_ticket(services, utc(monday), utc(local(2026, 1, 7, 9, 0)), "closed", "DVC-AAA6")
    add_ticket(services, utc(monday), None, "open", "DVC-AAA7")  # waited long, not answered
    bounds = Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31)).utc_bounds()
    figures = handoff_figures(services.store.db, bounds, hours, now=local(2026, 1, 20, 9, 0))
    assert (figures.opened, figures.answered, figures.closed, figures.waiting) == (4, 3, 1, 1)
    assert figures.median_seconds == 48 * 3600  # 1 h, 48 h, 67 h
    assert figures.median_working_seconds == 4.5 * 3600  # 1 h, 4.5 h, 15 h of office time
    assert (figures.within_day, figures.judged) == (2, 4)
    assert figures.share_within_day == 0.5
    # a ticket opened a moment ago and not answered yet is not counted against anyone
    fresh = handoff_figures(services.store.db, bounds, hours, now=local(2026, 1, 5, 9, 30))
    assert fresh.judged == 3


def test_report_shows_hand_over_figures_and_comments(services: Services) -> None:
    db = services.store.db
    monday = local(2026, 1, 5, 9, 0)
    add_ticket(services, utc(monday), utc(monday + dt.timedelta(hours=2)))
    db.execute("INSERT INTO answers (id, ts, user_ref, channel, entry_id, decision) VALUES "
               "(1, ?, 'u', 'zalo', 'khai-sinh', 'answer')", [utc(monday)])
    db.execute("INSERT INTO ratings (answer_id, ts, user_ref, channel, value, satisfied, "
               "scale_size, entry_id) VALUES (1, ?, 'u', 'zalo', 1, 0, 3, 'khai-sinh')",
               [utc(monday)])
    db.execute("INSERT INTO reasons (answer_id, reason, ts) VALUES (1, 'thieu', ?)",
               [utc(monday)])
    services.store.save_comment(1, "thiếu mẫu tờ khai, gọi 0912345678")
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    summary = summarise(db, period, names_from(services.knowledge.kb),
                        OfficeHours.parse("Mon-Fri 07:30-11:30,13:30-17:00"))
    text = full_text(summary)
    assert "Chuyển cán bộ" in text and "Yêu cầu: 1 · Đã trả lời: 1 (100,0%)" in text
    assert "Thời gian đến câu trả lời đầu tiên (trung vị): 2 giờ 00 phút" in text
    assert "Trả lời trong một ngày làm việc: 100,0% (1/1)" in text
    assert "“thiếu mẫu tờ khai, gọi [số điện thoại]”" in text
    assert "Đăng ký khai sinh · Thiếu thông tin" in text
    html = to_html(summary)
    assert "thiếu mẫu tờ khai" in html and "Trả lời trong một ngày làm việc" in html
    assert "Thiếu thông tin" in full_text(summary).split("Lý do khi không hài lòng")[1]


async def test_officials_read_comments_in_chat(dialog: Any, services: Services) -> None:
    citizen = Chat(dialog, user="1")
    await citizen.say("đăng ký kết hôn")
    await citizen.press(citizen.button("Không hài lòng"))
    await citizen.press(citizen.button("Khó hiểu"))
    await citizen.say("/comment nên ghi rõ phải mang bản chính")
    [refused] = await citizen.say("/comments")
    assert "quản trị" in refused.text
    [reply] = await Chat(dialog, user="2", admin=True).say("/comments")
    assert "nên ghi rõ phải mang bản chính" in reply.text
    assert "Khó hiểu" in reply.text and "Đăng ký kết hôn" in reply.text


def test_answered_tickets_become_suggestions_never_edits(services: Services) -> None:
    kb = services.knowledge.kb
    rows: list[dict[str, Any]] = [
        {"code": "DVC-AAA3", "entry_id": "khai-sinh",
         "question": "cho em hỏi khai sinh cho bé sinh ở nước ngoài cần gì ạ",
         "answer": "Bạn làm thủ tục ghi vào sổ hộ tịch việc khai sinh."},
        {"code": "DVC-AAA4", "entry_id": None, "question": "xin phép tổ chức đám cưới ngoài đường",
         "answer": "Bạn liên hệ UBND xã nơi tổ chức."},
    ]
    alias, draft = learn(rows, kb, "vi", dt.date(2026, 1, 5))
    assert alias.alias == "khai sinh cho bé sinh ở nước ngoài" and alias.draft is None
    assert draft.alias is None and draft.draft is not None
    assert draft.draft.startswith("# BẢN NHÁP từ yêu cầu DVC-AAA4")
    import yaml

    entry = yaml.safe_load(draft.draft)
    assert entry["kind"] == "faq" and entry["answer"] == "Bạn liên hệ UBND xã nơi tổ chức."
    assert entry["reviewed"] == "2026-01-05" and "dam-cuoi" in entry["id"]


def test_kb_gaps_lists_what_answered_tickets_teach(services: Services, settings: Settings,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    from bot.cli.main import main

    store = services.store
    db = store.db
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    db.execute("INSERT INTO tickets (id, code, opened, user_ref, channel, lang, entry_id, state, "
               "answered, question) VALUES (1, 'DVC-AAA3', ?, 'u', 'web', 'vi', 'khai-sinh', "
               "'answered', ?, 'làm khai sinh cho con nuôi cần gì')", [now, now])
    db.execute("INSERT INTO ticket_messages (ticket_id, ts, author, staff, text) "
               "VALUES (1, ?, 'staff', 'minh', 'Bạn mang giấy tờ nhận nuôi.')", [now])
    services.store.close()
    monkeypatch.chdir(tmp_path)
    env = {"DATA_DIR": str(settings.data_dir), "PSEUDONYM_KEY": KEY}
    result = CliRunner().invoke(main, ["kb", "gaps"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "DVC-AAA3" in result.output and "- làm khai sinh cho con nuôi" in result.output
    assert "Không mục nào được thêm tự động" in result.output
    report = CliRunner().invoke(main, ["report"], env=env, catch_exceptions=False)
    assert "Chuyển cán bộ" in report.output and "Yêu cầu: 1" in report.output


# -- what is kept about the citizen, and for how long ----------------------------------------------


async def test_contacts_go_when_tickets_close_or_expire_and_texts_expire(
        services: Services) -> None:
    store, desk = services.store, services.desk
    assert desk is not None
    first = await desk.open(user="u1", channel="telegram", lang="vi", address="111",
                            entry_id=None, question="a", request=None, reason="asked")
    second = await desk.open(user="u2", channel="telegram", lang="vi", address="222",
                             entry_id=None, question="b", request=None, reason="asked")
    assert {r["address"] for r in store.db["ticket_contacts"].rows} == {"111", "222"}
    await desk.close(first["id"], "minh")
    assert [r["address"] for r in store.db["ticket_contacts"].rows] == ["222"]
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).isoformat(timespec="seconds")
    store.db.execute("UPDATE tickets SET opened = ? WHERE id = ?", [long_ago, second["id"]])
    await desk.housekeeping()  # HANDOFF_CLOSE_DAYS, RETENTION_DAYS
    assert list(store.db["ticket_contacts"].rows) == []
    rows = {r["id"]: r for r in store.db["tickets"].rows}
    assert rows[second["id"]]["state"] == "closed" and rows[second["id"]]["closed_by"] == "auto"
    assert rows[second["id"]]["question"] is None  # older than RETENTION_DAYS
    assert rows[first["id"]]["question"] == "a"


async def test_the_desk_without_channels_leaves_work_for_those_that_have_them(
        services: Services) -> None:
    desk = Desk(services.settings, services.store, services.renderer, services.knowledge)
    ticket = await desk.open(user="u1", channel="zalo", lang="vi", address="1", entry_id=None,
                             question="a", request=None, reason="asked")
    await desk.answer(ticket, "minh", "dashboard", "trả lời")
    assert await desk.work() == 0  # no Zalo here: another process (the one serving Zalo) does it
    [(state,)] = services.store.db.execute("SELECT state FROM handoff_outbox")
    assert state == "pending"
