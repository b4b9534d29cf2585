"""One national portal record → the mapping of one knowledge entry (``kind: procedure``).

Rules, so staff know what an imported entry claims:

- ``id`` is ``tthc-`` + the code with dots as hyphens (``1.000178`` → ``tthc-1-000178``).
- ``level``: the most local level listed in ``cap_thuc_hien`` (Cấp xã → commune, Cấp tỉnh →
  province, Cấp bộ → ministry), because a citizen goes to the nearest office that can do it;
  "Cơ quan khác" alone (customs, inspection centres, central bodies) → ministry, with a note.
- ``online``: ``none`` unless the record has a "Trực tuyến" row in its channel table; with one,
  ``mot-phan``; ``toan-trinh`` only when the record itself says "trực tuyến toàn trình" (the
  export has no online-level field, so an entry is never promoted on a guess).  ``online_url``
  is the procedure's page on the national portal, where the online filing starts.
- ``agency``: ``co_quan_thuc_hien``, else ``co_quan_co_tham_quyen``; when the record names
  neither, a sentence saying so (with the level), and a note.
- ``source`` is ``detail_url``; ``reviewed`` is the day of the import; no aliases (the engine
  ranks curated entries, which have aliases, before imported ones).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from bot.importer import tables
from bot.retrieval.text import fold

CODE = re.compile(r"^\d\.\d{6}(\.\d+)?$")
LEVELS = (("cap xa", "commune"), ("cap tinh", "province"), ("cap bo", "ministry"))
MISSING_AGENCY = "Chưa có thông tin cơ quan thực hiện trên Cổng Dịch vụ công quốc gia ({level})"


class Rejected(Exception):
    """The record cannot become a valid entry; ``reason`` says why, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Converted:
    code: str
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.data["title"])


def entry_id(code: str) -> str:
    return "tthc-" + code.replace(".", "-")


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return tables.squash(value) if isinstance(value, str) else ""


def _raw(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def level_of(text: str) -> tuple[str, list[str]]:
    folded = fold(text)
    for cue, level in LEVELS:
        if cue in folded:
            return level, []
    if "co quan khac" in folded:
        return "ministry", ["level 'Cơ quan khác' taken as ministry"]
    raise Rejected(f"cap_thuc_hien {text!r} names no level (Cấp xã / Cấp tỉnh / Cấp bộ)")


def online_of(channels: list[str], record: dict[str, Any]) -> str:
    if "online" not in channels:
        return "none"
    said = " ".join(fold(_raw(record, k)) for k in ("cach_thuc_thuc_hien", "trinh_tu_thuc_hien"))
    return "toan-trinh" if "truc tuyen toan trinh" in " ".join(said.split()) else "mot-phan"


def agency_of(record: dict[str, Any], level_text: str) -> tuple[str, list[str]]:
    for key in ("co_quan_thuc_hien", "co_quan_co_tham_quyen"):
        value = _text(record, key)
        if not tables.is_none(value):
            return value, []
    return MISSING_AGENCY.format(level=level_text or "cấp thực hiện không rõ"), [
        "no agency in the record; a sentence saying so was written"
    ]


def _time(channels: tables.ChannelTable) -> str | dict[str, str] | None:
    """Time per channel, the rows' shared description as its note (or alone when no times)."""
    description = channels.shared_description()
    return channels.per_channel("time", description) or description


def convert(record: Any, today: dt.date) -> Converted:
    """The entry mapping (not yet validated); raises ``Rejected`` for what cannot be fixed."""
    if not isinstance(record, dict):
        raise Rejected("not a JSON object")
    code = _text(record, "ma_thu_tuc")
    if not CODE.match(code):
        raise Rejected(f"ma_thu_tuc {code!r} is not a procedure code like 1.000178")
    title = _text(record, "ten_thu_tuc").rstrip(" .;,")
    if tables.is_none(title):
        raise Rejected("ten_thu_tuc (title) is empty")
    source = _text(record, "detail_url")
    if not source.startswith(("https://", "http://")):
        raise Rejected(f"detail_url {source!r} is not a web address")
    field_name = _text(record, "linh_vuc")
    if tables.is_none(field_name):
        raise Rejected("linh_vuc (field) is empty")
    level_text = _text(record, "cap_thuc_hien")
    level, notes = level_of(level_text)
    agency, agency_notes = agency_of(record, level_text)
    channels = tables.parse_channels(_raw(record, "cach_thuc_thuc_hien"))
    documents, doc_notes = tables.parse_documents(_raw(record, "thanh_phan_ho_so"))
    legal, legal_notes = tables.parse_legal(_raw(record, "can_cu_phap_ly"))
    online = online_of(channels.channels, record)
    data: dict[str, Any] = {
        "id": entry_id(code),
        "kind": "procedure",
        "code": code,
        "title": title,
        "field": field_name,
        "level": level,
        "online": online,
        "online_url": source if online != "none" else None,
        "agency": agency,
        "steps": tables.parse_steps(_raw(record, "trinh_tu_thuc_hien")),
        "documents": documents,
        "processing_time": _time(channels),
        "fee": channels.per_channel("fee"),
        "result": tables.parse_result(_raw(record, "ket_qua_xu_ly")),
        "conditions": tables.parse_conditions(_raw(record, "yeu_cau_dieu_kien")),
        "legal_basis": legal,
        "source": source,
        "reviewed": today,
    }
    data = {k: v for k, v in data.items() if v not in (None, [], {})}
    notes += agency_notes + channels.notes + doc_notes + legal_notes
    return Converted(code, data, notes)
