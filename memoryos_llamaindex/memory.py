"""``MemoryOSMemory``: MemoryOS as the ``memory=`` of LlamaIndex chat engines and agents.

``get()`` returns, in this order: system messages that were ``put`` (instructions, kept as they
came), one *user-role* message with the long-term context MemoryOS retrieved for the current input
(fenced as reference data), the recent window (the newest pages as user/assistant messages), and
the messages of the turn in progress. ``put()`` stores each user message at once as a one-sided
page and completes it with the answer. See docs/llamaindex.md for the reasoning behind each choice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Union

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms.llm import LLM
from llama_index.core.memory.types import BaseMemory
from llama_index.core.utils import get_tokenizer

from memoryos_core import Memoryos
from memoryos_core.retrieval import render_context
from memoryos_core.turns import TurnPairing
from memoryos_core.types import Page, RetrievalResult

from ._build import resolve_memoryos
from ._convert import (
    Turn,
    closes_turn,
    context_message,
    copy_message,
    group_turns,
    is_context_message,
    message_text,
    page_messages,
    prepend_context,
    role_of,
    strip_context,
    turn_answer,
    turn_is_closed,
)

DEFAULT_TOKEN_LIMIT = 4000
DEFAULT_TOKEN_LIMIT_RATIO = 0.75
#: Below this many tokens a long-term context is not worth a retrieval.
MIN_CONTEXT_TOKENS = 64
#: Tokens of the fence and note around the context (measured with cl100k, rounded up).
CONTEXT_OVERHEAD_TOKENS = 60
_PAGE_CHUNK = 500
SOURCE_META = {"source": "llamaindex"}


@dataclass
class _OpenTurn:
    """The turn in progress: its user message (already stored as page ``page_id``) and the
    assistant/tool messages received since, held until the answer closes the turn."""

    page_id: str | None
    user: ChatMessage | None
    responses: list[ChatMessage] = field(default_factory=list)

    def as_turn(self) -> Turn:
        return Turn(user=self.user, responses=list(self.responses))

    @property
    def messages(self) -> list[ChatMessage]:
        return ([self.user] if self.user is not None else []) + list(self.responses)


def _extends(turn: Turn, prefix: Turn) -> bool:
    """Whether ``turn`` starts with the messages of ``prefix`` (same roles and texts)."""
    a, b = turn.messages, prefix.messages
    return len(b) <= len(a) and all(role_of(x) == role_of(y) and message_text(x) == message_text(y)
                                    for x, y in zip(a, b))


@dataclass
class _Plan:
    """What one ``get`` call needs, captured under the lock."""

    systems: list[ChatMessage]
    pending: list[ChatMessage]
    pending_page: str | None
    query: str | None
    record_visits: bool
    remaining: int
    context_budget: int
    window_after: int


class MemoryOSMemory(BaseMemory):
    """MemoryOS behind LlamaIndex's ``BaseMemory`` interface.

    Build it around an existing ``Memoryos`` (``MemoryOSMemory(memoryos=m)``) or from the
    arguments of one (``MemoryOSMemory(user_id="alice", data_storage_path="./mem")``; a
    LlamaIndex ``memory_llm=`` / ``embed_model=`` is wrapped for the core). A memory built from
    arguments owns its ``Memoryos`` and closes it in :meth:`close`.

    Turns and pages: a user message is stored at once as a one-sided page, so an unanswered
    message is never only in process memory. Assistant messages that call tools and tool results
    join the turn; an assistant message without tool calls is the answer and completes the page
    (``Memoryos.complete_page``, atomic). The stored answer is what the assistant said, followed by
    a ``[tools used]`` record of each tool call and its (clipped) result. A second user message
    leaves the first one-sided; the same text again is taken as a retry of the unanswered message;
    an assistant message with no user message before it becomes a one-sided page. After a restart,
    the next answer completes the newest page if it is still unanswered.
    """

    token_limit: int = Field(default=DEFAULT_TOKEN_LIMIT, gt=0,
                             description="Token budget of everything get() returns (minus the engine's initial count).")
    max_context_tokens: Optional[int] = Field(default=None, gt=0,
                                              description="Cap of the long-term context; default: the Memoryos setting.")
    context_share: float = Field(default=0.5, gt=0, le=1,
                                 description="Largest share of the available budget the long-term context may use.")
    max_tool_output_chars: int = Field(default=1000, gt=0,
                                       description="Tool arguments and results longer than this are clipped in the stored answer.")
    separate_context_message: bool = Field(
        default=True,
        description="True: the memory context is its own user message. False: it is prepended (as a first "
                    "content block) to the next user message, for providers that require strictly alternating roles.")
    tokenizer_fn: Callable[[str], List] = Field(default_factory=get_tokenizer, exclude=True)

    _memoryos: Memoryos = PrivateAttr()
    _owns_memoryos: bool = PrivateAttr(default=False)
    _lock: Any = PrivateAttr(default_factory=threading.RLock)
    _pairing: TurnPairing = PrivateAttr()
    _open: Optional[_OpenTurn] = PrivateAttr(default=None)
    _systems: list = PrivateAttr(default_factory=list)
    _window_after: int = PrivateAttr(default=0)
    _visited: set = PrivateAttr(default_factory=set)

    def __init__(self, memoryos: Memoryos | None = None, **kwargs: Any) -> None:
        fields = {k: v for k, v in kwargs.items() if k in type(self).model_fields}
        core = {k: v for k, v in kwargs.items() if k not in fields}
        if fields.get("tokenizer_fn") is None:
            fields.pop("tokenizer_fn", None)
        super().__init__(**fields)
        self._memoryos, self._owns_memoryos = resolve_memoryos(memoryos, core, "MemoryOSMemory")
        self._pairing = TurnPairing(self._memoryos, SOURCE_META)

    @classmethod
    def class_name(cls) -> str:
        return "MemoryOSMemory"

    @classmethod
    def from_defaults(  # type: ignore[override]
        cls,
        memoryos: Memoryos | None = None,
        *,
        chat_history: Optional[List[ChatMessage]] = None,
        llm: Optional[LLM] = None,
        token_limit: Optional[int] = None,
        tokenizer_fn: Optional[Callable[[str], List]] = None,
        max_context_tokens: Optional[int] = None,
        **memoryos_kwargs: Any,
    ) -> "MemoryOSMemory":
        """LlamaIndex-style factory.

        ``llm`` sizes ``token_limit`` (75% of its context window) as ``ChatMemoryBuffer`` does; it is
        *not* given to MemoryOS. Pass ``memory_llm=`` (a LlamaIndex LLM or a core ``ChatModel``) to let
        MemoryOS use a model for consolidation and persona updates, ``embed_model=`` for its vectors,
        and any other ``Memoryos`` argument (``user_id``, ``data_storage_path``, ``background``, ...).
        ``chat_history`` is loaded with :meth:`set`.
        """
        if token_limit is None:
            token_limit = (int(llm.metadata.context_window * DEFAULT_TOKEN_LIMIT_RATIO) if llm is not None
                           else DEFAULT_TOKEN_LIMIT)
        memory = cls(memoryos, token_limit=token_limit, tokenizer_fn=tokenizer_fn,
                     max_context_tokens=max_context_tokens, **memoryos_kwargs)
        if chat_history:
            memory.set(chat_history)
        return memory

    @property
    def memoryos(self) -> Memoryos:
        """The underlying ``Memoryos`` (profile, knowledge, management verbs)."""
        return self._memoryos

    # -- writing ----------------------------------------------------------------------------

    def put(self, message: ChatMessage) -> None:
        with self._lock:
            self._put_locked(message)

    def put_messages(self, messages: List[ChatMessage]) -> None:
        with self._lock:
            for message in messages:
                self._put_locked(message)

    async def aput(self, message: ChatMessage) -> None:
        await asyncio.to_thread(self.put, message)

    async def aput_messages(self, messages: List[ChatMessage]) -> None:
        await asyncio.to_thread(self.put_messages, messages)

    def _put_locked(self, message: ChatMessage) -> None:
        role = role_of(message)
        if role == "system":
            self._systems.append(copy_message(message))
            return
        if is_context_message(message):  # our own context handed back: not conversation
            return
        message = strip_context(message)
        if role == "user":
            self._put_user(message)
            return
        if self._open is None:
            self._open = self._adopt_unanswered(None) or _OpenTurn(page_id=None, user=None)
        self._open.responses.append(copy_message(message))
        if closes_turn(message):
            self._close_open()

    def _put_user(self, message: ChatMessage) -> None:
        text = message_text(message)
        current = self._open
        if current is not None:
            if current.user is not None and not current.responses and message_text(current.user) == text:
                current.user = copy_message(message)  # a retry of the unanswered message
                return
            self._close_open()
        self._visited.clear()
        adopted = self._adopt_unanswered(text)  # the same message again after a restart
        if adopted is not None:
            adopted.user = copy_message(message)
            self._open = adopted
            return
        self._open = _OpenTurn(page_id=self._store_user(text), user=copy_message(message))

    def _store_user(self, text: str) -> str | None:
        page = self._pairing.store_question(text, timestamp=time.time())
        return page.id if page is not None else None

    def _adopt_unanswered(self, user_text: str | None) -> _OpenTurn | None:
        """The newest page, if it is unanswered and newer than the window start (and, for a user
        message, has the same text): a turn left open by an earlier process."""
        page = self._pairing.waiting_page(after_seq=self._window_after, question=user_text)
        if page is None:
            return None
        return _OpenTurn(page_id=page.id, user=ChatMessage(role=MessageRole.USER, content=page.user_input))

    def _close_open(self) -> None:
        """Store the answer of the turn in progress (if any arrived). On failure the turn stays open."""
        current = self._open
        if current is None:
            return
        if current.responses:
            answer = turn_answer(current.as_turn(), max_tool_chars=self.max_tool_output_chars)
            if answer.strip():
                self._pairing.store_answer(current.page_id, answer, timestamp=time.time())
        self._open = None

    def _write_turn(self, turn: Turn) -> Page | None:
        """Store a finished turn as one page (used by set())."""
        user = turn.user_text
        answer = turn_answer(turn, max_tool_chars=self.max_tool_output_chars)
        if not user.strip() and not answer.strip():
            return None
        return self._memoryos.add_memory(user, answer, timestamp=time.time(), meta_data=dict(SOURCE_META))

    def flush_pending(self) -> None:
        """Store the answer part of the turn in progress now (tool results without a final answer).
        The user message itself is already stored."""
        with self._lock:
            self._close_open()

    def set(self, messages: List[ChatMessage]) -> None:
        """Make ``messages`` the conversation of this memory.

        Turns of ``messages`` that are already the newest pages (an application handing the same
        growing history back on every call) are not stored again; the others are stored as pages.
        The window then starts at the first of these turns, a trailing unanswered turn becomes the
        turn in progress, and system messages replace the ones held. Long-term memory is never
        deleted.
        """
        systems, turns = group_turns(messages)
        stored_text = self._memoryos.stored_text  # pages hold long text as the core clipped it
        with self._lock:
            current = self._open
            if current is not None and any(_extends(t, current.as_turn()) for t in turns):
                self._open = None  # the new history carries the turn in progress
            else:
                self._close_open()
            last_open = turns[-1] if turns and not turn_is_closed(turns[-1]) else None
            headless = last_open is not None and not last_open.user_text.strip()
            stored_turns = turns[:-1] if headless else turns
            wanted = [(stored_text(t.user_text),
                       "" if t is last_open else stored_text(turn_answer(t, max_tool_chars=self.max_tool_output_chars)))
                      for t in stored_turns]
            stored = self._memoryos.recent_pages(len(wanted)) if wanted else []
            overlap = 0
            for m in range(min(len(stored), len(wanted)), 0, -1):
                if [(p.user_input, p.agent_response) for p in stored[-m:]] == wanted[:m]:
                    overlap = m
                    break
            self._window_after = stored[-overlap].seq - 1 if overlap else self._latest_seq()
            open_page: str | None = stored[-1].id if (last_open is not None and not headless
                                                      and overlap == len(wanted)) else None
            for turn in stored_turns[overlap:]:
                if turn is last_open:
                    open_page = self._store_user(turn.user_text)
                else:
                    self._write_turn(turn)
            self._open = None
            if last_open is not None:
                self._open = _OpenTurn(page_id=open_page,
                                       user=copy_message(last_open.user) if last_open.user is not None else None,
                                       responses=[copy_message(m) for m in last_open.responses])
            self._systems = [copy_message(m) for m in systems]
            self._visited.clear()

    def reset(self) -> None:
        """Start a new conversation: store what is pending, empty the window, drop held system messages.

        Long-term memory stays (the earlier pages remain retrievable); erase it with
        ``memory.memoryos.delete_all()``.
        """
        with self._lock:
            self._close_open()
            self._systems = []
            self._window_after = self._latest_seq()
            self._visited.clear()

    async def aset(self, messages: List[ChatMessage]) -> None:
        await asyncio.to_thread(self.set, messages)

    async def areset(self) -> None:
        await asyncio.to_thread(self.reset)

    # -- reading ----------------------------------------------------------------------------

    def _count(self, messages: Sequence[ChatMessage]) -> int:
        return sum(len(self.tokenizer_fn(message_text(m))) for m in messages)

    def _latest_seq(self) -> int:
        pages = self._memoryos.recent_pages(1)
        return pages[-1].seq if pages else 0

    def _plan(self, input: Any, initial_token_count: int) -> _Plan:
        with self._lock:
            systems = [copy_message(m) for m in self._systems]
            pending = [copy_message(m) for m in self._open.messages] if self._open is not None else []
            pending_page = self._open.page_id if self._open is not None else None
            if isinstance(input, ChatMessage):
                input = message_text(input)
            query = input if isinstance(input, str) and input.strip() else None
            if query is None:
                query = next((message_text(m) for m in reversed(pending)
                              if role_of(m) == "user" and message_text(m).strip()), None)
            record = query is not None and query not in self._visited
            if query is not None:
                self._visited.add(query)
            remaining = self.token_limit - max(0, int(initial_token_count or 0)) - self._count(systems + pending)
            cap = self.max_context_tokens or self._memoryos.config.max_context_tokens
            budget = min(cap, int(max(0, remaining) * self.context_share)) - CONTEXT_OVERHEAD_TOKENS
            return _Plan(systems, pending, pending_page, query, record, remaining, budget, self._window_after)

    def _fallback_query(self, plan: _Plan, short: list[Page]) -> str | None:
        """With no input and nothing pending: the newest user message of the window."""
        for page in reversed(short):
            if page.seq > plan.window_after and page.id != plan.pending_page and page.user_input.strip():
                return page.user_input
        return None

    def _assemble(self, plan: _Plan, short: list[Page], result: RetrievalResult | None) -> List[ChatMessage]:
        context = result.context if result is not None else ""
        window = [p for p in short if p.seq > plan.window_after and p.id != plan.pending_page]
        budget = plan.remaining
        ctx_tokens = self._count([context_message(context)]) if context.strip() else 0
        chosen: list[tuple[Page, list[ChatMessage]]] = []
        used = 0
        for page in reversed(window):  # newest first under pressure
            msgs = page_messages(page)
            cost = self._count(msgs)
            if used + cost > budget - ctx_tokens:
                break
            chosen.append((page, msgs))
            used += cost
        chosen.reverse()
        conversation = [m for _, msgs in chosen for m in msgs] + plan.pending
        if context.strip() and result is not None:  # recent pages shown as chat messages are not repeated
            shown = {p.id for p, _ in chosen} | ({plan.pending_page} if plan.pending_page else set())
            context = render_context(result.sections.without_recent(shown))
        if context.strip():
            block = context_message(context)
            first_user = next((i for i, m in enumerate(conversation) if role_of(m) == "user"), None)
            if self.separate_context_message or first_user is None:
                conversation.insert(0, block)
            else:
                conversation[first_user] = prepend_context(conversation[first_user], block)
        return list(plan.systems) + conversation

    def _retrieve_kwargs(self, plan: _Plan) -> dict[str, Any]:
        return {"max_context_tokens": plan.context_budget, "record_visits": plan.record_visits}

    def get(self, input: Optional[Union[str, ChatMessage]] = None, initial_token_count: int = 0,
            **kwargs: Any) -> List[ChatMessage]:
        """System messages, the long-term context for ``input``, the recent window, the turn in progress.

        ``input`` defaults to the user message in progress. Everything fits ``token_limit`` minus
        ``initial_token_count``; the turn in progress is always included.
        """
        plan = self._plan(input, initial_token_count)
        short = None
        if plan.query is None:
            short = self._memoryos.recent_pages()
            plan.query = self._fallback_query(plan, short)
            plan.record_visits = False
        result = None
        if plan.query is not None and plan.context_budget >= MIN_CONTEXT_TOKENS:
            result = self._memoryos.retrieve(plan.query, **self._retrieve_kwargs(plan))
            short = result.short_term
        if short is None:
            short = self._memoryos.recent_pages()
        return self._assemble(plan, short, result)

    async def aget(self, input: Optional[Union[str, ChatMessage]] = None, initial_token_count: int = 0,
                   **kwargs: Any) -> List[ChatMessage]:
        plan = self._plan(input, initial_token_count)
        short = None
        if plan.query is None:
            short = await asyncio.to_thread(self._memoryos.recent_pages)
            plan.query = self._fallback_query(plan, short)
            plan.record_visits = False
        result = None
        if plan.query is not None and plan.context_budget >= MIN_CONTEXT_TOKENS:
            result = await self._memoryos.aretrieve(plan.query, **self._retrieve_kwargs(plan))
            short = result.short_term
        if short is None:
            short = await asyncio.to_thread(self._memoryos.recent_pages)
        return self._assemble(plan, short, result)

    def get_all(self) -> List[ChatMessage]:
        """The whole conversation of this memory: held system messages, every page since the last
        :meth:`reset` (all pages for a new memory object), then the turn in progress."""
        with self._lock:
            systems = [copy_message(m) for m in self._systems]
            current = self._open
            pending = [copy_message(m) for m in current.messages] if current is not None else []
            pending_page = current.page_id if current is not None else None
            after = self._window_after
        out = list(systems)
        offset = 0
        while True:
            pages = self._memoryos.list_memories(limit=_PAGE_CHUNK, offset=offset)
            for page in pages:
                if page.seq > after and page.id != pending_page:
                    out.extend(page_messages(page))
            if len(pages) < _PAGE_CHUNK:
                break
            offset += _PAGE_CHUNK
        return out + pending

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Store what the turn in progress holds and, if this memory built its ``Memoryos``, close it."""
        self.flush_pending()
        if self._owns_memoryos:
            self._memoryos.close()

    def __enter__(self) -> "MemoryOSMemory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryOSMemory({self._memoryos!r}, token_limit={self.token_limit})"
