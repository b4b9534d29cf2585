"""The durable inbox: nothing a platform was told we received is lost, nothing is handled twice.

Every Telegram update (webhook and polling) and every Zalo event is committed here before the
platform gets its 200 (polling: before the update offset moves on).  Then:

1. **Accepted** (``accept``): a row per platform event id, ``state='new'`` with the platform's
   JSON.  The primary key ``(channel, event_id)`` is the de-duplication: a retry of an event
   already here is not accepted again.  Rows are kept ``EVENT_IDS_KEEP_HOURS`` (48 h by default;
   Telegram keeps an undelivered update for 24 h, Zalo events older than
   ``ZALO_EVENT_MAX_AGE_MINUTES`` are refused anyway).
2. **Handled** inside ``handling(key)``: the event's store calls run as usual, and every call
   that writes is also written to a journal (``inbox_journal``) in the same savepoint, with its
   result.  If the process dies mid-way, the event is handled again at start-up and each call
   already journaled returns its recorded result instead of writing twice — so a rating, a
   logged question or an answer is never stored twice.  (Handling is deterministic given the
   chat's state, and that state is only saved at step 3.)
3. **Done** (``finish``): the chat's state, the done-mark and the replies to send (the outbox)
   commit in one transaction; the platform's JSON and the journal are dropped then.
4. **Sent** (``progress``): the count of reply messages delivered; when all are, the outbox is
   dropped too.  At start-up (``pending``) unfinished events are handled and undelivered replies
   are sent.  A message whose request was on the wire when the process died cannot be known to
   have arrived (the platforms take no idempotency key): those, and only those, are sent again —
   ``pending`` counts them for the log.

An event that takes the process down ``MAX_ATTEMPTS`` times at start-up is set aside as
``failed`` (logged) instead of taking it down forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import json
import logging
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlite_utils import Database

from bot.store.store import Store, migrations, now
from bot.store.worker import Connection

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # start-ups that may try an unfinished event before it is set aside
PURGE_INTERVAL = 3600.0  # seconds between purges of old event ids


@migrations()
def m020_inbox(db: Database) -> None:
    db.execute(
        """CREATE TABLE inbox (
            channel TEXT NOT NULL,
            event_id TEXT NOT NULL,
            received TEXT NOT NULL,
            state TEXT NOT NULL,            -- new | done | sent | dropped | failed
            flood INTEGER NOT NULL DEFAULT 0,  -- 1: answer with the flood notice
            attempts INTEGER NOT NULL DEFAULT 0,
            payload TEXT,                   -- the platform's JSON, until handled
            outbox TEXT,                    -- replies not delivered yet
            sent INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (channel, event_id)
        )"""
    )
    db.execute("CREATE INDEX inbox_open ON inbox (channel) WHERE state IN ('new', 'done')")
    db.execute("CREATE INDEX inbox_received ON inbox (received)")
    db.execute(
        """CREATE TABLE inbox_journal (
            channel TEXT NOT NULL,
            event_id TEXT NOT NULL,
            name TEXT NOT NULL,            -- the function called
            seq INTEGER NOT NULL,           -- its n-th call in the event
            result TEXT,
            PRIMARY KEY (channel, event_id, name, seq)
        )"""
    )


@migrations()
def m040_inbox_chat(db: Database) -> None:
    """The chat of each event: several workers hand a chat's events over to each other."""
    db.execute("ALTER TABLE inbox ADD COLUMN chat TEXT")
    db.execute("CREATE INDEX inbox_chat_open ON inbox (channel, chat) "
               "WHERE state IN ('new', 'done')")


@dataclass(frozen=True)
class Arrival:
    """One event as a channel accepts it."""

    event_id: str
    payload: str | None  # the platform's JSON (None for an event dropped by flood control)
    dropped: bool = False  # flood control: acknowledged, never handled
    flood: bool = False  # flood control: answered with one notice instead of being handled
    chat: str | None = None  # the chat to answer (its lane)


@dataclass(frozen=True)
class Pending:
    """An event left by an earlier run: to handle (``state='new'``) or to finish sending."""

    event_id: str
    state: str
    flood: bool
    payload: str | None
    outbox: str | None
    sent: int


@dataclass
class EventKey:
    """The event being handled; the journal's position in it lives here (store thread only)."""

    channel: str
    event_id: str
    replay: bool = False  # handled before by a run that died: look in the journal first
    calls: dict[str, int] = field(default_factory=dict)  # function → calls so far
    journaled: bool = False


CURRENT: contextvars.ContextVar[EventKey | None] = contextvars.ContextVar("inbox_event",
                                                                         default=None)


@contextlib.contextmanager
def handling(key: EventKey) -> Iterator[EventKey]:
    """Store calls made inside are journaled as the effects of this event."""
    token = CURRENT.set(key)
    try:
        yield key
    finally:
        CURRENT.reset(token)


class Inbox:
    """The inbox of one store (``Inbox.of(store)``); every method runs on the store's thread."""

    _instances: ClassVar[weakref.WeakKeyDictionary[Store, Inbox]] = weakref.WeakKeyDictionary()

    def __init__(self, store: Store) -> None:
        self.store = store
        store.worker.around = self._around

    @classmethod
    def of(cls, store: Store) -> Inbox:
        inbox = cls._instances.get(store)
        if inbox is None:
            inbox = cls._instances[store] = cls(store)
        return inbox

    # -- asynchronous API (event loop) ---------------------------------------------------------

    async def accept(self, channel: str, arrivals: Sequence[Arrival]) -> list[bool]:
        """Commit the events; True for each seen for the first time (False: a retry)."""
        if not arrivals:
            return []
        return await self.store.call_fast(self._accept, channel, arrivals)

    async def finish(self, key: EventKey, save: Callable[[Store], None] | None,
                     outbox: str | None) -> None:
        """The chat's state (``save``), the done-mark and the replies to send, in one commit."""
        await self.store.call_fast(self._finish, key, save, outbox)

    def progress(self, channel: str, event_id: str, sent: int, complete: bool) -> None:
        """``sent`` reply messages of the event are delivered (or given up); not awaited."""
        self.store.worker.defer(self._progress, channel, event_id, sent, complete)

    async def pending(self, channel: str) -> list[Pending]:
        return await self.store.call(self._pending, channel)

    # -- on the store's thread -----------------------------------------------------------------

    def _accept(self, channel: str, arrivals: Sequence[Arrival]) -> list[bool]:
        conn, stamp = self.store.db.conn, now()
        fresh = []
        for arrival in arrivals:
            state = "dropped" if arrival.dropped else "new"
            payload = None if arrival.dropped else arrival.payload
            cursor = conn.execute(
                "INSERT INTO inbox (channel, event_id, received, state, flood, payload, chat) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [channel, arrival.event_id, stamp, state, int(arrival.flood), payload,
                 arrival.chat],
            )
            fresh.append(cursor.rowcount == 1)
        return fresh

    def _finish(self, key: EventKey, save: Callable[[Store], None] | None,
                outbox: str | None) -> None:
        conn = self.store.db.conn
        if save is not None:
            save(self.store)
        conn.execute(
            "UPDATE inbox SET state = ?, payload = NULL, outbox = ?, sent = 0 "
            "WHERE channel = ? AND event_id = ?",
            ["done" if outbox else "sent", outbox, key.channel, key.event_id],
        )
        if key.journaled or key.replay:
            conn.execute("DELETE FROM inbox_journal WHERE channel = ? AND event_id = ?",
                         [key.channel, key.event_id])

    def _progress(self, channel: str, event_id: str, sent: int, complete: bool) -> None:
        if complete:
            self.store.db.conn.execute(
                "UPDATE inbox SET state = 'sent', outbox = NULL, sent = ? "
                "WHERE channel = ? AND event_id = ?", [sent, channel, event_id])
        else:
            self.store.db.conn.execute(
                "UPDATE inbox SET sent = ? WHERE channel = ? AND event_id = ? AND sent < ?",
                [sent, channel, event_id, sent])

    def _pending(self, channel: str) -> list[Pending]:
        conn = self.store.db.conn
        rows = conn.execute(
            "SELECT event_id, state, flood, payload, outbox, sent, attempts FROM inbox "
            "WHERE channel = ? AND state IN ('new', 'done') ORDER BY rowid", [channel],
        ).fetchall()
        found = []
        for event_id, state, flood, payload, outbox, sent, attempts in rows:
            if state == "new" and attempts >= MAX_ATTEMPTS:
                log.error("inbox: %s event %s failed %d times at start-up; set aside",
                          channel, event_id, attempts)
                conn.execute("UPDATE inbox SET state = 'failed', payload = NULL "
                             "WHERE channel = ? AND event_id = ?", [channel, event_id])
                conn.execute("DELETE FROM inbox_journal WHERE channel = ? AND event_id = ?",
                             [channel, event_id])
                continue
            if state == "new":
                conn.execute("UPDATE inbox SET attempts = attempts + 1 "
                             "WHERE channel = ? AND event_id = ?", [channel, event_id])
            found.append(Pending(event_id, state, bool(flood), payload, outbox, sent))
        return found

    async def open_of(self, channel: str, chat: str) -> list[Pending]:
        """The chat's events not finished yet, in arrival order (several workers)."""
        return await self.store.call_fast(self._open_of, channel, chat)

    async def open_chats(self, channel: str, before: str) -> list[str]:
        """Chats with an event received before ``before`` and not finished (several workers)."""
        return await self.store.call(self._open_chats, channel, before)

    async def attempt(self, channel: str, event_id: str) -> bool:
        """Count one more try of an event left over by a worker that died; False (and the event
        set aside) when it has taken ``MAX_ATTEMPTS`` workers down already."""
        return await self.store.call(self._attempt, channel, event_id)

    def _attempt(self, channel: str, event_id: str) -> bool:
        conn = self.store.db.conn
        row = conn.execute("SELECT attempts FROM inbox WHERE channel = ? AND event_id = ?",
                           [channel, event_id]).fetchone()
        if row is not None and row[0] >= MAX_ATTEMPTS:
            log.error("inbox: %s event %s failed %d times; set aside", channel, event_id, row[0])
            conn.execute("UPDATE inbox SET state = 'failed', payload = NULL "
                         "WHERE channel = ? AND event_id = ?", [channel, event_id])
            conn.execute("DELETE FROM inbox_journal WHERE channel = ? AND event_id = ?",
                         [channel, event_id])
            return False
        conn.execute("UPDATE inbox SET attempts = attempts + 1 WHERE channel = ? AND event_id = ?",
                     [channel, event_id])
        return True

    async def unassigned(self, channel: str) -> list[Pending]:
        """Unfinished events with no chat (accepted before the chat was kept, m040)."""
        return await self.store.call(self._unassigned, channel)

    def _unassigned(self, channel: str) -> list[Pending]:
        return self._unfinished("channel = ? AND chat IS NULL", [channel])

    def assign(self, channel: str, chats: dict[str, str]) -> None:
        """Set the chat of events (event id → chat)."""
        for event_id, chat in chats.items():
            self.store.db.conn.execute("UPDATE inbox SET chat = ? WHERE channel = ? AND "
                                       "event_id = ?", [chat, channel, event_id])

    def _open_of(self, channel: str, chat: str) -> list[Pending]:
        return self._unfinished("channel = ? AND chat = ?", [channel, chat])

    def _unfinished(self, where: str, params: list[str]) -> list[Pending]:
        """Events matching ``where`` not finished yet, in arrival order."""
        rows = self.store.db.conn.execute(
            "SELECT event_id, state, flood, payload, outbox, sent FROM inbox "
            f"WHERE {where} AND state IN ('new', 'done') ORDER BY rowid", params).fetchall()
        return [Pending(e, state, bool(flood), payload, outbox, sent)
                for e, state, flood, payload, outbox, sent in rows]

    def _open_chats(self, channel: str, before: str) -> list[str]:
        rows = self.store.db.conn.execute(
            "SELECT DISTINCT chat FROM inbox WHERE channel = ? AND state IN ('new', 'done') "
            "AND received < ? AND chat IS NOT NULL", [channel, before]).fetchall()
        return [str(row[0]) for row in rows]

    def purge(self, before: str) -> int:
        """Forget events finished before ``before`` (ISO time): their ids, nothing else."""
        cursor = self.store.db.conn.execute(
            "DELETE FROM inbox WHERE received < ? AND state IN ('sent', 'dropped', 'failed')",
            [before])
        return int(cursor.rowcount)

    def counts(self) -> dict[str, int]:
        rows = self.store.db.conn.execute("SELECT state, count(*) FROM inbox GROUP BY state")
        return {state: int(n) for state, n in rows}

    def _around(self, conn: Connection, fn: Callable[..., Any],
                args: tuple[Any, ...]) -> Any:
        """Journal the calls of the event being handled (see the module's docstring)."""
        key = CURRENT.get()
        if key is None:
            return fn(*args)
        # A call is known by the function (a handler's lambda is named after its place in the
        # code) and how many calls of it came before in this event: reads that are skipped on
        # one run (a cached row) and made on another do not shift the writes.
        name = getattr(fn, "__qualname__", type(fn).__name__)
        seq = key.calls.get(name, 0)
        key.calls[name] = seq + 1
        if key.replay:
            row = conn.execute(
                "SELECT result FROM inbox_journal WHERE channel = ? AND event_id = ? "
                "AND name = ? AND seq = ?", [key.channel, key.event_id, name, seq]).fetchone()
            if row is not None and row[0] is not None:
                return json.loads(row[0])  # done before the crash: the same result, no write
        before = conn.total_changes
        result = fn(*args)
        if conn.total_changes != before:
            try:
                recorded: str | None = json.dumps(result)
            except (TypeError, ValueError):
                recorded = None  # not replayable: done again if the event is handled again
            conn.execute("INSERT OR REPLACE INTO inbox_journal (channel, event_id, name, seq, "
                         "result) VALUES (?, ?, ?, ?, ?)",
                         [key.channel, key.event_id, name, seq, recorded])
            key.journaled = True
        return result


# -- the purge job ---------------------------------------------------------------------------------


class Runs(Protocol):
    store: Store
    settings: Settings


def cutoff(hours: float, moment: dt.datetime | None = None) -> str:
    when = (moment or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=hours)
    return when.isoformat(timespec="seconds")


async def inbox_job(services: Runs, interval: float = PURGE_INTERVAL) -> None:
    """A background job of the runtime: forget old event ids every ``interval`` seconds."""
    inbox = Inbox.of(services.store)
    while True:
        try:
            before = cutoff(services.settings.event_ids_keep_hours)
            removed = await services.store.call(inbox.purge, before)
            if removed:
                log.info("inbox: %d event id(s) older than %s h forgotten", removed,
                         services.settings.event_ids_keep_hours)
        except Exception:  # a locked database must not end the job
            log.exception("inbox purge failed")
        await asyncio.sleep(interval)
