"""MemoryOSMiddleware with langchain 1.x create_agent: memory context shown to the model before it
answers, exchanges recorded after the run, per-user memories from the run config or context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from memoryos_core import HashingEmbedder, Memoryos
from memoryos_langchain import MemoryOSMiddleware


class RecordingAgentModel(GenericFakeChatModel):
    """A fake chat model for agents: scripted answers, every prompt kept, tools accepted."""

    received: list[list[BaseMessage]] = []

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        self.received.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def bind_tools(self, tools: Any, **kwargs: Any) -> "RecordingAgentModel":
        return self


def scripted(*answers: str | AIMessage) -> RecordingAgentModel:
    return RecordingAgentModel(messages=iter(answers))


class Memories:
    """A factory user_id -> Memoryos that counts how often it is called."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        self.path, self.kwargs, self.calls = path, kwargs, []

    def __call__(self, user_id: str) -> Memoryos:
        self.calls.append(user_id)
        return Memoryos(user_id=user_id, data_storage_path=self.path, background=False, **self.kwargs)


def human_texts(messages: list[BaseMessage]) -> list[str]:
    return [m.text for m in messages if m.type == "human"]


def config(thread: str, user: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": thread}
    if user:
        configurable["user_id"] = user
    return {"configurable": configurable}


FILLER = ["What's a good pasta shape for pesto?", "How do I fix a squeaky door?", "Recommend a podcast about history.",
          "What's the boiling point of water at altitude?", "How do I start journaling?", "What is a sonnet?",
          "Tips for a first marathon?", "How do I descale a kettle?", "Explain how tides work.",
          "What are good indoor plants?", "How do I back up my phone?", "What is the speed of sound?"]


def test_agent_recalls_a_user_fact_in_a_new_session(tmp_path: Path) -> None:
    fact = "I'm severely allergic to peanuts, please remember that."
    model = scripted("Noted: no peanuts, ever.", *[f"Answer {i}." for i in range(len(FILLER))],
                     "Trail mix without peanuts: almonds and cashews.")
    memories = Memories(tmp_path)  # default local MiniLM embedder: semantic ranking
    middleware = MemoryOSMiddleware(memories)
    agent = create_agent(model, [], system_prompt="You are a cooking assistant.", middleware=[middleware],
                         checkpointer=InMemorySaver())

    agent.invoke({"messages": [HumanMessage(fact)]}, config("session-1", "alice"))
    for question in FILLER:  # later sessions push the fact out of the short-term window
        agent.invoke({"messages": [HumanMessage(question)]}, config("session-filler", "alice"))

    question_text = "Can you suggest a snack with nuts for my hike?"
    out = agent.invoke({"messages": [HumanMessage(question_text)]}, config("session-2", "alice"))
    prompt = model.received[-1]
    assert prompt[0].type == "system" and prompt[0].text == "You are a cooking assistant."  # system prompt untouched
    memory_note, question = prompt[-2], prompt[-1]
    assert question.text == question_text
    assert memory_note.type == "human" and memory_note.text.startswith("<memory>")
    assert "allergic to peanuts" in memory_note.text and memory_note.text.rstrip().endswith("</memory>")
    assert "## Relevant past conversation" in memory_note.text  # found by retrieval, not by recency

    assert [m.type for m in out["messages"]] == ["human", "ai"]  # the note is not part of the thread's state
    assert out["messages"][-1].text == "Trail mix without peanuts: almonds and cashews."
    alice = middleware.resolver.cached()["alice"]
    pages = alice.list_memories()
    assert len(pages) == 2 + len(FILLER)
    assert (pages[0].user_input, pages[0].agent_response) == (fact, "Noted: no peanuts, ever.")
    assert pages[0].meta == {"source": "langchain-agent", "thread_id": "session-1"}
    assert pages[-1].agent_response == "Trail mix without peanuts: almonds and cashews."
    assert memories.calls == ["alice"]  # opened once, then cached
    middleware.close()


def test_users_are_isolated_and_the_user_id_can_come_from_the_runtime_context(tmp_path: Path) -> None:
    model = scripted("Got it.", "Hello Bob.", "Your cat is Miso.", "Hi Bob.")
    middleware = MemoryOSMiddleware(Memories(tmp_path, embedder=HashingEmbedder(1024)))
    agent = create_agent(model, [], middleware=[middleware])
    agent.invoke({"messages": [HumanMessage("My cat is called Miso.")]}, context={"user_id": "alice"})
    agent.invoke({"messages": [HumanMessage("What is my cat called?")]}, context={"user_id": "bob"})
    assert all("<memory>" not in m.text for m in model.received[-1])  # bob has no memory yet
    agent.invoke({"messages": [HumanMessage("What is my cat called?")]}, context={"user_id": "alice"})
    assert "Miso" in model.received[-1][-2].text

    @dataclass
    class Context:
        user_id: str

    agent.invoke({"messages": [HumanMessage("hi")]}, context=Context(user_id="bob"))  # attribute access works too
    cached = middleware.resolver.cached()
    assert [p.user_input for p in cached["bob"].list_memories()] == ["What is my cat called?", "hi"]

    with pytest.raises(ValueError, match="user id"):
        create_agent(scripted("x"), [], middleware=[middleware]).invoke({"messages": [HumanMessage("who am I?")]})
    middleware.close()


def test_tool_calling_run_records_the_final_answer_once(tmp_path: Path) -> None:
    @tool
    def weather(city: str) -> str:
        """Current weather of a city."""
        return f"-3C and snowing in {city}"

    memory = Memoryos(user_id="alice", data_storage_path=tmp_path, background=False, embedder=HashingEmbedder(1024))
    memory.add_memory("I live in Oslo.", "Oslo, noted.")
    model = scripted(AIMessage("", tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "call_1"}]),
                     "Bundle up: -3C and snowing.", "Still snowing.")
    agent = create_agent(model, [weather], middleware=[MemoryOSMiddleware(memory)], checkpointer=InMemorySaver())
    out = agent.invoke({"messages": [HumanMessage("What's the weather where I live?")]}, config("t1"))
    assert [m.type for m in out["messages"]] == ["human", "ai", "tool", "ai"]
    # both model calls of the run saw the memory, placed before the latest human message
    assert len(model.received) == 2
    for prompt in model.received:
        assert human_texts(prompt)[-1] == "What's the weather where I live?" and "Oslo" in human_texts(prompt)[-2]
    assert model.received[1][-1].type == "tool"

    pages = memory.list_memories()
    assert [(p.user_input, p.agent_response) for p in pages][-1] == ("What's the weather where I live?",
                                                                     "Bundle up: -3C and snowing.")
    agent.invoke({"messages": []}, config("t1"))  # a re-run without a new human message records nothing new
    assert len(memory.list_memories()) == len(pages)


async def test_async_agent(tmp_path: Path) -> None:
    memories = Memories(tmp_path, embedder=HashingEmbedder(1024))
    model = scripted("Noted, you play the cello.", "You play the cello.")
    middleware = MemoryOSMiddleware(memories)
    agent = create_agent(model, [], middleware=[middleware], checkpointer=InMemorySaver())
    await agent.ainvoke({"messages": [HumanMessage("I play the cello in an orchestra.")]}, config("a", "carol"))
    out = await agent.ainvoke({"messages": [HumanMessage("Which instrument do I play?")]}, config("b", "carol"))
    assert "cello" in model.received[-1][-2].text and model.received[-1][-2].text.startswith("<memory>")
    assert out["messages"][-1].text == "You play the cello."
    pages = middleware.resolver.cached()["carol"].list_memories()
    assert [(p.user_input, p.meta["thread_id"]) for p in pages] == [("I play the cello in an orchestra.", "a"),
                                                                     ("Which instrument do I play?", "b")]
    middleware.close()


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memoryos]:
    memory = Memoryos(user_id="dave", data_storage_path=tmp_path, background=False, embedder=HashingEmbedder(1024))
    memory.add_memory("My favourite band is Radiohead.", "Great band.")
    yield memory
    memory.close()


def test_inject_and_record_can_be_switched_off(memory: Memoryos) -> None:
    model = scripted("a", "b")
    agent = create_agent(model, [], middleware=[MemoryOSMiddleware(memory, inject=False)])
    agent.invoke({"messages": [HumanMessage("Which band do I like?")]})
    assert human_texts(model.received[-1]) == ["Which band do I like?"]
    assert len(memory.list_memories()) == 2

    agent = create_agent(model, [], middleware=[MemoryOSMiddleware(memory, record=False)])
    agent.invoke({"messages": [HumanMessage("Which band do I like again?")]})
    assert "Radiohead" in human_texts(model.received[-1])[0]
    assert len(memory.list_memories()) == 2


def test_constructor_validation() -> None:
    with pytest.raises(TypeError):
        MemoryOSMiddleware("alice")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MemoryOSMiddleware(lambda uid: None, user_id_key="")  # type: ignore[arg-type,return-value]
