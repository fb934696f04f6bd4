"""Page ranking: semantic, lexical, conversational and time evidence on one scale.

Candidates (semantic top-k, lexical top-k, pages in a named time window, and their neighbours) are
scored by standardised cosine plus standardised BM25, widened once by pseudo-relevance feedback
(distinctive words of the best first-pass pages), plus a bonus for pages of a time the query names.
Then conversation context: a page next to a relevant page (the exchange before or after it) gains
part of its neighbour's score, and the pages of a sitting (exchanges close in time) that holds a
strong match gain a little, because answers often sit one exchange away from the question's words.
Only the winners' rows are read from the store.

``rank_texts`` puts free texts (the LangGraph store's items, ``memoryos_core.items``) on the same
scale: standardised cosine plus standardised BM25 over the candidates, without the conversation terms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..storage.base import PageRow, Store
from ..types import ScoredPage
from ..words import search_terms
from .lexical import BM25_B, BM25_K1, LexicalIndex, Lexicon, top_docs
from .time_hints import TimeHint, time_hints
from .vectors import VectorSearch

MIN_PAGE_SCORE = 0.1
#: Candidates taken from each of the semantic and lexical searches (at least; 4 x top_k if larger).
CANDIDATES = 60
LEXICAL_WEIGHT = 0.8
NEIGHBOUR_WEIGHT = 0.5
NEIGHBOUR2_WEIGHT = 0.15
SITTING_WEIGHT = 0.2
DATE_WEIGHT = 3.0
#: Query expansion: distinctive words of the best first-pass pages, added with a small weight.
FEEDBACK_PAGES, FEEDBACK_TERMS, FEEDBACK_WEIGHT = 5, 10, 0.3

#: A ranked page with the rid of its segment (for heat), None for a page not yet consolidated.
RankedPage = tuple[ScoredPage, "int | None"]


@dataclass(frozen=True)
class _Scored:
    """A candidate pool scored: docs, base score (cosine + BM25 + feedback + time), cosine, BM25."""

    docs: np.ndarray
    base: np.ndarray
    cosine: np.ndarray
    bm25: np.ndarray


class PageRanker:
    """Ranks a scope's searchable pages for a query (indexes synced by the caller)."""

    def __init__(self, store: Store, vectors: VectorSearch, lexical: LexicalIndex) -> None:
        self.store, self.vectors, self.lexical = store, vectors, lexical

    def rank(self, scope_id: int, query: str, qvec: np.ndarray, top_k: int, exclude: set[int]) -> list[RankedPage]:
        """Best pages first, without the pages of ``exclude`` (rids); at most ``top_k``."""
        lex = self.lexical.sync(scope_id)
        if not lex.size:
            return []
        want = max(top_k * 4, CANDIDATES)
        cos_of: dict[int, float] = {}
        for rid, value in self.vectors.nearest_pages(scope_id, qvec, want):
            doc = lex.doc_of.get(rid)
            if doc is not None:
                cos_of[doc] = value
        query_terms = search_terms(query)
        bm25 = lex.scores(query_terms)
        hints = time_hints(query)
        banned = {lex.doc_of[r] for r in exclude if r in lex.doc_of}
        pool = set(cos_of) | set(top_docs(bm25, want).tolist())
        for hint in hints:
            if not hint.month:  # a named day or month: its pages are candidates too
                pool.update(lex.in_window(hint.start, hint.end, want).tolist())
        pool -= banned
        # Pseudo-relevance feedback: distinctive words of the best first-pass pages widen the query.
        first = self._scored(scope_id, lex, qvec, pool, cos_of, bm25, hints)
        feedback = None
        if len(first.docs):
            best = first.docs[np.argsort(-first.base, kind="stable")[:FEEDBACK_PAGES]]
            expansion = lex.feedback_terms(best.tolist(), exclude=set(query_terms), limit=FEEDBACK_TERMS)
            if expansion:
                feedback = lex.scores(expansion)
                pool.update(top_docs(feedback, want).tolist())
        around = np.asarray(sorted(pool), dtype=np.int64)
        for side in lex.near(around, 1):
            pool.update(side[side >= 0].tolist())
        pool -= banned
        scored = self._scored(scope_id, lex, qvec, pool, cos_of, bm25, hints, feedback)
        if not len(scored.docs):
            return []
        final = _with_conversation(lex, scored.docs, scored.base)
        ranking = np.argsort(-final, kind="stable")
        weak = (scored.cosine < MIN_PAGE_SCORE) & (scored.bm25 <= 0) & (final <= 0)  # no sign of relevance at all
        keep = ranking[~weak[ranking]][:top_k].tolist()
        return self._winners(scope_id, qvec, lex, keep, scored, final)

    def _winners(self, scope_id: int, qvec: np.ndarray, lex: Lexicon, keep: list[int], scored: _Scored,
                 final: np.ndarray) -> list[RankedPage]:
        """The kept candidates as scored pages, reading only their rows; archived pages left out."""
        c = scored.cosine
        winners = [int(lex.rid.data[scored.docs[i]]) for i in keep]
        rows: dict[int, PageRow] = {}
        for start in range(0, len(winners), LexicalIndex.FETCH):
            rows.update((r.rid, r) for r in self.store.pages_by_rids(scope_id, winners[start:start + LexicalIndex.FETCH]))
        out: list[RankedPage] = []
        seg_cos: dict[int, float] = {}
        for i, rid in zip(keep, winners):
            row = rows.get(rid)
            if row is None or row.page.tier == "archived":
                continue
            seg = row.segment_rid
            if seg is not None and seg not in seg_cos:
                centroid = self.vectors.segment_cosine(scope_id, qvec, seg)
                seg_cos[seg] = centroid if centroid is not None else float(c[i])
            out.append((ScoredPage(page=row.page, score=_relevance(float(final[i])), segment_id=row.page.segment_id,
                                   segment_score=seg_cos.get(seg, float(c[i])) if seg is not None else float(c[i])),
                        seg))
        return out

    def _scored(self, scope_id: int, lex: Lexicon, qvec: np.ndarray, pool: set[int], cos_of: dict[int, float],
                bm25: np.ndarray, hints: list[TimeHint], feedback: np.ndarray | None = None) -> _Scored:
        """A candidate pool scored; base = standardised cosine + BM25 (+ query-expansion BM25, + time hints)."""
        docs = np.asarray(sorted(pool), dtype=np.int64)
        missing = [int(d) for d in docs if int(d) not in cos_of]
        if missing:
            cosines = self.vectors.page_cosines(scope_id, qvec, [int(lex.rid.data[d]) for d in missing])
            for d, cosine in zip(missing, cosines):
                if cosine is not None:
                    cos_of[d] = cosine
        docs = np.asarray([d for d in docs.tolist() if d in cos_of], dtype=np.int64)
        if not len(docs):
            empty = np.zeros(0)
            return _Scored(docs, empty, empty, empty)
        c = np.asarray([cos_of[d] for d in docs.tolist()], dtype=np.float64)
        b = bm25[docs]
        base = _standardise(c) + LEXICAL_WEIGHT * _standardise(b)
        if feedback is not None:
            base += FEEDBACK_WEIGHT * _standardise(feedback[docs])
        if hints:
            stamps = lex.stamp.data[docs]
            base += DATE_WEIGHT * np.asarray([any(h.matches(t) for h in hints) for t in stamps.tolist()], dtype=np.float64)
        return _Scored(docs, base, c, b)


def _with_conversation(lex: Lexicon, docs: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Base scores plus what each candidate gains from its neighbours (one and two exchanges away) and
    from its sitting (the mean of the sitting's two best base scores)."""
    index_of = np.full(lex.rid.n, -1, dtype=np.int64)
    index_of[docs] = np.arange(len(docs))

    def near(distance: int) -> np.ndarray:
        best = np.full(len(docs), -np.inf)
        for side in lex.near(docs, distance):
            at = np.where(side >= 0, index_of[np.clip(side, 0, None)], -1)
            best = np.maximum(best, np.where(at >= 0, base[np.clip(at, 0, None)], -np.inf))
        return np.where(np.isfinite(best), best, base)

    return base + NEIGHBOUR_WEIGHT * near(1) + NEIGHBOUR2_WEIGHT * near(2) + SITTING_WEIGHT * _sitting_scores(
        lex.sittings(docs), base)


def _sitting_scores(sitting_ids: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Per candidate, the mean of the two best base scores of its sitting (0 outside any sitting)."""
    ranked = np.lexsort((-base, sitting_ids))  # by sitting, best first within each
    ids = sitting_ids[ranked]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    sizes = np.diff(np.r_[starts, len(ranked)])
    best = base[ranked[starts]]
    second = np.where(sizes > 1, base[ranked[np.minimum(starts + 1, len(ranked) - 1)]], 0.0)
    means = np.where(sizes > 1, (best + second) / 2.0, best)  # what ndarray.mean gives for one or two values
    means = np.where(ids[starts] >= 0, means, 0.0)
    sitting = np.zeros(len(base))
    sitting[ranked] = np.repeat(means, sizes)
    return sitting


def _standardise(values: np.ndarray) -> np.ndarray:
    sd = float(values.std())
    return (values - float(values.mean())) / sd if sd > 1e-12 else np.zeros_like(values)


def _relevance(score: float) -> float:
    """The hybrid score mapped to (0, 1) for callers that show or merge scores."""
    return 1.0 / (1.0 + math.exp(-score / 2.0))


# -- free texts (stored items) on the same scale ---------------------------------------------------

@lru_cache(maxsize=65536)
def _term_counts(text: str) -> tuple[dict[str, int], int]:
    """BM25's view of a text: its content words with counts, and its length (texts recur from query to query)."""
    terms = search_terms(text)
    return dict(Counter(terms)), len(terms)


def _bm25(query_terms: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """BM25 of each text of a small corpus (the candidates), with the page index's constants and its
    rule that words on more than half of a large corpus carry no weight."""
    n = len(texts)
    scores = np.zeros(n, dtype=np.float64)
    if not n:
        return scores
    docs = [_term_counts(t) for t in texts]
    lengths = np.fromiter((length for _, length in docs), dtype=np.float64, count=n)
    norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / max(float(lengths.mean()), 1e-9))
    for term in set(query_terms):
        tf = np.fromiter((counts.get(term, 0) for counts, _ in docs), dtype=np.float64, count=n)
        df = int(np.count_nonzero(tf))
        if not df or (df > n / 2 and n > 20):
            continue
        scores += math.log(1.0 + (n - df + 0.5) / (df + 0.5)) * tf * (BM25_K1 + 1.0) / (tf + norm)
    return scores


def rank_texts(query: str, query_vector: np.ndarray, texts: Sequence[str],
               vectors: Sequence[np.ndarray]) -> np.ndarray:
    """Relevance in (0, 1) of candidate texts to a query, by the method MemoryOS ranks pages with:
    standardised cosine plus ``LEXICAL_WEIGHT`` x standardised BM25 over the candidates. ``vectors[i]``
    holds one or more unit vectors of text ``i`` (its best cosine counts)."""
    if not texts:
        return np.zeros(0)
    qvec = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    matrices = [np.atleast_2d(v) for v in vectors]
    counts = np.fromiter((m.shape[0] for m in matrices), dtype=np.int64, count=len(matrices))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cosines = np.maximum.reduceat(np.concatenate(matrices) @ qvec, starts).astype(np.float64)
    bm25 = _bm25(search_terms(query), texts)
    combined = _standardise(cosines) + LEXICAL_WEIGHT * _standardise(bm25)
    return np.fromiter((_relevance(float(x)) for x in combined), dtype=np.float64, count=len(combined))
