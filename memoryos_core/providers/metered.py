"""Wrappers that count every model call (tokens, time, failures) into a UsageTracker: every HTTP
attempt, retries and time-outs included, when the provider reports them."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from ..usage import CallEvent, CallKind, UsageTracker, collect_attempts
from .base import ChatMessage, ChatModel, Completion, Embedder


class _Meter:
    """Records calls of one model: one event per HTTP attempt when the provider reports attempts
    (our OpenAI-compatible providers do), else one event per call."""

    def __init__(self, tracker: UsageTracker, kind: CallKind, model: str) -> None:
        self.tracker, self.kind, self.model = tracker, kind, model

    def _event(self, purpose: str, seconds: float, prompt_tokens: int, completion_tokens: int,
               error: BaseException | None, items: int) -> CallEvent:
        return CallEvent(kind=self.kind, purpose=purpose, model=self.model, prompt_tokens=prompt_tokens,
                         completion_tokens=completion_tokens, seconds=seconds, ok=error is None,
                         error=str(error) if error else None, items=items)

    @contextmanager
    def call(self, purpose: str, items: int = 1) -> Iterator[list[Any]]:
        """Meter the block; append the call's result (a Completion, or None) to the yielded list."""
        attempts = 0
        start = time.perf_counter()

        def on_attempt(seconds: float, usage: Any, error: BaseException | None) -> None:
            nonlocal attempts
            attempts += 1
            self.tracker.record(self._event(purpose, seconds, int(getattr(usage, "prompt_tokens", 0) or 0),
                                            int(getattr(usage, "completion_tokens", 0) or 0), error, items))

        outcome: list[Any] = []
        try:
            with collect_attempts(on_attempt):
                yield outcome
        except Exception as exc:
            if not attempts:
                self.tracker.record(self._event(purpose, time.perf_counter() - start, 0, 0, exc, items))
            raise
        if not attempts:
            result = outcome[0] if outcome else None
            self.tracker.record(self._event(purpose, time.perf_counter() - start,
                                            getattr(result, "prompt_tokens", 0), getattr(result, "completion_tokens", 0),
                                            None, items))


class MeteredChatModel:
    def __init__(self, inner: ChatModel, tracker: UsageTracker) -> None:
        self.inner = inner
        self.tracker = tracker
        self.model_name = getattr(inner, "model_name", type(inner).__name__)
        self._meter = _Meter(tracker, "llm", self.model_name)

    def complete(self, messages: Sequence[ChatMessage], *, purpose: str, json_schema: dict[str, Any] | None = None) -> Completion:
        with self._meter.call(purpose) as outcome:
            outcome.append(self.inner.complete(messages, json_schema=json_schema))
        return outcome[0]

    async def acomplete(self, messages: Sequence[ChatMessage], *, purpose: str,
                        json_schema: dict[str, Any] | None = None) -> Completion:
        with self._meter.call(purpose) as outcome:
            outcome.append(await self.inner.acomplete(messages, json_schema=json_schema))
        return outcome[0]


class MeteredEmbedder:
    def __init__(self, inner: Embedder, tracker: UsageTracker) -> None:
        self.inner = inner
        self.tracker = tracker
        self.name = inner.name
        self._meter = _Meter(tracker, "embedding", self.name)

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str], *, purpose: str) -> np.ndarray:
        with self._meter.call(purpose, items=len(texts)) as outcome:
            outcome.append(self.inner.embed(list(texts)))
        return outcome[0]

    async def aembed(self, texts: Sequence[str], *, purpose: str) -> np.ndarray:
        with self._meter.call(purpose, items=len(texts)) as outcome:
            outcome.append(await self.inner.aembed(list(texts)))
        return outcome[0]
