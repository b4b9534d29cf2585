"""Routing: one ``Incoming`` → the first handler that matches → its ``Reply`` list.

Handlers live in ``handlers/``, one module per intent, each exposing ``ROUTE``.  They get a
``Turn`` (the message, the user's language and state, the services) and return replies as data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.config import Settings
from bot.conversation.i18n import pick_language
from bot.conversation.render import Renderer
from bot.conversation.replies import Incoming, Reply
from bot.conversation.state import ChatState
from bot.conversation.understanding import Understanding, understand
from bot.handoff.desk import Desk
from bot.knowledge.holder import KnowledgeHolder
from bot.retrieval.engine import Engine
from bot.store.shared import LocalShared, Shared
from bot.store.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a handler may use; assembled once at start-up and injected."""

    settings: Settings
    knowledge: KnowledgeHolder[Engine]
    store: Store
    renderer: Renderer
    desk: Desk | None = None  # hand-over to staff (bot/handoff); None: no tickets
    shared: Shared = field(default_factory=LocalShared)  # what several workers share (Redis)


@dataclass
class Turn:
    incoming: Incoming
    services: Services
    lang: str
    state: ChatState
    _understood: Understanding | None = None

    def t(self, key: str, **values: Any) -> str:
        return self.services.renderer.t(self.lang, key, **values)

    def render(self, template: str, **context: Any) -> str:
        contacts = self.services.knowledge.kb.contacts
        return self.services.renderer.render(template, self.lang, contacts=contacts, **context)

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def understood(self) -> Understanding:
        """The message read once, with the chat's state (see ``understanding``)."""
        if self._understood is None:
            self._understood = understand(self.incoming.text or "", self.state,
                                          self.services.knowledge.engine,
                                          self.services.settings.max_message_chars)
        return self._understood

    async def remember(self, **fields: Any) -> None:
        """Change the chat's state; it is saved once, after the message has been handled (by
        ``Dialog.dispatch``, or by the inbox together with the event's done-mark)."""
        self.state = replace(self.state, **fields)


Matcher = Callable[[Turn], bool]
Handler = Callable[[Turn], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Route:
    name: str
    matches: Matcher
    handle: Handler


@dataclass
class Handled:
    """What handling one message produced: the replies, and the chat's state to keep (None:
    nothing to save — a platform retry, or a handler that failed)."""

    replies: list[Reply]
    user: str
    channel: str
    state: ChatState | None = None

    def save(self, store: Store) -> None:
        """Save the state; runs on the store's thread."""
        if self.state is not None:
            store.save_user(self.user, self.channel, **self.state.to_row())


class Dialog:
    def __init__(self, services: Services, routes: Sequence[Route]) -> None:
        self.services = services
        self.routes = tuple(routes)

    async def dispatch(self, incoming: Incoming) -> list[Reply]:
        """Handle a message and save the chat's state."""
        handled = await self.handle(incoming)
        if handled.state is not None:
            await self.services.store.call(handled.save, self.services.store)
        return handled.replies

    async def handle(self, incoming: Incoming) -> Handled:
        """Handle a message; the caller saves ``Handled.state`` (the inbox saves it in the same
        transaction as the event's done-mark)."""
        store = self.services.store
        user = None if incoming.event_id else store.cached_user(incoming.user)
        if user is None:
            user = await store.call_fast(store.arrive, incoming.channel, incoming.event_id,
                                         incoming.user)
        if user is None:
            log.info("duplicate event %s on %s ignored", incoming.event_id, incoming.channel)
            return Handled([], incoming.user, incoming.channel)
        turn = await self._turn(incoming, dict(user))
        if incoming.text and not incoming.command:
            understood = turn.understood
            if understood.lang != turn.lang:
                turn.lang = understood.lang
                await turn.remember(locale=understood.lang)
        replies: list[Reply] = []
        for route in self.routes:
            if route.matches(turn):
                try:
                    replies = await route.handle(turn)
                except Exception:
                    log.exception("handler %s failed", route.name)
                    return Handled([Reply(turn.t("error.text"), kind="error")], incoming.user,
                                   incoming.channel)
                break
        return Handled(replies, incoming.user, incoming.channel, turn.state)

    async def _turn(self, incoming: Incoming, user: dict[str, Any]) -> Turn:
        settings = self.services.settings
        ttl = dt.timedelta(minutes=settings.conversation_minutes)
        now = dt.datetime.now(dt.UTC)
        state = replace(ChatState.from_row(user, now, ttl), seen=now.isoformat(timespec="seconds"))
        turn = Turn(incoming, self.services, state.locale or settings.default_locale, state)
        if not state.locale:  # first contact: take the platform's language and remember it
            turn.lang = pick_language(incoming.locale, settings.default_locale)
            state = replace(state, locale=turn.lang)
        turn.state = state
        return turn
