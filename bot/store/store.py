"""SQLite storage through sqlite-utils: WAL mode, migrations, all access on one worker thread.

Users are referred to by a pseudonymous reference (a keyed hash of channel + platform id, see
``bot.conversation.pseudonym``); no names, usernames or phone numbers are stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

T = TypeVar("T")
migrations = Migrations("dvcbot")


def _pk(value: Any) -> int:
    if value is None:  # pragma: no cover - sqlite always returns a rowid for an insert
        raise RuntimeError("insert returned no primary key")
    return int(value)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@migrations()
def m001_core(db: Database) -> None:
    db.table("users").create(
        {
            "ref": str,
            "channel": str,
            "locale": str,
            "last_entry": str,
            "created": str,
            "updated": str,
        },
        pk="ref",
    )
    db.table("questions").create(
        {
            "id": int,
            "ts": str,
            "user_ref": str,
            "channel": str,
            "text": str,
            "decision": str,
            "entry_id": str,
            "confidence": float,
            "section": str,
            "candidates": str,
        },
        pk="id",
    )
    db.table("questions").create_index(["ts"])
    db.table("answers").create(
        {
            "id": int,
            "ts": str,
            "user_ref": str,
            "channel": str,
            "entry_id": str,
            "office_id": str,
            "decision": str,
            "question_id": int,
        },
        pk="id",
    )
    db.table("answers").create_index(["ts"])
    db.table("processed").create(
        {"channel": str, "event_id": str, "ts": str}, pk=("channel", "event_id")
    )


@migrations()
def m002_feedback(db: Database) -> None:
    db.table("ratings").create(
        {
            "answer_id": int,
            "ts": str,
            "user_ref": str,
            "channel": str,
            "value": int,
            "satisfied": int,
            "scale_size": int,
            "entry_id": str,
            "field": str,
            "office_id": str,
        },
        pk="answer_id",
    )
    db.table("ratings").create_index(["ts"])
    db.table("reasons").create({"answer_id": int, "reason": str, "ts": str}, pk="answer_id")
    db.table("comments").create({"id": int, "answer_id": int, "ts": str, "text": str}, pk="id")


@migrations()
def m003_last_rated(db: Database) -> None:
    db.table("users").add_column("last_rated", int)


class Store:
    """Synchronous API; ``await store.call(fn, ...)`` runs any of it off the event loop."""

    def __init__(self, path: Path | str) -> None:
        memory = str(path) == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db = Database(self._conn)
        if not memory:
            self.db.enable_wal()
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.execute("PRAGMA synchronous = NORMAL")
        migrations.apply(self.db)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._conn.close()

    # -- users -------------------------------------------------------------------------------

    def _one(self, table: str, key: str, value: Any) -> dict[str, Any] | None:
        """The row of ``table`` whose ``key`` column is ``value``, or None."""
        rows = self.db.table(table).rows_where(f"[{key}] = ?", [value], limit=1)
        return next(iter(rows), None)

    def user(self, ref: str) -> dict[str, Any]:
        return self._one("users", "ref", ref) or {"ref": ref, "locale": None, "last_entry": None}

    def save_user(self, ref: str, channel: str, **fields: Any) -> None:
        stamp = now()
        existing = self.user(ref)
        record = {
            "ref": ref,
            "channel": channel,
            "created": existing.get("created") or stamp,
            "updated": stamp,
        }
        record.update({k: existing.get(k) for k in ("locale", "last_entry", "last_rated", "state")})
        record.update(fields)
        self.db.table("users").upsert(record, pk="ref")

    # -- questions and answers -----------------------------------------------------------------

    def log_question(
        self,
        user_ref: str,
        channel: str,
        text: str,
        decision: str,
        candidates: list[dict[str, Any]],
        section: str | None,
    ) -> int:
        best = candidates[0] if candidates else {}
        table = self.db.table("questions").insert(
            {
                "ts": now(),
                "user_ref": user_ref,
                "channel": channel,
                "text": text,
                "decision": decision,
                "entry_id": best.get("entry_id"),
                "confidence": best.get("confidence"),
                "section": section,
                "candidates": json.dumps(candidates, ensure_ascii=False),
            }
        )
        return _pk(table.last_pk)

    def log_answer(
        self,
        user_ref: str,
        channel: str,
        decision: str,
        entry_id: str | None = None,
        office_id: str | None = None,
        question_id: int | None = None,
    ) -> int:
        table = self.db.table("answers").insert(
            {
                "ts": now(),
                "user_ref": user_ref,
                "channel": channel,
                "entry_id": entry_id,
                "office_id": office_id,
                "decision": decision,
                "question_id": question_id,
            }
        )
        return _pk(table.last_pk)

    def answer(self, answer_id: int) -> dict[str, Any] | None:
        return self._one("answers", "id", answer_id)

    def question(self, question_id: int) -> dict[str, Any] | None:
        return self._one("questions", "id", question_id)

    def arrive(self, channel: str, event_id: str | None, ref: str) -> dict[str, Any] | None:
        """One round trip per incoming event: None for a platform retry, else the user's state."""
        if event_id and not self.first_time(channel, event_id):
            return None
        return self.user(ref)

    def record_answer(self, user_ref: str, channel: str, question: dict[str, Any],
                      entry_id: str) -> tuple[int, int]:
        """Log the question, the answer and the user's last entry in one transaction."""
        with self.db.atomic():
            question_id = self.log_question(user_ref, channel, **question)
            answer_id = self.log_answer(user_ref, channel, "answer", entry_id, None, question_id)
            self.save_user(user_ref, channel, last_entry=entry_id)
        return question_id, answer_id

    def first_time(self, channel: str, event_id: str) -> bool:
        """Record an incoming event id; False when it was seen before (a platform retry)."""
        try:
            self.db.execute(
                "INSERT INTO processed (channel, event_id, ts) VALUES (?, ?, ?)",
                [channel, event_id, now()],
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def forget_processed(self, before: str) -> int:
        cursor = self.db.execute("DELETE FROM processed WHERE ts < ?", [before])
        return int(cursor.rowcount)

    # -- feedback ------------------------------------------------------------------------------

    def save_rating(
        self,
        answer_id: int,
        user_ref: str,
        channel: str,
        value: int,
        satisfied: bool,
        scale_size: int,
        entry_id: str | None,
        field: str | None,
        office_id: str | None,
    ) -> None:
        """One rating per answer: rating again replaces it (and drops the old reason)."""
        with self.db.atomic():
            self.db.table("ratings").upsert(
                {
                    "answer_id": answer_id,
                    "ts": now(),
                    "user_ref": user_ref,
                    "channel": channel,
                    "value": value,
                    "satisfied": int(satisfied),
                    "scale_size": scale_size,
                    "entry_id": entry_id,
                    "field": field,
                    "office_id": office_id,
                },
                pk="answer_id",
            )
            if satisfied:
                self.db.execute("DELETE FROM reasons WHERE answer_id = ?", [answer_id])

    def save_reason(self, answer_id: int, reason: str) -> None:
        self.db.table("reasons").upsert(
            {"answer_id": answer_id, "reason": reason, "ts": now()}, pk="answer_id"
        )

    def save_comment(self, answer_id: int, text: str) -> int:
        table = self.db.table("comments").insert(
            {"answer_id": answer_id, "ts": now(), "text": text}
        )
        return _pk(table.last_pk)

    def rating(self, answer_id: int) -> dict[str, Any] | None:
        return self._one("ratings", "answer_id", answer_id)


@migrations()
def m004_retention_indexes(db: Database) -> None:
    """The daily retention job deletes by time: index the tables it scans."""
    db.table("comments").create_index(["ts"], if_not_exists=True)
    db.table("processed").create_index(["ts"], if_not_exists=True)


@migrations()
def m005_chat_state(db: Database) -> None:
    db.table("users").add_column("state", str)
