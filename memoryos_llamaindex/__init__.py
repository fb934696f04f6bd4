"""LlamaIndex adapter for MemoryOS: memory, memory block, retriever and model providers.

Translation only: every memory decision (what to keep, consolidate, retrieve) lives in
``memoryos_core``. Install with ``pip install "memoryos-kit[llamaindex]"``.

    from memoryos_core import Memoryos
    from memoryos_llamaindex import MemoryOSMemory
    from llama_index.core.chat_engine import SimpleChatEngine

    memory = MemoryOSMemory(memoryos=Memoryos(user_id="alice", data_storage_path="./memory"))
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)
"""

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "memoryos_llamaindex needs llama-index-core: pip install \"memoryos-kit[llamaindex]\""
    ) from exc

from .memory import MemoryOSMemory
from .memory_block import MemoryOSMemoryBlock
from .providers import LlamaIndexEmbedding, LlamaIndexLLM
from .retriever import MemoryOSRetriever, result_to_nodes

__all__ = [
    "LlamaIndexEmbedding",
    "LlamaIndexLLM",
    "MemoryOSMemory",
    "MemoryOSMemoryBlock",
    "MemoryOSRetriever",
    "result_to_nodes",
]
