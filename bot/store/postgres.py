"""The store on PostgreSQL: the same SQL, the same migrations, the same one store thread.

``DATABASE_URL=postgresql://…`` swaps the SQLite connection for a ``PgConnection`` (psycopg 3)
and the sqlite-utils ``Database`` for a ``PgDatabase`` that offers the few methods the store and
the migrations use.  The store's SQL is written once, in the SQL both engines accept; what differs
is rewritten here, once per statement text (cached):

* ``?`` placeholders become ``%s`` and ``[name]`` quoting becomes ``"name"``;
* ``INSERT OR IGNORE`` becomes ``ON CONFLICT DO NOTHING``; ``INSERT OR REPLACE`` an upsert on the
  table's primary key;
* an ``INSERT`` into a table keyed by one integer column returns that key (``lastrowid``);
* in migrations, ``INTEGER PRIMARY KEY`` becomes an identity column, ``INTEGER`` ``BIGINT``,
  ``REAL`` ``DOUBLE PRECISION`` and ``TEXT`` is compared byte by byte (``COLLATE "C"``, as SQLite
  does: times are ISO strings and ``ts >= ?`` must mean what it means on SQLite).  A table whose
  rows are read back in arrival order (``ORDER BY rowid``) gets a ``rowid`` identity column.
* SQLite's ``date(text, modifier)`` is provided as a SQL function.

Migrations are the store's own functions (``bot.store.store.migrations``), applied in order and
recorded in ``_dvcbot_migrations`` under an advisory lock, so workers starting together apply
each one once.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from sqlite_utils.migrations import Migrations

IntegrityError = pg_errors.IntegrityError
_LOCK_KEY = 7_406_517_213  # pg_advisory_lock key of the migrations (any constant of ours)
_ORDERED = {"inbox"}  # tables read back in arrival order (ORDER BY rowid)
_TYPES = {int: "INTEGER", str: "TEXT", float: "REAL", bytes: "BLOB"}  # SQLite's; see schema_sql
_TOKENS = re.compile(r"--[^\n]*|'(?:[^']|'')*'|\?|%|\[([A-Za-z_][A-Za-z0-9_]*)\]")
_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+(IGNORE|REPLACE)\s+)?INTO\s+([A-Za-z_]\w*)"
                     r"\s*\(([^)]*)\)", re.IGNORECASE | re.DOTALL)
_WRITES = ("INSERT", "UPDATE", "DELETE")

FUNCTIONS = """
CREATE OR REPLACE FUNCTION date(moment text, modifier text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_char((moment::timestamptz AT TIME ZONE 'UTC') + modifier::interval, 'YYYY-MM-DD')
"""


class _Number(Loader):
    """NUMERIC as the int or float SQLite would have given (reports add and divide them)."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data).decode("ascii")
        return int(text) if text.lstrip("-").isdigit() else float(text)


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class Statement:
    text: str
    writes: bool
    returns_key: bool  # the INSERT returns the new row's key (lastrowid)


class PgCursor:
    """The part of ``sqlite3.Cursor`` the store uses."""

    def __init__(self, cursor: psycopg.Cursor[Any], lastrowid: int | None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount

    @property
    def description(self) -> Sequence[Any] | None:
        return self._cursor.description

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """The part of ``sqlite3.Connection`` the store uses, on one psycopg connection in
    autocommit mode (the store's worker says BEGIN and COMMIT itself, as with SQLite)."""

    def __init__(self, url: str) -> None:
        self.raw = psycopg.connect(url, autocommit=True)
        self.raw.adapters.register_loader("numeric", _Number)  # sum() of integers: an int
        self.total_changes = 0
        self._keys: dict[str, tuple[str, ...]] = {}
        self._integer_keys: set[str] = set()
        self._statements: dict[str, Statement] = {}

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> PgCursor:
        statement = self._statements.get(sql)
        if statement is None:
            statement = self._statements[sql] = self._translate(sql)
        cursor = self.raw.execute(statement.text, params)
        lastrowid = None
        if statement.returns_key:
            row = cursor.fetchone()
            lastrowid = None if row is None else int(row[0])
        if statement.writes and cursor.rowcount > 0:
            self.total_changes += cursor.rowcount
        return PgCursor(cursor, lastrowid)

    def close(self) -> None:
        self.raw.close()

    def keys(self, table: str) -> tuple[str, ...]:
        return self._keys.get(table, ())

    def learn_keys(self) -> None:
        """Read every table's primary key (for upserts and returned keys) from the catalog."""
        rows = self.raw.execute(
            "SELECT c.relname, a.attname, t.typname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE i.indisprimary AND c.relnamespace = current_schema()::regnamespace "
            "ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)").fetchall()
        keys: dict[str, list[str]] = {}
        integers: set[str] = set()
        for table, column, type_name in rows:
            keys.setdefault(table, []).append(column)
            if type_name in {"int8", "int4"}:
                integers.add(table)
        self._keys = {table: tuple(columns) for table, columns in keys.items()}
        self._integer_keys = {t for t in integers if len(self._keys[t]) == 1}
        self._statements.clear()

    def _translate(self, sql: str) -> Statement:
        text = _placeholders(sql.strip())
        verb = text.split(None, 1)[0].upper() if text else ""
        match = _INSERT.match(text)
        if match is None:
            return Statement(text, verb in _WRITES, False)
        mode, table, columns = (match.group(1) or "").upper(), match.group(2), match.group(3)
        text = f"INSERT INTO {table} ({columns}){text[match.end():]}"
        keys = self._keys.get(table, ())
        if mode == "IGNORE":
            text += " ON CONFLICT DO NOTHING"
        elif mode == "REPLACE":
            text += _upsert(keys, [c.strip().strip('"') for c in columns.split(",")])
        returns = table in self._integer_keys and "RETURNING" not in text.upper()
        if returns:
            text += f' RETURNING "{keys[0]}"'
        return Statement(text, True, returns)


def _placeholders(sql: str) -> str:
    """``?`` → ``%s``, a bare ``%`` → ``%%``, ``[name]`` → ``"name"``; string literals kept."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1):
            return f'"{match.group(1)}"'
        return token

    return _TOKENS.sub(swap, sql)


def _upsert(keys: Sequence[str], columns: Sequence[str]) -> str:
    rest = [c for c in columns if c not in keys]
    if not keys:
        return ""
    target = ", ".join(f'"{k}"' for k in keys)
    if not rest:
        return f" ON CONFLICT ({target}) DO NOTHING"
    sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in rest)
    return f" ON CONFLICT ({target}) DO UPDATE SET {sets}"


# -- the sqlite-utils methods the store and its migrations use ------------------------------------


class PgTable:
    def __init__(self, db: PgDatabase, name: str) -> None:
        self.db = db
        self.name = name
        self.last_pk: Any = None
        self.last_rowid: int | None = None

    @property
    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a dict, in the order of the primary key (as sqlite-utils gives them)."""
        keys = self.db.conn.keys(self.name)
        order = f" ORDER BY {', '.join(repr_name(k) for k in keys)}" if keys else ""
        cursor = self.db.execute(f'SELECT * FROM "{self.name}"{order}')
        names = [d[0] for d in cursor.description or ()]
        for row in cursor.fetchall():
            yield {n: v for n, v in zip(names, row, strict=True) if n != "rowid"}

    @property
    def count(self) -> int:
        return int(self.db.execute(f'SELECT count(*) FROM "{self.name}"').fetchone()[0])

    def create(self, columns: dict[str, type], pk: str | tuple[str, ...] | None = None) -> None:
        keys = (pk,) if isinstance(pk, str) else tuple(pk or ())
        parts = []
        for column, kind in columns.items():
            if keys == (column,) and kind is int:
                parts.append(f'"{column}" INTEGER PRIMARY KEY')
            else:
                parts.append(f'"{column}" {_TYPES[kind]}')
        if keys and not (len(keys) == 1 and columns.get(keys[0]) is int):
            parts.append(f"PRIMARY KEY ({', '.join(repr_name(k) for k in keys)})")
        self.db.execute(f'CREATE TABLE "{self.name}" ({", ".join(parts)})')

    def create_index(self, columns: Sequence[str], if_not_exists: bool = False) -> None:
        name = f"idx_{self.name}_{'_'.join(columns)}"
        exists = "IF NOT EXISTS " if if_not_exists else ""
        listed = ", ".join(repr_name(c) for c in columns)
        self.db.execute(f'CREATE INDEX {exists}"{name}" ON "{self.name}" ({listed})')

    def add_column(self, name: str, kind: type) -> None:
        column = schema_sql(f'"{name}" {_TYPES[kind]}')
        self.db.execute(f'ALTER TABLE "{self.name}" ADD COLUMN {column}')

    def insert(self, record: dict[str, Any]) -> PgTable:
        cursor = self.db.execute(_insert_sql(self.name, record), list(record.values()))
        self.last_pk = self.last_rowid = cursor.lastrowid
        return self

    def upsert(self, record: dict[str, Any], pk: str) -> PgTable:
        sql = _insert_sql(self.name, record) + _upsert((pk,), list(record))
        self.db.execute(sql, list(record.values()))
        self.last_pk = record.get(pk)
        return self


def repr_name(name: str) -> str:
    return f'"{name}"'


def _insert_sql(table: str, record: dict[str, Any]) -> str:
    columns = ", ".join(f"[{c}]" for c in record)
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(record))})"


class PgDatabase:
    """What the store, the reports and the migrations call on a sqlite-utils ``Database``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        if sql.lstrip().upper().startswith("CREATE TABLE"):
            sql = schema_sql(sql)
        return self.conn.execute(sql, params or ())

    def table(self, name: str) -> PgTable:
        return PgTable(self, name)

    def __getitem__(self, name: str) -> PgTable:
        return PgTable(self, name)

    def table_names(self) -> list[str]:
        rows = self.conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = "
                                 "current_schema() ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows]

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """A savepoint inside the worker's transaction (a transaction of its own outside one)."""
        outer = not self.conn.in_transaction
        self.conn.execute("BEGIN" if outer else "SAVEPOINT atomic")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK" if outer else "ROLLBACK TO SAVEPOINT atomic")
            if not outer:
                self.conn.execute("RELEASE SAVEPOINT atomic")
            raise
        self.conn.execute("COMMIT" if outer else "RELEASE SAVEPOINT atomic")


def schema_sql(sql: str) -> str:
    """A SQLite ``CREATE TABLE`` in PostgreSQL's words (see the module's docstring)."""
    text = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b",
                  "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql, flags=re.I)
    text = re.sub(r"\bINTEGER\b", "BIGINT", text)
    text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text)
    text = re.sub(r"\bBLOB\b", "BYTEA", text)
    text = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', text)
    match = re.match(r"\s*CREATE\s+TABLE\s+(\w+)\s*\(", text, flags=re.I)
    if match and match.group(1) in _ORDERED:
        text = text[:match.end()] + " rowid BIGINT GENERATED ALWAYS AS IDENTITY," + \
            text[match.end():]
    return text


def apply(migrations: Migrations, db: PgDatabase) -> None:
    """Apply the migrations not applied yet, each in its own transaction, one worker at a time."""
    conn = db.conn
    conn.execute("SELECT pg_advisory_lock(?)", [_LOCK_KEY])
    try:
        conn.execute('CREATE TABLE IF NOT EXISTS _dvcbot_migrations (name TEXT COLLATE "C" '
                     "PRIMARY KEY, applied_at TEXT NOT NULL)")
        conn.execute(FUNCTIONS)
        done = {row[0] for row in conn.execute("SELECT name FROM _dvcbot_migrations").fetchall()}
        for migration in migrations._migrations:
            if migration.name in done:
                continue
            with db.atomic():
                migration.fn(db)  # type: ignore[arg-type]
                conn.execute("INSERT INTO _dvcbot_migrations (name, applied_at) "
                             "VALUES (?, now()::text)", [migration.name])
    finally:
        conn.execute("SELECT pg_advisory_unlock(?)", [_LOCK_KEY])
    conn.learn_keys()
