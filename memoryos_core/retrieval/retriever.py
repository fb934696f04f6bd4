"""The retriever: ranks a scope's memories for a query and assembles the context, then notes the visits
to heat what it used (written later by the worker, see ``visits``)."""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

import numpy as np

from ..config import MemoryConfig
from ..errors import StoreError
from ..index import IndexCache
from ..storage.base import HeatParams, Store
from ..tokens import TokenCounter
from ..types import Page, RetrievalResult, ScoredFact, ScoredPage
from .context import Budget, ContextAssembler
from .focus import Focus
from .lexical import LexicalIndex
from .ranking import PageRanker
from .vectors import VectorSearch
from .visits import VisitLog

log = logging.getLogger("memoryos.retrieval")


class Retriever:
    """Retrieval for one store: ranking, the token-budgeted context, and heat for the pages used."""

    def __init__(self, store: Store, indexes: IndexCache, tokens: TokenCounter, config: MemoryConfig,
                 heat: HeatParams) -> None:
        self.store, self.indexes, self.tokens, self.config, self.heat = store, indexes, tokens, config, heat
        self.lexical = LexicalIndex(store, indexes)
        self.vectors = VectorSearch(store, indexes, config)
        self.ranker = PageRanker(store, self.vectors, self.lexical)
        self.assembler = ContextAssembler(tokens)
        self.visits = VisitLog(store, heat)
        self.visits_due = False  # enough visits wait that the worker should write them

    @property
    def upkeep_due(self) -> bool:
        """True when the worker has something to do for readers (see ``upkeep``)."""
        return self.visits_due or self.lexical.snapshot_due

    def upkeep(self) -> None:
        """What the read path leaves to the worker: the segment visits waiting to be written, and a
        lexicon snapshot when enough pages were read since the last one. Never raises (both are
        advisory; a failure is logged and the next pass tries again)."""
        self.visits_due = False
        for step in (self.visits.flush, self.lexical.save_due):
            try:
                step()
            except StoreError as exc:  # the user was deleted meanwhile
                log.info("read upkeep skipped: %s", exc)
            except Exception:
                log.warning("read upkeep failed; the next pass tries again", exc_info=True)

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
        ranked = self.ranker.rank(scope_id, query, qvec, top_k, exclude=exclude)
        user_facts = self.vectors.facts(scope_id, "facts_user", qvec)
        assistant_facts = self.vectors.facts(scope_id, "facts_assistant", qvec)
        profile = self.store.profile(scope_id)
        past_facts = self.vectors.past_facts(scope_id, qvec)
        shown = self.assembler.assemble(profile, short if live else [], ranked, user_facts, assistant_facts,
                                        max_context_tokens, budget, Focus.of(query), past_facts)
        if record_visits and self.visits.note(scope_id, (rid for _, rid in shown.kept if rid is not None)):
            self.visits_due = True
        return RetrievalResult(query=query, short_term=short, mid_term=[sp for sp, _ in ranked], profile=profile,
                               user_knowledge=user_facts, assistant_knowledge=assistant_facts,
                               context=shown.text, context_tokens=shown.tokens, max_context_tokens=max_context_tokens,
                               context_page_ids=[sp.page.id for sp, _ in shown.kept], sections=shown.sections)

    def search(self, scope_id: int, query: str, qvec: np.ndarray, limit: int
               ) -> tuple[list[ScoredPage], list[ScoredFact], list[ScoredFact]]:
        """Scored pages of every tier (short-term included) and facts, without assembling or heating."""
        self.indexes.sync(scope_id)
        pages = [sp for sp, _ in self.ranker.rank(scope_id, query, qvec, limit, exclude=set())]
        facts = self.vectors.facts
        return pages, facts(scope_id, "facts_user", qvec), facts(scope_id, "facts_assistant", qvec)


def search_results(pages: Sequence[ScoredPage], user_facts: Sequence[ScoredFact], assistant_facts: Sequence[ScoredFact],
                   *, limit: int) -> dict[str, list[dict[str, Any]]]:
    """``Memoryos.search``'s mem0-style answer: pages and facts ranked together by score."""
    items: list[dict[str, Any]] = [
        {"id": sp.page.id, "memory": sp.page.text, "score": sp.score, "type": "page", "tier": sp.page.tier,
         "segment_id": sp.segment_id, "timestamp": sp.page.timestamp, "metadata": sp.page.meta,
         "created_at": sp.page.created_at}
        for sp in pages
    ]
    for kind, facts in (("user_knowledge", user_facts), ("assistant_knowledge", assistant_facts)):
        items += [{"id": sf.fact.id, "memory": sf.fact.text, "score": sf.score, "type": kind,
                   "timestamp": sf.fact.refers_to, "metadata": {"source": sf.fact.source},
                   "created_at": sf.fact.created_at} for sf in facts]
    items.sort(key=lambda x: -x["score"])
    return {"results": items[:limit]}
