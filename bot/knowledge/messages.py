"""What `kb check` says to staff: validation errors turned into plain words, in their language.

Pydantic reports an error with a location inside its own types (``('procedure', 'documents', 0,
'DocumentGroup', 'items')``), a machine type (``string_pattern_mismatch``) and an English message
full of parser words.  Here each error becomes a ``Described``: the place in the file's data
(``documents[0].items``), a message key (``kb.<key>`` in ``locales/*/messages.po``) with its
values, and the English message for logs.  Where a value could be text or a block (``fee``,
``documents``), only the errors of the reading that fits what was written are kept, so one slip
gives one message.

This module knows no catalog: ``render`` takes the translating function (``Renderer.t`` or
``I18n.gettext``: ``t(lang, key, **values)``), so the knowledge layer stays free of the
conversation layer.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

from pydantic import BaseModel

from bot.knowledge import schema

PathKey = tuple[str | int, ...]
KINDS: dict[str, type[BaseModel]] = {"procedure": schema.Procedure, "faq": schema.Faq}
MODEL_NAMES = frozenset(
    name for name, value in vars(schema).items()
    if isinstance(value, type) and issubclass(value, BaseModel)
)
_TAG = re.compile(r"^(constrained-str|str|int|float|bool|date|url|list\[|dict\[|function-\w+\[|"
                  r"nullable\[|json-or-python\[|lax-or-strict\[|tagged-union\[|union\[)")
_PATTERN_KEYS = {schema.SLUG: "slug", schema.CODE: "code", schema.PHONE: "phone",
                 schema.HOTLINE: "phone"}
MERGED_ALIAS = re.compile(r"\s-\s")


class Translate(Protocol):
    """``Renderer.t`` / ``I18n.gettext``: the text of ``key`` in ``lang``, values filled in."""

    def __call__(self, lang: str, key: str, **values: Any) -> str: ...


@dataclass(frozen=True)
class Described:
    path: PathKey  # where in the data (the block, for a missing key)
    key: str  # message key without the "kb." prefix
    values: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    english: str = ""
    missing: str | None = None  # the name of a missing key (its line is where it belongs)

    @property
    def name(self) -> str:
        """The field as staff read it: ``documents[4].items``, ``level``, ``(file)``."""
        return field_name((*self.path, self.missing) if self.missing else self.path)


def field_name(path: Sequence[str | int]) -> str:
    text = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path)
    return text.replace(".[", "[") or "(file)"


def render(lang: str, t: Translate, key: str, values: Mapping[str, str], fallback: str) -> str:
    """The staff message ``kb.<key>`` in ``lang``; ``fallback`` (English) without a key."""
    return t(lang, f"kb.{key}", **values) if key else fallback


# -- the schema, walked by the data's path --------------------------------------------------------


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def root_models(data: Any, model: Any) -> list[type[BaseModel]]:
    """The model a file is read with: by its ``kind`` for an entry, else the file's model."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [model]
    kind = data.get("kind") if isinstance(data, dict) else None
    return [KINDS[kind]] if isinstance(kind, str) and kind in KINDS else list(KINDS.values())


def fields_at(roots: list[type[BaseModel]], path: Sequence[str | int]) -> list[str]:
    """The keys allowed in the block at ``path``, in the schema's order."""
    current = roots
    for part in path:
        if isinstance(part, int):
            continue
        current = [m for model in current if part in model.model_fields
                   for m in _models_in(model.model_fields[part].annotation)]
    return list(dict.fromkeys(name for model in current for name in model.model_fields))


def closest(name: str, known: Sequence[str]) -> str | None:
    """The known key meant by a misspelt one ('documnets' → 'documents')."""
    found = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
    return found[0] if found else None


# -- errors ---------------------------------------------------------------------------------------


def _has(cursor: Any, part: str | int) -> bool:
    if isinstance(cursor, dict):
        return part in cursor
    return isinstance(cursor, list) and isinstance(part, int) and 0 <= part < len(cursor)


def _is_tag(part: str | int, first: bool) -> bool:
    if not isinstance(part, str):
        return False
    return part in MODEL_NAMES or bool(_TAG.match(part)) or (first and part in KINDS)


@dataclass
class _Error:
    path: list[str | int]
    tail: str | int | None  # a key that is not in the data (missing)
    branch: str | None  # the union member pydantic tried ('constrained-str', 'DocumentGroup')
    branch_at: int  # len(path) where the union was tried
    raw: Mapping[str, Any]


def _split(loc: Sequence[str | int], data: Any, raw: Mapping[str, Any]) -> _Error:
    path: list[str | int] = []
    cursor, branch, branch_at, tail = data, None, 0, None
    for index, part in enumerate(loc):
        if _has(cursor, part):
            path.append(part)
            cursor = cursor[part]
        elif _is_tag(part, index == 0):
            if branch is None and index > 0:
                branch, branch_at = str(part), len(path)
        else:
            tail = part
            break
    return _Error(path, tail, branch, branch_at, raw)


def _at(data: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        data = data[part]
    return data


def _is_block_branch(branch: str) -> bool:
    return branch in MODEL_NAMES or (branch.startswith("function-") and
                                     any(name in branch for name in MODEL_NAMES))


def _pick_branches(errors: list[_Error], data: Any, roots: list[type[BaseModel]]
                   ) -> list[_Error | Described]:
    """Keep, for each value that could be read several ways, the reading that fits it."""
    out: list[_Error | Described] = [e for e in errors if e.branch is None]
    groups: dict[PathKey, list[_Error]] = {}
    for error in errors:
        if error.branch is not None:
            groups.setdefault(tuple(error.path[: error.branch_at]), []).append(error)
    for where, group in groups.items():
        value = _at(data, where)
        text_allowed = any(not _is_block_branch(e.branch or "") and
                           not (e.branch or "").startswith("list[") for e in group)
        if isinstance(value, dict):
            blocks = [e for e in group if _is_block_branch(e.branch or "")]
            known = set(fields_at(roots, where))
            if not blocks or (text_allowed and not known & set(value)):
                out.append(_colon(where, value))
                continue
            out.extend(blocks)
        elif isinstance(value, list):
            lists = [e for e in group if (e.branch or "").startswith("list[")]
            out.extend(lists or [_described_shape(where, "not_text")])
        else:
            texts = [e for e in group if not _is_block_branch(e.branch or "")
                     and not (e.branch or "").startswith("list[")]
            out.extend(texts or [_described_shape(where, "not_block")])
    return out


def _colon(where: PathKey, value: dict[Any, Any]) -> Described:
    first = next(iter(value), "")
    return Described(where, "colon", {"text": _shown(f"{first}: {value[first]}") if value else ""},
                     "a value with a colon was read as a key: put the whole value in quotes")


def _described_shape(where: PathKey, key: str) -> Described:
    return Described(where, key, {}, "this value has the wrong shape here")


def describe(errors: Sequence[Mapping[str, Any]], data: Any, model: Any) -> list[Described]:
    """Every pydantic error of one file, in plain words, one message per slip."""
    roots = root_models(data, model)
    split = [_split(err["loc"], data, err) for err in errors]
    seen: set[tuple[str, str]] = set()
    out: list[Described] = []
    for item in _pick_branches(split, data, roots):
        described = item if isinstance(item, Described) else _describe(item, data, roots)
        mark = (described.name, described.key)
        if mark not in seen:
            seen.add(mark)
            out.append(described)
    return out


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _describe(error: _Error, data: Any, roots: list[type[BaseModel]]) -> Described:  # noqa: C901, PLR0911, PLR0912 - one branch per error type
    kind = str(error.raw["type"])
    path = tuple(error.path)
    english = str(error.raw["msg"])
    value = error.raw.get("input")
    ctx = error.raw.get("ctx") or {}
    if kind == "missing" and error.tail is not None:
        return Described(path, "missing", {"name": str(error.tail)}, english, str(error.tail))
    if kind == "extra_forbidden":
        name = str(path[-1]) if path else str(error.tail)
        block = path[:-1] if path else path
        known = [k for k in fields_at(roots, block)]
        guess = closest(name, known)
        if guess:
            return Described(path, "unknown_key", {"name": name, "guess": guess}, english)
        return Described(path, "unknown_key_none", {"name": name, "known": ", ".join(known)},
                         english)
    if kind == "union_tag_not_found":
        return Described((), "kind_missing", {}, english, "kind")
    if kind == "union_tag_invalid":
        return Described(("kind",), "kind", {"value": _shown(ctx.get("tag", ""))}, english)
    if kind.startswith("date_"):
        return Described(path, "date", {"value": _shown(value)}, english)
    if kind.startswith("url_"):
        return Described(path, "url", {"value": _shown(value)}, english)
    if kind == "string_pattern_mismatch":
        key = _PATTERN_KEYS.get(str(ctx.get("pattern")), "pattern")
        return Described(path, key, {"value": _shown(value)}, english)
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return Described(path, "choice", {"value": _shown(value), "choices": choices}, english)
    if kind in {"string_type", "list_type", "model_type", "dict_type", "model_attributes_type"}:
        return _wrong_type(kind, path, value, english)
    if kind == "string_too_short":
        return Described(path, "empty", {}, english)
    if kind == "too_short":
        return Described(path, "list_empty", {"min": str(ctx.get("min_length", 1))}, english)
    if kind in {"string_too_long", "too_long"}:
        return Described(path, "too_long", {"max": str(ctx.get("max_length", ""))}, english)
    if kind.startswith("bool_"):
        return Described(path, "bool", {"value": _shown(value)}, english)
    if kind.startswith("int_"):
        return Described(path, "int", {"value": _shown(value)}, english)
    return _custom(kind, path, ctx, english, value)


def _wrong_type(kind: str, path: PathKey, value: Any, english: str) -> Described:
    if value is None:
        return Described(path, "empty", {}, english)
    if kind == "list_type":
        return Described(path, "not_list", {}, english)
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return Described(path, "not_block", {}, english)
    if isinstance(value, dict):
        return _colon(path, value)
    if isinstance(value, bool | int | float):
        return Described(path, "number", {"value": _shown(value)}, english)
    return Described(path, "not_text", {}, english)


def _custom(kind: str, path: PathKey, ctx: Mapping[str, Any], english: str,
            value: Any) -> Described:
    """The schema's own rules (``PydanticCustomError`` types)."""
    if kind == "online_url":
        return Described(path, "online_url", {}, english, "online_url")
    if kind == "english_missing":
        return Described(path, "english_missing", {}, english, "en")
    if kind == "english_step":
        part = str(ctx.get("part", ""))
        return Described((*path, "en", part), "english_step", {"part": part}, english)
    if kind in {"faq_english", "per_channel_empty", "synonym_meaning", "synonym_ambiguous",
                "synonym_spaces"}:
        return Described(path, kind, {}, english)
    if kind == "alias_twice":
        return Described(path, "alias_twice", {"alias": str(ctx.get("alias", ""))}, english)
    return Described(path, "invalid", {"value": _shown(value)}, english)
