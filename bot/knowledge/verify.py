"""`dvcbot kb verify`: our curated procedures against the national portal's record of the same code.

For every procedure with a ``code`` five facts are compared with the record, tolerantly, so that
only differences a person should look at are listed:

- ``fee`` — per channel (online / in person / by post): the amounts named (``135.000 đ``,
  ``135000 đồng``, ``135,000 VND`` are one amount; USD too).  Where the record names amounts,
  ours must name at least one of them; where it says only "Miễn phí", ours must name none.
- ``processing_time`` — per channel: every time limit in the record's table (in days: working
  days and days alike, hours of work ÷ 8, months × 30; "trong ngày" is one day) must be among
  the time limits we give for that channel.
- ``agency`` — each body the record names (``co_quan_thuc_hien``) must be recognisable in ours:
  most of its words, with UBND, BHXH … written out and the levels xã / phường / thị trấn as one.
- ``online`` — the record has no online-level field: a "Trực tuyến" row means online filing
  exists, "trực tuyến toàn trình" in the record means fully online.  Ours must not say online
  where the record has no online row, nor "none" where it has one, nor "một phần" where the
  record says "toàn trình".
- ``legal_basis`` — by document number (``123/2015/NĐ-CP``, ``2304/QĐ-BNNMT``): every document
  we cite must be among those the record lists (its legal basis and the decision that published
  it).  Documents the record lists that we leave out are not differences: an entry cites the main
  ones.

A difference staff have looked at is settled in the entry, either by fixing our text (with its
source and a new ``reviewed`` date) or by recording it under ``accepted_differences`` with the
reason; an accepted difference is not listed again unless its ``record`` (when given) no longer
matches what the record says.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.knowledge.schema import CHECKED, AcceptedDifference, Checked, PerChannel, Procedure

CHANNELS = ("online", "in_person", "post")


@dataclass(frozen=True)
class NationalRecord:
    """What `kb verify` needs of one national-portal record (read by ``bot.cli.verify``)."""

    code: str
    title: str
    url: str
    channels: tuple[str, ...]  # channels with a row in the time/fee table
    times: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # channel → time cells
    fees: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # channel → fee cells
    agency: str = ""
    legal_codes: tuple[str, ...] = ()  # document numbers, the publishing decision included
    online: str = "none"  # toan-trinh / mot-phan / none, as far as the record tells


@dataclass(frozen=True)
class Difference:
    """``ours`` and ``record`` as plain data (amounts, days, document numbers, online level),
    no words of any language: the command puts them into the reader's language."""

    field: Checked
    ours: str
    record: str
    detail: str = ""  # online: the record's channels


@dataclass
class Verdict:
    """One procedure against its record: what differs, what staff accepted, what is stale."""

    entry_id: str
    differences: list[Difference] = field(default_factory=list)  # unsettled
    accepted: list[Difference] = field(default_factory=list)
    unused: list[AcceptedDifference] = field(default_factory=list)  # accepted, no longer differs


# -- text ----------------------------------------------------------------------------------------


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def squash(text: str) -> str:
    return " ".join(text.split())


def clip(text: str, limit: int = 160) -> str:
    text = squash(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- amounts -------------------------------------------------------------------------------------

_MONEY = re.compile(
    r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(nghìn|ngàn|triệu)?\s*"
    r"(đồng|đ(?![a-zà-ỹ])|vnđ|vnd|việt nam đồng|usd)",
    re.IGNORECASE,
)
_FREE = ("mien phi", "khong thu", "khong mat phi", "khong phai nop", "free")


def amounts(text: str | None) -> set[str]:
    """Every amount named: '135.000 đ', '135000 đồng', '135,000 VND' → {'135000 đồng'}."""
    found: set[str] = set()
    for number, scale, unit in _MONEY.findall(text or ""):
        value = int(re.sub(r"[.,]", "", number))
        value *= {"nghìn": 1000, "ngàn": 1000, "triệu": 1_000_000}.get(scale.lower(), 1)
        found.add(f"{value} {'USD' if unit.lower() == 'usd' else 'đồng'}")
    return found


def says_free(text: str | None) -> bool:
    folded = fold(text or "")
    return any(cue in folded for cue in _FREE)


# -- time limits ---------------------------------------------------------------------------------

_TIME = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(ngày làm việc|ngày|giờ làm việc|giờ|tuần|tháng|năm|"
    r"working days?|days?|hours?|weeks?|months?)",
    re.IGNORECASE,
)
_SAME_DAY = re.compile(r"trong (?:ngày|buổi)|ngay trong ngày|same day|within the day",
                       re.IGNORECASE)
_DAYS = {"ngày": 1.0, "day": 1.0, "working day": 1.0, "ngày làm việc": 1.0, "giờ làm việc": 1 / 8,
         "giờ": 1 / 24, "hour": 1 / 24, "tuần": 7.0, "week": 7.0, "tháng": 30.0, "month": 30.0,
         "năm": 365.0}


def days(text: str | None) -> set[float]:
    """Every time limit named, in days: '05 ngày làm việc' → {5.0}; 'trong ngày' → {1.0}."""
    found: set[float] = set()
    for number, said in _TIME.findall(text or ""):
        unit = said.lower().removesuffix("s")
        found.add(round(float(number.replace(",", ".")) * _DAYS.get(unit, 1.0), 3))
    if _SAME_DAY.search(text or ""):
        found.add(1.0)
    return found


def _days_text(values: Iterable[float]) -> str:
    return ", ".join(f"{v:g}" for v in sorted(values))


# -- document numbers ----------------------------------------------------------------------------

_DOC = re.compile(r"(\d{1,5})/(?:(\d{4})/)?([A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐ0-9]+(?:g(?![a-zà-ỹ]))?)*)")


@dataclass(frozen=True)
class DocNumber:
    number: str
    year: str
    kind: str  # 'NĐ-CP', 'QĐ-BNNMT', 'QH13'

    def __str__(self) -> str:
        return "/".join(p for p in (self.number, self.year, self.kind) if p)

    def same(self, other: DocNumber) -> bool:
        """The same document, allowing what flattened tables do to numbers: digits of the cell
        before glued on ('1360/2014/QH13' is 60/2014/QH13), a cut suffix ('118/2025/NĐ-C'),
        a leading zero ('7/2025' is '07/2025'), a year left out."""
        mine, theirs = self.number.lstrip("0"), other.number.lstrip("0")
        number_ok = mine == theirs or (len(mine) >= 2 and theirs.endswith(mine)) or (
            len(theirs) >= 2 and mine.endswith(theirs))
        year_ok = self.year == other.year or not self.year or not other.year
        kind_ok = self.kind.startswith(other.kind) or other.kind.startswith(self.kind)
        return number_ok and year_ok and kind_ok and min(len(self.kind), len(other.kind)) >= 2


def doc_numbers(text: str) -> list[DocNumber]:
    return [DocNumber(n, y, k) for n, y, k in _DOC.findall(text)]


# -- agencies ------------------------------------------------------------------------------------

_EXPAND = {"ubnd": "uy ban nhan dan", "bhxh": "bao hiem xa hoi", "hdnd": "hoi dong nhan dan",
           "vpdkdd": "van phong dang ky dat dai", "pvhcc":
           "phuc vu hanh chinh cong", "csgt": "canh sat giao thong", "tthc": "thu tuc hanh chinh"}
_AGENCY_STOP = frozenset("cap co tham quyen cua va hoac cac noi thi tran phuong dac khu".split())
AGENCY_SHARE = 0.75  # of a body's words that ours must contain


def _agency_words(text: str) -> list[str]:
    out: list[str] = []
    for word in re.findall(r"\w+", fold(text)):
        out += _EXPAND.get(word, word).split()
    return [w for w in out if w not in _AGENCY_STOP]


def agency_parts(text: str) -> list[str]:
    """'Cục cảnh sát giao thông, Công an tỉnh, Công an cấp Xã' → three bodies; 'Ủy ban Nhân dân
    xã, phường, thị trấn' stays one (the parts after a comma start lower-case)."""
    parts = re.split(r"[,;]\s*(?=[A-ZĐÀ-Ỹ])", squash(text).rstrip(" ."))
    return [p.strip(" .") for p in parts if p.strip(" .")]


def missing_bodies(ours: str, record: str) -> list[str]:
    have = set(_agency_words(ours))
    missing = []
    for body in agency_parts(record):
        words = set(_agency_words(body))
        if words and len(words & have) / len(words) < AGENCY_SHARE:
            missing.append(body)
    return missing


# -- comparing -----------------------------------------------------------------------------------


def _channel_text(value: str | PerChannel | None, channel: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    text = getattr(value, channel)
    return f"{text} {value.note}" if text and value.note else text


def _shown(value: str | PerChannel | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return clip(value)
    parts = [f"{k}: {getattr(value, k)}" for k in (*CHANNELS, "note") if getattr(value, k)]
    return clip("; ".join(parts))


def _record_cells(cells: Mapping[str, tuple[str, ...]]) -> str:
    return "; ".join(f"{ch}: {' | '.join(cells[ch])}" for ch in CHANNELS if cells.get(ch))


def compare_fee(ours: str | PerChannel | None, record: NationalRecord) -> Difference | None:
    wrong = []
    for channel in CHANNELS:
        cells = record.fees.get(channel)
        if not cells:
            continue
        theirs = set().union(*(amounts(c) for c in cells))
        mine_text = _channel_text(ours, channel)
        mine = amounts(mine_text)
        if theirs:
            differs = not mine & theirs  # ours names none of the record's amounts
        else:  # the record names no amount: ours must not either, nor be silent
            differs = (bool(mine) and all(says_free(c) for c in cells)) or ours is None
        if differs:
            wrong.append(channel)
    if not wrong:
        return None
    shown = {ch: tuple(clip(c, 120) for c in record.fees[ch]) for ch in wrong}
    return Difference("fee", _shown(ours), _record_cells(shown))


def compare_time(ours: str | PerChannel | None, record: NationalRecord) -> Difference | None:
    wrong = []
    for channel in CHANNELS:
        theirs = set().union(*(days(c) for c in record.times.get(channel, ())))
        if not theirs:
            continue
        mine = days(_channel_text(ours, channel))
        if not theirs <= {round(v, 3) for v in mine}:
            wrong.append(channel)
    if not wrong:
        return None
    shown = {ch: record.times[ch] for ch in wrong}
    return Difference("processing_time", _shown(ours), _record_cells(shown))


def compare_agency(ours: str, record: NationalRecord) -> Difference | None:
    if not record.agency:
        return None
    missing = missing_bodies(ours, record.agency)
    return Difference("agency", clip(ours), clip(record.agency)) if missing else None


def compare_online(ours: str, record: NationalRecord) -> Difference | None:
    theirs = record.online
    if (ours == "none") != (theirs == "none") or (theirs == "toan-trinh" and ours == "mot-phan"):
        return Difference("online", ours, theirs, ", ".join(record.channels) or "—")
    return None


def compare_legal(ours: list[str], record: NationalRecord) -> Difference | None:
    if not record.legal_codes:
        return None
    theirs = [d for code in record.legal_codes for d in doc_numbers(code)]
    extra = [str(d) for item in ours for d in doc_numbers(item)
             if not any(d.same(t) for t in theirs)]
    if not extra:
        return None
    listed = list(dict.fromkeys(str(t) for t in theirs))
    shown = ", ".join(listed[:12]) + (", …" if len(listed) > 12 else "")
    return Difference("legal_basis", ", ".join(dict.fromkeys(extra)), shown)


def differences(entry: Procedure, record: NationalRecord) -> list[Difference]:
    found = [
        compare_fee(entry.fee, record),
        compare_time(entry.processing_time, record),
        compare_agency(entry.agency, record),
        compare_online(entry.online, record),
        compare_legal(entry.legal_basis, record),
    ]
    return [d for d in found if d is not None]


def _same(pinned: str | None, now: str) -> bool:
    return pinned is None or squash(fold(pinned)) == squash(fold(now))


def verdict(entry: Procedure, record: NationalRecord) -> Verdict:
    """Differences, split into unsettled and accepted by ``accepted_differences``."""
    result = Verdict(entry.id)
    found = {d.field: d for d in differences(entry, record)}
    for accepted in entry.accepted_differences:
        if accepted.field not in found:
            result.unused.append(accepted)
    for name in CHECKED:
        difference = found.get(name)
        if difference is None:
            continue
        settled = [a for a in entry.accepted_differences if a.field == name
                   and _same(a.ours, difference.ours) and _same(a.record, difference.record)]
        (result.accepted if settled else result.differences).append(difference)
    return result
