"""MemoryOS core: tiered, profile-aware long-term memory for AI agents.

Public API::

    from memoryos_core import Memoryos
    memory = Memoryos(user_id="alice", data_storage_path="./memory")
    memory.add_memory("I moved to Lisbon last spring.", "Nice!")
    memory.retrieve("Where does the user live?").context
"""

from .config import MemoryConfig
from .errors import (
    ExportFormatError,
    InvalidInputError,
    LLMError,
    LLMNotConfiguredError,
    MemoryOSError,
    NoAnswerError,
    NotFoundError,
    StoreError,
)
from .memory import Memoryos, default_embedder
from .providers import (
    ChatMessage,
    ChatModel,
    Completion,
    Embedder,
    HashingEmbedder,
    LocalMiniLMEmbedder,
    OpenAIChatModel,
    OpenAIEmbedder,
)
from .prompts import fence_memory
from .retrieval import render_context
from .storage import SQLiteStore, open_store
from .turns import TurnPairing
from .types import (
    ContextSections,
    Fact,
    ForgetResult,
    HistoryEntry,
    Page,
    PastExchange,
    Profile,
    RetrievalResult,
    ScoredFact,
    ScoredPage,
    Segment,
    Utterance,
)
from .usage import CallEvent, UsageTracker

from importlib.metadata import PackageNotFoundError as _NoMetadata, version as _version

try:
    __version__ = _version("memoryos-kit")
except _NoMetadata:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = [
    "CallEvent",
    "ChatMessage",
    "ChatModel",
    "Completion",
    "ContextSections",
    "Embedder",
    "ExportFormatError",
    "Fact",
    "HashingEmbedder",
    "ForgetResult",
    "HistoryEntry",
    "InvalidInputError",
    "LLMError",
    "LLMNotConfiguredError",
    "LocalMiniLMEmbedder",
    "MemoryConfig",
    "MemoryOSError",
    "Memoryos",
    "NoAnswerError",
    "NotFoundError",
    "OpenAIChatModel",
    "OpenAIEmbedder",
    "Page",
    "PastExchange",
    "Profile",
    "RetrievalResult",
    "PostgresStore",
    "SQLiteStore",
    "ScoredFact",
    "ScoredPage",
    "Segment",
    "StoreError",
    "TurnPairing",
    "UsageTracker",
    "Utterance",
    "default_embedder",
    "fence_memory",
    "open_store",
    "render_context",
]


def __getattr__(name: str) -> object:  # PostgresStore without importing psycopg for SQLite users
    if name == "PostgresStore":
        from .storage.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(name)
