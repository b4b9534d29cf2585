"""Dashboard accounts: names, passwords hashed with scrypt (memory-hard), slowed failed logins.

Accounts are made on the server with ``dvcbot admin add-user NAME``; there is no sign-up page.
A stored password is ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64), so the cost can be raised
later without invalidating old hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

SCRYPT_N = 2**15  # 32 MiB of memory per hash with r = 8
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_MEM = 128 * 1024 * 1024
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$")


class AccountError(ValueError):
    """A name or password that cannot be used, with a readable message."""


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise AccountError("a name has 2-40 characters: letters, digits, '.', '_', '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")
    return password


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEM,
                          dklen=KEY_BYTES)


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


_DUMMY = hash_password("not a password, used to spend the same time on unknown names", n=2**10)


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; an unknown name (None) costs the same time."""
    target = stored or _DUMMY
    try:
        kind, n, r, p, salt, digest = target.split("$")
        expected = base64.b64decode(digest)
        if kind != "scrypt" or len(password) > MAX_PASSWORD:
            return False
        if stored is None:
            n = str(SCRYPT_N)  # as slow as a real check
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return stored is not None and hmac.compare_digest(actual, expected)


@dataclass
class LoginThrottle:
    """Failed logins, per account name and per client address (in memory).

    ``free`` failures within ``window`` seconds cost nothing extra; after that each further
    attempt must wait 1, 2, 4 … seconds (at most ``max_wait``) after the last failure.
    """

    free: int = 3
    window: float = 15 * 60.0
    max_wait: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)

    def _recent(self, key: str) -> list[float]:
        now = self.clock()
        kept = [t for t in self._failures.get(key, []) if t > now - self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def wait(self, *keys: str) -> float:
        """Seconds before another attempt for these keys is allowed (0: go ahead)."""
        longest = 0.0
        for key in keys:
            recent = self._recent(key)
            if len(recent) > self.free:
                pause = min(2.0 ** (len(recent) - self.free - 1), self.max_wait)
                longest = max(longest, recent[-1] + pause - self.clock())
        return max(longest, 0.0)

    def failed(self, *keys: str) -> int:
        """Count a failure; returns the most recent failures of any of the keys."""
        now = self.clock()
        counts = []
        for key in keys:
            recent = self._recent(key)
            recent.append(now)
            self._failures[key] = recent[-100:]
            counts.append(len(recent))
        if len(self._failures) > 100_000:
            self._failures.clear()  # bounded memory under a flood; the pause restarts
        return max(counts, default=0)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
