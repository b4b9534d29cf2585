"""The whole suite on either backend.

With nothing set the suite runs on SQLite, as the product does by default.  With
``DATABASE_URL`` (a PostgreSQL server the tests may create databases on) every store a test opens
lives on PostgreSQL instead: each test gets a schema of its own, and a SQLite path the test opens
twice (a restart) maps to the same schema both times.  Child processes (``dvcbot serve`` in the
kill tests) get ``child_env()``, which points them at a schema of their own.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg

SERVER = os.environ.get("DATABASE_URL") or None
REDIS = os.environ.get("REDIS_URL") or None


def fresh_url(server: str | None = None) -> str:
    """A new, empty schema on the test server, as a URL whose connections use it."""
    server = server or SERVER
    assert server is not None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options={quote(f'-csearch_path={schema}')}"


def fresh_prefix() -> str:
    """Redis keys of one test (the workers of one test share them)."""
    return f"dvcbot-test:{uuid.uuid4().hex[:12]}:"


class Schemas:
    """Store targets of one test, mapped to schemas of the test server."""

    def __init__(self) -> None:
        self._by_path: dict[str, str] = {}

    def target(self, path: Path | str) -> str:
        key = str(path)
        if key.startswith(("postgresql://", "postgres://")):
            return key
        if key == ":memory:":
            return fresh_url()
        key = str(Path(key).resolve())
        if key not in self._by_path:
            self._by_path[key] = fresh_url()
        return self._by_path[key]


    def has(self, path: Path) -> bool:
        """A store was opened at ``path`` in this test (as its SQLite file would exist)."""
        return str(path.resolve()) in self._by_path


def child_env() -> dict[str, str]:
    """Environment for a ``dvcbot`` child process: its own schema (and the Redis server)."""
    env: dict[str, str] = {}
    if SERVER:
        env["DATABASE_URL"] = fresh_url()
    if REDIS:
        env["REDIS_URL"] = REDIS
    return env
