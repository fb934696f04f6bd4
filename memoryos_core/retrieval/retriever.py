"""The retriever: ranks a scope's memories for a query and assembles the context, then heats what it used."""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from ..config import MemoryConfig
from ..index import IndexCache
from ..storage.base import HeatParams, Store
from ..tokens import TokenCounter
from ..types import Page, RetrievalResult, ScoredFact, ScoredPage
from .context import Budget, ContextAssembler
from .focus import Focus
from .lexical import LexicalIndex
from .ranking import PageRanker
from .vectors import VectorSearch


class Retriever:
    """Retrieval for one store: ranking, the token-budgeted context, and heat for the pages used."""

    def __init__(self, store: Store, indexes: IndexCache, tokens: TokenCounter, config: MemoryConfig,
                 heat: HeatParams) -> None:
        self.store, self.indexes, self.tokens, self.config, self.heat = store, indexes, tokens, config, heat
        self.lexical = LexicalIndex(store, indexes)
        self.vectors = VectorSearch(store, indexes, config)
        self.ranker = PageRanker(store, self.vectors, self.lexical)
        self.assembler = ContextAssembler(tokens)

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
        if record_visits:
            visited = sorted({rid for _, rid in shown.kept if rid is not None})
            self.store.record_visits(scope_id, visited, self.heat)
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
