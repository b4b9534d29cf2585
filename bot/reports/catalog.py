"""The words of every report, read once from the gettext catalogs (``locales/``).

Keys are ``report.*`` (the report itself), ``gaps.*`` (the officials' /gaps reply).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from bot.config import LOCALES_DIR
from bot.conversation.i18n import I18n


@cache
def catalogs() -> I18n:
    return I18n(LOCALES_DIR)


def word(lang: str, key: str, **values: Any) -> str:
    """The text of ``key`` in ``lang`` (Vietnamese when missing), ``values`` filled in."""
    return catalogs().gettext(lang, key, **values)
