"""Retrieval: a sparse BM25 index over titles and aliases, a bounded confidence, a decision.

Pipeline for one question: normalise (``bot.retrieval.text``) → correct typos against the index
vocabulary → BM25 over syllables, syllable bigrams and character trigrams → confidence for the
best candidates (IDF-weighted coverage of the question and of the closest title/alias, plus
rapidfuzz ``token_set_ratio``) → answer / clarify / decline, and the section asked for.
"""

from __future__ import annotations

import array
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.knowledge.loader import AnyEntry, KnowledgeBase
from bot.knowledge.schema import Procedure, Section, Synonym
from bot.retrieval.lexicon import (
    ENGLISH_WORDS,
    FILLER_PHRASES,
    GENERIC_FOLDED,
    SECTION_CUES,
    STOP_ACCENTED,
    STOP_FOLDED,
)
from bot.retrieval.offices import PlaceIndex
from bot.retrieval.text import Normalised, Normaliser, Token, fold, fold_word, words

Decision = Literal["answer", "clarify", "decline", "empty"]


@dataclass(frozen=True)
class Tuning:
    """Knobs of the ranking and the decision; defaults are tuned on the development questions."""

    k1: float = 1.2
    b: float = 0.6
    weight_word: float = 1.0
    weight_accented: float = 0.3
    weight_bigram: float = 1.2
    weight_trigram: float = 0.15
    pool: int = 20  # candidates that get a confidence …
    pool_floor: float = 0.3  # … among those within this share of the best BM25 score
    typo_cutoff: float = 74.0
    max_corrections: int = 8  # per question: bounds the cost of a long garbled message
    answer_at: float = 0.55  # confidence needed to answer
    clarify_at: float = 0.42  # below this: decline
    margin: float = 0.06  # final-score gap under which close candidates are offered
    weak_below: float = 0.65  # under this confidence …
    explained_at: float = 0.5  # … the best match must explain half of the question
    covered_at: float = 0.34  # and the question must contain a third of the best title/alias
    fuzzy_share: float = 0.25


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    title: str
    score: float  # final ranking score
    confidence: float  # 0..1
    bm25: float
    explained: float = 1.0  # share of the question's content the best title/alias explains
    covered: float = 1.0  # share of that title/alias found in the question


@dataclass(frozen=True)
class Result:
    question: str
    decision: Decision
    candidates: tuple[Candidate, ...]
    section: Section | None
    ambiguous: tuple[Synonym, ...] = ()
    elapsed_ms: float = 0.0

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def choices(self) -> tuple[Candidate, ...]:
        """What to offer when clarifying: the runners-up that explain the question as well as the
        best does, within reach of its score; two or three of them."""
        if not self.candidates:
            return ()
        top = self.candidates[0]
        close = [c for c in self.candidates[:3]
                 if top.score - c.score <= 0.12
                 or (top.score - c.score <= 0.3 and c.explained >= min(0.6, top.explained))]
        return tuple(close if len(close) >= 2 else self.candidates[:2])


BARE_TOPIC_EXPLAINED = 0.95  # the question is wholly inside each of these entries' names …
BARE_TOPIC_COVERED = 0.9  # … and names none of them in full


REGISTRATION = frozenset({"dang", "ky"})  # the default action: 'khai tử' is 'đăng ký khai tử'


def _bare_topic(candidates: Sequence[Candidate], asked: frozenset[str]) -> bool:
    """A topic shared by several entries and nothing that picks one ('gplx': renew or replace?):
    two or more candidates explain the whole question, and the best is not named in full —
    unless all the best's name adds is the default action (registering the event asked)."""
    whole = [c for c in candidates[:3] if c.explained >= BARE_TOPIC_EXPLAINED]
    best = candidates[0]
    if len(whole) < 2 or best.covered >= BARE_TOPIC_COVERED or whole[0] is not best:
        return False
    return not _registers(best, asked)


def _registers(candidate: Candidate, asked: frozenset[str]) -> bool:
    """The candidate's title is the question plus at most the default action ('đăng ký')."""
    return set(fold(candidate.title).split()) - asked <= REGISTRATION


def is_stop(token: Token) -> bool:
    if token.accented:
        return token.text in STOP_ACCENTED
    return token.folded in STOP_FOLDED or token.text in STOP_ACCENTED


def _name_stop(token: Token, marked: bool) -> bool:
    """A function word of a title or alias. A name written with diacritics is read as
    written: a syllable without marks there is that syllable ('sao' of 'bản sao'), not a
    function word typed plain ('sao' = why), unless it is an English one."""
    if not marked:
        return is_stop(token)
    english = not token.accented and token.folded in STOP_FOLDED and token.folded in ENGLISH_WORDS
    return token.text in STOP_ACCENTED or english


def detect_section(folded: str) -> Section | None:
    """The section whose cue ends last: Vietnamese puts the question word at the end
    ("sao y giấy tờ ở đâu" asks where, not which papers). Ties go to the earlier section."""
    padded = f" {folded} "
    best: tuple[int, int] | None = None
    found: Section | None = None
    for rank, (section, cues) in enumerate(SECTION_CUES.items()):
        for cue in cues:
            end = padded.rfind(f" {cue} ")
            if end >= 0:
                key = (end + len(cue), -rank)
                if best is None or key > best:
                    best, found = key, section
    return found


def _features(folded_words: Sequence[str], accented: Iterable[str] = ()) -> list[str]:
    feats = [f"w:{w}" for w in folded_words]
    feats += [f"a:{w}" for w in accented]
    feats += [f"b:{a}_{b}" for a, b in itertools.pairwise(folded_words)]
    for w in folded_words:
        if len(w) >= 3:
            padded = f"_{w}_"
            feats += [f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2)]
    return feats


_PREFIX_WEIGHT = {
    "w": "weight_word",
    "a": "weight_accented",
    "b": "weight_bigram",
    "c": "weight_trigram",
}


@dataclass(frozen=True)
class _Surface:
    """A title, alias or question as folded content words, in order, with adjacent pairs and
    each word's weight (IDF; everyday domain words weigh less; a repeated word counts once)."""

    seq: tuple[str, ...]
    words: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    text: str  # for rapidfuzz
    weights: tuple[float, ...] = ()
    total: float = 0.0

    @classmethod
    def of(cls, seq: Sequence[str], weight: Callable[[str], float] | None = None,
           shared: dict[tuple[str, str], tuple[str, str]] | None = None) -> _Surface:
        """``shared``: one tuple per word pair across all the index's names (memory)."""
        seq = tuple(seq)
        firsts = dict.fromkeys(range(len(seq)))  # a repeated word counts once
        seen: set[str] = set()
        for i, word in enumerate(seq):
            if word in seen:
                del firsts[i]
            seen.add(word)
        weights = [weight(w) if weight and i in firsts else 0.0 for i, w in enumerate(seq)]
        adjacent = itertools.pairwise(seq)
        pairs = frozenset(shared.setdefault(p, p) for p in adjacent) if shared is not None else (
            frozenset(adjacent))
        return cls(seq, frozenset(seq), pairs, " ".join(seq), tuple(weights), sum(weights))


@dataclass
class SearchIndex:
    """Immutable once built; a reload builds a new one and swaps it in."""

    ids: list[str]
    titles: list[str]
    postings: Postings
    surfaces: list[list[_Surface]]
    texts: list[list[str]]  # the surfaces' texts, for rapidfuzz's C loop
    idf: dict[str, float]
    vocabulary: list[str]
    pairs: frozenset[tuple[str, str]]  # adjacent folded words of every title and alias
    weigh: Callable[[str], float]
    curated: np.ndarray  # 1.0 for hand-written entries, lower for imported ones
    tuning: Tuning = field(default_factory=Tuning)

    @classmethod
    def build(cls, kb: KnowledgeBase, tuning: Tuning | None = None) -> SearchIndex:
        tuning = tuning or Tuning()
        ids, titles, surfaces = [], [], []
        features = _FeatureIds()
        word_df: Counter[str] = Counter()
        curated_df: Counter[str] = Counter()
        pairs: set[tuple[str, str]] = set()
        curated = []
        n_curated = 0
        contents: list[list[list[str]]] = []
        for entry in kb.entries.values():
            texts = _surface_texts(entry)
            ids.append(entry.id)
            titles.append(entry.title)
            entry_contents = []
            seen_words: set[str] = set()
            for text in texts:
                toks = [Token(w, fold_word(w)) for w in words(text)]
                folded = [t.folded for t in toks]
                pairs.update(itertools.pairwise(folded))
                features.add(len(ids) - 1, _features(folded, (t.text for t in toks if t.accented)))
                marked = any(t.accented for t in toks)
                content = [t.folded for t in toks if not _name_stop(t, marked)]
                if content:
                    entry_contents.append(content)
                seen_words.update(folded)
            word_df.update(seen_words)
            if entry.curated:
                curated_df.update(seen_words)
                n_curated += 1
            contents.append(entry_contents)
            curated.append(1.0 if entry.curated else 0.9)
        n = max(len(ids), 1)
        idf = {w: math.log(1 + (n - df + 0.5) / (df + 0.5)) for w, df in word_df.items()}
        weigh = _confidence_weights(idf, curated_df, n_curated)
        shared: dict[tuple[str, str], tuple[str, str]] = {}
        surfaces = [[_Surface.of(c, weigh, shared) for c in entry] for entry in contents]
        postings = features.postings(len(ids), tuning)
        return cls(
            ids,
            titles,
            postings,
            surfaces,
            [[surface.text for surface in entry] for entry in surfaces],
            idf,
            sorted(word_df),
            frozenset(pairs),
            weigh,
            np.array(curated),
            tuning,
        )

    # -- query side -------------------------------------------------------------------------

    def correct(self, tokens: Sequence[Token]) -> list[Token]:
        """Replace words the index does not know by the closest index word (typos).

        Among close spellings, one that forms a known two-syllable word with a neighbour wins:
        'khia sinh' → 'khai sinh', not 'kia sinh'.
        """
        out: list[Token] = []
        budget = self.tuning.max_corrections
        for i, tok in enumerate(tokens):
            if (
                budget <= 0
                or tok.folded in self.idf
                or len(tok.folded) < 3
                or is_stop(tok)
                or tok.folded.isdigit()
                or tok.accented  # typed with accents: meant as typed
            ):
                out.append(tok)
                continue
            budget -= 1
            prev = out[-1].folded if out else None
            nxt = tokens[i + 1].folded if i + 1 < len(tokens) else None
            best, best_score = None, 0.0
            for match, score, _ in process.extract(
                tok.folded,
                self.vocabulary,
                scorer=fuzz.ratio,
                limit=6,
                score_cutoff=self.tuning.typo_cutoff,
            ):
                bonus = 20.0 if (prev, match) in self.pairs or (match, nxt) in self.pairs else 0.0
                bonus += 3.0 if match[0] == tok.folded[0] else 0.0
                if score + bonus > best_score:
                    best, best_score = match, score + bonus
            out.append(Token(best, best, expanded=tok.expanded, corrected=True) if best else tok)
        return out

    def bm25(self, tokens: Sequence[Token]) -> np.ndarray:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        folded = [t.folded for t in tokens]
        feats = set(_features(folded, (t.text for t in tokens if t.accented)))
        for feat in feats:
            posting = self.postings.get(feat)
            if posting is not None:
                weight = getattr(self.tuning, _PREFIX_WEIGHT[feat[0]])
                scores[posting[0]] += weight * posting[1]
        return scores

    def _coverage(self, part: _Surface, whole: _Surface,
                  fuzzy_words: frozenset[str] = frozenset()) -> float:
        """Weighted share of ``part`` found in ``whole``: a word counts fully inside a shared
        two-syllable pair (or when either side is one word), half as a lone syllable ('mai' of
        'ngày mai' is not 'mai' of 'mai táng'), three quarters of that if it is only there
        through a spelling correction. Hot path: kept flat on purpose."""
        if not part.total:
            return 0.0
        seq, weights, words, pairs = part.seq, part.weights, whole.words, whole.pairs
        single = len(seq) == 1 or len(whole.seq) == 1
        last = len(seq) - 1
        hit = 0.0
        for i, word in enumerate(seq):
            weight = weights[i]
            if not weight or word not in words:
                continue
            paired = single or (i > 0 and (seq[i - 1], word) in pairs) or (
                i < last and (word, seq[i + 1]) in pairs
            )
            strength = 1.0 if paired else 0.5
            if fuzzy_words and word in fuzzy_words:
                strength *= 0.75
            hit += weight * strength
        return hit / part.total

    def confidence(
        self,
        doc: int,
        views: Sequence[_Surface],
        query_text: str,
        fuzzy_words: frozenset[str] = frozenset(),
    ) -> tuple[float, float, float]:
        """(confidence, share of the question explained, share of the best title/alias present)
        for one entry, all in 0..1.

        Confidence blends how much of the closest title/alias the question contains, how much
        of the question that title/alias explains, and rapidfuzz's bounded token_set_ratio.
        """
        best = explained = covered = 0.0
        for surface in self.surfaces[doc]:
            for view in views:
                if not view.words & surface.words:
                    continue
                of_question = self._coverage(view, surface)
                of_surface = self._coverage(surface, view, fuzzy_words)
                cover = 0.6 * of_surface + 0.4 * of_question
                if cover > best:
                    best, explained, covered = cover, of_question, of_surface
            if best >= 0.999:
                break
        texts = self.texts[doc]
        match = texts and process.extractOne(query_text, texts, scorer=fuzz.token_set_ratio)
        fuzzy = match[1] / 100.0 if match else 0.0
        share = self.tuning.fuzzy_share
        return (1 - share) * best + share * fuzzy * min(1.0, best * 2), explained, covered


@dataclass(frozen=True)
class Accents:
    """Diacritics put back on a message typed without any, from the two-syllable words of the
    knowledge base's own titles and aliases ('tach ho khau' → 'tách hộ khẩu'), so that a name
    typed plain is read as it would be with its marks."""

    pairs: dict[tuple[str, str], tuple[str, str]]

    @classmethod
    def learn(cls, kb: KnowledgeBase) -> Accents:
        seen: dict[tuple[str, str], Counter[tuple[str, str]]] = {}
        for entry in kb.entries.values():
            if not entry.curated:
                continue
            for text in _surface_texts(entry):
                ws = words(text)
                for a, b in itertools.pairwise(ws):
                    if a != fold(a) or b != fold(b):
                        seen.setdefault((fold(a), fold(b)), Counter())[(a, b)] += 1
        return cls({key: counts.most_common(1)[0][0] for key, counts in seen.items()})

    def restore(self, norm: Normalised) -> Normalised:
        tokens = list(norm.tokens)
        typed = [i for i, t in enumerate(tokens) if not t.expanded]
        if any(tokens[i].accented for i in typed):
            return norm  # typed with diacritics: meant as typed
        done: set[int] = set()
        for i, j in itertools.pairwise(typed):
            accented = self.pairs.get((tokens[i].folded, tokens[j].folded))
            if accented is None:
                continue
            for index, text in ((i, accented[0]), (j, accented[1])):
                if index not in done:
                    tokens[index] = replace(tokens[index], text=text)
                    done.add(index)
        return replace(norm, tokens=tuple(tokens)) if done else norm


def _confidence_weights(
    idf: dict[str, float], curated_df: Counter[str], n_curated: int
) -> Callable[[str], float]:
    """Word weights for confidence: IDF among the hand-written entries where the word occurs
    there, so that thousands of imported entries do not shift how sure the curated answers are;
    IDF over everything (capped) otherwise."""
    n_curated = max(n_curated, 1)
    cap = math.log(1 + n_curated + 0.5)
    local = {w: math.log(1 + (n_curated - df + 0.5) / (df + 0.5)) for w, df in curated_df.items()}

    def weigh(word: str) -> float:
        base = local.get(word, min(idf.get(word, cap), cap))
        return base * (0.4 if word in GENERIC_FOLDED else 1.0)

    return weigh


def _surface_texts(entry: AnyEntry) -> list[str]:
    texts = list(entry.names)
    if isinstance(entry, Procedure):
        texts += [t for t in (entry.title_en, entry.code) if t]
    elif entry.question_en:
        texts.append(entry.question_en)
    return texts


@dataclass(frozen=True)
class Postings:
    """BM25 weights of every feature, in three flat arrays (compressed sparse rows): the
    documents of feature ``f`` are ``docs[offsets[f]:offsets[f + 1]]``.  Flat arrays keep a
    national-size index small: no Python object per feature."""

    ids: dict[str, int]
    offsets: np.ndarray
    docs: np.ndarray
    weights: np.ndarray

    def get(self, feature: str) -> tuple[np.ndarray, np.ndarray] | None:
        index = self.ids.get(feature)
        if index is None:
            return None
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.docs[start:end], self.weights[start:end]


class _FeatureIds:
    """Features of every document as integer ids in flat arrays, filled as the index is built
    (no list of feature strings per document is kept)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.feature = array.array("q")
        self.doc = array.array("q")

    def add(self, doc: int, feats: Sequence[str]) -> None:
        ids = self.ids
        for feat in dict.fromkeys(f for f in feats if f not in ids):
            ids[feat] = len(ids)
        self.feature.extend([ids[f] for f in feats])
        self.doc.extend([doc] * len(feats))

    def postings(self, n_docs: int, tuning: Tuning) -> Postings:
        return _bm25_postings(self.ids, np.frombuffer(self.feature, dtype=np.int64),
                              np.frombuffer(self.doc, dtype=np.int64), n_docs, tuning)


def _bm25_postings(ids: dict[str, int], feature: np.ndarray, doc_ids: np.ndarray,
                   n_docs: int, tuning: Tuning) -> Postings:
    n_docs, n_feats = max(n_docs, 1), max(len(ids), 1)
    lengths = np.bincount(doc_ids, minlength=n_docs).astype(np.float64)
    pairs, tf = np.unique(doc_ids * n_feats + feature, return_counts=True)
    doc_ids, feature = pairs // n_feats, pairs % n_feats
    df = np.bincount(feature, minlength=n_feats).astype(np.float64)
    avg = float(lengths.mean()) or 1.0
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    norm = tuning.k1 * (1 - tuning.b + tuning.b * lengths / avg)
    weights = idf[feature] * tf * (tuning.k1 + 1) / (tf + norm[doc_ids])
    order = np.lexsort((doc_ids, feature))
    offsets = np.searchsorted(feature[order], np.arange(n_feats + 1)).astype(np.int64)
    return Postings(ids, offsets, doc_ids[order].astype(np.int32),
                    weights[order].astype(np.float32))


_CUE_PHRASES = sorted({c for cues in SECTION_CUES.values() for c in cues}, key=len, reverse=True)
_CUES_AND_FILLERS = (*_CUE_PHRASES, *FILLER_PHRASES)


def _strip(folded: str, phrases: Sequence[str] = FILLER_PHRASES) -> str:
    padded = f" {folded} "
    for phrase in phrases:
        while f" {phrase} " in padded:
            padded = padded.replace(f" {phrase} ", " ")
    return padded.strip()


class Engine:
    """Normaliser + index + decision, rebuilt as one unit whenever the knowledge base changes."""

    def __init__(self, kb: KnowledgeBase, tuning: Tuning | None = None) -> None:
        self.kb = kb
        self.normalise = Normaliser(kb.synonyms)
        self.index = SearchIndex.build(kb, tuning)
        self.tuning = self.index.tuning
        self.places = PlaceIndex(kb.offices, kb.contacts.province_name)
        self.accents = Accents.learn(kb)
        self.short_forms = frozenset(  # what citizens type for Vietnamese words: ko, dc, cccd
            fold(s.term) for s in kb.synonyms if s.kind != "english")
        self._position = {entry_id: i for i, entry_id in enumerate(self.index.ids)}
        self._texts: dict[str, frozenset[str]] = {}  # words of hand-written entries, as asked

    def strip_cues(self, folded: str) -> str:
        """A folded message without section cues and filler phrases."""
        return _strip(folded, _CUES_AND_FILLERS)

    def knows_any(self, folded_words: Sequence[str]) -> bool:
        """Whether any of these words is in a title or alias of the knowledge base."""
        return any(w in self.index.idf for w in folded_words if len(w) > 1)

    def explains(self, entry_id: str, folded_words: Sequence[str]) -> float:
        """Share of the words (after synonyms) found in the entry: its names, and for a
        hand-written entry every word of its text ('hai đứa có phải cùng lên' is about
        marriage registration because its steps say both go)."""
        known = self.name_words(entry_id) | self._text_words(entry_id)
        norm = self.normalise(" ".join(folded_words))
        content = [t.folded for t in norm.tokens if not is_stop(t)]
        if not content:
            return 1.0
        return sum(w in known for w in content) / len(content)

    def name_words(self, entry_id: str) -> frozenset[str]:
        """The folded words of the entry's title and aliases."""
        position = self._position.get(entry_id)
        surfaces = self.index.surfaces[position] if position is not None else []
        return frozenset(w for s in surfaces for w in s.words)

    def spans(self, question: str, entry_ids: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
        """Where a title or alias of each entry occurs whole, its content words in a row, in the
        question (synonyms expanded): (start, end) positions among the question's words."""
        norm = self.accents.restore(self.normalise(question))
        seq = tuple(self._content(self.index.correct(norm.tokens)).split())
        found: dict[str, list[tuple[int, int]]] = {}
        for entry_id in entry_ids:
            position = self._position.get(entry_id)
            surfaces = self.index.surfaces[position] if position is not None else []
            found[entry_id] = [(i, i + len(s.seq)) for s in surfaces
                               for i in range(len(seq) - len(s.seq) + 1)
                               if seq[i:i + len(s.seq)] == s.seq]
        return found

    def _text_words(self, entry_id: str) -> frozenset[str]:
        entry = self.kb.entries.get(entry_id)
        if entry is None or not entry.curated:
            return frozenset()
        cached = self._texts.get(entry_id)
        if cached is None:
            dumped = entry.model_dump_json(exclude={"source", "related", "life_events"})
            cached = self._texts[entry_id] = frozenset(fold_word(w) for w in words(dumped))
        return cached

    def ask(self, question: str, k: int = 5) -> Result:
        started = time.perf_counter()
        norm = self.accents.restore(self.normalise(question))
        result = self._decide(question, norm, k)
        return replace(result, elapsed_ms=(time.perf_counter() - started) * 1000)

    def _content(self, tokens: Sequence[Token], phrases: Sequence[str] = FILLER_PHRASES) -> str:
        """Folded words minus ``phrases`` and function words, except where a function word is
        half of a word the index knows: typed without diacritics, 'can' is 'cần' but also 'căn'
        of 'căn cước'."""
        folded = _strip(" ".join(t.folded for t in tokens), phrases).split()
        flags = {t.folded: t for t in tokens}
        pairs = self.accents.pairs  # Vietnamese two-syllable words, not English word pairs
        kept = []
        for i, word in enumerate(folded):
            tok = flags.get(word, Token(word, word))
            if is_stop(tok):
                before = i > 0 and (folded[i - 1], word) in pairs
                after = i + 1 < len(folded) and (word, folded[i + 1]) in pairs
                if tok.accented or not (before or after):
                    continue
            kept.append(word)
        return " ".join(kept)

    def _views(self, corrected: Sequence[Token]) -> list[_Surface]:
        """The question as typed, with synonyms expanded, and without section cues."""
        typed = self._content([t for t in corrected if not t.expanded])
        expanded = self._content(corrected)
        core = self._content(corrected, _CUES_AND_FILLERS)
        if not core:  # nothing but "how much / where / how long": no procedure named
            return []
        texts = dict.fromkeys(t for t in (typed, expanded, core) if t)
        weigh = self.index.weigh
        return [_Surface.of(text.split(), weigh) for text in texts]

    def _decide(self, question: str, norm: Normalised, k: int) -> Result:
        corrected = self.index.correct(norm.tokens)
        section = detect_section(" ".join(t.folded for t in corrected))
        views = self._views(corrected)
        if not views:
            return Result(question, "empty", (), section, norm.ambiguous)
        bm25 = self.index.bm25(corrected)
        top = float(bm25.max()) if len(bm25) else 0.0
        if top <= 0:
            return Result(question, "decline", (), section, norm.ambiguous)
        pool = np.argsort(-bm25)[: self.tuning.pool]
        query_text = views[-1].text
        fuzzy = frozenset(t.folded for t in corrected if t.corrected)
        scored = []
        floor = top * self.tuning.pool_floor
        for doc in pool:
            if bm25[doc] <= floor:
                break
            conf, explained, covered = self.index.confidence(int(doc), views, query_text, fuzzy)
            final = (0.75 * conf + 0.25 * float(bm25[doc]) / top) * float(self.index.curated[doc])
            scored.append(
                Candidate(
                    self.index.ids[doc],
                    self.index.titles[doc],
                    round(final, 4),
                    round(conf, 4),
                    round(float(bm25[doc]), 3),
                    round(explained, 4),
                    round(covered, 4),
                )
            )
        scored.sort(key=lambda c: -c.score)
        candidates = tuple(scored[:k])
        decision = self._decision(candidates, views[-1].words)
        return Result(question, decision, candidates, section, norm.ambiguous)

    def _decision(self, candidates: Sequence[Candidate], asked: frozenset[str]) -> Decision:
        best = candidates[0]
        tuning = self.tuning
        if best.confidence < tuning.clarify_at:
            return "decline"
        if best.confidence < tuning.weak_below and best.explained < tuning.explained_at:
            return "decline"  # a side match: most of the question is about something else
        if best.covered < tuning.covered_at:
            return "decline"  # a fragment: one common word of a longer name
        runner_up = candidates[1] if len(candidates) > 1 else None
        close = runner_up is not None and best.score - runner_up.score < self.tuning.margin and (
            not _registers(best, asked) or _registers(runner_up, asked))
        bare = _bare_topic(candidates, asked)
        if best.confidence >= self.tuning.answer_at and not close and not bare:
            return "answer"
        return "clarify"
