"""/menu: browse procedures by field (lĩnh vực) or by life event (sinh con, kết hôn …).

Actions: ``m:f`` list fields, ``m:f:<n>`` procedures of the n-th field, ``m:e`` list life events,
``m:e:<event>`` procedures for that event.  Indices keep the actions within 64 bytes.
"""

from __future__ import annotations

from typing import get_args

from bot.conversation.dialog import Route, Turn
from bot.conversation.replies import Button, Reply, rows
from bot.knowledge.schema import LifeEvent, Procedure
from handlers.views import entry_title

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "sinh-con": ("👶 Sinh con", "👶 Having a baby"),
    "ket-hon": ("💍 Kết hôn", "💍 Getting married"),
    "nguoi-than-mat": ("🕯️ Người thân mất", "🕯️ A death in the family"),
    "cu-tru": ("🏠 Chuyển nơi ở, cư trú", "🏠 Moving, residence"),
    "giay-to-tuy-than": ("🪪 Giấy tờ tùy thân", "🪪 ID and passport"),
    "xe-lai-xe": ("🏍️ Xe và bằng lái", "🏍️ Vehicles and licences"),
    "nha-dat": ("🏡 Mua bán nhà đất, xây nhà", "🏡 Land and building"),
    "kinh-doanh": ("🏪 Mở cửa hàng, kinh doanh", "🏪 Opening a business"),
    "lao-dong-bhxh": ("💼 Việc làm, bảo hiểm", "💼 Work and insurance"),
    "tro-giup-xa-hoi": ("🤝 Trợ giúp xã hội", "🤝 Social assistance"),
    "giay-to-chung-thuc": ("📄 Sao y, chứng thực", "📄 Certified copies"),
}


def matches(turn: Turn) -> bool:
    return turn.incoming.command in {"menu", "danhmuc"} or (
        (turn.incoming.action or "").startswith("m:")
    )


def _procedures(turn: Turn) -> list[Procedure]:
    kb = turn.services.knowledge.kb
    return [e for e in kb.procedures if e.curated]


def _fields(turn: Turn) -> list[str]:
    return sorted({p.field for p in _procedures(turn)})


async def handle(turn: Turn) -> list[Reply]:
    parts = (turn.incoming.action or "m").split(":")
    if len(parts) == 1:
        buttons = (Button(turn.t("menu.by_event"), "m:e"), Button(turn.t("menu.by_field"), "m:f"))
        return [Reply(turn.t("menu.title"), buttons=(buttons,), kind="info")]
    if parts[1] == "f":
        return [_by_field(turn, parts[2] if len(parts) > 2 else None)]
    return [_by_event(turn, parts[2] if len(parts) > 2 else None)]


def _by_field(turn: Turn, index: str | None) -> Reply:
    fields = _fields(turn)
    if index is None or not index.isdigit() or int(index) >= len(fields):
        buttons = [Button(f, f"m:f:{i}") for i, f in enumerate(fields)]
        return Reply(turn.t("menu.title"), buttons=rows(buttons, per_row=2), kind="info")
    chosen = [p for p in _procedures(turn) if p.field == fields[int(index)]]
    return _pick(turn, chosen)


def _by_event(turn: Turn, event: str | None) -> Reply:
    if event not in get_args(LifeEvent):
        lang = 1 if turn.lang == "en" else 0
        present = {e for p in _procedures(turn) for e in p.life_events}
        buttons = [Button(EVENT_LABELS[e][lang], f"m:e:{e}") for e in EVENT_LABELS if e in present]
        return Reply(turn.t("menu.title"), buttons=rows(buttons, per_row=2), kind="info")
    return _pick(turn, [p for p in _procedures(turn) if event in p.life_events])


def _pick(turn: Turn, procedures: list[Procedure]) -> Reply:
    if not procedures:
        return Reply(turn.t("menu.empty"), kind="info")
    buttons = [Button(entry_title(turn, p)[:60], f"p:{p.id}") for p in procedures]
    return Reply(turn.t("menu.pick"), buttons=rows(buttons, per_row=1), kind="info")


ROUTE = Route("menu", matches, handle)
