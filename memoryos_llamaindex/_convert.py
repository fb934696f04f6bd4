"""Translation between LlamaIndex chat messages and MemoryOS pages. No memory decisions live here.

A MemoryOS *page* is one exchange: what the user said and what the assistant answered. LlamaIndex
hands memory a stream of messages (user, assistant, tool, system); these helpers group that stream
into turns, render a turn's answer (what the assistant said plus a record of the tools it used),
and render pages and the retrieved context back into messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ToolCallBlock

from memoryos_core.prompts import fence_memory, is_fenced_memory
from memoryos_core.times import to_datetime
from memoryos_core.types import Page

_ASSISTANT_ROLES = {MessageRole.ASSISTANT, MessageRole.CHATBOT, MessageRole.MODEL}
_TOOL_ROLES = {MessageRole.TOOL, MessageRole.FUNCTION}
_SYSTEM_ROLES = {MessageRole.SYSTEM, MessageRole.DEVELOPER}
_MEDIA = {"image", "audio", "video", "document"}


def role_of(message: ChatMessage) -> str:
    """'user', 'assistant', 'tool' or 'system'."""
    role = message.role
    if role == MessageRole.USER:
        return "user"
    if role in _ASSISTANT_ROLES:
        return "assistant"
    if role in _TOOL_ROLES:
        return "tool"
    if role in _SYSTEM_ROLES:
        return "system"
    return "user"


def message_text(message: ChatMessage) -> str:
    """The text of a message; media blocks become placeholders, tool calls and thinking are left out."""
    parts: list[str] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            if block.text:
                parts.append(block.text)
        elif getattr(block, "block_type", None) in _MEDIA:
            parts.append(f"[{block.block_type}]")
        elif getattr(block, "block_type", None) == "citable":
            parts.extend(c.text for c in getattr(block, "content", []) if isinstance(c, TextBlock) and c.text)
    return "\n".join(parts)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    try:
        return json.loads(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return str(value)


def tool_calls_of(message: ChatMessage) -> list[dict[str, Any]]:
    """Tool calls carried by an assistant message (ToolCallBlocks or OpenAI-style ``tool_calls``)."""
    calls: list[dict[str, Any]] = []
    for block in message.blocks:
        if isinstance(block, ToolCallBlock):
            calls.append({"id": block.tool_call_id, "name": block.tool_name, "arguments": _jsonable(block.tool_kwargs)})
    for raw in message.additional_kwargs.get("tool_calls") or []:
        data = _jsonable(raw)
        if isinstance(data, dict):
            fn = data.get("function") if isinstance(data.get("function"), dict) else {}
            calls.append({"id": data.get("id") or data.get("tool_id"),
                          "name": fn.get("name") or data.get("name") or data.get("tool_name"),
                          "arguments": fn.get("arguments", data.get("arguments", data.get("tool_kwargs")))})
        else:
            calls.append({"id": None, "name": None, "arguments": data})
    return calls


def closes_turn(message: ChatMessage) -> bool:
    """An assistant message that calls no tool is the answer that ends a turn."""
    return role_of(message) == "assistant" and not tool_calls_of(message)


def _is_context_block(block: Any) -> bool:
    return isinstance(block, TextBlock) and is_fenced_memory(block.text)


def is_context_message(message: ChatMessage) -> bool:
    """True for the memory-context message :class:`MemoryOSMemory` itself puts into ``get()`` results."""
    return (role_of(message) == "user" and bool(message.blocks)
            and all(_is_context_block(b) for b in message.blocks))


def strip_context(message: ChatMessage) -> ChatMessage:
    """``message`` without a memory-context block prepended by ``get()`` (see ``separate_context_message``)."""
    if role_of(message) != "user" or not message.blocks or not _is_context_block(message.blocks[0]):
        return message
    return message.model_copy(update={"blocks": [b for b in message.blocks if not _is_context_block(b)]})


def prepend_context(message: ChatMessage, context: ChatMessage) -> ChatMessage:
    """``message`` with the memory-context block as its first content block."""
    return message.model_copy(update={"blocks": [*context.blocks, *message.blocks]})


def copy_message(message: ChatMessage) -> ChatMessage:
    """A deep copy: engines edit returned messages in place (e.g. agents format state into the last one)."""
    return message.model_copy(deep=True)


@dataclass
class Turn:
    """Messages of one exchange: at most one user message, then assistant and tool messages."""

    user: ChatMessage | None = None
    responses: list[ChatMessage] = field(default_factory=list)

    @property
    def messages(self) -> list[ChatMessage]:
        return ([self.user] if self.user is not None else []) + list(self.responses)

    @property
    def user_text(self) -> str:
        return message_text(self.user) if self.user is not None else ""

    @property
    def agent_text(self) -> str:
        texts = [message_text(m) for m in self.responses if role_of(m) == "assistant"]
        return "\n".join(t for t in texts if t)

    def trace(self) -> list[dict[str, Any]]:
        """Tool calls and results in order (the page text keeps only what was said)."""
        items: list[dict[str, Any]] = []
        for m in self.responses:
            role = role_of(m)
            if role == "assistant":
                items += [{"type": "tool_call", **call} for call in tool_calls_of(m)]
            elif role == "tool":
                items.append({"type": "tool_result", "id": m.additional_kwargs.get("tool_call_id"),
                              "name": m.additional_kwargs.get("name") or m.additional_kwargs.get("tool_name"),
                              "content": message_text(m)})
        return items

    @property
    def empty(self) -> bool:
        return self.user is None and not self.responses


def group_turns(messages: Iterable[ChatMessage]) -> tuple[list[ChatMessage], list[Turn]]:
    """Split a message list into system messages and turns (a new user message starts a turn).

    The last turn may be open (no closing assistant message). Memory-context messages produced by
    this package are skipped, so ``set(memory.get())`` round-trips.
    """
    systems: list[ChatMessage] = []
    turns: list[Turn] = []
    current: Turn | None = None
    for message in messages:
        role = role_of(message)
        if role == "system":
            systems.append(message)
            continue
        if is_context_message(message):
            continue
        if role == "user":
            current = Turn(user=strip_context(message))
            turns.append(current)
            continue
        if current is None or (current.responses and closes_turn(current.responses[-1])):
            current = Turn()
            turns.append(current)
        current.responses.append(message)
    return systems, turns


def turn_is_closed(turn: Turn) -> bool:
    return bool(turn.responses) and closes_turn(turn.responses[-1])


# -- turn -> page ----------------------------------------------------------------------------

#: Header of the tool record appended to an answer (the page text keeps what tools did).
TOOLS_HEADER = "[tools used]"


def clip(text: str, limit: int) -> str:
    """A tool argument or result cut to ``limit`` characters with an explicit marker (never silently)."""
    if len(text) <= limit:
        return text
    marker = f" ...[{len(text) - limit} characters truncated]"
    return text[: max(0, limit - len(marker))] + marker


def _arguments(value: Any) -> str:
    if value in (None, "", {}, []):
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def render_tools(trace: list[dict[str, Any]], max_item_chars: int) -> str:
    """Tool calls with their results, one line each: ``- name(arguments) -> result``."""
    lines: list[str] = []
    by_id: dict[Any, int] = {}
    for item in trace:
        if item["type"] == "tool_call":
            if item.get("id") is not None:
                by_id[item["id"]] = len(lines)
            lines.append(f"- {item.get('name') or 'tool'}({clip(_arguments(item.get('arguments')), max_item_chars)})"
                         " -> (no result)")
        else:
            result = clip(str(item.get("content") or ""), max_item_chars).replace("\n", " ")
            index = by_id.pop(item.get("id"), None) if item.get("id") is not None else None
            if index is not None:
                lines[index] = lines[index][: -len("(no result)")] + result
            else:
                lines.append(f"- {item.get('name') or 'tool'} result -> {result}")
    return TOOLS_HEADER + "\n" + "\n".join(lines)


def turn_answer(turn: Turn, *, max_tool_chars: int) -> str:
    """The assistant side of a turn as handed to the core: what the assistant said, then the tools it
    used. Long text is the core's business (``Memoryos.add_memory`` clips past its limit, with a marker)."""
    answer = turn.agent_text
    trace = turn.trace()
    if trace:
        tools = render_tools(trace, max_tool_chars)
        answer = f"{answer}\n\n{tools}" if answer.strip() else tools
    return answer


# -- page / result -> messages ---------------------------------------------------------------

def page_messages(page: Page) -> list[ChatMessage]:
    out = []
    if page.user_input:
        out.append(ChatMessage(role=MessageRole.USER, content=page.user_input))
    if page.agent_response:
        out.append(ChatMessage(role=MessageRole.ASSISTANT, content=page.agent_response))
    return out


def context_message(context: str) -> ChatMessage:
    """The memory context as a *user-role* message, fenced as reference data."""
    return ChatMessage(role=MessageRole.USER, content=fence_memory(context))


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return to_datetime(epoch).isoformat()
