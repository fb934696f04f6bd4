"""``MemoryOSRetriever``: every MemoryOS tier as LlamaIndex ``NodeWithScore`` results."""

from __future__ import annotations

from typing import Any, List, Optional

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from memoryos_core import Memoryos
from memoryos_core.types import Page, RetrievalResult, ScoredFact

from ._build import resolve_memoryos
from ._convert import iso

_TIER_NAMES = {"short": "short_term", "mid": "mid_term", "archived": "archived"}
#: Metadata the LLM does not need to read (ids and scores); tier and timestamp stay visible.
_HIDDEN_FROM_LLM = ["memory_id", "score", "segment_id", "segment_summary", "kind", "source", "user_id"]


def _page_node(page: Page, score: float | None, segment_id: str | None, origin: str, user_id: str,
               segment_summary: str | None = None) -> NodeWithScore:
    metadata = {
        "tier": _TIER_NAMES.get(page.tier, page.tier),
        "kind": "page",
        "source": origin,
        "memory_id": page.id,
        "score": score,
        "timestamp": iso(page.timestamp),
        "segment_id": segment_id,
        "user_id": user_id,
    }
    if segment_summary:
        metadata["segment_summary"] = segment_summary
    node = TextNode(id_=page.id, text=page.text, metadata=metadata,
                    excluded_llm_metadata_keys=list(_HIDDEN_FROM_LLM), excluded_embed_metadata_keys=list(metadata))
    return NodeWithScore(node=node, score=score)


def _fact_node(scored: ScoredFact, user_id: str) -> NodeWithScore:
    fact = scored.fact
    metadata = {
        "tier": f"{fact.kind}_knowledge",
        "kind": "fact",
        "source": fact.source,
        "memory_id": fact.id,
        "score": scored.score,
        "timestamp": iso(fact.refers_to if fact.refers_to is not None else fact.updated_at),
        "user_id": user_id,
    }
    node = TextNode(id_=fact.id, text=fact.text, metadata=metadata,
                    excluded_llm_metadata_keys=list(_HIDDEN_FROM_LLM), excluded_embed_metadata_keys=list(metadata))
    return NodeWithScore(node=node, score=scored.score)


def result_to_nodes(result: RetrievalResult, *, user_id: str, include_short_term: bool = True,
                    include_profile: bool = True, include_knowledge: bool = True) -> List[NodeWithScore]:
    """Nodes for a ``RetrievalResult``.

    Order: similarity-scored nodes (relevant pages and knowledge) by descending score, then the
    profile, then the recent short-term pages in conversation order. The profile and recent pages
    are not similarity-ranked and carry ``score=None``.
    """
    scored: list[NodeWithScore] = [_page_node(sp.page, sp.score, sp.segment_id, "relevant", user_id,
                                              getattr(sp, "segment_summary", None))
                                   for sp in result.mid_term]
    if include_knowledge:
        scored += [_fact_node(sf, user_id) for sf in result.user_knowledge + result.assistant_knowledge]
    scored.sort(key=lambda n: -(n.score or 0.0))
    nodes = scored
    if include_profile and result.profile.fields:
        metadata = {"tier": "profile", "kind": "profile", "source": "profile", "memory_id": f"profile:{user_id}",
                    "score": None, "timestamp": iso(result.profile.updated_at), "user_id": user_id,
                    "fields": sorted(result.profile.fields)}
        node = TextNode(id_=f"profile:{user_id}", text=result.profile.render(), metadata=metadata,
                        excluded_llm_metadata_keys=[*_HIDDEN_FROM_LLM, "fields"],
                        excluded_embed_metadata_keys=list(metadata))
        nodes.append(NodeWithScore(node=node, score=None))
    if include_short_term:
        nodes += [_page_node(p, None, p.segment_id, "recent", user_id) for p in result.short_term]
    return nodes


class MemoryOSRetriever(BaseRetriever):
    """Retrieve from every MemoryOS tier: relevant pages (mid-term and older short-term), recent
    short-term pages, user and assistant knowledge, and the profile.

    Each node is a ``TextNode`` whose metadata holds ``tier`` (``mid_term``, ``short_term``,
    ``user_knowledge``, ``assistant_knowledge``, ``profile``), ``score``, ``memory_id`` (usable with
    ``Memoryos.get/update/delete``) and ``timestamp`` (ISO 8601, conversation time).
    """

    def __init__(
        self,
        memoryos: Memoryos | None = None,
        *,
        top_k: Optional[int] = None,
        max_context_tokens: Optional[int] = None,
        record_visits: bool = True,
        include_short_term: bool = True,
        include_profile: bool = True,
        include_knowledge: bool = True,
        callback_manager: Optional[CallbackManager] = None,
        verbose: bool = False,
        **memoryos_kwargs: Any,
    ) -> None:
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self._memoryos, self._owns_memoryos = resolve_memoryos(memoryos, memoryos_kwargs, "MemoryOSRetriever")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError("top_k must be a positive integer")
        self.top_k = top_k
        self.max_context_tokens = max_context_tokens
        self.record_visits = record_visits
        self.include_short_term = include_short_term
        self.include_profile = include_profile
        self.include_knowledge = include_knowledge
        self.last_result: RetrievalResult | None = None

    @property
    def memoryos(self) -> Memoryos:
        return self._memoryos

    def _nodes(self, result: RetrievalResult) -> List[NodeWithScore]:
        self.last_result = result
        return result_to_nodes(result, user_id=self._memoryos.user_id, include_short_term=self.include_short_term,
                               include_profile=self.include_profile, include_knowledge=self.include_knowledge)

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        if not query_bundle.query_str.strip():
            return []
        return self._nodes(self._memoryos.retrieve(query_bundle.query_str, top_k=self.top_k,
                                                   max_context_tokens=self.max_context_tokens,
                                                   record_visits=self.record_visits))

    async def _aretrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        if not query_bundle.query_str.strip():
            return []
        return self._nodes(await self._memoryos.aretrieve(query_bundle.query_str, top_k=self.top_k,
                                                          max_context_tokens=self.max_context_tokens,
                                                          record_visits=self.record_visits))

    def close(self) -> None:
        """Close the ``Memoryos`` if this retriever built it."""
        if self._owns_memoryos:
            self._memoryos.close()
