"""Assembly: settings → services (knowledge, store, renderer) → dialog. Done once per process."""

from __future__ import annotations

from bot.config import LOCALES_DIR, Settings
from bot.conversation.dialog import Dialog, Services, build_dialog
from bot.conversation.i18n import I18n
from bot.conversation.render import Renderer
from bot.knowledge.holder import KnowledgeHolder
from bot.reports.chat import report_command
from bot.reports.gaps import gaps_reply
from bot.store.store import Store


def build_services(settings: Settings) -> Services:
    knowledge = KnowledgeHolder(settings.knowledge_dir)
    store = Store(settings.db_path)
    renderer = Renderer(I18n(LOCALES_DIR))
    services = Services(settings=settings, knowledge=knowledge, store=store, renderer=renderer)
    services.extras["admin.report"] = report_command
    services.extras["admin.gaps"] = gaps_reply
    return services


def build(settings: Settings) -> Dialog:
    return build_dialog(build_services(settings))
