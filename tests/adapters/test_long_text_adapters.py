"""Every adapter keeps a long turn and retrieves with a long query, through the core's one policy.

"Summarise this: " + 60,000 characters through LangChain (RunnableWithMessageHistory with a
retriever step, create_agent + MemoryOSMiddleware, MemoryOSRetriever) and LlamaIndex
(MemoryOSMemory, MemoryOSRetriever, MemoryOSMemoryBlock): the page is stored with the whole text,
and retrieval with the 60,000-character text as query works. A turn past the stored limit is kept
with the core's clip marker. (The MCP server: tests/core/mcp/test_mcp_text_and_ids.py.)
"""

from __future__ import annotations

import warnings
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterator

import pytest

from memoryos_core import HashingEmbedder, Memoryos

FILLER = "The board discussed revenue, hiring and the new office lease at length during the meeting. "
LONG_TURN = "Summarise this: " + (FILLER * 700)[:60_000]
HUGE_TURN = "Summarise this: " + (FILLER * 2600)[:230_000] + " Last line: the answer is forty-two."
MARKER = "characters clipped ...]"
EARLIER = ("My sister Mirela lives in Valparaiso.", "Noted.")


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memoryos]:
    m = Memoryos(user_id="ana", data_storage_path=tmp_path / "mem", background=False, embedder=HashingEmbedder(512))
    m.add_memory(*EARLIER)
    yield m
    m.close()


def stored_sides(memory: Memoryos) -> list[tuple[str, str]]:
    return [(p.user_input, p.agent_response) for p in memory.list_memories()]


# -- LangChain --------------------------------------------------------------------------------

def test_langchain_runnable_with_message_history(memory: Memoryos) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from langchain_core.runnables import RunnablePassthrough
    from langchain_core.runnables.history import RunnableWithMessageHistory

    from memoryos_langchain import MemoryOSChatMessageHistory, MemoryOSRetriever, format_memory_documents

    retriever = MemoryOSRetriever(memory=memory, k=3)
    prompt = ChatPromptTemplate.from_messages([("human", "{memory}"), MessagesPlaceholder("history"), ("human", "{input}")])
    model = FakeListChatModel(responses=["A summary.", "Another summary."])
    chain = RunnablePassthrough.assign(memory=itemgetter("input") | retriever | format_memory_documents) | prompt | model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RunnableWithMessageHistory is deprecated upstream; users still run it
        chat = RunnableWithMessageHistory(chain, lambda _sid: MemoryOSChatMessageHistory(memory),
                                          input_messages_key="input", history_messages_key="history")
    config = {"configurable": {"session_id": "ana"}}
    assert chat.invoke({"input": LONG_TURN}, config=config).content == "A summary."
    assert stored_sides(memory)[-1] == (LONG_TURN, "A summary.")  # the turn is kept, whole
    chat.invoke({"input": HUGE_TURN}, config=config)  # and a turn past the stored limit, clipped
    kept, answer = stored_sides(memory)[-1]
    assert answer == "Another summary." and MARKER in kept and kept.endswith("the answer is forty-two.")
    assert kept == memory.stored_text(HUGE_TURN)


def test_langchain_agent_middleware(memory: Memoryos) -> None:
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import HumanMessage

    from memoryos_langchain import MemoryOSMiddleware

    class Model(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> "Model":
            return self

    agent = create_agent(Model(messages=iter(["Here is the summary."])), [], middleware=[MemoryOSMiddleware(memory)])
    out = agent.invoke({"messages": [HumanMessage(LONG_TURN)]})
    assert out["messages"][-1].text == "Here is the summary."
    assert stored_sides(memory)[-1] == (LONG_TURN, "Here is the summary.")


def test_langchain_retriever(memory: Memoryos) -> None:
    from memoryos_langchain import MemoryOSRetriever

    memory.add_memory(LONG_TURN, "Summary.")
    documents = MemoryOSRetriever(memory=memory).invoke(LONG_TURN)
    assert any(d.page_content.startswith("User: Summarise this: ") for d in documents)


# -- LlamaIndex -------------------------------------------------------------------------------

def test_llamaindex_memory(memory: Memoryos) -> None:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    from memoryos_llamaindex import MemoryOSMemory

    chat = MemoryOSMemory(memoryos=memory)
    chat.put(ChatMessage(role=MessageRole.USER, content=LONG_TURN))
    chat.put(ChatMessage(role=MessageRole.ASSISTANT, content="The summary."))
    assert stored_sides(memory)[-1] == (LONG_TURN, "The summary.")
    assert chat.get(input=LONG_TURN)  # retrieval with the 60,000-character message as query

    chat.put(ChatMessage(role=MessageRole.USER, content=HUGE_TURN))
    chat.put(ChatMessage(role=MessageRole.ASSISTANT, content=HUGE_TURN))
    chat.flush_pending()
    kept, answer = stored_sides(memory)[-1]
    assert kept == answer == memory.stored_text(HUGE_TURN) and MARKER in kept
    assert len(memory.list_memories()) == 3

    # handing the same history back (set) recognises the clipped pages as already stored
    history = [ChatMessage(role=MessageRole.USER, content=LONG_TURN),
               ChatMessage(role=MessageRole.ASSISTANT, content="The summary."),
               ChatMessage(role=MessageRole.USER, content=HUGE_TURN),
               ChatMessage(role=MessageRole.ASSISTANT, content=HUGE_TURN)]
    chat.set(history)
    assert len(memory.list_memories()) == 3


async def test_llamaindex_memory_restart_adopts_a_clipped_unanswered_turn(memory: Memoryos) -> None:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    from memoryos_llamaindex import MemoryOSMemory

    first = MemoryOSMemory(memoryos=memory)
    await first.aput(ChatMessage(role=MessageRole.USER, content=HUGE_TURN))  # then the process stops
    second = MemoryOSMemory(memoryos=memory)
    await second.aput(ChatMessage(role=MessageRole.USER, content=HUGE_TURN))  # the same message again
    await second.aput(ChatMessage(role=MessageRole.ASSISTANT, content="Forty-two."))
    second.flush_pending()
    assert stored_sides(memory)[1:] == [(memory.stored_text(HUGE_TURN), "Forty-two.")]


def test_llamaindex_retriever(memory: Memoryos) -> None:
    from memoryos_llamaindex import MemoryOSRetriever

    memory.add_memory(LONG_TURN, "Summary.")
    nodes = MemoryOSRetriever(memoryos=memory).retrieve(LONG_TURN)
    assert any(n.node.get_content().startswith("User: Summarise this: ") for n in nodes)


async def test_llamaindex_memory_block(memory: Memoryos) -> None:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    from memoryos_llamaindex import MemoryOSMemoryBlock

    block = MemoryOSMemoryBlock(memoryos=memory)
    await block.aput([ChatMessage(role=MessageRole.USER, content=LONG_TURN),
                      ChatMessage(role=MessageRole.ASSISTANT, content="Done.")])
    assert stored_sides(memory)[-1] == (LONG_TURN, "Done.")
    context = await block.aget([ChatMessage(role=MessageRole.USER, content=LONG_TURN)])
    assert "Mirela" in context or "Summarise" in context
