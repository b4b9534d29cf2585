"""Routing: one ``Incoming`` → the first handler that matches → its ``Reply`` list.

Handlers live in ``handlers/``, one module per intent, each exposing ``ROUTE``.  They get a
``Turn`` (the message, the user's language and state, the services) and return replies as data.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.conversation.i18n import pick_language
from bot.conversation.render import Renderer
from bot.conversation.replies import Incoming, Reply
from bot.knowledge.holder import KnowledgeHolder
from bot.retrieval.engine import Engine
from bot.store.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a handler may use; assembled once at start-up and injected."""

    settings: Settings
    knowledge: KnowledgeHolder[Engine]
    store: Store
    renderer: Renderer


@dataclass
class Turn:
    incoming: Incoming
    services: Services
    lang: str
    user: dict[str, Any]

    def t(self, key: str, **values: Any) -> str:
        return self.services.renderer.t(self.lang, key, **values)

    def render(self, template: str, **context: Any) -> str:
        contacts = self.services.knowledge.kb.contacts
        return self.services.renderer.render(template, self.lang, contacts=contacts, **context)

    @property
    def store(self) -> Store:
        return self.services.store

    async def remember(self, **fields: Any) -> None:
        self.user.update(fields)
        inc = self.incoming
        await self.store.call(lambda: self.store.save_user(inc.user, inc.channel, **fields))


Matcher = Callable[[Turn], bool]
Handler = Callable[[Turn], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Route:
    name: str
    matches: Matcher
    handle: Handler


class Dialog:
    def __init__(self, services: Services, routes: Sequence[Route]) -> None:
        self.services = services
        self.routes = tuple(routes)

    async def dispatch(self, incoming: Incoming) -> list[Reply]:
        store = self.services.store
        user = await store.call(store.arrive, incoming.channel, incoming.event_id, incoming.user)
        if user is None:
            log.info("duplicate event %s on %s ignored", incoming.event_id, incoming.channel)
            return []
        turn = await self._turn(incoming, dict(user))
        for route in self.routes:
            if route.matches(turn):
                try:
                    return await route.handle(turn)
                except Exception:
                    log.exception("handler %s failed", route.name)
                    return [Reply(turn.t("error.text"), kind="error")]
        return []

    async def _turn(self, incoming: Incoming, user: dict[str, Any]) -> Turn:
        lang = user.get("locale")
        turn = Turn(incoming, self.services, lang or self.services.settings.default_locale, user)
        if not lang:  # first contact: take the platform's language and remember it
            turn.lang = pick_language(incoming.locale, self.services.settings.default_locale)
            await turn.remember(locale=turn.lang)
        return turn
