"""What the words of a message say by themselves: its language, the sections asked for, its
question sentences, conversational acts, and words that point back at what was just said.

Pure functions over the text (folded: lower case, no diacritics); no state, no search.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.knowledge.schema import SECTIONS, Section
from bot.retrieval.lexicon import (
    ACT_PHRASES,
    ENGLISH_WORDS,
    FOLLOW_UP_WORDS,
    QUESTION_CUES,
    SECTION_CUES,
    VIETNAMESE_WORDS,
)
from bot.retrieval.offices import OFFICE_CUES, PLACE_WORDS
from bot.retrieval.text import fold, words

Spoken = Literal["person", "complaint", "help", "offtopic"]  # what a message can say anywhere
Small = Literal["thanks", "bye", "greeting"]  # what a message can be, and nothing else
QUESTION_WORDS = (*QUESTION_CUES, "khong", "ko", "k", "dc", "duoc", "phai", "sao", "nao",
                  "gi", "dau", "?")
LONG_LETTER_WORDS = 30  # longer messages are read for their question sentences
POINTING = ("xa do", "phuong do", "cho do", "o do", "noi do", "xa nay", "phuong nay", "ben do",
            "that office", "there", "that one", "dac khu do")
WHERE = ("o dau", "cho nao", "where", "dia chi")
DONE_ENDS = ("roi", "r", "xong", "already")  # '… rồi.': done (mid-sentence 'rồi' is 'then')
PARTICLES = ("a", "ah", "nhe", "nha", "ad", "oi")
OTHER_TOPIC = ("con", "the con", "vay con", "a con", "con nua", "what about", "how about", "and")


def folded_words(text: str) -> str:
    return " ".join(fold(w) for w in words(text))


def has_any(folded: str, phrases: tuple[str, ...] | frozenset[str]) -> bool:
    padded = f" {' '.join(folded.split())} "
    return any(f" {p} " in padded for p in phrases)


_SYLLABLE = re.compile(  # a Vietnamese syllable without its marks: onset, vowels, final
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?"
    r"(?:uye|uya|uyu|ieu|yeu|oai|oay|oeo|uoi|uou|uay|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|ua|ue"
    r"|ui|uo|uy|ya|ye|yu|a|e|i|o|u|y)"
    r"(?:ch|ng|nh|[cmnpt])?$"
)


def language(text: str, current: str, short_forms: frozenset[str] = frozenset()) -> str:
    """'en' for a message written in English, 'vi' for Vietnamese, else the chat's language.

    Marks say Vietnamese. Without them, English shows in its words (a list of common ones) and
    in words no Vietnamese syllable is spelt like ('want', 'talk', 'person'); the short forms
    citizens type ('ko', 'dc', 'cccd': ``short_forms``) do not count as English."""
    raw = words(text)
    if any(w != fold(w) for w in raw):
        return "vi"
    folded = [fold(w) for w in raw if not w.isdigit()]
    foreign = [w for w in folded if not _SYLLABLE.match(w) and w not in short_forms
               and w not in VIETNAMESE_WORDS]
    english = sum(w in ENGLISH_WORDS for w in folded) + sum(w not in ENGLISH_WORDS for w in foreign)
    vietnamese = sum(w in VIETNAMESE_WORDS for w in folded)
    if english >= 2 and english > 2 * vietnamese:
        return "en"
    if vietnamese >= 1 and vietnamese >= english:
        return "vi"
    return current


def sections_in(folded: str) -> tuple[Section, ...]:
    """Every section asked for, in the order the message asks them."""
    padded = f" {folded} "
    found: list[tuple[int, Section]] = []
    taken: list[tuple[int, int]] = []
    for cue, pattern, section in _CUES:
        if cue not in padded:
            continue
        for match in pattern.finditer(padded):
            span = (match.start(), match.end())
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            found.append((span[0], section))
    ordered: list[Section] = []
    for _, section in sorted(found):
        if section not in ordered:
            ordered.append(section)
    return tuple(s for s in ordered if s in SECTIONS)


_CUES = [(c, re.compile(rf"(?<= ){re.escape(c)}(?= )"), s) for c, s in sorted(
    ((c, s) for s, cs in SECTION_CUES.items() for c in cs), key=lambda p: -len(p[0]))]


def sentences(text: str) -> list[str]:
    """Sentences, and the clauses of a long sentence written without full stops."""
    parts = [s.strip() for s in re.split(r"(?<=[.?!;\n])\s+", text) if s.strip()]
    out: list[str] = []
    for part in parts:
        out += [c.strip() for c in part.split(",")] if len(part.split()) > 20 else [part]
    return [s for s in out if len(s.split()) >= 2]


def clauses(text: str) -> list[str]:
    """The comma- or sentence-separated parts of a message ('khai tử cần gì, nộp online được
    không')."""
    return [c.strip() for c in re.split(r"[,;.?!\n]+", text) if len(c.split()) >= 2]


def question_part(text: str) -> str:
    """A long letter's question: its sentences with a question cue (else its last two)."""
    if len(text.split()) <= LONG_LETTER_WORDS:
        return text
    parts = [s.strip() for s in re.split(r"(?<=[.?!;\n])\s+", text) if s.strip()]
    if len(parts) <= 1:
        return text
    asked = [s for s in parts if has_any(fold(s), QUESTION_CUES) or s.endswith("?")]
    chosen = asked[-2:] if asked else parts[-2:]
    return " ".join(chosen)


SPOKEN: tuple[Spoken, ...] = ("person", "complaint", "help", "offtopic")
SMALL: tuple[Small, ...] = ("thanks", "bye", "greeting")


def act_of(folded: str) -> Spoken | None:
    """person / complaint / help / offtopic, when the message says so anywhere."""
    return next((act for act in SPOKEN if has_any(folded, ACT_PHRASES[act])), None)


def smalltalk_only(folded: str) -> Small | None:
    """greeting / thanks / bye when the message is nothing else."""
    padded = f" {folded} "
    found: Small | None = None
    for act in SMALL:
        for phrase in sorted(ACT_PHRASES[act], key=len, reverse=True):
            if f" {phrase} " in padded:
                padded = padded.replace(f" {phrase} ", " ")
                found = found or act
    rest = [w for w in padded.split() if w not in FOLLOW_UP_WORDS]
    return found if found and not rest else None


def turns_to_other(folded: str) -> bool:
    """'còn …', 'thế còn …', 'what about …': the message opens on something other than what
    was just talked about."""
    padded = f"{' '.join(folded.split())} "
    return any(padded.startswith(f"{cue} ") for cue in OTHER_TOPIC)


def tells_done(folded: str) -> bool:
    """A sentence about what was done already: 'đã …' ('đã đăng ký hộ kinh doanh'; not a
    leading 'dạ', which is 'yes') or ending on 'rồi' / 'xong'."""
    said = folded.split()
    while said and said[-1] in PARTICLES:
        said.pop()
    return "da" in said[1:] or (bool(said) and said[-1] in DONE_ENDS)


def points_back(folded: str) -> bool:
    """'một cửa xã đó ở chỗ nào': the office just talked about."""
    return has_any(folded, POINTING) and has_any(folded, (*OFFICE_CUES, *WHERE))


def without_office_words(text: str) -> str:
    """Folded text without words that only say 'the one-stop office' or 'which place'."""
    padded = f" {folded_words(text)} "
    for cue in sorted((*OFFICE_CUES, *PLACE_WORDS), key=len, reverse=True):
        padded = padded.replace(f" {cue} ", " ")
    return padded.strip()


def without_office_cues(text: str) -> str:
    """The message without 'một cửa', 'UBND' … (for searching the procedure beside a place)."""
    padded = f" {folded_words(text)} "
    for cue in sorted(OFFICE_CUES, key=len, reverse=True):
        padded = padded.replace(f" {cue} ", " ")
    return padded.strip()
