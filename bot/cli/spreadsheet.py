"""`dvcbot kb export FILE.xlsx` and `dvcbot kb import-xlsx FILE.xlsx [--out DIR]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.common import LANG_OPTION, knowledge_or_exit, settings_or_exit, staff_words
from bot.knowledge import spreadsheet


@click.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--knowledge-dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@LANG_OPTION
def export_command(file: Path, knowledge_dir: Path | None, lang: str | None) -> None:
    """Write the knowledge base to a spreadsheet: one sheet per kind, one row per entry."""
    settings = settings_or_exit(knowledge_dir=knowledge_dir)
    lang = lang or settings.default_locale
    t = staff_words()
    kb = knowledge_or_exit(settings.knowledge_dir, lang, t)
    try:
        counts = spreadsheet.export(kb, file)
    except spreadsheet.ExportError as exc:
        raise click.ClickException(t(lang, "xlsx.export_error", error=str(exc))) from None
    click.echo(t(lang, "xlsx.exported", file=str(file), procedures=counts.get("procedures", 0),
                 faq=counts.get("faq", 0)))


@click.command(name="import-xlsx")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Knowledge folder to write into (default: KNOWLEDGE_DIR).")
@LANG_OPTION
def import_xlsx_command(file: Path, out: Path | None, lang: str | None) -> None:
    """Write the rows of a spreadsheet made by `kb export` back as YAML files; nothing is
    written while a cell has a problem (each reported as sheet!cell)."""
    settings = settings_or_exit()
    lang = lang or settings.default_locale
    t = staff_words()
    target = out or settings.knowledge_dir
    result = spreadsheet.run_import(file, target)
    for warning in result.warnings:
        click.echo(t(lang, "kb.check.warning", problem=spreadsheet.render(warning, lang, t)))
    for problem in sorted(result.problems, key=_order):
        click.echo(spreadsheet.render(problem, lang, t))
    if result.problems:
        click.echo(t(lang, "xlsx.failed", n=len(result.problems)))
        sys.exit(1)
    click.echo(t(lang, "xlsx.written", written=len(result.written), unchanged=result.unchanged,
                 folder=str(target)))


def _order(problem: object) -> tuple[str, int, int]:
    """Sheet, then row, then column (so that K9 comes after K10 is never the case)."""
    where = getattr(problem, "file", "")
    sheet, _, cell = where.partition("!")
    letters = "".join(ch for ch in cell if ch.isalpha())
    digits = "".join(ch for ch in cell if ch.isdigit())
    column = 0
    for ch in letters:
        column = column * 26 + ord(ch.upper()) - 64
    return sheet, int(digits or 0), column
