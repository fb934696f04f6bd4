"""``BaseRetriever`` over ``Memoryos.retrieve``: every tier as LangChain ``Document``s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, ensure_config
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from memoryos_core import Memoryos, RetrievalResult
from memoryos_core.prompts import NOTHING_REMEMBERED, fence_memory
from memoryos_core.times import to_datetime

from ._common import MemoryFactory, MemoryResolver

TIERS = ("profile", "user_knowledge", "assistant_knowledge", "mid_term", "short_term")
_PAGE_TIER = {"short": "short_term", "mid": "mid_term", "archived": "archived"}


def result_to_documents(result: RetrievalResult, *, user_id: str = "", tiers: Sequence[str] = TIERS) -> list[Document]:
    """A retrieval result as documents, best first.

    Order: the profile (one document), then knowledge facts and relevant past pages together by
    descending score, then the recent pages (short-term window) in conversation order.
    ``metadata["tier"]`` names the ``RetrievalResult`` field the document comes from.
    """
    docs: list[Document] = []
    if "profile" in tiers and result.profile.fields:
        docs.append(Document(
            id=f"profile:{user_id}" if user_id else "profile", page_content=result.profile.render(),
            metadata={"tier": "profile", "score": None, "fields": dict(result.profile.fields),
                      "updated_at": result.profile.updated_at}))
    scored: list[tuple[float, Document]] = []
    for tier, facts in (("user_knowledge", result.user_knowledge), ("assistant_knowledge", result.assistant_knowledge)):
        if tier not in tiers:
            continue
        for sf in facts:
            fact = sf.fact
            scored.append((sf.score, Document(
                id=fact.id, page_content=fact.text,
                metadata={"tier": tier, "score": sf.score, "fact_id": fact.id, "kind": fact.kind,
                          "refers_to": fact.refers_to, "created_at": fact.created_at, "updated_at": fact.updated_at,
                          "source": fact.source, "slot": fact.slot, "source_page_ids": list(fact.source_page_ids)})))
    if "mid_term" in tiers:
        for sp in result.mid_term:
            scored.append((sp.score, _page_document(sp.page, "mid_term", score=sp.score, segment_score=sp.segment_score)))
    scored.sort(key=lambda item: item[0], reverse=True)
    docs += [doc for _, doc in scored]
    if "short_term" in tiers:
        docs += [_page_document(page, "short_term") for page in result.short_term]
    return docs


def _time(epoch: float) -> str:
    return to_datetime(epoch).strftime("%Y-%m-%d %H:%M")


def _page_document(page: Any, tier: str, *, score: float | None = None, segment_score: float | None = None) -> Document:
    metadata: dict[str, Any] = {
        "tier": tier, "score": score, "page_id": page.id, "segment_id": page.segment_id,
        "page_tier": _PAGE_TIER.get(page.tier, page.tier), "timestamp": page.timestamp,
        "time": _time(page.timestamp), "created_at": page.created_at, "meta": dict(page.meta),
    }
    if segment_score is not None:
        metadata["segment_score"] = segment_score
    return Document(id=page.id, page_content=page.text, metadata=metadata)


def format_memory_documents(docs: Sequence[Document], *, fenced: bool = True) -> str:
    """Documents of this retriever as prompt text: one block per document, in ``<memory>`` tags.

    Use it in a chain (``retriever | format_memory_documents``) and put the result in a *human*
    message of the prompt, not in the system prompt: it is data from conversations, not instructions.
    """
    titles = {"profile": "User profile", "user_knowledge": "Known about the user",
              "assistant_knowledge": "Known about the assistant", "mid_term": "Past conversation",
              "short_term": "Recent conversation"}
    blocks = []
    for doc in docs:
        tier = doc.metadata.get("tier", "")
        when = doc.metadata.get("time") or ""
        head = titles.get(tier, tier or "Memory") + (f" ({when})" if when else "")
        blocks.append(f"[{head}]\n{doc.page_content}")
    body = "\n\n".join(blocks) if blocks else NOTHING_REMEMBERED
    return fence_memory(body) if fenced else body


class MemoryOSRetriever(BaseRetriever):
    """Documents from every MemoryOS tier for a query.

    Give either ``memory`` (one user) or ``memory_factory`` (``user_id -> Memoryos``; the user id is
    read from ``config["configurable"][user_id_key]`` of the call, so one retriever serves every user
    of a chain).

    ``k``: at most this many documents in total (also the number of past pages asked of the core).
    ``max_context_tokens``: the core's context budget for the call; documents are then kept in order
    while their text fits in that many tokens (counted with the memory's tokenizer).
    ``record_visits``: heat the segments of the pages used (the core's default), so topics the
    user keeps coming back to get analysed into the profile.
    ``tiers``: which ``RetrievalResult`` parts become documents.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Memoryos | None = None
    memory_factory: MemoryFactory | None = None
    user_id_key: str = "user_id"
    k: int | None = Field(default=None, ge=1)
    max_context_tokens: int | None = Field(default=None, ge=1)
    record_visits: bool = True
    tiers: tuple[str, ...] = TIERS

    _resolver: MemoryResolver = PrivateAttr()

    @model_validator(mode="after")
    def _check(self) -> "MemoryOSRetriever":
        if (self.memory is None) == (self.memory_factory is None):
            raise ValueError("give exactly one of memory= or memory_factory=")
        unknown = set(self.tiers) - set(TIERS)
        if unknown:
            raise ValueError(f"unknown tiers {sorted(unknown)}; choose from {list(TIERS)}")
        self._resolver = MemoryResolver(self.memory or self.memory_factory,  # type: ignore[arg-type]
                                        self.user_id_key, owner="MemoryOSRetriever")
        return self

    # The user's memory is resolved from the call's config, which ``_get_relevant_documents`` does not see.
    def invoke(self, input: str, config: RunnableConfig | None = None, **kwargs: Any) -> list[Document]:
        config = ensure_config(config)
        if kwargs.get("memory") is None:
            kwargs["memory"] = self._resolver.resolve(config)
        return super().invoke(input, config, **kwargs)

    async def ainvoke(self, input: str, config: RunnableConfig | None = None, **kwargs: Any) -> list[Document]:
        config = ensure_config(config)
        if kwargs.get("memory") is None:
            kwargs["memory"] = self._resolver.resolve(config)
        return await super().ainvoke(input, config, **kwargs)

    def _settings(self, k: int | None, max_context_tokens: int | None) -> tuple[int | None, int | None]:
        k = self.k if k is None else k
        budget = self.max_context_tokens if max_context_tokens is None else max_context_tokens
        if k is not None and (not isinstance(k, int) or k < 1):
            raise ValueError("k must be a positive integer")
        if budget is not None and (not isinstance(budget, int) or budget < 1):
            raise ValueError("max_context_tokens must be a positive integer")
        return k, budget

    def _select(self, memory: Memoryos, result: RetrievalResult, k: int | None, budget: int | None) -> list[Document]:
        docs = result_to_documents(result, user_id=memory.user_id, tiers=self.tiers)
        kept: list[Document] = []
        used = 0
        for doc in docs:
            if k is not None and len(kept) >= k:
                break
            if budget is not None:
                cost = memory.tokens.count(doc.page_content)
                if used + cost > budget:
                    continue
                used += cost
            kept.append(doc)
        return kept

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, max_context_tokens: int | None = None,
                                memory: Memoryos | None = None, **_: Any) -> list[Document]:
        memory = memory or self._resolver.resolve(ensure_config())
        k, budget = self._settings(k, max_context_tokens)
        result = memory.retrieve(query, top_k=k, max_context_tokens=budget, record_visits=self.record_visits)
        return self._select(memory, result, k, budget)

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       k: int | None = None, max_context_tokens: int | None = None,
                                       memory: Memoryos | None = None, **_: Any) -> list[Document]:
        memory = memory or self._resolver.resolve(ensure_config())
        k, budget = self._settings(k, max_context_tokens)
        result = await memory.aretrieve(query, top_k=k, max_context_tokens=budget, record_visits=self.record_visits)
        return self._select(memory, result, k, budget)

    def close(self) -> None:
        """Close the memories opened through ``memory_factory``."""
        self._resolver.close()
