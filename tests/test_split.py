"""The shared text splitter (bot/channels/split.py): limits, where it cuts, nothing lost."""

from __future__ import annotations

import random

import pytest

from bot.channels import split
from bot.channels.split import split_text, utf16_units
from bot.channels.telegram import render as telegram
from bot.channels.zalo import render as zalo
from bot.conversation.replies import Reply

WORDS = ["thủ", "tục", "hành", "chính", "<hồ>", "sơ", "&", "😊", "giấy", "x" * 40, "Đoạn"]
ENDS = [" ", " ", " ", " ", ". ", "? ", "\n", "\n\n"]


def sample(rng: random.Random, words: int) -> str:
    """A text like a rendered reply: paragraphs, lines, sentences, emoji, HTML specials."""
    return "".join(rng.choice(WORDS) + rng.choice(ENDS) for _ in range(words)).strip()


def gaps(text: str, pieces: list[str]) -> list[str]:
    """What the text had between consecutive pieces; fails if a piece is not the text as given."""
    found: list[str] = []
    pos = 0
    for index, piece in enumerate(pieces):
        start = text.find(piece, pos)
        assert start >= 0, f"piece {index} is not in the text: {piece!r}"
        if index:
            found.append(text[pos:start])
        else:
            assert not text[:start].strip()
        pos = start + len(piece)
    assert not text[pos:].strip()
    return found


def assert_nothing_lost(text: str, pieces: list[str]) -> None:
    between = gaps(text, pieces)
    assert all(gap in ("\n\n", "\n", " ", "") for gap in between), between
    # joining the pieces with the separators cut at gives the text back
    rebuilt = pieces[0] + "".join(gap + piece for gap, piece in zip(between, pieces[1:],
                                                                     strict=True))
    assert rebuilt == text


@pytest.mark.parametrize("seed", range(8))
def test_limits_are_respected_and_nothing_is_lost(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        text = sample(rng, rng.randint(1, 200))
        limit = rng.randint(12, 600)
        for measure in (utf16_units, telegram.size):
            pieces = split_text(text, limit, measure)
            assert pieces and all(measure(piece) <= limit for piece in pieces)
            assert all(piece.strip() for piece in pieces)
            assert_nothing_lost(text, pieces)


@pytest.mark.parametrize("seed", range(4))
def test_a_smaller_first_piece(seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(40):
        text = sample(rng, rng.randint(20, 200))
        limit = rng.randint(40, 400)
        first = rng.randint(12, limit)
        pieces = split_text(text, limit, telegram.size, first_limit=first)
        assert telegram.size(pieces[0]) <= first
        assert all(telegram.size(piece) <= limit for piece in pieces[1:])
        assert_nothing_lost(text, pieces)


def test_cuts_at_the_coarsest_break_that_works() -> None:
    paragraphs = ["a" * 30, "b" * 30, "c" * 30]
    assert split_text("\n\n".join(paragraphs), 70) == ["a" * 30 + "\n\n" + "b" * 30, "c" * 30]
    lines = "\n".join(["l" * 30] * 3)
    assert split_text(f"short\n\n{lines}", 65) == ["short", "l" * 30 + "\n" + "l" * 30, "l" * 30]
    sentences = "Một hai ba bốn. Năm sáu bảy tám. Chín mười."
    assert split_text(sentences, 35) == ["Một hai ba bốn. Năm sáu bảy tám.", "Chín mười."]
    assert split_text("một hai ba bốn năm", 10) == ["một hai ba", "bốn năm"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_blank_paragraphs_go_and_no_piece_is_blank() -> None:
    assert split_text("a\n\n   \n\nb", 100) == ["a\n\nb"]
    assert split_text(" \n\n \n\n", 100) == []
    assert split_text("a" * 10 + "\n" + " " * 30 + "\n" + "b" * 10, 12) == ["a" * 10, "b" * 10]


def test_emoji_count_as_two_utf16_units() -> None:
    assert utf16_units("😊") == 2 and telegram.size("😊") == 2 and zalo.units("😊") == 2
    assert telegram.size("<&>") == len("&lt;&amp;&gt;")
    pieces = split_text("😊" * 3000, telegram.LIMIT, telegram.size)
    assert [telegram.size(piece) for piece in pieces] == [4096, 1904]
    assert "".join(pieces) == "😊" * 3000  # never half an emoji
    assert split.fitting("a😊b", 2) == 1 and split.fitting("a😊b", 3) == 2


def test_telegram_parts_fit_in_utf16_units() -> None:
    text = "\n\n".join(f"Đoạn {i} 😊 <b>&</b> " + "thủ tục 😊 " * 200 for i in range(6))
    parts = telegram.render(Reply(text, title="Hướng dẫn 😊"))
    assert len(parts) > 1
    assert all(utf16_units(part.html) <= telegram.LIMIT for part in parts)
    assert parts[0].html.startswith("<b>Hướng dẫn 😊</b>\n\n")


def test_channel_wrappers_use_the_shared_splitter() -> None:
    text = "\n\n".join(f"Đoạn {i}: " + "hồ sơ <giấy> & 😊 " * 30 for i in range(10))
    assert telegram.split(text, 500) == split_text(text, 500, telegram.size)
    chunks = split_text(text, zalo.TEXT_LIMIT)
    assert len(chunks) > 1 and zalo.split_text(f"  {text}  ") == [c.strip() for c in chunks]
    assert zalo.clip("😊" * 60, 100) == "😊" * 49 + "…"


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_text("text", 0)
    with pytest.raises(ValueError, match="positive"):
        split_text("text", 10, first_limit=0)
