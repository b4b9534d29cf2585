"""Retention: raw question texts and comments go after RETENTION_DAYS; every count stays."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from bot.app import build_services, default_jobs
from bot.config import Settings
from bot.conversation.dialog import Services
from bot.reports.indicator import summarise
from bot.store import retention
from bot.store.retention import Purged, purge, retention_job, run_once
from bot.store.store import Store, StoreDatabase
from tests.test_satisfaction import JAN_FEB, at, figures, seed

NOW = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)


def comment(db: StoreDatabase, ts: str, text: str) -> None:
    db.table("comments").insert({"answer_id": 1, "ts": ts, "text": text})


def processed(db: StoreDatabase, ts: str, event_id: str) -> None:
    db.table("processed").insert({"channel": "telegram", "event_id": event_id, "ts": ts})


@pytest.fixture
def store(services: Services) -> Store:
    db = services.store.db
    seed(db)  # January 2026 (and one December 2025 question)
    comment(db, at("2026-01-06"), "lệ phí chưa rõ")
    comment(db, at("2027-02-20"), "thiếu giấy tờ")
    processed(db, "2027-02-01T00:00:00+00:00", "old")
    processed(db, "2027-02-28T00:00:00+00:00", "recent")
    return services.store


def texts(db: StoreDatabase) -> list[str | None]:
    return [row[0] for row in db.execute("SELECT text FROM questions ORDER BY id").fetchall()]


def test_purge_deletes_old_texts_and_comments_but_keeps_every_count(store: Store) -> None:
    db = store.db
    before = summarise(db, JAN_FEB)
    # 365 days before 1 Mar 2027 is 1 Mar 2026: all of January 2026 is older
    assert purge(store, 365, NOW) == Purged(question_texts=10, comments=1, processed=1)
    assert texts(db) == [None] * 10
    assert [r["text"] for r in db["comments"].rows] == ["thiếu giấy tờ"]
    assert [r["event_id"] for r in db["processed"].rows] == ["recent"]  # kept 7 days
    after = summarise(db, JAN_FEB)
    # the indicator and the usage counts are unchanged: 22 ratings, 18 satisfied; 9 questions
    assert [figures(g) for g in after.all_groups()] == [figures(g) for g in before.all_groups()]
    assert figures(after.overall) == (22, 18, 0.8182, 0.6148, 0.9269)
    assert after.usage.questions == 9 and after.usage.per_day == before.usage.per_day
    assert after.usage.decisions == before.usage.decisions
    assert after.usage.top_entries == before.usage.top_entries
    assert after.reasons == before.reasons
    assert after.usage.top_unanswered == ()  # the wording itself is gone
    assert db.execute("SELECT count(*) FROM questions").fetchone()[0] == 10
    assert purge(store, 365, NOW) == Purged(0, 0, 0)  # nothing left to delete


def test_purge_keeps_what_is_within_the_period(store: Store) -> None:
    # 365 days before 7 Jan 2027 12:00 UTC is 7 Jan 2026 12:00 UTC: the question of 7 Jan
    # 20:00 UTC stays, the 9 older ones (20 Dec 2025, 5–7 Jan 2026) lose their text
    now = dt.datetime(2027, 1, 7, 12, 0, tzinfo=dt.UTC)
    purged = purge(store, 365, now)
    assert purged.question_texts == 9 and purged.comments == 1
    assert texts(store.db)[-2:] == ["đăng ký kết hôn", None]  # 7 Jan 20:00 UTC; 20 Dec 2025


async def test_run_once_uses_retention_days(settings: Settings) -> None:
    services = build_services(settings.model_copy(update={"retention_days": 30}))
    try:
        db = services.store.db
        now = dt.datetime.now(dt.UTC)
        for days, text in ((31, "cũ"), (29, "mới")):
            ts = (now - dt.timedelta(days=days)).isoformat(timespec="seconds")
            db.table("questions").insert({"ts": ts, "text": text, "decision": "decline"})
            comment(db, ts, text)
        purged = await run_once(services)
        assert (purged.question_texts, purged.comments) == (1, 1)
        assert texts(db) == [None, "mới"]
        assert [r["text"] for r in db["comments"].rows] == ["mới"]
    finally:
        services.store.close()


async def test_job_runs_daily_and_survives_a_failed_run(
        services: Services, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    loop, third_run = asyncio.get_running_loop(), asyncio.Event()

    def flaky(store: Store, days: int, now: dt.datetime | None = None) -> Purged:
        runs.append(days)  # runs on the store's thread
        if len(runs) == 3:
            loop.call_soon_threadsafe(third_run.set)
        if len(runs) == 1:
            raise OSError("database is locked")
        return Purged(0, 0, 0)

    monkeypatch.setattr(retention, "purge", flaky)
    task = asyncio.create_task(retention_job(services, interval=0))
    await asyncio.wait_for(third_run.wait(), timeout=30)  # a guard against hanging, not a check
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(runs) >= 3 and set(runs) == {365}  # kept running after the failure
    assert any(r.levelno == logging.ERROR and "retention run failed" in r.message
               for r in caplog.records)


def test_the_server_starts_the_retention_job() -> None:
    assert retention_job in default_jobs()
