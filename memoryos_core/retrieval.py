"""Retrieval across tiers and assembly of a token-budgeted context.

Pages are ranked by their own similarity *and* their segment's (segment = cos + keyword Jaccard,
as in the published design, whose page ranking ignored segment scores). Candidates come from a
global page search plus the pages of the best segments, so a relevant page is found whether or
not it has been consolidated yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .config import MemoryConfig
from .extractors import jaccard, tokenize
from .index import IndexCache
from .storage.base import HeatParams
from .tokens import TokenCounter
from .types import Page, Profile, RetrievalResult, ScoredFact, ScoredPage
from .validation import format_timestamp

SEGMENT_WEIGHT = 0.25
MIN_PAGE_SCORE = 0.1


def short_date(epoch: float) -> str:
    """Compact conversation date for context lines, e.g. ``8 May 2023`` (8 tokens with brackets, vs 13)."""
    dt = datetime.fromtimestamp(epoch, timezone.utc)
    return f"{dt.day} {dt.strftime('%B')} {dt.year}"


@dataclass(frozen=True)
class Budget:
    """Shares of the context budget; what a section leaves unused flows to past conversation."""

    profile: float = 0.12
    knowledge: float = 0.2
    short_term: float = 0.25


class Retriever:
    def __init__(self, store: Any, indexes: IndexCache, tokens: TokenCounter, config: MemoryConfig,
                 heat: HeatParams) -> None:
        self.store, self.indexes, self.tokens, self.config, self.heat = store, indexes, tokens, config, heat

    def retrieve(self, scope_id: int, query: str, qvec: np.ndarray, *, top_k: int, max_context_tokens: int,
                 record_visits: bool = True, budget: Budget = Budget()) -> RetrievalResult:
        cfg = self.config
        self.indexes.sync(scope_id)
        short_rows = self.store.short_term(scope_id, cfg.short_term_capacity)
        short = [r.page for r in short_rows]
        ranked = self._rank_pages(scope_id, query, qvec, top_k, exclude={r.rid for r in short_rows})
        user_facts = self._facts(scope_id, "facts_user", qvec)
        assistant_facts = self._facts(scope_id, "facts_assistant", qvec)
        profile = self.store.profile(scope_id)
        context, used, kept = self.assemble(profile, short, ranked, user_facts, assistant_facts, max_context_tokens, budget)
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
        """Best pages with the rid of their segment (for heat). Scores come from the in-memory
        indexes; only the winners' rows are read from the store."""
        cfg = self.config
        words = tokenize(query)
        seg_hits = self.indexes.search(scope_id, "segments", qvec, cfg.top_segments * 3)
        seg_rows = {r.rid: r for r in self.store.segments_by_rids(scope_id, [rid for rid, _ in seg_hits])}
        seg_score = {rid: cos + jaccard(words, seg_rows[rid].segment.keywords) for rid, cos in seg_hits if rid in seg_rows}
        top_segments = sorted(seg_score, key=seg_score.get, reverse=True)[: cfg.top_segments]  # type: ignore[arg-type]

        page_cos: dict[int, float] = dict(self.indexes.search(scope_id, "pages", qvec, max(top_k * 4, 50)))
        segment_of: dict[int, int | None] = {}
        for rid, seg in self.store.segment_members(scope_id, top_segments):
            segment_of[rid] = seg
            if rid not in page_cos:
                vec = self.indexes.vector(scope_id, "pages", rid)
                if vec is not None:
                    page_cos[rid] = float(vec @ qvec)
        segment_of.update(self.store.segment_of(scope_id, [rid for rid in page_cos if rid not in segment_of]))

        candidates: list[tuple[float, float, int, int | None]] = []
        for rid, cos in page_cos.items():
            if rid in exclude or rid not in segment_of or cos < MIN_PAGE_SCORE:
                continue
            seg = segment_of[rid]
            if seg is not None and seg not in seg_score:
                centroid = self.indexes.vector(scope_id, "segments", seg)
                seg_score[seg] = float(centroid @ qvec) if centroid is not None else cos
            s_score = seg_score.get(seg, cos) if seg is not None else cos
            candidates.append((cos + SEGMENT_WEIGHT * s_score, s_score, rid, seg))
        candidates.sort(reverse=True)
        winners = candidates[:top_k]
        rows = {r.rid: r for r in self.store.pages_by_rids(scope_id, [c[2] for c in winners])}
        missing_segments = [seg for *_, seg in winners if seg is not None and seg not in seg_rows]
        seg_rows.update({r.rid: r for r in self.store.segments_by_rids(scope_id, missing_segments)})
        return [(ScoredPage(page=rows[rid].page, score=score, segment_id=rows[rid].page.segment_id, segment_score=s_score,
                            segment_summary=seg_rows[seg].segment.summary if seg in seg_rows else None), seg)
                for score, s_score, rid, seg in winners if rid in rows and rows[rid].page.tier != "archived"]

    def _facts(self, scope_id: int, table: Any, qvec: np.ndarray) -> list[ScoredFact]:
        hits = self.indexes.search(scope_id, table, qvec, self.config.knowledge_top_k)
        hits = [(rid, s) for rid, s in hits if s >= self.config.knowledge_min_score]
        rows = {r.rid: r for r in self.store.facts_by_rids(scope_id, [rid for rid, _ in hits])}
        return [ScoredFact(fact=rows[rid].fact, score=s) for rid, s in hits if rid in rows]

    # -- context --------------------------------------------------------------------------

    @staticmethod
    def _page_line(page: Page) -> str:
        return f"[{format_timestamp(page.timestamp)}] {page.text}"

    def assemble(self, profile: Profile, short: list[Page], mid: list[tuple[ScoredPage, int | None]],
                 user_facts: list[ScoredFact],
                 assistant_facts: list[ScoredFact], limit: int, budget: Budget = Budget()
                 ) -> tuple[str, int, list[tuple[ScoredPage, int | None]]]:
        """Fill the budget section by section; returns (text, exact tokens, kept mid pages)."""
        count = self.tokens.count
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

        headers = 40  # room for section titles
        if profile.fields:
            for line in profile.render().splitlines():
                if not take("profile", line, limit * budget.profile):
                    break
        knowledge_cap = used + limit * budget.knowledge
        facts = sorted([("user", f) for f in user_facts] + [("assistant", f) for f in assistant_facts],
                       key=lambda x: x[1].score, reverse=True)
        for kind, sf in facts:
            when = f"[{format_timestamp(sf.fact.refers_to)[:10]}] " if sf.fact.refers_to else ""
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
        kept: list[tuple[ScoredPage, int | None]] = []
        mid_cap = limit - headers
        for sp, seg_rid in mid:
            if take("mid", self._page_line(sp.page), mid_cap):
                kept.append((sp, seg_rid))
        titles = {"profile": "## User profile", "user": "## What is known about the user",
                  "assistant": "## What is known about the assistant", "mid": "## Relevant past conversation",
                  "short": "## Recent conversation"}
        parts = [f"{titles[name]}\n" + "\n".join(lines) for name, lines in sections.items() if lines]
        text = "\n\n".join(parts)
        exact = count(text)
        while exact > limit and sections["mid"]:  # formatting overhead overshot: drop the weakest page
            sections["mid"].pop()
            kept.pop()
            parts = [f"{titles[name]}\n" + "\n".join(lines) for name, lines in sections.items() if lines]
            text = "\n\n".join(parts)
            exact = count(text)
        return text, exact, kept
