"""What keeps the web pages safe: Origin checks, rate limits, the client's address, headers.

Every POST (chat message, log-in, log-out) must come from a page of this site: its ``Origin``
(or, when a browser sends none, its ``Referer``) must be this site's own origin.  Forms and the
chat also carry a CSRF token bound to the session (see ``sessions.py`` and ``dashboard.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import Settings


def derive_key(settings: Settings, purpose: str) -> bytes:
    """A key for one purpose (cookies, CSRF), derived from PSEUDONYM_KEY: no extra secret to set."""
    secret = settings.pseudonym_key.get_secret_value().encode()
    return hmac.new(secret, f"dvcbot-web:{purpose}".encode(), hashlib.sha256).digest()


def mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(request: web.Request, settings: Settings) -> set[str]:
    """This site as the browser sees it: PUBLIC_URL's origin and the Host it asked for (behind a
    trusted proxy also ``X-Forwarded-Host``)."""
    origins = set()
    if settings.public_url and (origin := _origin_of(settings.public_url)):
        origins.add(origin)
    scheme = request_scheme(request, settings)
    hosts = [request.host]
    if settings.web_trust_proxy:
        hosts += [h.strip() for h in request.headers.get("X-Forwarded-Host", "").split(",")[:1]]
    origins.update(f"{scheme}://{host.lower()}" for host in hosts if host)
    return origins


def origin_ok(request: web.Request, settings: Settings) -> bool:
    """True when the request comes from a page of this site (``Origin``, else ``Referer``)."""
    given = request.headers.get("Origin")
    if given is None or given == "null":
        referer = request.headers.get("Referer")
        given = _origin_of(referer) if referer else None
    if not given:
        return False
    return given.rstrip("/").lower() in own_origins(request, settings)


def request_scheme(request: web.Request, settings: Settings) -> str:
    if settings.web_trust_proxy:
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if forwarded in {"http", "https"}:
            return forwarded
    return request.scheme


def is_secure(request: web.Request, settings: Settings) -> bool:
    return request_scheme(request, settings) == "https"


def client_address(request: web.Request, settings: Settings) -> str:
    if settings.web_trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return request.remote or "-"


class RateLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds (a sliding window, in memory)."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str) -> float:
        """Count a hit; 0 when allowed, else the seconds until the next hit would be allowed."""
        now = self.clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits[key] = hits
        if len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.001)
        hits.append(now)
        return 0.0


def csp(frame_ancestors: Iterable[str]) -> str:
    """Scripts, styles and requests only from this site; framing only by ``frame_ancestors``."""
    ancestors = " ".join(frame_ancestors) or "'none'"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}")


def harden(response: web.StreamResponse, frame_ancestors: Iterable[str] = ()) -> None:
    """The security headers of every page and API answer of the web channel."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp(frame_ancestors))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not list(frame_ancestors):
        headers.setdefault("X-Frame-Options", "DENY")
