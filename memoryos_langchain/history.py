"""``BaseChatMessageHistory`` over MemoryOS pages.

A page is one exchange (user input + assistant response). ``messages`` renders the newest pages
(the core's short-term window) as HumanMessage/AIMessage pairs; ``add_messages`` turns messages
back into pages with ``Memoryos.add_memory``.

Pairing, and why nothing is lost across restarts:

* A human message and the AI text that follows it become one page.
* A human message whose answer has not arrived yet is stored *at once* as a one-sided page
  (``user_input`` only). While it is the newest page of the user, the next AI text completes it
  in place (the core's ``TurnPairing``: ``Memoryos.complete_page``, one transaction, recorded in
  history). A second human message simply becomes the next page, so the first stays one-sided.
  Nothing waits in process memory.
* AI text with no open human message (a greeting, a follow-up) becomes a one-sided page.
* Several AI messages answering one human message (text before and after tool calls) are joined.
* Tool-call requests without text and tool results are intermediate steps: skipped by default,
  or appended to the assistant side with ``include_tool_messages=True``.
* System messages are instructions, not conversation: never stored (they would otherwise come
  back as remembered "conversation" in later prompts).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from memoryos_core import Memoryos, Page
from memoryos_core.turns import TurnPairing

from ._common import message_text

_HUMAN_ROLES = {"user", "human"}
_AI_ROLES = {"assistant", "ai"}


def pages_to_messages(pages: Sequence[Page]) -> list[BaseMessage]:
    """Pages in conversation order as messages; a one-sided page gives one message."""
    out: list[BaseMessage] = []
    for page in pages:
        if page.user_input:
            out.append(HumanMessage(content=page.user_input, id=f"{page.id}-human"))
        if page.agent_response:
            out.append(AIMessage(content=page.agent_response, id=f"{page.id}-ai"))
    return out


def _kind(message: BaseMessage) -> str:
    if isinstance(message, HumanMessage):
        return "human"
    if isinstance(message, AIMessage):
        return "ai"
    if isinstance(message, (ToolMessage, FunctionMessage)):
        return "tool"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ChatMessage):
        role = message.role.lower()
        return "human" if role in _HUMAN_ROLES else "ai" if role in _AI_ROLES else "system" if role == "system" else "other"
    return "other"


@dataclass
class _Turn:
    human: str | None  # None: continues the newest stored page (or stands alone)
    answers: list[str] = field(default_factory=list)


@dataclass
class WritePlan:
    """What ``add_messages`` will write: text completing the open page, then new pages in order."""

    completion: str | None
    pages: list[tuple[str, str]]


def plan_pages(messages: Sequence[BaseMessage], *, include_tool_messages: bool = False) -> tuple[list[_Turn], int]:
    """Group messages into turns; returns the turns and how many messages were skipped."""
    turns: list[_Turn] = []
    skipped = 0
    for message in messages:
        kind = _kind(message)
        if kind == "human":
            text = message_text(message)
            if text:
                turns.append(_Turn(human=text))
            else:
                skipped += 1
            continue
        if kind == "ai":
            text = message_text(message)
        elif kind == "tool" and include_tool_messages:
            name = getattr(message, "name", None) or getattr(message, "tool_call_id", None) or "tool"
            text = f"[tool {name}] {message_text(message)}".strip()
        else:  # system, other, or tool results not wanted
            skipped += 1
            continue
        if not text:  # a tool-call request without text
            skipped += 1
            continue
        if not turns:
            turns.append(_Turn(human=None))
        turns[-1].answers.append(text)
    return turns, skipped


class MemoryOSChatMessageHistory(BaseChatMessageHistory):
    """Chat history of one MemoryOS user (one ``Memoryos`` = one user and assistant).

    Args:
        memory: the user's memory.
        window: how many pages ``messages`` returns (default: the short-term capacity, 10).
        include_tool_messages: append tool results to the assistant side of the page.
        meta_data: stored with every page this history writes (default ``{"source": "langchain"}``).

    ``clear()`` erases everything of the user (``Memoryos.delete_all``), not only the window.
    """

    def __init__(self, memory: Memoryos, *, window: int | None = None, include_tool_messages: bool = False,
                 meta_data: dict[str, Any] | None = None) -> None:
        super().__init__()
        if not isinstance(memory, Memoryos):
            raise TypeError(f"memory must be a Memoryos, got {type(memory).__name__}")
        if window is not None and (not isinstance(window, int) or window < 1):
            raise ValueError("window must be a positive integer")
        self.memory = memory
        self.window = window or memory.config.short_term_capacity
        self.include_tool_messages = include_tool_messages
        self.meta_data = dict(meta_data) if meta_data is not None else {"source": "langchain"}
        self._pairing = TurnPairing(memory, self.meta_data)
        self._lock = threading.Lock()

    # -- reading -------------------------------------------------------------------------------

    def recent_pages(self, n: int | None = None) -> list[Page]:
        """The newest ``n`` pages (default: the window), oldest first, whatever their tier."""
        return self.memory.recent_pages(n or self.window)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return pages_to_messages(self.recent_pages())

    async def aget_messages(self) -> list[BaseMessage]:
        return pages_to_messages(await asyncio.to_thread(self.recent_pages))

    # -- writing -------------------------------------------------------------------------------

    def _plan(self, messages: Sequence[BaseMessage]) -> WritePlan:
        """The write plan: text answering the waiting page (when the first turn has no human message),
        then the pages to add."""
        turns, _ = plan_pages(messages, include_tool_messages=self.include_tool_messages)
        completion = None
        if turns and turns[0].human is None:
            completion = "\n\n".join(turns[0].answers)
            turns = turns[1:]
        return WritePlan(completion=completion, pages=[(t.human or "", "\n\n".join(t.answers)) for t in turns])

    def _answer_waiting(self, answer: str) -> None:
        """Complete the newest page when it waits for its answer; else keep the answer as its own page."""
        waiting = self._pairing.waiting_page()
        self._pairing.store_answer(waiting.id if waiting is not None else None, answer)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        plan = self._plan(messages)
        with self._lock:
            if plan.completion is not None:
                self._answer_waiting(plan.completion)
            for user_input, agent_response in plan.pages:
                self.memory.add_memory(user_input, agent_response, meta_data=self.meta_data)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        plan = self._plan(messages)
        if plan.completion is not None:
            await asyncio.to_thread(self._answer_waiting, plan.completion)
        for user_input, agent_response in plan.pages:
            await self.memory.aadd_memory(user_input, agent_response, meta_data=self.meta_data)

    def clear(self) -> None:
        """Erase everything of this user: every page, fact, profile field and history entry."""
        with self._lock:
            self.memory.delete_all()

    async def aclear(self) -> None:
        await asyncio.to_thread(self.clear)

    def __repr__(self) -> str:
        return f"MemoryOSChatMessageHistory(user_id={self.memory.user_id!r}, window={self.window})"
