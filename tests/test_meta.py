"""Meta-tests that keep data and docs honest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import LOCALES_DIR, Settings, env_names
from bot.conversation.i18n import LANGUAGES, I18n
from bot.conversation.render import TEMPLATES, Renderer
from bot.conversation.replies import MAX_ACTION_BYTES
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import SECTIONS, Procedure

ROOT = Path(__file__).resolve().parent.parent

PROCEDURES = """khai-sinh khai-tu ket-hon xac-nhan-hon-nhan trich-luc-ho-tich nhan-cha-me-con
cai-chinh-ho-tich lien-thong-khai-sinh lien-thong-khai-tu chung-thuc-ban-sao chung-thuc-chu-ky
ly-lich-tu-phap thuong-tru xoa-thuong-tru tach-ho tam-tru gia-han-tam-tru tam-vang xac-nhan-cu-tru
can-cuoc vneid ho-chieu doi-gplx cap-lai-gplx dang-ky-xe sang-ten-xe cap-so-do chuyen-nhuong-dat
cap-doi-so-do tach-thua giay-phep-xay-dung ho-kinh-doanh tam-ngung-hkd thanh-lap-doanh-nghiep
an-toan-thuc-pham tro-cap-that-nghiep cap-lai-bhxh tro-cap-xa-hoi mai-tang-phi
ban-sao-van-bang""".split()
FAQS = """muc-do-dvc tai-khoan-dvc quen-mat-khau nop-ho-so-truc-tuyen thanh-toan-truc-tuyen
tra-cuu-ho-so nhan-ket-qua-buu-chinh bo-sung-ho-so phan-anh-kien-nghi danh-gia-hai-long
gio-lam-viec ban-sao-dien-tu""".split()


def test_every_required_entry_exists_with_the_right_kind(kb: KnowledgeBase) -> None:
    assert len(PROCEDURES) == 40 and len(FAQS) == 12
    for entry_id in PROCEDURES:
        assert isinstance(kb.entries.get(entry_id), Procedure), entry_id
    for entry_id in FAQS:
        assert kb.entries[entry_id].kind == "faq", entry_id


def test_every_entry_has_source_and_reviewed_and_aliases(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        assert entry.sources and entry.reviewed, entry.id
        assert 5 <= len(entry.aliases) <= 15, entry.id
    for office in kb.offices:
        assert office.source and office.reviewed, office.id


def test_no_district_offices(kb: KnowledgeBase) -> None:
    """Since 1 July 2025 there are no districts: nobody is sent to a 'UBND huyện'."""
    for entry in kb.procedures:
        assert "huyện" not in entry.agency.lower(), entry.id
    for office in kb.offices:
        assert "huyện" not in office.name.lower(), office.id


def test_offices_cover_province_and_communes(kb: KnowledgeBase) -> None:
    levels = [o.level for o in kb.offices]
    assert "province" in levels and levels.count("commune") >= 6
    assert sum(1 for o in kb.offices if o.old_names) >= 6


def test_synonyms_cover_the_required_kinds(kb: KnowledgeBase) -> None:
    terms = {s.term.lower() for s in kb.synonyms}
    assert len(kb.synonyms) >= 80
    for term in ("cccd", "gplx", "sổ đỏ", "nhập khẩu", "ko", "dc", "onl", "đk"):
        assert term in terms, term
    assert any(s.ambiguous for s in kb.synonyms)


def test_both_locales_have_the_same_keys() -> None:
    i18n = I18n(LOCALES_DIR)
    assert i18n.keys("vi") == i18n.keys("en")
    assert all(i18n.catalogs[lang].values() for lang in LANGUAGES)


def test_every_key_used_in_code_and_templates_exists() -> None:
    i18n = I18n(LOCALES_DIR)
    used: set[str] = set()
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").rglob("*.py")]:
        used |= set(re.findall(r"""\.t\(\s*["']([a-z_]+\.[a-z_.-]+)["']""", path.read_text()))
    for path in TEMPLATES.glob("*.j2"):
        used |= set(re.findall(r"""_\(\s*'([a-z_]+\.[a-z_.-]+)'""", path.read_text()))
    keys = i18n.keys("vi")
    missing = {k for k in used if k not in keys and not (k.endswith(".") and any(
        known.startswith(k) for known in keys))}  # 'online.long.' ~ value: a family of keys
    assert used and not missing


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_renders_for_every_entry_and_section(kb: KnowledgeBase, lang: str) -> None:
    renderer = Renderer(I18n(LOCALES_DIR))
    ctx = {"contacts": kb.contacts}
    for entry in kb.entries.values():
        if isinstance(entry, Procedure):
            for section in (*SECTIONS, None):
                chosen = [section] if section else []
                text = renderer.render("procedure", lang, entry=entry, sections=chosen, **ctx)
                assert entry.agency in text
        else:
            assert renderer.render("faq", lang, entry=entry, **ctx)
    assert kb.contacts.national_hotline in renderer.render("decline", lang, **ctx)
    assert renderer.render("help", lang, **ctx)
    assert renderer.render("office", lang, offices=kb.offices, **ctx)
    assert renderer.render("clarify", lang, choices=[{"title": "A"}], **ctx)
    assert renderer.render("ambiguous", lang, term="đk", meanings=["a", "b"], **ctx)


def test_section_actions_fit_telegram_callback_data(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        for section in SECTIONS:
            assert len(f"p:{entry.id}:{section}".encode()) <= MAX_ACTION_BYTES
    for office in kb.offices:
        assert len(f"o:{office.id}".encode()) <= MAX_ACTION_BYTES


def test_readme_settings_table_matches_the_settings_class() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.M)
    assert table == env_names()
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_readme_quick_start_commands_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./dev run" in readme and "./dev test" in readme
    assert (ROOT / "dev").stat().st_mode & 0o111
