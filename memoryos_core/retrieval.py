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
group instead of a timestamp per page). The best exchanges are shown whole, up to half of the
past-conversation budget; past that, an exchange is shown by the side the question is about (the
speaker it names, the user for "I/my", the assistant for "you", else the side sharing more of its
words), which fits about twice as many exchanges: evidence of a question mostly sits in what one
person said. The recent-conversation section is shown while the
conversation is live; when the newest exchange is older than ``recent_live_seconds``, the
short-term pages compete on relevance like any other page instead of taking a fixed share.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .config import MemoryConfig
from .extractors import search_terms
from .index import IndexCache
from .storage.base import HeatParams, PageRow
from .tokens import TokenCounter
from .types import Page, Profile, RetrievalResult, ScoredFact, ScoredPage
from .times import format_timestamp, to_datetime

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
#: Share of the past-conversation budget filled with whole exchanges, best first; past it, an exchange
#: is shown by the side the question is about (see ``Focus``), so twice as many exchanges fit.
WHOLE_SHARE = 0.5
#: Exchanges further apart than this start a new sitting.
SITTING_GAP = 3600.0
BM25_K1, BM25_B = 1.2, 0.75
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def short_date(epoch: float) -> str:
    """Compact conversation date for context lines, e.g. ``8 May 2023`` (locale-independent)."""
    dt = to_datetime(epoch)
    return f"{dt.day} {_MONTHS[dt.month - 1]} {dt.year}"


def lexical_terms(text: str) -> list[str]:
    """Content words of ``text`` for BM25: no stopwords, possessives folded, light suffix stemming."""
    return search_terms(text)


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
        dt = to_datetime(ts)
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


# -- the side of an exchange a question is about ------------------------------------------------

#: A side that starts with a speaker's name ("Caroline: ...", "Dr. Ann Lee: ...").
_NAMED_SIDE = re.compile(r"[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}: ")
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "user"})
_SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "assistant"})
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Focus:
    """Who and what a question is about, to pick the telling side of an exchange.

    A question that names a speaker ("What did Caroline research?") is answered by what that speaker
    said; one in the first person ("what did I say about...") by the user's side, one in the second
    person by the assistant's; otherwise the side sharing more of the question's words wins.
    """

    text: str
    terms: frozenset[str]
    role: str | None  # "user" or "assistant" when the question speaks of one role only

    @classmethod
    def of(cls, query: str) -> "Focus":
        words = {w.lower() for w in _WORD.findall(query)}
        first, second = bool(words & _FIRST_PERSON), bool(words & _SECOND_PERSON)
        role = "user" if first and not second else "assistant" if second and not first else None
        return cls(query, frozenset(lexical_terms(query)), role)

    def _names(self, side: str) -> bool:
        m = _NAMED_SIDE.match(side)
        return bool(m) and re.search(rf"\b{re.escape(m.group(0)[:-2])}\b", self.text) is not None

    def side(self, page: Page) -> str | None:
        """``"user"`` or ``"assistant"``: the side of ``page`` the question is about; None when neither
        stands out (or the page has one side)."""
        if not (page.user_input and page.agent_response):
            return None
        marks = []
        for role, side in (("user", page.user_input), ("assistant", page.agent_response)):
            named = _NAMED_SIDE.match(side) is not None
            speaker = self._names(side) if named else role == self.role
            marks.append((speaker, len(self.terms.intersection(_side_terms(side)))))
        if marks[0] == marks[1]:
            return None
        return "user" if marks[0] > marks[1] else "assistant"


@lru_cache(maxsize=16384)
def _side_terms(text: str) -> frozenset[str]:
    """Content words of one side of an exchange (sides recur from query to query)."""
    return frozenset(lexical_terms(text))


def one_side(page: Page, role: str) -> Page:
    """``page`` with only its ``role`` side (the other blanked), for showing half an exchange."""
    return replace(page, agent_response="") if role == "user" else replace(page, user_input="")


# -- lexical index ----------------------------------------------------------------------------

class _Column:
    """A growable numpy array (amortised appends, in-place updates)."""

    def __init__(self, dtype: Any, fill: Any = 0) -> None:
        self.data = np.full(64, fill, dtype=dtype)
        self.fill = fill
        self.n = 0

    def append(self, value: Any) -> None:
        if self.n == len(self.data):
            grown = np.full(2 * len(self.data), self.fill, dtype=self.data.dtype)
            grown[: self.n] = self.data
            self.data = grown
        self.data[self.n] = value
        self.n += 1

    def replace(self, values: np.ndarray) -> None:
        self.data = np.concatenate([values, np.full(max(64, len(values)), self.fill, dtype=self.data.dtype)])
        self.n = len(values)

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]


class _Lexicon:
    """BM25 statistics and conversation order of one scope's searchable pages.

    Pages are numbered ("docs") in the order they were indexed; a page whose text changed gets a
    new doc and its old one is retired. ``order`` lists the live docs in conversation order (page
    ``seq``) with their sitting numbers, for neighbours and sittings.
    """

    def __init__(self) -> None:
        self.rid = _Column(np.int64)
        self.length = _Column(np.float64)
        self.seq = _Column(np.int64)
        self.stamp = _Column(np.float64)
        self.alive = _Column(bool, False)
        self.position = _Column(np.int64, -1)   # doc -> index in ``order`` (-1: retired)
        self.order = _Column(np.int64)          # live docs by conversation order
        self.sitting = _Column(np.int64)        # sitting number per order index
        self.terms: list[tuple[str, ...]] = []
        self.doc_of: dict[int, int] = {}        # page rid -> live doc
        self.postings: dict[str, list[int]] = {}
        self.freqs: dict[str, list[int]] = {}
        self.df: dict[str, int] = {}
        self.total_length = 0
        self.ordered = True
        self.monotonic = True                   # stamps never decrease along ``order``
        self.signature: tuple[int, int] | None = None
        self.vector_index: Any = None           # the page vector index this follows
        self.seen_labels = 0
        self._arrays: dict[str, tuple[tuple[int, float], np.ndarray, np.ndarray]] = {}

    @property
    def size(self) -> int:
        return len(self.doc_of)

    def add(self, row: PageRow) -> None:
        old = self.doc_of.get(row.rid)
        if old is not None:
            self.kill(old)
        words = lexical_terms(row.page.text)
        counts = Counter(words)
        doc = self.rid.n
        for column, value in ((self.rid, row.rid), (self.length, len(words)), (self.seq, row.page.seq),
                              (self.stamp, row.page.timestamp), (self.alive, True), (self.position, -1)):
            column.append(value)
        self.terms.append(tuple(counts))
        self.doc_of[row.rid] = doc
        self.total_length += len(words)
        for term, n in counts.items():
            self.postings.setdefault(term, []).append(doc)
            self.freqs.setdefault(term, []).append(n)
            self.df[term] = self.df.get(term, 0) + 1
        last = int(self.order.data[self.order.n - 1]) if self.order.n else None
        if self.ordered and (last is None or self.seq.data[last] < row.page.seq):
            gap = row.page.timestamp - self.stamp.data[last] if last is not None else 0.0
            self.position.data[doc] = self.order.n
            self.order.append(doc)
            self.sitting.append(self.sitting.data[self.sitting.n - 1] + (gap > SITTING_GAP or gap < 0) if last is not None else 0)
            self.monotonic = self.monotonic and gap >= 0
        else:
            self.ordered = False

    def kill(self, doc: int) -> None:
        if not self.alive.data[doc]:
            return
        self.alive.data[doc] = False
        self.doc_of.pop(int(self.rid.data[doc]), None)
        self.total_length -= int(self.length.data[doc])
        for term in self.terms[doc]:
            self.df[term] -= 1
        self.ordered = False

    def ensure_order(self) -> None:
        if self.ordered:
            return
        live = np.flatnonzero(self.alive.view)
        order = live[np.argsort(self.seq.data[live], kind="stable")]
        self.order.replace(order)
        self.position.data[: self.position.n] = -1
        self.position.data[order] = np.arange(len(order))
        gaps = np.diff(self.stamp.data[order])
        self.sitting.replace(np.concatenate([[0], np.cumsum((gaps > SITTING_GAP) | (gaps < 0))]).astype(np.int64))
        self.monotonic = bool(np.all(gaps >= 0))
        self.ordered = True

    def near(self, docs: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
        """Docs ``distance`` exchanges before and after each of ``docs`` (-1 where there is none)."""
        self.ensure_order()
        pos = self.position.data[docs]
        n = self.order.n
        out = []
        for step in (-distance, distance):
            at = pos + step
            ok = (pos >= 0) & (at >= 0) & (at < n)
            out.append(np.where(ok, self.order.data[np.clip(at, 0, max(n - 1, 0))], -1))
        return out[0], out[1]

    def sittings(self, docs: np.ndarray) -> np.ndarray:
        self.ensure_order()
        pos = self.position.data[docs]
        return np.where(pos >= 0, self.sitting.data[np.clip(pos, 0, None)], -1)

    def in_window(self, start: float, end: float, limit: int) -> np.ndarray:
        """Docs of pages stamped within [start, end), at most ``limit``."""
        self.ensure_order()
        order = self.order.view
        stamps = self.stamp.data[order]
        if not self.monotonic:  # the clock went backwards somewhere: scan
            return order[(stamps >= start) & (stamps < end)][:limit]
        lo, hi = np.searchsorted(stamps, start, "left"), np.searchsorted(stamps, end, "left")
        return order[lo:min(hi, lo + limit)]

    def feedback_terms(self, docs: Iterable[int], exclude: set[str], limit: int) -> list[str]:
        """The most distinctive words (idf, per page length) of some pages, for query expansion."""
        n = self.size
        weights: dict[str, float] = {}
        for doc in docs:
            length = float(self.length.data[doc])
            if not length:
                continue
            for term in self.terms[doc]:
                df = self.df.get(term, 0)
                if term in exclude or df <= 0:
                    continue
                weights[term] = weights.get(term, 0.0) + math.log(1.0 + (n - df + 0.5) / (df + 0.5)) / length
        return sorted(weights, key=lambda t: (-weights[t], t))[:limit]

    def scores(self, query_terms: Iterable[str]) -> np.ndarray:
        """BM25 score of every doc (0 for retired docs and docs sharing no term with the query).

        Words on more than half of the pages (a speaker's name in every exchange, say) carry next to
        no weight in BM25 and are skipped. Per-word weights are cached until the word's postings or
        the average page length move."""
        acc = np.zeros(self.rid.n, dtype=np.float64)
        n = self.size
        if not n:
            return acc
        avgdl = max(self.total_length / n, 1e-9)
        dead = self.rid.n - n
        for term in set(query_terms):
            df = self.df.get(term, 0)
            if df <= 0 or (df > n / 2 and n > 20):
                continue
            postings = self.postings[term]
            key = (len(postings), round(avgdl, 2))
            cached = self._arrays.get(term)
            if cached is None or cached[0] != key:
                docs = np.asarray(postings, dtype=np.int64)
                tf = np.asarray(self.freqs[term], dtype=np.float64)
                norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self.length.data[docs] / avgdl)
                cached = (key, docs, tf * (BM25_K1 + 1.0) / (tf + norm))
                self._arrays[term] = cached
            _, docs, weight = cached
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            acc[docs] += idf * weight  # a word lists each page once
        if dead:
            acc[~self.alive.view] = 0.0
        return acc


def _top_docs(scores: np.ndarray, k: int) -> np.ndarray:
    """Docs of the ``k`` highest positive scores."""
    hit = np.flatnonzero(scores > 0)
    if len(hit) > k:
        hit = hit[np.argpartition(-scores[hit], k - 1)[:k]]
    return hit


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
        with self._lock, self.indexes.lock:
            lex = self._scopes.get(scope_id)
            entry = self.indexes.entry(scope_id, "pages")
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
                                            max_context_tokens, budget, Focus.of(query))
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
        if not lex.size:
            return []
        want = max(top_k * 4, CANDIDATES)
        cos_of: dict[int, float] = {}
        for rid, value in self.indexes.search(scope_id, "pages", qvec, want):
            doc = lex.doc_of.get(rid)
            if doc is not None:
                cos_of[doc] = value
        query_terms = lexical_terms(query)
        bm25 = lex.scores(query_terms)
        hints = time_hints(query)
        banned = {lex.doc_of[r] for r in exclude if r in lex.doc_of}
        pool = set(cos_of) | set(_top_docs(bm25, want).tolist())
        for hint in hints:
            if not hint.month:  # a named day or month: its pages are candidates too
                pool.update(lex.in_window(hint.start, hint.end, want).tolist())
        pool -= banned
        # Pseudo-relevance feedback: distinctive words of the best first-pass pages widen the query.
        docs, base, _, _ = self._scored(scope_id, lex, qvec, pool, cos_of, bm25, hints)
        feedback = None
        if len(docs):
            best = docs[np.argsort(-base, kind="stable")[:FEEDBACK_PAGES]]
            expansion = lex.feedback_terms(best.tolist(), exclude=set(query_terms), limit=FEEDBACK_TERMS)
            if expansion:
                feedback = lex.scores(expansion)
                pool.update(_top_docs(feedback, want).tolist())
        around = np.asarray(sorted(pool), dtype=np.int64)
        for side in lex.near(around, 1):
            pool.update(side[side >= 0].tolist())
        pool -= banned
        docs, base, c, b = self._scored(scope_id, lex, qvec, pool, cos_of, bm25, hints, feedback)
        if not len(docs):
            return []
        index_of = np.full(lex.rid.n, -1, dtype=np.int64)
        index_of[docs] = np.arange(len(docs))

        def near(distance: int) -> np.ndarray:
            best = np.full(len(docs), -np.inf)
            for side in lex.near(docs, distance):
                at = np.where(side >= 0, index_of[np.clip(side, 0, None)], -1)
                best = np.maximum(best, np.where(at >= 0, base[np.clip(at, 0, None)], -np.inf))
            return np.where(np.isfinite(best), best, base)

        sitting_ids = lex.sittings(docs)
        sitting = np.zeros(len(docs))
        ranked = np.lexsort((-base, sitting_ids))  # by sitting, best first within each
        start = 0
        while start < len(ranked):
            end = start
            while end < len(ranked) and sitting_ids[ranked[end]] == sitting_ids[ranked[start]]:
                end += 1
            if sitting_ids[ranked[start]] >= 0:
                sitting[ranked[start:end]] = float(base[ranked[start:min(end, start + 2)]].mean())
            start = end
        final = base + NEIGHBOUR_WEIGHT * near(1) + NEIGHBOUR2_WEIGHT * near(2) + SITTING_WEIGHT * sitting
        ranking = np.argsort(-final, kind="stable")
        weak = (c < MIN_PAGE_SCORE) & (b <= 0) & (final <= 0)  # no sign of relevance at all
        keep = ranking[~weak[ranking]][:top_k].tolist()
        winners = [int(lex.rid.data[docs[i]]) for i in keep]
        rows: dict[int, PageRow] = {}
        for start in range(0, len(winners), LexicalIndex.FETCH):
            rows.update((r.rid, r) for r in self.store.pages_by_rids(scope_id, winners[start:start + LexicalIndex.FETCH]))
        out: list[tuple[ScoredPage, int | None]] = []
        seg_cos: dict[int, float] = {}
        for i, rid in zip(keep, winners):
            row = rows.get(rid)
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

    def _scored(self, scope_id: int, lex: _Lexicon, qvec: np.ndarray, pool: set[int], cos_of: dict[int, float],
                bm25: np.ndarray, hints: list[TimeHint], feedback: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(docs, base score, cosine, BM25) of a candidate pool; base = standardised cosine + BM25
        (+ query-expansion BM25, + time hints)."""
        docs = np.asarray(sorted(pool), dtype=np.int64)
        missing = [int(d) for d in docs if int(d) not in cos_of]
        if missing:
            vectors = self.indexes.vectors(scope_id, "pages", [int(lex.rid.data[d]) for d in missing])
            for d, vec in zip(missing, vectors):
                if vec is not None:
                    cos_of[d] = float(vec @ qvec)
        docs = np.asarray([d for d in docs.tolist() if d in cos_of], dtype=np.int64)
        if not len(docs):
            empty = np.zeros(0)
            return docs, empty, empty, empty
        c = np.asarray([cos_of[d] for d in docs.tolist()], dtype=np.float64)
        b = bm25[docs]
        base = _standardise(c) + LEXICAL_WEIGHT * _standardise(b)
        if feedback is not None:
            base += FEEDBACK_WEIGHT * _standardise(feedback[docs])
        if hints:
            stamps = lex.stamp.data[docs]
            base += DATE_WEIGHT * np.asarray([any(h.matches(t) for h in hints) for t in stamps.tolist()], dtype=np.float64)
        return docs, base, c, b

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

    @staticmethod
    def _shown_as(page: Page, role: str | None, may_be_whole: bool) -> Iterator[Page]:
        """Ways to show an exchange past the best ones, in order: the side the question is about when
        there is one; else the whole exchange (when it may still be shown whole), then either side."""
        if role is not None:
            yield one_side(page, role)
            return
        if may_be_whole:
            yield page
        if page.user_input and page.agent_response:
            yield one_side(page, "user")
            yield one_side(page, "assistant")

    def assemble(self, profile: Profile, short: list[Page], mid: list[tuple[ScoredPage, int | None]],
                 user_facts: list[ScoredFact],
                 assistant_facts: list[ScoredFact], limit: int, budget: Budget = Budget(),
                 focus: Focus | None = None) -> tuple[str, int, list[tuple[ScoredPage, int | None]]]:
        """Fill the budget section by section; returns (text, exact tokens, kept past pages).

        ``short`` is the recent-conversation section (empty when the conversation is not live);
        past pages are taken by score and shown by date, in conversation order. With a ``focus``,
        exchanges past the first ``WHOLE_SHARE`` of the past-conversation budget, and any exchange too
        long for what is left, are shown by the side the question is about.
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

        def take_if_fits(page: Page) -> bool:
            """Add ``page``'s cost (and its date line's, for a new day) to ``used`` if it fits."""
            nonlocal used
            day = self._date_line(page)
            cost = count(self._past_text(page)) + 1 + (0 if day in days else count(day) + 1)
            if used + cost > limit:
                return False
            used += cost
            days.add(day)
            return True

        whole_until = used + WHOLE_SHARE * (limit - used)
        for sp, seg_rid in mid:
            if limit - used < 8:  # nothing fits in what is left
                break
            whole = sp.page
            if used < whole_until and take_if_fits(whole):
                kept.append((sp, seg_rid))
                continue
            # past the best exchanges, or too long for what is left: the side the question is about
            role = focus.side(whole) if focus is not None else None
            page = next((option for option in self._shown_as(whole, role, may_be_whole=used >= whole_until)
                         if take_if_fits(option)), None)
            if page is not None:
                kept.append((sp if page is whole else replace(sp, page=page), seg_rid))

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
