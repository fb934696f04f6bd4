"""BM25 statistics of one scope's searchable pages, in arrays that load from a stored snapshot.

Pages are numbered ("docs") in the order they were indexed; a page whose text changed gets a new
doc and its old one is retired. Term ids and per-term postings of the docs loaded from a snapshot
sit in flat arrays (CSR); docs added afterwards go to small growable lists. ``order`` lists the
live docs in conversation order (page ``seq``) with their sitting numbers, for neighbours and sittings.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np

#: Exchanges further apart than this start a new sitting.
SITTING_GAP = 3600.0
BM25_K1, BM25_B = 1.2, 0.75


class _Column:
    """A growable numpy array (amortised appends, in-place updates)."""

    def __init__(self, dtype: Any, fill: Any = 0, values: np.ndarray | None = None) -> None:
        self.fill = fill
        self.data = np.full(64, fill, dtype=dtype)
        self.n = 0
        if values is not None:
            self.replace(np.asarray(values, dtype=dtype))

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


def group_by(keys: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(stable order of ``keys``, CSR offsets per key in ``range(groups)``), by radix passes: numpy
    sorts 16-bit integers in linear time (a vocabulary under 65,536 words takes one pass)."""
    if groups <= 1 << 16:
        order = np.argsort(keys.astype(np.uint16), kind="stable")
    else:
        order = np.arange(len(keys), dtype=np.int64)
        for shift in range(0, int(groups - 1).bit_length(), 16):
            digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
            order = order[np.argsort(digit, kind="stable")]
    offsets = np.zeros(groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=groups), out=offsets[1:])
    return order, offsets


class Lexicon:
    """BM25 statistics and conversation order of one scope's searchable pages."""

    def __init__(self) -> None:
        self.rid = _Column(np.int64)
        self.length = _Column(np.float64)
        self.seq = _Column(np.int64)
        self.stamp = _Column(np.float64)
        self.alive = _Column(bool, False)
        self.position = _Column(np.int64, -1)   # doc -> index in ``order`` (-1: retired)
        self.order = _Column(np.int64)          # live docs by conversation order
        self.sitting = _Column(np.int64)        # sitting number per order index
        self.doc_of: dict[int, int] = {}        # page rid -> live doc
        self.term_id: dict[str, int] = {}
        self.words: list[str] = []              # term id -> term
        self.df = _Column(np.int64)             # term id -> live docs holding it
        self.total_length = 0
        # Docs below ``frozen`` (loaded from a snapshot): their term ids and counts, and the postings
        # of term ids below ``len(post_ptr) - 1``, as flat arrays.
        self.frozen = 0
        self.doc_ptr = np.zeros(1, dtype=np.int64)
        self.doc_terms = np.zeros(0, dtype=np.int64)
        self.doc_tf = np.zeros(0, dtype=np.int64)
        self.post_ptr = np.zeros(1, dtype=np.int64)
        self.post_docs = np.zeros(0, dtype=np.int64)
        self.post_tf = np.zeros(0, dtype=np.int64)
        # Docs added since: term ids and counts per doc, postings per term id.
        self.added_terms: list[tuple[int, ...]] = []
        self.added_tf: list[tuple[int, ...]] = []
        self.postings: dict[int, list[int]] = {}
        self.freqs: dict[int, list[int]] = {}
        self.ordered = True
        self.monotonic = True                   # stamps never decrease along ``order``
        self._arrays: dict[int, tuple[tuple[int, float], np.ndarray, np.ndarray]] = {}

    @property
    def size(self) -> int:
        return len(self.doc_of)

    def _term(self, word: str) -> int:
        tid = self.term_id.get(word)
        if tid is None:
            tid = self.term_id[word] = len(self.words)
            self.words.append(word)
            self.df.append(0)
        return tid

    def terms_of(self, doc: int) -> Sequence[int]:
        """Term ids of a doc, in first-occurrence order."""
        if doc < self.frozen:
            return self.doc_terms[self.doc_ptr[doc]:self.doc_ptr[doc + 1]].tolist()
        return self.added_terms[doc - self.frozen]

    def add(self, rid: int, seq: int, stamp: float, words: Sequence[str]) -> None:
        """Index a page's search terms (``words.search_terms`` of its text); a page indexed before is replaced."""
        old = self.doc_of.get(rid)
        if old is not None:
            self.kill(old)
        counts = Counter(self._term(w) for w in words)
        doc = self.rid.n
        for column, value in ((self.rid, rid), (self.length, len(words)), (self.seq, seq),
                              (self.stamp, stamp), (self.alive, True), (self.position, -1)):
            column.append(value)
        self.added_terms.append(tuple(counts))
        self.added_tf.append(tuple(counts.values()))
        self.doc_of[rid] = doc
        self.total_length += len(words)
        for tid, n in counts.items():
            self.postings.setdefault(tid, []).append(doc)
            self.freqs.setdefault(tid, []).append(n)
            self.df.data[tid] += 1
        last = int(self.order.data[self.order.n - 1]) if self.order.n else None
        if self.ordered and (last is None or self.seq.data[last] < seq):
            gap = stamp - self.stamp.data[last] if last is not None else 0.0
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
        self.df.data[np.asarray(self.terms_of(doc), dtype=np.int64)] -= 1
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
        df_of = self.df.data
        for doc in docs:
            length = float(self.length.data[doc])
            if not length:
                continue
            for tid in self.terms_of(doc):
                term, df = self.words[tid], int(df_of[tid])
                if term in exclude or df <= 0:
                    continue
                weights[term] = weights.get(term, 0.0) + math.log(1.0 + (n - df + 0.5) / (df + 0.5)) / length
        return sorted(weights, key=lambda t: (-weights[t], t))[:limit]

    def _posting(self, tid: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(how many docs, docs, counts) listing term ``tid``, dead docs included."""
        frozen = tid < len(self.post_ptr) - 1
        lo, hi = (int(self.post_ptr[tid]), int(self.post_ptr[tid + 1])) if frozen else (0, 0)
        added = self.postings.get(tid, [])
        if not added:
            return hi - lo, self.post_docs[lo:hi], self.post_tf[lo:hi]
        docs = np.concatenate([self.post_docs[lo:hi], np.asarray(added, dtype=np.int64)])
        return hi - lo + len(added), docs, np.concatenate([self.post_tf[lo:hi], np.asarray(self.freqs[tid], dtype=np.int64)])

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
            tid = self.term_id.get(term)
            df = 0 if tid is None else int(self.df.data[tid])
            if tid is None or df <= 0 or (df > n / 2 and n > 20):
                continue
            count = (int(self.post_ptr[tid + 1] - self.post_ptr[tid]) if tid < len(self.post_ptr) - 1 else 0
                     ) + len(self.postings.get(tid, ()))
            key = (count, round(avgdl, 2))
            cached = self._arrays.get(tid)
            if cached is None or cached[0] != key:
                _, docs, counts = self._posting(tid)
                tf = counts.astype(np.float64)
                norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self.length.data[docs] / avgdl)
                cached = (key, docs, tf * (BM25_K1 + 1.0) / (tf + norm))
                self._arrays[tid] = cached
            _, docs, weight = cached
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            acc[docs] += idf * weight  # a word lists each page once
        if dead:
            acc[~self.alive.view] = 0.0
        return acc

    # -- snapshot ---------------------------------------------------------------------------

    def live_arrays(self) -> dict[str, np.ndarray]:
        """The live docs, renumbered in order, with their terms and the order of their postings: what a
        snapshot stores."""
        live = np.flatnonzero(self.alive.view)
        used = np.flatnonzero(self.df.view > 0)
        remap = np.full(max(self.df.n, 1), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        entry_doc = np.repeat(np.arange(self.frozen, dtype=np.int64), np.diff(self.doc_ptr))
        kept = self.alive.data[entry_doc]  # the frozen docs' entries, in doc order, live ones only
        terms = [np.asarray(self.doc_terms, dtype=np.int64)[kept]]
        tfs = [np.asarray(self.doc_tf, dtype=np.int64)[kept]]
        lengths = [np.diff(self.doc_ptr)[self.alive.data[: self.frozen]]]
        for doc in live[live >= self.frozen].tolist():
            terms.append(np.asarray(self.added_terms[doc - self.frozen], dtype=np.int64))
            tfs.append(np.asarray(self.added_tf[doc - self.frozen], dtype=np.int64))
            lengths.append(np.asarray([len(terms[-1])], dtype=np.int64))
        doc_terms = remap[np.concatenate(terms)]
        words = "\n".join(self.words[t] for t in used.tolist()).encode()
        return {"rid": self.rid.data[live], "length": self.length.data[live].astype(np.int64),
                "seq": self.seq.data[live], "stamp": self.stamp.data[live],
                "doc_ptr": np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64),
                "doc_terms": doc_terms, "doc_tf": np.concatenate(tfs),
                "post_order": group_by(doc_terms, len(used))[0],
                "words": np.frombuffer(words, dtype=np.uint8)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "Lexicon":
        """A lexicon of the docs ``live_arrays`` gave."""
        lex = cls()
        rid, length = np.asarray(arrays["rid"], dtype=np.int64), arrays["length"].astype(np.float64)
        words = bytes(arrays["words"]).decode().split("\n") if len(arrays["words"]) else []
        n, n_terms = len(rid), len(words)
        lex.rid, lex.length = _Column(np.int64, values=rid), _Column(np.float64, values=length)
        lex.seq, lex.stamp = _Column(np.int64, values=arrays["seq"]), _Column(np.float64, values=arrays["stamp"])
        lex.alive = _Column(bool, False, values=np.ones(n, dtype=bool))
        lex.position = _Column(np.int64, -1, values=np.full(n, -1, dtype=np.int64))
        lex.doc_of = dict(zip(rid.tolist(), range(n)))
        lex.words = words
        lex.term_id = dict(zip(words, range(n_terms)))
        lex.doc_ptr = np.asarray(arrays["doc_ptr"], dtype=np.int64)
        lex.doc_terms, lex.doc_tf = arrays["doc_terms"], arrays["doc_tf"]  # 32-bit as stored
        counts = np.bincount(lex.doc_terms, minlength=n_terms)
        lex.df = _Column(np.int64, values=counts)
        lex.total_length = int(length.sum())
        lex.frozen = n
        order = arrays["post_order"]
        lex.post_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if len(order) != len(lex.doc_terms) or np.any(np.diff(lex.doc_terms[order]) < 0):
            raise ValueError("lexicon snapshot: postings out of order")
        doc_of_entry = np.repeat(np.arange(n, dtype=np.int32), np.diff(lex.doc_ptr))
        lex.post_docs, lex.post_tf = doc_of_entry[order], lex.doc_tf[order]
        lex.ordered = n == 0
        return lex
