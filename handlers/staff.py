"""The staff group (``TELEGRAM_STAFF_CHAT_ID``): staff take, answer and close hand-over tickets.

A channel marks what comes from the staff group with ``extra["desk"] = "staff"`` and says whether
the sender is in the allow-list (``extra["staff"] = "1"``, ``TELEGRAM_STAFF_IDS``), their name,
and which message they replied to.  Then:

- a reply to any of the bot's messages about a ticket (or a message starting with the ticket's
  code) is the answer: it is relayed to the citizen (``bot.handoff.desk``), and the group is told
  whether it arrived — at once when the citizen's platform no longer allows a reply (Zalo);
- the Take / Close buttons under a ticket take or close it;
- ``/tickets`` lists the tickets waiting for staff;
- anyone not in the allow-list is refused (and logged); other talk in the group is left alone.

This route comes first: nothing from the staff group reaches the citizens' handlers.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.conversation.actions import CloseTicket, TakeTicket
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply
from bot.handoff.codes import leading_code
from bot.store import tickets

log = logging.getLogger(__name__)

QUEUE_COMMANDS = frozenset({"tickets", "yeucau"})
QUEUE_SHOWN = 15


def matches(turn: Turn) -> bool:
    return turn.incoming.extra.get("desk") == "staff"


def _staff(turn: Turn) -> str:
    return turn.incoming.extra.get("staff_name") or "?"


def _admin(turn: Turn, key: str, **values: Any) -> list[Reply]:
    return [Reply(turn.t(key, **values), kind="admin")]


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    allowed = inc.extra.get("staff") == "1"
    if isinstance(inc.action, TakeTicket | CloseTicket) or inc.command in QUEUE_COMMANDS:
        if not allowed:
            log.warning("staff group: a ticket button or command by someone not in "
                        "TELEGRAM_STAFF_IDS was refused")
            return _admin(turn, "staff.refused")
        if isinstance(inc.action, TakeTicket | CloseTicket):
            return await _button(turn, inc.action)
        return await _queue(turn)
    quiet = inc.command or inc.action or turn.services.desk is None
    ticket, text = (None, "") if quiet else await _ticket_of(turn)
    if ticket is None:
        return []  # talk among staff, other commands
    if not allowed:
        log.warning("staff group: an answer to %s by someone not in TELEGRAM_STAFF_IDS was "
                    "refused", ticket["code"])
        return _admin(turn, "staff.refused")
    return await _answer(turn, ticket, text)


async def _answer(turn: Turn, ticket: dict[str, Any], text: str) -> list[Reply]:
    desk = turn.services.desk
    assert desk is not None
    if turn.incoming.attachment:
        return _admin(turn, "staff.text_only", code=ticket["code"])
    if not text:
        return _admin(turn, "staff.empty", code=ticket["code"])
    result = await desk.answer(ticket, _staff(turn), "telegram", text)
    if result.get("refused"):
        return _admin(turn, "staff.closed_already", code=ticket["code"])
    if result["delivery"] == "window_closed":  # told at once; it goes when the citizen writes
        last_seen = desk.seen_text(result.get("last_seen"))
        note = {"note": "relay_window_closed", "values": {"last_seen": last_seen}}
        return [Reply(desk.note_text(ticket, note, None), kind="admin")]
    return []  # the desk tells the group once the answer has arrived


async def _ticket_of(turn: Turn) -> tuple[dict[str, Any] | None, str]:
    """The ticket a staff message answers, and the answer's text (without a leading code)."""
    inc, store = turn.incoming, turn.store
    text = (inc.text or "").strip()
    reply_to = inc.extra.get("reply_to", "")
    chat = inc.extra.get("chat", "")
    if reply_to.isdigit() and chat:
        found = await store.call(tickets.ticket_by_post, store, chat, int(reply_to))
        if found is not None:
            return found, text
    code, rest = leading_code(text)
    if code is None:
        return None, text
    found = await store.call(tickets.ticket_by_code, store, code)
    return found, rest.strip()


async def _button(turn: Turn, action: TakeTicket | CloseTicket) -> list[Reply]:
    desk = turn.services.desk
    if desk is None:
        return []
    if isinstance(action, TakeTicket):
        taken = await desk.take(action.ticket_id, _staff(turn))
        if taken is None:
            return []
        if taken["state"] == "closed":
            return _admin(turn, "staff.closed_already", code=taken["code"])
        return _admin(turn, "staff.taken", code=taken["code"], name=taken["taken_by"])
    closed = await desk.close(action.ticket_id, _staff(turn))
    if closed is None:
        return []
    return _admin(turn, "staff.closed", code=closed["code"], name=closed["closed_by"] or "")


async def _queue(turn: Turn) -> list[Reply]:
    store = turn.store
    rows = await store.call(tickets.queue_list, store, ("open", "answered"), QUEUE_SHOWN)
    if not rows:
        return _admin(turn, "staff.queue_none")
    lines = [turn.t("staff.queue_head", n=len(rows))]
    for row in rows:
        lines.append(turn.t(f"staff.queue_{row['state']}", code=row["code"],
                            channel=turn.t(f"report.channel_name.{row['channel']}"),
                            question=(row["question"] or "")[:80],
                            name=row["taken_by"] or "—"))
    return [Reply("\n".join(lines), kind="admin")]


ROUTE = Route("staff", matches, handle)
