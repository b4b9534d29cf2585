"""The report as one self-contained HTML file: inline CSS and SVG, opens offline, prints on A4."""

from __future__ import annotations

import datetime as dt

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from bot.reports.chart_svg import days_chart, field_chart, trend_chart
from bot.reports.indicator import BREAKDOWNS, Summary
from bot.reports.labels import DECISION_LABELS, fmt_pct, interval_text, labels, period_text

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ w.title }} — {{ period }}</title>
<style>
@page { size: A4; margin: 15mm 14mm; }
body { font-family: "Segoe UI", Roboto, Arial, sans-serif; color: #1f2937; margin: 0 auto;
       max-width: 190mm; font-size: 10.5pt; line-height: 1.4; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 2mm; } h2 { font-size: 13pt; margin: 7mm 0 2mm; }
h3 { font-size: 11pt; margin: 5mm 0 1mm; }
.muted { color: #6b7280; } .big { font-size: 15pt; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; }
table.groups { table-layout: fixed; } table.groups th { font-size: 9pt; vertical-align: bottom; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 1.2mm 2mm; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.n { text-align: right; }
tr.few td { color: #6b7280; } .flag { font-size: 8.5pt; color: #b45309; }
figure { margin: 2mm 0 4mm; break-inside: avoid; } figcaption { font-weight: 600; }
section, table { break-inside: auto; } tr { break-inside: avoid; } h2, h3 { break-after: avoid; }
@media print { body { padding: 0; max-width: none; } }
</style>
</head>
<body>
<h1>{{ w.title }}</h1>
<p class="muted">{{ w.period }}: {{ period }} · {{ w.generated }}: {{ generated }}</p>

<h2>{{ w.indicator }}</h2>
{% if overall.ratings %}
<p><span class="big">{{ pct(overall.indicator) }}</span>
 ({{ overall.satisfied }}/{{ overall.ratings }}; {{ w.ci }}: {{ ci(overall) }})
 {% if overall.too_few %}<span class="flag">{{ w.too_few }}</span>{% endif %}</p>
{% else %}<p>{{ w.no_ratings }}</p>{% endif %}
<p class="muted">{{ w.indicator_note }}</p>

<figure><figcaption>{{ w.chart_trend }}</figcaption>{{ trend }}</figure>
{% if has_fields %}
<figure><figcaption>{{ w.chart_field }}</figcaption>{{ fields }}</figure>
{% endif %}

{% for kind, groups in breakdowns %}
<h3>{{ w[kind] }}</h3>
<table class="groups"><colgroup><col style="width:36%"><col style="width:10%">
<col style="width:9%"><col style="width:9%"><col style="width:20%"><col style="width:16%">
</colgroup>
<thead><tr><th>{{ w.group }}</th><th class="n">{{ w.ratings }}</th>
<th class="n">{{ w.satisfied }}</th>
<th class="n">{{ w.indicator_short }}</th><th class="n">{{ w.ci }}</th><th></th></tr></thead>
<tbody>
{% for g in groups %}<tr{% if g.too_few %} class="few"{% endif %}><td>{{ g.label }}</td>
<td class="n">{{ g.ratings }}</td><td class="n">{{ g.satisfied }}</td>
<td class="n">{{ pct(g.indicator) }}</td><td class="n">{{ ci(g) }}</td>
<td>{% if g.too_few %}<span class="flag">{{ w.too_few }}</span>{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}

<h3>{{ w.reasons }}</h3>
{% if reasons %}<table><tbody>{% for reason, n in reasons %}
<tr><td>{{ reason }}</td><td class="n">{{ n }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p>{{ w.none }}</p>{% endif %}

<h2>{{ w.usage }}</h2>
<table><tbody>
<tr><td>{{ w.questions }}</td><td class="n">{{ usage.questions }}</td></tr>
{% for key, share in shares %}
<tr><td>{{ w[key] }}</td><td class="n">{{ share }}</td></tr>
{% endfor %}
</tbody></table>
<figure><figcaption>{{ w.chart_days }}</figcaption>{{ days }}</figure>

{% for title, items in ranked %}
<h3>{{ title }}</h3>
{% if items %}<table><tbody>{% for label, n in items %}
<tr><td>{{ loop.index }}. {{ label }}</td><td class="n">{{ n }}</td></tr>
{% endfor %}</tbody></table>
{% else %}<p>{{ w.none }}</p>{% endif %}
{% endfor %}
</body>
</html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_TEMPLATE = _ENV.from_string(TEMPLATE)


def to_html(summary: Summary, lang: str = "vi", generated: dt.datetime | None = None) -> str:
    words = labels(lang)
    usage = summary.usage
    weeks = summary.period.weeks()
    stamp = (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    charts = {  # built from escaped parts (bot.reports.chart_svg), so safe to insert as markup
        "trend": Markup(trend_chart(weeks, summary.groups.get("week", ()), words["chart_trend"])),
        "fields": Markup(field_chart(summary.groups.get("field", ()), words["chart_field"])),
        "days": Markup(days_chart(usage.per_day, words["chart_days"])),
    }
    return _TEMPLATE.render(
        lang=lang, w=words, generated=stamp, **charts,
        period=period_text(summary.period.start, summary.period.end, lang),
        overall=summary.overall,
        pct=lambda v: fmt_pct(v, lang), ci=lambda g: interval_text(g, lang),
        has_fields=bool(summary.groups.get("field")),
        breakdowns=[(k, summary.groups[k]) for k in BREAKDOWNS if summary.groups.get(k)],
        reasons=summary.reasons,
        usage=usage,
        shares=[(DECISION_LABELS[d], fmt_pct(usage.share(d), lang))
                for d in ("answer", "clarify", "decline", "other")],
        ranked=[(words["top_entries"], usage.top_entries),
                (words["top_unanswered"], usage.top_unanswered)],
    )
