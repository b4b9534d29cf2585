"""What the bot could not answer: `dvcbot kb gaps` for staff and /gaps for officials."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.config import Settings
from bot.conversation.dialog import Dialog
from bot.knowledge.loader import KnowledgeBase, load_knowledge
from bot.reports.gaps import (
    NO_ENTRY,
    Question,
    analyse,
    format_analysis,
    group,
    logged_gaps,
    missed_place,
    suggest_alias,
)
from bot.retrieval.offices import PlaceIndex
from bot.store.store import Store
from tests.conftest import Chat


def cand(entry_id: str, confidence: float) -> dict[str, Any]:
    return {"entry_id": entry_id, "title": entry_id, "score": confidence,
            "confidence": confidence, "bm25": 10.0}


SEED = [  # text, decision, candidates
    ("cho em hỏi khai sinh cho bé sinh đôi cần giấy tờ gì ạ", "decline", [cand("khai-sinh", 0.4)]),
    ("khai sinh cho bé sinh đôi ở đâu", "clarify",
     [cand("khai-sinh", 0.5), cand("lien-thong-khai-sinh", 0.48)]),
    ("cho em hỏi làm giấy khai sinh ạ", "answer", [cand("khai-sinh", 0.52)]),
    ("đăng ký khai sinh", "answer", [cand("khai-sinh", 0.97)]),  # answered well: not a gap
    ("???", "empty", []),  # nothing asked: not a gap
    ("giá vàng hôm nay bao nhiêu", "decline", []),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    seeded = Store(tmp_path / "data" / "dvcbot.sqlite3")
    for text, decision, candidates in SEED:
        seeded.log_question("u1", "console", text, decision, candidates, None)
    yield seeded
    seeded.close()


def test_gaps_are_declines_clarifications_and_unsure_answers(store: Store,
                                                             kb: KnowledgeBase) -> None:
    questions = logged_gaps(store.db, None)
    assert sorted(q.text for q in questions) == sorted(
        [SEED[0][0], SEED[1][0], SEED[2][0], SEED[5][0]]
    )
    gaps = group(questions, kb)
    assert [g.entry_id for g in gaps] == ["khai-sinh", "(none)"]
    khai_sinh = gaps[0]
    assert khai_sinh.title == "Đăng ký khai sinh"
    assert dict(khai_sinh.counts) == {"decline": 1, "clarify": 1, "low": 1}


def test_suggested_aliases_are_the_need_without_filler_and_not_taken(
    store: Store, kb: KnowledgeBase
) -> None:
    khai_sinh = group(logged_gaps(store.db, None), kb)[0]
    # both sinh-đôi questions give one alias; "làm giấy khai sinh" is khai-sinh's alias already
    assert khai_sinh.suggestions == [("khai sinh cho bé sinh đôi", 2)]


@pytest.mark.parametrize(("question", "alias"), [
    ("ad ơi đổi bằng lái xe máy mất bao lâu", "đổi bằng lái xe máy"),
    ("thủ tục nhập hộ khẩu cho vợ ở đâu vậy", "nhập hộ khẩu cho vợ"),
    ("lam cccd cho con 14 tuoi o dau", "lam cccd cho con 14 tuoi"),
    ("còn lệ phí thì sao", None),
    ("xin chào", None),
])
def test_alias_from_a_question(question: str, alias: str | None) -> None:
    assert suggest_alias(question) == alias


def test_old_questions_are_outside_the_window(store: Store) -> None:
    store.db.execute("UPDATE questions SET ts = '2020-01-01T00:00:00+00:00' WHERE id = 1")
    texts = [q.text for q in logged_gaps(store.db, "2025-01-01")]
    assert SEED[0][0] not in texts and SEED[1][0] in texts


def test_cli_prints_aliases_ready_to_paste_into_the_yaml(
    store: Store, tmp_path: Path, kb_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kb_copy))
    result = CliRunner().invoke(main, ["kb", "gaps", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("4 questions not answered well")
    block = result.output.split("\nkhai-sinh — Đăng ký khai sinh", 1)[1].split("\n\n", 1)[0]
    assert "3 questions: 1 asked which one, 1 declined, 1 answered, low confidence" in block
    pasted = [line for line in block.splitlines() if re.match(r"^  - .+  # asked \d+×$", line)]
    assert pasted == ["  - khai sinh cho bé sinh đôi  # asked 2×"]
    path = kb_copy / "procedures" / "khai-sinh.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("aliases:\n", "aliases:\n" + "\n".join(pasted) + "\n", 1),
                    encoding="utf-8")
    assert "khai sinh cho bé sinh đôi" in load_knowledge(kb_copy).entries["khai-sinh"].aliases


def test_cli_without_a_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(main, ["kb", "gaps", "--lang", "en"])
    assert result.exit_code == 0
    assert "no questions logged yet" in result.output
    assert not (tmp_path / "empty" / "dvcbot.sqlite3").exists()


async def test_officials_see_gaps_in_the_admin_chat(dialog: Dialog) -> None:
    official = Chat(dialog, user="7", admin=True)
    [empty] = await official.say("/gaps")
    assert "Không có câu hỏi nào" in empty.text
    citizen = Chat(dialog, user="8")
    await citizen.say("giá vàng hôm nay bao nhiêu")
    await citizen.say("cho xin số điện thoại người yêu cũ")
    [reply] = await official.say("/gaps")
    assert reply.kind == "admin"
    assert "Câu hỏi chưa trả lời tốt (30 ngày qua): 2" in reply.text
    assert "dvcbot kb gaps" in reply.text


async def test_citizens_cannot_see_gaps(dialog: Dialog) -> None:
    citizen = Chat(dialog, user="9")
    await citizen.say("giá vàng hôm nay bao nhiêu")
    [reply] = await citizen.say("/gaps")
    assert "giá vàng" not in reply.text and "Câu hỏi chưa trả lời tốt" not in reply.text


# -- only aliases that belong ------------------------------------------------------------------


def question(qid: int, text: str, decision: str = "decline",
             candidates: tuple[dict[str, Any], ...] = (), user: str = "u1",
             ts: str = "2026-12-01T08:00:00+00:00") -> Question:
    return Question(qid, ts, text, decision, candidates[0]["confidence"] if candidates else None,
                    candidates, user)


def test_off_topic_questions_are_a_group_never_an_alias(kb: KnowledgeBase) -> None:
    asked = [
        question(1, "giá vàng hôm nay bao nhiêu", candidates=(cand("thanh-toan-truc-tuyen", 0.3),)),
        question(2, "tối nay bóng đá mấy giờ"),
        question(3, "thoi tiet ngay mai the nao", "answer", (cand("khai-sinh", 0.4),)),
        question(4, "cho em hỏi khai sinh cho bé sinh đôi cần giấy tờ gì ạ",
                 candidates=(cand("khai-sinh", 0.4),)),
    ]
    analysis = analyse(asked, kb)
    assert [q.id for q in analysis.offtopic] == [1, 2, 3]
    suggested = [a for g in analysis.gaps for a, _ in g.suggestions]
    assert suggested == ["khai sinh cho bé sinh đôi"]
    assert analysis.total == 4
    # even grouped by nearest entry alone, an off-topic question is never a suggestion
    assert all(not g.suggestions or g.entry_id == "khai-sinh" for g in group(asked, kb))


def test_a_missed_place_is_an_old_name_for_the_office_spelt_like_it(kb: KnowledgeBase) -> None:
    asked = [question(1, "nhà em ở xã Quảng Chou cũ, giờ nộp hồ sơ ở đâu",
                      candidates=(cand("nop-ho-so-truc-tuyen", 0.35),))]
    analysis = analyse(asked, kb)
    [place] = analysis.places
    assert place.name == "Quảng Chou" and place.how == "spelling"
    assert place.office is not None and "xã Quảng Châu" in place.office.old_names
    assert all(not g.suggestions for g in analysis.gaps)  # not an alias of any entry


def test_a_missed_place_goes_to_the_office_the_citizen_was_shown_next(
    kb: KnowledgeBase
) -> None:
    office = kb.offices[5]
    asked = [question(1, "mot cua xa Mây Ngàn cu o dau", user="u7",
                      ts="2026-12-01T08:00:00+00:00")]
    shown = [("u8", "2026-12-01T08:01:00+00:00", kb.offices[3].id),  # someone else
             ("u7", "2026-12-01T08:02:00+00:00", office.id),
             ("u7", "2026-12-01T09:30:00+00:00", kb.offices[4].id)]  # too late to say
    [place] = analyse(asked, kb, shown).places
    assert (place.name, place.office, place.how) == ("Mây Ngàn", office, "shown")
    [unknown] = analyse(asked, kb, []).places
    assert unknown.office is None


def test_words_that_only_look_like_places_are_not(kb: KnowledgeBase) -> None:
    for text in ("đóng bảo hiểm xã hội ở đâu", "phương án nào nhanh hơn",
                 "xã Quảng Châu cũ giờ thuộc xã nào"):
        assert missed_place(text, PlaceIndex(kb.offices, kb.contacts.province_name)) is None


def test_questions_no_entry_comes_near_are_ideas_for_new_entries(kb: KnowledgeBase) -> None:
    asked = [
        question(1, "đăng ký nghĩa vụ quân sự ở đâu", candidates=(cand("ket-hon", 0.3),)),
        question(2, "cho hỏi đăng ký nghĩa vụ quân sự", candidates=(cand("ket-hon", 0.32),)),
        question(3, "xin giấy phép karaoke"),
    ]
    analysis = analyse(asked, kb)
    ket_hon = next(g for g in analysis.gaps if g.entry_id == "ket-hon")
    assert ket_hon.suggestions == []  # 'đăng ký' alone does not make it kết hôn's
    ideas = next(g for g in analysis.gaps if g.entry_id == NO_ENTRY)
    assert dict(ideas.suggestions) == {"đăng ký nghĩa vụ quân sự": 2, "giấy phép karaoke": 1}
    text = "\n".join(format_analysis(analysis, 3))
    assert "ideas for new entries" in text


def test_cli_shows_places_and_off_topic_apart(store: Store, tmp_path: Path, kb_copy: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store.log_question("u2", "console", "nha e o xa Quang Chou cu gio nop ho so o dau",
                       "decline", [], None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kb_copy))
    result = CliRunner().invoke(main, ["kb", "gaps", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("5 questions not answered well")
    places = result.output.split("place names not recognised", 1)[1]
    assert "  - Quang Chou  # asked 1×" in places and "pvhcc-xa-hoa-trach" in places
    offtopic = result.output.split("\noff-topic — 1 questions", 1)[1]
    assert "giá vàng hôm nay bao nhiêu" in offtopic
    assert "- giá vàng" not in result.output


async def test_officials_see_off_topic_apart_in_the_admin_chat(dialog: Dialog) -> None:
    citizen = Chat(dialog, user="10")
    await citizen.say("giá vàng hôm nay bao nhiêu")
    [reply] = await Chat(dialog, user="11", admin=True).say("/gaps")
    assert "Ngoài phạm vi" in reply.text and "hôm nay" not in reply.text


def test_gaps_listing_speaks_vietnamese_by_default(dialog: Dialog, settings: Settings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PSEUDONYM_KEY", "test-key-123456")
    result = CliRunner().invoke(main, ["kb", "gaps"])
    assert result.exit_code == 0 and "câu hỏi chưa được trả lời tốt" in result.output
