"""The hand-over desk: tickets opened for citizens, staff answers relayed back, exactly once.

    citizen asks for a person ──► open(): ticket + contact + "post to staff" in one commit
    the desk's loop ──► staff group (Telegram): the ticket with Take / Close buttons
    staff reply to it (or answer on the dashboard) ──► answer(): the answer + "relay" in one commit
    the desk's loop ──► the citizen's own channel (``Reach``), marked as from staff with the code
                    ──► a note to the staff group: delivered, or why not (Zalo's window …)

Work goes through the ``handoff_outbox`` table (``bot.store.tickets``): each row is claimed by one
process that can do it, done once, and marked; a staff member's Telegram reply is an inbox event
(``bot.store.inbox``), so a platform retry of it is never answered twice.  If the process dies
between sending and marking, the row is claimed again after ``STUCK_MINUTES`` and sent again
(the platforms take no idempotency key: the same caveat as the inbox's outbox).

When the citizen's platform limits how long after their last message a reply may be sent
(Zalo's consultation window, ``ZALO_REPLY_WINDOW_HOURS``), the answer is not tried past it: it is
held, staff are told at once, and it goes out by itself when the citizen writes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.conversation.actions import CloseTicket, Rate, TakeTicket
from bot.conversation.render import Renderer
from bot.conversation.replies import Button, Presents, Reply
from bot.handoff.codes import new_code
from bot.handoff.hours import LOCAL_TZ, OfficeHours
from bot.handoff.relay import Delivery, Reach, Rows, StaffRoom
from bot.knowledge.holder import KnowledgeHolder
from bot.store import tickets
from bot.store.store import Store
from bot.store.worker import StoreClosed

log = logging.getLogger(__name__)

POLL_SECONDS = 10.0  # the loop also looks for work this often (retries, other processes' work)
HOUSEKEEPING_SECONDS = 600.0
STUCK_MINUTES = 5
MAX_ATTEMPTS = 5
RETRY_SECONDS = 30.0


def reply_windows(settings: Settings) -> dict[str, float]:
    """Seconds after the citizen's last message within which a channel may still reply."""
    return {"zalo": settings.zalo_reply_window_hours * 3600}


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Timing:
    """What the citizen is told about when a person will answer."""

    open_now: bool
    closes: dt.datetime | None  # the end of the current open span
    next_open: dt.datetime | None  # when the office opens next (now, if open)


class Desk:
    def __init__(self, settings: Settings, store: Store, renderer: Renderer,
                 knowledge: KnowledgeHolder[Any]) -> None:
        self.settings = settings
        self.store = store
        self.renderer = renderer
        self.knowledge = knowledge
        self.hours: OfficeHours = settings.hours
        self.windows = reply_windows(settings)
        self.staff_lang = settings.default_locale
        self.reaches: dict[str, Reach] = {}
        self.room: StaffRoom | None = None
        self.poll_seconds = POLL_SECONDS
        self._wake = asyncio.Event()

    # -- wiring ------------------------------------------------------------------------------

    @property
    def staff_channel(self) -> str | None:
        """The channel of the staff group, when one is set."""
        if self.settings.telegram_staff_chat_id is not None and self.settings.telegram_enabled:
            return "telegram"
        return None

    @property
    def staffed(self) -> bool:
        """Somewhere staff see tickets: the staff group or the dashboard."""
        return self.staff_channel is not None or self.settings.web_enabled

    def attach(self, channels: Iterable[object]) -> None:
        """The running channels: those that can reach citizens, and the staff group."""
        for channel in channels:
            if isinstance(channel, Reach):
                self.register(channel)
            if isinstance(channel, StaffRoom) and channel.staff_room is not None:
                self.room = channel

    def register(self, reach: Reach) -> None:
        self.reaches[reach.name] = reach
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    # -- timing ------------------------------------------------------------------------------

    def timing(self, moment: dt.datetime | None = None) -> Timing:
        moment = moment or dt.datetime.now(dt.UTC)
        return Timing(self.hours.is_open(moment), self.hours.closes_at(moment),
                      self.hours.next_open(moment))

    @staticmethod
    def clock(moment: dt.datetime) -> str:
        """'17:00', Vietnam time."""
        return moment.astimezone(LOCAL_TZ).strftime("%H:%M")

    def when_text(self, moment: dt.datetime, lang: str) -> str:
        """'07:30 thứ Hai, 12/01/2026' / '07:30 Monday, 2026-01-12'."""
        local = moment.astimezone(LOCAL_TZ)
        t = self.renderer.t
        return t(lang, "handoff.when", time=local.strftime("%H:%M"),
                 weekday=t(lang, f"handoff.weekday.{local.weekday()}"),
                 date=local.strftime(t(lang, "report.date_format")))

    # -- citizens ----------------------------------------------------------------------------

    async def open(self, *, user: str, channel: str, lang: str, address: str,
                   entry_id: str | None, question: str | None, request: str | None,
                   reason: str) -> dict[str, Any]:
        """Open a ticket (or add to the citizen's open one); returns the ticket's row."""
        store = self.store
        moment = dt.datetime.now(dt.UTC)
        since = (moment - dt.timedelta(days=1)).isoformat(timespec="seconds")
        gap = self.settings.conversation_minutes
        staff_channel = self.staff_channel
        out_of_hours = not self.hours.is_open(moment)
        turns = self.settings.handoff_turns
        found = await store.call(lambda: tickets.open_ticket(
            store, code=new_code, user_ref=user, channel=channel, lang=lang, address=address,
            entry_id=entry_id, question=question, request=request, reason=reason,
            out_of_hours=out_of_hours, since=since, turns=turns, gap_minutes=gap,
            staff_channel=staff_channel))
        self.wake()
        return found

    def window_closed(self, channel: str, last_seen: str | None,
                      moment: dt.datetime | None = None) -> bool:
        window = self.windows.get(channel)
        seen = parse_time(last_seen)
        if window is None or seen is None:
            return False
        return ((moment or dt.datetime.now(dt.UTC)) - seen).total_seconds() > window

    # -- staff -------------------------------------------------------------------------------

    async def answer(self, ticket: dict[str, Any], staff: str, via: str,
                     text: str) -> dict[str, Any]:
        """A staff answer for the citizen: recorded and queued (or held, when the citizen's
        platform no longer allows a reply; then ``delivery`` is ``window_closed`` and
        ``last_seen`` says since when the citizen has been silent)."""
        store = self.store
        seen = await store.call(tickets.last_seen, store, ticket["user_ref"])
        delivery = "window_closed" if self.window_closed(ticket["channel"], seen) else "pending"
        channel = ticket["channel"]
        result = await store.call(lambda: tickets.add_staff_answer(
            store, ticket["id"], staff, via, text, delivery, channel))
        self.wake()
        return {**result, "last_seen": seen}

    async def take(self, ticket_id: int, staff: str) -> dict[str, Any] | None:
        store = self.store
        return await store.call(tickets.take_ticket, store, ticket_id, staff)

    async def close(self, ticket_id: int, staff: str) -> dict[str, Any] | None:
        store = self.store
        return await store.call(tickets.close_ticket, store, ticket_id, staff)

    def staff_buttons(self, ticket: dict[str, Any]) -> Rows:
        t, lang = self.renderer.t, self.staff_lang
        return ((Button(t(lang, "staff.button_take"), TakeTicket(ticket["id"])),
                 Button(t(lang, "staff.button_close"), CloseTicket(ticket["id"]))),)

    def staff_ticket_text(self, ticket: dict[str, Any], follow_ups: list[dict[str, Any]]) -> str:
        """The ticket as staff read it in their group (in DEFAULT_LOCALE)."""
        lang = self.staff_lang
        kb = self.knowledge.kb
        entry = kb.get(ticket["entry_id"]) if ticket.get("entry_id") else None
        turns = []
        for turn in json.loads(ticket.get("transcript") or "[]"):
            shown = kb.get(turn.get("entry_id")) if turn.get("entry_id") else None
            turns.append({**turn, "when": self.local(turn.get("ts"), "%H:%M"),
                          "entry": _title(shown) if shown else None})
        opened = parse_time(ticket["opened"]) or dt.datetime.now(dt.UTC)
        timing = self.timing(opened)
        return self.renderer.render(
            "staff_ticket", lang, ticket=ticket, entry=_title(entry) if entry else None,
            channel=self.renderer.t(lang, f"report.channel_name.{ticket['channel']}"),
            opened=self.when_text(opened, lang), turns=turns,
            follow_ups=[m["text"] for m in follow_ups if m.get("text")],
            next_open=self.when_text(timing.next_open, lang)
            if ticket.get("out_of_hours") and timing.next_open else None,
            window=self.windows.get(ticket["channel"], 0) / 3600)

    def local(self, ts: str | None, fmt: str) -> str:
        moment = parse_time(ts)
        return moment.astimezone(LOCAL_TZ).strftime(fmt) if moment else ""

    def seen_text(self, ts: str | None) -> str:
        """When a citizen last wrote, for staff: '08:15 24/11/2026'."""
        date_format = self.renderer.t(self.staff_lang, "report.date_format")
        return self.local(ts, f"%H:%M {date_format}") or "?"

    def relay_reply(self, ticket: dict[str, Any], text: str, answer_id: int | None) -> Reply:
        """The staff answer as the citizen gets it: marked as from staff, with the code, and
        the rating buttons (it counts as channel ``staff`` in the indicator)."""
        lang = ticket.get("lang") or self.settings.default_locale
        body = self.renderer.render("handoff_answer", lang, code=ticket["code"], text=text)
        buttons: Rows = ()
        if answer_id is not None:
            survey = self.knowledge.kb.survey
            labels = [(getattr(o, f"label_{lang}", None) or o.label, o.value) for o in survey.scale]
            row = tuple(Button(label, Rate(answer_id, value)) for label, value in labels)
            buttons = (row,)
            body = f"{body}\n\n{getattr(survey, f'question_{lang}', None) or survey.question}"
        return Reply(body, buttons=buttons, kind="answer", answer_id=answer_id,
                     presents=Presents(handoff=True, ticket=ticket["code"], lang=lang))

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Do the outbox's work as it comes (woken) and every ``POLL_SECONDS`` (held answers whose
        citizen has written since are due again then); housekeeping every
        ``HOUSEKEEPING_SECONDS``.  Runs for as long as the runtime does."""
        store = self.store
        stuck = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=STUCK_MINUTES)).isoformat(
            timespec="seconds")
        with contextlib.suppress(Exception):
            await store.call(tickets.unstick, store, stuck)
        loop = asyncio.get_running_loop()
        tidy_at = loop.time()
        while True:
            self._wake.clear()
            try:
                if await store.call(tickets.release_held, store):
                    log.info("hand-over: held answers are due again (their citizens wrote)")
                await self.work()
                if loop.time() >= tidy_at:
                    await self.housekeeping()
                    tidy_at = loop.time() + HOUSEKEEPING_SECONDS
            except StoreClosed:  # shutting down
                return
            except Exception:  # a locked database must not end the loop
                log.exception("hand-over desk: a round of work failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    def _kinds(self) -> dict[str, Sequence[str]]:
        room = [self.room.name] if self.room is not None else []
        return {"staff_post": room, "staff_note": room, "relay": sorted(self.reaches)}

    async def work(self) -> int:
        """Do all due work this process can do; returns how many rows were done."""
        store = self.store
        count = 0
        while True:
            rows = await store.call(tickets.claim, store, self._kinds())
            if not rows:
                return count
            for row in rows:
                try:
                    await self._do(row)
                except StoreClosed:
                    raise
                except Exception:  # one broken row must not hold up the others
                    log.exception("hand-over: %s of ticket %s failed", row["kind"],
                                  row["ticket_id"])
                    if not await self._later(row):
                        await store.call(tickets.drop, store, row["id"])
                count += 1

    async def _do(self, row: dict[str, Any]) -> None:
        store = self.store
        ticket = await store.call(tickets.ticket, store, row["ticket_id"])
        if ticket is None:
            await store.call(tickets.drop, store, row["id"])
            return
        if row["kind"] == "relay":
            await self._relay(row, ticket)
        else:
            await self._post(row, ticket)

    async def _later(self, row: dict[str, Any]) -> bool:
        """Try the row again later; False when it has been tried enough."""
        if row["attempts"] >= MAX_ATTEMPTS:
            return False
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=RETRY_SECONDS * row["attempts"])
        await self.store.call(tickets.later, self.store, row["id"],
                              when.isoformat(timespec="seconds"))
        return True

    async def _relay(self, row: dict[str, Any], ticket: dict[str, Any]) -> None:
        store = self.store
        message = await store.call(tickets.message, store, row["message_id"])
        reach = self.reaches.get(row["channel"])
        contact = await store.call(tickets.contact, store, ticket["id"])
        payload = json.loads(row["payload"] or "{}")
        if message is None or reach is None or not payload.get("text"):
            await store.call(tickets.drop, store, row["id"])
            return
        outcome: Delivery
        if contact is None:
            outcome = "unreachable"
        else:
            seen = await store.call(tickets.last_seen, store, ticket["user_ref"])
            if self.window_closed(ticket["channel"], seen):
                outcome = "window_closed"
            else:
                reply = self.relay_reply(ticket, payload["text"], message.get("answer_id"))
                outcome = await reach.reach(contact["address"], [reply])
        if outcome == "retry" and await self._later(row):
            return
        if outcome == "retry":
            outcome = "failed"
        was = message.get("delivery")
        await store.call(tickets.set_delivery, store, message["id"], outcome)
        if outcome == "window_closed":
            await store.call(tickets.hold, store, row["id"])
        elif outcome == "sent":
            await store.call(tickets.done, store, row["id"])
        else:
            await store.call(tickets.drop, store, row["id"])
        await store.call(tickets.forget_contacts, store)
        log.info("hand-over %s: staff answer %s (%s)", ticket["code"], outcome, ticket["channel"])
        if outcome != was or outcome != "window_closed":  # a held answer is reported once
            seen = await store.call(tickets.last_seen, store, ticket["user_ref"])
            await self.note(ticket, f"relay_{outcome}", message_id=message["id"],
                            last_seen=self.seen_text(seen))

    async def note(self, ticket: dict[str, Any], note: str, message_id: int | None = None,
                   **values: Any) -> None:
        """Queue a note about the ticket for the staff group (when there is one)."""
        channel = self.staff_channel
        if channel is None:
            return
        store = self.store
        payload = {"note": note, "values": values}
        await store.call(lambda: tickets.queue(store, "staff_note", channel, ticket["id"],
                                               payload, message_id=message_id))
        self.wake()

    def note_text(self, ticket: dict[str, Any], payload: dict[str, Any],
                  message: dict[str, Any] | None) -> str:
        lang = self.staff_lang
        note = payload.get("note", "")
        values = dict(payload.get("values") or {})
        channel = self.renderer.t(lang, f"report.channel_name.{ticket['channel']}")
        if note == "followup":
            return self.renderer.t(lang, "staff.followup", code=ticket["code"],
                                   text=(message or {}).get("text") or "")
        hours = self.windows.get(ticket["channel"], 0) / 3600
        return self.renderer.t(lang, f"staff.{note}", code=ticket["code"], channel=channel,
                               hours=f"{hours:g}", **values)

    async def _post(self, row: dict[str, Any], ticket: dict[str, Any]) -> None:
        store = self.store
        room = self.room
        if room is None or room.staff_room is None:
            await store.call(tickets.drop, store, row["id"])
            return
        if row["kind"] == "staff_post":
            follow_ups = [m for m in await store.call(tickets.messages, store, ticket["id"])
                          if m["author"] == "citizen"]
            text = self.staff_ticket_text(ticket, follow_ups)
            buttons = self.staff_buttons(ticket)
        else:
            message = (await store.call(tickets.message, store, row["message_id"])
                       if row.get("message_id") else None)
            text = self.note_text(ticket, json.loads(row["payload"] or "{}"), message)
            buttons = ()
        posted = await room.post_staff(text, buttons)
        if not posted:
            if not await self._later(row):
                log.error("hand-over %s: the staff group could not be reached", ticket["code"])
                await store.call(tickets.drop, store, row["id"])
            return
        chat = room.staff_room

        def record() -> None:
            for message_id in posted:
                tickets.add_post(store, chat, message_id, ticket["id"])
            tickets.done(store, row["id"])

        await store.call(record)

    async def housekeeping(self) -> None:
        """Tickets left open HANDOFF_CLOSE_DAYS are closed (and their contacts deleted); ticket
        texts past RETENTION_DAYS and web chat mail past WEB_SESSION_HOURS are deleted."""
        store = self.store
        settings = self.settings
        moment = dt.datetime.now(dt.UTC)

        def iso(delta: dt.timedelta) -> str:
            return (moment - delta).isoformat(timespec="seconds")

        expired = await store.call(tickets.expire, store,
                                   iso(dt.timedelta(days=settings.handoff_close_days)))
        await store.call(tickets.forget_contacts, store)
        texts, mail = await store.call(tickets.purge, store,
                                       iso(dt.timedelta(days=settings.retention_days)),
                                       iso(dt.timedelta(hours=settings.web_session_hours)))
        if expired or texts or mail:
            log.info("hand-over: %d ticket(s) closed after %d days, %d text(s) and %d web "
                     "message(s) deleted", len(expired), settings.handoff_close_days, texts, mail)


def _title(entry: Any) -> str:
    return str(getattr(entry, "title", None) or getattr(entry, "question", None) or entry.id)
