"""SQLite storage through sqlite-utils: WAL mode, migrations, all access on one worker thread.

Users are referred to by a pseudonymous reference (a keyed hash of channel + platform id, see
``bot.conversation.pseudonym``); no names, usernames or phone numbers are stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.privacy import mask, private_dir, private_file
from bot.store import postgres
from bot.store.postgres import PgConnection, PgDatabase, is_postgres
from bot.store.worker import Checkpointer, Worker

T = TypeVar("T")
migrations = Migrations("dvcbot")
StoreDatabase = Database | PgDatabase  # the store's database on either engine
USER_CACHE = 10_000  # users' rows kept in memory (see Store.cached_user)


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
        """``path``: the SQLite file (or ``:memory:``), or a ``postgresql://`` URL."""
        self.checkpointer: Checkpointer | None = None
        self._conn: sqlite3.Connection | PgConnection
        self.db: StoreDatabase
        if is_postgres(str(path)):
            self._conn = PgConnection(str(path))
            self.db = PgDatabase(self._conn)
            try:
                postgres.apply(migrations, self.db)
            except BaseException:
                self._conn.close()
                raise
        else:
            self._conn, self.db = self._open_sqlite(path)
            migrations.apply(self.db)
        self.worker = Worker(self._conn)  # one thread; batches of calls, one commit each
        # Users' rows as last read or written here, so that a message need not wait for the
        # store thread to learn its chat's state; cleared when any call fails.
        self._users: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.worker.on_failure = self._users.clear
        self.cache_users = True  # False with several workers: another may have changed a row

    @property
    def postgres(self) -> bool:
        return isinstance(self._conn, PgConnection)

    def _open_sqlite(self, path: Path | str) -> tuple[sqlite3.Connection, Database]:
        memory = str(path) == ":memory:"
        if not memory:  # the data folder 0700, the database and its -wal and -shm files 0600
            folder, name = private_dir(Path(path).parent), Path(path).name
            private_file(folder / name)  # SQLite gives -wal and -shm the database's mode
            for suffix in ("-wal", "-shm"):
                if (folder / f"{name}{suffix}").exists():
                    private_file(folder / f"{name}{suffix}")
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        db = Database(conn)
        if not memory:
            db.enable_wal()
            db.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's thread does it
            self.checkpointer = Checkpointer(str(path))
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA synchronous = NORMAL")
        return conn, db

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the store's thread; returns once its writes are committed."""
        return await self.worker.submit(fn, *args)

    async def call_fast(self, fn: Callable[..., T], *args: Any) -> T:
        """``call`` for a call known to take microseconds: run at once on the event loop when
        the store's thread is idle (see ``bot.store.worker``)."""
        return await self.worker.call_fast(fn, *args)

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(*args)`` without waiting for it (calls run in the order queued)."""
        return self.worker.submit(fn, *args)

    def close(self) -> None:
        self.worker.close()
        if self.checkpointer is not None:
            self.checkpointer.close()
        self._conn.close()

    # -- users -------------------------------------------------------------------------------

    def _one(self, table: str, key: str, value: Any) -> dict[str, Any] | None:
        """The row of ``table`` whose ``key`` column is ``value``, or None."""
        cursor = self._conn.execute(f"SELECT * FROM [{table}] WHERE [{key}] = ? LIMIT 1", [value])
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description or ()], row,
                                                 strict=True))

    def user(self, ref: str) -> dict[str, Any]:
        row = self._one("users", "ref", ref) or {"ref": ref, "locale": None, "last_entry": None}
        self._users[ref] = dict(row)
        self._users.move_to_end(ref)
        if len(self._users) > USER_CACHE:
            self._users.popitem(last=False)
        return row

    def cached_user(self, ref: str) -> dict[str, Any] | None:
        """The user's row if this store read or wrote it lately (safe on the event loop)."""
        row = self._users.get(ref) if self.cache_users else None
        return None if row is None else dict(row)

    def save_user(self, ref: str, channel: str, **fields: Any) -> None:
        """Insert or update the user's row: ``fields`` (columns) replaced, the others kept."""
        names = [name for name in fields if name.isidentifier()]
        stamp = now()
        columns = ", ".join(f"[{n}]" for n in ["ref", "channel", "created", "updated", *names])
        marks = ", ".join("?" * (4 + len(names)))
        updates = ", ".join(f"[{n}] = excluded.[{n}]" for n in ["channel", "updated", *names])
        self._conn.execute(
            f"INSERT INTO users ({columns}) VALUES ({marks}) "
            f"ON CONFLICT(ref) DO UPDATE SET {updates}",
            [ref, channel, stamp, stamp, *(fields[n] for n in names)],
        )
        cached = self._users.get(ref)
        if cached is not None:
            cached.update({"channel": channel, "updated": stamp, **{n: fields[n] for n in names}})

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
        cursor = self._conn.execute(
            "INSERT INTO questions (ts, user_ref, channel, text, decision, entry_id, confidence, "
            "section, candidates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [now(), user_ref, channel, mask(text), decision, best.get("entry_id"),
             best.get("confidence"), section, json.dumps(candidates, ensure_ascii=False)],
        )
        return _pk(cursor.lastrowid)

    def log_answer(
        self,
        user_ref: str,
        channel: str,
        decision: str,
        entry_id: str | None = None,
        office_id: str | None = None,
        question_id: int | None = None,
    ) -> int:
        cursor = self._conn.execute(
            "INSERT INTO answers (ts, user_ref, channel, entry_id, office_id, decision, "
            "question_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [now(), user_ref, channel, entry_id, office_id, decision, question_id],
        )
        return _pk(cursor.lastrowid)

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
        cursor = self.db.execute(
            "INSERT INTO processed (channel, event_id, ts) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING", [channel, event_id, now()],
        )
        return cursor.rowcount == 1

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
            {"answer_id": answer_id, "ts": now(), "text": mask(text)}
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


# -- officials' dashboard: accounts and login sessions (bot/channels/web) ------------------------
# Functions of a ``Store`` (run them on its thread: ``await store.call(account, store, name)``).


@migrations()
def m010_web_accounts(db: Database) -> None:
    """Dashboard accounts (password as a scrypt hash) and their login sessions (token hashes)."""
    db.table("web_accounts").create(
        {"name": str, "password": str, "created": str, "updated": str, "last_login": str},
        pk="name",
    )
    db.table("web_sessions").create(
        {"token": str, "account": str, "created": str, "expires": str}, pk="token"
    )
    db.table("web_sessions").create_index(["expires"])


def add_account(store: Store, name: str, password_hash: str) -> bool:
    """A new dashboard account; False when the name is taken."""
    stamp = now()
    cursor = store.db.execute(
        "INSERT INTO web_accounts (name, password, created, updated) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING", [name, password_hash, stamp, stamp])
    return cursor.rowcount == 1


def set_password(store: Store, name: str, password_hash: str) -> bool:
    """A new password for an account; its open sessions end.  False when there is no account."""
    with store.db.atomic():
        cursor = store.db.execute(
            "UPDATE web_accounts SET password = ?, updated = ? WHERE name = ?",
            [password_hash, now(), name],
        )
        store.db.execute("DELETE FROM web_sessions WHERE account = ?", [name])
    return bool(cursor.rowcount)


def remove_account(store: Store, name: str) -> bool:
    with store.db.atomic():
        store.db.execute("DELETE FROM web_sessions WHERE account = ?", [name])
        cursor = store.db.execute("DELETE FROM web_accounts WHERE name = ?", [name])
    return bool(cursor.rowcount)


def account(store: Store, name: str) -> dict[str, Any] | None:
    return store._one("web_accounts", "name", name)


def accounts(store: Store) -> list[dict[str, Any]]:
    rows = store.db.execute(
        "SELECT name, created, last_login FROM web_accounts ORDER BY name"
    ).fetchall()
    return [{"name": r[0], "created": r[1], "last_login": r[2]} for r in rows]


def open_session(store: Store, token_hash: str, account: str, expires: str) -> None:
    """A login: the session (by the hash of its token) and the account's last login."""
    stamp = now()
    with store.db.atomic():
        store.db.execute("DELETE FROM web_sessions WHERE expires <= ?", [stamp])
        store.db.table("web_sessions").insert(
            {"token": token_hash, "account": account, "created": stamp, "expires": expires}
        )
        store.db.execute("UPDATE web_accounts SET last_login = ? WHERE name = ?", [stamp, account])


def session(store: Store, token_hash: str) -> dict[str, Any] | None:
    """The open (unexpired) session with this token hash, with its account still there."""
    row = store.db.execute(
        "SELECT s.token, s.account, s.created, s.expires FROM web_sessions s "
        "JOIN web_accounts a ON a.name = s.account WHERE s.token = ? AND s.expires > ?",
        [token_hash, now()],
    ).fetchone()
    if row is None:
        return None
    return {"token": row[0], "account": row[1], "created": row[2], "expires": row[3]}


def close_session(store: Store, token_hash: str) -> None:
    store.db.execute("DELETE FROM web_sessions WHERE token = ?", [token_hash])


def forget_sessions(store: Store) -> int:
    """Delete expired dashboard sessions."""
    return int(store.db.execute("DELETE FROM web_sessions WHERE expires <= ?", [now()]).rowcount)


def comments_between(store: Store, start: str, end: str, limit: int = 200) -> list[dict[str, Any]]:
    """Citizens' comments in ``[start, end)`` (UTC ISO), newest first, with what they rated."""
    rows = store.db.execute(
        "SELECT c.ts, c.text, a.entry_id, a.channel, r.value, r.satisfied, rs.reason "
        "FROM comments c LEFT JOIN answers a ON a.id = c.answer_id "
        "LEFT JOIN ratings r ON r.answer_id = c.answer_id "
        "LEFT JOIN reasons rs ON rs.answer_id = c.answer_id "
        "WHERE c.ts >= ? AND c.ts < ? ORDER BY c.ts DESC, c.id DESC LIMIT ?",
        [start, end, limit],
    ).fetchall()
    names = ("ts", "text", "entry_id", "channel", "value", "satisfied", "reason")
    return [dict(zip(names, row, strict=True)) for row in rows]


def low_ratings_between(store: Store, start: str, end: str,
                         limit: int = 200) -> list[dict[str, Any]]:
    """Ratings not counted as satisfied in ``[start, end)``, newest first, with their reason."""
    rows = store.db.execute(
        "SELECT r.ts, r.entry_id, r.channel, r.value, rs.reason FROM ratings r "
        "LEFT JOIN reasons rs ON rs.answer_id = r.answer_id "
        "WHERE r.satisfied = 0 AND r.ts >= ? AND r.ts < ? ORDER BY r.ts DESC, r.answer_id DESC "
        "LIMIT ?",
        [start, end, limit],
    ).fetchall()
    names = ("ts", "entry_id", "channel", "value", "reason")
    return [dict(zip(names, row, strict=True)) for row in rows]
