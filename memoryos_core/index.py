"""In-process FAISS indexes, kept current incrementally from the store.

Each (scope, table) has one exact inner-product index. A search first asks the store for the
scope's counters (one indexed row): new vectors since the last sync are added, replaced ones
swapped; only a removal (delete, archive, supersede) forces a reload. Other processes' writes
are therefore seen at the next search, without rebuilding per query.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import faiss
import numpy as np

from .storage.base import ScopeState, VectorTable

TABLES: tuple[VectorTable, ...] = ("pages", "segments", "facts_user", "facts_assistant")


@dataclass
class _Index:
    dim: int
    index: faiss.IndexIDMap2
    seq: int = 0
    ids: set[int] = field(default_factory=set)


class IndexCache:
    """FAISS indexes of the scopes this process has touched."""

    def __init__(self, store: object, dim: int) -> None:
        self._store = store
        self.dim = dim
        self._lock = threading.RLock()
        self._indexes: dict[tuple[int, VectorTable], _Index] = {}
        self._epochs: dict[int, int] = {}
        self._counters: dict[int, int] = {}

    def _new(self) -> _Index:
        return _Index(self.dim, faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim)))

    def sync(self, scope_id: int, state: ScopeState | None = None) -> None:
        """Bring the scope's indexes up to date with the store."""
        state = state or self._store.scope_state(scope_id)  # type: ignore[attr-defined]
        with self._lock:
            if self._epochs.get(scope_id) != state.vector_epoch:
                for table in TABLES:
                    self._indexes[(scope_id, table)] = self._new()
                self._epochs[scope_id] = state.vector_epoch
                self._counters.pop(scope_id, None)
            if self._counters.get(scope_id) == state.vec_counter:
                return
            for table in TABLES:
                self._pull(scope_id, table)
            self._counters[scope_id] = state.vec_counter

    def _pull(self, scope_id: int, table: VectorTable) -> None:
        entry = self._indexes.setdefault((scope_id, table), self._new())
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
        replaced = [int(r) for r in rids if int(r) in entry.ids]
        if replaced:
            entry.index.remove_ids(np.array(replaced, dtype=np.int64))
        entry.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), rids)
        entry.ids.update(int(r) for r in rids)
        entry.seq = max_seq

    def search(self, scope_id: int, table: VectorTable, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self._lock:
            entry = self._indexes.get((scope_id, table))
            if entry is None or entry.index.ntotal == 0 or k <= 0:
                return []
            scores, ids = entry.index.search(query.reshape(1, -1).astype(np.float32), min(k, entry.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def vector(self, scope_id: int, table: VectorTable, rid: int) -> np.ndarray | None:
        with self._lock:
            entry = self._indexes.get((scope_id, table))
            if entry is None or rid not in entry.ids:
                return None
            return entry.index.reconstruct(rid)

    def size(self, scope_id: int, table: VectorTable) -> int:
        entry = self._indexes.get((scope_id, table))
        return 0 if entry is None else int(entry.index.ntotal)

    def forget(self, scope_id: int) -> None:
        with self._lock:
            for table in TABLES:
                self._indexes.pop((scope_id, table), None)
            self._epochs.pop(scope_id, None)
            self._counters.pop(scope_id, None)
