"""The durable inbox and the store's worker: committed before acknowledged, handled once,
effects journaled, finished atomically, recovered at start-up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_dialog, build_services
from bot.channels.intake import Outcome, decode, encode
from bot.config import Settings, load_settings
from bot.conversation.actions import Rate, ShowEntry
from bot.conversation.dialog import Handled
from bot.conversation.replies import Button, Incoming, Reply
from bot.store.inbox import MAX_ATTEMPTS, Arrival, EventKey, Inbox, cutoff, handling
from bot.store.store import Store
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.test_telegram import make_channel, polling, recorded

CITIZEN = 5120348871


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = Store(tmp_path / "data" / "dvcbot.sqlite3")
    yield opened
    opened.close()


# -- the worker: batches, one commit each, errors per call -----------------------------------------


async def test_calls_queued_together_share_one_commit(store: Store) -> None:
    before = store.worker.batches
    results = await asyncio.gather(*(store.call(store.log_answer, f"u{i}", "console", "service")
                                     for i in range(50)))
    assert sorted(results) == list(range(1, 51))
    assert store.worker.batches - before < 10  # 50 calls, a handful of transactions


async def test_a_failing_call_rolls_back_alone_and_raises_in_its_caller(store: Store) -> None:
    def half_then_fail() -> None:
        store.log_answer("u1", "console", "service")
        raise ValueError("boom")

    good = store.call(store.log_answer, "u2", "console", "service")
    bad = store.call(half_then_fail)
    also_good = store.call(store.log_answer, "u3", "console", "service")
    results = await asyncio.gather(good, bad, also_good, return_exceptions=True)
    assert isinstance(results[1], ValueError)
    rows = [r["user_ref"] for r in store.db["answers"].rows]
    assert rows == ["u2", "u3"]  # the failing call's write is gone, the others are kept


async def test_a_call_returns_once_committed(store: Store, tmp_path: Path) -> None:
    await store.call(store.log_answer, "u1", "console", "service")
    other = Store(tmp_path / "data" / "dvcbot.sqlite3")  # another connection sees it at once
    try:
        assert [r["user_ref"] for r in other.db["answers"].rows] == ["u1"]
    finally:
        other.close()


# -- accept, finish, progress, purge ---------------------------------------------------------------


async def test_an_event_is_accepted_once(store: Store) -> None:
    inbox = Inbox.of(store)
    first = await inbox.accept("telegram", [Arrival("1", "{}"), Arrival("2", "{}")])
    again = await inbox.accept("telegram", [Arrival("2", "{}"), Arrival("3", "{}")])
    other = await inbox.accept("zalo", [Arrival("2", "{}")])
    assert (first, again, other) == ([True, True], [False, True], [True])


async def test_finish_saves_state_done_mark_and_outbox_together(store: Store) -> None:
    inbox = Inbox.of(store)
    await inbox.accept("telegram", [Arrival("9", '{"secret": "payload"}')])
    handled = Handled([], "tg-user", "telegram", None)
    outcome = Outcome(CITIZEN, [Reply("hello", buttons=((Button("x", ShowEntry("ket-hon")),),))])

    def fail_after(store_: Store) -> None:
        store_.save_user("tg-user", "telegram", locale="en")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        await inbox.finish(EventKey("telegram", "9"), fail_after, encode(outcome))
    row = store.db.execute("SELECT state, payload, outbox FROM inbox").fetchone()
    assert row == ("new", '{"secret": "payload"}', None)  # nothing of it kept
    assert store.user("tg-user")["locale"] is None

    await inbox.finish(EventKey("telegram", "9"), handled.save, encode(outcome))
    state, payload, outbox = store.db.execute("SELECT state, payload, outbox FROM inbox").fetchone()
    assert (state, payload) == ("done", None)  # the platform's JSON is gone once handled
    assert decode(outbox).replies[0].text == "hello"

    inbox.progress("telegram", "9", 1, True)
    await store.call(lambda: None)  # the deferred mark goes with the next batch
    assert store.db.execute("SELECT state, outbox FROM inbox").fetchone() == ("sent", None)


async def test_old_finished_event_ids_are_forgotten_open_ones_kept(store: Store) -> None:
    inbox = Inbox.of(store)
    await inbox.accept("telegram", [Arrival("old", "{}"), Arrival("open", "{}")])
    await inbox.finish(EventKey("telegram", "old"), None, None)
    removed = await store.call(inbox.purge, cutoff(-1))  # everything older than an hour ahead
    assert removed == 1
    assert [r["event_id"] for r in store.db["inbox"].rows] == ["open"]


async def test_an_event_that_keeps_failing_at_start_up_is_set_aside(store: Store) -> None:
    inbox = Inbox.of(store)
    await inbox.accept("telegram", [Arrival("poison", "{}")])
    for _ in range(MAX_ATTEMPTS):
        assert [p.event_id for p in await inbox.pending("telegram")] == ["poison"]
    assert await inbox.pending("telegram") == []
    assert store.db.execute("SELECT state FROM inbox").fetchone() == ("failed",)


def test_replies_survive_the_outbox() -> None:
    reply = Reply("text", title="Title", kind="answer", answer_id=7, image=b"\x89PNG..",
                  image_name="c.png",
                  buttons=((Button("Lệ phí", ShowEntry("khai-sinh", "fee")),
                            Button("Cổng", url="https://dichvucong.gov.vn")),
                           (Button("😊", Rate(7, 3)),)))
    back = decode(encode(Outcome("246845883529197922", [reply])))
    assert back.to == "246845883529197922"
    assert back.replies == [reply]


# -- the journal: a crash mid-handling writes nothing twice ----------------------------------------


async def test_handling_again_after_a_crash_replays_the_journal(settings: Settings) -> None:
    services = build_services(settings)
    dialog = build_dialog(services)
    inbox = Inbox.of(services.store)
    await inbox.accept("console", [Arrival("ev-1", "{}")])
    incoming = Incoming("console", "co-user", text="đăng ký kết hôn")
    with handling(EventKey("console", "ev-1")):
        first = await dialog.handle(incoming)  # … and the process dies before finish
    services.store.close()

    again = build_services(settings)  # the next start: a new store, nothing cached
    try:
        inbox = Inbox.of(again.store)
        [pending] = await inbox.pending("console")
        key = EventKey("console", pending.event_id, replay=True)
        with handling(key):
            second = await build_dialog(again).handle(incoming)
        await inbox.finish(key, second.save, None)
        db = again.store.db
        assert [r["text"] for r in db["questions"].rows] == ["đăng ký kết hôn"]
        assert len(list(db["answers"].rows)) == 1
        assert first.replies[0].answer_id == second.replies[0].answer_id  # the same buttons
        assert list(db["inbox_journal"].rows) == []
        state = json.loads(again.store.user("co-user")["state"])
        assert state["focus_entry"] == "ket-hon"
    finally:
        again.store.close()


# -- start-up: what the last run left is handled first ---------------------------------------------


async def test_start_up_handles_unfinished_events_and_sends_undelivered_replies(
        settings: Settings) -> None:
    async with FakeTelegram() as fake:
        configured = load_settings(environ={}, dotenv=None, data_dir=settings.data_dir,
                                   pseudonym_key="test-key-123456", telegram_bot_token=TOKEN,
                                   telegram_api_url=fake.url)
        services = build_services(configured)
        try:
            inbox = Inbox.of(services.store)
            update = recorded("message_text")  # accepted, then the process died
            undelivered = encode(Outcome(6000009, [Reply("first", title="Left"),
                                                   Reply("second")]))
            await inbox.accept("telegram", [Arrival(str(update["update_id"]),
                                                    json.dumps(update)),
                                            Arrival("555", None)])
            await inbox.finish(EventKey("telegram", "555"), None, undelivered)
            inbox.progress("telegram", "555", 1, False)  # the first message went out
            async with polling(make_channel(services)):
                [answer] = await fake.wait_for(
                    "sendMessage", where=lambda c: c.params["chat_id"] == CITIZEN)
                [resent] = await fake.wait_for(
                    "sendMessage", where=lambda c: c.params["chat_id"] == 6000009)
            counts = await services.store.call(inbox.counts)
        finally:
            services.store.close()
    assert "khai sinh" in answer.params["text"].lower()
    assert resent.params["text"] == "second"  # only what was not confirmed
    assert counts == {"sent": 2}
