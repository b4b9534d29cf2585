"""What the bot could not answer: `dvcbot kb gaps` for staff, `/gaps` in the officials' chat.

Every question is logged (``questions`` table) with the engine's decision and top candidates.  A
*gap* is a decline, a clarify, or an answer whose confidence was below ``LOW_CONFIDENCE``.  Gaps
are grouped by the nearest entry (the first candidate), and each group gets suggested aliases: the
question as typed, trimmed of greetings, politeness and "what papers / how much / where" words,
printed as YAML list items staff can paste under that entry's ``aliases:``.  A suggestion that is
already the title or an alias of any entry is left out (the loader rejects an alias claimed twice).

``analyse`` sorts out what is not an alias before that, so that only aliases that belong are
suggested:
- off-topic questions (gold price, football, weather: ``ACT_PHRASES["offtopic"]``) form a group of
  their own and are never suggested as anyone's alias;
- a place the bot did not recognise ("xã Quảng Châu cũ" when no office lists it) is suggested as an
  ``old_names`` addition to the office it is closest to by spelling, or else to the office the same
  citizen was shown next;
- a suggestion that shares no distinctive word with its nearest entry, and every question no entry
  came near, are shown as ideas for new entries.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml
from rapidfuzz import fuzz

from bot.conversation.i18n import LANGUAGES
from bot.conversation.replies import Reply
from bot.knowledge.loader import KnowledgeBase, surface_key
from bot.knowledge.schema import Office
from bot.reports.catalog import word
from bot.retrieval.lexicon import (
    ACT_PHRASES,
    FILLER_PHRASES,
    GENERIC_FOLDED,
    SECTION_CUES,
    STOP_ACCENTED,
    STOP_FOLDED,
)
from bot.retrieval.offices import PlaceIndex
from bot.retrieval.text import clean, fold, words

if TYPE_CHECKING:
    from bot.conversation.dialog import Turn
    from bot.store.store import Store

LOW_CONFIDENCE = 0.6
DAYS = 30
NO_ENTRY = "(none)"
FOLLOW_UP = dt.timedelta(minutes=30)  # an office shown this soon after a missed place names it
SIMILAR_PLACE = 85  # rapidfuzz ratio of a missed place name to a known one: a spelling of it
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
    user: str = ""

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
        "SELECT id, ts, text, decision, confidence, candidates, user_ref FROM questions "
        "WHERE (decision IN (?, ?) OR (decision = 'answer' AND confidence < ?))"
    )
    params: list[Any] = [*GAP_DECISIONS, threshold]
    if start:
        sql += " AND ts >= ?"
        params.append(start)
    rows = db.execute(sql + " ORDER BY id", params).fetchall()
    return [Question(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3]),
                     None if r[4] is None else float(r[4]), _candidates(r[5]), str(r[6] or ""))
            for r in rows]


def offices_shown(db: Any, start: str | None) -> list[tuple[str, str, str]]:
    """(user, time, office id) of every office answer since ``start`` (store thread)."""
    sql = "SELECT user_ref, ts, office_id FROM answers WHERE office_id IS NOT NULL"
    params: list[Any] = []
    if start:
        sql += " AND ts >= ?"
        params.append(start)
    return [(str(r[0]), str(r[1]), str(r[2])) for r in db.execute(sql + " ORDER BY ts", params)]


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


def taken_surfaces(kb: KnowledgeBase | None) -> set[str]:
    if kb is None:
        return set()
    return {surface_key(s) for e in kb.entries.values() for s in e.names}


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
        alias = None if is_offtopic(question.text) else suggest_alias(question.text)
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


# -- sorting out what is not an alias -------------------------------------------------------------

_OFFTOPIC = tuple(sorted(ACT_PHRASES["offtopic"], key=len, reverse=True))
LEVEL_WORDS = {"xã": ("xa",), "phường": ("phuong",), "thị trấn": ("thi", "tran"),
               "đặc khu": ("dac", "khu")}
# Words that end a place name in a question ("xã Quảng Châu cũ, giờ nộp ở đâu"); syllables that
# also begin names ("Hồ Xá", "Cửa Tùng", "Hải Lâm", "Bến Quan") end it only in a pair ("hồ sơ").
_NAME_ENDS = frozenset(
    """cu gio nay o thuoc nop thi la va de can ma roi huyen tinh truoc day bay sau sap nhap ve
    den tai a nhe vay the nao dau gi khong ko k duoc dc mot co em toi cho hoi xin""".split()
)
_NAME_END_PAIRS = frozenset(tuple(p.split()) for p in (
    "ho so", "giay to", "thu tuc", "lam ho", "lam giay", "lam thu", "nha em", "nha toi",
    "nha minh", "que em", "que toi", "con em", "con toi", "vo em", "chong em", "minh o",
))
# Words after "xa"/"phuong" typed without diacritics that make a common word, not a place
# ('xã hội', 'phương án').
_NOT_A_NAME = {"xa": frozenset({"hoi"}),
               "phuong": frozenset("an thuc tien phap cham huong tay".split())}
_DISTINCT_GENERIC = frozenset(
    """dang ky giay to thu tuc ho so cap lai doi lam xin nop chung nhan xac online truc tuyen
    dich vu cong ban sao mat""".split()
)


def is_offtopic(text: str) -> bool:
    """Gold price, football, weather …: the bot's own off-topic phrases, on whole words."""
    padded = f" {' '.join(fold(w) for w in words(text))} "
    return any(f" {phrase} " in padded for phrase in _OFFTOPIC)


def _place_name(typed: list[str]) -> list[str]:
    """The words of a place name at the start of ``typed``: up to 'cũ' when it follows within
    four words, else up to the first word (or pair) that is not part of a name; three at most."""
    folded = [fold(w) for w in typed[:4]]
    if "cu" in folded[1:]:
        return typed[: folded.index("cu", 1)]
    name: list[str] = []
    for index, typed_word in enumerate(typed[:3]):
        pair = tuple(folded[index:index + 2])
        if folded[index] in _NAME_ENDS or pair in _NAME_END_PAIRS or not typed_word.isalpha():
            break
        name.append(typed_word)
    return name


def missed_place(text: str, places: PlaceIndex) -> str | None:
    """A commune or ward named with its level word that no office knows, as typed ('Quảng
    Châu'); None when there is none (or the place is known)."""
    typed = words(clean(text))
    folded = [fold(w) for w in typed]
    for index in range(len(typed)):
        for level, cue in LEVEL_WORDS.items():
            end = index + len(cue)
            if tuple(folded[index:end]) != cue:
                continue
            accented = " ".join(typed[index:end])
            if accented != fold(accented) and accented != level:
                continue  # 'phương án' is not 'phường'
            name = _place_name(typed[end:])
            if not name or fold(name[0]) in _NOT_A_NAME.get(cue[0], ()):
                continue
            if any(places.find(f"{accented} {' '.join(name[:n])}", context=True)
                   for n in range(len(name), 0, -1)):
                return None  # a known place: not what was missed
            return " ".join(w.capitalize() for w in name)
    return None


def _bare(name: str) -> str:
    """An office or place name without its prefix and level: 'Trung tâm … xã Quảng Trạch' →
    'quang trach'."""
    folded = fold(name.split("(", maxsplit=1)[0])
    for prefix in ("trung tam phuc vu hanh chinh cong", "mot cua", "ubnd"):
        folded = folded.removeprefix(prefix).strip()
    for level in ("thi tran", "dac khu", "phuong", "xa", "tinh"):
        if folded.startswith(level + " "):
            folded = folded[len(level) + 1:]
    return " ".join(folded.split())


def similar_office(name: str, offices: Sequence[Office]) -> Office | None:
    """The office one of whose names (current or former) is spelt most like ``name``."""
    key = surface_key(name)
    best: tuple[float, Office | None] = (0.0, None)
    for office in offices:
        for known in (office.name, *office.old_names, *office.aliases):
            score = fuzz.ratio(key, _bare(known))
            if score > best[0]:
                best = (score, office)
    return best[1] if best[0] >= SIMILAR_PLACE else None


def _content(text: str) -> set[str]:
    return {w for w in (fold(x) for x in words(text)) if len(w) >= 2 and w not in STOP_FOLDED
            and w not in GENERIC_FOLDED and w not in _DISTINCT_GENERIC}


def belongs(alias: str, entry_words: set[str]) -> bool:
    """An alias belongs to an entry when it shares a distinctive word with its title or
    aliases ('khai sinh cho bé sinh đôi' → khai-sinh; 'đăng ký nghĩa vụ quân sự' is not
    kết hôn's, though both say 'đăng ký')."""
    return bool(_content(alias) & entry_words)


@dataclass
class PlaceGap:
    """A place name the bot did not recognise, and the office it most likely belongs to."""

    name: str
    office: Office | None = None
    how: str = ""  # "spelling": spelt like one of its names; "shown": the citizen was shown it next
    questions: list[Question] = field(default_factory=list)


@dataclass
class Analysis:
    gaps: list[Gap]  # by nearest entry; the '(none)' group holds the ideas for new entries
    offtopic: list[Question] = field(default_factory=list)
    places: list[PlaceGap] = field(default_factory=list)

    @property
    def total(self) -> int:
        return (sum(len(g.questions) for g in self.gaps) + len(self.offtopic)
                + sum(len(p.questions) for p in self.places))

    @property
    def groups(self) -> int:
        return len(self.gaps) + bool(self.offtopic) + len(self.places)


def _shown_next(question: Question, shown: Iterable[tuple[str, str, str]]) -> str | None:
    """The office the same citizen was shown within ``FOLLOW_UP`` after the question."""
    try:
        asked = dt.datetime.fromisoformat(question.ts)
    except ValueError:
        return None
    for user, ts, office_id in shown:
        if user != question.user or not question.user:
            continue
        try:
            when = dt.datetime.fromisoformat(ts)
        except ValueError:
            continue
        if asked < when <= asked + FOLLOW_UP:
            return office_id
    return None


def analyse(questions: list[Question], kb: KnowledgeBase | None,
            shown: Sequence[tuple[str, str, str]] = ()) -> Analysis:
    """Off-topic questions and missed places apart; the rest by nearest entry, with only the
    aliases that belong to it; the others as ideas for new entries."""
    places = PlaceIndex(kb.offices, kb.contacts.province_name) if kb else None
    offtopic: list[Question] = []
    missed: dict[str, PlaceGap] = {}
    rest: list[Question] = []
    for question in questions:
        if is_offtopic(question.text):
            offtopic.append(question)
            continue
        name = missed_place(question.text, places) if places else None
        if name is None:
            rest.append(question)
            continue
        gap = missed.setdefault(fold(name), PlaceGap(name))
        gap.questions.append(question)
    for gap in missed.values():
        _place_office(gap, kb, shown)
    gaps = group(rest, kb)
    _move_ideas(gaps, kb)
    ordered = sorted(missed.values(), key=lambda g: (-len(g.questions), fold(g.name)))
    return Analysis(gaps, offtopic, ordered)


def _place_office(gap: PlaceGap, kb: KnowledgeBase | None,
                  shown: Sequence[tuple[str, str, str]]) -> None:
    if kb is None:
        return
    office = similar_office(gap.name, kb.offices)
    if office is not None:
        gap.office, gap.how = office, "spelling"
        return
    by_id = {o.id: o for o in kb.offices}
    for question in gap.questions:
        office_id = _shown_next(question, shown)
        if office_id in by_id:
            gap.office, gap.how = by_id[office_id], "shown"
            return


def _move_ideas(gaps: list[Gap], kb: KnowledgeBase | None) -> None:
    """Suggestions that do not belong to their nearest entry become ideas for new entries."""
    if kb is None:
        return
    ideas: list[tuple[str, int]] = []
    for gap in gaps:
        entry = kb.get(gap.entry_id)
        if entry is None:
            continue
        vocabulary = set().union(*(_content(s) for s in (entry.title, *entry.aliases)))
        keep = [(a, n) for a, n in gap.suggestions if belongs(a, vocabulary)]
        ideas += [(a, n) for a, n in gap.suggestions if not belongs(a, vocabulary)]
        gap.suggestions = keep
    if not ideas:
        return
    none = next((g for g in gaps if g.entry_id == NO_ENTRY), None)
    if none is None:
        none = Gap(NO_ENTRY, "no candidate at all")
        gaps.append(none)
    merged = Counter(dict(none.suggestions))
    for alias, n in ideas:
        merged[alias] += n
    none.suggestions = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


# -- the staff command ----------------------------------------------------------------------------

def format_gaps(gaps: list[Gap], examples: int, root: Path | None = None,
                lang: str = "en") -> list[str]:
    """The groups for staff, in ``lang`` (words from the catalogs)."""
    lines: list[str] = []
    for gap in gaps:
        place = f"  [{_shown(gap.file, root)}]" if gap.file else ""
        counts = ", ".join(f"{n} {word(lang, f'gaps.kind.{k}')}"
                           for k, n in sorted(gap.counts.items()))
        lines += ["", f"{gap.entry_id} — {gap.heading}{place}",
                  "  " + word(lang, "gaps.questions", n=len(gap.questions), counts=counts)]
        asked = Counter(q.text for q in gap.questions)
        for text, n in asked.most_common(examples):
            lines.append(f"    {n}× {text!r}")
        if gap.suggestions:
            key = "gaps.suggested" if gap.entry_id != NO_ENTRY else "gaps.new_entries"
            lines.append("  " + word(lang, key))
            lines += [f"  {yaml_item(alias)}  # {word(lang, 'gaps.asked', n=n)}"
                      for alias, n in gap.suggestions]
    return lines


def format_analysis(analysis: Analysis, examples: int, root: Path | None = None,
                    lang: str = "en") -> list[str]:
    """Groups by entry, then places to add to offices, then the off-topic questions."""
    lines = format_gaps(analysis.gaps, examples, root, lang)
    if analysis.places:
        lines += ["", word(lang, "gaps.places")]
        for gap in analysis.places:
            if gap.office is not None:
                how = word(lang, f"gaps.how.{gap.how}")
                lines.append(f"  {gap.office.id} — {gap.office.name}  ({how})")
            else:
                lines.append("  " + word(lang, "gaps.no_office"))
            lines.append(f"  {yaml_item(gap.name)}  # "
                         + word(lang, "gaps.asked", n=len(gap.questions)))
            for text, n in Counter(q.text for q in gap.questions).most_common(examples):
                lines.append(f"    {n}× {text!r}")
    if analysis.offtopic:
        lines += ["", word(lang, "gaps.offtopic", n=len(analysis.offtopic))]
        for text, n in Counter(q.text for q in analysis.offtopic).most_common(examples):
            lines.append(f"    {n}× {text!r}")
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
@click.option("--lang", type=click.Choice(LANGUAGES), default=None,
              help="Language of the listing (default DEFAULT_LOCALE).")
def gaps_command(days: int, threshold: float, examples: int, lang: str | None) -> None:
    """List questions the bot declined, asked back about or answered unsure, by nearest entry,
    with aliases to paste into that entry's YAML."""
    from bot.config import ConfigError, load_settings
    from bot.knowledge.loader import KnowledgeError, load_knowledge
    from bot.store.store import Store
    from bot.store.tickets import answered_tickets

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    lang = lang or settings.default_locale
    if settings.store_missing:
        click.echo(word(lang, "gaps.no_database", path=str(settings.db_path)))
        return
    kb: KnowledgeBase | None
    try:
        kb = load_knowledge(settings.knowledge_dir)
    except KnowledgeError as exc:
        click.echo(word(lang, "gaps.kb_errors", n=len(exc.problems)), err=True)
        kb = None
    store = Store(settings.store_target)
    try:
        questions = logged_gaps(store.db, since(days), threshold)
        shown = offices_shown(store.db, since(days))
        answered = answered_tickets(store, since(days))
    finally:
        store.close()
    analysis = analyse(questions, kb, shown)
    window = (word(lang, "gaps.window_days", days=days) if days > 0
              else word(lang, "gaps.window_all"))
    click.echo(word(lang, "gaps.head", n=len(questions), window=window, threshold=threshold,
                    groups=analysis.groups))
    for line in format_analysis(analysis, examples, settings.knowledge_dir, lang):
        click.echo(line)
    for line in learned_lines(learn(answered, kb, lang), lang):
        click.echo(line)


# -- learning from hand-over tickets ---------------------------------------------------------------
# A question staff answered is something the knowledge base could say itself.  Each answered ticket
# is offered to staff (here, in `kb gaps`, and on the dashboard) as a new alias for the entry that
# was in focus, or else as a draft FAQ entry with the staff answer.  Nothing is ever added to the
# knowledge base without a person: staff read, correct, source and paste it themselves.

FAQ_ID_WORDS = 6


@dataclass(frozen=True)
class Learned:
    code: str
    question: str
    answer: str
    entry_id: str | None  # the entry in focus, still in the knowledge base
    title: str | None
    alias: str | None  # a new alias for that entry (not taken by any entry)
    draft: str | None  # a draft FAQ (YAML) when there is no alias to suggest


def faq_id(question: str) -> str:
    slug = "-".join(w for w in words(fold(question)) if w.isascii() and w.isalnum())
    return "-".join(slug.split("-")[:FAQ_ID_WORDS]) or "cau-hoi-moi"


def draft_faq(code: str, question: str, answer: str, lang: str, today: dt.date) -> str:
    """A draft FAQ entry in the knowledge base's format, to be reviewed before it is added."""
    alias = suggest_alias(question)
    body = {"id": faq_id(alias or question), "kind": "faq", "question": question,
            "aliases": [alias] if alias else [], "answer": answer,
            "source": [word(lang, "gaps.handoff.source")], "reviewed": today.isoformat()}
    dumped: str = yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)
    return f"# {word(lang, 'gaps.handoff.draft_head', code=code)}\n{dumped}"


def learn(rows: Sequence[dict[str, Any]], kb: KnowledgeBase | None, lang: str,
          today: dt.date | None = None) -> list[Learned]:
    """What each answered ticket offers staff (rows of ``bot.store.tickets.answered_tickets``)."""
    taken = taken_surfaces(kb)
    today = today or dt.date.today()
    found = []
    for row in rows:
        question, answer = str(row.get("question") or ""), str(row.get("answer") or "")
        if not question or not answer:
            continue
        entry = kb.get(row["entry_id"]) if kb and row.get("entry_id") else None
        alias = suggest_alias(question) if entry is not None else None
        if alias is not None and surface_key(alias) in taken:
            alias = None
        draft = None if alias else draft_faq(row["code"], question, answer, lang, today)
        found.append(Learned(row["code"], question, answer, entry.id if entry else None,
                             entry.title if entry else None, alias, draft))
    return found


def learned_lines(items: Sequence[Learned], lang: str) -> list[str]:
    if not items:
        return []
    lines = ["", word(lang, "gaps.handoff.head", n=len(items))]
    for item in items:
        lines.append(f"  {item.code}: {item.question!r}")
        if item.alias and item.entry_id:
            lines.append("    " + word(lang, "gaps.handoff.alias", entry=item.entry_id,
                                         title=item.title or ""))
            lines.append(f"    {yaml_item(item.alias)}")
        elif item.draft:
            lines.append("    " + word(lang, "gaps.handoff.draft"))
            lines += [f"    {line}" for line in item.draft.splitlines()]
    lines.append(word(lang, "gaps.handoff.review"))
    return lines


# -- the officials' chat --------------------------------------------------------------------------

CHAT_GROUPS = 8


async def gaps_reply(turn: Turn) -> list[Reply]:
    """``/gaps``: the groups with most questions, a few suggested aliases each."""
    store: Store = turn.services.store
    questions = await store.call(logged_gaps, store.db, since(DAYS), LOW_CONFIDENCE)
    shown = await store.call(offices_shown, store.db, since(DAYS))
    analysis = analyse(questions, turn.services.knowledge.kb, shown)
    return [Reply(chat_text(analysis.gaps, turn.lang, analysis.offtopic, analysis.places),
                  kind="admin")]


def chat_text(gaps: list[Gap], lang: str, offtopic: Sequence[Question] = (),
              places: Sequence[PlaceGap] = ()) -> str:
    """The /gaps reply; its words are the ``gaps.chat.*`` catalog keys."""
    total = (sum(len(g.questions) for g in gaps) + len(offtopic)
             + sum(len(p.questions) for p in places))
    if not total:
        return word(lang, "gaps.chat.none", days=DAYS)
    lines = [word(lang, "gaps.chat.head", days=DAYS, n=total)]
    for gap in gaps[:CHAT_GROUPS]:
        lines.append("• " + word(lang, "gaps.chat.row", title=_chat_title(gap, lang),
                                 n=len(gap.questions)))
        if gap.suggestions:
            aliases = "; ".join(alias for alias, _ in gap.suggestions[:3])
            lines.append("  " + word(lang, "gaps.chat.hint", aliases=aliases))
    for place in places[:CHAT_GROUPS]:
        office = place.office.name if place.office else "?"
        lines.append("• " + word(lang, "gaps.chat.place", name=place.name, office=office,
                                 n=len(place.questions)))
    if offtopic:
        lines.append("• " + word(lang, "gaps.chat.offtopic", n=len(offtopic)))
    lines += ["", word(lang, "gaps.chat.more")]
    return "\n".join(lines)


def _chat_title(gap: Gap, lang: str) -> str:
    if gap.entry_id == NO_ENTRY:
        return word(lang, "gaps.chat.nothing")
    if gap.removed:
        return word(lang, "gaps.chat.removed", title=gap.title).strip()
    return gap.title
