"""The citizen's chat session: a random id in a signed, HttpOnly, SameSite cookie.

The cookie is ``<id>.<issued>.<mac>``: nothing is stored on the server, and a cookie that was
altered or is older than WEB_SESSION_HOURS is not accepted.  The dialog sees only
``user_ref(PSEUDONYM_KEY, "web", id)``, a pseudonym.  The CSRF token the page sends with each
message is a MAC of the id, so a page of another site can neither read nor forge it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.channels.web.security import derive_key, is_secure, mac, same
from bot.config import Settings
from bot.conversation.pseudonym import user_ref

CHANNEL = "web"
COOKIE = "dvc_chat"


@dataclass(frozen=True)
class ChatSession:
    id: str
    issued: int
    user: str  # the pseudonymous user reference the dialog sees
    fresh: bool = False  # made for this request: the cookie must be set on the answer


class ChatSessions:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.lifetime = int(settings.web_session_hours * 3600)
        self.clock = clock
        self._key = derive_key(settings, "chat-cookie")
        self._csrf = derive_key(settings, "chat-csrf")
        self._tag = derive_key(settings, "chat-tag")
        self._pseudonym = settings.pseudonym_key.get_secret_value()

    def _session(self, sid: str, issued: int, fresh: bool = False) -> ChatSession:
        return ChatSession(sid, issued, user_ref(self._pseudonym, CHANNEL, sid), fresh)

    def new(self) -> ChatSession:
        return self._session(secrets.token_urlsafe(24), int(self.clock()), fresh=True)

    def read(self, request: web.Request) -> ChatSession | None:
        value = request.cookies.get(COOKIE, "")
        sid, _, rest = value.partition(".")
        issued_text, _, signature = rest.partition(".")
        if not sid or not issued_text.isdigit() or len(value) > 200:
            return None
        if not same(signature, mac(self._key, sid, issued_text)):
            return None
        issued = int(issued_text)
        if not 0 <= self.clock() - issued < self.lifetime:
            return None
        return self._session(sid, issued)

    def get_or_new(self, request: web.Request) -> ChatSession:
        return self.read(request) or self.new()

    def csrf(self, session: ChatSession) -> str:
        return mac(self._csrf, session.id)[:32]

    def csrf_ok(self, session: ChatSession, token: str | None) -> bool:
        return bool(token) and same(token or "", self.csrf(session))

    def tag(self, session: ChatSession) -> str:
        """A short, not secret name of the session: the page keeps its transcript under it."""
        return mac(self._tag, session.id)[:12]

    def set_cookie(self, response: web.StreamResponse, request: web.Request,
                   session: ChatSession, embedded: bool = False) -> None:
        """HttpOnly and SameSite=Lax; inside another site's frame over HTTPS, a partitioned
        SameSite=None cookie instead (browsers refuse a Lax cookie in a cross-site frame)."""
        value = f"{session.id}.{session.issued}.{mac(self._key, session.id, str(session.issued))}"
        secure = is_secure(request, self.settings)
        cross_site = embedded and secure
        left = max(self.lifetime - int(self.clock() - session.issued), 1)
        response.set_cookie(COOKIE, value, max_age=left, path="/", httponly=True,
                             secure=secure or None,
                             samesite="None" if cross_site else "Lax",
                             partitioned=True if cross_site else None)
