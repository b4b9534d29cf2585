"""What every `dvcbot` command shares: settings read once, the staff's words, --lang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot import logs
from bot.config import ConfigError, Settings, load_settings
from bot.knowledge.loader import KnowledgeBase, KnowledgeError, load_knowledge
from bot.knowledge.messages import Translate


def settings_or_exit(**overrides: Any) -> Settings:
    """The settings (``overrides`` that are not None win); a bad setting ends the command."""
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logs.setup(settings)
    return settings


def staff_words() -> Translate:
    """The catalogs' ``gettext(lang, key, **values)``: what staff commands say."""
    from bot.config import LOCALES_DIR
    from bot.conversation.i18n import I18n

    return I18n(LOCALES_DIR).gettext


def knowledge_or_exit(root: Path, lang: str, t: Translate) -> KnowledgeBase:
    """The knowledge base, or every problem in the staff's words and the command ends."""
    try:
        return load_knowledge(root)
    except KnowledgeError as exc:
        for problem in exc.problems:
            click.echo(problem.render(lang, t), err=True)
        raise click.ClickException(t(lang, "kb.check.failed", n=len(exc.problems))) from None


def shown(path: Path, root: Path) -> str:
    """A file as the loader names it: relative to the knowledge folder's parent."""
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return str(path)


LANG_OPTION = click.option(
    "--lang", type=click.Choice(["vi", "en"]), default=None,
    help="Language of the messages (default: DEFAULT_LOCALE, Vietnamese).",
)
