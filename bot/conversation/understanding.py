"""One understanding step per message: the message and the chat's state in, data out.

``understand`` says what the message is (the dialogue act), which procedure it is about (a new
one named with confidence, or the one in focus for a follow-up), every section asked for, the
one-stop office of a place it names, and its own language.  Handlers compose replies from that.

Reading order:
1. language: English words and no Vietnamese ones → English, whatever the platform said;
2. a long letter is cut to its question: the sentences with a question cue, else the last ones;
3. the place named (current or former commune/ward), and the text without it;
4. the procedure: the engine on the text without the place; a confident answer that differs
   from the focus switches the focus; a short message with only section cues, follow-up words
   or content the focus explains refers to the focus;
5. conversational acts (greeting, thanks, help, complaint, asking for a person, off-topic) when
   no procedure or place carries the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.conversation.state import ChatState
from bot.knowledge.schema import SECTIONS, Office, Section
from bot.retrieval.engine import Engine, Result
from bot.retrieval.lexicon import (
    ACT_PHRASES,
    DOMAIN_FOLDED,
    ENGLISH_WORDS,
    FOLLOW_UP_WORDS,
    GENERIC_FOLDED,
    QUESTION_CUES,
    SECTION_CUES,
    STOP_FOLDED,
    VIETNAMESE_WORDS,
)
from bot.retrieval.offices import OFFICE_CUES, PLACE_WORDS
from bot.retrieval.text import clean, fold, words

Act = Literal["question", "follow-up", "place", "greeting", "thanks", "bye", "help",
              "complaint", "person", "offtopic", "clarify", "decline", "empty"]

LONG_LETTER_WORDS = 30  # longer messages are read for their question sentences
SHORT_FOLLOW_UP_WORDS = 12


@dataclass(frozen=True)
class Understanding:
    act: Act
    lang: str
    sections: tuple[Section, ...] = ()
    offices: tuple[Office, ...] = ()
    entry_id: str | None = None  # the entry the reply presents
    result: Result | None = None  # what retrieval made of the question
    question: str = ""  # the part of the message that was searched


def language(text: str, current: str) -> str:
    """'en' for a message written in English, 'vi' for Vietnamese, else the chat's language."""
    raw = words(text)
    if any(w != fold(w) for w in raw):
        return "vi"
    folded = [fold(w) for w in raw]
    english = sum(w in ENGLISH_WORDS for w in folded)
    vietnamese = sum(w in VIETNAMESE_WORDS for w in folded)
    if english >= 2 and english > 2 * vietnamese:
        return "en"
    if vietnamese >= 1 and vietnamese >= english:
        return "vi"
    return current


def sections_in(folded: str) -> tuple[Section, ...]:
    """Every section asked for, in the order the message asks them."""
    padded = f" {folded} "
    found: list[tuple[int, Section]] = []
    taken: list[tuple[int, int]] = []
    cues = sorted(((c, s) for s, cs in SECTION_CUES.items() for c in cs), key=lambda p: -len(p[0]))
    for cue, section in cues:
        for match in re.finditer(rf"(?<= ){re.escape(cue)}(?= )", padded):
            span = (match.start(), match.end())
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            found.append((span[0], section))
    ordered: list[Section] = []
    for _, section in sorted(found):
        if section not in ordered:
            ordered.append(section)
    return tuple(s for s in ordered if s in SECTIONS)


LETTER_COVERED = 0.75  # a sentence of a letter names an entry when it holds most of its name …
LETTER_CONFIDENCE = 0.6  # … with this confidence


def _sentences(text: str) -> list[str]:
    parts = [s.strip() for s in re.split(r"(?<=[.?!;\n])\s+", text) if s.strip()]
    out: list[str] = []
    for part in parts:  # long sentences without full stops: clauses
        out += [c.strip() for c in part.split(",")] if len(part.split()) > 20 else [part]
    return [s for s in out if len(s.split()) >= 2]


def letter_topic(engine: Engine, text: str, question: str) -> str | None:
    """The entry a long letter is about: the one a sentence names most surely (covering most of
    its name), preferring the sentences that ask; None when no sentence names one."""
    named: dict[str, float] = {}
    asked = set(_sentences(question))
    for sentence in _sentences(text):
        top = engine.ask(sentence).best
        if top is None or top.covered < LETTER_COVERED or top.confidence < LETTER_CONFIDENCE:
            continue
        score = top.confidence + (0.1 if sentence in asked else 0.0)
        named[top.entry_id] = max(score, named.get(top.entry_id, 0.0))
    if not named:
        return None
    return _joining(engine, set(named)) or max(named, key=lambda k: named[k])


def _joining(engine: Engine, named: set[str]) -> str | None:
    """An entry that joins several of the named ones (a 'liên thông' procedure whose related
    entries are two or more of the things the letter asks for)."""
    if len(named) < 2:
        return None
    best = max(engine.kb.entries.values(), key=lambda e: len(named & set(e.related)))
    return best.id if len(named & set(best.related)) >= 2 else None


def question_part(text: str) -> str:
    """A long letter's question: its sentences with a question cue (else its last two)."""
    if len(text.split()) <= LONG_LETTER_WORDS:
        return text
    sentences = [s.strip() for s in re.split(r"(?<=[.?!;\n])\s+", text) if s.strip()]
    if len(sentences) <= 1:
        return text
    asked = [s for s in sentences if _has_any(fold(s), QUESTION_CUES) or s.endswith("?")]
    chosen = asked[-2:] if asked else sentences[-2:]
    return " ".join(chosen)


def _has_any(folded: str, phrases: tuple[str, ...] | frozenset[str]) -> bool:
    padded = f" {' '.join(folded.split())} "
    return any(f" {p} " in padded for p in phrases)


def act_of(folded: str) -> Act | None:
    for act in ("person", "complaint", "help", "offtopic"):
        if _has_any(folded, ACT_PHRASES[act]):
            return act
    return None


def smalltalk_only(folded: str) -> Act | None:
    """greeting / thanks / bye when the message is nothing else."""
    padded = f" {folded} "
    found: Act | None = None
    for act in ("thanks", "bye", "greeting"):
        for phrase in sorted(ACT_PHRASES[act], key=len, reverse=True):
            if f" {phrase} " in padded:
                padded = padded.replace(f" {phrase} ", " ")
                found = found or act
    rest = [w for w in padded.split() if w not in FOLLOW_UP_WORDS]
    return found if found and not rest else None


def _content(engine: Engine, folded: str) -> list[str]:
    """The message's own words once section cues, fillers, function words, everyday verbs of
    the domain and follow-up words are gone: what is left names a topic."""
    stripped = engine.strip_cues(folded)
    return [w for w in stripped.split()
            if w not in FOLLOW_UP_WORDS and w not in STOP_FOLDED and w not in GENERIC_FOLDED
            and not w.isdigit()]


def understand(  # noqa: C901, PLR0911, PLR0912 - one return per reading, docstring order
    text: str, state: ChatState, engine: Engine, limit: int = 2000
) -> Understanding:
    text = clean(text, limit)
    lang = language(text, state.locale or "vi")
    if not any(ch.isalpha() for ch in text):
        return Understanding("empty", lang)
    question = question_part(text)
    folded = " ".join(fold(w) for w in words(question))
    sections = sections_in(engine.normalise(question).folded)  # short forms expanded
    places = engine.places.find(question, context=state.focus_office is not None)
    searched = engine.places.without(question, places) if places else question
    result = engine.ask(searched)
    act = act_of(folded)
    small = smalltalk_only(" ".join(fold(w) for w in words(text)))
    if small:
        return Understanding(small, lang, question=question)
    if act in ("person", "complaint"):
        return Understanding(act, lang, sections, tuple(places), result=result, question=question)
    best = result.best.entry_id if result.best else None
    offices = tuple(places)
    content = _content(engine, folded)
    if act == "offtopic" and result.decision != "answer":
        return Understanding("offtopic", lang, question=question, result=result)
    if state.focus_entry and not offices and not content and len(folded.split()) <= \
            SHORT_FOLLOW_UP_WORDS:
        return Understanding("follow-up", lang, sections, (), state.focus_entry, result,
                             question)
    if not offices and state.focus_office and _points_back(folded):
        offices = tuple(o for o in engine.kb.offices if o.id == state.focus_office)
    if offices and not _content(engine, _without_office_words(searched)):
        return Understanding("place", lang, sections, offices, None, result, question)
    if result.decision != "answer" and len(text.split()) > LONG_LETTER_WORDS:
        topic = letter_topic(engine, engine.places.without(text, places) if places else text,
                             question)
        if topic:
            return Understanding("question", lang, sections, offices, topic, result, question)
    if result.decision == "answer" and best and (best != state.focus_entry or not sections):
        kind: Act = "question" if best != state.focus_entry else "follow-up"
        return Understanding(kind, lang, sections, offices, best, result, question)
    if state.focus_entry and _refers_to_focus(engine, state.focus_entry, content, result, folded):
        return Understanding("follow-up", lang, sections, offices, state.focus_entry, result,
                             question)
    if offices:
        return Understanding("place", lang, sections, offices, None, result, question)
    if act is not None:
        return Understanding(act, lang, sections, (), result=result, question=question)
    if result.decision == "clarify":
        return Understanding("clarify", lang, sections, (), None, result, question)
    if result.decision == "empty" and not content:
        return Understanding("empty", lang, sections, question=question)
    if not _has_any(folded, DOMAIN_FOLDED) and not engine.knows_any(content):
        return Understanding("offtopic", lang, question=question)
    return Understanding("decline", lang, sections, (), None, result, question)


POINTING = ("xa do", "phuong do", "cho do", "o do", "noi do", "xa nay", "phuong nay", "ben do",
            "that office", "there", "that one", "dac khu do")


def _points_back(folded: str) -> bool:
    """'một cửa xã đó ở chỗ nào': the office just talked about."""
    return _has_any(folded, POINTING) and _has_any(folded, (*OFFICE_CUES, "o dau", "cho nao",
                                                            "where", "dia chi"))


def _without_office_words(text: str) -> str:
    """Folded text without words that only say 'the one-stop office'."""
    padded = f" {' '.join(fold(w) for w in words(text))} "
    for cue in sorted((*OFFICE_CUES, *PLACE_WORDS), key=len, reverse=True):
        padded = padded.replace(f" {cue} ", " ")
    return padded.strip()


def _refers_to_focus(engine: Engine, focus: str, content: list[str], result: Result,
                     folded: str) -> bool:
    """A follow-up: short, and either nothing but cues and follow-up words, or words the
    entry in focus explains, while nothing else was recognised with confidence."""
    if len(folded.split()) > SHORT_FOLLOW_UP_WORDS:
        return False
    if not content:
        return True
    return engine.explains(focus, content) >= 0.5
