"""Jinja2 rendering of replies. Output is plain text; each channel escapes at its edge."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import jinja2

from bot.conversation.i18n import I18n

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class Renderer:
    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n
        # Plain-text output: HTML escaping would be wrong here and is done by each channel.
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )

    def render(self, template: str, lang: str, **context: Any) -> str:
        tmpl = self.env.get_template(f"{template}.j2")
        text = tmpl.render(_=partial(self.i18n.gettext, lang), lang=lang, **context)
        return _tidy(text)

    def t(self, lang: str, key: str, **values: Any) -> str:
        return self.i18n.gettext(lang, key, **values)


def _tidy(text: str) -> str:
    """At most one blank line in a row, no trailing spaces."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
