"""`kb check` speaks to staff in plain Vietnamese (or English): each slip a staff member makes
gets a message that says what to do, at the line where it is to be done."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.config import LOCALES_DIR
from bot.conversation.i18n import I18n
from bot.knowledge.loader import KnowledgeError, Problem, load_knowledge, render_problems

JARGON = ("pydantic", "discriminator", "Field required", "Input should", "Extra inputs",
          "constrained-str", "PerChannel", "DocumentGroup", "function-after", "^[a-z",
          "String should match", "validation error", "union", "literal_error", "YAML syntax")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, starts: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(starts):
            return number
    raise AssertionError(starts)


def check(runner: CliRunner, root: Path, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(main, ["kb", "check", str(root), *args])
    return result.exit_code, result.output.splitlines()


def about(lines: list[str], file: str) -> list[str]:
    return [line for line in lines if f"/{file}:" in line or line.startswith(f"{file}:")]


def no_jargon(lines: list[str]) -> None:
    for line in lines:
        for word in JARGON:
            assert word not in line, f"{word!r} in {line!r}"


def test_each_staff_slip_gets_a_plain_vietnamese_message(runner: CliRunner,
                                                         kb_copy: Path) -> None:
    procedures = kb_copy / "procedures"
    replace(procedures / "ket-hon.yaml", "reviewed: 20", "reviewed: 30/11/20")
    replace(procedures / "doi-gplx.yaml", "steps:\n  - ", "steps:\n  - Bước 1: ")
    replace(procedures / "cap-lai-gplx.yaml", "title: ", "title: GPLX: ")
    replace(procedures / "khai-sinh.yaml", "\ndocuments:", "\ndocumnets:")
    replace(procedures / "tam-tru.yaml", "id: tam-tru", "id: Tam_Tru")
    code, lines = check(runner, kb_copy)
    assert code == 1
    no_jargon(lines)
    [date] = about(lines, "procedures/ket-hon.yaml")
    assert f"ket-hon.yaml:{line_of(procedures / 'ket-hon.yaml', 'reviewed:')}: reviewed:" in date
    assert "2026-11-30" in date and "năm-tháng-ngày" in date
    [colon] = about(lines, "procedures/doi-gplx.yaml")
    assert ": steps[0]: " in colon and "ngoặc kép" in colon and "Bước 1:" in colon
    [title] = about(lines, "procedures/cap-lai-gplx.yaml")
    assert "cap-lai-gplx.yaml:3:" in title and "ngoặc kép" in title and "dấu hai chấm" in title
    [key] = about(lines, "procedures/khai-sinh.yaml")
    assert "documnets" in key and "“documents”" in key
    [slug] = about(lines, "procedures/tam-tru.yaml")
    assert "chữ thường" in slug and "chữ số" in slug and "gạch ngang" in slug
    assert "tên tệp" in slug
    assert lines[-1].startswith("5 lỗi")


def test_english_when_asked(runner: CliRunner, kb_copy: Path) -> None:
    replace(kb_copy / "procedures" / "khai-sinh.yaml", "\ndocuments:", "\ndocumnets:")
    code, lines = check(runner, kb_copy, "--lang", "en")
    assert code == 1
    assert any("there is no field “documnets”; did you mean “documents”?" in line
               for line in lines)
    assert lines[-1] == "1 error(s); the bot keeps serving the last good version."
    no_jargon(lines)


def test_a_missing_field_points_where_it_belongs(runner: CliRunner, kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "khai-tu.yaml"
    field_line = line_of(path, "field:")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(ln for ln in lines if not ln.startswith("level:")) + "\n",
                    encoding="utf-8")
    code, out = check(runner, kb_copy)
    [missing] = about(out, "procedures/khai-tu.yaml")
    assert code == 1
    assert f"khai-tu.yaml:{field_line + 1}: level: " in missing  # just after 'field:'
    assert "“level: …”" in missing and "“field”" in missing


def test_a_missing_part_of_a_block_points_into_the_block(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "doi-gplx.yaml"
    case_line = line_of(path, "  - case: ")
    text = path.read_text(encoding="utf-8")
    start = text.index("  - case: ")
    end = text.index("processing_time:")
    path.write_text(text[:start] + text[start:end].split("\n")[0] + "\n" + text[end:],
                    encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    found = [p for p in info.value.problems if p.file.endswith("doi-gplx.yaml")]
    items = [p for p in found if p.field.endswith(".items")]
    assert items and items[0].line == case_line + 1 and items[0].key == "missing_after"


def test_kind_missing_and_wrong(kb_copy: Path) -> None:
    t = I18n(LOCALES_DIR).gettext
    replace(kb_copy / "procedures" / "khai-sinh.yaml", "kind: procedure\n", "")
    replace(kb_copy / "procedures" / "khai-tu.yaml", "kind: procedure", "kind: thu-tuc")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    said = render_problems(info.value.problems, "vi", t)
    assert any("khai-sinh.yaml" in s and "kind: procedure" in s for s in said)
    assert any("khai-tu.yaml" in s and "“thu-tuc”" in s and "faq" in s for s in said)


def test_duplicate_alias_is_reported_on_the_file_edited_last(kb_copy: Path) -> None:
    sinh, tu = kb_copy / "procedures" / "khai-sinh.yaml", kb_copy / "procedures" / "khai-tu.yaml"
    alias = load_knowledge(kb_copy).entries["khai-tu"].aliases[0]
    replace(sinh, "aliases:\n", f"aliases:\n  - {alias}\n")
    now = time.time()
    os.utime(tu, (now - 100, now - 100))
    os.utime(sinh, (now, now))  # khai-sinh was edited last: the duplicate is its
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    [problem] = [p for p in info.value.problems if p.key == "alias_claimed"]
    assert problem.file.endswith("khai-sinh.yaml") and problem.line == line_of(sinh, f"  - {alias}")
    assert dict(problem.values)["other"] == "khai-tu"
    assert dict(problem.values)["file"].endswith("procedures/khai-tu.yaml")


def test_yml_files_are_read_not_ignored(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "tach-ho.yaml"
    path.rename(path.with_suffix(".yml"))
    assert "tach-ho" in load_knowledge(kb_copy).entries
    replace(path.with_suffix(".yml"), "online: ", "online: muc-4 #")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    assert [p.file for p in info.value.problems] == ["knowledge/procedures/tach-ho.yml"]


def test_a_file_that_is_not_yaml_is_a_warning(kb_copy: Path) -> None:
    (kb_copy / "procedures" / "tam-tru.yaml.bak").write_text("id: x\n", encoding="utf-8")
    (kb_copy / "README.md").write_text("# notes\n", encoding="utf-8")
    kb = load_knowledge(kb_copy)
    assert [(w.file, w.key) for w in kb.warnings] == [
        ("knowledge/procedures/tam-tru.yaml.bak", "other_file")]


def test_a_field_spelt_without_diacritics_is_an_error(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "tach-ho.yaml"  # another field: "Ho tich" is Hộ tịch's
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"^field: .*$", "field: Ho tich", text, flags=re.M), encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    [problem] = info.value.problems
    assert problem.key == "field_spelling" and problem.line == line_of(path, "field:")
    assert dict(problem.values) == {"value": "Ho tich", "known": "Hộ tịch"}


def test_two_aliases_merged_by_indentation_is_a_warning(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "ho-chieu.yaml"
    replace(path, "aliases:\n", "aliases:\n  - làm hộ chiếu nhanh\n   - hộ chiếu gấp\n")
    kb = load_knowledge(kb_copy)
    [warning] = kb.warnings
    assert warning.key == "alias_merged" and warning.line == line_of(path, "  - làm hộ chiếu nh")
    text = warning.render("vi", I18n(LOCALES_DIR).gettext)
    assert "thụt lề" in text and "“làm hộ chiếu nhanh - hộ chiếu gấp”" in text


def test_cross_references_come_with_the_schema_errors(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "vneid.yaml"
    replace(path, "level: ", "levle: ")
    replace(path, "related: [", "related: [khong-co-muc-nay, ")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    keys = {p.key for p in info.value.problems if p.file.endswith("vneid.yaml")}
    assert {"unknown_key", "missing_after", "related"} <= keys


def test_a_related_id_close_to_a_real_one_is_suggested(kb_copy: Path) -> None:
    replace(kb_copy / "procedures" / "vneid.yaml", "related: [", "related: [can-cuok, ")
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_copy)
    [problem] = info.value.problems
    text = problem.render("vi", I18n(LOCALES_DIR).gettext)
    assert "“can-cuok”" in text and "“can-cuoc”" in text


def test_the_admin_alert_renders_in_the_admins_language() -> None:
    problem = Problem("knowledge/procedures/x.yaml", 7, "reviewed", "Input should be a valid date",
                      "date", (("value", "30/11/2026"),))
    t = I18n(LOCALES_DIR).gettext
    assert problem.render("vi", t) == (
        "knowledge/procedures/x.yaml:7: reviewed: ngày phải viết theo dạng năm-tháng-ngày, "
        "ví dụ 2026-11-30 (đang viết “30/11/2026”)")
    assert "for example 2026-11-30" in problem.render("en", t)
    assert str(problem) == "knowledge/procedures/x.yaml:7: reviewed: Input should be a valid date"


def test_every_message_key_exists_in_both_languages() -> None:
    from bot.knowledge import loader, messages, yamlfile

    sources = "".join(Path(m.__file__ or "").read_text(encoding="utf-8")
                      for m in (loader, messages, yamlfile))
    keys = set(re.findall(r'"([a-z_]+)"', sources))
    catalogs = I18n(LOCALES_DIR)
    known = {k.removeprefix("kb.") for k in catalogs.keys("vi") if k.startswith("kb.")}
    used = {k for k in keys if f"kb.{k}" in catalogs.keys("vi") or k in known}
    assert used and {f"kb.{k}" for k in used} <= catalogs.keys("en")
    for key in ("missing", "missing_after", "unknown_key", "date", "colon", "slug",
                "alias_claimed", "field_spelling", "alias_merged", "yaml_colon", "related"):
        assert key in known, key


def test_the_staff_guide_template_is_a_valid_entry_with_every_field() -> None:
    import yaml
    from pydantic import TypeAdapter

    from bot.config import DEFAULT_KNOWLEDGE_DIR
    from bot.knowledge.schema import Entry, Faq, Procedure

    guide = (DEFAULT_KNOWLEDGE_DIR / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", guide, flags=re.M | re.S)
    adapter: TypeAdapter[Procedure | Faq] = TypeAdapter(Entry)
    procedure, faq = (adapter.validate_python(yaml.safe_load(b)) for b in blocks[:2])
    assert isinstance(procedure, Procedure) and isinstance(faq, Faq)
    written = yaml.safe_load(blocks[0])
    assert set(written) == set(Procedure.model_fields)  # the template shows every field
    assert set(written["en"]) == {"summary", "agency", "steps", "documents", "processing_time",
                                  "fee", "result", "conditions", "legal_basis"}
