"""Memory for LangChain 1.x agents (``create_agent``) as middleware.

    agent = create_agent(model, tools, middleware=[MemoryOSMiddleware(memory_for_user)])
    agent.invoke({"messages": [...]}, config={"configurable": {"thread_id": "t1", "user_id": "alice"}})

* ``before_agent`` (once per run): retrieves memory for the latest human message and keeps the
  context in a private state key.
* ``wrap_model_call`` (every model call of the run): shows that context to the model as a fenced
  human message placed just before the latest human message. Only the request changes: the
  context is not written into the conversation state (nor into a checkpointer), and the system
  prompt is left alone.
* ``after_agent`` (once per run): records the exchange, latest human message + final AI text, with
  ``Memoryos.add_memory``. A human message is recorded once even if a thread is re-run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from langchain.agents.middleware.types import (
    AgentMiddleware,
    AgentState,
    ModelCallResult,
    ModelRequest,
    ModelResponse,
    PrivateStateAttr,
)
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.runtime import Runtime
from typing_extensions import NotRequired

from memoryos_core import Memoryos
from memoryos_core.prompts import fence_memory

from ._common import MemoryFactory, MemoryResolver, message_text

CONTEXT_KEY = "memoryos_context"
RECORDED_KEY = "memoryos_recorded_id"
CONTEXT_MESSAGE_ID = "memoryos-context"


class MemoryOSState(AgentState[Any]):
    """Agent state plus the middleware's private keys (not part of the agent's input or output)."""

    memoryos_context: NotRequired[Annotated[str | None, PrivateStateAttr]]
    memoryos_recorded_id: NotRequired[Annotated[str | None, PrivateStateAttr]]


def _last_human(messages: Sequence[BaseMessage]) -> tuple[int, HumanMessage] | None:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, HumanMessage) and message.id != CONTEXT_MESSAGE_ID:
            return index, message
    return None


def _run_config() -> dict[str, Any]:
    try:
        from langgraph.config import get_config

        return dict(get_config())
    except RuntimeError:  # outside a graph run, or Python 3.10 in async code
        return {}


class MemoryOSMiddleware(AgentMiddleware[MemoryOSState, Any]):
    """Gives a ``create_agent`` agent MemoryOS memory.

    Args:
        memory: one ``Memoryos`` (every run uses it), or a factory ``user_id -> Memoryos``. With a
            factory the user id is read from the runtime context (``context={"user_id": ...}`` or an
            object with that attribute) and then from ``config["configurable"]["user_id"]``; each
            user's memory is opened once and cached (``close()`` closes them).
        user_id_key: the key holding the user id.
        top_k, max_context_tokens: passed to ``Memoryos.retrieve``.
        inject: show memory to the model. ``record``: store each exchange.
    """

    state_schema = MemoryOSState

    def __init__(self, memory: Memoryos | MemoryFactory, *, user_id_key: str = "user_id", top_k: int | None = None,
                 max_context_tokens: int | None = None, inject: bool = True, record: bool = True,
                 meta_data: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.resolver = MemoryResolver(memory, user_id_key, owner="MemoryOSMiddleware")
        self.top_k = top_k
        self.max_context_tokens = max_context_tokens
        self.inject = inject
        self.record = record
        self.meta_data = dict(meta_data) if meta_data is not None else {"source": "langchain-agent"}
        self.tools = []

    # -- helpers -------------------------------------------------------------------------------

    def memory_for(self, runtime: Runtime[Any] | None = None, config: dict[str, Any] | None = None) -> Memoryos:
        """The memory serving this run."""
        return self.resolver.resolve(config if config is not None else _run_config(),
                                     getattr(runtime, "context", None))

    def _query(self, state: AgentState[Any]) -> str | None:
        found = _last_human(state.get("messages") or [])
        if found is None:
            return None
        return message_text(found[1]) or None

    def _exchange(self, state: AgentState[Any]) -> tuple[str, str, str] | None:
        """(human message id, human text, final AI text) of the latest turn, if not yet recorded."""
        messages = state.get("messages") or []
        found = _last_human(messages)
        if found is None:
            return None
        index, human = found
        marker = human.id or message_text(human)
        if state.get(RECORDED_KEY) == marker:
            return None
        answer = ""
        for message in reversed(messages[index + 1:]):
            if isinstance(message, AIMessage) and message_text(message):
                answer = message_text(message)
                break
        question = message_text(human)
        if not question and not answer:
            return None
        return marker, question, answer

    def _meta(self, config: dict[str, Any]) -> dict[str, Any]:
        thread_id = (config.get("configurable") or {}).get("thread_id")
        return {**self.meta_data, "thread_id": str(thread_id)} if thread_id is not None else dict(self.meta_data)

    def with_context(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        """The request with the run's memory context as a fenced human message before the latest human message."""
        context = request.state.get(CONTEXT_KEY) if request.state else None
        if not self.inject or not context:
            return request
        messages: list[AnyMessage] = [m for m in request.messages if m.id != CONTEXT_MESSAGE_ID]
        note = HumanMessage(content=fence_memory(context), id=CONTEXT_MESSAGE_ID)
        found = _last_human(messages)
        position = found[0] if found is not None else 0
        return request.override(messages=[*messages[:position], note, *messages[position:]])

    # -- hooks ---------------------------------------------------------------------------------

    def before_agent(self, state: MemoryOSState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        if not self.inject:
            return None
        query = self._query(state)
        if query is None:
            return {CONTEXT_KEY: None}
        result = self.memory_for(runtime).retrieve(query, top_k=self.top_k, max_context_tokens=self.max_context_tokens)
        return {CONTEXT_KEY: result.context or None}

    async def abefore_agent(self, state: MemoryOSState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        if not self.inject:
            return None
        query = self._query(state)
        if query is None:
            return {CONTEXT_KEY: None}
        config = _run_config()
        memory = await asyncio.to_thread(self.memory_for, runtime, config)
        result = await memory.aretrieve(query, top_k=self.top_k, max_context_tokens=self.max_context_tokens)
        return {CONTEXT_KEY: result.context or None}

    def wrap_model_call(self, request: ModelRequest[Any],
                        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]) -> ModelCallResult[Any]:
        return handler(self.with_context(request))

    async def awrap_model_call(self, request: ModelRequest[Any],
                               handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]]
                               ) -> ModelCallResult[Any]:
        return await handler(self.with_context(request))

    def _to_record(self, state: MemoryOSState) -> tuple[str, str, str] | None:
        """The exchange to record after a run, or None (recording off, nothing new)."""
        return self._exchange(state) if self.record else None

    @staticmethod
    def _clear_context(state: MemoryOSState) -> dict[str, Any] | None:
        return {CONTEXT_KEY: None} if state.get(CONTEXT_KEY) else None

    def after_agent(self, state: MemoryOSState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        exchange = self._to_record(state)
        if exchange is None:
            return self._clear_context(state)
        marker, question, answer = exchange
        config = _run_config()
        self.memory_for(runtime, config).add_memory(question, answer, meta_data=self._meta(config))
        return {RECORDED_KEY: marker, CONTEXT_KEY: None}

    async def aafter_agent(self, state: MemoryOSState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        exchange = self._to_record(state)
        if exchange is None:
            return self._clear_context(state)
        marker, question, answer = exchange
        config = _run_config()
        memory = await asyncio.to_thread(self.memory_for, runtime, config)
        await memory.aadd_memory(question, answer, meta_data=self._meta(config))
        return {RECORDED_KEY: marker, CONTEXT_KEY: None}

    def close(self) -> None:
        """Close the memories opened through the factory."""
        self.resolver.close()
