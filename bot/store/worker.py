"""The store's one thread: calls from the event loop run there in order, a batch at a time.

``Store.call`` used to hand every call to a thread pool: a future, a queue item and a thread
wake-up each, plus a commit each — under load about 40% of the store thread's time was that
hand-off rather than SQL.  Here the event loop appends calls to a queue; the thread takes
everything queued so far as one batch, runs the calls in order inside one transaction (each call
in its own savepoint, so a failing call rolls back alone and raises in its caller), commits
once, and wakes the event loop once for the whole batch.  Every future is resolved after the
commit, so ``await store.call(...)`` returning means the call's writes are durable.

Each call runs in a copy of the caller's ``contextvars`` context, so what the caller set (the
inbox's event being handled, see ``bot.store.inbox``) is visible to ``around``, a hook that may
wrap every call (the inbox keeps a journal of an event's writes with it).

``defer`` queues a write nobody waits for (a delivery mark): it rides along with the next batch,
or goes on its own after ``DEFER_SECONDS``, instead of waking the thread for itself.

Quick calls run on the event loop instead: on a busy core the two thread switches of a hand-off
cost more than a small query.  A call runs at once on the event loop, in its own transaction,
when the thread is idle and nothing is queued (so order is kept) and the call is known to be
quick: ``call_fast`` says so (the inbox's accept and done-mark, reading a user's row), or the
same function (by name: a handler's lambda is named after its place in the code) took less than
``FAST_SECONDS`` on average so far.  Everything else — a report, a purge, a function not seen
yet — runs on the thread, never holding up the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from bot.store.postgres import PgConnection

log = logging.getLogger(__name__)

DEFER_SECONDS = 0.01
FAST_SECONDS = 0.001  # a call that took less on average may run on the event loop
CHECKPOINT_SECONDS = 1.0

T = TypeVar("T")
Connection = sqlite3.Connection | PgConnection
Around = Callable[[Connection, Callable[..., Any], tuple[Any, ...]], Any]
_Call = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any] | None",
              asyncio.AbstractEventLoop, contextvars.Context]
_Outcome = tuple["asyncio.Future[Any] | None", Any, BaseException | None]


class StoreClosed(RuntimeError):
    """A call after ``close()``."""


class Worker:
    def __init__(self, conn: Connection, name: str = "store") -> None:
        self.conn = conn
        self.around: Around | None = None
        self.on_failure: Callable[[], None] | None = None  # a call failed or a commit did
        self.batches = 0  # how many transactions were committed (for tests and benchmarks)
        self.calls = 0
        self._queue: deque[_Call] = deque()
        self._deferred: list[_Call] = []
        self._flush: asyncio.TimerHandle | None = None
        self._lock = threading.Lock()
        self._running = threading.Lock()  # held while a batch runs (thread or event loop)
        self._signal: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._idle = True
        self._closed = False
        self._costs: dict[str, float] = {}  # function → its average time (exponential)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run a call; the future resolves (on this loop) once its writes are committed.  A
        function that has been quick so far runs at once if the thread is idle."""
        if self._costs.get(_name(fn), 1.0) < FAST_SECONDS:
            return self.call_fast(fn, *args)
        return self._queued(fn, args)

    def _queued(self, fn: Callable[..., T], args: tuple[Any, ...]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._put((fn, args, future, loop, contextvars.copy_context()))
        return future

    def call_fast(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run a call known to be quick now, on the event loop, if the thread is idle and
        nothing is queued (with the deferred writes, in one transaction); else queue it."""
        if not self._running.acquire(blocking=False):
            return self._queued(fn, args)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        try:
            with self._lock:
                if self._closed:
                    raise StoreClosed("the store is closed")
                waiting = bool(self._queue)  # the thread has work to do first: keep the order
                batch: list[_Call] = []
                if not waiting:
                    batch, self._deferred = self._deferred, []
            if not waiting:
                batch.append((fn, args, future, loop, contextvars.copy_context()))
                done = self._execute(batch)
        finally:
            self._running.release()
        if waiting:
            return self._queued(fn, args)
        for _, (target, value, exc) in done:
            if target is None:
                if exc is not None:
                    log.error("store: a deferred write failed: %s", exc)
            elif exc is None:
                target.set_result(value)
            else:
                target.set_exception(exc)
        return future

    def defer(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue a write nobody waits for; it goes with the next batch (a failure is logged)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise StoreClosed("the store is closed")
            self._deferred.append((fn, args, None, loop, contextvars.copy_context()))
        if self._flush is None:
            self._flush = loop.call_later(DEFER_SECONDS, self._flush_deferred)

    def _flush_deferred(self) -> None:
        self._flush = None
        with self._lock:
            waiting = bool(self._deferred) and not self._queue and not self._closed
        if waiting:
            self._put((_nothing, (), None, asyncio.get_running_loop(), contextvars.Context()))

    def _put(self, item: _Call) -> None:
        with self._lock:
            if self._closed:
                raise StoreClosed("the store is closed")
            self._queue.append(item)
            wake, self._idle = self._idle, False
        if wake:
            self._signal.put(None)

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        with self._lock:
            self._closed = True
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._signal.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._signal.get()
            while True:
                with self._lock:
                    batch = self._deferred + list(self._queue)
                    self._deferred = []
                    self._queue.clear()
                    if not batch:
                        self._idle = True
                        closed = self._closed
                        break
                with self._running:
                    done = self._execute(batch)
                self._settle(done)
            if closed:
                return

    def _execute(self, batch: list[_Call]) -> list[tuple[asyncio.AbstractEventLoop, _Outcome]]:
        conn = self.conn
        done: list[tuple[asyncio.AbstractEventLoop, _Outcome]] = []
        try:
            conn.execute("BEGIN")
            for fn, args, future, loop, context in batch:
                conn.execute("SAVEPOINT call")
                started = time.perf_counter()
                try:
                    value = context.run(self._invoke, fn, args)
                except BaseException as exc:
                    if self.on_failure is not None:
                        self.on_failure()
                    if conn.in_transaction:
                        conn.execute("ROLLBACK TO call")
                        conn.execute("RELEASE call")
                    else:  # the error ended the whole transaction: start again for the rest
                        conn.execute("BEGIN")
                    done.append((loop, (future, None, exc)))
                else:
                    conn.execute("RELEASE call")
                    done.append((loop, (future, value, None)))
                    self._cost(fn, time.perf_counter() - started)
            conn.execute("COMMIT")
        except Exception as exc:  # the commit (or BEGIN) failed: nothing of the batch is kept
            log.exception("store: a batch of %d call(s) failed to commit", len(batch))
            if self.on_failure is not None:
                self.on_failure()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            done = [(loop, (future, None, exc)) for _, _, future, loop, _ in batch]
        self.batches += 1
        self.calls += len(batch)
        return done

    def _cost(self, fn: Callable[..., Any], seconds: float) -> None:
        name = _name(fn)
        before = self._costs.get(name)
        self._costs[name] = seconds if before is None else 0.8 * before + 0.2 * seconds

    def _invoke(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        around = self.around
        return fn(*args) if around is None else around(self.conn, fn, args)

    @staticmethod
    def _settle(done: list[tuple[asyncio.AbstractEventLoop, _Outcome]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for loop, outcome in done:
            by_loop.setdefault(loop, []).append(outcome)
        for loop, outcomes in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, outcomes)


def _name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def _nothing() -> None:
    """Wakes the thread for deferred writes."""


def _resolve(outcomes: list[_Outcome]) -> None:
    for future, value, exc in outcomes:
        if future is None:  # deferred: nobody waits
            if exc is not None:
                log.error("store: a deferred write failed: %s", exc)
            continue
        if future.done():  # cancelled by its caller meanwhile
            continue
        if exc is None:
            future.set_result(value)
        else:
            future.set_exception(exc)


class Checkpointer:
    """Copies the write-ahead log into the database from a thread and connection of its own.

    SQLite otherwise checkpoints inside whichever commit crosses 1,000 pages: that commit, and
    every store call queued behind it, waits for the copy and its fsync (5 ms and more on a
    virtual disk).  A PASSIVE checkpoint here never blocks the store's writer."""

    def __init__(self, path: str, interval: float = CHECKPOINT_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error:  # pragma: no cover - the store itself opened it a moment ago
            log.exception("store: the checkpoint connection cannot be opened")
            return
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy or locked: next time
                    log.debug("store: checkpoint skipped: %s", exc)
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
