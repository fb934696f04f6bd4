"""Wrappers that count every model call (tokens, time, failures) into a UsageTracker."""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from ..usage import CallEvent, UsageTracker
from .base import ChatMessage, ChatModel, Completion, Embedder


class MeteredChatModel:
    def __init__(self, inner: ChatModel, tracker: UsageTracker) -> None:
        self.inner = inner
        self.tracker = tracker
        self.model_name = getattr(inner, "model_name", type(inner).__name__)

    def _record(self, purpose: str, start: float, result: Completion | None, error: Exception | None) -> None:
        self.tracker.record(CallEvent(
            kind="llm", purpose=purpose, model=self.model_name,
            prompt_tokens=result.prompt_tokens if result else 0,
            completion_tokens=result.completion_tokens if result else 0,
            seconds=time.perf_counter() - start, ok=error is None, error=str(error) if error else None))

    def complete(self, messages: Sequence[ChatMessage], *, purpose: str, json_schema: dict[str, Any] | None = None) -> Completion:
        start = time.perf_counter()
        try:
            result = self.inner.complete(messages, json_schema=json_schema)
        except Exception as exc:
            self._record(purpose, start, None, exc)
            raise
        self._record(purpose, start, result, None)
        return result

    async def acomplete(self, messages: Sequence[ChatMessage], *, purpose: str,
                        json_schema: dict[str, Any] | None = None) -> Completion:
        start = time.perf_counter()
        try:
            result = await self.inner.acomplete(messages, json_schema=json_schema)
        except Exception as exc:
            self._record(purpose, start, None, exc)
            raise
        self._record(purpose, start, result, None)
        return result


class MeteredEmbedder:
    def __init__(self, inner: Embedder, tracker: UsageTracker) -> None:
        self.inner = inner
        self.tracker = tracker
        self.name = inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _record(self, purpose: str, start: float, count: int, error: Exception | None) -> None:
        self.tracker.record(CallEvent(kind="embedding", purpose=purpose, model=self.name, prompt_tokens=0,
                                      completion_tokens=0, seconds=time.perf_counter() - start, ok=error is None,
                                      error=str(error) if error else None, items=count))

    def embed(self, texts: Sequence[str], *, purpose: str) -> np.ndarray:
        start = time.perf_counter()
        try:
            out = self.inner.embed(list(texts))
        except Exception as exc:
            self._record(purpose, start, len(texts), exc)
            raise
        self._record(purpose, start, len(texts), None)
        return out

    async def aembed(self, texts: Sequence[str], *, purpose: str) -> np.ndarray:
        start = time.perf_counter()
        try:
            out = await self.inner.aembed(list(texts))
        except Exception as exc:
            self._record(purpose, start, len(texts), exc)
            raise
        self._record(purpose, start, len(texts), None)
        return out
