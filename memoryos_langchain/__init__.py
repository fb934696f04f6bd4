"""LangChain adapters for MemoryOS: translation to LangChain types only, every memory decision stays in the core.

* :class:`MemoryOSChatMessageHistory`: ``BaseChatMessageHistory`` over a user's pages
  (for ``RunnableWithMessageHistory``).
* :class:`MemoryOSRetriever`: ``BaseRetriever`` returning documents from every tier.
* :class:`LangChainChatModel`, :class:`LangChainEmbeddings`: LangChain models as core providers.
* :class:`MemoryOSMiddleware`: memory for ``langchain.agents.create_agent`` (needs ``langchain``
  and ``langgraph``; imported on first use so the rest works with ``langchain-core`` alone).

See ``docs/langchain.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .history import MemoryOSChatMessageHistory, pages_to_messages
from .providers import LangChainChatModel, LangChainEmbeddings, to_langchain_messages
from .retriever import MemoryOSRetriever, format_memory_documents, result_to_documents

if TYPE_CHECKING:
    from .middleware import MemoryOSMiddleware

__all__ = [
    "LangChainChatModel",
    "LangChainEmbeddings",
    "MemoryOSChatMessageHistory",
    "MemoryOSMiddleware",
    "MemoryOSRetriever",
    "format_memory_documents",
    "pages_to_messages",
    "result_to_documents",
    "to_langchain_messages",
]


def __getattr__(name: str) -> Any:
    if name == "MemoryOSMiddleware":
        from .middleware import MemoryOSMiddleware

        return MemoryOSMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
