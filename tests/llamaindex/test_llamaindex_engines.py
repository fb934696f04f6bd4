"""MemoryOSMemory as ``memory=`` of every LlamaIndex chat engine and agent, sync and async.

Each test drives the engine itself through a conversation: a fact about the user's cat, then
more turns than the short-term window holds, then a question that needs the fact. The mock LLMs
record their prompts and answer "Miso" only when "Miso" is in the prompt, so the answer proves the
fact travelled from MemoryOS's long-term retrieval into the model's input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.chat_engine import CondensePlusContextChatEngine, ContextChatEngine, SimpleChatEngine
from llama_index.core.tools import FunctionTool

from memoryos_core import Memoryos
from memoryos_llamaindex import MemoryOSMemory

from llamaindex_support import (FACT, N_FILLERS, QUESTION, RecordingLLM, StaticRetriever, drive_async, drive_sync,
                                recording_function_llm)

# LlamaIndex's workflow engine inspects agents with inspect.getmembers, which trips pydantic's
# deprecation warnings on every run; they are not ours.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect"),
              pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning")]

MEMORY_OPEN = "<memory>\n[MemoryOS]"
ANSWER = "Your cat is called Miso."


@pytest.fixture
def memoryos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    m = Memoryos(user_id="alice", data_storage_path=tmp_path / "mem", background=False)
    yield m
    m.close()


@pytest.fixture
def memory(memoryos: Memoryos) -> MemoryOSMemory:
    return MemoryOSMemory(memoryos=memoryos)


def get_time() -> str:
    """The current time."""
    return "It is 10:00."


def memory_messages(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    return [m for m in messages if (m.content or "").startswith(MEMORY_OPEN)]


def assert_fact_came_from_long_term(prompt: Sequence[ChatMessage], memoryos: Memoryos) -> None:
    """The fact is in the prompt only inside the user-role memory block, never in a system message
    and never as a window message, and its page is outside MemoryOS's short-term window."""
    blocks = memory_messages(prompt)
    assert len(blocks) == 1, [m.content[:80] for m in prompt]
    block = blocks[0]
    assert block.role == MessageRole.USER
    assert FACT in block.content and "## Relevant past conversation" in block.content
    assert block.content.rstrip().endswith("</memory>")
    for m in prompt:
        if m.role == MessageRole.SYSTEM:
            assert "Miso" not in (m.content or "")
        if m is not block:
            assert FACT not in (m.content or ""), "the fact must not be in the recent window"
    pages = memoryos.list_memories()
    assert pages[0].user_input == FACT
    recent = memoryos.retrieve(QUESTION, record_visits=False).short_term
    assert len(recent) == memoryos.config.short_term_capacity
    assert pages[0].id not in {p.id for p in recent}


def assert_pages_paired(memoryos: Memoryos, n_turns: int) -> None:
    pages = memoryos.list_memories()
    assert len(pages) == n_turns
    assert all(p.user_input and p.agent_response for p in pages)
    assert pages[-1].user_input == QUESTION and pages[-1].agent_response.startswith(ANSWER)


# -- SimpleChatEngine ----------------------------------------------------------------------

def test_simple_chat_engine_sync(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm = RecordingLLM()
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory, system_prompt="You are a friendly assistant.")
    answer = drive_sync(lambda msg: engine.chat(msg))
    assert answer == ANSWER
    prompt = llm.chats[-1]
    assert prompt[0].role == MessageRole.SYSTEM and prompt[0].content == "You are a friendly assistant."
    assert prompt[1] is memory_messages(prompt)[0]  # context right after the app's own system prompt
    assert prompt[-1].role == MessageRole.USER and prompt[-1].content == QUESTION
    assert_fact_came_from_long_term(prompt, memoryos)
    assert_pages_paired(memoryos, N_FILLERS + 2)
    # the first turn had nothing to recall: no memory block at all
    assert memory_messages(llm.chats[0]) == []
    assert engine.chat_history[-1].content == ANSWER


def test_simple_chat_engine_alternating_roles(memoryos: Memoryos) -> None:
    """separate_context_message=False: the block rides on the first user message, roles alternate."""
    llm = RecordingLLM()
    memory = MemoryOSMemory(memoryos=memoryos, separate_context_message=False)
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory, system_prompt="You are a friendly assistant.")
    assert drive_sync(lambda msg: engine.chat(msg)) == ANSWER
    prompt = llm.chats[-1]
    roles = [m.role for m in prompt]
    assert roles[0] == MessageRole.SYSTEM and roles[1:] == [MessageRole.USER, MessageRole.ASSISTANT] * 9 + [MessageRole.USER]
    assert prompt[1].blocks[0].text.startswith(MEMORY_OPEN) and FACT in prompt[1].blocks[0].text
    assert "Miso" not in prompt[0].content
    assert_pages_paired(memoryos, N_FILLERS + 2)


async def test_simple_chat_engine_async(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm = RecordingLLM()
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)
    answer = await drive_async(lambda msg: engine.achat(msg))
    assert answer == ANSWER
    assert_fact_came_from_long_term(llm.chats[-1], memoryos)
    assert_pages_paired(memoryos, N_FILLERS + 2)


def test_simple_chat_engine_streaming(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    """stream_chat writes the answer to memory from a thread: the page is still paired."""
    llm = RecordingLLM()
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)

    def chat(msg: str) -> str:
        response = engine.stream_chat(msg)
        text = "".join(response.response_gen)  # ends after the memory write thread joined
        assert response.write_response_to_history_thread is None
        return text

    assert drive_sync(chat) == ANSWER
    assert_fact_came_from_long_term(llm.chats[-1], memoryos)
    assert_pages_paired(memoryos, N_FILLERS + 2)


# -- CondensePlusContextChatEngine ---------------------------------------------------------

def _check_condense_plus_prompt(llm: RecordingLLM, retriever: StaticRetriever, memoryos: Memoryos) -> None:
    prompt = llm.chats[-1]
    # the engine's own system message: its context template with the *documents*, no memory
    assert prompt[0].role == MessageRole.SYSTEM
    assert "The office opens at 9am." in prompt[0].content and "Miso" not in prompt[0].content
    assert prompt[1] is memory_messages(prompt)[0]
    assert prompt[-1].role == MessageRole.USER and prompt[-1].content == QUESTION
    assert_fact_came_from_long_term(prompt, memoryos)
    assert retriever.queries[-1] == QUESTION


def test_condense_plus_context_sync(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm, retriever = RecordingLLM(), StaticRetriever()
    engine = CondensePlusContextChatEngine.from_defaults(retriever=retriever, llm=llm, memory=memory,
                                                         system_prompt="Be brief.")
    assert drive_sync(lambda msg: engine.chat(msg)) == ANSWER
    _check_condense_plus_prompt(llm, retriever, memoryos)
    # the condense step sees the memory block too (as a user line of the history), one call per turn
    # that has history: every turn but the very first
    assert len(llm.completions) == N_FILLERS + 1
    assert "user: <memory>" in llm.completions[-1] and "Miso" in llm.completions[-1]
    assert_pages_paired(memoryos, N_FILLERS + 2)


async def test_condense_plus_context_async(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm, retriever = RecordingLLM(), StaticRetriever()
    engine = CondensePlusContextChatEngine.from_defaults(retriever=retriever, llm=llm, memory=memory)
    assert await drive_async(lambda msg: engine.achat(msg)) == ANSWER
    _check_condense_plus_prompt(llm, retriever, memoryos)
    assert_pages_paired(memoryos, N_FILLERS + 2)


def test_condense_plus_context_skip_condense(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    """With skip_condense=True no condense call is made, and memory still reaches the answer prompt."""
    llm, retriever = RecordingLLM(), StaticRetriever()
    engine = CondensePlusContextChatEngine.from_defaults(retriever=retriever, llm=llm, memory=memory,
                                                         skip_condense=True)
    assert drive_sync(lambda msg: engine.chat(msg)) == ANSWER
    assert llm.completions == []
    assert len(llm.chats) == N_FILLERS + 2  # exactly one LLM call per turn
    _check_condense_plus_prompt(llm, retriever, memoryos)


# -- ContextChatEngine ---------------------------------------------------------------------

def _check_context_prompt(llm: RecordingLLM, memoryos: Memoryos) -> None:
    prompt = llm.chats[-1]
    assert prompt[0].role == MessageRole.SYSTEM and "The office opens at 9am." in prompt[0].content
    assert prompt[1] is memory_messages(prompt)[0]
    assert prompt[-1].content == QUESTION
    assert_fact_came_from_long_term(prompt, memoryos)


def test_context_chat_engine_sync(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm = RecordingLLM()
    engine = ContextChatEngine.from_defaults(retriever=StaticRetriever(), llm=llm, memory=memory)
    assert drive_sync(lambda msg: engine.chat(msg)) == ANSWER
    _check_context_prompt(llm, memoryos)
    assert_pages_paired(memoryos, N_FILLERS + 2)


async def test_context_chat_engine_async(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm = RecordingLLM()
    engine = ContextChatEngine.from_defaults(retriever=StaticRetriever(), llm=llm, memory=memory)
    assert await drive_async(lambda msg: engine.achat(msg)) == ANSWER
    _check_context_prompt(llm, memoryos)
    assert_pages_paired(memoryos, N_FILLERS + 2)


# -- agents --------------------------------------------------------------------------------

async def test_function_agent(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm, seen = recording_function_llm("get_time")
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(get_time)], llm=llm, system_prompt="You are helpful.")
    answer = await drive_async(lambda msg: agent.run(user_msg=msg, memory=memory))
    assert answer == ANSWER
    # the question turn made two LLM calls: a tool call, then the answer after the tool result
    first, final = seen[-2], seen[-1]
    assert first[-1].content == QUESTION
    assert final[-1].role == MessageRole.TOOL and final[-1].content == "It is 10:00."
    for prompt in (first, final):
        assert prompt[0].role == MessageRole.SYSTEM and prompt[0].content == "You are helpful."
        assert_fact_came_from_long_term(prompt, memoryos)
    assert_pages_paired(memoryos, N_FILLERS + 2)
    # the tool call and its result are kept with the answer
    assert memoryos.list_memories()[-1].agent_response == ANSWER + "\n\n[tools used]\n- get_time() -> It is 10:00."


async def test_react_agent(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    llm = RecordingLLM(react=True, react_tool="get_time")
    agent = ReActAgent(tools=[FunctionTool.from_defaults(get_time)], llm=llm)
    answer = await drive_async(lambda msg: agent.run(user_msg=msg, memory=memory))
    assert answer == ANSWER
    final = llm.chats[-1]
    # ReAct puts its own system header first and drops a leading system message of the history:
    # the memory block is a user message, so it survives
    assert final[0].role == MessageRole.SYSTEM and "## Tools" in final[0].content
    assert final[-1].content.startswith("Observation: It is 10:00.")
    assert_fact_came_from_long_term(final, memoryos)
    page = memoryos.list_memories()[-1]
    assert page.user_input == QUESTION
    assert "Action: get_time" in page.agent_response and page.agent_response.endswith(ANSWER)


async def test_function_agent_state_does_not_leak_into_memory(memory: MemoryOSMemory, memoryos: Memoryos) -> None:
    """Agents edit the last input message in place (state prompt); memory hands out copies."""
    llm, seen = recording_function_llm()
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(get_time)], llm=llm, initial_state={"mood": "calm"})
    await agent.run(user_msg="Hello there.", memory=memory)
    assert "mood" in seen[0][-1].content  # the agent did format its state into the prompt
    assert memoryos.list_memories()[-1].user_input == "Hello there."
