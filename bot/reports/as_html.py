"""The report as one self-contained HTML file: inline CSS and SVG, opens offline, reads on a phone,
prints on A4.  The page is ``bot/templates/report.html.j2``; its words are ``report.*`` keys."""

from __future__ import annotations

import datetime as dt
from functools import partial

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.conversation.i18n import DEFAULT
from bot.conversation.render import TEMPLATES
from bot.reports.chart_svg import days_chart, field_chart, trend_chart
from bot.reports.comments import local_day
from bot.reports.indicator import BREAKDOWNS, MIN_RATINGS, Summary
from bot.reports.labels import (
    DECISION_LABELS,
    duration,
    fmt_pct,
    interval_text,
    period_text,
    word,
)

TEMPLATE = "report.html.j2"

_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                   undefined=StrictUndefined)


def to_html(summary: Summary, lang: str = DEFAULT, generated: dt.datetime | None = None) -> str:
    usage = summary.usage
    weeks = summary.period.weeks()
    stamp = (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    charts = {  # built from escaped parts (bot.reports.chart_svg), so safe to insert as markup
        "trend": Markup(trend_chart(weeks, summary.groups.get("week", ()),
                                    word(lang, "report.chart_trend"))),
        "fields": Markup(field_chart(summary.groups.get("field", ()),
                                     word(lang, "report.chart_field"))),
        "days": Markup(days_chart(usage.per_day, word(lang, "report.chart_days"))),
    }
    return _ENV.get_template(TEMPLATE).render(
        _=partial(word, lang), lang=lang, generated=stamp, min_ratings=MIN_RATINGS, **charts,
        period=period_text(summary.period.start, summary.period.end, lang),
        overall=summary.overall,
        pct=lambda v: fmt_pct(v, lang), ci=lambda g: interval_text(g, lang),
        has_fields=bool(summary.groups.get("field")),
        breakdowns=[(k, summary.groups[k]) for k in BREAKDOWNS if summary.groups.get(k)],
        reasons=summary.reasons,
        comments=summary.comments, low=summary.low, day=lambda ts: local_day(ts, lang),
        handoff=summary.handoff, duration=lambda v: duration(v, lang),
        usage=usage,
        shares=[(DECISION_LABELS[d], fmt_pct(usage.share(d), lang))
                for d in ("answer", "clarify", "decline", "other")],
        ranked=[("top_entries", usage.top_entries), ("top_unanswered", usage.top_unanswered)],
    )
