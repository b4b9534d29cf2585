"""What the bot could not answer: `dvcbot kb gaps` for staff, `/gaps` in the officials' chat.

Every question is logged (``questions`` table) with the engine's decision and top candidates.  A
*gap* is a decline, a clarify, or an answer whose confidence was below ``LOW_CONFIDENCE``.  Gaps
are grouped by the nearest entry (the first candidate), and each group gets suggested aliases: the
question as typed, trimmed of greetings, politeness and "what papers / how much / where" words,
printed as YAML list items staff can paste under that entry's ``aliases:``.  A suggestion that is
already the title or an alias of any entry is left out (the loader rejects an alias claimed twice).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from bot.conversation.replies import Reply
from bot.knowledge.loader import KnowledgeBase
from bot.reports.catalog import word
from bot.retrieval.lexicon import FILLER_PHRASES, SECTION_CUES, STOP_ACCENTED, STOP_FOLDED
from bot.retrieval.text import clean, fold, words

if TYPE_CHECKING:
    from bot.conversation.dialog import Turn
    from bot.store.store import Store

LOW_CONFIDENCE = 0.6
DAYS = 30
NO_ENTRY = "(none)"
GAP_DECISIONS = ("decline", "clarify")
MAX_WORDS = 10

# Folded phrases trimmed from either end of a question; section cues only from the end.
_LEAD_PHRASES = (
    "xin chao", "chao ban", "chao ad", "ad oi", "admin oi", "ban oi", "cho em hoi", "cho toi hoi",
    "cho minh hoi", "cho hoi", "em muon hoi", "toi muon hoi", "minh muon hoi", "xin hoi",
    "hoi ve", "thu tuc", "hello", "hi", "please", "how to", "how do i", "i want to",
)
_TAIL_PHRASES = (
    "mat bao lau", "mat bao nhieu", "mat bao nhieu tien", "het bao nhieu", "het bao nhieu tien",
    "ton bao nhieu", "mat may ngay", "thi sao", "ra sao", "duoc khong", "duoc ko", "dc ko",
    "dc khong", "co duoc khong", "phai lam sao", "lam the nao", "thi lam sao", "lam sao",
    "gom nhung gi", "gom nhung giay to gi", "can nhung giay to gi", "hom nay", "hien nay",
)
_KEEP_AT_START = frozenset({"lam", "làm"})  # "làm giấy khai sinh": the verb is part of the need


@dataclass(frozen=True)
class Question:
    id: int
    ts: str
    text: str
    decision: str
    confidence: float | None
    candidates: tuple[dict[str, Any], ...]

    @property
    def nearest(self) -> str:
        first = self.candidates[0] if self.candidates else {}
        return str(first.get("entry_id") or NO_ENTRY)

    @property
    def kind(self) -> str:
        return "low" if self.decision == "answer" else self.decision


@dataclass
class Gap:
    entry_id: str
    title: str
    questions: list[Question] = field(default_factory=list)
    suggestions: list[tuple[str, int]] = field(default_factory=list)  # alias, times asked
    file: Path | None = None
    removed: bool = False  # the nearest entry is no longer in the knowledge base

    @property
    def heading(self) -> str:
        """The title as `dvcbot kb gaps` prints it."""
        if self.removed:
            return f"{self.title} (no longer in the knowledge base)".strip()
        return self.title

    @property
    def counts(self) -> Counter[str]:
        return Counter(q.kind for q in self.questions)


# -- reading the log ------------------------------------------------------------------------------


def since(days: int, today: dt.date | None = None) -> str | None:
    """ISO timestamp ``days`` ago (the store writes UTC ISO strings), None for 'all time'."""
    if days <= 0:
        return None
    start = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=days)
    return start.isoformat()


def logged_gaps(db: Any, start: str | None, threshold: float = LOW_CONFIDENCE) -> list[Question]:
    """Gap questions from the store (runs on the store's thread: ``store.call``)."""
    sql = (
        "SELECT id, ts, text, decision, confidence, candidates FROM questions "
        "WHERE (decision IN (?, ?) OR (decision = 'answer' AND confidence < ?))"
    )
    params: list[Any] = [*GAP_DECISIONS, threshold]
    if start:
        sql += " AND ts >= ?"
        params.append(start)
    rows = db.execute(sql + " ORDER BY id", params).fetchall()
    return [Question(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3]),
                     None if r[4] is None else float(r[4]), _candidates(r[5])) for r in rows]


def _candidates(raw: str | None) -> tuple[dict[str, Any], ...]:
    try:
        data = json.loads(raw or "[]")
    except json.JSONDecodeError:
        return ()
    return tuple(c for c in data if isinstance(c, dict)) if isinstance(data, list) else ()


# -- suggestions ----------------------------------------------------------------------------------


Phrase = tuple[str, ...]


def _longest_first(items: set[Phrase]) -> tuple[Phrase, ...]:
    return tuple(sorted(items, key=lambda p: (-len(p), p)))


def _phrases() -> tuple[tuple[Phrase, ...], tuple[Phrase, ...]]:
    lead = {tuple(p.split()) for p in (*_LEAD_PHRASES, *FILLER_PHRASES)}
    tail = lead | {tuple(c.split()) for cues in SECTION_CUES.values() for c in cues}
    tail |= {tuple(p.split()) for p in _TAIL_PHRASES}
    return _longest_first(lead), _longest_first(tail)


_LEAD, _TAIL = _phrases()
_VAGUE = frozenset({w for p in _TAIL for w in p} | {"con", "ho", "so", "nay", "do"})


def _is_stop(word: str) -> bool:
    folded = fold(word)
    return word in STOP_ACCENTED or (word == folded and folded in STOP_FOLDED)


def suggest_alias(text: str) -> str | None:
    """The need in the citizen's words: 'cho em hỏi làm giấy khai sinh cho bé cần gì ạ' →
    'làm giấy khai sinh cho bé'.  None when too little (or too much) is left."""
    typed = words(clean(text).replace("_", " "))
    folded = [fold(w) for w in typed]
    start, end = 0, len(typed)
    changed = True
    while changed and start < end:
        changed = False
        for phrase in _TAIL:
            n = len(phrase)
            if end - start >= n and tuple(folded[end - n:end]) == phrase:
                end, changed = end - n, True
                break
        for phrase in _LEAD:
            n = len(phrase)
            if end - start >= n and tuple(folded[start:start + n]) == phrase:
                start, changed = start + n, True
                break
        if start < end and _is_stop(typed[end - 1]):
            end, changed = end - 1, True
        if start < end and _is_stop(typed[start]) and typed[start] not in _KEEP_AT_START:
            start, changed = start + 1, True
    kept = typed[start:end]
    if len(kept) > MAX_WORDS or not any(
        len(w) >= 3 and not _is_stop(w) and fold(w) not in _VAGUE for w in kept
    ):
        return None
    return " ".join(kept)


def surface_key(text: str) -> str:
    return " ".join(fold(text).split())


def taken_surfaces(kb: KnowledgeBase | None) -> set[str]:
    if kb is None:
        return set()
    return {surface_key(s) for e in kb.entries.values() for s in (e.title, *e.aliases)}


# -- grouping -------------------------------------------------------------------------------------


def group(questions: list[Question], kb: KnowledgeBase | None) -> list[Gap]:
    """Gaps by nearest entry, most asked first; the unmatched ('(none)') group last."""
    taken = taken_surfaces(kb)
    gaps: dict[str, Gap] = {}
    for question in questions:
        entry_id = question.nearest
        gap = gaps.get(entry_id)
        if gap is None:
            gap = gaps[entry_id] = _new_gap(entry_id, question, kb)
        gap.questions.append(question)
    for gap in gaps.values():
        gap.suggestions = _suggestions(gap.questions, taken)
    return sorted(gaps.values(), key=lambda g: (g.entry_id == NO_ENTRY, -len(g.questions),
                                                g.entry_id))


def _new_gap(entry_id: str, question: Question, kb: KnowledgeBase | None) -> Gap:
    entry = kb.get(entry_id) if kb else None
    if entry is not None:
        return Gap(entry_id, entry.title, file=kb.files.get(entry_id) if kb else None)
    if entry_id == NO_ENTRY:
        return Gap(entry_id, "no candidate at all")
    title = str(question.candidates[0].get("title") or "") if question.candidates else ""
    return Gap(entry_id, title, removed=True)


def _suggestions(questions: list[Question], taken: set[str]) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    for question in questions:
        alias = suggest_alias(question.text)
        if alias is None:
            continue
        key = surface_key(alias)
        if key in taken:
            continue
        counts[key] += 1
        current = spelled.get(key)
        if current is None or (fold(current) == current and fold(alias) != alias):
            spelled[key] = alias  # prefer the spelling with diacritics
    return [(spelled[k], n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def yaml_item(alias: str) -> str:
    """One YAML list item, quoted when YAML needs it ('- "mức 3: là gì"')."""
    dumped: str = yaml.safe_dump([alias], allow_unicode=True, width=1000)
    return dumped.strip()


# -- the staff command ----------------------------------------------------------------------------

_KIND_NAMES = {
    "decline": "declined", "clarify": "asked which one", "low": "answered, low confidence",
}


def format_gaps(gaps: list[Gap], examples: int, root: Path | None = None) -> list[str]:
    lines: list[str] = []
    for gap in gaps:
        place = f"  [{_shown(gap.file, root)}]" if gap.file else ""
        counts = ", ".join(f"{n} {_KIND_NAMES[k]}" for k, n in sorted(gap.counts.items()))
        lines += ["", f"{gap.entry_id} — {gap.heading}{place}",
                  f"  {len(gap.questions)} questions: {counts}"]
        asked = Counter(q.text for q in gap.questions)
        for text, n in asked.most_common(examples):
            lines.append(f"    {n}× {text!r}")
        if gap.suggestions and gap.entry_id != NO_ENTRY:
            lines.append("  suggested aliases (paste under `aliases:`):")
            lines += [f"  {yaml_item(alias)}  # asked {n}×" for alias, n in gap.suggestions]
        elif gap.suggestions:
            lines.append("  possible new entries or aliases:")
            lines += [f"  {yaml_item(alias)}  # asked {n}×" for alias, n in gap.suggestions]
    return lines


def _shown(path: Path | None, root: Path | None) -> str:
    if path is None:
        return ""
    try:
        return str(path.relative_to(root.parent)) if root else str(path)
    except ValueError:
        return str(path)


@click.command(name="gaps")
@click.option("--days", default=DAYS, show_default=True, type=int,
              help="Look back this many days (0: everything logged).")
@click.option("--threshold", default=LOW_CONFIDENCE, show_default=True, type=float,
              help="Answers below this confidence count as gaps.")
@click.option("--examples", default=5, show_default=True, type=int,
              help="Questions shown per entry.")
def gaps_command(days: int, threshold: float, examples: int) -> None:
    """List questions the bot declined, asked back about or answered unsure, by nearest entry,
    with aliases to paste into that entry's YAML."""
    from bot.config import ConfigError, load_settings
    from bot.knowledge.loader import KnowledgeError, load_knowledge
    from bot.store.store import Store

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not settings.db_path.exists():
        click.echo(f"no questions logged yet ({settings.db_path} does not exist)")
        return
    kb: KnowledgeBase | None
    try:
        kb = load_knowledge(settings.knowledge_dir)
    except KnowledgeError as exc:
        click.echo(f"warning: knowledge base has {len(exc.problems)} error(s); "
                   "suggestions are not checked against existing aliases", err=True)
        kb = None
    store = Store(settings.db_path)
    try:
        questions = logged_gaps(store.db, since(days), threshold)
    finally:
        store.close()
    gaps = group(questions, kb)
    window = f"the last {days} days" if days > 0 else "everything logged"
    click.echo(f"{len(questions)} questions not answered well ({window}; declined, asked back, "
               f"or answered below confidence {threshold}) in {len(gaps)} groups")
    for line in format_gaps(gaps, examples, settings.knowledge_dir):
        click.echo(line)


# -- the officials' chat --------------------------------------------------------------------------

CHAT_GROUPS = 8


async def gaps_reply(turn: Turn) -> list[Reply]:
    """``/gaps``: the groups with most questions, a few suggested aliases each."""
    store: Store = turn.services.store
    questions = await store.call(logged_gaps, store.db, since(DAYS), LOW_CONFIDENCE)
    return [Reply(chat_text(group(questions, turn.services.knowledge.kb), turn.lang),
                  kind="admin")]


def chat_text(gaps: list[Gap], lang: str) -> str:
    """The /gaps reply; its words are the ``gaps.chat.*`` catalog keys."""
    total = sum(len(g.questions) for g in gaps)
    if not total:
        return word(lang, "gaps.chat.none", days=DAYS)
    lines = [word(lang, "gaps.chat.head", days=DAYS, n=total)]
    for gap in gaps[:CHAT_GROUPS]:
        lines.append("• " + word(lang, "gaps.chat.row", title=_chat_title(gap, lang),
                                 n=len(gap.questions)))
        if gap.suggestions:
            aliases = "; ".join(alias for alias, _ in gap.suggestions[:3])
            lines.append("  " + word(lang, "gaps.chat.hint", aliases=aliases))
    lines += ["", word(lang, "gaps.chat.more")]
    return "\n".join(lines)


def _chat_title(gap: Gap, lang: str) -> str:
    if gap.entry_id == NO_ENTRY:
        return word(lang, "gaps.chat.nothing")
    if gap.removed:
        return word(lang, "gaps.chat.removed", title=gap.title).strip()
    return gap.title
