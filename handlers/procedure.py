"""Button presses on an answer: ``p:<entry-id>`` (overview) and ``p:<entry-id>:<section>``."""

from __future__ import annotations

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Reply
from bot.knowledge.schema import SECTIONS, Procedure, Section
from handlers.views import entry_reply, section_reply


def matches(turn: Turn) -> bool:
    return (turn.incoming.action or "").startswith("p:")


async def handle(turn: Turn) -> list[Reply]:
    _, entry_id, *rest = (turn.incoming.action or "").split(":")
    entry = turn.services.knowledge.kb.get(entry_id)
    if entry is None:  # the entry was removed since the button was sent
        return [Reply(turn.render("decline"), kind="decline")]
    await turn.remember(last_entry=entry.id)
    section: Section | None = next((s for s in SECTIONS if rest and rest[0] == s), None)
    if section and isinstance(entry, Procedure):
        return [section_reply(turn, entry, section)]
    store = turn.store
    answer_id = await store.call(
        lambda: store.log_answer(turn.incoming.user, turn.incoming.channel, "chosen", entry.id)
    )
    return [entry_reply(turn, entry, None, answer_id)]


ROUTE = Route("procedure", matches, handle)
