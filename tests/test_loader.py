"""The loader reports every problem at once, as file:line: field: message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.knowledge.loader import KnowledgeError, load_knowledge


def problems_of(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    return [str(p) for p in info.value.problems]


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, starts: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(starts):
            return number
    raise AssertionError(starts)


def test_sample_knowledge_base_is_valid(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy)
    assert len(kb.entries) >= 52


def test_every_error_is_reported_with_file_and_line(kb_copy: Path) -> None:
    khai_sinh = kb_copy / "procedures" / "khai-sinh.yaml"
    ket_hon = kb_copy / "procedures" / "ket-hon.yaml"
    replace(khai_sinh, "online: ", "online: muc-4 #")
    replace(ket_hon, "level: ", "levle: ")
    found = problems_of(kb_copy)
    assert f"knowledge/procedures/khai-sinh.yaml:{line_of(khai_sinh, 'online:')}: online:" in (
        " ".join(found)
    )
    assert any(
        p.startswith(f"knowledge/procedures/ket-hon.yaml:{line_of(ket_hon, 'levle:')}: levle:")
        for p in found
    )
    assert any("ket-hon.yaml" in p and "level: Field required" in p for p in found)


def test_yaml_syntax_error_has_its_line(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "tam-tru.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "title: [unclosed")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = problems_of(kb_copy)
    assert len(found) == 1 and found[0].startswith("knowledge/procedures/tam-tru.yaml:")
    assert "YAML syntax" in found[0]


def test_duplicate_key_is_an_error(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "tam-tru.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\nfield: Hộ tịch\n", encoding="utf-8")
    found = problems_of(kb_copy)
    assert any("tam-tru.yaml" in p and "field: key is given twice" in p for p in found)


def test_duplicate_id_and_file_name_mismatch(kb_copy: Path) -> None:
    source = kb_copy / "procedures" / "tam-tru.yaml"
    (kb_copy / "procedures" / "tam-tru-copy.yaml").write_text(
        source.read_text(encoding="utf-8"), encoding="utf-8"
    )
    found = problems_of(kb_copy)
    assert any("tam-tru-copy.yaml" in p and "differs from the file name" in p for p in found)
    assert any("duplicate id 'tam-tru'" in p for p in found)


def test_alias_claimed_by_two_entries(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy)
    alias = kb.entries["khai-sinh"].aliases[0]
    path = kb_copy / "procedures" / "khai-tu.yaml"
    replace(path, "aliases:\n", f"aliases:\n  - {alias}\n")
    found = problems_of(kb_copy)
    assert any("khai-tu.yaml" in p and "also claimed by 'khai-sinh'" in p for p in found)


def test_related_must_exist(kb_copy: Path) -> None:
    path = kb_copy / "faq" / "tra-cuu-ho-so.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["related"] = ["khong-co-thu-tuc-nay"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    found = problems_of(kb_copy)
    assert any("tra-cuu-ho-so.yaml" in p and "related[0]: no entry 'khong-co-thu-tuc-nay'" in p
               for p in found)


def test_missing_source_and_bad_date(kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "tach-ho.yaml"
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("source:")
             and not ln.startswith("  - http") and not ln.startswith("- http")]
    lines = [("reviewed: 31/02/2026" if ln.startswith("reviewed:") else ln) for ln in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = problems_of(kb_copy)
    assert any("tach-ho.yaml" in p and "source: Field required" in p for p in found)
    assert any("tach-ho.yaml" in p and ": reviewed:" in p for p in found)


def test_stale_review_is_a_warning_not_an_error(kb_copy: Path) -> None:
    kb = load_knowledge(kb_copy, today=dt.date(2028, 1, 1))
    assert kb.warnings and all("more than 12 months ago" in str(w) for w in kb.warnings)
    assert load_knowledge(kb_copy).warnings == []


def test_missing_required_file(kb_copy: Path) -> None:
    (kb_copy / "survey.yaml").unlink()
    assert any("survey.yaml" in p and "required file is missing" in p
               for p in problems_of(kb_copy))
