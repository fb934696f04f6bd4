"""Vector index access for retrieval: cosine similarities of a query with pages, segments and facts.

Every read goes through ``IndexCache``'s public methods (which hold its lock); retrieval never
touches an index's internals.
"""

from __future__ import annotations

import numpy as np

from ..config import MemoryConfig
from ..index import IndexCache
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
