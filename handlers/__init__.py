"""Intent handlers, one module each, assembled once in this order: the first match wins."""

from __future__ import annotations

from handlers import (
    admin,
    ask,
    fallback,
    feedback,
    language,
    menu,
    offices,
    procedure,
    smalltalk,
    start,
)

ROUTES = (
    start.ROUTE,
    language.ROUTE,
    admin.ROUTE,
    feedback.ROUTE,
    procedure.ROUTE,
    menu.ROUTE,
    offices.ROUTE,
    smalltalk.ROUTE,
    ask.ROUTE,
    fallback.ROUTE,
)
