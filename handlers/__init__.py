"""Intent handlers, one module each, assembled once in this order: the first match wins."""

from __future__ import annotations

from handlers import (
    admin,
    ask,
    complaint,
    fallback,
    feedback,
    handoff,
    language,
    menu,
    offices,
    procedure,
    smalltalk,
    staff,
    start,
)

ROUTES = (
    staff.ROUTE,  # the staff group first: nothing from it reaches the citizens' handlers
    start.ROUTE,
    language.ROUTE,
    admin.ROUTE,
    feedback.ROUTE,
    procedure.ROUTE,
    menu.ROUTE,
    offices.ROUTE,
    handoff.ROUTE,
    complaint.ROUTE,
    smalltalk.ROUTE,
    ask.ROUTE,
    fallback.ROUTE,
)
