"""Typed schema of the knowledge base: what staff write in ``knowledge/``.

Every file is validated against these models; the loader maps validation errors back to
``file:line: field: message``.  Keep the models strict (``extra="forbid"``) so that a
misspelt key is reported instead of silently ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator
from pydantic_core import PydanticCustomError

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
CODE = r"^\d\.\d{6}(\.\d+)?$"
PHONE = r"^[0-9 .+()-]{5,20}$"
HOTLINE = r"^[0-9 .+()-]{3,20}$"
Slug = Annotated[str, Field(pattern=SLUG, max_length=48)]
Text = Annotated[str, Field(min_length=1)]
Level = Literal["province", "commune", "ministry"]
Online = Literal["toan-trinh", "mot-phan", "none"]
Section = Literal["documents", "fee", "time", "steps", "where", "online", "legal"]
SECTIONS: tuple[Section, ...] = ("documents", "fee", "time", "steps", "where", "online", "legal")
LifeEvent = Literal[
    "sinh-con",
    "ket-hon",
    "nguoi-than-mat",
    "cu-tru",
    "giay-to-tuy-than",
    "xe-lai-xe",
    "nha-dat",
    "kinh-doanh",
    "lao-dong-bhxh",
    "tro-giup-xa-hoi",
    "giay-to-chung-thuc",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PerChannel(Strict):
    """A value that differs by how the file is submitted (online fees are often lower)."""

    online: str | None = None
    in_person: str | None = None
    post: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> PerChannel:
        if not (self.online or self.in_person or self.post):
            raise PydanticCustomError(
                "per_channel_empty", "give at least one of online, in_person, post"
            )
        return self


class DocumentGroup(Strict):
    """Papers needed in one case (e.g. 'Trường hợp cha mẹ chưa đăng ký kết hôn')."""

    case: Text
    items: list[Text] = Field(min_length=1)


class Link(Strict):
    title: Text
    url: HttpUrl


class EntryBase(Strict):
    id: Slug
    aliases: list[Text] = Field(default_factory=list)
    aliases_en: list[Text] = Field(default_factory=list)  # how English speakers name it
    related: list[Slug] = Field(default_factory=list)
    source: HttpUrl | list[HttpUrl]
    reviewed: dt.date

    @field_validator("aliases", "aliases_en")
    @classmethod
    def _unique_aliases(cls, aliases: list[str]) -> list[str]:
        seen: set[str] = set()
        for alias in aliases:
            key = alias.casefold()
            if key in seen:
                raise PydanticCustomError(
                    "alias_twice", "alias '{alias}' is listed twice", {"alias": alias}
                )
            seen.add(key)
        return aliases

    @property
    def curated(self) -> bool:
        """Written by staff (with the ways citizens say it), not bulk-imported without aliases."""
        return bool(self.aliases)

    @property
    def names(self) -> list[str]:
        """Every way the entry is named: title, aliases, English aliases."""
        return [self.title, *self.aliases, *self.aliases_en]  # type: ignore[attr-defined]

    @property
    def sources(self) -> list[str]:
        items = self.source if isinstance(self.source, list) else [self.source]
        return [str(u) for u in items]


class ProcedureText(Strict):
    """The parts of a procedure a citizen reads, in one language."""

    agency: Text
    summary: Text | None = None
    steps: list[Text] = Field(default_factory=list)
    documents: list[Text | DocumentGroup] = Field(default_factory=list)
    processing_time: Text | PerChannel | None = None
    fee: Text | PerChannel | None = None
    result: Text | None = None
    conditions: Text | list[Text] | None = None
    legal_basis: list[Text] = Field(default_factory=list)


class ProcedureEnglish(ProcedureText):
    """The English text of a procedure: the same facts as the Vietnamese parts, part for part."""


def _shape(value: object) -> object:
    """What must match between a Vietnamese part and its English twin (counts, cases, channels)."""
    if isinstance(value, PerChannel):
        return tuple(k for k in ("online", "in_person", "post", "note") if getattr(value, k))
    if isinstance(value, DocumentGroup):
        return ("case", len(value.items))
    if isinstance(value, list):
        return tuple(_shape(v) for v in value)
    return "text" if value else None


ENGLISH_PARTS = (
    "summary",
    "steps",
    "documents",
    "processing_time",
    "fee",
    "result",
    "conditions",
    "legal_basis",
)


Checked = Literal["fee", "processing_time", "agency", "online", "legal_basis"]
CHECKED: tuple[Checked, ...] = ("fee", "processing_time", "agency", "online", "legal_basis")


class AcceptedDifference(Strict):
    """A difference from the national record that staff looked at and accepted (`kb verify`).

    ``ours`` and ``record`` (both optional) pin the two sides as `kb verify` printed them (for
    ``legal_basis``: the document numbers): the acceptance then holds only while the difference
    is still that one, so a new citation or a changed record is listed again.
    """

    field: Checked
    reason: Text
    date: dt.date
    ours: Text | None = None
    record: Text | None = None


class Procedure(ProcedureText, EntryBase):
    kind: Literal["procedure"]
    code: Annotated[str, Field(pattern=CODE)] | None = None
    title: Text
    title_en: Text | None = None
    field: Text
    level: Level
    online: Online
    online_url: HttpUrl | None = None
    life_events: list[LifeEvent] = Field(default_factory=list)
    en: ProcedureEnglish | None = None
    accepted_differences: list[AcceptedDifference] = Field(default_factory=list)

    @model_validator(mode="after")
    def _online_needs_url(self) -> Procedure:
        if self.online != "none" and self.online_url is None:
            raise PydanticCustomError(
                "online_url", "online_url is required when online is toan-trinh or mot-phan"
            )
        return self

    @model_validator(mode="after")
    def _english_in_step(self) -> Procedure:
        if self.en is None:
            if self.curated:
                raise PydanticCustomError(
                    "english_missing",
                    "the English text is missing: add an 'en:' block with the same parts "
                    "(summary, agency, steps, documents, fee, ...) in English",
                )
            return self
        for part in ENGLISH_PARTS:
            vi, en = _shape(getattr(self, part)), _shape(getattr(self.en, part))
            if vi != en:
                raise PydanticCustomError(
                    "english_step",
                    "en.{part} is not in step with {part}: the English text must have the "
                    "same items, cases and channels as the Vietnamese",
                    {"part": part},
                )
        return self

    @property
    def name(self) -> str:
        return self.title


class Faq(EntryBase):
    kind: Literal["faq"]
    question: Text
    question_en: Text | None = None
    answer: Text
    answer_en: Text | None = None
    links: list[Link] = Field(default_factory=list)

    @model_validator(mode="after")
    def _english_present(self) -> Faq:
        if self.curated and not (self.question_en and self.answer_en):
            raise PydanticCustomError(
                "faq_english", "the English text is missing: add question_en and answer_en"
            )
        return self

    @property
    def title(self) -> str:
        return self.question

    @property
    def name(self) -> str:
        return self.question


Entry = Annotated[Procedure | Faq, Field(discriminator="kind")]


class Office(Strict):
    id: Slug
    name: Text
    level: Literal["province", "commune"]
    address: Text | None = None
    hours: Text | None = None
    phone: Annotated[str, Field(pattern=PHONE)] | None = None
    map_url: HttpUrl | None = None
    old_names: list[Text] = Field(default_factory=list)
    aliases: list[Text] = Field(default_factory=list)
    source: HttpUrl | list[HttpUrl]
    reviewed: dt.date


class Contacts(Strict):
    """The one place for the hotline and portal named in every decline message."""

    national_portal: HttpUrl
    national_hotline: Annotated[str, Field(pattern=HOTLINE)]
    province_name: Text
    province_portal: HttpUrl | None = None
    province_hotline: Annotated[str, Field(pattern=HOTLINE)] | None = None
    source: HttpUrl | list[HttpUrl]
    reviewed: dt.date


class OfficesFile(Strict):
    contacts: Contacts
    offices: list[Office] = Field(min_length=1)


SynonymKind = Literal["abbreviation", "teencode", "dialect", "folk", "typo", "english"]


class Synonym(Strict):
    """``term`` as citizens type it; ``means`` what it stands for.

    ``teencode`` and ``typo`` terms are replaced by their meaning; ``abbreviation``, ``folk`` and
    ``english`` terms keep the original words and add the meaning.  An ``ambiguous`` term lists
    every meaning; the engine searches with all of them and asks when that is all it has to go on.
    """

    term: Text
    means: Text | None = None
    ambiguous: list[Text] = Field(default_factory=list)
    kind: SynonymKind

    @model_validator(mode="after")
    def _one_meaning_or_several(self) -> Synonym:
        if bool(self.means) == bool(self.ambiguous):
            raise PydanticCustomError(
                "synonym_meaning", "give either means or ambiguous (two or more meanings)"
            )
        if self.ambiguous and len(self.ambiguous) < 2:
            raise PydanticCustomError("synonym_ambiguous", "ambiguous needs two or more meanings")
        if re.search(r"\s{2,}", self.term):
            raise PydanticCustomError("synonym_spaces", "term has repeated spaces")
        return self


class SynonymsFile(Strict):
    synonyms: list[Synonym] = Field(min_length=1)


class SurveyOption(Strict):
    value: int
    label: Text
    label_en: Text
    satisfied: bool


class SurveyReason(Strict):
    id: Slug
    label: Text
    label_en: Text


class SurveyFile(Strict):
    question: Text
    question_en: Text
    scale: list[SurveyOption] = Field(min_length=2, max_length=7)
    reasons: list[SurveyReason] = Field(default_factory=list)
    reason_question: Text | None = None
    reason_question_en: Text | None = None
