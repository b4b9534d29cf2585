"""Inline SVG charts for the HTML report: no scripts, no fonts to load, no external references.

Every chart is a plain ``<svg viewBox=…>`` string that scales to the page width and prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from bot.reports.indicator import Group

WIDTH = 680
INK = "#1f2937"
GRID = "#d1d5db"
ACCENT = "#1d4ed8"
MUTED = "#9ca3af"


def _svg(height: int, title: str, body: list[str]) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'font-family="sans-serif" font-size="11" fill="{INK}">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>'
            f"{escape(text)}</text>")


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float = 1) -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}" stroke-width="{width}"/>')


def _dot(x: float, y: float, hollow: bool) -> str:
    fill = "#ffffff" if hollow else ACCENT
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="{ACCENT}" '
            'stroke-width="1.5"/>')


def _percent_grid(left: float, right: float, top: float, bottom: float) -> list[str]:
    parts = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = bottom - share * (bottom - top)
        parts.append(_line(left, y, right, y, GRID))
        parts.append(_text(left - 6, y + 4, f"{share * 100:.0f}%", "end"))
    return parts


def trend_chart(weeks: Sequence[str], groups: Sequence[Group], title: str) -> str:
    """The indicator per ISO week with its interval; hollow points: too few ratings to judge."""
    height, left, right, top, bottom = 240, 48, WIDTH - 16, 16, 200
    by_week = {g.key: g for g in groups}
    step = (right - left) / max(len(weeks), 1)
    every = max(1, len(weeks) // 12)
    body = _percent_grid(left, right, top, bottom)
    points = []
    for i, week in enumerate(weeks):
        x = left + step * (i + 0.5)
        if i % every == 0:
            body.append(_text(x, bottom + 16, week[5:], "middle"))
        group = by_week.get(week)
        if group is None or group.indicator is None or group.interval is None:
            continue
        low, high = group.interval
        body.append(_line(x, bottom - low * (bottom - top), x, bottom - high * (bottom - top),
                          MUTED, 2))
        y = bottom - group.indicator * (bottom - top)
        points.append((x, y, group.too_few))
        body.append(_text(x, bottom + 30, f"n={group.ratings}", "middle", ' font-size="9"'))
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="1.5"/>')
    body += [_dot(x, y, hollow) for x, y, hollow in points]
    return _svg(height, title, body)


def field_chart(groups: Sequence[Group], title: str, limit: int = 15) -> str:
    """One row per field: the indicator as a dot and its 95% interval as a whisker."""
    rows = [g for g in groups if g.interval is not None][:limit]
    left, right, row_height = 220, WIDTH - 70, 24
    height = 40 + row_height * max(len(rows), 1)
    body = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + share * (right - left)
        body.append(_line(x, 14, x, height - 20, GRID))
        body.append(_text(x, height - 6, f"{share * 100:.0f}%", "middle"))
    for i, group in enumerate(rows):
        y = 28 + i * row_height
        low, high = group.interval or (0.0, 0.0)
        label = group.label if len(group.label) <= 34 else group.label[:33] + "…"
        body.append(_text(left - 8, y + 4, label, "end"))
        body.append(_line(left + low * (right - left), y, left + high * (right - left), y,
                          MUTED, 2))
        for edge in (low, high):
            x = left + edge * (right - left)
            body.append(_line(x, y - 5, x, y + 5, MUTED, 2))
        body.append(_dot(left + (group.indicator or 0.0) * (right - left), y, group.too_few))
        body.append(_text(right + 8, y + 4, f"n={group.ratings}"))
    return _svg(height, title, body)


def days_chart(per_day: Sequence[tuple[dt.date, int]], title: str) -> str:
    """Questions per day as bars, with the largest day's count marked on the axis."""
    height, left, right, top, bottom = 220, 48, WIDTH - 16, 16, 190
    peak = max((n for _, n in per_day), default=0) or 1
    step = (right - left) / max(len(per_day), 1)
    every = max(1, len(per_day) // 10)
    body = [_line(left, bottom, right, bottom, INK), _line(left, top, right, top, GRID),
            _text(left - 6, top + 4, str(peak), "end"), _text(left - 6, bottom + 4, "0", "end")]
    for i, (day, n) in enumerate(per_day):
        x = left + step * i
        bar = n / peak * (bottom - top)
        if n:
            body.append(f'<rect x="{x + step * 0.1:.1f}" y="{bottom - bar:.1f}" '
                        f'width="{step * 0.8:.1f}" height="{bar:.1f}" fill="{ACCENT}"/>')
        if i % every == 0:
            body.append(_text(x + step / 2, bottom + 16, day.strftime("%d/%m"), "middle"))
    return _svg(height, title, body)
