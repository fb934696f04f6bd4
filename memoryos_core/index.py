"""In-process vector indexes, kept current incrementally from the store.

Each (scope, table) has one index. A search first asks the store for the scope's counters (one
indexed row): vectors written since the last sync are added (a replaced vector retires its old
entry), and only when something was removed (``vector_epoch`` moved) does the index compare its
ids with the store's, retiring the missing ones. Nothing is rebuilt per query, and writes by other
processes are seen at the next search.

Small tables use exact inner-product search. A table that grows past ``HNSW_THRESHOLD`` vectors
switches to an HNSW graph (sub-millisecond at 100k pages, recall ~0.99 at these settings).
Retired entries are skipped at search time and compacted away once they pass a quarter of the
index.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import faiss
import numpy as np

from .storage.base import ScopeState, VectorTable

TABLES: tuple[VectorTable, ...] = ("pages", "segments", "facts_user", "facts_assistant")
HNSW_THRESHOLD = 20_000
HNSW_M = 32
HNSW_EF_SEARCH = 96


@dataclass
class VectorIndex:
    """Vectors under store row ids; labels are positions in the FAISS index."""

    dim: int
    hnsw: bool = False
    index: faiss.Index = None  # type: ignore[assignment]
    label_of: dict[int, int] = field(default_factory=dict)
    rid_of: list[int] = field(default_factory=list)
    retired: set[int] = field(default_factory=set)
    seq: int = 0

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = self._empty(self.hnsw)

    def _empty(self, hnsw: bool) -> faiss.Index:
        if hnsw:
            index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
            return index
        return faiss.IndexFlatIP(self.dim)

    @property
    def live(self) -> int:
        return len(self.label_of)

    def add(self, rids: np.ndarray, vectors: np.ndarray) -> None:
        for rid in rids:
            self.remove(int(rid))
        start = len(self.rid_of)
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        for offset, rid in enumerate(rids):
            self.label_of[int(rid)] = start + offset
            self.rid_of.append(int(rid))
        if not self.hnsw and self.live > HNSW_THRESHOLD:
            self._rebuild(hnsw=True)

    def remove(self, rid: int) -> None:
        label = self.label_of.pop(rid, None)
        if label is not None:
            self.retired.add(label)
            if len(self.retired) > max(64, len(self.rid_of) // 4):
                self._rebuild(self.hnsw)

    def keep_only(self, rids: set[int]) -> None:
        for rid in [r for r in self.label_of if r not in rids]:
            self.remove(rid)

    def _rebuild(self, hnsw: bool) -> None:
        labels = sorted(self.label_of.values())
        vectors = np.vstack([self.index.reconstruct(label) for label in labels]) if labels else None
        rids = [self.rid_of[label] for label in labels]
        self.hnsw = hnsw
        self.index = self._empty(hnsw)
        self.label_of, self.rid_of, self.retired = {}, [], set()
        if vectors is not None:
            self.add(np.array(rids, dtype=np.int64), vectors)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0 or self.live == 0:
            return []
        want = min(k + len(self.retired), self.index.ntotal)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one query: OpenMP start-up costs more than it saves (20x at 12k vectors)
        try:
            scores, labels = self.index.search(query.reshape(1, -1).astype(np.float32), want)
        finally:
            faiss.omp_set_num_threads(threads)
        out: list[tuple[int, float]] = []
        for label, score in zip(labels[0], scores[0]):
            if label < 0 or label in self.retired:
                continue
            out.append((self.rid_of[label], float(score)))
            if len(out) == k:
                break
        return out

    def vector(self, rid: int) -> np.ndarray | None:
        label = self.label_of.get(rid)
        return None if label is None else self.index.reconstruct(label)

    def vectors(self, rids: list[int]) -> list[np.ndarray | None]:
        """Stored vectors of several rows at once (None for a row not in the index)."""
        labels = [self.label_of.get(rid, -1) for rid in rids]
        known = [label for label in labels if label >= 0]
        if not known:
            return [None] * len(rids)
        try:
            block = self.index.reconstruct_batch(np.asarray(known, dtype=np.int64))
        except RuntimeError:  # an index type without batch reconstruction
            block = np.vstack([self.index.reconstruct(label) for label in known])
        it = iter(block)
        return [next(it) if label >= 0 else None for label in labels]


class IndexCache:
    """The vector indexes of the scopes this process has touched.

    ``lock`` guards every index; hold it while reading an ``entry`` so a concurrent ``sync`` cannot
    change the index under you.
    """

    def __init__(self, store: object, dim: int) -> None:
        self._store = store
        self.dim = dim
        self.lock = threading.RLock()
        self._indexes: dict[tuple[int, VectorTable], VectorIndex] = {}
        self._epochs: dict[int, int] = {}
        self._counters: dict[int, int] = {}

    def sync(self, scope_id: int, state: ScopeState | None = None) -> None:
        """Bring the scope's indexes up to date with the store."""
        state = state or self._store.scope_state(scope_id)  # type: ignore[attr-defined]
        with self.lock:
            if self._counters.get(scope_id) == state.vec_counter and self._epochs.get(scope_id) == state.vector_epoch:
                return
            removed = scope_id in self._epochs and self._epochs[scope_id] != state.vector_epoch
            for table in TABLES:
                entry = self._indexes.setdefault((scope_id, table), VectorIndex(self.dim))
                if removed:
                    entry.keep_only(self._store.live_vector_ids(scope_id, table))  # type: ignore[attr-defined]
                self._pull(scope_id, table, entry)
            self._epochs[scope_id] = state.vector_epoch
            self._counters[scope_id] = state.vec_counter

    def _pull(self, scope_id: int, table: VectorTable, entry: VectorIndex) -> None:
        rids, vectors, max_seq = self._store.vectors_since(scope_id, table, entry.seq)  # type: ignore[attr-defined]
        if len(rids) == 0:
            return
        if vectors.shape[1] != self.dim:
            raise ValueError(
                f"stored vectors have {vectors.shape[1]} dimensions but the embedder makes {self.dim}: "
                "open this store with the embedder it was built with"
            )
        if table == "segments":  # stored as sums; search on centroids
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1, norms)
        entry.add(rids, vectors)
        entry.seq = max_seq

    def search(self, scope_id: int, table: VectorTable, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self.lock:
            entry = self._indexes.get((scope_id, table))
            return [] if entry is None else entry.search(query, k)

    def vector(self, scope_id: int, table: VectorTable, rid: int) -> np.ndarray | None:
        with self.lock:
            entry = self._indexes.get((scope_id, table))
            return None if entry is None else entry.vector(rid)

    def vectors(self, scope_id: int, table: VectorTable, rids: list[int]) -> list[np.ndarray | None]:
        with self.lock:
            entry = self._indexes.get((scope_id, table))
            return [None] * len(rids) if entry is None else entry.vectors(rids)

    def entry(self, scope_id: int, table: VectorTable) -> VectorIndex | None:
        """The scope's index for ``table`` (None before its first ``sync``); read it holding ``lock``."""
        return self._indexes.get((scope_id, table))

    def size(self, scope_id: int, table: VectorTable) -> int:
        entry = self._indexes.get((scope_id, table))
        return 0 if entry is None else entry.live

    def forget(self, scope_id: int) -> None:
        with self.lock:
            for table in TABLES:
                self._indexes.pop((scope_id, table), None)
            self._epochs.pop(scope_id, None)
            self._counters.pop(scope_id, None)
