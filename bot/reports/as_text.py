"""The report as plain text: the full one for a terminal, a short one for the officials' chat."""

from __future__ import annotations

from bot.conversation.i18n import DEFAULT
from bot.reports.comments import comment_lines, low_lines
from bot.reports.indicator import BREAKDOWNS, Group, Summary
from bot.reports.labels import (
    DECISION_LABELS,
    fmt_pct,
    handoff_lines,
    interval_text,
    labels,
    period_text,
)

LABEL_WIDTH = 38


def _widths(lang: str) -> tuple[int, int, int]:
    words = labels(lang)
    return (max(7, len(words["ratings"])), max(8, len(words["satisfied"])),
            max(7, len(words["indicator_short"])))


def header_line(lang: str, width: int = LABEL_WIDTH) -> str:
    words = labels(lang)
    n, s, i = _widths(lang)
    return (f"{words['group']:<{width}} {words['ratings']:>{n}} {words['satisfied']:>{s}} "
            f"{words['indicator_short']:>{i}}  {words['ci']}")


def group_line(group: Group, lang: str, width: int = LABEL_WIDTH) -> str:
    words = labels(lang)
    n, s, i = _widths(lang)
    label = group.label if len(group.label) <= width else group.label[: width - 1] + "…"
    flag = f"  ({words['too_few']})" if group.too_few else ""
    return (f"{label:<{width}} {group.ratings:>{n}} {group.satisfied:>{s}} "
            f"{fmt_pct(group.indicator, lang):>{i}}  {interval_text(group, lang)}{flag}")


def overall_line(group: Group, lang: str) -> str:
    words = labels(lang)
    if not group.ratings:
        return words["no_ratings"]
    flag = f" — {words['too_few']}" if group.too_few else ""
    return (f"{words['indicator']}: {fmt_pct(group.indicator, lang)} "
            f"({group.satisfied}/{group.ratings}; {words['ci']}: {interval_text(group, lang)})"
            f"{flag}")


def shares_line(summary: Summary, lang: str) -> str:
    words, usage = labels(lang), summary.usage
    parts = [f"{words[DECISION_LABELS[d]]} {fmt_pct(usage.share(d), lang)}"
             for d in ("answer", "clarify", "decline")]
    return f"{words['questions']}: {usage.questions} — " + " · ".join(parts)


def full_text(summary: Summary, lang: str = DEFAULT) -> str:
    words = labels(lang)
    lines = [words["title"], f"{words['period']}: {_period(summary, lang)}", "",
             overall_line(summary.overall, lang), words["indicator_note"]]
    header = header_line(lang)
    for kind in BREAKDOWNS:
        groups = summary.groups.get(kind, ())
        if groups:
            lines += ["", words[kind], header, *(group_line(g, lang) for g in groups)]
    lines += ["", words["reasons"]]
    lines += [f"  - {reason}: {n}" for reason, n in summary.reasons] or [f"  {words['none']}"]
    lines += ["", words["comments"], *(comment_lines(summary.comments, lang)
                                       or [f"  {words['none']}"])]
    lines += ["", words["low_reasons"], *(low_lines(summary.low, lang)
                                          or [f"  {words['none']}"])]
    lines += ["", words["handoff"], *handoff_lines(summary, lang), f"  {words['handoff_note']}"]
    lines += ["", words["usage"], shares_line(summary, lang), "", words["per_day"]]
    lines += [f"  {day.isoformat()}  {n:>5}" for day, n in summary.usage.per_day]
    lines += ["", *_ranked(words["top_entries"], summary.usage.top_entries, words)]
    lines += ["", *_ranked(words["top_unanswered"], summary.usage.top_unanswered, words)]
    return "\n".join(lines) + "\n"


def _period(summary: Summary, lang: str) -> str:
    return period_text(summary.period.start, summary.period.end, lang)


def _ranked(title: str, items: tuple[tuple[str, int], ...], words: dict[str, str]) -> list[str]:
    rows = [f"  {i}. {label} — {n} {words['times']}" for i, (label, n) in enumerate(items, 1)]
    return [title, *(rows or [f"  {words['none']}"])]


def chat_text(summary: Summary, lang: str = DEFAULT, top: int = 3) -> str:
    """The officials' /report: short enough for one chat message."""
    words = labels(lang)
    lines = [words["chat_title"], _period(summary, lang), "",
             overall_line(summary.overall, lang)]
    for kind in ("channel", "field"):
        groups = summary.groups.get(kind, ())[:5]
        if groups:
            lines += ["", words[kind]]
            lines += [f"• {_short(g, lang)}" for g in groups]
    lines += ["", shares_line(summary, lang)]
    if summary.handoff.opened:
        lines += ["", words["handoff"], *handoff_lines(summary, lang)]
    for title, items in ((words["top_entries"], summary.usage.top_entries[:top]),
                         (words["top_unanswered"], summary.usage.top_unanswered[:top])):
        if items:
            lines += ["", title, *(f"{i}. {label} ({n})" for i, (label, n) in
                                   enumerate(items, 1))]
    return "\n".join(lines)


def _short(group: Group, lang: str) -> str:
    flag = f", {labels(lang)['too_few']}" if group.too_few else ""
    return (f"{group.label}: {fmt_pct(group.indicator, lang)} "
            f"(n={group.ratings}; {interval_text(group, lang)}{flag})")
