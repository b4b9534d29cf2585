"""Anything no other handler took: stickers, photos, files, unknown commands, stale buttons."""

from __future__ import annotations

from bot.conversation.actions import Stale
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply


def matches(turn: Turn) -> bool:
    return True


async def handle(turn: Turn) -> list[Reply]:
    inc = turn.incoming
    if isinstance(inc.action, Stale):
        return [Reply(turn.t("button.expired"), kind="info")]
    if inc.attachment:
        return [Reply(turn.t("attachment.text"), kind="info")]
    if inc.command:
        return [Reply(turn.t("unknown_command.text"), kind="info")]
    return [Reply(turn.t("empty.text"), kind="info")]


ROUTE = Route("fallback", matches, handle)
