"""The lexical index: BM25 over page text, one in-memory lexicon per scope.

Names, rare words and numbers are what embeddings blur; BM25 keeps them. The lexicon follows the
page vector index incrementally (only new or changed pages' text is read from the store) and also
keeps the pages in conversation order, with their sittings, for ranking's neighbour and time passes.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np

from ..index import IndexCache
from ..storage.base import PageRow, Store
from ..words import search_terms

#: Exchanges further apart than this start a new sitting.
SITTING_GAP = 3600.0
BM25_K1, BM25_B = 1.2, 0.75


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


class Lexicon:
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
        self.generation = 0                     # of the page vector index this follows
        self.seen_positions = 0                 # entries of that index already read
        self._arrays: dict[str, tuple[tuple[int, float], np.ndarray, np.ndarray]] = {}

    @property
    def size(self) -> int:
        return len(self.doc_of)

    def add(self, row: PageRow) -> None:
        old = self.doc_of.get(row.rid)
        if old is not None:
            self.kill(old)
        words = search_terms(row.page.text)
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


def top_docs(scores: np.ndarray, k: int) -> np.ndarray:
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

    def __init__(self, store: Store, indexes: IndexCache) -> None:
        self.store, self.indexes = store, indexes
        self._lock = threading.Lock()
        self._scopes: dict[int, Lexicon] = {}

    def sync(self, scope_id: int) -> Lexicon:
        """The scope's lexicon, brought up to date with its page vector index (call after ``indexes.sync``)."""
        with self._lock, self.indexes.lock:
            lex = self._scopes.get(scope_id)
            pages = self.indexes.entry(scope_id, "pages")
            if pages is None:
                lex = self._scopes[scope_id] = Lexicon()
                return lex
            signature = (pages.positions, pages.live)
            if lex is not None and lex.generation == pages.generation and lex.signature == signature:
                return lex
            if lex is None or lex.generation != pages.generation or pages.positions < lex.seen_positions:
                lex = Lexicon()  # first use, or the vector index was rebuilt: read every page once
                fresh = pages.ids()
            else:  # vectors appended since: new pages, or pages whose text changed
                fresh = pages.ids_added_since(lex.seen_positions)
            self._fetch(scope_id, lex, fresh)
            if lex.size != pages.live:  # pages left the index (deleted, archived): retire them
                for rid in [r for r in lex.doc_of if not pages.holds(r)]:
                    lex.kill(lex.doc_of[rid])
            lex.seen_positions, lex.signature, lex.generation = pages.positions, signature, pages.generation
            self._scopes[scope_id] = lex
            return lex

    def _fetch(self, scope_id: int, lex: Lexicon, rids: Sequence[int]) -> None:
        for start in range(0, len(rids), self.FETCH):
            rows = self.store.pages_by_rids(scope_id, list(rids[start:start + self.FETCH]))
            for row in sorted(rows, key=lambda r: r.page.seq):
                if row.page.tier != "archived":
                    lex.add(row)

    def forget(self, scope_id: int) -> None:
        with self._lock:
            self._scopes.pop(scope_id, None)
