"""Vietnamese text normalisation: clean, fold diacritics, tokenise, expand citizens' short forms."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.knowledge.schema import Synonym

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")
_REPLACE_KINDS = frozenset({"teencode", "dialect", "typo"})


def clean(text: str, max_chars: int = 2000) -> str:
    """NFC, no control or invisible characters, single spaces, at most ``max_chars`` characters."""
    text = unicodedata.normalize("NFC", text[: max_chars * 2])
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()[:max_chars]


def fold(text: str) -> str:
    """Lower-case and strip diacritics (đ→d), keeping the letters: 'Đăng ký' → 'dang ky'."""
    text = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=1 << 17)
def fold_word(word: str) -> str:
    """``fold`` for one word, remembered: the same few thousand syllables come back all the
    time, in titles and in questions."""
    return fold(word)


def words(text: str) -> list[str]:
    """Lower-case NFC words (letters and digits)."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


@dataclass(frozen=True)
class Token:
    text: str  # as typed (lower-case, NFC)
    folded: str  # without diacritics
    expanded: bool = False  # added by a synonym, not typed
    corrected: bool = False  # replaced by the closest known word (a typo)

    @property
    def accented(self) -> bool:
        return self.text != self.folded


@dataclass(frozen=True)
class Normalised:
    original: str
    tokens: tuple[Token, ...]
    ambiguous: tuple[Synonym, ...] = field(default=())

    @property
    def folded(self) -> str:
        return " ".join(t.folded for t in self.tokens)

    @property
    def typed_folded(self) -> str:
        return " ".join(t.folded for t in self.tokens if not t.expanded)

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)


class Normaliser:
    """Applies ``synonyms.yaml``: longest match first, on folded word sequences."""

    def __init__(self, synonyms: Iterable[Synonym] = (), max_tokens: int = 64) -> None:
        self._table: dict[tuple[str, ...], Synonym] = {}
        for syn in synonyms:
            key = tuple(fold(w) for w in words(syn.term))
            if key:
                self._table[key] = syn
        self._longest = max((len(k) for k in self._table), default=0)
        self._first = frozenset(k[0] for k in self._table)  # most words start no term
        self.max_tokens = max_tokens

    def __call__(self, text: str) -> Normalised:
        head = words(text[: self.max_tokens * 24])[: self.max_tokens]
        typed = [Token(w, fold_word(w)) for w in head]
        out: list[Token] = []
        ambiguous: list[Synonym] = []
        i = 0
        while i < len(typed):
            syn, n = self._match(typed, i)
            if syn is None:
                out.append(typed[i])
                i += 1
                continue
            if syn.kind not in _REPLACE_KINDS or syn.ambiguous:
                out.extend(typed[i : i + n])
            if syn.ambiguous:
                ambiguous.append(syn)
            for meaning in syn.ambiguous or [syn.means or ""]:
                out.extend(Token(w, fold(w), expanded=True) for w in words(meaning))
            i += n
        return Normalised(text, tuple(out), tuple(ambiguous))

    def plain(self, text: str) -> str:
        """The message folded, with teencode, typos and dialect replaced ('lm' → làm) but no
        meanings added: the words the citizen meant, as typed."""
        typed = [Token(w, fold_word(w)) for w in words(text[: self.max_tokens * 24])]
        out: list[str] = []
        i = 0
        while i < len(typed):
            syn, n = self._match(typed, i)
            if syn is None or syn.kind not in _REPLACE_KINDS or syn.ambiguous:
                out.append(typed[i].folded)
                i += 1
                continue
            out += [fold_word(w) for w in words(syn.means or "")]
            i += n
        return " ".join(out)

    def _match(self, tokens: Sequence[Token], start: int) -> tuple[Synonym | None, int]:
        if tokens[start].folded not in self._first:
            return None, 0
        for n in range(min(self._longest, len(tokens) - start), 0, -1):
            key = tuple(t.folded for t in tokens[start : start + n])
            syn = self._table.get(key)
            if syn is not None:
                return syn, n
        return None, 0
