"""From an accepted platform event to delivered replies, through the durable inbox.

Shared by Telegram (webhook and polling) and Zalo; the platform parts are an ``Adapter``:

    accept ──► inbox row committed ──► 200 / offset moves ──► chat's lane ──► adapter.handle
           (flood control decides:                                  (dialog, store calls
            handle, notice or drop)                                  journaled by the inbox)
    ──► finish: chat state + done-mark + outbox in one commit ──► adapter.send ──► progress

``recover`` (at start-up) hands what an earlier run left to the same lanes: unfinished events are
handled again (their journaled writes are not repeated), undelivered replies are sent.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from bot.channels.flood import FloodGate
from bot.channels.lanes import Lanes
from bot.config import Settings
from bot.conversation import actions
from bot.conversation.replies import Button, Reply
from bot.store.inbox import Arrival, EventKey, Inbox, handling
from bot.store.store import Store

log = logging.getLogger(__name__)

E = TypeVar("E")
Progress = Callable[[int, bool], None]  # (messages delivered so far, all of them)
Admission = Literal["new", "duplicate", "dropped"]


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
    def __init__(self, adapter: Adapter[E], store: Store, settings: Settings) -> None:
        self.adapter = adapter
        self.channel = adapter.name
        self.store = store
        self.inbox = Inbox.of(store)
        self.gate = FloodGate(settings.flood_limit, settings.flood_window_seconds)
        self.lanes = Lanes(f"{adapter.name}-events")
        self.unconfirmed = 0  # reply messages found unconfirmed at start-up (sent again)

    async def accept(self, items: Sequence[Item[E]]) -> list[Admission]:
        """Commit events to the inbox, then queue the new ones in their chats' lanes."""
        arrivals = []
        for item in items:
            verdict = self.gate.admit(self.adapter.target(item.event))
            arrivals.append(Arrival(item.event_id, item.payload, dropped=verdict == "drop",
                                    flood=verdict == "notice"))
        fresh = await self.inbox.accept(self.channel, arrivals)
        admitted: list[Admission] = []
        for item, arrival, new in zip(items, arrivals, fresh, strict=True):
            if not new:
                admitted.append("duplicate")
            elif arrival.dropped:
                admitted.append("dropped")
            else:
                admitted.append("new")
                self._submit(EventKey(self.channel, item.event_id), item.event, arrival.flood)
        return admitted

    def _submit(self, key: EventKey, event: E, flood: bool) -> None:
        self.lanes.submit(self.adapter.target(event), lambda: self._process(key, event, flood))

    async def _process(self, key: EventKey, event: E, flood: bool) -> None:
        if flood:
            outcome = await self.adapter.notice(event)
        else:
            with handling(key):
                outcome = await self.adapter.handle(event, key.replay)
        outbox = encode(outcome) if outcome.replies else None
        await self.inbox.finish(key, outcome.save, outbox)
        if outcome.replies:
            await self.adapter.send(outcome, 0, self._progress(key.event_id))

    def _progress(self, event_id: str) -> Progress:
        def progress(sent: int, complete: bool) -> None:
            self.inbox.progress(self.channel, event_id, sent, complete)

        return progress

    async def recover(self) -> None:
        """Hand what an earlier run left to the lanes: before new events, so order is kept."""
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
