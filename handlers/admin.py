"""Officials' and staff commands: /reload, /gaps, /report, /comments. Only for configured admin
ids."""

from __future__ import annotations

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply
from bot.reports.chat import comments_command, report_command
from bot.reports.gaps import gaps_reply

ADMIN_COMMANDS = frozenset({"reload", "gaps", "report", "comments"})


def matches(turn: Turn) -> bool:
    return turn.incoming.command in ADMIN_COMMANDS


async def handle(turn: Turn) -> list[Reply]:
    if not turn.incoming.is_admin:
        return [Reply(turn.t("admin.only"), kind="info")]
    command = turn.incoming.command or ""
    if command == "report":
        return await report_command(turn)
    if command == "gaps":
        return await gaps_reply(turn)
    if command == "comments":
        return await comments_command(turn)
    return await reload(turn)


async def reload(turn: Turn) -> list[Reply]:
    outcome = await turn.services.knowledge.reload_async()
    if outcome.ok:
        text = turn.t("reload.ok", count=outcome.count, version=outcome.version)
        return [Reply(text, kind="admin")]
    said = (p.render(turn.lang, turn.services.renderer.t) for p in outcome.problems[:20])
    lines = [turn.t("reload.failed"), *(f"- {line}" for line in said)]
    return [Reply("\n".join(lines), kind="admin")]


ROUTE = Route("admin", matches, handle)
