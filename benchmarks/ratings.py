"""Synthetic ratings for the satisfaction report at national scale.

    python -m benchmarks.ratings --count 10000000 [--days 365] [--seed 1]

writes ``count`` answers with their ratings (and a reason for one unhappy rating in three) into
the store the settings name — ``DATABASE_URL`` (PostgreSQL, with COPY) or the SQLite file in
``DATA_DIR`` — spread over the last ``days`` days, over the sample knowledge base's procedures,
their fields, a few offices and the three channels, with two ratings in three satisfied.  Then
time ``dvcbot report --from … --to …`` over it (see the README, "Scale").
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from collections.abc import Iterator

from bot.config import load_settings
from bot.knowledge.loader import load_knowledge
from bot.store.store import Store

BATCH = 50_000
CHANNELS = ("telegram", "zalo", "web")
REASONS = ("sai", "thieu", "kho_hieu", "khac")


def rows(count: int, days: int, seed: int, start_id: int,
         entries: list[tuple[str, str]], offices: list[str]) -> Iterator[tuple[object, ...]]:
    """(answer id, ts, user, channel, entry, field, office, value, satisfied, reason|None)."""
    rng = random.Random(seed)
    end = dt.datetime.now(dt.UTC).replace(microsecond=0)
    span = days * 86_400
    for n in range(count):
        ts = (end - dt.timedelta(seconds=rng.randrange(span))).isoformat()
        entry, field = rng.choice(entries)
        office = rng.choice(offices) if rng.random() < 0.1 else None
        value = rng.choices((1, 2, 3), weights=(1, 1, 4))[0]
        satisfied = int(value > 1)
        reason = rng.choice(REASONS) if not satisfied and rng.random() < 0.33 else None
        yield (start_id + n, ts, f"u{rng.randrange(count // 3 + 1)}", rng.choice(CHANNELS),
               entry, field, office, value, satisfied, reason)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    settings = load_settings()
    kb = load_knowledge(settings.knowledge_dir)
    entries = [(e.id, getattr(e, "field", None) or "") for e in kb.entries.values()]
    offices = [o.id for o in kb.offices][:50] or ["office"]
    store = Store(settings.store_target)
    try:
        started = time.perf_counter()
        first = _next_id(store)
        generated = rows(args.count, args.days, args.seed, first, entries, offices)
        if store.postgres:
            _copy(store, generated)
        else:
            _insert(store, generated)
        took = time.perf_counter() - started
    finally:
        store.close()
    print(f"ratings={args.count} days={args.days} seconds={took:.1f} "
          f"backend={'postgresql' if settings.database_url else 'sqlite'}")


def _next_id(store: Store) -> int:
    row = store.db.execute("SELECT coalesce(max(id), 0) FROM answers").fetchone()
    return int(row[0]) + 1


def _copy(store: Store, generated: Iterator[tuple[object, ...]]) -> None:
    raw = store.db.conn.raw  # type: ignore[union-attr]
    for batch in _batches(generated):
        with raw.transaction(), raw.cursor() as cur:
            with cur.copy("COPY answers (id, ts, user_ref, channel, entry_id, office_id, "
                          "decision) FROM STDIN") as copy:
                for r in batch:
                    copy.write_row((r[0], r[1], r[2], r[3], r[4], r[6], "answer"))
            with cur.copy("COPY ratings (answer_id, ts, user_ref, channel, value, satisfied, "
                          "scale_size, entry_id, field, office_id) FROM STDIN") as copy:
                for r in batch:
                    copy.write_row((r[0], r[1], r[2], r[3], r[7], r[8], 3, r[4], r[5], r[6]))
            with cur.copy("COPY reasons (answer_id, reason, ts) FROM STDIN") as copy:
                for r in batch:
                    if r[9]:
                        copy.write_row((r[0], r[9], r[1]))
    raw.execute("SELECT setval(pg_get_serial_sequence('answers', 'id'), "
                "(SELECT max(id) FROM answers))")
    raw.execute("ANALYZE answers")
    raw.execute("ANALYZE ratings")


def _batches(generated: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    batch: list[tuple[object, ...]] = []
    for row in generated:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(store: Store, generated: Iterator[tuple[object, ...]]) -> None:
    for batch in _batches(generated):
        _write_batch(store.db.conn, batch)


def _write_batch(conn: object, batch: list[tuple[object, ...]]) -> None:
    db = conn  # sqlite3.Connection
    db.execute("BEGIN")  # type: ignore[attr-defined]
    db.executemany(  # type: ignore[attr-defined]
        "INSERT INTO answers (id, ts, user_ref, channel, entry_id, office_id, decision) "
        "VALUES (?, ?, ?, ?, ?, ?, 'answer')",
        [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in batch])
    db.executemany(  # type: ignore[attr-defined]
        "INSERT INTO ratings (answer_id, ts, user_ref, channel, value, satisfied, scale_size, "
        "entry_id, field, office_id) VALUES (?, ?, ?, ?, ?, ?, 3, ?, ?, ?)",
        [(r[0], r[1], r[2], r[3], r[7], r[8], r[4], r[5], r[6]) for r in batch])
    db.executemany(  # type: ignore[attr-defined]
        "INSERT INTO reasons (answer_id, reason, ts) VALUES (?, ?, ?)",
        [(r[0], r[9], r[1]) for r in batch if r[9]])
    db.execute("COMMIT")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
