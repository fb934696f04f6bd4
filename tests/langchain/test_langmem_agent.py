"""LangMem's memory tools, unchanged, on MemoryOSStore inside a ``create_agent`` agent (offline).

A scripted chat model stands in for a tool-calling LLM: for each human message it calls the tool
the script names, and once the tool has answered it replies with what the tool returned. The agent
learns something in one thread and finds it again in another thread of the same user; another
user finds nothing; the memory is still there after the process reopens the store.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langmem")

from langchain.agents import create_agent
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langmem import create_manage_memory_tool, create_search_memory_tool

from memoryos_core import HashingEmbedder
from memoryos_langchain import MemoryOSStore

NAMESPACE = ("memories", "{langgraph_user_id}")
REMEMBER = "Please remember that I'm allergic to peanuts."
ASK = "What snack could I take on my hike?"


class ScriptedToolModel(BaseChatModel):
    """For a human message, the tool call its script names; after a tool result, a reply quoting it."""

    plans: dict[str, tuple[str, dict[str, Any]]]
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted-tool-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedToolModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        last = messages[-1]
        self.calls += 1
        if isinstance(last, HumanMessage):
            tool, args = self.plans[last.text]
            reply = AIMessage(content="", tool_calls=[{"name": tool, "args": args, "id": f"call-{self.calls}",
                                                       "type": "tool_call"}])
        elif isinstance(last, ToolMessage):
            reply = AIMessage(content=self._answer(last))
        else:
            raise AssertionError(f"unexpected last message {last!r}")
        return ChatResult(generations=[ChatGeneration(message=reply)])

    @staticmethod
    def _answer(result: ToolMessage) -> str:
        if result.name == "search_memory":
            found = json.loads(result.text)
            if not found:
                return "I don't remember anything about that."
            return "From memory: " + "; ".join(m["value"]["content"] for m in found)
        return "Noted."


def plans() -> dict[str, tuple[str, dict[str, Any]]]:
    return {REMEMBER: ("manage_memory", {"content": "The user is allergic to peanuts.", "action": "create"}),
            ASK: ("search_memory", {"query": "food allergies"})}


def build_agent(store: MemoryOSStore) -> tuple[Any, ScriptedToolModel]:
    model = ScriptedToolModel(plans=plans())
    tools = [create_manage_memory_tool(namespace=NAMESPACE), create_search_memory_tool(namespace=NAMESPACE)]
    agent = create_agent(model, tools=tools, system_prompt="You are a helpful assistant with long-term memory.",
                         store=store, checkpointer=InMemorySaver())
    return agent, model


def config(thread: str, user: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "langgraph_user_id": user}}


def test_agent_remembers_a_user_across_threads(tmp_path: Path) -> None:
    location = tmp_path / "memory"
    with MemoryOSStore(location, embedder=HashingEmbedder(64)) as store:
        agent, _ = build_agent(store)
        first = agent.invoke({"messages": [HumanMessage(REMEMBER)]}, config=config("monday", "alice"))
        assert first["messages"][-1].text == "Noted."
        assert first["messages"][2].text.startswith("created memory ")
        second = agent.invoke({"messages": [HumanMessage(ASK)]}, config=config("friday", "alice"))
        assert len(second["messages"]) == 4  # a new thread: nothing of monday's conversation in its state
        assert second["messages"][-1].text == "From memory: The user is allergic to peanuts."
        other = agent.invoke({"messages": [HumanMessage(ASK)]}, config=config("friday", "bob"))
        assert other["messages"][-1].text == "I don't remember anything about that."
        [saved] = store.search(("memories", "alice"))
        assert saved.value == {"content": "The user is allergic to peanuts."}
        # The item is alice's memory in MemoryOS.
        assert [h.item.value for h in store.memory("alice").search_items()] == [saved.value]
    with MemoryOSStore(location, embedder=HashingEmbedder(64)) as reopened:  # durable: another process would see it
        agent, _ = build_agent(reopened)
        again = agent.invoke({"messages": [HumanMessage(ASK)]}, config=config("next-week", "alice"))
        assert again["messages"][-1].text == "From memory: The user is allergic to peanuts."


def test_async_agent_with_the_same_tools(tmp_path: Path) -> None:
    async def run() -> tuple[str, str]:
        with MemoryOSStore(tmp_path / "memory", embedder=HashingEmbedder(64)) as store:
            agent, _ = build_agent(store)
            await agent.ainvoke({"messages": [HumanMessage(REMEMBER)]}, config=config("t1", "alice"))
            out = await agent.ainvoke({"messages": [HumanMessage(ASK)]}, config=config("t2", "alice"))
            return out["messages"][-1].text, out["messages"][2].text

    answer, tool_output = asyncio.run(run())
    assert answer == "From memory: The user is allergic to peanuts."
    assert json.loads(tool_output)[0]["namespace"] == ["memories", "alice"]


def test_the_search_tool_sees_the_users_conversation(tmp_path: Path) -> None:
    """With ``include_memory``, LangMem's search also finds what the user said in conversations
    MemoryOS recorded (here through ``Memoryos.add_memory``; the middleware does the same)."""
    with MemoryOSStore(tmp_path / "memory", include_memory=True, embedder=HashingEmbedder(64),
                       memory_kwargs={"background": False}) as store:
        store.memory("alice").add_memory("I'm allergic to peanuts and to food allergies' usual suspects.",
                                         "I'll keep that in mind.")
        agent, _ = build_agent(store)
        out = agent.invoke({"messages": [HumanMessage(ASK)]}, config=config("t1", "alice"))
        assert "allergic to peanuts" in out["messages"][-1].text
        found = json.loads(out["messages"][2].text)
        assert found[0]["value"]["kind"] == "page" and found[0]["key"].startswith("pg_")


@pytest.mark.slow
def test_the_example_script_runs_offline(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "examples" / "langgraph_store_agent.py"), str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "[friday] agent: From memory: The user is vegetarian and training for a marathon in May." in out.stdout
    assert "stored for alice:" in out.stdout
