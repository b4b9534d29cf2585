"""Finding one-stop offices by place name, including the names of communes merged in 2025."""

from __future__ import annotations

import re

from bot.knowledge.schema import Office
from bot.text import fold

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


def place_keys(office: Office) -> set[str]:
    keys = {_key(n) for n in (office.name, *office.old_names, *office.aliases)}
    return {k for k in keys if len(k) >= 3}


def find_offices(offices: list[Office], question: str) -> list[Office]:
    """Offices whose place name (current or former) appears in the question, best first."""
    padded = f" {' '.join(fold(question).split())} "
    found: list[tuple[int, Office]] = []
    for office in offices:
        hits = [k for k in place_keys(office) if f" {k} " in padded]
        if hits:
            found.append((max(len(k) for k in hits), office))
    found.sort(key=lambda pair: -pair[0])
    return [office for _, office in found]


def has_cue(question: str, cues: tuple[str, ...]) -> bool:
    padded = f" {' '.join(fold(question).split())} "
    return any(f" {cue} " in padded for cue in cues)


def is_office_question(question: str) -> bool:
    return has_cue(question, OFFICE_CUES)
