"""LangChain adapters for MemoryOS: translation to LangChain types only, every memory decision stays in the core.

* :class:`MemoryOSStore`: a LangGraph ``BaseStore`` (``create_agent(..., store=...)``, LangMem's
  memory tools) whose items live next to each user's memory. The modern way to give agents
  long-term memory.
* :class:`MemoryOSChatMessageHistory`: ``BaseChatMessageHistory`` over a user's pages
  (for ``RunnableWithMessageHistory``, deprecated in langchain-core 1.x: legacy).
* :class:`MemoryOSRetriever`: ``BaseRetriever`` returning documents from every tier.
* :class:`LangChainChatModel`, :class:`LangChainEmbeddings`: LangChain models as core providers.
* :class:`MemoryOSMiddleware`: memory for ``langchain.agents.create_agent``.

``MemoryOSStore`` and ``MemoryOSMiddleware`` need ``langgraph`` (and ``langchain``); they are imported
on first use so the rest works with ``langchain-core`` alone.

See ``docs/langchain.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .history import MemoryOSChatMessageHistory, pages_to_messages
from .providers import LangChainChatModel, LangChainEmbeddings, to_langchain_messages
from .retriever import MemoryOSRetriever, format_memory_documents, result_to_documents

if TYPE_CHECKING:
    from .middleware import MemoryOSMiddleware
    from .store import MemoryOSStore, NamespaceMapping

__all__ = [
    "LangChainChatModel",
    "LangChainEmbeddings",
    "MemoryOSChatMessageHistory",
    "MemoryOSMiddleware",
    "MemoryOSRetriever",
    "MemoryOSStore",
    "NamespaceMapping",
    "format_memory_documents",
    "pages_to_messages",
    "result_to_documents",
    "to_langchain_messages",
]


def __getattr__(name: str) -> Any:
    if name == "MemoryOSMiddleware":
        from .middleware import MemoryOSMiddleware

        return MemoryOSMiddleware
    if name in ("MemoryOSStore", "NamespaceMapping"):
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
