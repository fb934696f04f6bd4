"""Helpers shared by the retrieval tests: a small synchronous memory and scripted conversations."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from memoryos_core import HashingEmbedder, Memoryos
from memoryos_core.types import Page

T0 = 1_600_000_000.0  # September 2020: long before "now", so the conversation is not live
DAY = 86400.0


def make(path: Path, **kwargs: Any) -> Memoryos:
    kwargs.setdefault("embedder", HashingEmbedder(512))
    kwargs.setdefault("background", False)
    return Memoryos(user_id="ann", data_storage_path=path, **kwargs)


def chat(memory: Memoryos, n: int, start: float, topic: str = "weather") -> None:
    for i in range(n):
        memory.add_memory(f"Ann: Let's talk about the {topic} once more, take {i}.", f"Bob: Sure, {topic} again ({i}).",
                          timestamp=start + 60 * i)


def day(y: int, m: int, d: int) -> float:
    return datetime(y, m, d, tzinfo=timezone.utc).timestamp()


def page(user: str, assistant: str) -> Page:
    return Page(id="p", user_input=user, agent_response=assistant, timestamp=T0, tier="mid", segment_id=None,
                meta={}, created_at=T0, seq=1)
