"""Shared plumbing of the LangChain adapters: which memory serves a call, and message text.

Nothing here decides what to remember or how to rank it; that is the core's job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.messages import BaseMessage

from memoryos_core import Memoryos

MemoryFactory = Callable[[str], Memoryos]


class MemoryResolver:
    """One fixed memory, or a factory ``user_id -> Memoryos`` looked up by a key of the run.

    The user id is read from the runtime context (a mapping or an object with that attribute)
    and then from ``config["configurable"]``. Factory results are cached per user id, so a plain
    ``lambda uid: Memoryos(uid, ...)`` opens each user's memory once.
    """

    def __init__(self, memory: Memoryos | MemoryFactory, user_id_key: str = "user_id", owner: str = "adapter") -> None:
        if isinstance(memory, Memoryos):
            self.memory: Memoryos | None = memory
            self.factory: MemoryFactory | None = None
        elif callable(memory):
            self.memory, self.factory = None, memory
        else:
            raise TypeError(f"{owner} needs a Memoryos or a callable user_id -> Memoryos, got {type(memory).__name__}")
        if not isinstance(user_id_key, str) or not user_id_key:
            raise ValueError("user_id_key must be a non-empty string")
        self.user_id_key = user_id_key
        self.owner = owner
        self._cache: dict[str, Memoryos] = {}
        self._lock = threading.Lock()

    def user_id_from(self, config: Mapping[str, Any] | None = None, context: Any = None) -> str | None:
        key = self.user_id_key
        if context is not None:
            value = context.get(key) if isinstance(context, Mapping) else getattr(context, key, None)
            if value:
                return str(value)
        configurable = (config or {}).get("configurable") or {}
        value = configurable.get(key)
        return str(value) if value else None

    def resolve(self, config: Mapping[str, Any] | None = None, context: Any = None) -> Memoryos:
        if self.memory is not None:
            return self.memory
        user_id = self.user_id_from(config, context)
        if user_id is None:
            raise ValueError(
                f"{self.owner} was given a memory factory but found no user id: pass it as "
                f"config={{'configurable': {{'{self.user_id_key}': ...}}}} or in the runtime context "
                f"(context={{'{self.user_id_key}': ...}}), or give a single Memoryos instead of a factory")
        with self._lock:
            memory = self._cache.get(user_id)
            if memory is None:
                assert self.factory is not None
                memory = self.factory(user_id)
                if not isinstance(memory, Memoryos):
                    raise TypeError(f"the memory factory returned {type(memory).__name__}, not a Memoryos")
                self._cache[user_id] = memory
            return memory

    def cached(self) -> dict[str, Memoryos]:
        with self._lock:
            return dict(self._cache)

    def close(self) -> None:
        """Close the memories this resolver opened through the factory (a given memory stays open)."""
        with self._lock:
            memories, self._cache = list(self._cache.values()), {}
        for memory in memories:
            memory.close()


def message_text(message: BaseMessage) -> str:
    """The text of a message; non-text content blocks (images, files, ...) become a short marker."""
    text = message.text.strip()
    if text:
        return text
    content = message.content
    if isinstance(content, list):
        kinds = [block.get("type", "block") for block in content if isinstance(block, dict) and block.get("type") != "text"]
        if kinds:
            return f"[{', '.join(kinds)} content]"
    return ""
