"""/report in the officials' chat: the last 30 days in one message, then the weekly trend chart.

Registered as ``services.extras["admin.report"]``; ``handlers/admin.py`` lets only admins in.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.conversation.replies import Reply
from bot.reports.as_text import chat_text
from bot.reports.catalog import word
from bot.reports.chart_png import trend_png
from bot.reports.comments import comment_lines, comments, low_lines, low_ratings
from bot.reports.indicator import MIN_RATINGS, Period, names_from, summarise

if TYPE_CHECKING:
    from bot.conversation.dialog import Turn

CHAT_DAYS = 30
CHAT_COMMENTS = 8


async def report_command(turn: Turn) -> list[Reply]:
    services, store = turn.services, turn.services.store
    period = Period.last_days(CHAT_DAYS)
    names = names_from(services.knowledge.kb, turn.lang)
    summary = await store.call(summarise, store.db, period, names, services.settings.hours)
    replies = [Reply(chat_text(summary, turn.lang), kind="admin")]
    if summary.overall.ratings:
        png = await asyncio.to_thread(trend_png, period.weeks(), summary.groups["week"])
        caption = turn.t("report.chat_image", n=MIN_RATINGS)
        replies.append(Reply(caption, kind="admin", image=png,
                             image_name=f"hai-long-{period.end.isoformat()}.png"))
    return replies


async def comments_command(turn: Turn) -> list[Reply]:
    """``/comments`` for officials: the latest comments and low-rating reasons, 30 days."""
    store = turn.services.store
    bounds = Period.last_days(CHAT_DAYS).utc_bounds()
    names = names_from(turn.services.knowledge.kb, turn.lang)
    found = await store.call(lambda: comments(store.db, bounds, CHAT_COMMENTS, names.entries,
                                              names.reasons))
    low = await store.call(lambda: low_ratings(store.db, bounds, CHAT_COMMENTS, names.entries,
                                               names.reasons))
    lang, none = turn.lang, [f"  {word(turn.lang, 'report.none')}"]
    lines = [word(lang, "report.comments_chat", days=CHAT_DAYS)]
    lines += comment_lines(found, lang) or none
    lines += ["", word(lang, "report.low_reasons")]
    lines += low_lines(low, lang) or none
    return [Reply("\n".join(lines), kind="admin")]
