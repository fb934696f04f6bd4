"""The lexical index: BM25 over page text, one in-memory lexicon per scope.

Names, rare words and numbers are what embeddings blur; BM25 keeps them. A scope's lexicon covers
the pages its page vector index holds, and follows it by the same counters: it reads the text of
pages whose vector number (``vec_seq``) is past what it has read, up to what the vector index has
pulled, and retires the pages the vector index no longer holds. Vector numbers become visible in
commit order, so that is exact under concurrent writers in other processes.

A new process does not rebuild a large lexicon from page text: the worker stores a snapshot
(``snapshot``) once enough pages were read since the last one, and a new process loads it and reads
only the pages written after its watermark. Forgetting and deleting a page drop the stored snapshot.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from ..index import IndexCache, VectorIndex
from ..storage.base import Store
from ..words import search_terms
from . import snapshot
from .lexicon import BM25_B, BM25_K1, SITTING_GAP, Lexicon

log = logging.getLogger("memoryos.retrieval")

__all__ = ["BM25_B", "BM25_K1", "SITTING_GAP", "LexicalIndex", "Lexicon", "top_docs"]


def top_docs(scores: np.ndarray, k: int) -> np.ndarray:
    """Docs of the ``k`` highest positive scores."""
    hit = np.flatnonzero(scores > 0)
    if len(hit) > k:
        hit = hit[np.argpartition(-scores[hit], k - 1)[:k]]
    return hit


@dataclass
class _Followed:
    """A scope's lexicon and how far it has followed the store and the page vector index."""

    lex: Lexicon
    index: VectorIndex                  # the page vector index it follows (a new one: start over)
    watermark: int = 0                  # pages with a vector number up to this are read
    signature: tuple[int, ...] = ()     # of the vector index when last followed
    epoch: int | None = None            # the vector index's removal epoch when last followed
    unsaved: int = 0                    # pages read from text (or retired) since the last snapshot


class LexicalIndex:
    """Per-scope BM25 lexicons, kept in step with the page vector index and the store."""

    FETCH = 500
    #: A snapshot is worth writing once this many pages (and a tenth of the lexicon) were read since the last.
    SNAPSHOT_AFTER = 1000

    def __init__(self, store: Store, indexes: IndexCache) -> None:
        self.store, self.indexes = store, indexes
        self._lock = threading.Lock()
        self._scopes: dict[int, _Followed] = {}

    def sync(self, scope_id: int) -> Lexicon:
        """The scope's lexicon, brought up to date with its page vector index (call after ``indexes.sync``)."""
        with self._lock, self.indexes.lock:
            pages = self.indexes.entry(scope_id, "pages")
            if pages is None:
                return Lexicon()
            followed = self._scopes.get(scope_id)
            if followed is None or followed.index is not pages:  # first use, or the index was dropped
                followed = self._scopes[scope_id] = self._start(scope_id, pages)
            signature = (pages.generation, pages.positions, pages.live, pages.seq)
            if followed.signature == signature:
                return followed.lex
            if pages.seq > followed.watermark:
                self._read(scope_id, followed, pages.seq)
            lex = followed.lex
            if lex.size != pages.live:  # pages left the index (deleted, archived): retire them
                gone = [rid for rid in lex.doc_of if not pages.holds(rid)]
                for rid in gone:
                    lex.kill(lex.doc_of[rid])
                followed.unsaved += len(gone)
            followed.signature, followed.epoch = signature, self.indexes.epoch(scope_id)
            return lex

    def _start(self, scope_id: int, pages: VectorIndex) -> _Followed:
        """A lexicon from the stored snapshot when there is a usable one, else an empty one."""
        try:
            data = self.store.lexicon_snapshot(scope_id)
            loaded = None if data is None else snapshot.decode(data)
        except Exception:  # a damaged snapshot is only a cache: rebuild from the pages
            log.warning("lexicon snapshot of scope %d unreadable; rebuilding from page text", scope_id, exc_info=True)
            loaded = None
        if loaded is None:
            return _Followed(Lexicon(), pages)
        lex, watermark = loaded
        if watermark > pages.seq:  # saved by a process that had seen more: catch the vector index up first
            self.indexes.sync(scope_id)
        return _Followed(lex, pages, watermark=watermark)

    def _read(self, scope_id: int, followed: _Followed, upto: int) -> None:
        """Index the pages with a vector number in (watermark, ``upto``]; each batch in conversation order."""
        while followed.watermark < upto:
            rows = self.store.searchable_pages(scope_id, followed.watermark, upto, self.FETCH)
            if not rows:
                break
            for row in sorted(rows, key=lambda r: r.seq):
                followed.lex.add(row.rid, row.seq, row.timestamp, search_terms(row.text))
            followed.watermark = rows[-1].vec_seq
            followed.unsaved += len(rows)
            if len(rows) < self.FETCH:
                break
        followed.watermark = max(followed.watermark, upto)

    # -- snapshots --------------------------------------------------------------------------

    def _due(self) -> list[tuple[int, _Followed]]:
        return [(scope_id, f) for scope_id, f in self._scopes.items()
                if f.unsaved >= max(self.SNAPSHOT_AFTER, f.lex.size // 10) and f.epoch is not None]

    @property
    def snapshot_due(self) -> bool:
        """True when a lexicon read enough pages since its last snapshot that storing one pays."""
        with self._lock:
            return bool(self._due())

    def save_due(self) -> None:
        """Store a snapshot of each lexicon that read enough pages since its last one (the worker calls
        this: serialising and writing stay off the read path)."""
        with self._lock:
            due = self._due()
        for scope_id, followed in due:
            self.save(scope_id, followed)

    def save(self, scope_id: int, followed: _Followed) -> bool:
        with self._lock:
            if self._scopes.get(scope_id) is not followed or followed.epoch is None:
                return False
            watermark, epoch, unsaved = followed.watermark, followed.epoch, followed.unsaved
            data = snapshot.encode(followed.lex, watermark)
        saved = self.store.save_lexicon_snapshot(scope_id, watermark=watermark, epoch=epoch, data=data)
        if saved:
            with self._lock:
                followed.unsaved -= unsaved
        return saved

    def forget(self, scope_id: int) -> None:
        with self._lock:
            self._scopes.pop(scope_id, None)
