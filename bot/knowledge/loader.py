"""Load and validate the whole knowledge folder; report every problem at once as file:line."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.knowledge import yamlfile
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
_ENTRY: TypeAdapter[Procedure | Faq] = TypeAdapter(Entry)

AnyEntry = Procedure | Faq


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


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

    @property
    def procedures(self) -> list[Procedure]:
        return [e for e in self.entries.values() if isinstance(e, Procedure)]

    def get(self, entry_id: str) -> AnyEntry | None:
        return self.entries.get(entry_id)


class KnowledgeError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the knowledge base")
        self.problems = sorted(problems)


def fold(text: str) -> str:
    """Lower case without diacritics (đ→d), to compare aliases as citizens type them."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


class _Reader:
    """Collects problems while reading files, so that all of them are reported in one go."""

    def __init__(self, root: Path, today: dt.date) -> None:
        self.root = root
        self.today = today
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.failed: set[str] = set()  # file stems that did not load (their ids are unknown)

    def problem(self, path: Path, line: int, name: str, message: str) -> None:
        self.problems.append(Problem(_display(path, self.root), line, name, message))

    def read(self, path: Path) -> Any:
        try:
            return yamlfile.load(path)
        except yamlfile.YamlProblem as exc:
            self.problem(path, exc.line, "(file)", exc.message)
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, 1, "(file)", f"cannot read: {exc}")
        return None

    def validate(self, path: Path, data: Any, model: Any) -> Any:
        try:
            if isinstance(model, TypeAdapter):
                return model.validate_python(data)
            return model.model_validate(data)
        except ValidationError as exc:
            lines = yamlfile.line_map(path)
            seen: set[tuple[str, str]] = set()
            for err in exc.errors(include_url=False):
                name, line = yamlfile.locate(err["loc"], data, lines)
                if (name, err["msg"]) not in seen:
                    seen.add((name, err["msg"]))
                    self.problem(path, line, name, err["msg"])
        return None

    def check_reviewed(self, path: Path, obj: BaseModel, line: int = 1) -> None:
        reviewed = getattr(obj, "reviewed", None)
        if isinstance(reviewed, dt.date) and self.today - reviewed > STALE_AFTER:
            self.warnings.append(
                Problem(
                    _display(path, self.root),
                    line,
                    "reviewed",
                    f"last reviewed {reviewed.isoformat()}, more than 12 months ago",
                )
            )


def load_knowledge(root: Path, today: dt.date | None = None) -> KnowledgeBase:
    """Read every YAML file below ``root``; raise ``KnowledgeError`` listing every problem."""
    root = root.resolve()
    reader = _Reader(root, today or dt.date.today())
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), 0, "(folder)", "knowledge folder not found")])
    files = sorted(p for p in root.rglob("*.yaml") if not any(s.startswith(".") for s in p.parts))
    specials: dict[str, Any] = {}
    entries: dict[str, AnyEntry] = {}
    where: dict[str, Path] = {}
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
        if path.name in SPECIAL_FILES:
            _read_special(reader, path, specials)
        else:
            _read_entry(reader, path, entries, where)
    _check_links(reader, entries, where)
    for name in SPECIAL_FILES:
        if name not in specials and not any(p.name == name for p in files):
            reader.problem(root / name, 0, "(file)", "required file is missing")
    if reader.problems:
        raise KnowledgeError(reader.problems)
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
    )


def _read_special(reader: _Reader, path: Path, specials: dict[str, Any]) -> None:
    if path.name in specials:
        reader.problem(path, 1, "(file)", f"a second {path.name}; keep one per knowledge folder")
        return
    data = reader.read(path)
    if data is None:
        return
    model = reader.validate(path, data, SPECIAL_FILES[path.name])
    if model is None:
        return
    specials[path.name] = model
    if isinstance(model, OfficesFile):
        _check_offices(reader, path, model)


def _check_offices(reader: _Reader, path: Path, model: OfficesFile) -> None:
    lines = yamlfile.line_map(path)
    seen: set[str] = set()
    for index, office in enumerate(model.offices):
        line = lines.get(("offices", index), 1)
        if office.id in seen:
            reader.problem(path, line, f"offices[{index}].id", f"duplicate office id {office.id!r}")
        seen.add(office.id)
        reader.check_reviewed(path, office, line)


def _read_entry(
    reader: _Reader, path: Path, entries: dict[str, AnyEntry], where: dict[str, Path]
) -> None:
    data = reader.read(path)
    if data is None:
        reader.failed.add(path.stem)
        return
    if not isinstance(data, dict):
        reader.problem(path, 1, "(file)", "expected a mapping of fields (key: value)")
        return
    entry = reader.validate(path, data, _ENTRY)
    if entry is None:
        reader.failed.add(path.stem)
        return
    if entry.id != path.stem:
        line = yamlfile.line_map(path).get(("id",), 1)
        reader.problem(
            path, line, "id", f"id {entry.id!r} differs from the file name {path.stem!r}"
        )
    if entry.id in entries:
        other = _display(where[entry.id], reader.root)
        reader.problem(path, 1, "id", f"duplicate id {entry.id!r}, also in {other}")
        return
    entries[entry.id] = entry
    where[entry.id] = path
    reader.check_reviewed(path, entry)


def _check_links(reader: _Reader, entries: dict[str, AnyEntry], where: dict[str, Path]) -> None:
    """An alias (diacritics folded) belongs to one entry; related ids must exist."""
    owner: dict[str, str] = {}
    for entry_id, entry in entries.items():
        surfaces = [entry.title, *entry.aliases]
        for alias in surfaces:
            key = " ".join(fold(alias).split())
            first = owner.setdefault(key, entry_id)
            if first != entry_id:
                path = where[entry_id]
                lines = yamlfile.line_map(path)
                index = entry.aliases.index(alias) if alias in entry.aliases else None
                line = lines.get(("aliases", index), 1) if index is not None else 1
                reader.problem(
                    path,
                    line,
                    "aliases",
                    f"{alias!r} is also claimed by {first!r}; an alias names one entry",
                )
        for index, rel in enumerate(entry.related):
            if rel not in entries and rel not in reader.failed:  # a broken file says it already
                line = yamlfile.line_map(where[entry_id]).get(("related", index), 1)
                reader.problem(where[entry_id], line, f"related[{index}]", f"no entry {rel!r}")
