"""`dvcbot kb import FILE --out DIR`: national portal records → knowledge entries, one YAML each.

Reads JSON lines (gzip or plain), converts each record (``bot.importer.record``), then makes the
set safe to load next to the curated knowledge base: a code the curated files already cover is
skipped, a repeated code keeps its first record, titles that are not unique (diacritics folded, as
the loader compares them) get the code appended, and every entry is validated with the schema
after a YAML round trip.  Files are written to a staging folder that replaces ``DIR`` at the end,
so a watcher never sees half an import.  Nothing that ``dvcbot kb check`` would reject is written.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import click
import yaml
from pydantic import TypeAdapter, ValidationError

from bot.importer.record import Converted, Rejected, convert
from bot.knowledge import yamlfile
from bot.knowledge.loader import SPECIAL_FILES, YAML_SUFFIXES, surface_key
from bot.knowledge.schema import Entry

MARKER = ".dvcbot-import"
PLAIN_EVERY = 500  # records between two progress lines when the output is not a terminal
_ENTRY: TypeAdapter[Any] = TypeAdapter(Entry)

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the platform's PyYAML build
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _Dumper(_BaseDumper):
    """Multi-line text as a literal block, the way staff write it by hand."""


def _str(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


@dataclass
class Curated:
    """What the hand-written files already claim: ids, codes, titles and aliases."""

    ids: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict)  # code -> entry id
    surfaces: dict[str, str] = field(default_factory=dict)  # folded title/alias -> entry id


def read_curated(root: Path | None, skip: Path) -> Curated:
    curated = Curated()
    if root is None or not root.is_dir():
        return curated
    skip = skip.resolve()
    paths = (p for p in root.resolve().rglob("*") if p.suffix.lower() in YAML_SUFFIXES)
    for path in sorted(paths):
        if path.name in SPECIAL_FILES or path.is_relative_to(skip) or any(
            part.startswith(".") for part in path.relative_to(root.resolve()).parts
        ):
            continue
        try:
            data = yamlfile.load(path)
        except (yamlfile.YamlProblem, OSError, UnicodeDecodeError):
            continue  # `dvcbot kb check` reports it; nothing of it can be claimed
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            continue
        entry_id = data["id"]
        curated.ids.add(entry_id)
        if data.get("code"):
            curated.codes[str(data["code"])] = entry_id
        names = [data.get("title"), data.get("question"), *(data.get("aliases") or [])]
        for name in names:
            if isinstance(name, str):
                curated.surfaces.setdefault(surface_key(name), entry_id)
    return curated


def read_lines(path: Path) -> list[str]:
    with path.open("rb") as probe:
        zipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if zipped else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [line for line in handle]


@dataclass
class Outcome:
    written: list[str] = field(default_factory=list)  # entry ids
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, code, reason
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # line, code, curated id
    renamed: list[tuple[str, str]] = field(default_factory=list)  # code, new title
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # line, code, note


# -- the steps ----------------------------------------------------------------------------------


def convert_all(lines: list[str], today: dt.date, progress: Progress,
                outcome: Outcome) -> list[tuple[int, Converted]]:
    converted = []
    for number, line in enumerate(lines, 1):
        progress.step()
        if not line.strip():
            continue
        try:
            # NFC: the portal's text mixes composed and combining diacritics ('ấ' two ways)
            record = json.loads(unicodedata.normalize("NFC", line.strip()))
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg}, column {exc.colno})"
            outcome.rejected.append((number, "?", reason))
            continue
        code = str(record.get("ma_thu_tuc", "?")) if isinstance(record, dict) else "?"
        try:
            item = convert(record, today)
        except Rejected as exc:
            outcome.rejected.append((number, code, exc.reason))
            continue
        converted.append((number, item))
        outcome.notes += [(number, item.code, note) for note in item.notes]
    return converted


def resolve(items: list[tuple[int, Converted]], curated: Curated,
            outcome: Outcome) -> list[tuple[int, Converted]]:
    """Drop what is covered or repeated; make every id and title unique next to the curated."""
    first_line: dict[str, int] = {}
    kept = []
    for number, item in items:
        if item.code in curated.codes:
            outcome.skipped.append((number, item.code, curated.codes[item.code]))
        elif item.code in first_line:
            outcome.rejected.append((number, item.code,
                                     f"code repeats the record on line {first_line[item.code]}"))
        elif item.data["id"] in curated.ids:
            outcome.rejected.append((number, item.code,
                                     f"id {item.data['id']!r} is used by a curated entry"))
        else:
            first_line[item.code] = number
            kept.append((number, item))
    counts = Counter(surface_key(item.title) for _, item in kept)
    unique = []
    for number, item in kept:
        key = surface_key(item.title)
        if counts[key] > 1 or key in curated.surfaces:
            item.data["title"] = f"{item.title} (mã {item.code})"
            outcome.renamed.append((item.code, item.title))
            key = surface_key(item.title)
            if key in curated.surfaces:
                outcome.rejected.append((number, item.code,
                                         f"title is claimed by {curated.surfaces[key]!r}"))
                continue
        unique.append((number, item))
    return unique


def render(item: Converted) -> str:
    """The file's text, or ``Rejected`` when it would not load back as a valid entry."""
    text: str = yaml.dump(item.data, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                          width=100, default_flow_style=False)
    reread = yaml.load(text, Loader=_Loader)
    if reread != item.data:
        raise Rejected("does not survive a YAML round trip")
    try:
        _ENTRY.validate_python(reread)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_url=False)[:3]
        )
        raise Rejected(f"schema: {problems}") from None
    return text


def write_all(items: list[tuple[int, Converted]], staging: Path, progress: Progress,
              outcome: Outcome) -> None:
    for number, item in items:
        progress.step()
        try:
            text = render(item)
        except Rejected as exc:
            outcome.rejected.append((number, item.code, exc.reason))
            continue
        (staging / f"{item.data['id']}.yaml").write_text(text, encoding="utf-8")
        outcome.written.append(item.data["id"])


# -- the folder -----------------------------------------------------------------------------------


def check_out(out: Path) -> None:
    """Only an empty folder or one an earlier import wrote may be replaced."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise click.ClickException(
            f"{out} exists and was not written by `dvcbot kb import`; choose another --out"
        )


def swap_in(staging: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


# -- progress and report -------------------------------------------------------------------------


class Progress:
    """A bar on a terminal; on a pipe, a plain ``label: done/total`` line every few hundred."""

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self.label, self.total, self.stream, self.done = label, total, stream, 0
        self._bar: Any = None
        if stream.isatty():
            self._bar = click.progressbar(length=total, label=label, file=stream)
            self._bar.__enter__()

    def step(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif self.done % PLAIN_EVERY == 0 or self.done == self.total:
            click.echo(f"{self.label}: {self.done}/{self.total}", file=self.stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def report(outcome: Outcome, total: int, out: Path, verbose: bool) -> None:
    echo = click.echo
    echo(f"records read: {total}")
    echo(f"entries written: {len(outcome.written)} to {out}")
    if outcome.skipped:
        echo(f"skipped, already curated: {len(outcome.skipped)}")
        for number, code, entry_id in outcome.skipped:
            echo(f"  line {number}: {code} is the curated entry {entry_id!r}")
    if outcome.renamed:
        echo(f"titles made unique with the code: {len(outcome.renamed)}")
    if outcome.notes:
        by_reason = Counter(_reason_kind(note) for _, _, note in outcome.notes)
        records = len({number for number, _, _ in outcome.notes})
        echo(f"written with a part left out: {records} records"
             + ("" if verbose else " (--verbose lists each)"))
        for reason, count in by_reason.most_common():
            echo(f"  {count:>5}  {reason}")
        if verbose:
            for number, code, note in outcome.notes:
                echo(f"  line {number}: {code}: {note}")
    echo(f"could not import: {len(outcome.rejected)} records")
    for number, code, reason in sorted(outcome.rejected):
        echo(f"  line {number}: {code}: {reason}")


def _reason_kind(note: str) -> str:
    """'Trực tiếp: time has no unit; …' → 'time has no unit; …' (counted over channels)."""
    head, _, tail = note.partition(": ")
    text = tail if head in {"Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính"} else note
    return text.split(" (", 1)[0] if "run together" in text else text


# -- the command ----------------------------------------------------------------------------------


def run_import(file: Path, out: Path, knowledge_dir: Path | None, today: dt.date,
               stream: TextIO) -> tuple[Outcome, int]:
    out = out.resolve()
    check_out(out)
    lines = read_lines(file)
    outcome = Outcome()
    curated = read_curated(knowledge_dir, skip=out)
    progress = Progress("converting", len(lines), stream)
    items = convert_all(lines, today, progress, outcome)
    progress.close()
    items = resolve(items, curated, outcome)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        progress = Progress("writing", len(items), stream)
        write_all(items, staging, progress, outcome)
        progress.close()
        (staging / MARKER).write_text(
            f"source: {file.name}\ndate: {today.isoformat()}\nentries: {len(outcome.written)}\n",
            encoding="utf-8",
        )
        swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return outcome, len([line for line in lines if line.strip()])


@click.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=True, path_type=Path),
              help="Folder for the entries (replaced as a whole), e.g. knowledge/imported.")
@click.option("--knowledge-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Curated knowledge the entries must not clash with (default: KNOWLEDGE_DIR).")
@click.option("--verbose", is_flag=True, help="List every part left out, record by record.")
def import_command(file: Path, out: Path, knowledge_dir: Path | None, verbose: bool) -> None:
    """Convert national portal records (JSON lines, .gz or plain) into knowledge entries."""
    if knowledge_dir is None:
        from bot.config import ConfigError, load_settings

        try:
            knowledge_dir = load_settings().knowledge_dir
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        outcome, total = run_import(file, out, knowledge_dir, dt.date.today(), sys.stderr)
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise click.ClickException(f"cannot read {file}: {exc}") from None
    report(outcome, total, out, verbose)
