"""The indicator as CSV: one row per group, shares as decimals with 4 places (0.7778)."""

from __future__ import annotations

import csv
import io

from bot.reports.indicator import Group, Summary

COLUMNS = ("group_type", "group", "ratings", "satisfied", "indicator", "ci_low", "ci_high")


def _decimal(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def row(group: Group) -> list[str]:
    low, high = group.interval or (None, None)
    return [group.group_type, group.label, str(group.ratings), str(group.satisfied),
            _decimal(group.indicator), _decimal(low), _decimal(high)]


def to_csv(summary: Summary) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row(group) for group in summary.all_groups())
    return out.getvalue()
