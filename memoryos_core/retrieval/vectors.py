"""Vector index access for retrieval: cosine similarities of a query with pages, segments and facts.

Every read goes through ``IndexCache``'s public methods (which hold its lock); retrieval never
touches an index's internals.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..config import MemoryConfig
from ..index import IndexCache
from ..text_limits import PiecewiseEmbedder
from ..storage.base import Store, VectorTable
from ..types import ScoredFact


class VectorSearch:
    """Cosine look-ups of one query against a scope's indexes (call ``IndexCache.sync`` first)."""

    def __init__(self, store: Store, indexes: IndexCache, config: MemoryConfig) -> None:
        self.store, self.indexes, self.config = store, indexes, config

    def nearest_pages(self, scope_id: int, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(page rid, cosine) of the ``k`` pages nearest the query, best first."""
        return self.indexes.search(scope_id, "pages", qvec, k)

    def page_cosines(self, scope_id: int, qvec: np.ndarray, rids: list[int]) -> list[float | None]:
        """Cosine of the query with each page (None for a page without a vector in the index)."""
        vectors = self.indexes.vectors(scope_id, "pages", rids)
        return [None if vec is None else float(vec @ qvec) for vec in vectors]

    def segment_cosine(self, scope_id: int, qvec: np.ndarray, segment_rid: int) -> float | None:
        """Cosine of the query with a segment's centroid (None when the segment has no vector)."""
        centroid = self.indexes.vector(scope_id, "segments", segment_rid)
        return None if centroid is None else float(centroid @ qvec)

    def past_facts(self, scope_id: int, qvec: np.ndarray) -> list[ScoredFact]:
        """Facts no longer true (replaced or stopped), best match first; the assembler shows those that
        bear on the question, as past."""
        scored = [ScoredFact(fact=r.fact, score=float(r.embedding @ qvec)) for r in self.store.past_facts(scope_id)]
        return sorted(scored, key=lambda f: f.score, reverse=True)

    def facts(self, scope_id: int, table: VectorTable, qvec: np.ndarray) -> list[ScoredFact]:
        """The facts of ``table`` nearest the query, above the configured minimum score."""
        hits = self.indexes.search(scope_id, table, qvec, self.config.knowledge_top_k)
        hits = [(rid, s) for rid, s in hits if s >= self.config.knowledge_min_score]
        rows = {r.rid: r for r in self.store.facts_by_rids(scope_id, [rid for rid, _ in hits])}
        return [ScoredFact(fact=rows[rid].fact, score=s) for rid, s in hits if rid in rows]


class QueryVectors:
    """Query embeddings, with the latest ``size`` kept by text: an agent asks the same question again
    (a retry, a framework's retrieve-then-search, a dashboard) and the embedding is most of a
    retrieval's cost. One cache per embedder; cached vectors are read-only."""

    def __init__(self, embedder: PiecewiseEmbedder, size: int = 256) -> None:
        self.embedder, self.size = embedder, size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _cached(self, query: str) -> np.ndarray | None:
        with self._lock:
            vector = self._cache.get(query)
            if vector is not None:
                self._cache.move_to_end(query)
            return vector

    def _keep(self, query: str, vector: np.ndarray) -> np.ndarray:
        vector = np.array(vector, dtype=np.float32)
        vector.flags.writeable = False
        with self._lock:
            self._cache[query] = vector
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return vector

    def get(self, query: str) -> np.ndarray:
        cached = self._cached(query)
        return cached if cached is not None else self._keep(query, self.embedder.embed([query], purpose="query")[0])

    async def aget(self, query: str) -> np.ndarray:
        cached = self._cached(query)
        if cached is not None:
            return cached
        return self._keep(query, (await self.embedder.aembed([query], purpose="query"))[0])
