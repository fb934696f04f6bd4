"""An agent that remembers a user across conversations: LangMem's memory tools on MemoryOSStore.

    python examples/langgraph_store_agent.py                       # a temporary SQLite folder
    python examples/langgraph_store_agent.py ./memory              # keep the memory in ./memory
    python examples/langgraph_store_agent.py postgresql://...      # or in PostgreSQL

It runs offline: ``ScriptedToolModel`` stands in for a tool-calling chat model. For real use pass
any LangChain chat model instead, e.g. ``init_chat_model("anthropic:claude-sonnet-4-5")``; the
rest stays the same. Needs ``pip install "memoryos-kit[langmem]"``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langmem import create_manage_memory_tool, create_search_memory_tool

from memoryos_langchain import MemoryOSStore


class ScriptedToolModel(BaseChatModel):
    """Offline stand-in for an LLM: calls the tool its script names for a human message, then
    answers with what the tool returned."""

    plans: dict[str, tuple[str, dict[str, Any]]]

    @property
    def _llm_type(self) -> str:
        return "scripted-tool-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedToolModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            if last.name == "search_memory":
                found = [m["value"]["content"] for m in json.loads(last.text)]
                reply = AIMessage(content=f"From memory: {'; '.join(found)}" if found else "I don't know yet.")
            else:
                reply = AIMessage(content="Noted, I'll remember that.")
        else:
            tool, args = self.plans[last.text]
            reply = AIMessage(content="", tool_calls=[{"name": tool, "args": args, "id": f"call-{len(messages)}",
                                                       "type": "tool_call"}])
        return ChatResult(generations=[ChatGeneration(message=reply)])


def main(location: str) -> None:
    model = ScriptedToolModel(plans={
        "I'm vegetarian, and I'm training for a marathon in May.":
            ("manage_memory", {"content": "The user is vegetarian and training for a marathon in May.",
                               "action": "create"}),
        "Can you plan my dinner tonight?": ("search_memory", {"query": "diet and food preferences"}),
    })
    namespace = ("memories", "{langgraph_user_id}")  # the user id comes from the run's config
    with MemoryOSStore(location) as store:
        agent = create_agent(
            model,
            tools=[create_manage_memory_tool(namespace=namespace), create_search_memory_tool(namespace=namespace)],
            system_prompt="You are a helpful assistant. Save what matters about the user; search before answering.",
            store=store,
            checkpointer=InMemorySaver(),
        )
        for thread, text in (("monday", "I'm vegetarian, and I'm training for a marathon in May."),
                             ("friday", "Can you plan my dinner tonight?")):
            out = agent.invoke({"messages": [HumanMessage(text)]},
                               config={"configurable": {"thread_id": thread, "langgraph_user_id": "alice"}})
            print(f"[{thread}] user: {text}\n[{thread}] agent: {out['messages'][-1].text}")
        for item in store.search(("memories", "alice"), query="marathon"):
            print(f"stored for alice: {item.key} -> {item.value} (score {item.score:.2f})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="memoryos-store-"))
