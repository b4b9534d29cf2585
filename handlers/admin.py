"""Officials' and staff commands: /reload, /gaps, /report. Only for configured admin ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply

ADMIN_COMMANDS = frozenset({"reload", "gaps", "report"})
AdminCommand = Callable[[Turn], Awaitable[list[Reply]]]


def matches(turn: Turn) -> bool:
    return turn.incoming.command in ADMIN_COMMANDS


async def handle(turn: Turn) -> list[Reply]:
    if not turn.incoming.is_admin:
        return [Reply(turn.t("admin.only"), kind="info")]
    command = turn.incoming.command or ""
    if command == "reload":
        return await reload(turn)
    extra = turn.services.extras.get(f"admin.{command}")
    if extra is None:
        return [Reply(turn.t("unknown_command.text"), kind="info")]
    result: list[Reply] = await extra(turn)
    return result


async def reload(turn: Turn) -> list[Reply]:
    outcome = await turn.services.knowledge.reload_async()
    if outcome.ok:
        text = turn.t("reload.ok", count=outcome.count, version=outcome.version)
        return [Reply(text, kind="admin")]
    lines = [turn.t("reload.failed"), *(f"- {p}" for p in outcome.problems[:20])]
    return [Reply("\n".join(lines), kind="admin")]


ROUTE = Route("admin", matches, handle)
