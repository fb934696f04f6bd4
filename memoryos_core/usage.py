"""Accounting of every LLM and embedding call: counts and tokens per operation kind."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal

CallKind = Literal["llm", "embedding"]


@dataclass(frozen=True)
class CallEvent:
    """One model call, as passed to ``on_call`` hooks."""

    kind: CallKind
    purpose: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    ok: bool
    error: str | None = None
    items: int = 1


@dataclass
class _Bucket:
    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    items: int = 0
    seconds: float = 0.0


@dataclass
class UsageTracker:
    """Thread-safe counters, keyed by ``kind:purpose`` (e.g. ``llm:consolidate``)."""

    on_call: Callable[[CallEvent], None] | None = None
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, event: CallEvent) -> None:
        with self._lock:
            bucket = self._buckets.setdefault(f"{event.kind}:{event.purpose}", _Bucket())
            bucket.calls += 1
            bucket.failures += 0 if event.ok else 1
            bucket.prompt_tokens += event.prompt_tokens
            bucket.completion_tokens += event.completion_tokens
            bucket.items += event.items
            bucket.seconds += event.seconds
        if self.on_call is not None:
            try:
                self.on_call(event)
            except Exception:  # an observer must never break memory work
                pass

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out = {key: dict(vars(b)) for key, b in self._buckets.items()}
        totals = {"llm_calls": 0, "embedding_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
        for key, b in out.items():
            totals["llm_calls" if key.startswith("llm:") else "embedding_calls"] += int(b["calls"])
            totals["prompt_tokens"] += int(b["prompt_tokens"])
            totals["completion_tokens"] += int(b["completion_tokens"])
        return {"by_operation": out, "totals": totals}


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


#: Where a provider reports each HTTP attempt of the call being metered (set by the metering wrapper).
_attempt_sink: ContextVar["Callable[[float, Any, BaseException | None], None] | None"] = ContextVar(
    "memoryos_attempt_sink", default=None)


def report_attempt(seconds: float, *, usage: Any = None, error: BaseException | None = None) -> None:
    """Called by providers once per HTTP attempt (retries and time-outs included)."""
    sink = _attempt_sink.get()
    if sink is not None:
        sink(seconds, usage, error)


@contextmanager
def collect_attempts(sink: "Callable[[float, Any, BaseException | None], None]") -> Iterator[None]:
    """Route the attempts reported inside this block (same thread or task) to ``sink``."""
    token = _attempt_sink.set(sink)
    try:
        yield
    finally:
        _attempt_sink.reset(token)
