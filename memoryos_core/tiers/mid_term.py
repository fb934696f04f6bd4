"""Mid-term memory: moving overflowed short-term pages into topic segments.

One pass handles a whole batch. With an LLM, one call groups the batch into topics, links them
to candidate segments (found by embedding similarity) and refreshes their summaries. Without
one, pages join the best segment by cos(page, centroid) + Jaccard(keywords), as in the
published design, and summaries are extractive. Either way each page lands in exactly one segment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..config import MemoryConfig
from ..extractors import extract_keywords, extractive_summary, jaccard
from ..index import IndexCache
from ..providers.metered import MeteredChatModel, MeteredEmbedder
from ..policy import Policy
from ..prompts import ConsolidationOut, consolidation_messages
from ..storage.base import Job, PageRow, SegmentRow, SegmentWrite

from ..storage.base import Store
from ..structured import call_structured

log = logging.getLogger("memoryos.consolidation")

#: Added to the score of the previous page's segment when the page follows within the window.
CONTINUITY_BONUS = 0.2
CONTINUITY_WINDOW = 30 * 60.0


@dataclass(eq=False)
class _Group:
    rid: int | None
    summary: str
    keywords: list[str]
    base_sum: np.ndarray
    base_count: int
    texts: list[str] = field(default_factory=list)
    page_rids: list[int] = field(default_factory=list)
    added: np.ndarray | None = None
    last_active: float = 0.0
    from_llm: bool = False

    @property
    def centroid(self) -> np.ndarray:
        total = self.base_sum + (self.added if self.added is not None else 0)
        norm = float(np.linalg.norm(total))
        return total / norm if norm else total

    @property
    def size(self) -> int:
        return self.base_count + len(self.page_rids)

    def take(self, row: PageRow, vec: np.ndarray) -> None:
        self.page_rids.append(row.rid)
        self.texts.append(row.page.text)
        self.added = vec.copy() if self.added is None else self.added + vec
        self.last_active = max(self.last_active, row.page.timestamp)


class Consolidator:
    def __init__(self, store: Store, indexes: IndexCache, embedder: MeteredEmbedder, llm: MeteredChatModel | None,
                 config: MemoryConfig, policy: Policy) -> None:
        self.store, self.indexes, self.embedder, self.llm = store, indexes, embedder, llm
        self.config, self.policy = config, policy

    def run(self, scope_id: int, job: Job, owner: str) -> None:
        cfg = self.config
        pages = self.store.overflow_pages(scope_id, cfg.short_term_capacity, max(cfg.consolidation_batch_size, 32))
        if not pages:
            self.store.finish_job(job, owner)
            return
        vectors = self._vectors(scope_id, pages)
        self.indexes.sync(scope_id)
        candidates = self._candidates(scope_id, vectors)
        groups = self._plan_llm(pages, vectors, candidates) if self.llm is not None else None
        if groups is None:
            groups = self._plan_heuristic(pages, vectors, [self._group_of(c) for c in candidates])
        writes = [
            SegmentWrite(rid=g.rid, summary=g.summary, keywords=g.keywords,
                         summary_source="llm" if g.from_llm else "heuristic",
                         page_rids=g.page_rids, added_vec_sum=g.added, last_active=g.last_active)
            for g in groups if g.page_rids and g.added is not None
        ]
        self.store.apply_consolidation(scope_id, job, owner, writes, self.policy)
        # Every page reaches the persona eventually: quiet segments' pages too (the persona pass
        # takes hot pages first and, with a model, waits until enough quiet ones make a batch).
        self.store.enqueue(scope_id, "persona")

    def _vectors(self, scope_id: int, pages: list[PageRow]) -> np.ndarray:
        missing = [i for i, p in enumerate(pages) if p.embedding is None]
        if missing:
            fresh = self.embedder.embed([pages[i].page.text for i in missing], purpose="pages")
            self.store.set_page_embeddings(scope_id, [(pages[i].rid, fresh[j]) for j, i in enumerate(missing)])
        out = np.zeros((len(pages), self.embedder.dim), dtype=np.float32)
        j = 0
        for i, p in enumerate(pages):
            if p.embedding is None:
                out[i] = fresh[j]
                j += 1
            else:
                out[i] = p.embedding
        return out

    def _candidates(self, scope_id: int, vectors: np.ndarray) -> list[SegmentRow]:
        rids: dict[int, None] = {}
        for vec in vectors:
            for rid, _ in self.indexes.search(scope_id, "segments", vec, 3):
                rids[rid] = None
        rows = self.store.segments_by_rids(scope_id, list(rids))
        return [r for r in rows if not r.segment.archived]

    @staticmethod
    def _group_of(row: SegmentRow) -> _Group:
        return _Group(rid=row.rid, summary=row.segment.summary, keywords=list(row.segment.keywords),
                      base_sum=row.vec_sum, base_count=row.segment.page_count, last_active=row.segment.last_active)

    def _plan_heuristic(self, pages: list[PageRow], vectors: np.ndarray, groups: list[_Group]) -> list[_Group]:
        """Greedy assignment; ``groups`` (candidates, possibly already grown) is extended in place."""
        cfg = self.config
        touched: list[_Group] = []
        previous: _Group | None = None
        previous_ts = float("-inf")
        for row, vec in zip(pages, vectors):
            words = extract_keywords([row.page.text], 8)
            best, best_score = None, -1.0
            for g in groups:
                if g.size >= cfg.max_segment_pages:
                    continue
                score = float(vec @ g.centroid) + jaccard(words, g.keywords)
                if g is previous:  # conversational continuity: the same sitting usually stays on topic
                    gap = row.page.timestamp - previous_ts
                    score += CONTINUITY_BONUS if 0 <= gap <= CONTINUITY_WINDOW else 0.05
                if score > best_score:
                    best, best_score = g, score
            if best is None or best_score < cfg.segment_join_threshold:
                best = _Group(rid=None, summary="", keywords=[], base_sum=np.zeros_like(vec), base_count=0)
                groups.append(best)
            best.take(row, vec)
            best.keywords = extract_keywords(best.texts + ([best.summary] if best.summary else []), 8)
            previous, previous_ts = best, row.page.timestamp
            if best not in touched:
                touched.append(best)
        for g in touched:
            g.summary = extractive_summary(([g.summary] if g.summary else []) + g.texts, 400)
        return groups

    def _plan_llm(self, pages: list[PageRow], vectors: np.ndarray, candidates: list[SegmentRow]) -> list[_Group] | None:
        by_id = {c.segment.id: c for c in candidates}
        messages = consolidation_messages(
            [(i + 1, p.page.timestamp, p.page.text) for i, p in enumerate(pages)],
            [(c.segment.id, c.segment.summary, c.segment.keywords) for c in candidates])
        out = call_structured(self.llm, messages, ConsolidationOut, purpose="consolidate")
        groups: dict[str, _Group] = {}
        placed: set[int] = set()
        result: list[_Group] = []
        for topic in out.topics:
            numbers = [n for n in topic.pages if 1 <= n <= len(pages) and n - 1 not in placed]
            if not numbers:
                continue
            if topic.segment and topic.segment in by_id:
                group = groups.get(topic.segment)
                if group is None:
                    group = groups[topic.segment] = self._group_of(by_id[topic.segment])
                    result.append(group)
            else:
                group = _Group(rid=None, summary="", keywords=[], base_sum=np.zeros_like(vectors[0]), base_count=0)
                result.append(group)
            for n in numbers:
                placed.add(n - 1)
                group.take(pages[n - 1], vectors[n - 1])
            group.summary = topic.summary.strip() or group.summary or extractive_summary(group.texts, 400)
            group.keywords = [k.strip().lower() for k in topic.keywords if k.strip()][:10] or extract_keywords(group.texts, 8)
            group.from_llm = True
        leftover = [i for i in range(len(pages)) if i not in placed]
        if leftover:
            log.info("the model left %d page(s) unassigned; placing them heuristically", len(leftover))
            result += [self._group_of(c) for c in candidates if c.segment.id not in groups]
            self._plan_heuristic([pages[i] for i in leftover], vectors[leftover], result)
        return result
