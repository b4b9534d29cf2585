"""`dvcbot kb verify [--data FILE]`: curated procedures against the national portal's records.

The comparison is ``bot.knowledge.verify``; this module reads the national records (JSON lines,
gzip or plain) with the importer's table parsers and prints one line per difference as
``file:line: field: ours … / national record …`` in the staff's language.  Exit 0 when nothing
is left to settle, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.common import LANG_OPTION, knowledge_or_exit, settings_or_exit, shown, staff_words
from bot.importer import tables
from bot.importer.command import read_lines
from bot.importer.record import online_of
from bot.knowledge import yamlfile
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.messages import Translate
from bot.knowledge.schema import Procedure
from bot.knowledge.verify import Difference, NationalRecord, Verdict, verdict

DEFAULT_DATA = Path("..") / "shared" / "data" / "national-procedures.jsonl.gz"


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return tables.squash(value) if isinstance(value, str) else ""


def national_record(record: dict[str, Any]) -> NationalRecord:
    """One raw record (as crawled) → what `kb verify` compares."""
    table = tables.parse_channels(record.get("cach_thuc_thuc_hien") or "")
    times: dict[str, tuple[str, ...]] = {}
    fees: dict[str, tuple[str, ...]] = {}
    for row in table.rows:
        if row.time:
            times[row.channel] = (*times.get(row.channel, ()), row.time)
        if row.fee:
            fees[row.channel] = (*fees.get(row.channel, ()), row.fee)
    agency = next((v for v in (_text(record, "co_quan_thuc_hien"),
                               _text(record, "co_quan_co_tham_quyen")) if not tables.is_none(v)),
                  "")
    legal = record.get("can_cu_phap_ly") or ""
    codes = [legal[a:b] for a, b in tables.legal_codes(legal)] if isinstance(legal, str) else []
    decision = _text(record, "so_quyet_dinh")
    if decision and not tables.is_none(decision):
        codes.append(decision)
    return NationalRecord(
        code=_text(record, "ma_thu_tuc"), title=_text(record, "ten_thu_tuc"),
        url=_text(record, "detail_url"), channels=tuple(table.channels), times=times, fees=fees,
        agency=agency, legal_codes=tuple(dict.fromkeys(codes)),
        online=online_of(table.channels, record),
    )


def read_records(path: Path, codes: set[str]) -> dict[str, NationalRecord]:
    """The records of ``codes`` (the first of a repeated code)."""
    found: dict[str, NationalRecord] = {}
    for line in read_lines(path):
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            continue
        code = raw.get("ma_thu_tuc") if isinstance(raw, dict) else None
        if isinstance(code, str) and code.strip() in codes and code.strip() not in found:
            found[code.strip()] = national_record(raw)
    return found


def where(kb: KnowledgeBase, root: Path, entry: Procedure, name: str) -> str:
    """``file:line`` of a top-level field; where it belongs when the entry leaves it out."""
    path = kb.files[entry.id]
    spans = yamlfile.spans(path)
    if (name,) in spans:
        return f"{shown(path, root)}:{spans[(name,)][0]}"
    line, _ = yamlfile.insertion_line(spans, (), name, list(Procedure.model_fields))
    return f"{shown(path, root)}:{line}"


def describe(difference: Difference, lang: str, t: Translate) -> str:
    """``ours … / national record …`` in ``lang``."""
    name = difference.field
    if name == "legal_basis":
        return t(lang, "kb.verify.legal", ours=difference.ours, record=difference.record)
    if name == "online":
        return t(lang, "kb.verify.online", ours=difference.ours,
                 record=t(lang, f"kb.verify.online.{difference.record}"),
                 channels=difference.detail)
    return t(lang, "kb.verify.diff", ours=difference.ours, record=difference.record)


def run_verify(kb: KnowledgeBase, root: Path, records: dict[str, NationalRecord], data: Path,
               lang: str, t: Translate) -> int:
    """Print every unsettled difference; the number of them."""
    verdicts: list[tuple[Procedure, Verdict]] = []
    unknown: list[Procedure] = []
    coded = sorted((e for e in kb.procedures if e.code and e.curated), key=lambda e: e.id)
    for entry in coded:
        record = records.get(entry.code or "")
        if record is None:
            unknown.append(entry)
            continue
        verdicts.append((entry, verdict(entry, record)))
    open_count = 0
    for entry, result in verdicts:
        for difference in result.differences:
            open_count += 1
            click.echo(f"{where(kb, root, entry, difference.field)}: {difference.field}: "
                       f"{describe(difference, lang, t)}")
        for unused in result.unused:
            click.echo(t(lang, "kb.verify.unused",
                         where=where(kb, root, entry, "accepted_differences"),
                         field=unused.field))
    for entry in unknown:
        click.echo(t(lang, "kb.verify.no_record", where=where(kb, root, entry, "code"),
                     code=entry.code or "", data=str(data)))
    accepted = sum(len(r.accepted) for _, r in verdicts)
    click.echo(t(lang, "kb.verify.summary", checked=len(verdicts), open=open_count,
                 accepted=accepted, unknown=len(unknown)))
    return open_count


@click.command(name="verify")
@click.option("--data", "data", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="National records, JSON lines (gzip or plain). "
                   "Default: ../shared/data/national-procedures.jsonl.gz next to the repository.")
@click.option("--knowledge-dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@LANG_OPTION
def verify_command(data: Path | None, knowledge_dir: Path | None, lang: str | None) -> None:
    """Compare fee, time limit, agency, online level and legal basis of every curated procedure
    that has a code with the national record of that code; exit 1 while a difference is
    unsettled."""
    from bot.config import ROOT

    settings = settings_or_exit(knowledge_dir=knowledge_dir)
    lang = lang or settings.default_locale
    t = staff_words()
    path = data or (ROOT / DEFAULT_DATA).resolve()
    if not path.is_file():
        raise click.ClickException(t(lang, "kb.verify.no_data", data=str(path)))
    kb = knowledge_or_exit(settings.knowledge_dir, lang, t)
    codes = {e.code for e in kb.procedures if e.code}
    records = read_records(path, {c for c in codes if c})
    sys.exit(1 if run_verify(kb, settings.knowledge_dir, records, path, lang, t) else 0)
