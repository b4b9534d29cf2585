"""Retrieval: a sparse BM25 index over titles and aliases, a bounded confidence, a decision.

Pipeline for one question: normalise (``bot.text``) → correct typos against the index vocabulary →
BM25 over syllables, syllable bigrams and character trigrams → confidence for the best candidates
(IDF-weighted coverage of the question and of the closest title/alias, plus rapidfuzz
``token_set_ratio``) → answer / clarify / decline, and the section asked for.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.knowledge.loader import AnyEntry, KnowledgeBase
from bot.knowledge.schema import Procedure, Section, Synonym
from bot.lexicon import FILLER_PHRASES, SECTION_CUES, STOP_ACCENTED, STOP_FOLDED
from bot.text import Normalised, Normaliser, Token, fold, words

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
    pool: int = 20  # candidates that get a confidence
    typo_cutoff: float = 74.0
    answer_at: float = 0.55  # confidence needed to answer
    clarify_at: float = 0.42  # below this: decline
    margin: float = 0.06  # final-score gap under which close candidates are offered
    fuzzy_share: float = 0.25


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    title: str
    score: float  # final ranking score
    confidence: float  # 0..1
    bm25: float


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
        """What to offer when clarifying: the close runners-up, two or three of them."""
        if not self.candidates:
            return ()
        top = self.candidates[0].score
        close = [c for c in self.candidates[:3] if top - c.score <= 0.12]
        return tuple(close if len(close) >= 2 else self.candidates[:2])


def is_stop(token: Token) -> bool:
    if token.accented:
        return token.text in STOP_ACCENTED
    return token.folded in STOP_FOLDED or token.text in STOP_ACCENTED


def detect_section(folded: str) -> Section | None:
    padded = f" {folded} "
    for section, cues in SECTION_CUES.items():
        if any(f" {cue} " in padded for cue in cues):
            return section
    return None


def _features(folded_words: Sequence[str], accented: Iterable[str] = ()) -> list[str]:
    feats = [f"w:{w}" for w in folded_words]
    feats += [f"a:{w}" for w in accented]
    feats += [f"b:{a}_{b}" for a, b in zip(folded_words, folded_words[1:], strict=False)]
    for w in folded_words:
        if len(w) >= 3:
            padded = f"_{w}_"
            feats += [f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)]
    return feats


_PREFIX_WEIGHT = {"w": "weight_word", "a": "weight_accented", "b": "weight_bigram", "c": "weight_trigram"}


@dataclass
class _Surface:
    words: frozenset[str]  # folded content words
    text: str  # folded content words joined, for rapidfuzz


@dataclass
class SearchIndex:
    """Immutable once built; a reload builds a new one and swaps it in."""

    ids: list[str]
    titles: list[str]
    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    surfaces: list[list[_Surface]]
    idf: dict[str, float]
    vocabulary: list[str]
    curated: np.ndarray  # 1.0 for hand-written entries, lower for imported ones
    tuning: Tuning = field(default_factory=Tuning)

    @classmethod
    def build(cls, kb: KnowledgeBase, tuning: Tuning | None = None) -> SearchIndex:
        tuning = tuning or Tuning()
        ids, titles, docs, surfaces = [], [], [], []
        word_df: Counter[str] = Counter()
        curated = []
        for entry in kb.entries.values():
            texts = _surface_texts(entry)
            ids.append(entry.id)
            titles.append(entry.title)
            doc: list[str] = []
            entry_surfaces = []
            seen_words: set[str] = set()
            for text in texts:
                toks = [Token(w, fold(w)) for w in words(text)]
                folded = [t.folded for t in toks]
                doc += _features(folded, (t.text for t in toks if t.accented))
                content = [t.folded for t in toks if not is_stop(t)]
                entry_surfaces.append(_Surface(frozenset(content), " ".join(content)))
                seen_words.update(folded)
            word_df.update(seen_words)
            docs.append(doc)
            surfaces.append(entry_surfaces)
            curated.append(1.0 if entry.aliases else 0.9)
        n = max(len(docs), 1)
        idf = {w: math.log(1 + (n - df + 0.5) / (df + 0.5)) for w, df in word_df.items()}
        postings = _bm25_postings(docs, tuning)
        return cls(ids, titles, postings, surfaces, idf, sorted(word_df), np.array(curated), tuning)

    # -- query side -------------------------------------------------------------------------

    def correct(self, tokens: Sequence[Token]) -> list[Token]:
        """Add the closest index words for words the index does not know (typos)."""
        out = list(tokens)
        known = self.idf
        for tok in tokens:
            if tok.folded in known or len(tok.folded) < 3 or is_stop(tok) or tok.folded.isdigit():
                continue
            for match, _score, _ in process.extract(
                tok.folded, self.vocabulary, scorer=fuzz.ratio, limit=2,
                score_cutoff=self.tuning.typo_cutoff,
            ):
                out.append(Token(match, match, expanded=True))
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

    def confidence(self, doc: int, views: Sequence[frozenset[str]], query_text: str) -> float:
        best = 0.0
        max_idf = math.log(1 + len(self.ids))
        for surface in self.surfaces[doc]:
            s_total = sum(self.idf.get(w, max_idf) for w in surface.words) or 1.0
            for view in views:
                q_total = sum(self.idf.get(w, max_idf) for w in view) or 1.0
                hit = sum(self.idf.get(w, max_idf) for w in view & surface.words)
                cover = 0.6 * hit / s_total + 0.4 * hit / q_total
                best = max(best, cover)
            if best >= 0.999:
                break
        fuzzy = max(
            (fuzz.token_set_ratio(query_text, s.text) for s in self.surfaces[doc]), default=0.0
        ) / 100.0
        share = self.tuning.fuzzy_share
        return (1 - share) * best + share * fuzzy * min(1.0, best * 2)


def _surface_texts(entry: AnyEntry) -> list[str]:
    texts = [entry.title, *entry.aliases]
    if isinstance(entry, Procedure):
        texts += [t for t in (entry.title_en, entry.code) if t]
    elif entry.question_en:
        texts.append(entry.question_en)
    return texts


def _bm25_postings(docs: list[list[str]], tuning: Tuning) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    n = len(docs)
    lengths = np.array([len(d) for d in docs], dtype=np.float32)
    avg = float(lengths.mean()) if n else 1.0
    df: Counter[str] = Counter()
    tfs = [Counter(d) for d in docs]
    for tf in tfs:
        df.update(tf.keys())
    rows: dict[str, tuple[list[int], list[float]]] = {}
    for doc, tf in enumerate(tfs):
        norm = tuning.k1 * (1 - tuning.b + tuning.b * lengths[doc] / avg)
        for feat, count in tf.items():
            idf = math.log(1 + (n - df[feat] + 0.5) / (df[feat] + 0.5))
            weight = idf * count * (tuning.k1 + 1) / (count + norm)
            docs_, weights = rows.setdefault(feat, ([], []))
            docs_.append(doc)
            weights.append(weight)
    return {
        f: (np.array(d, dtype=np.int32), np.array(w, dtype=np.float32)) for f, (d, w) in rows.items()
    }


_CUE_PHRASES = sorted({c for cues in SECTION_CUES.values() for c in cues}, key=len, reverse=True)


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

    def ask(self, question: str, k: int = 5) -> Result:
        started = time.perf_counter()
        norm = self.normalise(question)
        result = self._decide(question, norm, k)
        elapsed = (time.perf_counter() - started) * 1000
        return Result(result.question, result.decision, result.candidates, result.section,
                      result.ambiguous, elapsed)

    def _views(self, norm: Normalised, corrected: Sequence[Token]) -> list[frozenset[str]]:
        typed = [t for t in norm.tokens if not t.expanded]
        extra = [t for t in corrected if t.expanded]
        content_typed = _strip(" ".join(t.folded for t in typed if not is_stop(t)))
        content_all = _strip(" ".join(t.folded for t in (*norm.tokens, *extra) if not is_stop(t)))
        core = _strip(content_all, _CUE_PHRASES)
        if not core:  # nothing but "how much / where / how long": no procedure named
            return []
        views = {frozenset(content_typed.split()), frozenset(content_all.split()),
                 frozenset(core.split())}
        return [v for v in views if v]

    def _decide(self, question: str, norm: Normalised, k: int) -> Result:
        section = detect_section(norm.folded)
        corrected = self.index.correct(norm.tokens)
        views = self._views(norm, corrected)
        if not views:
            return Result(question, "empty", (), section, norm.ambiguous)
        bm25 = self.index.bm25(corrected)
        top = float(bm25.max()) if len(bm25) else 0.0
        if top <= 0:
            return Result(question, "decline", (), section, norm.ambiguous)
        pool = np.argsort(-bm25)[: self.tuning.pool]
        query_text = " ".join(sorted(views[-1]))
        scored = []
        for doc in pool:
            if bm25[doc] <= 0:
                break
            conf = self.index.confidence(int(doc), views, query_text)
            final = (0.75 * conf + 0.25 * float(bm25[doc]) / top) * float(self.index.curated[doc])
            scored.append(Candidate(self.index.ids[doc], self.index.titles[doc], round(final, 4),
                                    round(conf, 4), round(float(bm25[doc]), 3)))
        scored.sort(key=lambda c: -c.score)
        candidates = tuple(scored[:k])
        return Result(question, self._decision(candidates), candidates, section, norm.ambiguous)

    def _decision(self, candidates: Sequence[Candidate]) -> Decision:
        best = candidates[0]
        if best.confidence < self.tuning.clarify_at:
            return "decline"
        runner_up = candidates[1] if len(candidates) > 1 else None
        close = runner_up is not None and best.score - runner_up.score < self.tuning.margin
        if best.confidence >= self.tuning.answer_at and not close:
            return "answer"
        return "clarify"
