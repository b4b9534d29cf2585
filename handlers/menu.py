"""/menu: browse procedures by field (lĩnh vực) or by life event (sinh con, kết hôn …).

Actions: ``m:f`` list fields, ``m:f:<n>`` procedures of the n-th field, ``m:e`` list life events,
``m:e:<event>`` procedures for that event.  Indices keep the actions within 64 bytes.
"""

from __future__ import annotations

from typing import get_args

from bot.conversation.actions import Browse, ShowEntry
from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Button, Reply, rows
from bot.knowledge.schema import LifeEvent, Procedure
from handlers.views import entry_title


def matches(turn: Turn) -> bool:
    return turn.incoming.command in {"menu", "danhmuc"} or isinstance(turn.incoming.action, Browse)


def _procedures(turn: Turn) -> list[Procedure]:
    kb = turn.services.knowledge.kb
    return [e for e in kb.procedures if e.curated]


def _fields(turn: Turn) -> list[str]:
    return sorted({p.field for p in _procedures(turn)})


async def handle(turn: Turn) -> list[Reply]:
    action = turn.incoming.action
    browse = action if isinstance(action, Browse) else Browse()
    if not browse.by:
        buttons = (Button(turn.t("menu.by_event"), Browse("e")),
                   Button(turn.t("menu.by_field"), Browse("f")))
        return [Reply(turn.t("menu.title"), buttons=(buttons,), kind="info")]
    if browse.by == "f":
        return [_by_field(turn, browse.key)]
    return [_by_event(turn, browse.key)]


def _by_field(turn: Turn, index: str | None) -> Reply:
    fields = _fields(turn)
    if index is None or not index.isdigit() or int(index) >= len(fields):
        buttons = [Button(f, Browse("f", str(i))) for i, f in enumerate(fields)]
        return Reply(turn.t("menu.title"), buttons=rows(buttons, per_row=2), kind="info")
    chosen = [p for p in _procedures(turn) if p.field == fields[int(index)]]
    return _pick(turn, chosen)


def _by_event(turn: Turn, event: str | None) -> Reply:
    if event not in get_args(LifeEvent):
        present = {e for p in _procedures(turn) for e in p.life_events}
        buttons = [Button(turn.t(f"event.{e}"), Browse("e", e)) for e in get_args(LifeEvent)
                   if e in present]
        return Reply(turn.t("menu.title"), buttons=rows(buttons, per_row=2), kind="info")
    return _pick(turn, [p for p in _procedures(turn) if event in p.life_events])


def _pick(turn: Turn, procedures: list[Procedure]) -> Reply:
    if not procedures:
        return Reply(turn.t("menu.empty"), kind="info")
    buttons = [Button(entry_title(turn, p)[:60], ShowEntry(p.id)) for p in procedures]
    return Reply(turn.t("menu.pick"), buttons=rows(buttons, per_row=1), kind="info")


ROUTE = Route("menu", matches, handle)
