"""From an accepted platform event to delivered replies, through the durable inbox.

Shared by Telegram (webhook and polling) and Zalo; the platform parts are an ``Adapter``:

    accept ──► inbox row committed ──► 200 / offset moves ──► chat's lane ──► adapter.handle
           (flood control decides:                                  (dialog, store calls
            handle, notice or drop)                                  journaled by the inbox)
    ──► finish: chat state + done-mark + outbox in one commit ──► adapter.send ──► progress

``recover`` (at start-up) hands what an earlier run left to the same lanes: unfinished events are
handled again (their journaled writes are not repeated), undelivered replies are sent.

**Several workers** (``REDIS_URL`` set, ``Shared.coordinated``): any worker may accept any event
of a chat, so a chat's events are handed over through the inbox rather than held in memory.
Accepting an event queues a *drain* of its chat: the worker takes the chat's lock (shared, with a
lease renewed while it works), handles the chat's unfinished events from the inbox in arrival
order, waits until their replies are delivered and that is committed, releases the lock, and
looks once more (an event accepted by another worker while the lock was held is seen then).  A
worker that finds the lock taken leaves the event to its holder.  Every worker also sweeps the
inbox every ``SWEEP_SECONDS`` for chats left unfinished (their worker died; its lease runs out
after ``LOCK_SECONDS``), counting each such try so that an event that keeps killing workers is
set aside.  Flood control counts for all workers together.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from bot.channels.flood import FloodGate, SharedFloodGate, Verdict
from bot.channels.lanes import Lanes
from bot.config import Settings
from bot.conversation import actions
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Button, Reply
from bot.store.inbox import Arrival, EventKey, Inbox, Pending, handling
from bot.store.shared import Lease, LocalShared, Shared
from bot.store.store import Store

log = logging.getLogger(__name__)

E = TypeVar("E")
Progress = Callable[[int, bool], None]  # (messages delivered so far, all of them)
Admission = Literal["new", "duplicate", "dropped"]
LOCK_SECONDS = 15.0  # a chat's lock outlives its worker by at most this long
SWEEP_SECONDS = 3.0  # how often each worker looks for chats a dead worker left unfinished
DELIVERY_SECONDS = 120.0  # longest wait for a reply's delivery before the chat is let go


@dataclass
class Outcome:
    """What handling an event produced: replies for ``to`` and the chat's state to save."""

    to: str | int  # the platform chat to reply to
    replies: list[Reply]
    save: Callable[[Store], None] | None = None


class Adapter(Protocol[E]):
    """What a platform channel gives the intake."""

    name: str

    def target(self, event: E) -> str | int:
        """The chat to answer (also the lane: one event at a time per chat)."""

    def read(self, payload: str) -> E | None:
        """An event back from the JSON stored with it (recovery)."""

    async def handle(self, event: E, recovered: bool) -> Outcome:
        """Run the dialog; store calls are journaled as the event's effects."""

    async def notice(self, event: E) -> Outcome:
        """The one polite notice when a chat goes past the flood limit."""

    def units(self, outcome: Outcome) -> int:
        """How many platform messages sending ``outcome`` takes (progress counts these)."""

    async def send(self, outcome: Outcome, skip: int, progress: Progress) -> None:
        """Send the replies from message ``skip`` on; ``progress`` after each message, sent or
        given up.  May return before the messages are out (a send queue)."""


@dataclass(frozen=True)
class Item(Generic[E]):
    event_id: str
    event: E
    payload: str


class Intake(Generic[E]):
    def __init__(self, adapter: Adapter[E], store: Store, settings: Settings,
                 shared: Shared | None = None) -> None:
        self.adapter = adapter
        self.channel = adapter.name
        self.store = store
        self.inbox = Inbox.of(store)
        self.shared = shared or LocalShared()
        self.coordinated = self.shared.coordinated
        self.gate = FloodGate(settings.flood_limit, settings.flood_window_seconds)
        self.shared_gate = SharedFloodGate(self.shared, self.channel, settings.flood_limit,
                                           settings.flood_window_seconds)
        self.lanes = Lanes(f"{adapter.name}-events")
        self.unconfirmed = 0  # reply messages found unconfirmed at start-up (sent again)
        self._sweeper: asyncio.Task[None] | None = None
        self._key = settings.pseudonym_key.get_secret_value()

    def chat_of(self, event: E) -> str:
        """The chat as the inbox keeps it: a pseudonym, never the platform's id."""
        return self._chat(self.adapter.target(event))

    def _chat(self, target: str | int) -> str:
        return user_ref(self._key, f"{self.channel}-chat", str(target))

    async def _admit(self, chat: str | int) -> Verdict:
        if self.coordinated:
            return await self.shared_gate.admit(chat)
        return self.gate.admit(chat)

    async def accept(self, items: Sequence[Item[E]]) -> list[Admission]:
        """Commit events to the inbox, then queue the new ones in their chats' lanes."""
        arrivals = []
        for item in items:
            chat = self.chat_of(item.event)
            verdict = await self._admit(chat)
            arrivals.append(Arrival(item.event_id, item.payload, dropped=verdict == "drop",
                                    flood=verdict == "notice", chat=chat))
        fresh = await self.inbox.accept(self.channel, arrivals)
        admitted: list[Admission] = []
        for item, arrival, new in zip(items, arrivals, fresh, strict=True):
            if not new:
                admitted.append("duplicate")
            elif arrival.dropped:
                admitted.append("dropped")
            else:
                admitted.append("new")
                if self.coordinated:
                    self._drain_chat(arrival.chat or "")
                else:
                    self._submit(EventKey(self.channel, item.event_id), item.event,
                                 arrival.flood)
        return admitted

    def _submit(self, key: EventKey, event: E, flood: bool) -> None:
        self.lanes.submit(self.adapter.target(event), lambda: self._process(key, event, flood))

    async def _process(self, key: EventKey, event: E, flood: bool,
                       delivered: asyncio.Future[None] | None = None) -> None:
        if flood:
            outcome = await self.adapter.notice(event)
        else:
            with handling(key):
                outcome = await self.adapter.handle(event, key.replay)
        outbox = encode(outcome) if outcome.replies else None
        await self.inbox.finish(key, outcome.save, outbox)
        if outcome.replies:
            await self.adapter.send(outcome, 0, self._progress(key.event_id, delivered))
        elif delivered is not None:
            delivered.set_result(None)

    # -- several workers ---------------------------------------------------------------------

    def _drain_chat(self, chat: str, swept: bool = False) -> None:
        self.lanes.submit(chat, lambda: self._drain(chat, swept))

    async def _drain(self, chat: str, swept: bool) -> None:
        """Handle the chat's unfinished events while holding its lock (see the docstring)."""
        name = f"chat:{self.channel}:{chat}"
        while True:
            lease = await self.shared.acquire(name, LOCK_SECONDS)
            if lease is None:
                return  # another worker has the chat: it looks again before letting go
            keeper = asyncio.create_task(self._keep(lease))
            again = resent = 0
            try:
                for row in await self.inbox.open_of(self.channel, chat):
                    before = self.unconfirmed
                    await self._run_row(row, swept)
                    again += swept and row.state == "new"
                    resent += self.unconfirmed - before
                await self.store.call(_nothing)  # the delivery marks, before letting go
            finally:
                keeper.cancel()
                await self.shared.release(lease)
            if again or resent:
                log.warning("inbox: %s: %d event(s) left unhandled by a worker that stopped are "
                            "handled now; %d reply message(s) not confirmed as delivered are sent "
                            "now (those on the wire when it stopped may arrive twice)",
                            self.channel, again, resent)
            if not await self.inbox.open_of(self.channel, chat):
                return

    async def _keep(self, lease: Lease) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(LOCK_SECONDS / 3)
                if not await self.shared.renew(lease, LOCK_SECONDS):
                    log.error("%s: the lock of %s was lost while held", self.channel, lease.name)
                    return

    async def _run_row(self, row: Pending, swept: bool) -> None:
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if row.state == "new":
            if swept and not await self.inbox.attempt(self.channel, row.event_id):
                return
            event = self.adapter.read(row.payload) if row.payload else None
            key = EventKey(self.channel, row.event_id, replay=True)
            if event is None:
                log.error("inbox: %s event %s cannot be read back; skipped", self.channel,
                          row.event_id)
                await self.inbox.finish(key, None, None)
                return
            await self._process(key, event, row.flood, delivered)
        elif row.outbox:
            outcome = decode(row.outbox)
            if swept:
                self.unconfirmed += max(0, self.adapter.units(outcome) - row.sent)
            await self.adapter.send(outcome, row.sent, self._progress(row.event_id, delivered))
        else:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(delivered, DELIVERY_SECONDS)

    async def sweep(self, age: float = SWEEP_SECONDS) -> int:
        """Drain every chat with an event older than ``age`` seconds left unfinished."""
        before = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age)).isoformat(
            timespec="seconds")
        chats = await self.inbox.open_chats(self.channel, before)
        for chat in chats:
            self._drain_chat(chat, swept=True)
        return len(chats)

    async def _adopt(self) -> None:
        """Give a chat to unfinished events accepted without one (by an older version)."""
        chats: dict[str, str] = {}
        for row in await self.inbox.unassigned(self.channel):
            event = self.adapter.read(row.payload) if row.payload else None
            if event is not None:
                chats[row.event_id] = self.chat_of(event)
            elif row.outbox:
                target = decode(row.outbox).to
                chats[row.event_id] = self._chat(target)
        if chats:
            await self.store.call(self.inbox.assign, self.channel, chats)

    async def _sweeping(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:  # a database that is away for a moment must not end the sweeps
                log.exception("%s: the inbox sweep failed", self.channel)

    def _progress(self, event_id: str,
                  delivered: asyncio.Future[None] | None = None) -> Progress:
        def progress(sent: int, complete: bool) -> None:
            self.inbox.progress(self.channel, event_id, sent, complete)
            if complete and delivered is not None and not delivered.done():
                delivered.set_result(None)

        return progress

    async def recover(self) -> None:
        """Hand what an earlier run left to the lanes: before new events, so order is kept.
        Several workers: sweep now, and every ``SWEEP_SECONDS`` from now on."""
        if self.coordinated:
            await self._adopt()
            await self.sweep(age=0)
            if self._sweeper is None:
                self._sweeper = asyncio.create_task(self._sweeping(), name="inbox-sweep")
            return
        pending = await self.inbox.pending(self.channel)
        again = 0
        for row in pending:
            if row.state == "new":
                event = self.adapter.read(row.payload) if row.payload else None
                if event is None:
                    log.error("inbox: %s event %s cannot be read back; skipped", self.channel,
                              row.event_id)
                    await self.inbox.finish(EventKey(self.channel, row.event_id), None, None)
                    continue
                again += 1
                self._submit(EventKey(self.channel, row.event_id, replay=True), event, row.flood)
            elif row.outbox:
                outcome = decode(row.outbox)
                self.unconfirmed += max(0, self.adapter.units(outcome) - row.sent)
                self._resend(row.event_id, outcome, row.sent)
        if pending:
            log.warning("inbox: %s: %d event(s) left unhandled by the last run are handled now; "
                        "%d reply message(s) not confirmed as delivered are sent now (those on "
                        "the wire when it stopped may arrive twice)", self.channel, again,
                        self.unconfirmed)

    def _resend(self, event_id: str, outcome: Outcome, skip: int) -> None:
        async def resend() -> None:
            await self.adapter.send(outcome, skip, self._progress(event_id))

        self.lanes.submit(outcome.to, resend)

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for the lanes to empty; then the delivery marks are committed too."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        left = await self.lanes.drain(timeout)
        await self.store.call(_nothing)
        return left


def _nothing() -> None:
    """A call that commits what was deferred before it."""


# -- the outbox: replies as JSON -------------------------------------------------------------------


def encode(outcome: Outcome) -> str:
    return json.dumps({"to": outcome.to, "replies": [_reply(r) for r in outcome.replies]},
                      ensure_ascii=False)


def decode(text: str) -> Outcome:
    data = json.loads(text)
    return Outcome(data["to"], [_unreply(r) for r in data["replies"]])


def _reply(reply: Reply) -> dict[str, Any]:
    data: dict[str, Any] = {"text": reply.text, "kind": reply.kind}
    if reply.title:
        data["title"] = reply.title
    if reply.answer_id is not None:
        data["answer_id"] = reply.answer_id
    if reply.buttons:
        data["buttons"] = [[{"label": b.label, "url": b.url} if b.url else
                            {"label": b.label, "action": b.packed} for b in row]
                           for row in reply.buttons]
    if reply.image is not None:
        data["image"] = base64.b64encode(reply.image).decode("ascii")
        data["image_name"] = reply.image_name
    return data


def _button(data: dict[str, Any]) -> Button | None:
    if data.get("url"):
        return Button(data["label"], url=data["url"])
    action = actions.parse(data.get("action"))
    if action is None or isinstance(action, actions.Stale):
        return None
    return Button(data["label"], action)


def _unreply(data: dict[str, Any]) -> Reply:
    rows: list[tuple[Button, ...]] = []
    for row in data.get("buttons", []):
        buttons = tuple(b for b in map(_button, row) if b is not None)
        if buttons:
            rows.append(buttons)
    image = data.get("image")
    return Reply(data["text"], title=data.get("title"), buttons=tuple(rows),
                 kind=data.get("kind", "info"), answer_id=data.get("answer_id"),
                 image=base64.b64decode(image) if image else None,
                 image_name=data.get("image_name"))
