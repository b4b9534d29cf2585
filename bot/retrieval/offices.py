"""Finding one-stop offices by place name, including the names of communes merged in 2025.

Place names are read once per knowledge load (``PlaceIndex``), not per question.  A name is
matched on whole words of the folded message:
- with its level word ("xã Hải Lâm", "thị trấn Hồ Xá", "phường 5 ... Đông Hà"), always;
- bare ("hải lâm", "quán hàu"), when it has two or more syllables and is not the province's name;
- a one-syllable name ("Xy", "Húc", "Lìa") bare only when "cũ" follows it or the chat is already
  about places.
Overlapping matches keep the longest ("xã Thanh Trạch" is not also "xã Thanh").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.schema import Office
from bot.retrieval.text import fold, words

OFFICE_CUES = (
    "mot cua", "hanh chinh cong", "trung tam phuc vu", "bo phan tiep nhan", "tiep nhan ho so",
    "ubnd", "uy ban", "one stop", "office", "service centre", "service center",
)
# Words around a place name that only say where or which level ("giờ thuộc xã nào", "cũ").
PLACE_WORDS = ("gio thuoc", "thuoc", "sap nhap", "nhap vao", "ve dau", "len dau", "nay la",
               "gio la", "cu", "truoc day", "nha e o", "nha toi o", "que", "ben", "former",
               "which", "go to", "we live in", "i live in", "live in", "trung tam", "thu tuc",
               "giay to", "lam giay to", "nop ho so", "ho so", "lam", "nop", "len", "den")
LEVELS = ("thi tran", "dac khu", "thi xa", "thanh pho", "phuong", "xa", "huyen", "tp", "ward",
          "commune", "town")
_PREFIXES = ("trung tam phuc vu hanh chinh cong", "trung tam hanh chinh cong", "trung tam hcc",
             "mot cua", "ubnd")
_PARENS = re.compile(r"\((.*?)\)")


# Words that say a place is meant: "ở", "quê", "thuộc", "một cửa", "cũ", "live in" …
PLACE_CONTEXT = frozenset(
    """o tai ben nha que thuoc ve len den cu xa phuong tran khu huyen mot cua ubnd nhap sap
    gio la nay la truoc day in at live lives living from ward commune town former office""".split()
)
_DISTRICT = frozenset({"huyen", "ben", "quan"})  # 'bên Lệ Thủy', 'huyện Lệ Thủy': a qualifier


@dataclass(frozen=True)
class Key:
    words: tuple[str, ...]
    office: Office
    qualifier: tuple[str, ...] = ()  # words that must also be in the message ('dong ha')
    needs_context: bool = False  # a one-syllable bare name
    bare: bool = False  # without its level word: needs a word that says a place is meant
    former: bool = False  # a name from before the 2025 mergers
    accented: tuple[str, ...] = ()  # the name as written, to tell 'còn tiền' from 'Cồn Tiên'

    def spelled_otherwise(self, typed: tuple[str, ...]) -> bool:
        """Typed with diacritics that differ from the name's."""
        return bool(self.accented) and any(
            t != fold(t) and t != a for t, a in zip(typed, self.accented, strict=False))


@dataclass(frozen=True)
class Match:
    office: Office
    start: int
    end: int  # word span in the message, qualifier included
    former: bool = False

    @property
    def size(self) -> int:
        return self.end - self.start


def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in words(text))


def _strip_prefix(name: tuple[str, ...]) -> tuple[str, ...]:
    for prefix in _PREFIXES:
        p = tuple(prefix.split())
        if name[: len(p)] == p:
            return name[len(p):]
    return name


def _split_level(name: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    for level in LEVELS:
        lv = tuple(level.split())
        if name[: len(lv)] == lv:
            return lv, name[len(lv):]
    return (), name


class PlaceIndex:
    def __init__(self, offices: list[Office], province: str) -> None:
        self.offices = offices
        self.province = _folded_words(province)
        self.keys: dict[str, list[Key]] = {}
        for office in offices:
            former = set(office.old_names)
            for name in (office.name, *office.old_names, *office.aliases):
                for key in self._keys(office, name, name in former):
                    self.keys.setdefault(key.words[0], []).append(key)

    def _keys(self, office: Office, name: str, former: bool = False) -> list[Key]:
        qualifier = tuple(w for part in _PARENS.findall(name) for w in _folded_words(part))
        written = tuple(words(_PARENS.sub(" ", name)))
        plain = _strip_prefix(tuple(fold(w) for w in written))
        level, bare = _split_level(plain)
        if not bare:
            return []
        plain_acc = written[len(written) - len(plain):]
        bare_acc = plain_acc[len(level):]
        qualifier = tuple(w for w in qualifier if w not in {"thanh", "pho", "thi", "xa", "tinh"})
        out = [Key(plain, office, qualifier, former=former, accented=plain_acc)] if level else []
        if bare[0].isdigit():
            return out  # 'phường 5' only with its level and its town
        if qualifier and qualifier[:2] == ("co", "so"):
            out.append(Key(bare + qualifier, office, former=former))
            out.append(Key(qualifier, office, former=former))
        if bare != self.province:
            out.append(Key(bare, office, needs_context=len(bare) == 1, bare=True,
                           former=former, accented=bare_acc))
        return out

    def find(self, text: str, context: bool = False) -> list[Office]:
        """Offices whose place name the message names, best (longest) first."""
        typed = tuple(words(text))
        return [m.office for m in self.matches(tuple(fold(w) for w in typed), context, typed)]

    def matches(self, seq: tuple[str, ...], context: bool = False,
                typed: tuple[str, ...] = ()) -> list[Match]:
        found: list[Match] = []
        present = set(seq)
        placey = context or bool(present & PLACE_CONTEXT) or len(seq) <= 3
        for i, word in enumerate(seq):
            for key in self.keys.get(word, ()):
                n = len(key.words)
                if seq[i : i + n] != key.words or key.spelled_otherwise(typed[i : i + n]):
                    continue
                if key.qualifier and not set(key.qualifier) <= present:
                    continue
                if key.needs_context and not (context or seq[i + n : i + n + 1] == ("cu",)
                                              or len(seq) <= 3):
                    continue
                if key.bare and not placey:
                    continue  # 'còn tiền' is not Cồn Tiên unless a place is meant
                end = i + n
                if key.qualifier:
                    end = max(end, _last_index(seq, key.qualifier) + 1)
                found.append(Match(key.office, i, end, key.former))
        said_former = bool(present & {"cu", "former", "truoc"})
        found.sort(key=lambda m: (-m.size, m.former != said_former, m.start))
        kept: list[Match] = []
        for match in found:
            if any(match.start < k.end and k.start < match.end for k in kept):
                continue
            if all(k.office.id != match.office.id for k in kept):
                kept.append(match)
        if len(kept) > 1:  # 'xã Mỹ Thủy bên Lệ Thủy cũ': the district only says which one
            kept = [m for m in kept if m.start == 0 or seq[m.start - 1] not in _DISTRICT]
        return sorted(kept, key=lambda m: (-m.size, m.start))

    def without(self, text: str, offices: list[Office]) -> str:
        """The message with the named places taken out (for searching the procedure)."""
        typed = tuple(words(text))
        seq = tuple(fold(w) for w in typed)
        spans = [(m.start, m.end) for m in self.matches(seq, True, typed) if m.office in offices]
        drop = {i for a, b in spans for i in range(a, b)}
        for a, _ in spans:  # the level word before a bare name goes too
            if a > 0 and seq[a - 1] in {"xa", "phuong", "tran", "khu"}:
                drop.add(a - 1)
        return " ".join(w for i, w in enumerate(words(text)) if i not in drop)


def _last_index(seq: tuple[str, ...], wanted: tuple[str, ...]) -> int:
    return max(i for i, w in enumerate(seq) if w in wanted)


def has_cue(question: str, cues: tuple[str, ...]) -> bool:
    padded = f" {' '.join(fold(question).split())} "
    return any(f" {cue} " in padded for cue in cues)


def is_office_question(question: str) -> bool:
    return has_cue(question, OFFICE_CUES)
