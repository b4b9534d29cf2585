"""Un-flatten the tables of a national portal record (time/fee per channel, documents, legal basis).

The portal export runs table cells together: ``"Hình thức nộpThời gianPhí, lệ phíMô tả"``
followed by ``"Trực tuyến10 Ngày làm việcMiễn phí<description>Trực tiếp…"``.  Each parser here
takes one such field and returns plain values plus ``notes``: things it had to leave out, said in a
sentence, so the importer can report them.  Nothing here guesses a value the record does not state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.retrieval.text import fold

NO_INFO = "Không có thông tin"
NONE_VALUES = frozenset({"", NO_INFO.casefold(), "không", "không.", "không có", "--", "-"})
CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
CHANNELS = {"Trực tiếp": "in_person", "Trực tuyến": "online", "Dịch vụ bưu chính": "post"}
DOCS_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
NOTE_LIMIT = 600  # characters of a fee note or description kept; the source link has the rest

_LABEL = re.compile("|".join(map(re.escape, CHANNELS)))
_TIME = re.compile(r"(\d+(?:[.,]\d+)?) ?(Ngày làm việc|Giờ làm việc|Ngày|Giờ|Phút|Tuần|Tháng|Năm)")
_MONEY = re.compile(r"(\d[\d.,]*) ?(Việt Nam Đồng|VNĐ|Đồng|USD|EUR)")
_BARE_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def squash(text: str) -> str:
    """One line: every run of whitespace (newlines too) becomes one space."""
    return " ".join(text.split())


def tidy(text: str) -> str:
    """Keep line breaks, drop blank lines and repeated spaces."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def is_none(text: str | None) -> bool:
    return text is None or squash(text).casefold() in NONE_VALUES


def clip(text: str, limit: int = NOTE_LIMIT) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + " …"


# -- time and fee per channel ------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRow:
    channel: str  # in_person / online / post
    time: str | None
    fee: str | None
    description: str | None


@dataclass
class ChannelTable:
    rows: list[ChannelRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def channels(self) -> list[str]:
        return list(dict.fromkeys(row.channel for row in self.rows))

    def values(self, cell: str) -> dict[str, str]:
        """One value per channel; a channel given in several rows (stages, cases) gets each
        distinct value with the start of its row's description."""
        out: dict[str, str] = {}
        for channel in self.channels:
            rows = [r for r in self.rows if r.channel == channel and getattr(r, cell)]
            distinct = list(dict.fromkeys(getattr(r, cell) for r in rows))
            if len(distinct) == 1:
                out[channel] = distinct[0]
            elif distinct:
                parts = dict.fromkeys(
                    f"{getattr(r, cell)} ({clip(r.description, 160)})" if r.description
                    else getattr(r, cell) for r in rows
                )
                out[channel] = "; ".join(parts)
        return out

    def per_channel(self, cell: str, note: str | None = None) -> dict[str, str] | None:
        """The ``PerChannel`` mapping for the schema, or None when no channel has a value."""
        values = self.values(cell)
        if not values:
            return None
        out: dict[str, str] = {
            key: values[key] for key in ("online", "in_person", "post") if key in values
        }
        if note:
            out["note"] = note
        return out

    def shared_description(self) -> str | None:
        texts = {row.description for row in self.rows}
        if len(texts) == 1 and None not in texts:
            return clip(texts.pop() or "")
        return None


def _labels(body: str) -> list[re.Match[str]]:
    """Channel labels that start a row: at the start, or glued to a cell (digit or capital)."""
    found = []
    for match in _LABEL.finditer(body):
        after = body[match.end():match.end() + 1]
        if match.start() == 0 or (after and (after.isdigit() or after.isupper())):
            found.append(match)
    return found


def parse_channels(text: str) -> ChannelTable:
    table = ChannelTable()
    raw = text.strip()
    if is_none(raw):
        return table
    if not raw.startswith(CHANNEL_HEADER):
        table.notes.append("time/fee table has no header row; time and fee left out")
        return table
    body = raw[len(CHANNEL_HEADER):]
    labels = _labels(body)
    if not labels or labels[0].start() != 0:
        table.notes.append("time/fee table has no channel rows; time and fee left out")
        return table
    for index, match in enumerate(labels):
        end = labels[index + 1].start() if index + 1 < len(labels) else len(body)
        row = _parse_row(table, match.group(), body[match.end():end])
        if row not in table.rows:
            table.rows.append(row)
    return table


def _parse_row(table: ChannelTable, label: str, cells: str) -> ChannelRow:
    channel = CHANNELS[label]
    time, rest = _time_cell(cells)
    if time is _AMBIGUOUS:
        table.notes.append(f"{label}: time and fee run together ({clip(cells, 30)!r}); "
                           "both left out")
        return ChannelRow(channel, None, None, None)
    if time is _UNITLESS:
        table.notes.append(f"{label}: time has no unit; time left out")
        time = None
    fee, rest = _fee_cell(rest)
    description = squash(rest)
    return ChannelRow(channel, time, fee, None if is_none(description) else description)


_AMBIGUOUS = "\x00ambiguous"
_UNITLESS = "\x00unitless"


def _time_cell(cells: str) -> tuple[str | None, str]:
    match = _TIME.match(cells)
    if match:
        number, unit = match.groups()
        return f"{number} {unit.lower()}", cells[match.end():]
    if cells.startswith(NO_INFO):
        return None, cells[len(NO_INFO):]
    bare = _BARE_NUMBER.match(cells)
    if bare:
        rest = cells[bare.end():]
        if _MONEY.match(rest) or rest[:1].isdigit() or _MONEY.match(cells):
            return _AMBIGUOUS, rest
        return _UNITLESS, rest
    fee_at = _fee_start(cells)
    text = squash(cells[:fee_at])
    if fee_at < 0 or not text or len(text) > 120:
        return None, cells if fee_at < 0 else cells[fee_at:]
    return (None if is_none(text) else text), cells[fee_at:]


def _fee_start(cells: str) -> int:
    starts = [cells.find("Miễn phí"), cells.find(NO_INFO)]
    money = _MONEY.search(cells)
    if money:
        starts.append(money.start())
    found = [s for s in starts if s >= 0]
    return min(found) if found else -1


def _fee_cell(rest: str) -> tuple[str | None, str]:
    amount: str | None
    if rest.startswith("Miễn phí"):
        amount, rest = "Miễn phí", rest[len("Miễn phí"):]
    elif rest.startswith(NO_INFO):
        return None, rest[len(NO_INFO):]
    else:
        parts = []
        while match := _MONEY.match(rest):
            parts.append(money_text(*match.groups()))
            rest = rest[match.end():].lstrip()
        if not parts:
            return None, rest
        amount = ", ".join(parts)
    note, after = _parenthesised(rest)
    if note is not None and re.fullmatch(r"\s*[a-zđ0-9]{1,2}\s*", note):
        return amount, rest  # '(a) …' starts a list in the description, not a note
    rest = after
    if note and not is_none(note):
        amount = f"{amount} ({clip(squash(note))})"
    return amount, rest


def money_text(number: str, unit: str) -> str:
    """'100,000' 'Việt Nam Đồng' → '100.000 đồng' (Vietnamese thousands separator)."""
    if unit in {"Việt Nam Đồng", "VNĐ", "Đồng"}:
        return f"{number.replace(',', '.')} đồng"
    return f"{number} {unit}"


def _parenthesised(text: str) -> tuple[str | None, str]:
    """A '(…)' group at the start of ``text`` (nesting allowed): its inside and what follows."""
    if not text.startswith("("):
        return None, text
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return text[1:index], text[index + 1:]
    return text[1:], ""  # never closed: the rest is the note


# -- documents ---------------------------------------------------------------------------------

_QUANTITY = re.compile(r"(\d+) bản chính(?:,\s*(\d+) bản sao)?|(\d+) bản sao")
_TEMPLATE = re.compile(r"\.(?:docx?|pdf|xlsx?|rar|zip)", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-+*•]+|\(?[0-9a-zđ]{1,3}[.)](?!\d))\s*")


def parse_documents(text: str) -> tuple[list[str | dict[str, Any]], list[str]]:
    """Items and groups (``{"case": …, "items": […]}``) for the schema's ``documents`` list."""
    raw = text.strip()
    if is_none(raw):
        return [], []
    if DOCS_HEADER not in raw:
        return [], ["documents table has no header row; documents left out"]
    pieces = raw.split(DOCS_HEADER)
    case = _case_label(pieces[0])
    out: list[str | dict[str, Any]] = []
    for piece in pieces[1:]:
        items, trailing = _document_rows(piece)
        if items and case:
            out.append({"case": case, "items": items})
        elif items:
            out.extend(items)
        case = _case_label(trailing)
    return _merge_groups(out), []


def _case_label(text: str) -> str | None:
    label = clip(squash(text).strip(" -:;"), 300)
    return None if is_none(label) or label in {"…"} else label


def _document_rows(piece: str) -> tuple[list[str], str]:
    """Rows end with their quantity ('1 bản chính,1 bản sao'); text after the last is a heading."""
    items, start = [], 0
    for match in _QUANTITY.finditer(piece):
        name = _document_name(piece[start:match.start()])
        start = match.end()
        if name:
            items.append(name + _quantity_text(match))
    return items, piece[start:]


def _quantity_text(match: re.Match[str]) -> str:
    originals, copies, only_copies = match.groups()
    parts = []
    if originals and originals != "0":
        parts.append(f"{originals} bản chính")
    copies = copies or only_copies
    if copies and copies != "0":
        parts.append(f"{copies} bản sao")
    return f" ({', '.join(parts)})" if parts else ""


def _document_name(text: str) -> str:
    name = squash(strip_templates(text))
    name = _BULLET.sub("", name).strip(" ;")
    return "" if is_none(name) else name


def strip_templates(text: str) -> str:
    """Drop form file names glued after a document's name ('…theo mẫu.Mẫu số 05.docx')."""
    while True:
        ends = list(_TEMPLATE.finditer(text))
        if not ends or ends[-1].end() != len(text.rstrip()):
            return text
        start = _file_name_start(text, ends[-1].start())
        text = text[:start] if start is not None else text[:ends[-1].start()]


def _file_name_start(text: str, ext_at: int) -> int | None:
    """Where a glued file name begins: at a lower→upper case join ('…khoáng sảnMau 01.doc')
    after the last sentence mark, else just after that mark; None when neither is near."""
    floor = max(0, ext_at - 90)
    mark = None
    for index in range(ext_at - 1, floor, -1):
        char, before = text[index], text[index - 1]
        after = text[index + 1] if index + 1 < len(text) else ""
        if char in ")];:”\"" or (char == "." and not before.isdigit() and not after.isdigit()):
            mark = index + 1
            break
    for index in range(mark if mark is not None else floor + 1, ext_at):
        if text[index].isupper() and text[index - 1].isalpha() and text[index - 1].islower():
            return index
    return mark


def _merge_groups(items: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
    """Groups repeating the same case label are one group."""
    out: list[str | dict[str, Any]] = []
    by_case: dict[str, dict[str, Any]] = {}
    for item in items:
        if isinstance(item, dict):
            group = by_case.get(item["case"])
            if group is not None:
                group["items"] += [i for i in item["items"] if i not in group["items"]]
                continue
            by_case[item["case"]] = item
        elif item in out:
            continue
        out.append(item)
    return out


# -- legal basis -------------------------------------------------------------------------------

_CODE = re.compile(r"\d{1,4}/(?:\d{4}/)?[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐ0-9]+)*")
_ONSETS = frozenset("ch gh gi kh ng nh ph qu th tr".split())


def _word_start(first: str, second: str) -> bool:
    """Could ``first`` + ``second`` begin a Vietnamese word ('Lu', 'Ng', 'Qu'; not 'Cs')?"""
    pair = (first + second).lower()
    folded = fold("".join(ch for ch in pair if ch.isalpha()))
    return len(folded) == 2 and (folded[1] in "aeiouy" or folded in _ONSETS)


def legal_codes(body: str) -> list[tuple[int, int]]:
    """Spans of document codes ('02/2011/QH13', '126/2020/NĐ-CP'), un-glued from what follows."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while match := _CODE.search(body, pos):
        start, end = match.span()
        if start > 0 and body[start - 1].isdigit():  # '…năm 201102/2011/QH13': keep '02'
            slash = body.index("/", start)
            start = max(start, slash - 2)
        nxt = body[end:end + 1]
        if nxt == "/" or (nxt.isdigit() and body[end - 1].isdigit()):
            while end > start and body[end - 1].isdigit():  # digits of the next code
                end -= 1
        elif nxt.islower() and end - start > 6 and _word_start(body[end - 1], nxt):
            end -= 1  # '…NĐ-CPLuật': the capital starts the next name
        spans.append((start, end))
        pos = max(end, match.start() + 1)
    return spans


def parse_legal(text: str) -> tuple[list[str], list[str]]:
    """'Tên văn bản pháp lýMã văn bản' + rows '<name><code>' → ['<name> (<code>)', …]."""
    raw = text.strip()
    if is_none(raw):
        return [], []
    if not raw.startswith(LEGAL_HEADER):
        return [], ["legal basis is not a table; left out"]
    body = raw[len(LEGAL_HEADER):]
    spans = legal_codes(body)
    rows, start = [], 0
    for index, (begin, end) in enumerate(spans):
        glued_to_next = index + 1 < len(spans) and spans[index + 1][0] == end
        after = body[end:end + 1]
        if not glued_to_next and (not after or after.isupper() or after.isdigit()
                                  or (after.islower() and body[end - 1].isupper())):
            rows.append(_legal_row(body[start:begin], body[begin:end]))
            start = end
    tail = squash(body[start:])
    if tail and not is_none(tail):
        rows.append(tail)
    return _unique([r for r in rows if r]), []


def _legal_row(name: str, code: str) -> str:
    name = squash(name).strip(" ;,")
    if not name or name == code:
        return code
    return name if code in name else f"{name} ({code})"


# -- steps, result, conditions -----------------------------------------------------------------

_STEP = re.compile(r"^[-+*•\s]*Bước\s*\d+", re.IGNORECASE)


def parse_steps(text: str) -> list[str]:
    """'Bước 1: …' starts a step and the lines after it belong to it; otherwise one line a step."""
    lines = [squash(line) for line in text.splitlines() if squash(line)]
    if is_none(" ".join(lines)):
        return []
    if sum(1 for line in lines if _STEP.match(line)) < 2:
        return _unique([s for s in (line.lstrip("-+*• ") for line in lines) if s])
    steps: list[str] = []
    for line in lines:
        if _STEP.match(line) or not steps:
            steps.append(line.lstrip("-+*• "))
        else:
            steps[-1] = f"{steps[-1]} {line}"
    return _unique(steps)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


_RESULT_CODE = re.compile(r"^\s*[\w.-]*?(?=[A-ZĐÀ-Ỹ][^\sA-ZĐ0-9.]|$)")


def parse_result(text: str) -> str | None:
    """'<name>Mã: KQ.G01.00262<name>Mã: …Từ khóa…Mô tả…' → '<name>; <name>'."""
    head, *rest = text.split("Từ khóa", 1)[0].split("Mã:")
    names = [head] + [_RESULT_CODE.sub("", part, count=1) for part in rest]
    names = [squash(n).strip(" ;,") for n in names]
    kept = _unique([n for n in names if n and not is_none(n)])
    return clip("; ".join(kept), 1000) if kept else None


def parse_conditions(text: str) -> str | list[str] | None:
    lines = [_BULLET.sub("", squash(line)) for line in text.splitlines()]
    lines = _unique([line for line in lines if line])
    if not lines or is_none(" ".join(lines)):
        return None
    return lines[0] if len(lines) == 1 else lines
