"""The weekly satisfaction trend as a PNG image for the officials' chat (Pillow).

The picture holds only numbers and dates (Pillow's built-in font has no Vietnamese letters); the
words go in the message that carries it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from bot.reports.indicator import Group

SIZE = (960, 480)
LEFT, RIGHT, TOP, BOTTOM = 72, 930, 30, 400
INK, GRID, ACCENT, MUTED = (31, 41, 55), (209, 213, 219), (29, 78, 216), (156, 163, 175)


def _week_start(week: str) -> dt.date:
    """'2026-W05' → Monday of that ISO week."""
    year, number = week.split("-W")
    return dt.date.fromisocalendar(int(year), int(number), 1)


def _y(share: float) -> float:
    return BOTTOM - share * (BOTTOM - TOP)


def trend_png(weeks: Sequence[str], groups: Sequence[Group]) -> bytes:
    """Indicator per ISO week (dot), its 95% interval (whisker); hollow dot: too few ratings."""
    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(18)
    small = ImageFont.load_default(14)
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        draw.line([(LEFT, _y(share)), (RIGHT, _y(share))], fill=GRID, width=1)
        draw.text((LEFT - 10, _y(share)), f"{share * 100:.0f}%", fill=INK, font=font, anchor="rm")
    by_week = {g.key: g for g in groups}
    step = (RIGHT - LEFT) / max(len(weeks), 1)
    points: list[tuple[float, float, bool]] = []
    for i, week in enumerate(weeks):
        x = LEFT + step * (i + 0.5)
        draw.text((x, BOTTOM + 18), _week_start(week).strftime("%d/%m"), fill=INK, font=small,
                  anchor="mm")
        group = by_week.get(week)
        if group is None or group.indicator is None or group.interval is None:
            continue
        low, high = group.interval
        draw.line([(x, _y(low)), (x, _y(high))], fill=MUTED, width=3)
        draw.text((x, BOTTOM + 42), f"n={group.ratings}", fill=MUTED, font=small, anchor="mm")
        points.append((x, _y(group.indicator), group.too_few))
    if len(points) > 1:
        draw.line([(x, y) for x, y, _ in points], fill=ACCENT, width=3)
    for x, y, hollow in points:
        draw.ellipse([x - 7, y - 7, x + 7, y + 7], fill="white" if hollow else ACCENT,
                     outline=ACCENT, width=3)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
