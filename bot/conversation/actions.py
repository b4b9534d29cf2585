"""Every button action as a typed value, and the one place that packs and parses action strings.

A button carries one of the dataclasses below.  Channels turn it into the short string a platform
stores with the button (Telegram's ``callback_data`` holds at most 64 bytes) with :func:`pack`,
and turn a pressed button's string back into the value with :func:`parse`.  A string that does
not parse (an old, forged or garbled button) gives ``None``: the dialog treats it as stale.

=============  =====================================  ============================================
prefix         value                                  meaning
=============  =====================================  ============================================
``p``          ``ShowEntry(entry_id, section)``        an entry, or one section of a procedure
``m``          ``Browse(by, key)``                     the menu: by field (``f``) or life event
``o``          ``ShowOffice(office_id)``               one one-stop office
``r``          ``Rate(answer_id, value)``              a rating of an answer
``rr``         ``Reason(answer_id, reason)``           the reason given with a low rating
``l``          ``SetLanguage(lang)``                   the language of the conversation
``n``          ``NoneOfThese(question_id)``            none of the offered entries was meant
``am``         ``Meaning(question_id, choice)``        which meaning of an ambiguous short form
``h``          ``AskPerson(question_id)``              hand over to a person
``tt``         ``TakeTicket(ticket_id)``               staff: take a hand-over ticket
``tc``         ``CloseTicket(ticket_id)``              staff: close a hand-over ticket
=============  =====================================  ============================================

A string that does not parse becomes ``Stale(kind)``: handled as an expired button, never as an
error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal, get_args

from bot.knowledge.schema import SECTIONS, Section

MAX_ACTION_BYTES = 64  # Telegram's callback_data limit, in UTF-8 bytes
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MAX_INT = 2**53  # a larger number in a button is not one of ours


class ActionTooLong(ValueError):
    pass


def _int(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        return None
    value = int(text)
    return value if value < _MAX_INT else None


def _slug(text: str) -> str | None:
    return text if len(text) <= 48 and _SLUG.match(text) else None


@dataclass(frozen=True)
class ShowEntry:
    prefix: ClassVar[str] = "p"
    entry_id: str
    section: Section | None = None

    def fields(self) -> tuple[str, ...]:
        return (self.entry_id, self.section) if self.section else (self.entry_id,)

    @classmethod
    def from_fields(cls, parts: list[str]) -> ShowEntry | None:
        entry_id = _slug(parts[0]) if parts else None
        if entry_id is None or len(parts) > 2:
            return None
        section = next((s for s in SECTIONS if len(parts) == 2 and parts[1] == s), None)
        if len(parts) == 2 and section is None:
            return None
        return cls(entry_id, section)


BrowseBy = Literal["", "f", "e"]


@dataclass(frozen=True)
class Browse:
    prefix: ClassVar[str] = "m"
    by: BrowseBy = ""
    key: str | None = None  # the field's index or the life event

    def fields(self) -> tuple[str, ...]:
        return tuple(x for x in (self.by, self.key) if x)

    @classmethod
    def from_fields(cls, parts: list[str]) -> Browse | None:
        if not parts:
            return cls()
        by = parts[0]
        if by not in get_args(BrowseBy) or not by or len(parts) > 2:
            return None
        key = parts[1] if len(parts) == 2 else None
        if key is not None and _slug(key) is None:
            return None
        return cls(by, key)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ShowOffice:
    prefix: ClassVar[str] = "o"
    office_id: str

    def fields(self) -> tuple[str, ...]:
        return (self.office_id,)

    @classmethod
    def from_fields(cls, parts: list[str]) -> ShowOffice | None:
        office_id = _slug(parts[0]) if len(parts) == 1 else None
        return cls(office_id) if office_id else None


@dataclass(frozen=True)
class Rate:
    prefix: ClassVar[str] = "r"
    answer_id: int
    value: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.answer_id), str(self.value))

    @classmethod
    def from_fields(cls, parts: list[str]) -> Rate | None:
        if len(parts) != 2:
            return None
        answer_id, value = _int(parts[0]), _int(parts[1])
        return cls(answer_id, value) if answer_id is not None and value is not None else None


@dataclass(frozen=True)
class Reason:
    prefix: ClassVar[str] = "rr"
    answer_id: int
    reason: str

    def fields(self) -> tuple[str, ...]:
        return (str(self.answer_id), self.reason)

    @classmethod
    def from_fields(cls, parts: list[str]) -> Reason | None:
        if len(parts) != 2:
            return None
        answer_id, reason = _int(parts[0]), _slug(parts[1])
        return cls(answer_id, reason) if answer_id is not None and reason else None


@dataclass(frozen=True)
class SetLanguage:
    prefix: ClassVar[str] = "l"
    lang: str

    def fields(self) -> tuple[str, ...]:
        return (self.lang,)

    @classmethod
    def from_fields(cls, parts: list[str]) -> SetLanguage | None:
        ok = len(parts) == 1 and len(parts[0]) == 2 and parts[0].isascii() and parts[0].isalpha()
        return cls(parts[0]) if ok else None


@dataclass(frozen=True)
class NoneOfThese:
    prefix: ClassVar[str] = "n"
    question_id: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.question_id),)

    @classmethod
    def from_fields(cls, parts: list[str]) -> NoneOfThese | None:
        question_id = _int(parts[0]) if len(parts) == 1 else None
        return cls(question_id) if question_id is not None else None


@dataclass(frozen=True)
class Meaning:
    prefix: ClassVar[str] = "am"
    question_id: int
    choice: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.question_id), str(self.choice))

    @classmethod
    def from_fields(cls, parts: list[str]) -> Meaning | None:
        if len(parts) != 2:
            return None
        question_id, choice = _int(parts[0]), _int(parts[1])
        ok = question_id is not None and choice is not None
        return cls(question_id, choice) if ok else None  # type: ignore[arg-type]


@dataclass(frozen=True)
class AskPerson:
    prefix: ClassVar[str] = "h"
    question_id: int = 0

    def fields(self) -> tuple[str, ...]:
        return (str(self.question_id),)

    @classmethod
    def from_fields(cls, parts: list[str]) -> AskPerson | None:
        question_id = _int(parts[0]) if len(parts) == 1 else None
        return cls(question_id) if question_id is not None else None


@dataclass(frozen=True)
class TakeTicket:
    """A staff member takes a hand-over ticket (a button under the ticket in the staff group)."""

    prefix: ClassVar[str] = "tt"
    ticket_id: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.ticket_id),)

    @classmethod
    def from_fields(cls, parts: list[str]) -> TakeTicket | None:
        ticket_id = _int(parts[0]) if len(parts) == 1 else None
        return cls(ticket_id) if ticket_id is not None else None


@dataclass(frozen=True)
class CloseTicket:
    """A staff member closes a hand-over ticket."""

    prefix: ClassVar[str] = "tc"
    ticket_id: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.ticket_id),)

    @classmethod
    def from_fields(cls, parts: list[str]) -> CloseTicket | None:
        ticket_id = _int(parts[0]) if len(parts) == 1 else None
        return cls(ticket_id) if ticket_id is not None else None


Action = (
    ShowEntry | Browse | ShowOffice | Rate | Reason | SetLanguage | NoneOfThese | Meaning
    | AskPerson | TakeTicket | CloseTicket
)
_KINDS: dict[str, type[Action]] = {
    kind.prefix: kind
    for kind in (
        ShowEntry, Browse, ShowOffice, Rate, Reason, SetLanguage, NoneOfThese, Meaning, AskPerson,
        TakeTicket, CloseTicket,
    )
}


@dataclass(frozen=True)
class Stale:
    """A pressed button string that is not (or no longer) one of ours; ``kind`` is its prefix
    when that prefix is known, so that the handler of that kind can say what expired."""

    kind: str = ""


Pressed = Action | Stale


def pack(action: Action) -> str:
    """The action as a string of at most 64 bytes: ``prefix:field:field``."""
    text = ":".join((action.prefix, *action.fields()))
    if len(text.encode("utf-8")) > MAX_ACTION_BYTES:
        raise ActionTooLong(f"action {text!r} is over {MAX_ACTION_BYTES} bytes")
    return text


def parse(text: str | None) -> Pressed | None:
    """The action a pressed button's string stands for; ``Stale`` for a string that is not one
    of ours (old, forged or garbled); ``None`` when nothing was pressed."""
    if text is None:
        return None
    if not text or len(text) > MAX_ACTION_BYTES * 2 or not text.isascii():
        return Stale()
    prefix, *parts = text.split(":")
    kind = _KINDS.get(prefix)
    action = kind.from_fields(parts) if kind else None
    return action if action is not None else Stale(prefix if kind else "")
