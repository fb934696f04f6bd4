"""Model providers behind two small protocols: :class:`ChatModel` and :class:`Embedder`."""

from .base import ChatMessage, ChatModel, Completion, Embedder, normalize
from .local_embeddings import HashingEmbedder, LocalMiniLMEmbedder
from .openai_compat import OpenAIChatModel, OpenAIEmbedder

__all__ = [
    "ChatMessage",
    "ChatModel",
    "Completion",
    "Embedder",
    "HashingEmbedder",
    "LocalMiniLMEmbedder",
    "OpenAIChatModel",
    "OpenAIEmbedder",
    "normalize",
]
