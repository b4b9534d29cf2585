"""Button presses on an answer: an entry's overview, or one section of a procedure."""

from __future__ import annotations

from bot.conversation.actions import ShowEntry
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Presents, Reply
from bot.knowledge.schema import Procedure
from handlers.views import entry_reply, section_reply


def matches(turn: Turn) -> bool:
    return isinstance(turn.incoming.action, ShowEntry)


async def handle(turn: Turn) -> list[Reply]:
    action = turn.incoming.action
    assert isinstance(action, ShowEntry)
    entry = turn.services.knowledge.kb.full(action.entry_id)
    if entry is None:  # the entry was removed since the button was sent
        return [Reply(turn.render("decline"), kind="decline",
                      presents=Presents(decline=True, lang=turn.lang))]
    await turn.remember(focus_entry=entry.id)
    if action.section and isinstance(entry, Procedure):
        return [section_reply(turn, entry, (action.section,))]
    store = turn.store
    answer_id = await store.call(
        lambda: store.log_answer(turn.incoming.user, turn.incoming.channel, "chosen", entry.id)
    )
    return [entry_reply(turn, entry, (), answer_id)]


ROUTE = Route("procedure", matches, handle)
