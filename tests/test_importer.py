"""`dvcbot kb import`: national portal records (hand-made, in the portal's flattened shape)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from bot.cli.main import main
from bot.importer import tables
from bot.importer.command import render
from bot.importer.record import Converted, Rejected
from bot.knowledge.loader import load_knowledge
from bot.knowledge.schema import DocumentGroup, PerChannel, Procedure
from bot.retrieval.engine import Engine

IMPORT = Path(__file__).resolve().parent / "data" / "import"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's folder
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run_import(runner: CliRunner, source: str, kb: Path, *extra: str) -> Result:
    return runner.invoke(main, ["kb", "import", str(IMPORT / source), "--out",
                                str(kb / "imported"), "--knowledge-dir", str(kb), *extra])


def imported(kb: Path, entry_id: str) -> Procedure:
    entry = load_knowledge(kb).full(entry_id)  # the whole record, as shown to citizens
    assert isinstance(entry, Procedure)
    return entry


def test_imported_folder_loads_next_to_the_sample_and_passes_check(
    runner: CliRunner, kb_copy: Path
) -> None:
    result = run_import(runner, "good.jsonl", kb_copy)
    assert result.exit_code == 0, result.output
    assert "entries written: 6" in result.output
    kb = load_knowledge(kb_copy)
    ids = {p.stem for p in (kb_copy / "imported").glob("*.yaml")}
    assert ids == {"tthc-9-000001", "tthc-9-000002", "tthc-9-000003", "tthc-9-000004",
                   "tthc-9-000006", "tthc-9-000007"}
    assert ids <= set(kb.entries)
    assert all(not kb.entries[i].aliases for i in ids)
    check = runner.invoke(main, ["kb", "check", str(kb_copy)])
    assert check.exit_code == 0, check.output


def test_time_and_fee_are_split_per_channel(runner: CliRunner, kb_copy: Path) -> None:
    run_import(runner, "good.jsonl", kb_copy)
    entry = imported(kb_copy, "tthc-9-000001")
    assert entry.code == "9.000001" and entry.title == "Cấp giấy phép nuôi chim cảnh"
    assert entry.processing_time == PerChannel(online="3 ngày làm việc",
                                               in_person="5 ngày làm việc", post="5 ngày làm việc")
    assert isinstance(entry.fee, PerChannel)
    assert entry.fee.online == "50.000 đồng (Giảm 50% khi nộp trực tuyến)"
    assert entry.fee.in_person == entry.fee.post == "100.000 đồng"
    assert entry.online == "mot-phan" and str(entry.online_url) == str(entry.source)
    assert entry.level == "commune"  # the most local of "Cấp bộ, Cấp tỉnh, Cấp xã"
    assert entry.reviewed == dt.date.today()


def test_documents_legal_basis_and_result_become_lists(runner: CliRunner, kb_copy: Path) -> None:
    run_import(runner, "good.jsonl", kb_copy)
    entry = imported(kb_copy, "tthc-9-000001")
    assert entry.documents == ["Đơn đề nghị cấp giấy phép theo mẫu. (1 bản chính)",
                               "Ảnh chụp chim cảnh (1 bản sao)",
                               "Bản sao giấy tờ tùy thân (1 bản sao)"]
    assert entry.legal_basis == ["Luật Nuôi chim (01/2020/QH14)",
                                 "Nghị định hướng dẫn Luật Nuôi chim (12/2021/NĐ-CP)",
                                 "Thông tư 03/2022/TT-BTN"]
    assert entry.result == "Giấy phép nuôi chim cảnh; Văn bản từ chối"
    assert entry.steps == ["Bước 1: Nộp hồ sơ.", "Bước 2: Nhận kết quả."]
    assert entry.conditions == ["Người nuôi đủ 18 tuổi.", "Có nơi nuôi phù hợp."]
    grouped = imported(kb_copy, "tthc-9-000002").documents
    assert grouped == [
        DocumentGroup(case="Trường hợp cá nhân", items=["Tờ khai (1 bản chính)",
                                                        "Bản đồ vị trí (1 bản chính)"]),
        DocumentGroup(case="Trường hợp tổ chức", items=["Văn bản đề nghị (1 bản chính)"]),
    ]


def test_online_level_is_derived_only_from_what_the_record_says(
    runner: CliRunner, kb_copy: Path
) -> None:
    run_import(runner, "good.jsonl", kb_copy)
    no_online_row = imported(kb_copy, "tthc-9-000002")
    assert no_online_row.online == "none" and no_online_row.online_url is None
    assert imported(kb_copy, "tthc-9-000007").online == "toan-trinh"


def test_missing_or_unreadable_cells_are_left_out_and_reported(
    runner: CliRunner, kb_copy: Path
) -> None:
    result = run_import(runner, "good.jsonl", kb_copy, "--verbose")
    no_unit = imported(kb_copy, "tthc-9-000002")
    assert no_unit.processing_time is None  # "1" with no unit: not turned into "1 day"
    assert no_unit.agency.startswith("Chưa có thông tin cơ quan thực hiện")
    glued = imported(kb_copy, "tthc-9-000007")  # "Trực tuyến1100 VNĐ": 1 day + 100 đ, or 11 + 00?
    assert glued.processing_time == PerChannel(in_person="2 ngày")
    assert glued.fee is None
    assert glued.agency == "Ủy ban nhân dân cấp tỉnh"  # co_quan_co_tham_quyen when no other
    assert "line 2: 9.000002: Trực tiếp: time has no unit" in result.output
    assert re.search(r"line 7: 9\.000007: Trực tuyến: time and fee run together", result.output)
    assert "written with a part left out: 3 records" in result.output


def test_titles_are_unique_next_to_the_curated_entries(runner: CliRunner, kb_copy: Path) -> None:
    result = run_import(runner, "good.jsonl", kb_copy)
    titles = {e.id: e.title for e in load_knowledge(kb_copy).entries.values()}
    assert titles["tthc-9-000003"] == "Hỗ trợ sản xuất cộng đồng (mã 9.000003)"
    assert titles["tthc-9-000004"] == "Hỗ trợ sản xuất cộng đồng (mã 9.000004)"
    assert titles["tthc-9-000006"] == "Giấy khai sinh (mã 9.000006)"  # a khai-sinh alias
    assert "tthc-1-001193" not in titles  # khai-sinh's own code: the curated entry covers it
    assert "line 5: 1.001193 is the curated entry 'khai-sinh'" in result.output


def test_every_rejected_record_is_reported_with_its_reason(
    runner: CliRunner, kb_copy: Path
) -> None:
    result = run_import(runner, "bad.jsonl", kb_copy)
    assert result.exit_code == 0, result.output
    assert "entries written: 1" in result.output
    assert "could not import: 7 records" in result.output
    for line, reason in [
        (2, "not valid JSON"),
        (3, "ma_thu_tuc 'ABC-1' is not a procedure code"),
        (4, "ten_thu_tuc (title) is empty"),
        (5, "names no level"),
        (6, "code repeats the record on line 1"),
        (7, "not a JSON object"),
        (8, "detail_url '' is not a web address"),
    ]:
        assert re.search(rf"^  line {line}: .*{re.escape(reason)}", result.output, re.M), reason
    load_knowledge(kb_copy)


def test_an_entry_the_schema_rejects_is_never_written() -> None:
    data = {"id": "tthc-9-000009", "kind": "procedure", "code": "9.000009", "title": "Thử",
            "field": "Thử", "level": "district", "online": "none", "agency": "Sở",
            "source": "https://dichvucong.gov.vn/x", "reviewed": dt.date(2026, 1, 1)}
    with pytest.raises(Rejected, match="level"):
        render(Converted("9.000009", data))
    data["level"] = "province"
    assert yaml.safe_load(render(Converted("9.000009", data)))["level"] == "province"


def test_progress_is_plain_counts_when_piped(runner: CliRunner, kb_copy: Path) -> None:
    result = run_import(runner, "good.jsonl", kb_copy)
    assert "converting: 7/7" in result.stderr
    assert "writing: 6/6" in result.stderr


def test_a_new_import_replaces_the_previous_one(runner: CliRunner, kb_copy: Path) -> None:
    run_import(runner, "good.jsonl", kb_copy)
    again = run_import(runner, "good.jsonl", kb_copy)  # its own earlier output is not "curated"
    assert "entries written: 6" in again.output and "skipped, already curated: 1" in again.output
    run_import(runner, "bad.jsonl", kb_copy)
    assert sorted(p.name for p in (kb_copy / "imported").glob("*.yaml")) == ["tthc-9-000101.yaml"]
    assert not [p for p in kb_copy.iterdir() if p.name.startswith(".imported")]


def test_a_folder_the_importer_did_not_write_is_left_alone(
    runner: CliRunner, kb_copy: Path
) -> None:
    result = runner.invoke(main, ["kb", "import", str(IMPORT / "good.jsonl"), "--out",
                                  str(kb_copy / "procedures"), "--knowledge-dir", str(kb_copy)])
    assert result.exit_code != 0
    assert "was not written by `dvcbot kb import`" in result.output
    assert (kb_copy / "procedures" / "khai-sinh.yaml").exists()


def test_formal_question_finds_an_imported_procedure(runner: CliRunner, kb_copy: Path) -> None:
    run_import(runner, "good.jsonl", kb_copy)
    engine = Engine(load_knowledge(kb_copy))
    result = engine.ask("Hồ sơ đề nghị cấp giấy phép nuôi chim cảnh gồm những gì?")
    assert "tthc-9-000001" in [c.entry_id for c in result.candidates[:3]]
    assert engine.ask("làm giấy khai sinh cho con").best.entry_id == "khai-sinh"  # type: ignore[union-attr]


@pytest.mark.parametrize(("cells", "expected"), [
    ("Trực tiếp15 Ngày làm việcMiễn phí", {"in_person": ("15 ngày làm việc", "Miễn phí")}),
    ("Trực tuyến2 Giờ20,000 VNĐ(Phí thẩm định)Trong ngày.Trực tiếp trả kết quả tại chỗ",
     {"online": ("2 giờ", "20.000 đồng (Phí thẩm định)")}),
    ("Trực tiếpKhông quy địnhKhông có thông tinTrực tiếp tại Sở.",
     {"in_person": ("Không quy định", None)}),
    ("Dịch vụ bưu chính30 Ngày10 USD(10 USD/lần)", {"post": ("30 ngày", "10 USD (10 USD/lần)")}),
])
def test_channel_rows(cells: str, expected: dict[str, tuple[str | None, str | None]]) -> None:
    table = tables.parse_channels(tables.CHANNEL_HEADER + cells)
    got = {r.channel: (r.time, r.fee) for r in table.rows}
    assert got == expected


def test_legal_codes_glued_to_the_next_name_are_split() -> None:
    rows, notes = tables.parse_legal(
        tables.LEGAL_HEADER + "Luật Mẫu năm 201102/2011/QH13Nghị định 05/2012/NĐ-CP05/2012/NĐ-CP"
        "sửa đổi Thông tư mẫu46/2024/TT-BTC"
    )
    assert rows == ["Luật Mẫu năm 2011 (02/2011/QH13)", "Nghị định 05/2012/NĐ-CP",
                    "sửa đổi Thông tư mẫu (46/2024/TT-BTC)"]
    assert notes == []


async def test_an_imported_entry_is_held_slim_and_shown_whole(runner: CliRunner, kb_copy: Path,
                                                              tmp_path: Path) -> None:
    """Thousands of imported records are kept in memory without their long text; an answer
    still shows every part, read again from the file."""
    from bot.app import build_dialog, build_services
    from bot.config import load_settings
    from tests.conftest import Chat

    run_import(runner, "good.jsonl", kb_copy)
    kb = load_knowledge(kb_copy)
    slim = kb.entries["tthc-9-000001"]
    full = kb.full("tthc-9-000001")
    assert "tthc-9-000001" in kb.slim and isinstance(full, Procedure)
    assert isinstance(slim, Procedure) and not slim.steps and full.steps
    assert kb.full("khai-sinh") is kb.entries["khai-sinh"]  # curated: held whole
    settings = load_settings(environ={}, dotenv=None, data_dir=tmp_path / "data",
                             knowledge_dir=kb_copy, pseudonym_key="test-key-123456")
    services = build_services(settings)
    try:
        chat = Chat(build_dialog(services))
        await chat.say("Hồ sơ đề nghị cấp giấy phép nuôi chim cảnh gồm những gì?")
        [steps] = await chat.press("p:tthc-9-000001:steps")
    finally:
        services.store.close()
    assert full.steps[0][:40] in steps.text
