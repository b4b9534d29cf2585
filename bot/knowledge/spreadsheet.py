"""A spreadsheet round trip for staff who do not write YAML: `kb export` and `kb import-xlsx`.

One sheet per kind (``procedures``, ``faq``), one row per entry, one column per field:

- a list (aliases, steps, legal basis, related, life events) has one item per line in its cell;
- a field that is one text *or* a list (``conditions``, ``source``) is plain text when it is one
  text and has every line starting with ``- `` when it is a list;
- time and fee per channel are the columns ``fee.online``, ``fee.in_person``, ``fee.post``,
  ``fee.note`` (``fee`` itself when it is one text for every channel); the same for
  ``processing_time``;
- documents: one paper a line; a case is a line ``[the case]`` followed by its papers, each
  on a line starting with ``- ``;
- links (FAQ): ``title | address`` a line; accepted differences: ``field | date | reason``, then
  optionally ``| ours: …`` and ``| record: …``;
- ``en.*`` columns hold the English parts of a procedure.

Import validates every row with the schema, then checks the whole folder as `kb check` does
(aliases claimed twice, related ids, fields spelt two ways) on a copy; every problem is reported
as ``sheet!cell: field: message``, and nothing is written unless there is none.  Files whose
content does not change are not rewritten (their comments and layout stay).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.knowledge import messages, yamlfile
from bot.knowledge.loader import (
    AnyEntry,
    KnowledgeBase,
    KnowledgeError,
    Problem,
    knowledge_files,
    load_knowledge,
    special_name,
)
from bot.knowledge.schema import Entry, Faq, Procedure

SHEETS: dict[str, type[Procedure] | type[Faq]] = {"procedures": Procedure, "faq": Faq}
FOLDERS = {"procedure": "procedures", "faq": "faq"}
CHANNEL_KEYS = ("online", "in_person", "post", "note")
PER_CHANNEL = frozenset({"processing_time", "fee"})
PROCEDURE_FIELDS = (
    "id", "code", "title", "title_en", "aliases", "aliases_en", "field", "level", "online",
    "online_url", "agency", "summary", "steps", "documents", "processing_time", "fee", "result",
    "conditions", "legal_basis", "related", "life_events", "source", "reviewed",
    "accepted_differences",
)
ENGLISH_FIELDS = ("summary", "agency", "steps", "documents", "processing_time", "fee", "result",
                  "conditions", "legal_basis")
FAQ_FIELDS = ("id", "question", "question_en", "aliases", "aliases_en", "answer", "answer_en",
              "links", "related", "source", "reviewed")
# The order of keys in a written file: as the sample files are written by hand.
FILE_ORDER = {
    "procedure": ("id", "kind", "code", "title", "title_en", "aliases", "aliases_en", "field",
                  "level", "online", "online_url", "agency", "summary", "steps", "documents",
                  "processing_time", "fee", "result", "conditions", "legal_basis", "en",
                  "related", "life_events", "source", "reviewed", "accepted_differences"),
    "faq": ("id", "kind", "question", "question_en", "aliases", "aliases_en", "answer",
            "answer_en", "links", "related", "source", "reviewed"),
}
FORMS = {
    "aliases": "lines", "aliases_en": "lines", "steps": "lines", "legal_basis": "lines",
    "related": "lines",
    "life_events": "lines", "documents": "documents", "conditions": "one_or_lines",
    "source": "urls", "reviewed": "date", "accepted_differences": "accepted", "links": "links",
}
_ENTRY: TypeAdapter[Procedure | Faq] = TypeAdapter(Entry)
_CASE = re.compile(r"^\[(.+)\]$")


@dataclass(frozen=True)
class Column:
    name: str  # the header: 'fee.online', 'en.documents'
    path: tuple[str, ...]
    form: str  # text | lines | one_or_lines | urls | documents | links | accepted | date


def columns(kind: str) -> list[Column]:
    found: list[Column] = []

    def add(prefix: tuple[str, ...], name: str) -> None:
        path = (*prefix, name)
        found.append(Column(".".join(path), path, FORMS.get(name, "text")))
        if name in PER_CHANNEL:
            found.extend(Column(".".join((*path, ch)), (*path, ch), "text")
                         for ch in CHANNEL_KEYS)

    for name in PROCEDURE_FIELDS if kind == "procedure" else FAQ_FIELDS:
        add((), name)
    if kind == "procedure":
        for name in ENGLISH_FIELDS:
            add(("en",), name)
    return found


class ExportError(Exception):
    """An entry whose text cannot be put into a cell without changing what it says."""


# -- entries → cells ------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A model as plain data (dates stay dates, addresses become text), empty parts left out."""
    if isinstance(value, BaseModel):
        value = {k: getattr(value, k) for k in type(value).model_fields}
    if isinstance(value, dict):
        out = {k: plain(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float | bool | dt.date) or value is None:
        return value
    return str(value)  # HttpUrl


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _one_line(items: list[str], entry_id: str, column: str) -> list[str]:
    for item in items:
        if "\n" in item:
            raise ExportError(f"{entry_id}: {column}: an item has a line break")
    return items


def to_cell(value: Any, column: Column, entry_id: str) -> Any:  # noqa: PLR0911 - one per form
    if value in (None, [], {}):
        return None
    form = column.form
    if form == "lines":
        return "\n".join(_one_line([str(v) for v in value], entry_id, column.name))
    if form in {"one_or_lines", "urls"}:
        if isinstance(value, list):
            return "\n".join("- " + v for v in _one_line(value, entry_id, column.name))
        return str(value)
    if form == "documents":
        return "\n".join(_document_lines(value, entry_id, column.name))
    if form == "links":
        return "\n".join(f"{link['title']} | {link['url']}" for link in value)
    if form == "accepted":
        return "\n".join(_accepted_line(item) for item in value)
    if form == "date":
        return value
    return str(value)


def _document_lines(items: list[Any], entry_id: str, column: str) -> Iterator[str]:
    for item in items:
        if isinstance(item, dict):
            yield f"[{item['case']}]"
            yield from ("- " + i for i in _one_line(item["items"], entry_id, column))
        else:
            if _CASE.match(item) or item.startswith("- ") or "\n" in item:
                raise ExportError(f"{entry_id}: {column}: {item[:40]!r} would read as a case")
            yield item


def _accepted_line(item: Mapping[str, Any]) -> str:
    parts = [str(item["field"]), str(item["date"]), str(item["reason"])]
    parts += [f"{key}: {item[key]}" for key in ("ours", "record") if item.get(key)]
    return " | ".join(parts)


def row_of(entry: AnyEntry) -> dict[str, Any]:
    """One entry as cells, by column name."""
    data = plain(entry)
    row: dict[str, Any] = {}
    for column in columns(entry.kind):
        path = column.path
        value = _get(data, path)
        if path[-1] in PER_CHANNEL and isinstance(value, dict):
            value = None  # given per channel: the channel columns carry it
        elif len(path) >= 2 and path[-2] in PER_CHANNEL:
            parent = _get(data, path[:-1])
            value = parent.get(path[-1]) if isinstance(parent, dict) else None
        row[column.name] = to_cell(value, column, entry.id)
    return row


def export(kb: KnowledgeBase, target: Path) -> dict[str, int]:
    """Write the workbook; how many rows each sheet got."""
    import xlsxwriter

    counts: dict[str, int] = {}
    workbook = xlsxwriter.Workbook(str(target))
    try:
        head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                    "text_wrap": True, "valign": "top"})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        date = workbook.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
        for sheet_name, model in SHEETS.items():
            kind = "procedure" if model is Procedure else "faq"
            cols = columns(kind)
            sheet = workbook.add_worksheet(sheet_name)
            for index, column in enumerate(cols):
                sheet.write_string(0, index, column.name, head)
                sheet.set_column(index, index, _width(column))
            entries = sorted((e for e in map(kb.full, kb.entries) if isinstance(e, model)),
                             key=lambda e: e.id)
            for number, entry in enumerate(entries, 1):
                row = row_of(entry)
                for index, column in enumerate(cols):
                    value = row[column.name]
                    if isinstance(value, dt.date):
                        sheet.write_datetime(number, index,
                                             dt.datetime.combine(value, dt.time()), date)
                    elif value is not None:
                        sheet.write_string(number, index, str(value), wrap)
            sheet.freeze_panes(1, 1)
            sheet.autofilter(0, 0, len(entries), len(cols) - 1)
            counts[sheet_name] = len(entries)
    finally:
        workbook.close()
    return counts


def _width(column: Column) -> int:
    if column.name == "id" or column.form == "date":
        return 20
    if column.form == "text" and column.path[-1] in {"code", "level", "online", "field"}:
        return 16
    return 48


# -- cells → entries ------------------------------------------------------------------------------


def _lines(value: Any) -> list[str]:
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return [line.strip() for line in text.split("\n") if line.strip()]


def _undash(line: str) -> str:
    return line[2:].strip() if line.startswith("- ") else line


def from_cell(value: Any, column: Column) -> Any:  # noqa: C901, PLR0911 - one per form
    """A cell → the value in the entry (None: leave the key out)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    form = column.form
    if form == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        return value.strip() if isinstance(value, str) else value
    if not isinstance(value, str):
        if form == "text" or isinstance(value, bool):
            return value  # a number where text belongs: the schema says so, in plain words
        value = str(value)
    if form == "text":
        return "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").split("\n")).strip()
    lines = _lines(value)
    if form == "lines":
        return [_undash(line) for line in lines]
    if form in {"one_or_lines", "urls"}:
        if all(line.startswith("- ") for line in lines):
            return [_undash(line) for line in lines]
        if form == "urls" and len(lines) > 1:
            return lines
        return "\n".join(lines)
    if form == "documents":
        return _documents(lines)
    if form == "links":
        return [_link(line) for line in lines]
    return [_accepted(line) for line in lines]


def _documents(lines: list[str]) -> list[Any]:
    out: list[Any] = []
    group: dict[str, Any] | None = None
    for line in lines:
        case = _CASE.match(line)
        if case:
            group = {"case": case.group(1).strip(), "items": []}
            out.append(group)
        elif line.startswith("- ") and group is not None:
            group["items"].append(_undash(line))
        else:
            group = None
            out.append(_undash(line))
    return out


def _link(line: str) -> dict[str, str]:
    title, sep, url = line.rpartition(" | ")
    return {"title": title.strip(), "url": url.strip()} if sep else {"title": line}


def _accepted(line: str) -> dict[str, Any]:
    parts = [p.strip() for p in line.split(" | ")]
    item: dict[str, Any] = dict(zip(("field", "date", "reason"), parts[:3], strict=False))
    for part in parts[3:]:
        key, _, text = part.partition(":")
        item[key.strip()] = text.strip()
    return item


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


# -- reading the workbook -------------------------------------------------------------------------


@dataclass
class Row:
    sheet: str
    number: int  # 1-based, as the spreadsheet shows it
    data: dict[str, Any]
    cells: dict[str, str]  # column name → cell address ('K7')
    entry: AnyEntry | None = None

    def at(self, column: str | None) -> str:
        cell = self.cells.get(column or "") or self.cells.get("id") or f"A{self.number}"
        return f"{self.sheet}!{cell}"


@dataclass
class Imported:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    unchanged: int = 0


def _problem(where: str, column: str, key: str, english: str, **values: str) -> Problem:
    return Problem(where, 0, column, english, key, tuple(sorted(values.items())))


def read_workbook(path: Path) -> Imported:
    """Every row of every known sheet as entry data, with every problem in the cells."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    result = Imported()
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        known = [name for name in book.sheetnames if name in SHEETS]
        for name in book.sheetnames:
            if name not in SHEETS:
                result.warnings.append(_problem(f"{name}!A1", "(sheet)", "xlsx.other_sheet",
                                                "sheet not read", sheets=", ".join(SHEETS)))
        if not known:
            result.problems.append(_problem(path.name, "(file)", "xlsx.no_sheet",
                                            "no procedures or faq sheet",
                                            sheets=", ".join(SHEETS)))
        for name in known:
            kind = "procedure" if SHEETS[name] is Procedure else "faq"
            rows = list(book[name].iter_rows(values_only=True))
            if not rows:
                continue
            header = _header(name, rows[0], kind, result, get_column_letter)
            for number, values in enumerate(rows[1:], 2):
                row = _row(name, number, values, header, kind, get_column_letter)
                if row is not None:
                    result.rows.append(row)
    finally:
        book.close()
    return result


def _header(sheet: str, cells: tuple[Any, ...], kind: str, result: Imported,
            letter: Any) -> dict[int, Column]:
    """The columns by position.  A misspelt header is reported and, when the column it is
    close to is not in the sheet too, read as that column (so one typo is one message)."""
    by_name = {c.name: c for c in columns(kind)}
    names = [str(v).strip() if v is not None else "" for v in cells]
    header: dict[int, Column] = {}
    seen: dict[str, str] = {}
    for index, name in enumerate(names):
        where = f"{sheet}!{letter(index + 1)}1"
        if not name:
            continue
        column = by_name.get(name)
        if column is None:
            guess = messages.closest(name, list(by_name))
            key = "xlsx.unknown_column" if guess else "xlsx.unknown_column_none"
            extra = {"guess": guess} if guess else {}
            result.problems.append(_problem(where, name, key, f"unknown column {name!r}",
                                            name=name, **extra))
            if guess is None or guess in names:
                continue
            column = by_name[guess]
        if column.name in seen:
            result.problems.append(_problem(where, name, "xlsx.duplicate_column",
                                            f"column {name!r} twice", name=column.name,
                                            other=seen[column.name]))
            continue
        header[index] = column
        seen[column.name] = f"{letter(index + 1)}1"
    if "id" not in seen:
        result.problems.append(_problem(f"{sheet}!A1", "id", "xlsx.no_id_column",
                                        "no id column"))
    return header


def _row(sheet: str, number: int, values: tuple[Any, ...], header: dict[int, Column],
         kind: str, letter: Any) -> Row | None:
    data: dict[str, Any] = {}
    cells: dict[str, str] = {}
    for index, column in header.items():
        cells[column.name] = f"{letter(index + 1)}{number}"
        value = from_cell(values[index] if index < len(values) else None, column)
        if value is not None:
            _put(data, column.path, value)
    if not data:
        return None  # an empty row
    return Row(sheet, number, {"kind": kind, **data}, cells)


# -- checking -------------------------------------------------------------------------------------


def _column_of(path: tuple[str | int, ...], row: Row) -> str | None:
    names = [p for p in path if isinstance(p, str)]
    for end in range(len(names), 0, -1):
        name = ".".join(names[:end])
        if name in row.cells:
            return name
    return None


def validate_rows(result: Imported) -> None:
    """Each row against the schema; two rows with one id."""
    first: dict[str, Row] = {}
    no_column: set[tuple[str, str]] = set()
    for row in result.rows:
        try:
            row.entry = _ENTRY.validate_python(row.data)
        except ValidationError as exc:
            for said in messages.describe(exc.errors(include_url=False), row.data, _ENTRY):
                if said.missing and _column_of((*said.path, said.missing), row) is None:
                    no_column.add((row.sheet, said.name))  # the sheet lacks the column
                    continue
                result.problems.append(_cell_problem(row, said))
            continue
        other = first.setdefault(row.entry.id, row)
        if other is not row:
            result.problems.append(_problem(row.at("id"), "id", "xlsx.duplicate_row",
                                            f"id {row.entry.id!r} twice", id=row.entry.id,
                                            other=other.at("id")))
            row.entry = None
    for sheet, name in sorted(no_column):
        result.problems.append(_problem(f"{sheet}!A1", name, "xlsx.missing_column",
                                        f"column {name!r} is missing", name=name))


def _cell_problem(row: Row, said: messages.Described) -> Problem:
    values = dict(said.values)
    if said.missing:
        column = _column_of((*said.path, said.missing), row)
        key = "xlsx.missing" if said.key == "missing" else f"kb.{said.key}"
        values.setdefault("name", said.name)
        return _problem(row.at(column), said.name, key, said.english, **values)
    column = _column_of(said.path, row)
    key = {"number": "xlsx.number"}.get(said.key, f"kb.{said.key}")
    items = [p for p in said.path if isinstance(p, int)]
    if items and column:
        values["item"] = str(items[0] + 1)
        return _problem(row.at(column), said.name, "xlsx.in_item", said.english,
                        message_key=key, **values)
    return _problem(row.at(column), said.name, key, said.english, **values)


def render(problem: Problem, lang: str, t: messages.Translate) -> str:
    """``sheet!cell: field: message`` in ``lang`` (cell problems carry ``xlsx.*`` or ``kb.*``
    keys; ``xlsx.in_item`` wraps another message with the line of the cell it is about)."""
    values = dict(problem.values)
    key = problem.key
    if key == "xlsx.in_item":
        inner = values.pop("message_key")
        text = t(lang, "xlsx.in_item", item=values.pop("item"),
                 message=t(lang, inner, **values))
    elif key.startswith(("xlsx.", "kb.")):
        text = t(lang, key, **values)
    else:
        text = messages.render(lang, t, key, values, problem.message)
    return f"{problem.where}: {problem.field}: {text}"


# -- writing the files ----------------------------------------------------------------------------


def file_data(entry: AnyEntry) -> dict[str, Any]:
    """The entry as the mapping written to its file, keys in the hand-written order."""
    data = plain(entry)
    order = FILE_ORDER[entry.kind]
    return {k: data[k] for k in sorted(data, key=lambda k: (k not in order,
                                                             order.index(k) if k in order else 0))}


def _existing(out: Path) -> dict[str, Path]:
    if not out.is_dir():
        return {}
    files, _ = knowledge_files(out)
    return {p.stem: p for p in files if not special_name(p)}


def _current(path: Path) -> AnyEntry | None:
    try:
        return _ENTRY.validate_python(yamlfile.load(path))
    except Exception:  # a broken file is simply rewritten
        return None


def import_rows(result: Imported, out: Path) -> None:
    """Check the valid rows as part of the whole folder (on a copy, so that every problem is
    reported in one run) and, when nothing at all is wrong, write the entries that changed."""
    existing = _existing(out)
    planned: list[tuple[Row, Path, str]] = []
    targets: dict[str, Row] = {}  # every row's file (relative to out), changed or not
    for row in result.rows:
        entry = row.entry
        if entry is None:
            continue
        target = existing.get(entry.id) or out / FOLDERS[entry.kind] / f"{entry.id}.yaml"
        targets[str(target.relative_to(out))] = row
        if target.exists() and _current(target) == entry:
            result.unchanged += 1
            continue
        planned.append((row, target, yamlfile.dump(file_data(entry))))
    with tempfile.TemporaryDirectory(prefix="dvcbot-import-") as tmp:
        staging = Path(tmp) / out.name
        if out.is_dir():
            shutil.copytree(out, staging)
        staging.mkdir(parents=True, exist_ok=True)
        for _, target, text in planned:
            copy = staging / target.relative_to(out)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(text, encoding="utf-8")
        rows_by_file = {_display(staging / rel, staging): row for rel, row in targets.items()}
        _check_folder(result, staging, rows_by_file)
    if result.problems:
        return
    for _, target, text in planned:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        result.written.append(target)


def _display(path: Path, root: Path) -> str:
    return str(path.resolve().relative_to(root.resolve().parent))


def _check_folder(result: Imported, staging: Path, rows_by_file: dict[str, Row]) -> None:
    try:
        load_knowledge(staging)
    except KnowledgeError as exc:
        for problem in exc.problems:
            if problem.key == "required_file":
                continue  # importing into a folder that holds entries only
            row = rows_by_file.get(problem.file)
            if row is None:
                result.problems.append(problem)  # an existing file: reported as file:line
                continue
            name = re.sub(r"\[\d+\]", "", problem.field)
            column = {"(file)": "id"}.get(name, name)
            if column not in row.cells and column == "title":
                column = "question"
            values = tuple((k, rows_by_file[v].at("id") if k == "file" and v in rows_by_file
                            else v) for k, v in problem.values)  # the other entry's row
            result.problems.append(Problem(row.at(column), 0, problem.field, problem.message,
                                           problem.key, values))


def run_import(path: Path, out: Path) -> Imported:
    result = read_workbook(path)
    validate_rows(result)
    import_rows(result, out)
    return result
