"""Retrieval across tiers and assembly of a token-budgeted context.

Page ranking is hybrid and conversational:

- **semantic**: cosine of the query with each page vector (the FAISS page index);
- **lexical**: BM25 over page text, from an in-memory inverted index per scope that follows the
  page vector index incrementally (names, rare words and numbers that embeddings blur);
- **conversation context**: a page next to a relevant page (the exchange before or after it)
  gains part of its neighbour's score, and pages of a sitting (exchanges close in time) that holds
  a strong match gain a little: answers often sit one exchange away from the words of the question;
- **time hints**: a query naming a date ("on 3 June, 2023", "in July 2023", "in June") favours pages
  of that time.

Candidates (semantic top-k, lexical top-k, pages in a named time window, and their neighbours)
are scored on one scale: cosine and BM25 are standardised over the candidate set and added.

The context groups the chosen pages by date in conversation order (one short date line per
group instead of a timestamp per page). The recent-conversation section is shown while the
conversation is live; when the newest exchange is older than ``recent_live_seconds``, the
short-term pages compete on relevance like any other page instead of taking a fixed share.
"""

from __future__ import annotations

import calendar
import math
import re
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

import numpy as np

from .config import MemoryConfig
from .extractors import _stem, tokenize
from .index import IndexCache
from .storage.base import HeatParams, PageRow
from .tokens import TokenCounter
from .types import Page, Profile, RetrievalResult, ScoredFact, ScoredPage
from .validation import format_timestamp

MIN_PAGE_SCORE = 0.1
#: Candidates taken from each of the semantic and lexical searches (at least; 4 x top_k if larger).
CANDIDATES = 100
LEXICAL_WEIGHT = 0.8
NEIGHBOUR_WEIGHT = 0.5
NEIGHBOUR2_WEIGHT = 0.15
SITTING_WEIGHT = 0.2
DATE_WEIGHT = 3.0
#: Query expansion: distinctive words of the best first-pass pages, added with a small weight.
FEEDBACK_PAGES, FEEDBACK_TERMS, FEEDBACK_WEIGHT = 5, 10, 0.3
#: Exchanges further apart than this start a new sitting.
SITTING_GAP = 3600.0
BM25_K1, BM25_B = 1.2, 0.75
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def short_date(epoch: float) -> str:
    """Compact conversation date for context lines, e.g. ``8 May 2023`` (locale-independent)."""
    dt = datetime.fromtimestamp(epoch, timezone.utc)
    return f"{dt.day} {_MONTHS[dt.month - 1]} {dt.year}"


def lexical_terms(text: str) -> list[str]:
    """Content words of ``text`` for BM25: no stopwords, possessives folded, light suffix stemming."""
    return [_stem(w) for w in tokenize(text)]


# -- time hints in queries --------------------------------------------------------------------

_MONTH_NUMBER = {m.lower(): i + 1 for i, m in enumerate(_MONTHS)}
_MONTH_NUMBER.update({m.lower()[:3]: i + 1 for i, m in enumerate(_MONTHS)})
_MONTH_NUMBER["sept"] = 9
_MN = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_DATE_PATTERNS = (
    ("dmy", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MN},?\s+(\d{{4}})\b", re.IGNORECASE)),
    ("mdy", re.compile(rf"\b{_MN}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)),
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("my", re.compile(rf"\b{_MN},?\s+(\d{{4}})\b", re.IGNORECASE)),
    ("m", re.compile(rf"\b(?:in|during|since|until|by|of|last|this|early|late|mid)[\s-]+{_MN}(?!\w)", re.IGNORECASE)),
)
#: Slack after a named day or month: people report an event in the days after it happened.
_DAY_SLACK = timedelta(days=2)
_MONTH_SLACK = timedelta(days=10)


@dataclass(frozen=True)
class TimeHint:
    """A window the query names: an absolute range, or a month of any year (``month`` set)."""

    start: float = 0.0
    end: float = 0.0
    month: int = 0

    def matches(self, ts: float) -> bool:
        if not self.month:
            return self.start <= ts < self.end
        dt = datetime.fromtimestamp(ts, timezone.utc)
        slack = _MONTH_SLACK.days
        return dt.month == self.month or (dt.month == self.month % 12 + 1 and dt.day <= slack)


def time_hints(query: str) -> list[TimeHint]:
    """Dates and months named in a query, as windows (a day, a month, or a month of any year)."""
    hints: list[TimeHint] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(query):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            g = m.groups()
            try:
                if kind in ("dmy", "mdy", "iso"):
                    if kind == "dmy":
                        day = datetime(int(g[2]), _MONTH_NUMBER[g[1].lower()], int(g[0]), tzinfo=timezone.utc)
                    elif kind == "mdy":
                        day = datetime(int(g[2]), _MONTH_NUMBER[g[0].lower()], int(g[1]), tzinfo=timezone.utc)
                    else:
                        day = datetime(int(g[0]), int(g[1]), int(g[2]), tzinfo=timezone.utc)
                    hints.append(TimeHint((day - timedelta(days=1)).timestamp(), (day + timedelta(days=1) + _DAY_SLACK).timestamp()))
                elif kind == "my":
                    month, year = _MONTH_NUMBER[g[0].lower()], int(g[1])
                    first = datetime(year, month, 1, tzinfo=timezone.utc)
                    nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
                    hints.append(TimeHint(first.timestamp(), (nxt + _MONTH_SLACK).timestamp()))
                else:
                    word = g[0].lower()
                    if word == "may" and not re.match(r"(?i)(in|during|since|until|by|of|last|this)\s", m.group(0)):
                        continue  # "may" is mostly the verb
                    hints.append(TimeHint(month=_MONTH_NUMBER[word]))
            except (KeyError, ValueError, OverflowError):
                continue
            taken.append((m.start(), m.end()))
    return hints


# -- lexical index ----------------------------------------------------------------------------

@dataclass
class _Lexicon:
    """BM25 statistics and conversation order of one scope's searchable pages."""

    rids: list[int] = field(default_factory=list)          # doc number -> page rid
    lengths: list[int] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    terms: list[tuple[str, ...]] = field(default_factory=list)
    alive: list[bool] = field(default_factory=list)
    doc_of: dict[int, int] = field(default_factory=dict)   # page rid -> live doc number
    postings: dict[str, list[int]] = field(default_factory=dict)
    freqs: dict[str, list[int]] = field(default_factory=dict)
    df: dict[str, int] = field(default_factory=dict)
    total_length: int = 0
    order: list[int] = field(default_factory=list)         # live docs by conversation order
    position: dict[int, int] = field(default_factory=dict)
    sitting: list[int] = field(default_factory=list)       # sitting number per order position
    order_stamps: list[float] = field(default_factory=list)
    ordered: bool = True
    signature: tuple[int, int] | None = None
    vector_index: Any = None                               # the page vector index this follows
    seen_labels: int = 0
    _arrays: dict[str, tuple[int, np.ndarray, np.ndarray]] = field(default_factory=dict)
    _dense: tuple[int, np.ndarray, np.ndarray] | None = None

    @property
    def size(self) -> int:
        return len(self.doc_of)

    def add(self, row: PageRow) -> None:
        old = self.doc_of.get(row.rid)
        if old is not None:
            self.kill(old)
        words = lexical_terms(row.page.text)
        counts: dict[str, int] = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        doc = len(self.rids)
        self.rids.append(row.rid)
        self.lengths.append(len(words))
        self.seqs.append(row.page.seq)
        self.stamps.append(row.page.timestamp)
        self.terms.append(tuple(counts))
        self.alive.append(True)
        self.doc_of[row.rid] = doc
        self.total_length += len(words)
        for term, n in counts.items():
            self.postings.setdefault(term, []).append(doc)
            self.freqs.setdefault(term, []).append(n)
            self.df[term] = self.df.get(term, 0) + 1
        if self.ordered and (not self.order or self.seqs[self.order[-1]] < row.page.seq):
            last = self.order[-1] if self.order else None
            self.position[doc] = len(self.order)
            self.order.append(doc)
            gap = row.page.timestamp - self.stamps[last] if last is not None else math.inf
            self.sitting.append(self.sitting[-1] + (gap > SITTING_GAP or gap < 0) if self.sitting else 0)
            self.order_stamps.append(row.page.timestamp)
        else:
            self.ordered = False

    def kill(self, doc: int) -> None:
        if not self.alive[doc]:
            return
        self.alive[doc] = False
        self._dense = None
        self.doc_of.pop(self.rids[doc], None)
        self.total_length -= self.lengths[doc]
        for term in self.terms[doc]:
            self.df[term] -= 1
        self.ordered = False

    def _ensure_order(self) -> None:
        if self.ordered:
            return
        self.order = sorted(self.doc_of.values(), key=lambda d: self.seqs[d])
        self.position = {d: i for i, d in enumerate(self.order)}
        self.order_stamps = [self.stamps[d] for d in self.order]
        self.sitting = []
        for i, d in enumerate(self.order):
            gap = self.stamps[d] - self.stamps[self.order[i - 1]] if i else math.inf
            self.sitting.append((self.sitting[-1] + (gap > SITTING_GAP or gap < 0)) if i else 0)
        self.ordered = True

    def neighbours(self, rid: int, distance: int = 1, *, only: bool = False) -> list[int]:
        """Page rids of the exchanges up to ``distance`` before and after ``rid`` in conversation order
        (exactly ``distance`` away with ``only``)."""
        self._ensure_order()
        doc = self.doc_of.get(rid)
        if doc is None:
            return []
        i = self.position[doc]
        steps = (distance,) if only else range(1, distance + 1)
        return [self.rids[self.order[j]] for d in steps for j in (i - d, i + d) if 0 <= j < len(self.order)]

    def feedback_terms(self, rids: Sequence[int], exclude: set[str], limit: int) -> list[str]:
        """The most distinctive words (idf, per page length) of some pages, for query expansion."""
        n = self.size
        weights: dict[str, float] = {}
        for rid in rids:
            doc = self.doc_of.get(rid)
            if doc is None or not self.lengths[doc]:
                continue
            for term in self.terms[doc]:
                df = self.df.get(term, 0)
                if term in exclude or df <= 0:
                    continue
                weights[term] = weights.get(term, 0.0) + math.log(1.0 + (n - df + 0.5) / (df + 0.5)) / self.lengths[doc]
        return sorted(weights, key=lambda t: (-weights[t], t))[:limit]

    def sitting_of(self, rid: int) -> int | None:
        self._ensure_order()
        doc = self.doc_of.get(rid)
        return None if doc is None else self.sitting[self.position[doc]]

    def in_window(self, start: float, end: float, limit: int) -> list[int]:
        """Rids of pages stamped within [start, end), at most ``limit`` (conversation order)."""
        self._ensure_order()
        stamps = self.order_stamps
        if any(b < a for a, b in zip(stamps, stamps[1:])):  # the clock went backwards somewhere: scan
            return [self.rids[d] for d in self.order if start <= self.stamps[d] < end][:limit]
        lo, hi = bisect_left(stamps, start), bisect_left(stamps, end)
        return [self.rids[d] for d in self.order[lo:min(hi, lo + limit)]]

    def scores(self, query_terms: Iterable[str]) -> dict[int, float]:
        """BM25 score of every page sharing a term with the query (rid -> score)."""
        n = self.size
        if not n:
            return {}
        avgdl = max(self.total_length / n, 1e-9)
        size = len(self.rids)
        if self._dense is None or self._dense[0] != size:
            self._dense = (size, np.asarray(self.lengths, dtype=np.float64), np.asarray(self.alive, dtype=bool))
        _, lengths, alive = self._dense
        acc = np.zeros(size, dtype=np.float64)
        for term in set(query_terms):
            df = self.df.get(term, 0)
            if df <= 0:
                continue
            cached = self._arrays.get(term)
            postings = self.postings[term]
            if cached is None or cached[0] != len(postings):
                cached = (len(postings), np.asarray(postings, dtype=np.int64), np.asarray(self.freqs[term], dtype=np.float64))
                self._arrays[term] = cached
            _, docs, tf = cached
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths[docs] / avgdl)
            np.add.at(acc, docs, idf * tf * (BM25_K1 + 1.0) / (tf + norm) * alive[docs])
        hit = np.flatnonzero(acc > 0)
        return {self.rids[d]: float(acc[d]) for d in hit}


class LexicalIndex:
    """Per-scope BM25 indexes over page text, kept in step with the page vector index.

    The page vector index already knows which pages are searchable (embedded, not archived) and
    tells new or re-embedded pages apart by their position; the lexical index reads only those
    pages' text from the store, and rebuilds only when the vector index was rebuilt or lost pages.
    """

    FETCH = 500

    def __init__(self, store: Any, indexes: IndexCache) -> None:
        self.store, self.indexes = store, indexes
        self._lock = threading.Lock()
        self._scopes: dict[int, _Lexicon] = {}

    def sync(self, scope_id: int) -> _Lexicon:
        """The scope's lexicon, brought up to date with its page vector index (call after ``indexes.sync``)."""
        with self._lock, self.indexes._lock:  # noqa: SLF001 - the same package's index internals
            lex = self._scopes.get(scope_id)
            entry = self.indexes._indexes.get((scope_id, "pages"))  # noqa: SLF001
            if entry is None:
                lex = self._scopes[scope_id] = _Lexicon()
                return lex
            rid_of, label_of = entry.rid_of, entry.label_of
            signature = (len(rid_of), len(label_of))
            if lex is not None and lex.vector_index is entry.index and lex.signature == signature:
                return lex
            if lex is None or lex.vector_index is not entry.index or len(rid_of) < lex.seen_labels:
                lex = _Lexicon()  # first use, or the vector index was rebuilt: read every page once
                fresh = list(label_of)
            else:  # vectors appended since: new pages, or pages whose text changed
                fresh = [rid for rid in rid_of[lex.seen_labels:] if rid in label_of]
            self._fetch(scope_id, lex, fresh)
            if lex.size != len(label_of):  # pages left the index (deleted, archived): retire them
                for rid in [r for r in lex.doc_of if r not in label_of]:
                    lex.kill(lex.doc_of[rid])
            lex.seen_labels, lex.signature, lex.vector_index = len(rid_of), signature, entry.index
            self._scopes[scope_id] = lex
            return lex

    def _fetch(self, scope_id: int, lex: _Lexicon, rids: Sequence[int]) -> None:
        for start in range(0, len(rids), self.FETCH):
            rows = self.store.pages_by_rids(scope_id, list(rids[start:start + self.FETCH]))
            for row in sorted(rows, key=lambda r: r.page.seq):
                if row.page.tier != "archived":
                    lex.add(row)

    def forget(self, scope_id: int) -> None:
        with self._lock:
            self._scopes.pop(scope_id, None)


# -- retrieval --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Budget:
    """Shares of the context budget; what a section leaves unused flows to past conversation."""

    profile: float = 0.12
    knowledge: float = 0.2
    short_term: float = 0.25


def _standardise(values: np.ndarray) -> np.ndarray:
    sd = float(values.std())
    return (values - float(values.mean())) / sd if sd > 1e-12 else np.zeros_like(values)


def _relevance(score: float) -> float:
    """The hybrid score mapped to (0, 1) for callers that show or merge scores."""
    return 1.0 / (1.0 + math.exp(-score / 2.0))


RECENT_TITLE = "## Recent conversation"
#: A side that starts with a speaker's name ("Caroline: ...", "Dr. Ann Lee: ...") is shown without a role label.
_NAMED_SIDE = re.compile(r"[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}: ")
TITLES = {"profile": "## User profile", "user": "## What is known about the user",
          "assistant": "## What is known about the assistant", "mid": "## Relevant past conversation",
          "short": RECENT_TITLE}


class Retriever:
    def __init__(self, store: Any, indexes: IndexCache, tokens: TokenCounter, config: MemoryConfig,
                 heat: HeatParams) -> None:
        self.store, self.indexes, self.tokens, self.config, self.heat = store, indexes, tokens, config, heat
        self.lexical = LexicalIndex(store, indexes)
        self._count = lru_cache(maxsize=8192)(tokens.count)  # page texts recur across queries

    def is_live(self, short: Sequence[Page]) -> bool:
        """True while the conversation is going on: its newest exchange is recent on the wall clock."""
        return bool(short) and time.time() - short[-1].timestamp <= self.config.recent_live_seconds

    def retrieve(self, scope_id: int, query: str, qvec: np.ndarray, *, top_k: int, max_context_tokens: int,
                 record_visits: bool = True, budget: Budget = Budget()) -> RetrievalResult:
        cfg = self.config
        self.indexes.sync(scope_id)
        short_rows = self.store.short_term(scope_id, cfg.short_term_capacity)
        short = [r.page for r in short_rows]
        live = self.is_live(short)
        exclude = {r.rid for r in short_rows} if live else set()
        ranked = self._rank_pages(scope_id, query, qvec, top_k, exclude=exclude)
        user_facts = self._facts(scope_id, "facts_user", qvec)
        assistant_facts = self._facts(scope_id, "facts_assistant", qvec)
        profile = self.store.profile(scope_id)
        context, used, kept = self.assemble(profile, short if live else [], ranked, user_facts, assistant_facts,
                                            max_context_tokens, budget)
        if record_visits:
            visited = sorted({rid for _, rid in kept if rid is not None})
            self.store.record_visits(scope_id, visited, self.heat)
        return RetrievalResult(query=query, short_term=short, mid_term=[sp for sp, _ in ranked], profile=profile,
                               user_knowledge=user_facts, assistant_knowledge=assistant_facts,
                               context=context, context_tokens=used, max_context_tokens=max_context_tokens,
                               context_page_ids=[sp.page.id for sp, _ in kept])

    def search(self, scope_id: int, query: str, qvec: np.ndarray, limit: int
               ) -> tuple[list[ScoredPage], list[ScoredFact], list[ScoredFact]]:
        """Scored pages of every tier (short-term included) and facts, without assembling or heating."""
        self.indexes.sync(scope_id)
        pages = [sp for sp, _ in self._rank_pages(scope_id, query, qvec, limit, exclude=set())]
        return pages, self._facts(scope_id, "facts_user", qvec), self._facts(scope_id, "facts_assistant", qvec)

    def _rank_pages(self, scope_id: int, query: str, qvec: np.ndarray, top_k: int,
                    exclude: set[int]) -> list[tuple[ScoredPage, int | None]]:
        """Best pages with the rid of their segment (for heat); only the winners' rows are read."""
        lex = self.lexical.sync(scope_id)
        want = max(top_k * 4, CANDIDATES)
        cos: dict[int, float] = dict(self.indexes.search(scope_id, "pages", qvec, want))
        query_terms = lexical_terms(query)
        bm25 = lex.scores(query_terms)
        hints = time_hints(query)

        def top(scores: dict[int, float], n: int) -> list[int]:
            return sorted(scores, key=lambda r: (-scores[r], r))[:n]

        pool = (set(cos) | set(top(bm25, want))) - exclude
        for hint in hints:
            if not hint.month:  # a named day or month: its pages are candidates too
                pool.update(r for r in lex.in_window(hint.start, hint.end, want) if r not in exclude)
        # Pseudo-relevance feedback: distinctive words of the best first-pass pages widen the query.
        first = self._scored(scope_id, lex, qvec, sorted(pool), cos, bm25, hints)
        feedback: dict[int, float] = {}
        if first is not None:
            rids0, base0 = first[0], first[1]
            expansion = lex.feedback_terms([rids0[i] for i in np.argsort(-base0, kind="stable")[:FEEDBACK_PAGES]],
                                           exclude=set(query_terms), limit=FEEDBACK_TERMS)
            feedback = lex.scores(expansion) if expansion else {}
            pool.update(r for r in top(feedback, want) if r not in exclude)
        pool.update(n for rid in list(pool) for n in lex.neighbours(rid, 1) if n not in exclude)
        scored = self._scored(scope_id, lex, qvec, sorted(pool), cos, bm25, hints, feedback)
        if scored is None:
            return []
        rids, base, c, b = scored[0], scored[1], scored[2], scored[3]
        at = {rid: i for i, rid in enumerate(rids)}

        def near(distance: int) -> np.ndarray:
            return np.asarray([max((base[at[n]] for n in lex.neighbours(r, distance, only=True) if n in at),
                                   default=base[i]) for i, r in enumerate(rids)])

        sittings: dict[int, list[float]] = {}
        sitting_of = [lex.sitting_of(r) for r in rids]
        for i, s in enumerate(sitting_of):
            if s is not None:
                sittings.setdefault(s, []).append(float(base[i]))
        best_of = {s: float(np.mean(sorted(v, reverse=True)[:2])) for s, v in sittings.items()}
        sitting = np.asarray([best_of.get(s, 0.0) if s is not None else 0.0 for s in sitting_of])
        final = base + NEIGHBOUR_WEIGHT * near(1) + NEIGHBOUR2_WEIGHT * near(2) + SITTING_WEIGHT * sitting
        keep = [i for i in np.argsort(-final, kind="stable")
                if not (c[i] < MIN_PAGE_SCORE and b[i] <= 0 and final[i] <= 0)][:top_k]
        winners = [rids[i] for i in keep]
        rows: dict[int, PageRow] = {}
        for start in range(0, len(winners), LexicalIndex.FETCH):
            rows.update((r.rid, r) for r in self.store.pages_by_rids(scope_id, winners[start:start + LexicalIndex.FETCH]))
        out: list[tuple[ScoredPage, int | None]] = []
        seg_cos: dict[int, float] = {}
        for i in keep:
            row = rows.get(rids[i])
            if row is None or row.page.tier == "archived":
                continue
            seg = row.segment_rid
            if seg is not None and seg not in seg_cos:
                centroid = self.indexes.vector(scope_id, "segments", seg)
                seg_cos[seg] = float(centroid @ qvec) if centroid is not None else float(c[i])
            out.append((ScoredPage(page=row.page, score=_relevance(float(final[i])), segment_id=row.page.segment_id,
                                   segment_score=seg_cos.get(seg, float(c[i])) if seg is not None else float(c[i])),
                        seg))
        return out

    def _scored(self, scope_id: int, lex: _Lexicon, qvec: np.ndarray, pool: list[int], cos: dict[int, float],
                bm25: dict[int, float], hints: list[TimeHint], feedback: dict[int, float] | None = None
                ) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray] | None:
        """(rids, base score, cosine, BM25) of a candidate pool; base = standardised cosine + BM25 (+ feedback, time)."""
        rids: list[int] = []
        cos_values: list[float] = []
        for rid in pool:
            value = cos.get(rid)
            if value is None:
                vec = self.indexes.vector(scope_id, "pages", rid)
                if vec is None:
                    continue
                value = cos[rid] = float(vec @ qvec)
            rids.append(rid)
            cos_values.append(value)
        if not rids:
            return None
        c = np.asarray(cos_values, dtype=np.float64)
        b = np.asarray([bm25.get(r, 0.0) for r in rids], dtype=np.float64)
        base = _standardise(c) + LEXICAL_WEIGHT * _standardise(b)
        if feedback:
            base += FEEDBACK_WEIGHT * _standardise(np.asarray([feedback.get(r, 0.0) for r in rids], dtype=np.float64))
        if hints:
            base += DATE_WEIGHT * np.asarray(
                [r in lex.doc_of and any(h.matches(lex.stamps[lex.doc_of[r]]) for h in hints) for r in rids],
                dtype=np.float64)
        return rids, base, c, b

    def _facts(self, scope_id: int, table: Any, qvec: np.ndarray) -> list[ScoredFact]:
        hits = self.indexes.search(scope_id, table, qvec, self.config.knowledge_top_k)
        hits = [(rid, s) for rid, s in hits if s >= self.config.knowledge_min_score]
        rows = {r.rid: r for r in self.store.facts_by_rids(scope_id, [rid for rid, _ in hits])}
        return [ScoredFact(fact=rows[rid].fact, score=s) for rid, s in hits if rid in rows]

    # -- context --------------------------------------------------------------------------

    @staticmethod
    def _page_line(page: Page) -> str:
        """A recent page, as the recent-conversation section shows it (timestamped)."""
        return f"[{format_timestamp(page.timestamp)}] {page.text}"

    @staticmethod
    def _date_line(page: Page) -> str:
        return f"[{short_date(page.timestamp)}]"

    @staticmethod
    def _past_text(page: Page) -> str:
        """A past page in the context: each side with its role label, or, when every side already starts
        with its speaker's name ("Caroline: ..."), with the names alone (they say more in fewer tokens)."""
        sides = [(label, side) for label, side in (("User", page.user_input), ("Assistant", page.agent_response)) if side]
        if all(_NAMED_SIDE.match(side) for _, side in sides):
            return "\n".join(side for _, side in sides)
        return "\n".join(f"{label}: {side}" for label, side in sides)

    def _render_past(self, chosen: list[ScoredPage]) -> list[str]:
        """Pages in conversation order, one date line per run of pages of the same day."""
        lines: list[str] = []
        current = None
        for sp in sorted(chosen, key=lambda x: (x.page.timestamp, x.page.seq)):
            day = self._date_line(sp.page)
            if day != current:
                lines.append(day)
                current = day
            lines.append(self._past_text(sp.page))
        return lines

    def assemble(self, profile: Profile, short: list[Page], mid: list[tuple[ScoredPage, int | None]],
                 user_facts: list[ScoredFact],
                 assistant_facts: list[ScoredFact], limit: int, budget: Budget = Budget()
                 ) -> tuple[str, int, list[tuple[ScoredPage, int | None]]]:
        """Fill the budget section by section; returns (text, exact tokens, kept past pages).

        ``short`` is the recent-conversation section (empty when the conversation is not live);
        past pages are taken by score and shown by date, in conversation order.
        """
        count = self._count
        sections: dict[str, list[str]] = {"profile": [], "user": [], "assistant": [], "mid": [], "short": []}
        used = 0

        def take(section: str, line: str, cap: float) -> bool:
            nonlocal used
            cost = count(line) + 1
            if used + cost > cap:
                return False
            sections[section].append(line)
            used += cost
            return True

        if profile.fields:
            for line in profile.render().splitlines():
                if not take("profile", line, limit * budget.profile):
                    break
        knowledge_cap = used + limit * budget.knowledge
        facts = sorted([("user", f) for f in user_facts] + [("assistant", f) for f in assistant_facts],
                       key=lambda x: x[1].score, reverse=True)
        for kind, sf in facts:
            when = f"[{short_date(sf.fact.refers_to)}] " if sf.fact.refers_to else ""
            take(kind, f"- {when}{sf.fact.text}", knowledge_cap)
        short_cap = used + limit * budget.short_term
        recent: list[str] = []
        for page in reversed(short):  # newest first under pressure
            line = self._page_line(page)
            cost = count(line) + 1
            if used + cost > short_cap:
                break
            recent.append(line)
            used += cost
        sections["short"] = list(reversed(recent))
        headers = sum(count(TITLES[name]) + 2 for name, lines in sections.items() if lines) + count(TITLES["mid"]) + 2
        used += headers
        kept: list[tuple[ScoredPage, int | None]] = []
        days: set[str] = set()
        for sp, seg_rid in mid:
            if limit - used < 8:  # no page fits in what is left
                break
            day = self._date_line(sp.page)
            cost = count(self._past_text(sp.page)) + 1 + (0 if day in days else count(day) + 1)
            if used + cost > limit:
                continue
            used += cost
            days.add(day)
            kept.append((sp, seg_rid))

        def render() -> str:
            sections["mid"] = self._render_past([sp for sp, _ in kept])
            parts = [f"{TITLES[name]}\n" + "\n".join(lines) for name, lines in sections.items() if lines]
            return "\n\n".join(parts)

        text = render()
        exact = count(text)
        while exact > limit and kept:  # formatting overhead overshot: drop the weakest page
            kept.pop()
            text = render()
            exact = count(text)
        return text, exact, kept
