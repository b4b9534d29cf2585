"""`dvcbot kb verify`: curated procedures against the national record of their code, tolerant of
how the two write the same fact, with differences staff accepted recorded in the entry."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.cli.verify import national_record
from bot.knowledge.schema import Procedure
from bot.knowledge.verify import DocNumber, amounts, days, doc_numbers, missing_bodies, verdict
from tests.conftest import DATA

FIXTURES = DATA / "verify"
ENTRY = "thu-nghiem-doi-chieu"


def record() -> dict[str, Any]:
    first = (FIXTURES / "national-sample.jsonl").read_text(encoding="utf-8").splitlines()[0]
    data: dict[str, Any] = json.loads(first)
    return data


def entry(**changes: Any) -> Procedure:
    import yaml

    data = yaml.safe_load((FIXTURES / f"{ENTRY}.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    return Procedure.model_validate(data)


# -- tolerant comparisons -------------------------------------------------------------------------


def test_amounts_are_one_however_written() -> None:
    assert amounts("135.000 đ") == amounts("135000 đồng") == amounts("135,000 VND") \
        == amounts("135 nghìn đồng") == {"135000 đồng"}
    assert amounts("10 USD/bản; 2.000 đồng/trang") == {"10 USD", "2000 đồng"}
    assert amounts("Miễn phí") == set()


def test_time_limits_in_days() -> None:
    assert days("Không quá 05 ngày làm việc") == {5.0}
    assert days("3,5 ngày làm việc; 16 giờ làm việc") == {3.5, 2.0}
    assert days("Trả kết quả trong ngày") == {1.0}
    assert days(None) == set()


@pytest.mark.parametrize(("ours", "theirs"), [
    ("60/2014/QH13", "1360/2014/QH13"),  # a cell's digits glued on in the flattened table
    ("118/2025/NĐ-CP", "118/2025/NĐ-C"),  # a cut suffix
    ("07/2025/NQ-CP", "7/2025/NQ-CP"),
    ("1891/QĐ-TTg", "1891/QĐ-TTg"),
])
def test_document_numbers_match_across_flattened_tables(ours: str, theirs: str) -> None:
    [a], [b] = doc_numbers(ours), doc_numbers(theirs)
    assert a.same(b)


def test_different_documents_do_not_match() -> None:
    assert not DocNumber("2304", "", "QĐ-BNNMT").same(DocNumber("3380", "", "QĐ-BNNMT"))
    assert not DocNumber("123", "2015", "NĐ-CP").same(DocNumber("123", "2016", "NĐ-CP"))


def test_agencies_by_their_words() -> None:
    assert not missing_bodies("UBND cấp xã", "Ủy ban Nhân dân xã, phường, thị trấn.")
    ours = "Phòng Cảnh sát giao thông Công an tỉnh Quảng Trị hoặc Công an cấp xã"
    assert not missing_bodies(ours, "Công an tỉnh, Công an cấp Xã")
    assert missing_bodies("Công an cấp xã", "Cục cảnh sát giao thông, Công an cấp Xã") == [
        "Cục cảnh sát giao thông"]


# -- one procedure against its record -------------------------------------------------------------


def test_the_fixture_matches_its_record() -> None:
    result = verdict(entry(), national_record(record()))
    assert result.differences == [] and result.accepted == []


@pytest.mark.parametrize(("change", "field"), [
    ({"fee": None, "en": None, "aliases": []}, "fee"),  # no fee where the record names 135.000
    ({"fee": {"online": "120.000 đồng", "in_person": "150.000 đồng"}}, "fee"),
    ({"processing_time": "10 ngày làm việc"}, "processing_time"),
    ({"online": "none"}, "online"),
    ({"agency": "Công an cấp xã"}, "agency"),
    ({"legal_basis": ["Quyết định 2304/QĐ-BNNMT", "Luật Hộ tịch (60/2014/QH13)",
                      "Nghị định 123/2015/NĐ-CP", "Quyết định 1234/QĐ-BTP"]}, "legal_basis"),
])
def test_each_kind_of_difference(change: dict[str, Any], field: str) -> None:
    if field not in {"fee"} and "en" not in change:
        change = {**change, "en": None, "aliases": []}  # the English text is not the point here
    result = verdict(entry(**change), national_record(record()))
    assert [d.field for d in result.differences] == [field]


def test_the_record_saying_fully_online_is_not_one_part() -> None:
    raw = record()
    raw["trinh_tu_thuc_hien"] += "\nThực hiện trực tuyến toàn trình."
    [difference] = verdict(entry(), national_record(raw)).differences
    assert (difference.field, difference.ours, difference.record) == ("online", "mot-phan",
                                                                      "toan-trinh")


def test_an_accepted_difference_is_not_listed_until_it_changes() -> None:
    accepted = [{"field": "processing_time", "reason": "ours is the province's own limit",
                 "date": "2026-12-01", "record": "in_person: 7 ngày làm việc"}]
    raw = record()
    raw["cach_thuc_thuc_hien"] = raw["cach_thuc_thuc_hien"].replace("7 Ngày", "9 Ngày")
    changed = entry(accepted_differences=accepted)
    # pinned to a record value that is no longer what the record says: listed again
    assert [d.field for d in verdict(changed, national_record(raw)).differences] == [
        "processing_time"]
    accepted[0]["record"] = "in_person: 9 ngày làm việc"
    result = verdict(entry(accepted_differences=accepted), national_record(raw))
    assert result.differences == [] and [d.field for d in result.accepted] == ["processing_time"]
    unused = verdict(entry(accepted_differences=accepted), national_record(record()))
    assert [a.field for a in unused.unused] == ["processing_time"]


# -- the command ----------------------------------------------------------------------------------


@pytest.fixture
def folder(kb_copy: Path) -> Path:
    shutil.copy(FIXTURES / f"{ENTRY}.yaml", kb_copy / "procedures" / f"{ENTRY}.yaml")
    return kb_copy


def run(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: dict[str, Any],
        *args: str) -> tuple[int, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    data = tmp_path / "records.jsonl"
    data.write_text(json.dumps(raw, ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["kb", "verify", "--data", str(data),
                                       "--knowledge-dir", str(folder), *args])
    return result.exit_code, result.output


def line_of(path: Path, starts: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(starts):
            return number
    raise AssertionError(starts)


def test_nothing_to_settle_exits_0(folder: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(folder, tmp_path, monkeypatch, record())
    assert code == 0, out
    assert "1 thủ tục đã so với hồ sơ quốc gia: 0 khác biệt chưa xử lý" in out
    # the other curated codes are not in this small file: said, not counted
    assert re.search(r"^knowledge/procedures/doi-gplx\.yaml:\d+: code: không có hồ sơ mã "
                     r"3\.000347", out, re.M)


def test_a_difference_is_listed_with_file_line_ours_and_the_record(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = record()
    raw["cach_thuc_thuc_hien"] = raw["cach_thuc_thuc_hien"].replace("150", "200")
    code, out = run(folder, tmp_path, monkeypatch, raw, "--lang", "en")
    assert code == 1
    path = folder / "procedures" / f"{ENTRY}.yaml"
    [line] = [ln for ln in out.splitlines() if ln.startswith(f"knowledge/procedures/{ENTRY}")]
    assert line.startswith(f"knowledge/procedures/{ENTRY}.yaml:{line_of(path, 'fee:')}: fee: "
                           "ours: online: 135.000 đ/lần.; in_person: 150000 đồng/lần. / "
                           "national record: in_person: 200.000 đồng")
    assert "1 difference(s) to settle" in out


def test_recording_the_acceptance_settles_it(folder: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    raw = record()
    raw["co_quan_thuc_hien"] = "Cục Hộ tịch, quốc tịch, chứng thực, Ủy ban Nhân dân xã"
    code, out = run(folder, tmp_path, monkeypatch, raw)
    assert code == 1 and f"{ENTRY}.yaml" in out and ": agency: bên mình: UBND cấp xã" in out
    path = folder / "procedures" / f"{ENTRY}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + (
        "accepted_differences:\n"
        "  - field: agency\n"
        "    reason: The ministry's department does not take files from citizens.\n"
        "    date: 2026-12-01\n"), encoding="utf-8")
    code, out = run(folder, tmp_path, monkeypatch, raw)
    assert code == 0, out
    assert "0 khác biệt chưa xử lý, 1 khác biệt đã chấp nhận" in out
    code, out = run(folder, tmp_path, monkeypatch, record())  # the record agrees again
    assert code == 0 and "accepted_differences: khác biệt về “agency” đã được chấp nhận" in out


def test_a_missing_data_file_is_said_plainly(folder: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["kb", "verify", "--data", str(tmp_path / "none.gz"),
                                       "--knowledge-dir", str(folder)])
    assert result.exit_code != 0 and "--data" in result.output
