"""Gettext catalogs (``locales/<lang>/LC_MESSAGES/messages.po``) read at start-up with Babel.

No compile step: the ``.po`` files are parsed directly.  Message ids are symbolic keys
(``decline.text``), so both languages are complete translations of the same key set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
DEFAULT = "vi"


class MissingTranslation(KeyError):
    pass


class I18n:
    def __init__(self, locales_dir: Path) -> None:
        self.catalogs: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            path = locales_dir / lang / "LC_MESSAGES" / "messages.po"
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
            self.catalogs[lang] = {
                str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str)
            }

    def keys(self, lang: str) -> set[str]:
        return set(self.catalogs[lang])

    def gettext(self, lang: str, key: str, **values: Any) -> str:
        catalog = self.catalogs.get(lang) or self.catalogs[DEFAULT]
        text = catalog.get(key) or self.catalogs[DEFAULT].get(key)
        if not text:
            raise MissingTranslation(key)
        return text.format(**values) if values else text


def pick_language(hint: str | None, default: str = DEFAULT) -> str:
    """A platform language code ('en-US', 'vi') to one of ours."""
    if hint:
        base = hint.lower().split("-")[0].split("_")[0]
        if base in LANGUAGES:
            return base
    return default
