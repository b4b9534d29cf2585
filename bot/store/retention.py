"""Data retention: raw question texts and comments older than ``RETENTION_DAYS`` are deleted daily.

What stays: the question rows themselves (time, channel, decision, matched entry), answers,
ratings and reasons, so every count and the satisfaction indicator are unchanged.  The ``processed``
table (event ids kept to drop platform retries) only needs a few days and is trimmed too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.store.store import Store

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 60 * 60
PROCESSED_KEEP_DAYS = 7  # platforms retry a webhook for hours, not days


@dataclass(frozen=True)
class Purged:
    question_texts: int
    comments: int
    processed: int


def _cutoff(days: int, now: dt.datetime | None) -> str:
    moment = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def purge(store: Store, retention_days: int, now: dt.datetime | None = None) -> Purged:
    """Delete what is older than the retention period; runs on the store's thread."""
    cutoff = _cutoff(retention_days, now)
    db = store.db
    with db.atomic():
        texts = db.execute(
            "UPDATE questions SET text = NULL WHERE ts < ? AND text IS NOT NULL", [cutoff]
        ).rowcount
        comments = db.execute("DELETE FROM comments WHERE ts < ?", [cutoff]).rowcount
    processed = store.forget_processed(_cutoff(PROCESSED_KEEP_DAYS, now))
    return Purged(int(texts), int(comments), processed)


class Runs(Protocol):
    """What the job needs of the runtime's services: the store and the settings."""

    store: Store
    settings: Settings


async def run_once(services: Runs) -> Purged:
    store = services.store
    days = services.settings.retention_days
    purged = await store.call(purge, store, days)
    log.info("retention (%d days): %d question texts, %d comments, %d event ids deleted",
             days, purged.question_texts, purged.comments, purged.processed)
    return purged


async def retention_job(services: Runs, interval: float = DAY_SECONDS) -> None:
    """A background job of the runtime: purge now, then once every ``interval`` seconds."""
    while True:
        try:
            await run_once(services)
        except Exception:  # a locked or broken database must not end the job; try again later
            log.exception("retention run failed")
        await asyncio.sleep(interval)
