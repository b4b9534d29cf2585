"""Real throwaway servers for the tests: Redis and PostgreSQL from the Debian packages.

``redis_server()`` and ``postgres_server()`` are context managers yielding a URL.  When the
environment names a server (``REDIS_URL``, ``DATABASE_URL``) that one is used and nothing is
started.  Otherwise a server is started on a free port of 127.0.0.1 with its data in a temporary
folder, and stopped (and the folder removed) at the end.  PostgreSQL refuses to run as root: as
root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` user (made by the Debian package) on a
folder given to that user.  A missing server program fails the test with what to install; it is
never skipped.

    apt-get install -y redis-server postgresql
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

START_TIMEOUT = 20.0  # seconds for a server to answer
PG_USER = "dvcbot"
PG_BIN = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _missing(program: str, package: str, variable: str) -> NoReturn:
    pytest.fail(f"{program} not found: install it with `apt-get install -y {package}` (or set "
                f"{variable} to a running server the tests may use)", pytrace=False)


# --- Redis ------------------------------------------------------------------------------------


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait_redis(proc: subprocess.Popen[bytes], port: int, log: Path) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _pong(port):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    pytest.fail(f"redis-server did not answer PING on port {port}:\n{log.read_text()}",
                pytrace=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server's URL: ``REDIS_URL`` if set, else a throwaway one (no persistence)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    program = shutil.which("redis-server")
    if program is None:
        _missing("redis-server", "redis-server", "REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="dvcbot-redis-") as tmp:
        log = Path(tmp) / "redis.log"
        for _ in range(3):  # the free port may be taken before the server binds it
            port = free_port()
            args = [str(program), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", tmp, "--logfile", str(log)]
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.STDOUT)
            try:
                if _wait_redis(proc, port, log):
                    yield f"redis://127.0.0.1:{port}/0"
                    return
            finally:
                _stop(proc)
        pytest.fail(f"redis-server did not start:\n{log.read_text()}", pytrace=False)


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_program(name: str) -> Path:
    """``initdb`` / ``pg_ctl`` of the newest PostgreSQL installed (Debian: 15 on bookworm)."""
    found = sorted(PG_BIN.glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not found:
        _missing(f"{PG_BIN}/*/bin/{name}", "postgresql", "DATABASE_URL")
    return found[-1]


def _as_postgres(args: list[str]) -> list[str]:
    """Root may not run PostgreSQL: run it as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _give_to_postgres(folder: Path) -> None:
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root and there is no `postgres` user to run PostgreSQL as "
                    "(it comes with `apt-get install -y postgresql`)", pytrace=False)
    os.chown(folder, user.pw_uid, user.pw_gid)


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(_as_postgres(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}",
                    pytrace=False)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server's URL: ``DATABASE_URL`` if set, else a throwaway cluster (user
    ``dvcbot``, trust authentication, locale C, fsync off) on 127.0.0.1."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    initdb, pg_ctl = pg_program("initdb"), pg_program("pg_ctl")
    with tempfile.TemporaryDirectory(prefix="dvcbot-pg-") as tmp:
        folder = Path(tmp)
        _give_to_postgres(folder)
        data, port = folder / "data", free_port()
        _run([str(initdb), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
              "--locale=C"], "initdb")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run([str(pg_ctl), "-D", str(data), "-l", str(folder / "postgres.log"), "-o", options,
              "-t", str(int(START_TIMEOUT)), "start", "-w"], "pg_ctl start")
        try:
            yield f"postgresql://{PG_USER}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(_as_postgres([str(pg_ctl), "-D", str(data), "-m", "immediate", "-w",
                                         "stop"]), capture_output=True, check=False)
