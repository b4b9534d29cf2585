"""The spreadsheet round trip: `kb export` then `kb import-xlsx` changes nothing; edits in cells
become YAML; every problem is reported as sheet!cell and nothing is written then."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli.main import main
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import spreadsheet
from bot.knowledge.loader import load_knowledge
from bot.knowledge.spreadsheet import Column, columns, from_cell, to_cell

SPECIAL = ("offices.yaml", "synonyms.yaml", "survey.yaml")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def export(runner: CliRunner, knowledge: Path, target: Path) -> None:
    result = runner.invoke(main, ["kb", "export", str(target), "--knowledge-dir", str(knowledge)])
    assert result.exit_code == 0, result.output
    assert "thủ tục" in result.output


def import_xlsx(runner: CliRunner, source: Path, out: Path, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(main, ["kb", "import-xlsx", str(source), "--out", str(out), *args])
    return result.exit_code, result.output.splitlines()


def test_export_then_import_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    book = tmp_path / "kb.xlsx"
    export(runner, DEFAULT_KNOWLEDGE_DIR, book)
    out = tmp_path / "knowledge"
    code, lines = import_xlsx(runner, book, out)
    assert code == 0, lines
    for name in SPECIAL:  # the entries only come from the sheet; the rest of the folder as is
        shutil.copy(DEFAULT_KNOWLEDGE_DIR / name, out / name)
    original, imported = load_knowledge(DEFAULT_KNOWLEDGE_DIR), load_knowledge(out)
    assert imported.entries.keys() == original.entries.keys()
    for entry_id, entry in original.entries.items():
        assert imported.entries[entry_id] == entry, entry_id


def test_importing_an_unchanged_sheet_rewrites_no_file(runner: CliRunner, tmp_path: Path,
                                                       kb_copy: Path) -> None:
    book = tmp_path / "kb.xlsx"
    export(runner, kb_copy, book)
    before = {p: p.read_bytes() for p in kb_copy.rglob("*.yaml")}
    code, lines = import_xlsx(runner, book, kb_copy, "--lang", "en")
    assert code == 0
    assert lines[-1].startswith(f"wrote 0 file(s) into {kb_copy}; 52 entries unchanged")
    assert {p: p.read_bytes() for p in kb_copy.rglob("*.yaml")} == before


def cell(book: Path, sheet: str, entry_id: str, column: str) -> tuple[int, int]:
    ws = load_workbook(book)[sheet]
    header = {c.value: int(c.column or 0) for c in ws[1]}
    for row in ws.iter_rows(min_row=2):
        if row[0].value == entry_id:
            return int(row[0].row or 0), header[column]
    raise AssertionError(entry_id)


def set_cells(book: Path, sheet: str, changes: dict[tuple[str, str], str | float]) -> None:
    wb = load_workbook(book)
    for (entry_id, column), value in changes.items():
        row, col = cell(book, sheet, entry_id, column)
        wb[sheet].cell(row, col).value = value
    wb.save(book)


def test_an_edited_cell_becomes_yaml(runner: CliRunner, tmp_path: Path, kb_copy: Path) -> None:
    book = tmp_path / "kb.xlsx"
    export(runner, kb_copy, book)
    set_cells(book, "procedures", {
        ("doi-gplx", "fee.in_person"): "140.000 đồng/lần.",
        ("doi-gplx", "en.fee.in_person"): "140,000 VND per exchange.",
        ("tach-ho", "aliases"): "tách hộ khẩu\nra ở riêng\n- tách sổ hộ khẩu riêng",
    })
    code, lines = import_xlsx(runner, book, kb_copy)
    assert code == 0, lines
    assert lines[-1].startswith("đã ghi 2 tệp")
    kb = load_knowledge(kb_copy)
    doi = kb.entries["doi-gplx"]
    assert doi.fee.in_person == "140.000 đồng/lần."  # type: ignore[union-attr]
    assert kb.entries["tach-ho"].aliases == ["tách hộ khẩu", "ra ở riêng",
                                             "tách sổ hộ khẩu riêng"]


def test_every_problem_is_reported_by_sheet_and_cell(runner: CliRunner, tmp_path: Path,
                                                     kb_copy: Path) -> None:
    book = tmp_path / "kb.xlsx"
    export(runner, kb_copy, book)
    other_aliases = load_knowledge(kb_copy).entries["khai-tu"].aliases
    set_cells(book, "procedures", {
        ("doi-gplx", "reviewed"): "30/11/2026",
        ("ket-hon", "level"): "huyen",
        ("vneid", "related"): "khong-co-muc-nay",
        ("khai-sinh", "aliases"): other_aliases[0],
        ("tam-tru", "code"): 1.00419,
    })
    wb = load_workbook(book)
    ws = wb["faq"]
    ws.cell(1, 4).value = "aliasses"  # a misspelt header
    wb.save(book)
    before = {p: p.read_bytes() for p in kb_copy.rglob("*.yaml")}
    code, lines = import_xlsx(runner, book, kb_copy)
    assert code == 1
    assert {p: p.read_bytes() for p in kb_copy.rglob("*.yaml")} == before  # nothing written

    def at(entry_id: str, column: str, sheet: str = "procedures") -> str:
        row, col = cell(book, sheet, entry_id, column)
        from openpyxl.utils import get_column_letter

        return f"{sheet}!{get_column_letter(col)}{row}: "

    said = "\n".join(lines)
    assert "faq!D1: aliasses: không có cột “aliasses”; có phải bạn định viết “aliases”?" in said
    assert at("doi-gplx", "reviewed") + "reviewed: " in said and "2026-11-30" in said
    assert at("ket-hon", "level") + "level: “huyen” không dùng được" in said
    assert at("vneid", "related") + "related[0]: không có mục nào có id “khong-co-muc-nay”" in said
    assert at("khai-sinh", "aliases") + "aliases: " in said
    assert "đã thuộc về mục “khai-tu” (procedures!A" in said
    assert at("tam-tru", "code") + "code: “1.00419” là số" in said
    assert lines[-1].startswith("6 lỗi; chưa ghi tệp nào")


@pytest.mark.parametrize(("name", "value"), [
    ("documents", ["Tờ khai", {"case": "Trường hợp có con chung", "items": ["Giấy khai sinh"]},
                   "Căn cước"]),
    ("conditions", ["Chỉ một điều kiện"]),
    ("conditions", "Một đoạn văn\ncó hai dòng"),
    ("source", "https://a.example/"),
    ("source", ["https://a.example/"]),
    ("source", ["https://a.example/", "https://b.example/"]),
    ("aliases", ["a", "b"]),
    ("accepted_differences", [{"field": "fee", "date": "2026-12-01", "reason": "vì sao",
                               "ours": "135.000"}]),
])
def test_cell_forms_read_back_as_written(name: str, value: object) -> None:
    [column] = [c for c in columns("procedure") if c.name == name]
    text = to_cell(value, column, "x")
    assert from_cell(text, column) == value


def test_a_text_cell_that_is_a_number_is_kept_for_the_schema_to_name() -> None:
    column = Column("code", ("code",), "text")
    assert from_cell(1.001193, column) == 1.001193
    assert from_cell("  1.001193 ", column) == "1.001193"


def test_an_item_that_would_read_as_a_case_is_refused_on_export() -> None:
    [column] = [c for c in columns("procedure") if c.name == "documents"]
    with pytest.raises(spreadsheet.ExportError):
        to_cell(["[not a case]"], column, "x")
