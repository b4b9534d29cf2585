"""One understanding step per message: the message and the chat's state in, data out.

``understand`` says what the message is (the dialogue act), which procedure it is about (a new
one named with confidence, or the one in focus for a follow-up), every section asked for, the
one-stop office of a place it names, and its own language.  Handlers compose replies from that.

The message is read once (``Reading``: language, question part of a long letter, sections,
places, the engine's result on the text without the place); then the readings below are tried
in order and the first that holds wins:

1. nothing but smalltalk → greeting / thanks / bye; asking for a person; a complaint;
2. off-topic words and no procedure → off-topic;
3. a short message with no topic word of its own → a follow-up on the entry in focus (not
   when a neighbour of the focus ranks above it);
4. nothing but a place (or "that office") → the office;
5. a long letter → the entry its sentences name (one that joins several named ones first;
   not what a sentence says was done already when something else is named);
6. a procedure named with confidence → that entry (a new focus), with the office of a place —
   unless the message's own words are in another candidate's names, or it is a side match of
   a short message the focus explains;
7. a reply to "which one?" → the offered entry it names;
8. several clauses → the clause that names a procedure;
9. a short question the focus explains (a longer one: explains more, nothing else close) →
   a follow-up;
10. a place with a procedure nobody recognised → the office;
11. help; close candidates → the one that joins the others and the focus, the action named
    right before the thing it acts on, the neighbour a "còn …" turns to, else "which one?";
    empty, off-topic, else an honest decline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.conversation import cues
from bot.conversation.state import ChatState
from bot.knowledge.schema import Office, Section
from bot.retrieval.engine import Engine, Result
from bot.retrieval.lexicon import DOMAIN_FOLDED, FOLLOW_UP_WORDS, GENERIC_FOLDED, STOP_FOLDED
from bot.retrieval.text import clean

Act = Literal["question", "follow-up", "place", "greeting", "thanks", "bye", "help",
              "complaint", "person", "offtopic", "clarify", "decline", "empty"]

SHORT_FOLLOW_UP_WORDS = 12
LETTER_COVERED = 0.75  # a sentence of a letter names an entry when it holds most of its name …
LETTER_CONFIDENCE = 0.6  # … with this confidence; the sentences that ask come first, and
ASKED_COVERED, ASKED_CONFIDENCE = 0.6, 0.5  # name an entry with a little less
BARE_QUESTION_COVERED = 0.7  # … a little less when the question names nothing itself
ASKED_WORD_BONUS = 0.3  # a backstory entry whose name holds a word of the question
OFF_TOPIC_BELOW = 0.25  # a message nothing in the knowledge base comes this close to
JOINED_SHARE = 0.75  # a joining entry's name holds this share of each joined entry's title
FOCUS_EXPLAINS = 0.5  # share of a follow-up's own words found in the entry in focus …
LONGER_FOLLOW_UP_WORDS, LONGER_EXPLAINS = 20, 0.65  # … a longer one needs more of them
FOCUS_KEEPS = 0.75  # the focus explains this much of a message a side match names


@dataclass(frozen=True)
class Understanding:
    act: Act
    lang: str
    sections: tuple[Section, ...] = ()
    offices: tuple[Office, ...] = ()
    entry_id: str | None = None  # the entry the reply presents
    result: Result | None = None  # what retrieval made of the question
    question: str = ""  # the part of the message that was searched


@dataclass(frozen=True)
class Reading:
    """The message read once; every step below looks at this."""

    engine: Engine
    state: ChatState
    text: str
    lang: str
    question: str  # the question part of a long letter, else the message
    folded: str  # the question, folded
    sections: tuple[Section, ...]
    offices: tuple[Office, ...]
    searched: str  # the question without the place named
    result: Result  # the engine on ``searched``
    content: tuple[str, ...]  # the question's own topic words

    def said(self, act: Act, entry_id: str | None = None, offices: tuple[Office, ...] = (),
             sections: tuple[Section, ...] | None = None) -> Understanding:
        chosen = self.sections if sections is None else sections
        return Understanding(act, self.lang, chosen, offices, entry_id, self.result,
                             self.question)

    @property
    def short(self) -> bool:
        """A short message; a letter is not, though its question sentence may be."""
        return len(self.folded.split()) <= SHORT_FOLLOW_UP_WORDS and (
            len(self.text.split()) <= cues.LONG_LETTER_WORDS)

    def focus_explains(self) -> float:
        """Share of the message's own words the entry in focus explains (0 without a focus)."""
        focus = self.state.focus_entry
        return self.engine.explains(focus, list(self.content)) if focus else 0.0


def understand(text: str, state: ChatState, engine: Engine, limit: int = 2000) -> Understanding:
    text = clean(text, limit)
    lang = cues.language(text, state.locale or "vi", engine.short_forms)
    if not any(ch.isalpha() for ch in text):
        return Understanding("empty", lang)
    reading = read(text, lang, state, engine)
    for step in STEPS:
        found = step(reading)
        if found is not None:
            return found
    return reading.said("decline")


def read(text: str, lang: str, state: ChatState, engine: Engine) -> Reading:
    question = cues.question_part(text)
    folded = cues.folded_words(question)
    offices = tuple(engine.places.find(question, context=state.focus_office is not None))
    searched = engine.places.without(question, list(offices)) if offices else question
    if offices:
        searched = cues.without_office_cues(searched)
    sections = tuple(dict.fromkeys(  # as typed, and with short forms expanded ('dt')
        (*cues.sections_in(folded), *cues.sections_in(engine.normalise(question).folded))))
    typed = engine.normalise.plain(question)  # teencode and dialect replaced ('lm' = làm)
    return Reading(engine, state, text, lang, question, folded, sections, offices, searched,
                   engine.ask(searched), tuple(topic_words(engine, typed)))


def topic_words(engine: Engine, folded: str) -> list[str]:
    """The message's own words once section cues, fillers, function words, everyday verbs of
    the domain and follow-up words are gone: what is left names a topic."""
    stripped = engine.strip_cues(folded)
    return [w for w in stripped.split()
            if w not in FOLLOW_UP_WORDS and w not in STOP_FOLDED and w not in GENERIC_FOLDED
            and not w.isdigit()]


# -- the readings, in order ---------------------------------------------------------------------

Step = Callable[[Reading], Understanding | None]


def smalltalk(r: Reading) -> Understanding | None:
    small = cues.smalltalk_only(r.engine.normalise.plain(r.text))  # 'hieu r' = 'hiểu rồi'
    return r.said(small) if small else None


def person_or_complaint(r: Reading) -> Understanding | None:
    act = cues.act_of(r.folded)
    if act in ("person", "complaint"):
        return r.said(act, offices=r.offices)
    return None


def offtopic(r: Reading) -> Understanding | None:
    if cues.act_of(r.folded) == "offtopic" and r.result.decision != "answer":
        return r.said("offtopic")
    return None


def bare_follow_up(r: Reading) -> Understanding | None:
    focus = r.state.focus_entry
    if focus and not r.offices and not r.content and r.short and not _ranks_above_focus(r):
        return r.said("follow-up", focus)
    return None


def place_only(r: Reading) -> Understanding | None:
    offices = r.offices
    if not offices and r.state.focus_office and cues.points_back(r.folded):
        offices = tuple(o for o in r.engine.kb.offices if o.id == r.state.focus_office)
    if offices and not topic_words(r.engine, cues.without_office_words(r.searched)):
        return r.said("place", offices=offices)
    return None


def letter(r: Reading) -> Understanding | None:
    """A long letter, or a message of several sentences ('I hold an Australian licence. Can I
    swap it?'): the entry its sentences name."""
    size = len(r.text.split())
    several = len(cues.sentences(r.text)) >= 2 and size > SHORT_FOLLOW_UP_WORDS
    if not (several or size > cues.LONG_LETTER_WORDS):
        return None
    best = r.result.best
    if r.result.decision == "answer" and best and set(r.content) & r.engine.name_words(
            best.entry_id):
        return None  # the question names it by a word of its own, not only by "giấy tờ"
    body = r.engine.places.without(r.text, list(r.offices)) if r.offices else r.text
    topic = letter_topic(r.engine, body, r.question)
    return r.said("question", topic, r.offices) if topic else None


def named_entry(r: Reading) -> Understanding | None:
    best = r.result.best
    if r.result.decision != "answer" or best is None:
        return None
    focus = r.state.focus_entry
    if best.entry_id == focus and r.sections:
        return r.said("follow-up", focus, r.offices)
    own = _own_words_entry(r)
    if own is not None and own != best.entry_id:
        return r.said("question" if own != focus else "follow-up", own, r.offices)
    if focus and r.short and not set(r.content) & r.engine.name_words(best.entry_id):
        # named only by a section's words ('cháu ở Hà Nội thì làm trên VNeID được không')
        return r.said("follow-up", focus, r.offices)
    if focus and r.short and best.explained < FOCUS_EXPLAINS and (
            r.focus_explains() >= FOCUS_KEEPS):
        # a side match ('công chứng' of a land sale) does not take the focus that explains it
        return r.said("follow-up", focus, r.offices)
    kind: Act = "question" if best.entry_id != focus else "follow-up"
    return r.said(kind, best.entry_id, r.offices)


def _own_words_entry(r: Reading) -> str | None:
    """When the best candidate's names hold none of the message's own topic words, the
    candidate within reach whose names hold most of them ('đánh giá cán bộ một cửa': the
    survey, not the office hours that 'một cửa' matched)."""
    own = set(r.content)
    candidates = r.result.candidates
    if not own or not candidates or own & r.engine.name_words(candidates[0].entry_id):
        return None
    reach = [c for c in candidates[1:] if c.confidence >= r.engine.tuning.clarify_at]
    held = {c.entry_id: len(own & r.engine.name_words(c.entry_id)) for c in reach}
    pick = max(held, key=lambda k: held[k], default=None)
    return pick if pick is not None and held[pick] >= FOCUS_EXPLAINS * len(own) else None


def chosen(r: Reading) -> Understanding | None:
    """A typed answer to "which one?": the offered entry that ranks first."""
    offered = set(r.state.choices)
    if not offered:
        return None
    tuning = r.engine.tuning
    pick = next((c for c in r.result.candidates if c.entry_id in offered
                 and c.confidence >= tuning.clarify_at), None)
    return r.said("question", pick.entry_id, r.offices) if pick else None


def clause(r: Reading) -> Understanding | None:
    """'khai tử cần giấy tờ gì, nộp online được không': the clause that names the procedure,
    the others only asking sections."""
    parts = cues.clauses(r.searched)
    topical = [p for p in parts if topic_words(r.engine, cues.folded_words(p))]
    if len(parts) < 2 or len(topical) != 1:
        return None
    result = r.engine.ask(topical[0])
    if result.decision != "answer" or result.best is None:
        return None
    return r.said("question", result.best.entry_id, r.offices)


def follow_up(r: Reading) -> Understanding | None:
    """A short question about a detail of the entry in focus ('hai đứa có phải cùng lên
    không'): its words are in that entry, and nothing else was recognised with confidence."""
    focus = r.state.focus_entry
    size = len(r.folded.split())
    if not focus or size > LONGER_FOLLOW_UP_WORDS or _ranks_above_focus(r):
        return None
    if r.short and r.focus_explains() >= FOCUS_EXPLAINS:
        return r.said("follow-up", focus, r.offices)
    if not r.short:  # a longer one, when nothing else comes close
        longer = r.result.decision == "decline" and r.focus_explains() >= LONGER_EXPLAINS
        return r.said("follow-up", focus, r.offices) if longer else None
    if r.result.decision in ("answer", "clarify") or r.offices:
        return None
    strong = [c for c in r.result.candidates if c.entry_id != focus
              and c.confidence >= r.engine.tuning.clarify_at
              and c.covered >= r.engine.tuning.covered_at]
    asks = cues.has_any(r.folded, ("ko", "khong", "k", "dc", "duoc", "phai", "co", "sao"))
    known = r.engine.knows_any(list(r.content))
    return r.said("follow-up", focus, r.offices) if asks and known and not strong else None


def _ranks_above_focus(r: Reading) -> bool:
    """Torn between a neighbour of the focus and the focus, the neighbour first ('sổ đỏ bị
    mất thì cấp lại ở đâu' after first issue): not a follow-up, whatever the focus explains."""
    offered = [c.entry_id for c in r.result.choices] if r.result.decision == "clarify" else []
    return len(offered) >= 2 and offered[0] != r.state.focus_entry and (
        r.state.focus_entry in offered)


DOMINANT_COVERED, DOMINANT_CONFIDENCE, DOMINANT_GAP, DOMINANT_NAMED = 0.55, 0.45, 0.12, 2


def dominant(r: Reading) -> Understanding | None:
    """A question with words of its own around one entry's name, and no other entry near it
    ('nhà cấp 4 xây lại 2 tầng có phải xin phép chi không'): that entry, though the extra
    words keep the engine from being sure."""
    candidates = r.result.candidates
    if r.result.decision != "decline" or not candidates:
        return None
    best, runner = candidates[0], candidates[1] if len(candidates) > 1 else None
    clear = runner is None or runner.confidence <= best.confidence - DOMINANT_GAP
    own = set(r.content)
    in_name = own & r.engine.name_words(best.entry_id)  # the question's words in its names
    named = len(in_name) >= DOMINANT_NAMED and len(in_name) >= FOCUS_EXPLAINS * len(own)
    if (best.covered >= DOMINANT_COVERED and best.confidence >= DOMINANT_CONFIDENCE and clear
            and named and cues.has_any(r.folded, cues.QUESTION_WORDS)):
        return r.said("question", best.entry_id, r.offices)
    return None


def place(r: Reading) -> Understanding | None:
    return r.said("place", offices=r.offices) if r.offices else None


def other_act(r: Reading) -> Understanding | None:
    act = cues.act_of(r.folded)
    return r.said(act) if act is not None else None


def clarify(r: Reading) -> Understanding | None:
    """Close candidates: the one that joins the others (with the focus: 'the health card
    too?'), the action named before the thing it acts on, the neighbour a message turns to;
    else "which one?"."""
    if r.result.decision != "clarify":
        return None
    offered = [c.entry_id for c in r.result.choices]
    talked = {*offered, *([r.state.focus_entry] if r.state.focus_entry else [])}
    pick = (_joining(r.engine, talked, offered) or _head(r.engine, r.searched, offered)
            or _other_than_focus(r, offered))
    return r.said("question", pick) if pick else r.said("clarify")


def _other_than_focus(r: Reading, offered: list[str]) -> str | None:
    """'còn sổ mảnh khác bị mất thì …': a message that turns to something else ('còn', 'what
    about'), torn between the entry in focus and a neighbour it ranks first, means the
    neighbour — the focus was answered already."""
    focus = r.state.focus_entry
    if len(offered) < 2 or offered[0] == focus or offered[1] != focus:
        return None
    return offered[0] if cues.turns_to_other(r.folded) else None


def empty(r: Reading) -> Understanding | None:
    """Nothing but question words ('bao nhiêu tiền?'); a letter around them is not empty."""
    bare = r.result.decision == "empty" and not r.content
    return r.said("empty") if bare and len(r.text.split()) <= cues.LONG_LETTER_WORDS else None


def unknown_topic(r: Reading) -> Understanding | None:
    best = r.result.best
    domain = cues.has_any(r.folded, DOMAIN_FOLDED) or r.engine.knows_any(list(r.content)) or (
        best is not None and best.confidence >= OFF_TOPIC_BELOW)
    return None if domain else r.said("offtopic", sections=())


STEPS: tuple[Step, ...] = (smalltalk, person_or_complaint, offtopic, bare_follow_up, place_only,
                           letter, named_entry, chosen, clause, follow_up, dominant, place,
                           other_act, clarify, empty, unknown_topic)


# -- long letters -------------------------------------------------------------------------------

def letter_topic(engine: Engine, text: str, question: str) -> str | None:
    """The entry a long letter is about: the one a sentence names most surely (covering most of
    its name), preferring the sentences that ask; None when no sentence names one."""
    asked = cues.sentences(question)
    named, scene = _named(engine, asked, ASKED_COVERED, ASKED_CONFIDENCE)
    if not named:  # the question only asks ('sửa ở đâu?'): the backstory names the thing …
        verbs = set(topic_words(engine, engine.normalise.plain(question)))
        covered = LETTER_COVERED if verbs else BARE_QUESTION_COVERED
        named, scene = _named(engine, [s for s in cues.sentences(text) if s not in asked],
                              covered, LETTER_CONFIDENCE, depth=3)
        for entry_id in named:  # … and the question's own words say which of them
            named[entry_id] += ASKED_WORD_BONUS * bool(verbs & engine.name_words(entry_id))
    if not named:
        return None
    wanted = {k: v for k, v in named.items() if k not in scene} or named  # not what was done
    joiner = _joining(engine, set(wanted))
    return joiner if joiner not in named and joiner else max(wanted, key=lambda k: wanted[k])


def _named(engine: Engine, sentences: list[str], covered: float,
           confidence: float, depth: int = 1) -> tuple[dict[str, float], set[str]]:
    """The entries these sentences name (the best ``depth`` of each), with their confidence,
    and those named only by sentences that tell what was done already ('đã đăng ký hộ kinh
    doanh được ba năm'): the scene, not what is asked when anything else is named."""
    named: dict[str, float] = {}
    asked: set[str] = set()
    for sentence in sentences:
        plain = engine.normalise.plain(sentence)
        own = set(topic_words(engine, plain))
        done = cues.tells_done(plain)
        for top in engine.ask(sentence).candidates[:depth]:
            if top.covered < covered or top.confidence < confidence:
                continue
            if own & engine.name_words(top.entry_id):  # by a word of its own, not 'giấy tờ'
                named[top.entry_id] = max(top.confidence, named.get(top.entry_id, 0.0))
                asked |= set() if done else {top.entry_id}
    return named, set(named) - asked


def _head(engine: Engine, question: str, offered: list[str]) -> str | None:
    """Of entries named one right after the other ('sao y | cccd', 'công chứng | sổ đỏ'), the
    first: Vietnamese puts the action before the thing it acts on."""
    spans = {k: v for k, v in engine.spans(question, offered).items() if v}
    if len(spans) < 2:
        return None
    head = min(spans, key=lambda k: min(spans[k]))
    after = {start for k, v in spans.items() if k != head for start, _ in v}
    return head if any(end in after for _, end in spans[head]) else None


def _joining(engine: Engine, named: set[str], among: list[str] | None = None) -> str | None:
    """An entry (of ``among``, else of all) that joins several of the named ones: a 'liên
    thông' procedure whose related entries include two or more of the things asked for, each
    named in its own name ('Liên thông khai sinh – thường trú – thẻ BHYT')."""
    if len(named) < 2:
        return None
    pool = [engine.kb.entries[i] for i in among] if among is not None else list(
        engine.kb.entries.values())
    joins = {e.id: _joined(engine, e.id, named & set(e.related)) for e in pool
             if len(named & set(e.related)) >= 2}
    best = max(joins, key=lambda k: joins[k], default=None)
    return best if best is not None and joins[best] >= 2 else None


def _joined(engine: Engine, joiner: str, related: set[str]) -> int:
    """How many of these related entries the joiner names (most of their title's words)."""
    own = engine.name_words(joiner)
    count = 0
    for entry_id in related:
        title = [w for w in cues.folded_words(engine.kb.entries[entry_id].title).split()
                 if w not in STOP_FOLDED]
        count += bool(title) and sum(w in own for w in title) >= JOINED_SHARE * len(title)
    return count
