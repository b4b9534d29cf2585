"""The citizens' web chat: the page, the embeddable widget, and the message API.

``POST /chat/api/message`` takes ``{"text": …}`` or ``{"action": …}`` (a packed action the page got
with a button) and answers ``{"replies": [...], "lang": …}``.  Before the dialog sees anything:
the Origin must be this site, the session cookie valid, the CSRF token the session's, the body
small, the text within MAX_MESSAGE_CHARS, and the session and the client's address within their
rate limits.  One message per session at a time, in arrival order (``Lanes``).
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from aiohttp import web

from bot.channels.lanes import Lanes
from bot.channels.web.pages import STATIC_DIR, Pages
from bot.channels.web.render import reply_json
from bot.channels.web.security import RateLimiter, client_address, harden, origin_ok
from bot.channels.web.sessions import CHANNEL, ChatSession, ChatSessions
from bot.config import Settings
from bot.conversation import actions
from bot.conversation.actions import SetLanguage
from bot.conversation.dialog import Dialog, Services
from bot.conversation.i18n import LANGUAGES
from bot.conversation.replies import Incoming, Reply
from bot.store import tickets

log = logging.getLogger(__name__)

POLLS_PER_MINUTE = 30  # the page asks every 10 s while a hand-over ticket is open
MAX_BODY = 16 * 1024  # bytes of JSON; a message of MAX_MESSAGE_CHARS fits with room to spare
WIDGET_CONFIG = "/*CONFIG*/null"
PAGE_WORDS = ("you", "bot", "waiting", "error", "slow", "new_window")
WIDGET_WORDS = ("widget_open", "widget_close", "title")


class WebChat:
    def __init__(self, settings: Settings, services: Services, dialog: Dialog,
                 pages: Pages) -> None:
        self.settings = settings
        self.services = services
        self.dialog = dialog
        self.pages = pages
        self.sessions = ChatSessions(settings)
        self.per_session = RateLimiter(settings.web_rate_per_minute)
        self.per_address = RateLimiter(settings.web_ip_rate_per_minute)
        self.per_poll = RateLimiter(POLLS_PER_MINUTE)  # asking for staff answers
        self.lanes = Lanes("web-chat")
        self._widget: bytes | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/chat", self.page)
        app.router.add_get("/chat/api/session", self.session)
        app.router.add_post("/chat/api/message", self.message)
        app.router.add_get("/chat/api/updates", self.updates)
        app.router.add_get("/widget.js", self.widget)

    # -- the page ---------------------------------------------------------------------------

    async def _lang(self, request: web.Request, session: ChatSession) -> str:
        """The page's language: ?lang=, else the conversation's, else DEFAULT_LOCALE."""
        asked = request.query.get("lang", "")
        if asked in LANGUAGES:
            return asked
        if not session.fresh:
            store = self.services.store
            user = await store.call(store.user, session.user)
            if user.get("locale") in LANGUAGES:
                return str(user["locale"])
        return self.settings.default_locale

    def _words(self, lang: str) -> str:
        words = {name: self.pages.t(lang, f"web.{name}") for name in PAGE_WORDS}
        words["long"] = self.pages.t(lang, "web.too_long", max=self.settings.max_message_chars)
        return json.dumps(words, ensure_ascii=False)

    async def page(self, request: web.Request) -> web.Response:
        session = self.sessions.get_or_new(request)
        embedded = request.query.get("embed") == "1"
        lang = await self._lang(request, session)
        other = next(code for code in LANGUAGES if code != lang)
        html = self.pages.render(
            "chat.html.j2", lang, embedded=embedded, csrf=self.sessions.csrf(session),
            tag=self.sessions.tag(session), words=self._words(lang),
            max_chars=self.settings.max_message_chars,
            switch={"lang": other, "action": actions.pack(SetLanguage(other)),
                    "label": self.pages.t(lang, "web.other_lang")},
            contacts=self.services.knowledge.kb.contacts,
        )
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        self._finish(response, request, session, embedded)
        return response

    def _finish(self, response: web.StreamResponse, request: web.Request, session: ChatSession,
                embedded: bool = False) -> None:
        harden(response, ("'self'", *self.settings.web_allowed_origins))
        response.headers["Cache-Control"] = "no-store"
        if session.fresh:
            self.sessions.set_cookie(response, request, session, embedded)

    async def session(self, request: web.Request) -> web.Response:
        """A fresh CSRF token (and a new session when the old one has expired)."""
        session = self.sessions.get_or_new(request)
        body = {"csrf": self.sessions.csrf(session), "tag": self.sessions.tag(session)}
        response = web.json_response(body)
        self._finish(response, request, session, request.query.get("embed") == "1")
        return response

    # -- the widget -------------------------------------------------------------------------

    def widget_script(self) -> bytes:
        """``static/widget.js`` with the allowed origins and its words (both languages)."""
        if self._widget is None:
            config = {
                "origins": list(self.settings.web_allowed_origins),
                "words": {lang: {name: self.pages.t(lang, f"web.{name}") for name in WIDGET_WORDS}
                          for lang in LANGUAGES},
            }
            source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
            if WIDGET_CONFIG not in source:
                raise RuntimeError("static/widget.js has lost its /*CONFIG*/ placeholder")
            text = source.replace(WIDGET_CONFIG, json.dumps(config, ensure_ascii=False)
                                  .replace("<", "\\u003c"))
            self._widget = text.encode("utf-8")
        return self._widget

    async def widget(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.widget_script(), content_type="text/javascript",
                                charset="utf-8")
        response.headers["Cache-Control"] = "public, max-age=300"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.enable_compression()
        return response

    # -- one message ------------------------------------------------------------------------

    def _refuse(self, status: int, error: str, retry_after: float | None = None) -> web.Response:
        response = web.json_response({"error": error}, status=status)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        harden(response)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.content_type != "application/json":
            return self._refuse(415, "json")
        if (request.content_length or 0) > MAX_BODY:
            return self._refuse(413, "too_long")
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return self._refuse(413, "too_long")
        try:
            data = json.loads(raw)
        except ValueError:
            return self._refuse(400, "json")
        return data if isinstance(data, dict) else self._refuse(400, "json")

    def _incoming(self, data: dict[str, Any], session: ChatSession) -> Incoming | web.Response:
        text, packed, hint = data.get("text"), data.get("action"), data.get("lang")
        locale = hint if isinstance(hint, str) and hint in LANGUAGES else None
        if isinstance(packed, str) and text is None:
            return Incoming(CHANNEL, session.user, action=actions.parse(packed), locale=locale)
        if not isinstance(text, str) or packed is not None or not text.strip():
            return self._refuse(400, "empty")
        if len(text) > self.settings.max_message_chars:
            return self._refuse(413, "too_long")
        return Incoming(CHANNEL, session.user, text=text.strip(), locale=locale)

    async def message(self, request: web.Request) -> web.Response:
        checked = await self._checked(request)
        if isinstance(checked, web.Response):
            return checked
        replies = await self.dispatch(checked)
        if replies is None:
            return self._refuse(500, "server")
        store = self.services.store
        user = await store.call(store.user, checked.user)
        lang = user.get("locale") or self.settings.default_locale
        poll = await store.call(tickets.waiting, store, checked.user)
        response = web.json_response({"replies": [reply_json(r) for r in replies], "lang": lang,
                                      "poll": poll})
        harden(response)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def updates(self, request: web.Request) -> web.Response:
        """Staff answers to this chat's hand-over ticket after message ``after`` (the page asks
        while a ticket is open); ``poll`` says whether to keep asking."""
        session = self.sessions.read(request)
        if session is None:
            return self._refuse(401, "session")
        wait = self.per_poll.hit(session.user)
        if wait:
            return self._refuse(429, "slow", retry_after=wait)
        after_text = request.query.get("after", "0")
        after = int(after_text) if after_text.isdigit() and len(after_text) < 16 else 0
        store = self.services.store
        found = await store.call(tickets.mailbox_after, store, session.user, after)
        poll = await store.call(tickets.waiting, store, session.user)
        response = web.json_response({
            "replies": [item["reply"] for item in found],
            "next": max([after, *(item["id"] for item in found)]), "poll": poll})
        harden(response)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _checked(self, request: web.Request) -> Incoming | web.Response:
        """The message as an ``Incoming``, or the refusal: another site, no session, a wrong
        CSRF token, too fast, too big, not JSON, empty."""
        if not origin_ok(request, self.settings):
            log.warning("web chat: a message from another site refused (Origin %r)",
                        request.headers.get("Origin"))
            return self._refuse(403, "origin")
        wait = self.per_address.hit(client_address(request, self.settings))
        session = self.sessions.read(request)
        if session is None:
            return self._refuse(401, "session")
        if not self.sessions.csrf_ok(session, request.headers.get("X-CSRF-Token")):
            return self._refuse(403, "csrf")
        wait = max(wait, self.per_session.hit(session.user))
        if wait:
            return self._refuse(429, "slow", retry_after=wait)
        data = await self._body(request)
        return data if isinstance(data, web.Response) else self._incoming(data, session)

    async def dispatch(self, incoming: Incoming) -> list[Reply] | None:
        """The dialog's replies, one message of a session at a time; None when it failed."""
        result: list[list[Reply]] = []

        async def turn() -> None:
            result.append(await self.dialog.dispatch(incoming))

        await self.lanes.run(incoming.user, turn)
        return result[0] if result else None
