"""/lang and the language buttons: Vietnamese by default, English too; the choice is remembered."""

from __future__ import annotations

from bot.conversation.actions import SetLanguage
from bot.conversation.dialog import Route, Turn
from bot.conversation.i18n import LANGUAGES
from bot.conversation.replies import Button, Reply

NAMES = {"vi": "🇻🇳 Tiếng Việt", "en": "🇬🇧 English"}


def matches(turn: Turn) -> bool:
    chosen = isinstance(turn.incoming.action, SetLanguage)
    return turn.incoming.command in {"lang", "language", "ngonngu"} or chosen


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    action = inc.action
    wanted = action.lang if isinstance(action, SetLanguage) else inc.args.strip().lower()[:2]
    if wanted in LANGUAGES:
        await turn.remember(locale=wanted)
        turn.lang = wanted
        return [Reply(turn.t("lang.set"), kind="info")]
    buttons = tuple(Button(NAMES[lang], SetLanguage(lang)) for lang in LANGUAGES)
    return [Reply(turn.t("lang.prompt"), buttons=(buttons,), kind="info")]


ROUTE = Route("language", matches, handle)
