"""The command menus Telegram shows, in Vietnamese (default) and English; officials see more.

Each description is the catalog key ``command.<name>`` (``locales/<lang>/LC_MESSAGES``).
"""

from __future__ import annotations

from aiogram.methods import SetMyCommands
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.config import LOCALES_DIR
from bot.conversation.i18n import DEFAULT, LANGUAGES, I18n

PUBLIC = ("start", "help", "lang", "menu", "office", "feedback")
ADMIN = ("report", "gaps", "reload")


def commands(lang: str, admin: bool = False, i18n: I18n | None = None) -> list[BotCommand]:
    i18n = i18n or I18n(LOCALES_DIR)
    names = PUBLIC + ADMIN if admin else PUBLIC
    return [BotCommand(command=name, description=i18n.gettext(lang, f"command.{name}"))
            for name in names]


def command_menus(admin_ids: tuple[int, ...], i18n: I18n | None = None) -> list[SetMyCommands]:
    """Default scope for everyone, a chat scope per official; each without a language (shown
    to every language without its own list: Vietnamese), and in each of our languages."""
    i18n = i18n or I18n(LOCALES_DIR)
    variants: list[tuple[str, str | None]] = [(DEFAULT, None)]
    variants += [(lang, lang) for lang in LANGUAGES]
    calls = [
        SetMyCommands(commands=commands(lang, i18n=i18n), scope=BotCommandScopeDefault(),
                      language_code=code)
        for lang, code in variants
    ]
    for admin in admin_ids:
        calls += [
            SetMyCommands(commands=commands(lang, admin=True, i18n=i18n),
                          scope=BotCommandScopeChat(chat_id=admin), language_code=code)
            for lang, code in variants
        ]
    return calls
