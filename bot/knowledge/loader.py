"""Load and validate the whole knowledge folder; report every problem at once as file:line."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.knowledge import messages, yamlfile
from bot.knowledge.schema import (
    Contacts,
    Entry,
    Faq,
    Office,
    OfficesFile,
    Procedure,
    SurveyFile,
    Synonym,
    SynonymsFile,
)

log = logging.getLogger(__name__)

SPECIAL_FILES = {
    "offices.yaml": OfficesFile,
    "synonyms.yaml": SynonymsFile,
    "survey.yaml": SurveyFile,
}
STALE_AFTER = dt.timedelta(days=365)
CLAIMS_SHOWN = 3  # aliases claimed from one other entry, reported one by one
_ENTRY: TypeAdapter[Procedure | Faq] = TypeAdapter(Entry)

AnyEntry = Procedure | Faq


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in the knowledge folder.

    ``message`` is English (logs, ``str``); ``key`` and ``values`` name the staff message
    (``kb.<key>`` in the catalogs), which ``render`` gives in the reader's language.
    """

    file: str
    line: int
    field: str
    message: str
    key: str = ""
    values: tuple[tuple[str, str], ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"

    def render(self, lang: str, t: messages.Translate) -> str:
        """``file:line: field: message`` in ``lang`` (``t``: ``Renderer.t`` or
        ``I18n.gettext``)."""
        text = messages.render(lang, t, self.key, dict(self.values), self.message)
        return f"{self.where}: {self.field}: {text}"


def render_problems(problems: Sequence[Problem], lang: str, t: messages.Translate) -> list[str]:
    """Every problem as one line in ``lang``."""
    return [problem.render(lang, t) for problem in problems]


@dataclass
class KnowledgeBase:
    entries: dict[str, AnyEntry]
    offices: list[Office]
    contacts: Contacts
    synonyms: list[Synonym]
    survey: SurveyFile
    version: str
    files: dict[str, Path] = field(default_factory=dict)  # entry id -> file
    warnings: list[Problem] = field(default_factory=list)
    slim: frozenset[str] = frozenset()  # bulk-imported entries held without their long text

    @property
    def procedures(self) -> list[Procedure]:
        return [e for e in self.entries.values() if isinstance(e, Procedure)]

    def get(self, entry_id: str) -> AnyEntry | None:
        return self.entries.get(entry_id)

    def full(self, entry_id: str) -> AnyEntry | None:
        """The entry with every part, to show it: a bulk-imported entry is read again from its
        file (thousands of records are held in memory as names only)."""
        entry = self.entries.get(entry_id)
        if entry is None or entry_id not in self.slim:
            return entry
        return _read_full(self.files[entry_id], self.version) or entry


class KnowledgeError(Exception):
    def __init__(self, problems: list[Problem], warnings: Sequence[Problem] = ()) -> None:
        super().__init__(f"{len(problems)} problem(s) in the knowledge base")
        self.problems = sorted(problems)
        self.warnings = sorted(warnings)


def fold(text: str) -> str:
    """Lower case without diacritics (đ→d), to compare aliases as citizens type them."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# What a bulk-imported (not hand-curated) entry is held without: read again when shown.
_LONG_PARTS: dict[str, Any] = {
    "summary": None, "steps": [], "documents": [], "processing_time": None, "fee": None,
    "result": None, "conditions": None, "legal_basis": [], "en": None,
}


def _slim(entry: AnyEntry) -> AnyEntry:
    return entry.model_copy(update=_LONG_PARTS) if isinstance(entry, Procedure) else entry


@functools.lru_cache(maxsize=64)
def _read_full(path: Path, version: str) -> AnyEntry | None:
    """One entry from its file, as loaded for ``version`` (None when it no longer validates)."""
    try:
        return _ENTRY.validate_python(yamlfile.load(path))
    except (yamlfile.YamlProblem, ValidationError, OSError, UnicodeDecodeError):
        return None


def surface_key(text: str) -> str:
    """How titles, aliases and fields are compared: diacritics folded, single spaces."""
    return " ".join(fold(text).split())


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


YAML_SUFFIXES = (".yaml", ".yml")
NOT_KNOWLEDGE = (".md",)  # the staff guide and notes may sit in the folder


def special_name(path: Path) -> str | None:
    """``offices.yaml`` for offices.yaml and offices.yml; None for an entry file."""
    name = f"{path.stem}.yaml"
    return name if path.suffix.lower() in YAML_SUFFIXES and name in SPECIAL_FILES else None


def knowledge_files(root: Path) -> tuple[list[Path], list[Path]]:
    """The YAML files below ``root`` (.yaml and .yml), and the other files that are not read
    (hidden files and folders, and notes in Markdown, are neither)."""
    yaml_files: list[Path] = []
    others: list[Path] = []
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix in YAML_SUFFIXES:
            yaml_files.append(path)
        elif suffix not in NOT_KNOWLEDGE:
            others.append(path)
    return yaml_files, others


@dataclass
class _Facts:
    """What the checks across files need of one entry, read even from a file that failed."""

    id: str
    path: Path
    title: str | None
    aliases: list[str]
    aliases_en: list[str]
    related: list[str]
    field: str | None
    mtime: int

    @classmethod
    def of(cls, path: Path, data: Any) -> _Facts:
        raw = data if isinstance(data, dict) else {}

        def texts(key: str) -> list[str]:
            value = raw.get(key)
            return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

        def text(*keys: str) -> str | None:
            value = next((raw[k] for k in keys if isinstance(raw.get(k), str)), None)
            return value.strip() if isinstance(value, str) else None

        entry_id = raw.get("id") if isinstance(raw.get("id"), str) else path.stem
        return cls(str(entry_id), path, text("title", "question"),
                   [a.strip() for a in texts("aliases")],
                   [a.strip() for a in texts("aliases_en")], texts("related"),
                   text("field") if raw.get("kind") == "procedure" else None, _mtime(path))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


class _Reader:
    """Collects problems while reading files, so that all of them are reported in one go."""

    def __init__(self, root: Path, today: dt.date) -> None:
        self.root = root
        self.today = today
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.failed: set[str] = set()  # file stems that did not load (their ids are unknown)
        self.slim: set[str] = set()  # bulk-imported entries held without their long text
        self.facts: list[_Facts] = []  # every entry file that parsed, valid or not
        self._spans: dict[Path, dict[yamlfile.PathKey, tuple[int, int]]] = {}

    def problem(self, path: Path, line: int, name: str, message: str, key: str = "", /,
                **values: str) -> None:
        self.problems.append(Problem(_display(path, self.root), line, name, message, key,
                                     tuple(sorted(values.items()))))

    def warn(self, path: Path, line: int, name: str, message: str, key: str = "", /,
             **values: str) -> None:
        self.warnings.append(Problem(_display(path, self.root), line, name, message, key,
                                     tuple(sorted(values.items()))))

    def spans(self, path: Path) -> dict[yamlfile.PathKey, tuple[int, int]]:
        if path not in self._spans:
            try:
                self._spans[path] = yamlfile.spans(path)
            except Exception:  # unreadable: its problem is reported already
                self._spans[path] = {}
        return self._spans[path]

    def line(self, path: Path, where: Sequence[str | int]) -> int:
        """The line of ``where``, or of the closest block that holds it."""
        spans = self.spans(path)
        for end in range(len(where), -1, -1):
            if tuple(where[:end]) in spans:
                return spans[tuple(where[:end])][0]
        return 1

    def read(self, path: Path) -> Any:
        try:
            return yamlfile.load(path)
        except yamlfile.YamlProblem as exc:
            self.problem(path, exc.line, "(file)", exc.message, exc.key, **exc.values)
        except UnicodeDecodeError:
            self.problem(path, 1, "(file)", "not UTF-8", "not_utf8")
        except OSError as exc:
            self.problem(path, 1, "(file)", f"cannot read: {exc}", "unreadable",
                         error=str(exc.strerror or exc))
        return None

    def validate(self, path: Path, data: Any, model: Any) -> Any:
        try:
            if isinstance(model, TypeAdapter):
                return model.validate_python(data)
            return model.model_validate(data)
        except ValidationError as exc:
            roots = messages.root_models(data, model)
            for said in messages.describe(exc.errors(include_url=False), data, model):
                values = dict(said.values)
                key = said.key
                if said.missing:
                    order = messages.fields_at(roots, said.path)
                    line, after = yamlfile.insertion_line(self.spans(path), said.path,
                                                          said.missing, order)
                    if after and key == "missing":
                        key, values["after"] = "missing_after", after
                else:
                    line = self.line(path, said.path)
                self.problem(path, line, said.name, said.english, key, **values)
        return None

    def check_reviewed(self, path: Path, obj: BaseModel, where: Sequence[str | int] = ()) -> None:
        reviewed = getattr(obj, "reviewed", None)
        if isinstance(reviewed, dt.date) and self.today - reviewed > STALE_AFTER:
            self.warn(path, self.line(path, (*where, "reviewed")), "reviewed",
                      f"last reviewed {reviewed.isoformat()}, more than 12 months ago",
                      "stale", date=reviewed.isoformat())


def load_knowledge(root: Path, today: dt.date | None = None) -> KnowledgeBase:
    """Read every YAML file below ``root``; raise ``KnowledgeError`` listing every problem."""
    root = root.resolve()
    reader = _Reader(root, today or dt.date.today())
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), 0, "(folder)", "knowledge folder not found",
                                      "folder_missing")])
    files, others = knowledge_files(root)
    for path in others:
        reader.warn(path, 0, "(file)", "not read: only .yaml and .yml files are knowledge",
                    "other_file")
    specials: dict[str, Any] = {}
    entries: dict[str, AnyEntry] = {}
    where: dict[str, Path] = {}
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
        if special_name(path):
            _read_special(reader, path, specials)
        else:
            _read_entry(reader, path, entries, where)
    _check_across(reader, entries)
    for name in SPECIAL_FILES:
        if name not in specials and not any(special_name(p) == name for p in files):
            reader.problem(root / name, 0, "(file)", "required file is missing", "required_file")
    if reader.problems:
        raise KnowledgeError(reader.problems, reader.warnings)
    offices: OfficesFile = specials["offices.yaml"]
    return KnowledgeBase(
        entries=entries,
        offices=offices.offices,
        contacts=offices.contacts,
        synonyms=specials["synonyms.yaml"].synonyms,
        survey=specials["survey.yaml"],
        version=digest.hexdigest()[:12],
        files=where,
        warnings=sorted(reader.warnings),
        slim=frozenset(reader.slim),
    )


def _read_special(reader: _Reader, path: Path, specials: dict[str, Any]) -> None:
    name = special_name(path) or path.name
    if name in specials:
        reader.problem(path, 1, "(file)", f"a second {name}; keep one per knowledge folder",
                       "second_special", name=name)
        return
    data = reader.read(path)
    if data is None:
        specials.setdefault(name, None)
        return
    model = reader.validate(path, data, SPECIAL_FILES[name])
    if model is None:
        return
    specials[name] = model
    if isinstance(model, OfficesFile):
        _check_offices(reader, path, model)


def _check_offices(reader: _Reader, path: Path, model: OfficesFile) -> None:
    seen: set[str] = set()
    for index, office in enumerate(model.offices):
        if office.id in seen:
            reader.problem(path, reader.line(path, ("offices", index, "id")),
                           f"offices[{index}].id", f"duplicate office id {office.id!r}",
                           "office_duplicate", id=office.id)
        seen.add(office.id)
        reader.check_reviewed(path, office, ("offices", index))


def _read_entry(
    reader: _Reader, path: Path, entries: dict[str, AnyEntry], where: dict[str, Path]
) -> None:
    data = reader.read(path)
    if data is None:
        reader.failed.add(path.stem)
        return
    if not isinstance(data, dict):
        reader.problem(path, 1, "(file)", "expected a mapping of fields (key: value)",
                       "not_mapping")
        reader.failed.add(path.stem)
        return
    facts = _Facts.of(path, data)
    reader.facts.append(facts)
    entry = reader.validate(path, data, _ENTRY)
    if entry is None:
        reader.failed.add(path.stem)
        reader.failed.add(facts.id)
        return
    if entry.id != path.stem:
        reader.problem(
            path, reader.line(path, ("id",)), "id",
            f"id {entry.id!r} differs from the file name {path.stem!r}", "id_file",
            id=entry.id, stem=path.stem,
        )
    if entry.id in entries:
        other = _display(where[entry.id], reader.root)
        reader.problem(path, reader.line(path, ("id",)), "id",
                       f"duplicate id {entry.id!r}, also in {other}", "duplicate_id",
                       id=entry.id, other=other)
        return
    if not entry.curated and isinstance(entry, Procedure):
        entry = _slim(entry)
        reader.slim.add(entry.id)
    entries[entry.id] = entry
    where[entry.id] = path
    reader.check_reviewed(path, entry)


def _check_across(reader: _Reader, entries: dict[str, AnyEntry]) -> None:
    """What no single file can say: aliases claimed twice, related ids that do not exist,
    fields spelt two ways, aliases merged by a slip of indentation.  Files that failed their own
    checks take part too, so that one run reports everything."""
    facts = sorted(reader.facts, key=lambda f: (f.mtime, str(f.path)))
    _check_aliases(reader, facts)
    known = {f.id for f in facts} | set(entries) | reader.failed
    for item in facts:
        for index, rel in enumerate(item.related):
            if rel in known:
                continue
            line = reader.line(item.path, ("related", index))
            guess = messages.closest(rel, sorted(known))
            extra = {"guess": guess} if guess else {}
            reader.problem(item.path, line, f"related[{index}]", f"no entry {rel!r}",
                           "related_guess" if guess else "related", id=rel, **extra)
    _check_fields(reader, facts)


def _check_aliases(reader: _Reader, facts: list[_Facts]) -> None:
    """An alias (diacritics folded) names one entry.  The oldest file keeps it; the file edited
    later (newer modification time) is the one reported, naming the other."""
    owner: dict[str, _Facts] = {}
    claims: dict[tuple[Path, str], list[int]] = {}  # (file, other id) → [claims, first hidden line]
    for item in facts:  # oldest first
        surfaces: list[tuple[str, tuple[str | int, ...]]] = (
            [(item.title, ("title",))] if item.title else [])
        surfaces += [(alias, ("aliases", i)) for i, alias in enumerate(item.aliases)]
        surfaces += [(alias, ("aliases_en", i)) for i, alias in enumerate(item.aliases_en)]
        mine: set[str] = set()
        for surface, at in surfaces:
            key = surface_key(surface)
            if at[0] == "aliases" and messages.MERGED_ALIAS.search(surface):
                reader.warn(item.path, reader.line(item.path, at), messages.field_name(at),
                            f"{surface!r} may be two aliases merged by wrong indentation",
                            "alias_merged", alias=surface)
            first = owner.setdefault(key, item)
            if first is item or key in mine:
                mine.add(key)
                continue
            other = _display(first.path, reader.root)
            claim = claims.setdefault((item.path, first.id), [0, 0])
            claim[0] += 1
            if claim[0] > CLAIMS_SHOWN:  # a copied file: a few lines, then how many more
                claim[1] = claim[1] or reader.line(item.path, at)
                continue
            reader.problem(
                item.path, reader.line(item.path, at), "title" if at[0] == "title" else str(at[0]),
                f"{surface!r} is also claimed by {first.id!r} ({other}); an alias names one entry",
                "alias_claimed", alias=surface, other=first.id, file=other,
            )
    _more_claims(reader, claims)


def _more_claims(reader: _Reader, claims: dict[tuple[Path, str], list[int]]) -> None:
    for (path, other), (count, line) in claims.items():
        if count > CLAIMS_SHOWN:
            reader.problem(path, line, "aliases",
                           f"{count - CLAIMS_SHOWN} more aliases are also claimed by {other!r}",
                           "alias_claimed_more", n=str(count - CLAIMS_SHOWN), other=other)


def _check_fields(reader: _Reader, facts: list[_Facts]) -> None:
    """A field (lĩnh vực) spelt differently only by diacritics or case is an error: citizens
    browsing by field would see two fields.  The spelling most entries use is the right one."""
    spellings: dict[str, dict[str, int]] = {}
    for item in facts:
        if item.field:
            key = surface_key(item.field)
            counts = spellings.setdefault(key, {})
            counts[item.field] = counts.get(item.field, 0) + 1
    for item in facts:
        if not item.field:
            continue
        counts = spellings[surface_key(item.field)]
        if len(counts) < 2:
            continue
        known = max(counts, key=lambda s: (counts[s], fold(s) != s, s != s.lower(), s))
        if item.field != known:
            reader.problem(
                item.path, reader.line(item.path, ("field",)), "field",
                f"field {item.field!r} differs from {known!r} only by diacritics or case",
                "field_spelling", value=item.field, known=known,
            )
