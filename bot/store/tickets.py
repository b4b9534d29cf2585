"""Hand-over tickets in the store: the ticket, what reaches the citizen, staff messages, the outbox.

Functions of a ``Store``; run them on its thread (``await store.call(lambda: f(store, …))``).  The
ones a handler calls return plain JSON-able values, so that the durable inbox can journal them
(an event handled again after a crash gets the recorded result, nothing is written twice).

Tables (migration ``m030_tickets``):

- ``tickets``: code, when, pseudonymous user, channel, language, the entry in focus, why it was
  opened, the question and the last turns (masked: ``bot.privacy.mask``), state
  (``open`` → ``answered`` → ``closed``), who took it, first answer, closing.
- ``ticket_contacts``: what is needed to reach the citizen (the Telegram chat id, the Zalo user
  id; for the web chat and the console the pseudonym itself).  Only for tickets not closed: a
  closed ticket's row is deleted as soon as nothing is left to deliver, and a ticket left open
  ``HANDOFF_CLOSE_DAYS`` is closed.  Never logged, never shown on the dashboard.
- ``ticket_messages``: the citizen's follow-ups and staff answers (masked), with the delivery
  state of each answer (``pending``, ``sent``, ``window_closed``, ``failed``, ``unreachable``).
- ``ticket_posts``: the staff group's messages about a ticket (a reply to any of them answers it).
- ``handoff_outbox``: work for the desk's loop (post a ticket to the staff group, relay an
  answer, a note to the staff group).  An answer's own words wait here, unmasked, only until they
  are delivered (``payload`` is then dropped).
- ``web_mailbox``: staff answers waiting for the citizen's web chat page to fetch them.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlite_utils import Database

from bot.privacy import mask
from bot.store.postgres import PgCursor
from bot.store.store import Store, migrations, now

OPEN_STATES = ("open", "answered")
MAX_CODE_TRIES = 20


@migrations()
def m030_tickets(db: Database) -> None:
    db.execute(
        """CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            opened TEXT NOT NULL,
            user_ref TEXT NOT NULL,
            channel TEXT NOT NULL,
            lang TEXT,
            entry_id TEXT,
            reason TEXT,                    -- asked | declines | unhappy
            question TEXT,                  -- masked
            transcript TEXT,                -- JSON list of recent turns, masked
            state TEXT NOT NULL,            -- open | answered | closed
            out_of_hours INTEGER NOT NULL DEFAULT 0,
            taken_by TEXT,
            taken TEXT,
            answered TEXT,                  -- the first staff answer
            closed TEXT,
            closed_by TEXT,
            updated TEXT
        )"""
    )
    db.execute("CREATE INDEX tickets_state ON tickets (state)")
    db.execute("CREATE INDEX tickets_opened ON tickets (opened)")
    db.execute("CREATE INDEX tickets_user ON tickets (user_ref, state)")
    db.execute(
        """CREATE TABLE ticket_contacts (
            ticket_id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            address TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE ticket_messages (
            id INTEGER PRIMARY KEY,
            ticket_id INTEGER NOT NULL,
            ts TEXT NOT NULL,
            author TEXT NOT NULL,           -- citizen | staff
            staff TEXT,
            via TEXT,                       -- telegram | dashboard (staff answers)
            text TEXT,                      -- masked
            delivery TEXT,                  -- staff answers: pending | sent | window_closed | …
            delivered TEXT,
            answer_id INTEGER
        )"""
    )
    db.execute("CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id)")
    db.execute(
        """CREATE TABLE ticket_posts (
            chat TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            ticket_id INTEGER NOT NULL,
            PRIMARY KEY (chat, message_id)
        )"""
    )
    db.execute(
        """CREATE TABLE handoff_outbox (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,             -- staff_post | staff_note | relay
            channel TEXT NOT NULL,          -- the channel that does it
            ticket_id INTEGER NOT NULL,
            message_id INTEGER,
            payload TEXT,                   -- JSON
            state TEXT NOT NULL,            -- pending | sending | held | done | dropped
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try TEXT NOT NULL,
            claimed TEXT
        )"""
    )
    db.execute("CREATE INDEX handoff_outbox_todo ON handoff_outbox (state, next_try)")
    db.execute(
        """CREATE TABLE web_mailbox (
            id INTEGER PRIMARY KEY,
            user_ref TEXT NOT NULL,
            ts TEXT NOT NULL,
            reply TEXT NOT NULL             -- JSON of the reply as the chat page shows it
        )"""
    )
    db.execute("CREATE INDEX web_mailbox_user ON web_mailbox (user_ref, id)")


def _rows(cursor: sqlite3.Cursor | PgCursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(store: Store, sql: str, args: Sequence[Any]) -> dict[str, Any] | None:
    rows = _rows(store.db.conn.execute(sql, list(args)))
    return rows[0] if rows else None


# -- tickets -------------------------------------------------------------------------------------


def ticket(store: Store, ticket_id: int) -> dict[str, Any] | None:
    return _one(store, "SELECT * FROM tickets WHERE id = ?", [ticket_id])


def ticket_by_code(store: Store, code: str) -> dict[str, Any] | None:
    return _one(store, "SELECT * FROM tickets WHERE code = ?", [code.upper()])


def ticket_by_post(store: Store, chat: str, message_id: int) -> dict[str, Any] | None:
    return _one(store, "SELECT t.* FROM ticket_posts p JOIN tickets t ON t.id = p.ticket_id "
                       "WHERE p.chat = ? AND p.message_id = ?", [chat, message_id])


def open_ticket_of(store: Store, user_ref: str) -> dict[str, Any] | None:
    """The user's ticket that is not closed, if any (the latest)."""
    return _one(store, "SELECT * FROM tickets WHERE user_ref = ? AND state IN ('open', "
                       "'answered') ORDER BY id DESC LIMIT 1", [user_ref])


def recent_turns(store: Store, user_ref: str, since: str, limit: int,
                 gap_minutes: float) -> list[dict[str, Any]]:
    """The user's last logged questions of this conversation: since ``since``, and no earlier
    than a quiet spell of ``gap_minutes`` (their texts are masked already)."""
    if limit <= 0:
        return []
    rows = _rows(store.db.conn.execute(
        "SELECT ts, text, decision, entry_id FROM questions WHERE user_ref = ? AND ts >= ? "
        "AND text IS NOT NULL ORDER BY id DESC LIMIT ?", [user_ref, since, limit]))
    kept: list[dict[str, Any]] = []
    later = now()
    for row in rows:
        gap = _seconds_between(row["ts"], later)
        if gap is None or gap > gap_minutes * 60:
            break
        kept.append(row)
        later = row["ts"]
    return kept[::-1]


def _seconds_between(earlier: str, later: str) -> float | None:
    try:
        return (dt.datetime.fromisoformat(later) - dt.datetime.fromisoformat(earlier)
                ).total_seconds()
    except (TypeError, ValueError):
        return None


def open_ticket(store: Store, *, code: Callable[[], str], user_ref: str, channel: str,
                lang: str, address: str, entry_id: str | None, question: str | None,
                request: str | None, reason: str, out_of_hours: bool, since: str, turns: int,
                gap_minutes: float, staff_channel: str | None) -> dict[str, Any]:
    """A new ticket (with the contact and, when a staff group is set, its post queued); or, when
    the user has one that is not closed, that one, with the new request added to it."""
    stamp = now()
    current = open_ticket_of(store, user_ref)
    request_text = mask(request or "").strip() or None
    if current is not None:
        if request_text:
            cursor = store.db.conn.execute(
                "INSERT INTO ticket_messages (ticket_id, ts, author, text) "
                "VALUES (?, ?, 'citizen', ?)", [current["id"], stamp, request_text])
            if staff_channel:
                queue(store, "staff_note", staff_channel, current["id"],
                      {"note": "followup", "message": cursor.lastrowid},
                      message_id=cursor.lastrowid)
        store.db.conn.execute(
            "UPDATE tickets SET state = 'open', updated = ? WHERE id = ?", [stamp, current["id"]])
        store.db.conn.execute(
            "INSERT INTO ticket_contacts (ticket_id, channel, address) VALUES (?, ?, ?) "
            "ON CONFLICT (ticket_id) DO UPDATE SET address = excluded.address",
            [current["id"], channel, address])
        found = ticket(store, current["id"])
        assert found is not None
        return {**found, "existing": True}
    history = recent_turns(store, user_ref, since, turns, gap_minutes)
    asked = mask(question).strip() if question else None
    if not asked:
        asked = next((t["text"] for t in reversed(history) if t.get("text")), None) or request_text
    transcript = json.dumps(history, ensure_ascii=False)
    for _ in range(MAX_CODE_TRIES):
        cursor = store.db.conn.execute(
            "INSERT INTO tickets (code, opened, user_ref, channel, lang, entry_id, reason, "
            "question, transcript, state, out_of_hours, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) ON CONFLICT (code) DO NOTHING",
            [code(), stamp, user_ref, channel, lang, entry_id, reason, asked, transcript,
             int(out_of_hours), stamp])
        if cursor.rowcount == 1:
            break  # else the code is taken: draw another
    else:  # pragma: no cover - 390,000 codes; twenty clashes in a row do not happen
        raise RuntimeError("no free ticket code")
    ticket_id = int(cursor.lastrowid or 0)
    if request_text and request_text != asked:
        store.db.conn.execute(
            "INSERT INTO ticket_messages (ticket_id, ts, author, text) VALUES (?, ?, 'citizen', ?)",
            [ticket_id, stamp, request_text])
    store.db.conn.execute("INSERT INTO ticket_contacts (ticket_id, channel, address) "
                          "VALUES (?, ?, ?)", [ticket_id, channel, address])
    if staff_channel:
        queue(store, "staff_post", staff_channel, ticket_id, {})
    found = ticket(store, ticket_id)
    assert found is not None
    return {**found, "existing": False}


def take_ticket(store: Store, ticket_id: int, staff: str) -> dict[str, Any] | None:
    store.db.conn.execute(
        "UPDATE tickets SET taken_by = ?, taken = ?, updated = ? WHERE id = ? AND state != "
        "'closed'", [staff, now(), now(), ticket_id])
    return ticket(store, ticket_id)


def close_ticket(store: Store, ticket_id: int, staff: str) -> dict[str, Any] | None:
    """Close the ticket; the contact goes once nothing is left to deliver (``forget_contacts``)."""
    stamp = now()
    store.db.conn.execute(
        "UPDATE tickets SET state = 'closed', closed = ?, closed_by = ?, updated = ? "
        "WHERE id = ? AND state != 'closed'", [stamp, staff, stamp, ticket_id])
    forget_contacts(store)
    return ticket(store, ticket_id)


def add_staff_answer(store: Store, ticket_id: int, staff: str, via: str, text: str,
                     delivery: str, relay_channel: str | None) -> dict[str, Any]:
    """Record a staff answer and queue it for the citizen: the answer row that the citizen's
    rating refers to (decision ``staff``), the message (masked), the relay (the words as typed,
    kept only until delivered; ``held`` while the platform's window is closed)."""
    found = ticket(store, ticket_id)
    if found is None or found["state"] == "closed":
        return {"refused": "closed"}
    stamp = now()
    answer_id = store.log_answer(found["user_ref"], found["channel"], "staff", found["entry_id"])
    cursor = store.db.conn.execute(
        "INSERT INTO ticket_messages (ticket_id, ts, author, staff, via, text, delivery, "
        "answer_id) VALUES (?, ?, 'staff', ?, ?, ?, ?, ?)",
        [ticket_id, stamp, staff, via, mask(text), delivery, answer_id])
    message_id = int(cursor.lastrowid or 0)
    if relay_channel is not None:
        queue(store, "relay", relay_channel, ticket_id, {"text": text}, message_id=message_id,
              state="held" if delivery == "window_closed" else "pending")
    store.db.conn.execute(
        "UPDATE tickets SET state = 'answered', answered = coalesce(answered, ?), "
        "taken_by = coalesce(taken_by, ?), taken = coalesce(taken, ?), updated = ? WHERE id = ?",
        [stamp, staff, stamp, stamp, ticket_id])
    return {"message_id": message_id, "answer_id": answer_id, "code": found["code"],
            "delivery": delivery}


def message(store: Store, message_id: int) -> dict[str, Any] | None:
    return _one(store, "SELECT * FROM ticket_messages WHERE id = ?", [message_id])


def messages(store: Store, ticket_id: int) -> list[dict[str, Any]]:
    return _rows(store.db.conn.execute(
        "SELECT * FROM ticket_messages WHERE ticket_id = ? ORDER BY id", [ticket_id]))


def set_delivery(store: Store, message_id: int, delivery: str) -> None:
    store.db.conn.execute(
        "UPDATE ticket_messages SET delivery = ?, delivered = CASE WHEN ? = 'sent' THEN ? "
        "ELSE delivered END WHERE id = ?", [delivery, delivery, now(), message_id])


def contact(store: Store, ticket_id: int) -> dict[str, Any] | None:
    return _one(store, "SELECT * FROM ticket_contacts WHERE ticket_id = ?", [ticket_id])


def last_seen(store: Store, user_ref: str) -> str | None:
    """When the user last wrote (their chat state was saved), UTC ISO."""
    row = store.db.conn.execute("SELECT updated FROM users WHERE ref = ?", [user_ref]).fetchone()
    return str(row[0]) if row and row[0] else None


def add_post(store: Store, chat: str, message_id: int, ticket_id: int) -> None:
    store.db.conn.execute("INSERT OR IGNORE INTO ticket_posts (chat, message_id, ticket_id) "
                          "VALUES (?, ?, ?)", [chat, message_id, ticket_id])


def queue_list(store: Store, states: Sequence[str], limit: int = 200) -> list[dict[str, Any]]:
    marks = ", ".join("?" * len(states))
    return _rows(store.db.conn.execute(
        f"SELECT * FROM tickets WHERE state IN ({marks}) ORDER BY "
        "CASE state WHEN 'open' THEN 0 WHEN 'answered' THEN 1 ELSE 2 END, id DESC LIMIT ?",
        [*states, limit]))


def answered_tickets(store: Store, since: str | None, limit: int = 200) -> list[dict[str, Any]]:
    """Answered or closed tickets with their first staff answer (masked), newest first."""
    return _rows(store.db.conn.execute(
        "SELECT t.id, t.code, t.opened, t.lang, t.entry_id, t.question, m.text AS answer "
        "FROM tickets t JOIN ticket_messages m ON m.id = (SELECT min(id) FROM ticket_messages "
        "WHERE ticket_id = t.id AND author = 'staff') WHERE t.answered IS NOT NULL "
        "AND (CAST(? AS TEXT) IS NULL OR t.opened >= ?) AND t.question IS NOT NULL "
        "ORDER BY t.id DESC LIMIT ?",
        [since, since, limit]))


# -- the outbox ----------------------------------------------------------------------------------


def queue(store: Store, kind: str, channel: str, ticket_id: int, payload: dict[str, Any],
          message_id: int | None = None, state: str = "pending") -> int:
    stamp = now()
    cursor = store.db.conn.execute(
        "INSERT INTO handoff_outbox (ts, kind, channel, ticket_id, message_id, payload, state, "
        "next_try) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [stamp, kind, channel, ticket_id, message_id, json.dumps(payload, ensure_ascii=False),
         state, stamp])
    return int(cursor.lastrowid or 0)


def claim(store: Store, kinds: dict[str, Sequence[str]], limit: int = 20) -> list[dict[str, Any]]:
    """Take due work this process can do: ``kinds`` maps a kind to the channels it can reach."""
    stamp = now()
    found: list[dict[str, Any]] = []
    for kind, channels in kinds.items():
        if not channels:
            continue
        marks = ", ".join("?" * len(channels))
        rows = _rows(store.db.conn.execute(
            f"SELECT * FROM handoff_outbox WHERE state = 'pending' AND kind = ? AND channel IN "
            f"({marks}) AND next_try <= ? ORDER BY id LIMIT ?", [kind, *channels, stamp, limit]))
        for row in rows:
            cursor = store.db.conn.execute(
                "UPDATE handoff_outbox SET state = 'sending', attempts = attempts + 1, "
                "claimed = ? WHERE id = ? AND state = 'pending'", [stamp, row["id"]])
            if cursor.rowcount == 1:
                found.append({**row, "attempts": row["attempts"] + 1})
    found.sort(key=lambda r: r["id"])
    return found


def done(store: Store, outbox_id: int) -> None:
    store.db.conn.execute("UPDATE handoff_outbox SET state = 'done', payload = NULL WHERE id = ?",
                          [outbox_id])


def hold(store: Store, outbox_id: int) -> None:
    """Keep the relay until the citizen writes again (the platform's window is closed)."""
    store.db.conn.execute("UPDATE handoff_outbox SET state = 'held', ts = ? WHERE id = ?",
                          [now(), outbox_id])


def drop(store: Store, outbox_id: int) -> None:
    store.db.conn.execute(
        "UPDATE handoff_outbox SET state = 'dropped', payload = NULL WHERE id = ?", [outbox_id])


def later(store: Store, outbox_id: int, when: str) -> None:
    store.db.conn.execute("UPDATE handoff_outbox SET state = 'pending', next_try = ? WHERE id = ?",
                          [when, outbox_id])


def unstick(store: Store, before: str) -> int:
    """Work claimed before ``before`` and never finished (the process died): due again."""
    return int(store.db.conn.execute(
        "UPDATE handoff_outbox SET state = 'pending' WHERE state = 'sending' AND claimed < ?",
        [before]).rowcount)


def release_held(store: Store) -> list[int]:
    """Held relays whose citizen has written since: due again.  Returns their ticket ids.

    Times are kept to the second: a message in the same second as the hold counts as since (a
    platform that still refuses then costs one more refused attempt, not a lost answer)."""
    rows = store.db.conn.execute(
        "SELECT o.id, o.ticket_id FROM handoff_outbox o JOIN tickets t ON t.id = o.ticket_id "
        "JOIN users u ON u.ref = t.user_ref WHERE o.state = 'held' AND u.updated >= o.ts "
        "AND t.state != 'closed'").fetchall()
    for outbox_id, _ in rows:
        store.db.conn.execute("UPDATE handoff_outbox SET state = 'pending', next_try = ?, "
                              "ts = ? WHERE id = ?", [now(), now(), outbox_id])
    return [int(ticket_id) for _, ticket_id in rows]


# -- housekeeping ----------------------------------------------------------------------------------


def forget_contacts(store: Store) -> int:
    """Delete what reaches the citizens of closed tickets once nothing is left to deliver to
    them (held relays of closed tickets are dropped)."""
    conn = store.db.conn
    conn.execute(
        "UPDATE handoff_outbox SET state = 'dropped', payload = NULL WHERE state = 'held' AND "
        "ticket_id IN (SELECT id FROM tickets WHERE state = 'closed')")
    return int(conn.execute(
        "DELETE FROM ticket_contacts WHERE ticket_id IN (SELECT id FROM tickets WHERE state = "
        "'closed') AND ticket_id NOT IN (SELECT ticket_id FROM handoff_outbox WHERE kind = "
        "'relay' AND state IN ('pending', 'sending'))").rowcount)


def expire(store: Store, before: str) -> list[dict[str, Any]]:
    """Close the tickets opened before ``before`` that are still not closed."""
    rows = _rows(store.db.conn.execute(
        "SELECT id, code FROM tickets WHERE state != 'closed' AND opened < ?", [before]))
    for row in rows:
        close_ticket(store, row["id"], "auto")
    return rows


def purge(store: Store, texts_before: str, mailbox_before: str) -> tuple[int, int]:
    """Delete ticket texts older than the retention period and web mail nobody can fetch."""
    conn = store.db.conn
    texts = conn.execute("UPDATE tickets SET question = NULL, transcript = NULL WHERE opened < ? "
                         "AND question IS NOT NULL", [texts_before]).rowcount
    texts += conn.execute("UPDATE ticket_messages SET text = NULL WHERE ts < ? AND text IS NOT "
                          "NULL", [texts_before]).rowcount
    mail = conn.execute("DELETE FROM web_mailbox WHERE ts < ?", [mailbox_before]).rowcount
    return int(texts), int(mail)


# -- the web chat's mailbox ------------------------------------------------------------------------


def mailbox_put(store: Store, user_ref: str, reply: dict[str, Any]) -> int:
    cursor = store.db.conn.execute(
        "INSERT INTO web_mailbox (user_ref, ts, reply) VALUES (?, ?, ?)",
        [user_ref, now(), json.dumps(reply, ensure_ascii=False)])
    return int(cursor.lastrowid or 0)


def mailbox_after(store: Store, user_ref: str, after: int) -> list[dict[str, Any]]:
    rows = store.db.conn.execute(
        "SELECT id, reply FROM web_mailbox WHERE user_ref = ? AND id > ? ORDER BY id LIMIT 20",
        [user_ref, after]).fetchall()
    return [{"id": int(i), "reply": json.loads(r)} for i, r in rows]


def waiting(store: Store, user_ref: str) -> bool:
    """The user has a ticket not closed (the web chat page then asks for staff answers)."""
    return open_ticket_of(store, user_ref) is not None
