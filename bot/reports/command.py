"""`dvcbot report`: the satisfaction indicator and usage for a period, as text, HTML, CSV or XLSX.

    dvcbot report --from 2026-01-01 --to 2026-03-31 --format html --out q1.html

Dates are local (Vietnam) calendar days, both included; without them: the last 30 days.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from bot import logs
from bot.config import ConfigError, Settings, load_settings
from bot.conversation.i18n import DEFAULT, LANGUAGES
from bot.knowledge.loader import KnowledgeError, load_knowledge
from bot.reports.as_csv import to_csv
from bot.reports.as_html import to_html
from bot.reports.as_text import full_text
from bot.reports.as_xlsx import to_xlsx
from bot.reports.catalog import word
from bot.reports.indicator import (
    Names,
    Period,
    Summary,
    channel_names,
    local_today,
    names_from,
    summarise,
)
from bot.store.store import Store

FORMATS = ("text", "html", "csv", "xlsx")
DEFAULT_DAYS = 30


def render(summary: Summary, fmt: str, lang: str = DEFAULT) -> bytes:
    if fmt == "xlsx":
        return to_xlsx(summary, lang)
    if fmt == "html":
        return to_html(summary, lang).encode("utf-8")
    if fmt == "csv":
        return to_csv(summary).encode("utf-8")
    return full_text(summary, lang).encode("utf-8")


def period_of(start: dt.date | None, end: dt.date | None) -> Period:
    end = end or local_today()
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise click.BadParameter(f"--from {start} is after --to {end}")
    return Period(start, end)


def names_for(settings: Settings, lang: str) -> Names:
    """Procedure and office names from the knowledge base; ids when it does not load."""
    try:
        return names_from(load_knowledge(settings.knowledge_dir), lang)
    except KnowledgeError:
        click.echo("warning: the knowledge base has errors; the report shows ids, not names",
                   err=True)
        return Names(channels=channel_names(lang), overall=word(lang, "report.all"))


def summary_for(settings: Settings, period: Period, lang: str) -> Summary:
    if settings.store_missing:
        raise click.ClickException(f"no database at {settings.db_path} (check DATA_DIR)")
    store = Store(settings.store_target)
    try:
        return summarise(store.db, period, names_for(settings, lang), settings.hours)
    finally:
        store.close()


def _write(data: bytes, fmt: str, out: Path | None) -> None:
    if out is not None:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
        click.echo(f"wrote {out} ({len(data)} bytes)", err=True)
    elif fmt == "xlsx" and sys.stdout.isatty():
        raise click.UsageError("an XLSX workbook is binary: give --out FILE")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("report")
@click.option("--from", "start", type=DATE, help="First day (YYYY-MM-DD); default 30 days back.")
@click.option("--to", "end", type=DATE, help="Last day, included (YYYY-MM-DD); default today.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--lang", type=click.Choice(LANGUAGES), default=DEFAULT, show_default=True)
def report(start: dt.datetime | None, end: dt.datetime | None, fmt: str, out: Path | None,
           lang: str) -> None:
    """The citizen-satisfaction indicator and usage for a period (officials)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logs.setup(settings)
    period = period_of(start.date() if start else None, end.date() if end else None)
    _write(render(summary_for(settings, period, lang), fmt, lang), fmt, out)
