"""/start and /help: what the bot can do."""

from __future__ import annotations

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply


def matches(turn: Turn) -> bool:
    return turn.incoming.command in {"start", "help", "trogiup"}


async def handle(turn: Turn) -> list[Reply]:
    return [Reply(turn.render("help"), title=turn.t("bot.name"), kind="info")]


ROUTE = Route("start", matches, handle)
