from bot.knowledge.schema import Synonym
from bot.retrieval.text import Normaliser, clean, fold, words


def test_fold_strips_diacritics_and_d_bar() -> None:
    assert fold("Đăng ký KHAI SINH") == "dang ky khai sinh"
    assert fold("Giấy chứng nhận quyền sử dụng đất") == "giay chung nhan quyen su dung dat"


def test_fold_handles_decomposed_input() -> None:
    decomposed = "ti\u0301nh"  # 'tính' typed with a combining accent, as some phones send
    assert fold(decomposed) == "tinh"
    assert words(decomposed) == ["tính"]


def test_clean_removes_control_and_invisible_characters() -> None:
    assert clean("khai\x00 sinh\u200b\t\n  cần gì\x7f") == "khai sinh cần gì"


def test_clean_cuts_long_messages() -> None:
    assert len(clean("a" * 10_000, max_chars=2000)) == 2000


SYNONYMS = [
    Synonym(term="gt", means="giấy tờ", kind="abbreviation"),
    Synonym(term="j", means="gì", kind="teencode"),
    Synonym(term="sổ đỏ", means="giấy chứng nhận quyền sử dụng đất", kind="folk"),
    Synonym(term="đk", ambiguous=["đăng ký", "điều kiện"], kind="abbreviation"),
]


def test_teencode_is_replaced_and_abbreviations_are_kept_and_expanded() -> None:
    norm = Normaliser(SYNONYMS)("can gt j")
    assert norm.text == "can gt giấy tờ gì"


def test_multiword_folk_names_match_without_diacritics() -> None:
    norm = Normaliser(SYNONYMS)("lam so do lan dau")
    assert "giấy chứng nhận quyền sử dụng đất" in norm.text
    assert norm.typed_folded == "lam so do lan dau"


def test_ambiguous_forms_expand_to_every_meaning_and_are_reported() -> None:
    norm = Normaliser(SYNONYMS)("dk khai sinh")
    assert "đăng ký" in norm.text and "điều kiện" in norm.text
    assert [s.term for s in norm.ambiguous] == ["đk"]


def test_token_count_is_bounded() -> None:
    norm = Normaliser(SYNONYMS, max_tokens=64)(" ".join(["khai"] * 5000))
    assert len(norm.tokens) == 64
