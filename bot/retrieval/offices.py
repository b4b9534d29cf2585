"""Finding one-stop offices by place name, including the names of communes merged in 2025."""

from __future__ import annotations

import re

from bot.knowledge.schema import Office
from bot.retrieval.text import fold

OFFICE_CUES = (
    "mot cua", "hanh chinh cong", "trung tam phuc vu", "bo phan tiep nhan", "tiep nhan ho so",
    "ubnd", "uy ban", "one stop", "office", "service centre", "service center",
)
WHERE_OR_HOURS = (
    "o dau", "dia chi", "cho nao", "may gio", "gio lam viec", "mo cua", "dong cua", "thu 7",
    "thu bay", "chu nhat", "so dien thoai", "sdt", "where", "hours", "address", "phone",
)
GENERIC = re.compile(
    r"\b(trung tam phuc vu hanh chinh cong|trung tam|phuc vu|hanh chinh cong|cap xa|cap tinh|"
    r"phuong|xa|thi tran|dac khu|tinh|thanh pho|tp|thi xa|huyen|quan|mot cua|bo phan|ubnd|cu)\b"
)


def _key(name: str) -> str:
    return " ".join(GENERIC.sub(" ", fold(name)).split())


_PARENS = re.compile(r"\(.*?\)")


def _keys_of(name: str) -> set[str]:
    """'phường Hải Thành' → {'hai thanh'}; a one-syllable name keeps its level: 'xa thanh'."""
    plain = _PARENS.sub(" ", name)
    key = _key(plain)
    if len(key.split()) == 1:
        return {" ".join(fold(plain).split())}
    return {key}


def place_keys(office: Office) -> set[str]:
    keys: set[str] = set()
    for name in (office.name, *office.old_names, *office.aliases):
        keys |= _keys_of(name)
    return {k for k in keys if len(k) >= 3}


def find_offices(offices: list[Office], question: str) -> list[Office]:
    """Offices whose place name (current or former) appears in the question, best first.

    A name inside a longer name that also matched does not count ('thanh' in 'hai thanh').
    """
    padded = f" {' '.join(fold(question).split())} "
    hits = [(k, o) for o in offices for k in place_keys(o) if f" {k} " in padded]
    longest: dict[str, tuple[int, Office]] = {}
    for key, office in hits:
        if any(key != other and f" {key} " in f" {other} " for other, _ in hits):
            continue
        best = longest.get(office.id)
        if best is None or len(key) > best[0]:
            longest[office.id] = (len(key), office)
    return [office for _, office in sorted(longest.values(), key=lambda pair: -pair[0])]


def has_cue(question: str, cues: tuple[str, ...]) -> bool:
    padded = f" {' '.join(fold(question).split())} "
    return any(f" {cue} " in padded for cue in cues)


def is_office_question(question: str) -> bool:
    return has_cue(question, OFFICE_CUES)
