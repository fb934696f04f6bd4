"""The two small protocols every model provider implements: chat completion and embeddings."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str

    def to_openai(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    #: Why generation stopped, as the endpoint said (``stop``, ``length``, ``content_filter``, ...).
    finish_reason: str = ""
    #: The endpoint's refusal message, when the model declined to answer.
    refusal: str | None = None

    def unusable_reason(self) -> str | None:
        """Why this completion is no answer at all (None when it is one)."""
        if self.refusal:
            return f"the model refused: {self.refusal}"
        if self.finish_reason == "content_filter":
            return "the endpoint's content filter stopped the answer"
        if not self.text.strip():
            return "the model returned an empty answer"
        return None


@runtime_checkable
class ChatModel(Protocol):
    """A chat LLM. ``json_schema`` is a hint: providers that cannot enforce it ignore it."""

    model_name: str

    def complete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None
    ) -> Completion: ...

    async def acomplete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None
    ) -> Completion: ...


@runtime_checkable
class Embedder(Protocol):
    """Text to unit-length float32 vectors; ``name`` and ``dim`` identify the vector space."""

    name: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    async def aembed(self, texts: Sequence[str]) -> np.ndarray: ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class ForeignEmbedder:
    """Base for adapters around another framework's embedding model (LangChain, LlamaIndex, ...).

    Subclasses provide ``_embed_batch`` / ``_aembed_batch`` (lists of float lists); this class checks
    shapes and finite values, normalises, and learns ``dim`` from the first answer (or one probe).
    """

    name: str

    def __init__(self, *, name: str, dim: int | None = None) -> None:
        if dim is not None and (not isinstance(dim, int) or dim < 1):
            raise ValueError("dim must be a positive integer")
        self.name = name
        self._dim = dim
        self._lock = threading.Lock()

    def _embed_batch(self, texts: list[str]) -> Any:
        raise NotImplementedError

    async def _aembed_batch(self, texts: list[str]) -> Any:
        raise NotImplementedError

    def _probe(self) -> Any:
        """One vector, to learn the dimension; a batch of one by default."""
        return self._embed_batch(["dimension probe"])

    @property
    def dim(self) -> int:
        if self._dim is None:
            with self._lock:
                if self._dim is None:
                    self._check(self._probe(), 1)
        assert self._dim is not None
        return self._dim

    def _check(self, vectors: Any, count: int) -> np.ndarray:
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != count or array.shape[1] < 1:
            raise ValueError(f"{self.name}: expected {count} vectors, got an array of shape {array.shape}")
        if self._dim is None:
            self._dim = int(array.shape[1])
        elif array.shape[1] != self._dim:
            raise ValueError(f"{self.name}: vectors have {array.shape[1]} dimensions, expected {self._dim}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{self.name}: the model returned non-finite values")
        return normalize(array)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._check(self._embed_batch(texts), len(texts))

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._check(await self._aembed_batch(texts), len(texts))
