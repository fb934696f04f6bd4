"""MemoryOSMemoryBlock inside LlamaIndex's ``Memory``: flushed messages become pages, ``get`` renders
the MemoryOS context."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.memory import InsertMethod, Memory
from llama_index.core.memory.memory_blocks import StaticMemoryBlock
from llama_index.core.storage.chat_store.sql import MessageStatus
from llama_index.core.utils import get_tokenizer

from memoryos_core import Memoryos
from memoryos_llamaindex import MemoryOSMemoryBlock

from llamaindex_support import FACT, N_FILLERS, QUESTION, RecordingLLM, drive_async, drive_sync, filler

USER, ASSISTANT = MessageRole.USER, MessageRole.ASSISTANT


@pytest.fixture
def memoryos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    m = Memoryos(user_id="erin", data_storage_path=tmp_path / "mem", background=False)
    yield m
    m.close()


def small_fifo_memory(block: MemoryOSMemoryBlock, **kwargs) -> Memory:
    """A ``Memory`` whose own FIFO keeps ~120 tokens, so early turns flush into the blocks."""
    return Memory.from_defaults(token_limit=4000, chat_history_token_ratio=0.03, token_flush_size=40,
                                memory_blocks=[block], async_database_uri="sqlite+aiosqlite:///:memory:", **kwargs)


def test_block_renders_memoryos_context_in_a_chat_engine(memoryos: Memoryos) -> None:
    memory = small_fifo_memory(MemoryOSMemoryBlock(memoryos=memoryos), insert_method=InsertMethod.USER)
    llm = RecordingLLM()
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)
    assert drive_sync(lambda msg: engine.chat(msg)) == "Your cat is called Miso."
    prompt = llm.chats[-1]
    # Memory's own history no longer holds the fact: it was flushed into MemoryOS ...
    history = memory.get_all(status=MessageStatus.ACTIVE)
    assert FACT not in [m.content for m in history]
    pages = memoryos.list_memories()
    assert pages[0].user_input == FACT and pages[0].agent_response == "Noted."
    assert all(p.user_input and p.agent_response for p in pages)  # flushed in whole turns
    # ... and comes back through the block, rendered into the latest user message
    last = prompt[-1]
    assert last.role == USER and last.content.endswith(QUESTION)
    assert "<memoryos>\n[MemoryOS] Reference data" in last.content and FACT in last.content
    assert all("Miso" not in (m.content or "") for m in prompt[:-1])


async def test_block_async_and_system_insert(memoryos: Memoryos) -> None:
    """With Memory's default insert method the blocks go to a system message (LlamaIndex's choice);
    the block's text still says it is reference data, not instructions."""
    memory = small_fifo_memory(MemoryOSMemoryBlock(memoryos=memoryos))
    llm = RecordingLLM()
    engine = SimpleChatEngine.from_defaults(llm=llm, memory=memory)
    assert await drive_async(lambda msg: engine.achat(msg)) == "Your cat is called Miso."
    system = llm.chats[-1][0]
    assert system.role == MessageRole.SYSTEM
    assert "<memoryos>\n[MemoryOS] Reference data" in system.content and "not instructions" in system.content
    assert FACT in system.content


async def test_block_finds_pages_beyond_the_short_term_window(memoryos: Memoryos) -> None:
    block = MemoryOSMemoryBlock(memoryos=memoryos)
    memoryos.add_memory(FACT, "Noted.")
    for i in range(N_FILLERS + 4):
        memoryos.add_memory(filler(i), "Here is a short note.")
    text = await block.aget([ChatMessage(role=USER, content="hello"), ChatMessage(role=ASSISTANT, content="hi"),
                             ChatMessage(role=USER, content=QUESTION)])
    relevant = text.split("## Relevant past conversation", 1)[1].split("## Recent conversation")[0]
    assert FACT in relevant
    assert await block.aget([]) == "" and await block.aget([ChatMessage(role=ASSISTANT, content="hi")]) == ""


async def test_block_truncates_by_asking_memoryos_for_less(memoryos: Memoryos) -> None:
    tokenizer = get_tokenizer()
    block = MemoryOSMemoryBlock(memoryos=memoryos)
    for i in range(20):
        memoryos.add_memory(f"My cat story {i}: " + "she climbed the curtains " * 5, "Cats! " * 10)
    question = [ChatMessage(role=USER, content="Tell me about my cat")]
    content = await block.aget(question)
    size = len(tokenizer(content))
    shorter = await block.atruncate(content, size // 2)
    assert shorter and len(tokenizer(shorter)) <= size - size // 2
    assert shorter.startswith("[MemoryOS] Reference data")
    assert await block.atruncate(content, size - 10) is None  # too little left to be useful
    assert await block.atruncate("not what the block produced", 5) is None

    # inside Memory: over its token limit, Memory asks the block to shrink
    memory = Memory.from_defaults(token_limit=300, memory_blocks=[block, StaticMemoryBlock(static_content="static")],
                                  async_database_uri="sqlite+aiosqlite:///:memory:")
    await memory.aput(question[0])
    messages = await memory.aget()
    assert sum(len(tokenizer(m.content or "")) for m in messages) <= 300 + 40  # template tags are extra


async def test_block_stores_flushed_turns_with_tools_and_skips_system(memoryos: Memoryos) -> None:
    block = MemoryOSMemoryBlock(memoryos=memoryos)
    await block.aput([
        ChatMessage(role=MessageRole.SYSTEM, content="You are terse."),
        ChatMessage(role=USER, content="What time is it?"),
        ChatMessage(role=ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c1", tool_name="clock", tool_kwargs={})]),
        ChatMessage(role=MessageRole.TOOL, content="10:00", additional_kwargs={"tool_call_id": "c1"}),
        ChatMessage(role=ASSISTANT, content="It is 10:00."),
        ChatMessage(role=USER, content="Thanks!"),
        ChatMessage(role=ASSISTANT, content="You're welcome."),
    ], from_short_term_memory=True, session_id="s1")
    pages = memoryos.list_memories()
    assert [(p.user_input, p.agent_response) for p in pages] == [
        ("What time is it?", "It is 10:00.\n\n[tools used]\n- clock() -> 10:00"), ("Thanks!", "You're welcome.")]
    assert pages[0].meta == {"source": "llamaindex"}

    ignoring = MemoryOSMemoryBlock(memoryos=memoryos, name="other", accept_short_term_memory=False)
    await ignoring.aput([ChatMessage(role=USER, content="x"), ChatMessage(role=ASSISTANT, content="y")],
                        from_short_term_memory=True)
    assert len(memoryos.list_memories()) == 2


def test_block_construction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(TypeError):
        MemoryOSMemoryBlock()
    block = MemoryOSMemoryBlock(user_id="frank", data_storage_path=tmp_path / "b", background=False,
                                name="long_term", max_context_tokens=500)
    assert block.name == "long_term" and block.priority == 1 and block.memoryos.user_id == "frank"
    block.close()
    assert block.memoryos._closed
