"""The `dvcbot` command line."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from bot.cli.common import LANG_OPTION, staff_words
from bot.cli.common import settings_or_exit as _settings
from bot.config import Settings
from bot.knowledge.loader import KnowledgeError, load_knowledge


@click.group()
@click.version_option(package_name="dvc-bot")
def main() -> None:
    """dvc-bot: a citizens' assistant for Vietnamese online public services."""


@main.command()
def chat() -> None:
    """Chat in the terminal (buttons are numbered choices)."""
    from bot.app import run_chat

    settings = _settings()
    try:
        asyncio.run(run_chat(settings))
    except KnowledgeError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        message = "the knowledge base has errors; fix them and start again"
        raise click.ClickException(message) from None


@main.command()
def run() -> None:
    """Run what is configured: Telegram polling, webhooks, or (nothing set) the console chat
    with the web chat and the dashboard on 127.0.0.1."""
    settings = _settings()
    if settings.telegram_enabled and not settings.public_url:
        from bot.app import run_polling

        asyncio.run(run_polling(settings))
    elif settings.telegram_enabled or settings.zalo_enabled:
        from bot.app import run_server

        run_server(settings)
    else:
        from bot.app import run_local

        t, lang = staff_words(), settings.default_locale
        click.echo(t(lang, "cli.nothing_configured"), err=True)
        try:
            asyncio.run(run_local(settings, lambda text: click.echo(text, err=True)))
        except KnowledgeError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(t(lang, "cli.kb_errors")) from None


@main.command()
def serve() -> None:
    """Serve the webhooks (Telegram, Zalo), the web chat, the dashboard and /healthz on PORT."""
    from bot.app import run_server

    run_server(_settings())


@main.command()
@click.argument("question")
def ask(question: str) -> None:
    """Show how the engine reads one question: decision, top 5, section."""
    from bot.retrieval.engine import Engine

    settings = _settings()
    engine = Engine(_load_or_exit(settings.knowledge_dir))
    result = engine.ask(question)
    click.echo(f"question: {question}")
    click.echo(f"normalised: {engine.normalise(question).text}")
    click.echo(f"decision: {result.decision}")
    click.echo(f"section: {result.section or '-'}")
    for i, cand in enumerate(result.candidates, 1):
        click.echo(
            f"  {i}. {cand.entry_id:<28} score={cand.score:.3f} "
            f"confidence={cand.confidence:.3f} bm25={cand.bm25:.2f}  {cand.title}"
        )
    click.echo(f"elapsed_ms: {result.elapsed_ms:.2f}")


def _load_or_exit(root: Path):  # type: ignore[no-untyped-def]
    try:
        return load_knowledge(root)
    except KnowledgeError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(exc.problems)} error(s) in {root}") from None


@main.command(name="eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write per-question results to this file.",
)
@click.option("--knowledge-dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def eval_(file: Path, json_out: Path | None, knowledge_dir: Path | None) -> None:
    """Run a question or conversation file (shared/eval/FORMAT.md) and print the figures."""
    from bot.conversation import evaluation as conversations
    from bot.retrieval import evaluation
    from bot.retrieval.engine import Engine

    settings = _settings(knowledge_dir=knowledge_dir)
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    if conversations.is_conversations(data):
        asyncio.run(_eval_conversations(settings, conversations.parse(data), json_out))
        return
    engine = Engine(_load_or_exit(settings.knowledge_dir))
    report = evaluation.run(engine, evaluation.load_cases(file))
    click.echo(
        f"{'category':<16} {'n':>4} {'top1':>6} {'top3':>6} {'decline':>8} {'f_decl':>7} "
        f"{'section':>8}"
    )
    for name, fig in report.by_category().items():
        click.echo(
            f"{name:<16} {int(fig['n']):>4} {fig['top1']:>6.3f} {fig['top3']:>6.3f} "
            f"{fig['decline']:>8.3f} {fig['false_decline']:>7.3f} {fig['section']:>8.3f}"
        )
    if json_out:
        rows = [o.as_json() for o in report.outcomes]
        json_out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(report.last_line())


async def _eval_conversations(settings: Settings, items: list[Any], json_out: Path | None) -> None:
    """Each conversation through the real dialog, on a temporary store."""
    import tempfile

    from bot.app import build_dialog, build_services
    from bot.conversation import evaluation as conversations

    with tempfile.TemporaryDirectory(prefix="dvcbot-eval-") as tmp:
        services = build_services(settings.model_copy(update={"data_dir": Path(tmp)}))
        try:
            report = await conversations.run(build_dialog(services), items)
        finally:
            services.store.close()
    for line in report.table():
        click.echo(line)
    if json_out:
        rows = [t.as_json() for t in report.turns]
        json_out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(report.last_line())


@main.group()
def kb() -> None:
    """Knowledge base tools for staff."""


@kb.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@LANG_OPTION
def check(directory: Path | None, lang: str | None) -> None:
    """Validate the knowledge folder: exit 0 when valid, 1 with every error as file:line."""
    settings = _settings()
    root = directory or settings.knowledge_dir
    lang = lang or settings.default_locale
    t = staff_words()
    try:
        base = load_knowledge(root)
    except KnowledgeError as exc:
        for problem in exc.problems:
            click.echo(problem.render(lang, t))
        for warning in exc.warnings:
            click.echo(t(lang, "kb.check.warning", problem=warning.render(lang, t)))
        click.echo(t(lang, "kb.check.failed", n=len(exc.problems)))
        sys.exit(1)
    for warning in base.warnings:
        click.echo(t(lang, "kb.check.warning", problem=warning.render(lang, t)))
    click.echo(t(lang, "kb.check.ok", entries=len(base.entries), offices=len(base.offices),
                 synonyms=len(base.synonyms), version=base.version))


@main.group()
def admin() -> None:
    """Accounts of the officials' dashboard (/admin)."""


def _store(settings: Settings) -> Any:
    from bot.store.store import Store

    return Store(settings.store_target)


@admin.command("add-user")
@click.argument("name")
@click.option("--update", is_flag=True, help="Give an existing account a new password.")
def add_user(name: str, update: bool) -> None:
    """Make a dashboard account NAME; the password is asked for twice (not echoed)."""
    from bot.channels.web.accounts import AccountError, check_name, check_password, hash_password
    from bot.store.store import add_account, set_password

    settings = _settings()
    t, lang = staff_words(), settings.default_locale
    try:
        check_name(name)
        password = check_password(click.prompt(t(lang, "cli.password"), hide_input=True,
                                               confirmation_prompt=True))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    store = _store(settings)
    try:
        hashed = hash_password(password)
        if update:
            if not set_password(store, name, hashed):
                raise click.ClickException(t(lang, "cli.no_account", name=name))
            click.echo(t(lang, "cli.password_changed", name=name))
        elif not add_account(store, name, hashed):
            raise click.ClickException(t(lang, "cli.account_exists", name=name))
        else:
            click.echo(t(lang, "cli.account_made", name=name))
    finally:
        store.close()


@admin.command("remove-user")
@click.argument("name")
def remove_user(name: str) -> None:
    """Delete the dashboard account NAME and end its sessions."""
    from bot.store.store import remove_account

    settings = _settings()
    t, lang = staff_words(), settings.default_locale
    store = _store(settings)
    try:
        if not remove_account(store, name):
            raise click.ClickException(t(lang, "cli.no_account", name=name))
    finally:
        store.close()
    click.echo(t(lang, "cli.account_removed", name=name))


@admin.command("list-users")
def list_users() -> None:
    """The dashboard accounts, with when they last logged in."""
    from bot.store.store import accounts

    settings = _settings()
    t, lang = staff_words(), settings.default_locale
    store = _store(settings)
    try:
        rows = accounts(store)
    finally:
        store.close()
    if not rows:
        click.echo(t(lang, "cli.no_accounts"))
    for row in rows:
        click.echo(t(lang, "cli.account_row", name=row["name"], created=row["created"],
                     last=row["last_login"] or t(lang, "cli.never")))


from bot.reports.command import report  # noqa: E402 - the officials' report command, in its own module

main.add_command(report)

from bot.cli.spreadsheet import (  # noqa: E402 - `kb export`, `kb import-xlsx`
    export_command,
    import_xlsx_command,
)
from bot.cli.verify import verify_command  # noqa: E402 - `kb verify`, in its own module
from bot.importer.command import import_command  # noqa: E402 - `kb import`, in its own module
from bot.reports.gaps import gaps_command  # noqa: E402 - `kb gaps`, in its own module

kb.add_command(import_command)
kb.add_command(gaps_command)
kb.add_command(verify_command)
kb.add_command(export_command)
kb.add_command(import_xlsx_command)

if __name__ == "__main__":  # pragma: no cover
    main()
