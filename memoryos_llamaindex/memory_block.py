"""``MemoryOSMemoryBlock``: MemoryOS as one block of LlamaIndex's ``Memory``.

``Memory`` keeps the recent messages itself (a FIFO in its chat store) and hands the messages it
flushes out of that FIFO to its blocks. This block stores them as MemoryOS pages and, on every
``get``, renders the MemoryOS context (profile, knowledge, relevant and recent pages) for the
latest user message. Because the block only ever sees messages that already left the FIFO, its
"recent" pages are older than the chat history ``Memory`` shows, so nothing is duplicated.
"""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.utils import get_tokenizer

from memoryos_core import Memoryos
from memoryos_core.prompts import fence_memory

from ._build import resolve_memoryos
from ._convert import group_turns, message_text, role_of, turn_answer

#: Smallest budget worth a retrieval when ``Memory`` asks the block to shrink.
MIN_BLOCK_TOKENS = 48


class MemoryOSMemoryBlock(BaseMemoryBlock[str]):
    """A ``BaseMemoryBlock`` backed by MemoryOS.

    ``Memory.from_defaults(memory_blocks=[MemoryOSMemoryBlock(memoryos=m)], insert_method=InsertMethod.USER)``
    adds MemoryOS next to other blocks. ``priority`` defaults to 1 so ``Memory`` may shrink the block
    when over its token limit; the block then asks MemoryOS for the same query with a smaller budget.
    """

    name: str = Field(default="memoryos", description="The name of the memory block.")
    description: Optional[str] = Field(
        default="Long-term memory of this user (MemoryOS): profile, known facts, relevant past exchanges.")
    priority: int = Field(default=1, description="0 = never truncate; MemoryOS can shrink its context, so 1.")
    max_context_tokens: Optional[int] = Field(default=None, gt=0,
                                              description="Budget of the rendered context; default: the Memoryos setting.")
    record_visits: bool = Field(default=True, description="Whether a retrieval heats the segments it used.")
    max_tool_output_chars: int = Field(default=1000, gt=0,
                                       description="Tool arguments and results longer than this are clipped in the stored answer.")

    _memoryos: Memoryos = PrivateAttr()
    _owns_memoryos: bool = PrivateAttr(default=False)
    _last: dict = PrivateAttr(default_factory=dict)
    _tokenizer: Any = PrivateAttr(default=None)

    def __init__(self, memoryos: Memoryos | None = None, **kwargs: Any) -> None:
        fields = {k: v for k, v in kwargs.items() if k in type(self).model_fields}
        core = {k: v for k, v in kwargs.items() if k not in fields}
        super().__init__(**fields)
        self._memoryos, self._owns_memoryos = resolve_memoryos(memoryos, core, "MemoryOSMemoryBlock")
        self._tokenizer = get_tokenizer()

    @property
    def memoryos(self) -> Memoryos:
        return self._memoryos

    @staticmethod
    def _query(messages: Optional[List[ChatMessage]]) -> str | None:
        for message in reversed(messages or []):
            if role_of(message) == "user":
                text = message_text(message)
                if text.strip():
                    return text
        return None

    def _render(self, context: str) -> str:
        if not context.strip():
            return ""
        # ``Memory`` puts a block inside <memory><name> tags of its own: those are the fence
        return fence_memory(context, enclosing=(self.name,), add_tags=False)

    async def _retrieve(self, query: str, budget: int, record_visits: bool) -> str:
        result = await self._memoryos.aretrieve(query, max_context_tokens=budget, record_visits=record_visits)
        return self._render(result.context)

    async def _aget(self, messages: Optional[List[ChatMessage]] = None, **block_kwargs: Any) -> str:
        """The MemoryOS context for the latest user message ("" when there is none)."""
        query = self._query(messages)
        if query is None:
            return ""
        budget = self.max_context_tokens or self._memoryos.config.max_context_tokens
        text = await self._retrieve(query, budget, self.record_visits)
        self._last = {"text": text, "query": query}
        return text

    async def atruncate(self, content: str, tokens_to_truncate: int) -> Optional[str]:
        """Ask MemoryOS for the same query with a smaller budget (None when too little is left)."""
        if not content or self._last.get("text") != content:
            return None
        target = len(self._tokenizer(content)) - max(0, tokens_to_truncate) - len(self._tokenizer(fence_memory(" ", add_tags=False)))
        if target < MIN_BLOCK_TOKENS:
            return None
        text = await self._retrieve(self._last["query"], target, False)
        return text or None

    async def _aput(self, messages: List[ChatMessage]) -> None:
        """Store messages flushed out of ``Memory``'s FIFO as pages, one per turn."""
        await asyncio.to_thread(self._put_sync, list(messages))

    def _put_sync(self, messages: List[ChatMessage]) -> None:
        _systems, turns = group_turns(messages)  # system messages are instructions, not memories
        for turn in turns:
            user = turn.user_text
            answer = turn_answer(turn, max_tool_chars=self.max_tool_output_chars)
            if user.strip() or answer.strip():
                self._memoryos.add_memory(user, answer, meta_data={"source": "llamaindex"})

    def close(self) -> None:
        """Close the ``Memoryos`` if this block built it."""
        if self._owns_memoryos:
            self._memoryos.close()
