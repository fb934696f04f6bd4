"""LangChain models as core providers: LangChainChatModel drives consolidation, persona updates and
get_response of a real Memoryos; LangChainEmbeddings is a working Embedder. No OpenAI anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableLambda

from memoryos_core import ChatMessage, ChatModel, Embedder, HashingEmbedder, MemoryConfig, Memoryos
from memoryos_langchain import LangChainChatModel, LangChainEmbeddings

T0 = 1_700_000_000.0


class RecordingFakeChatModel(FakeListChatModel):
    received: list[list[BaseMessage]] = []

    def _call(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> str:
        self.received.append(list(messages))
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)


class RoutingFakeChatModel(GenericFakeChatModel):
    """Answers like a model that follows the core's prompts, with usage metadata like a real provider."""

    messages: Any = iter(())
    received: list[list[BaseMessage]] = []

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.received.append(list(messages))
        system, user = messages[0].text, messages[-1].text
        if "organise a user's conversation history" in system:
            numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", user, flags=re.M)]
            text = json.dumps({"topics": [{"pages": numbers, "segment": None, "keywords": ["lisbon", "hiking"],
                                           "summary": "The user lives in Lisbon and hikes on weekends."}]})
        elif "maintain the long-term memory" in system:
            text = "```json\n" + json.dumps({
                "profile": [{"field": "location", "value": "Lisbon"}],
                "facts": [{"op": "add", "about": "user", "text": "The user lives in Lisbon.", "time": "2023-11-14"}],
            }) + "\n```"
        else:
            text = "You could hike the Sintra trails."
        message = AIMessage(content=text, usage_metadata={"input_tokens": 100, "output_tokens": 10, "total_tokens": 110},
                            response_metadata={"model_name": "routing-fake-1"})
        return ChatResult(generations=[ChatGeneration(message=message)])


def add_lisbon_turns(memory: Memoryos, n: int) -> None:
    for i in range(n):
        memory.add_memory(f"Turn {i}: I went hiking near Lisbon again.", f"Reply {i}: sounds lovely.", timestamp=T0 + 60 * i)


# -- LangChainChatModel ---------------------------------------------------------------------


def test_chat_model_maps_roles_and_reads_usage() -> None:
    fake = RoutingFakeChatModel()
    llm = LangChainChatModel(fake)
    assert isinstance(llm, ChatModel) and llm.model_name == "generic-fake-chat-model"
    completion = llm.complete([ChatMessage("system", "Be brief."), ChatMessage("user", "Hello"),
                               ChatMessage("assistant", "Hi!"), ChatMessage("user", "Suggest a hike.")])
    assert [(m.type, m.text) for m in fake.received[-1]] == [("system", "Be brief."), ("human", "Hello"), ("ai", "Hi!"),
                                                             ("human", "Suggest a hike.")]
    assert completion.text == "You could hike the Sintra trails."
    assert (completion.prompt_tokens, completion.completion_tokens, completion.model) == (100, 10, "routing-fake-1")
    bare = LangChainChatModel(FakeListChatModel(responses=["ok"]), model_name="my-model").complete([ChatMessage("user", "x")])
    assert (bare.text, bare.prompt_tokens, bare.completion_tokens, bare.model) == ("ok", 0, 0, "my-model")
    with pytest.raises(TypeError):
        LangChainChatModel("gpt-4o")  # type: ignore[arg-type]


async def test_chat_model_async() -> None:
    llm = LangChainChatModel(RoutingFakeChatModel())
    completion = await llm.acomplete([ChatMessage("user", "Suggest a hike.")], json_schema={"name": "X", "schema": {}})
    assert completion.text == "You could hike the Sintra trails." and completion.prompt_tokens == 100


def test_json_schema_is_a_hint_structured_output_is_used_only_when_available() -> None:
    schema = {"name": "ConsolidationOut", "schema": {"type": "object", "properties": {"topics": {"type": "array"}}}}
    # fakes have no with_structured_output (no tool binding): the plain call answers
    plain = LangChainChatModel(FakeListChatModel(responses=['{"topics": []}']), structured_output=True)
    assert plain.complete([ChatMessage("user", "go")], json_schema=schema).text == '{"topics": []}'
    assert plain._structured_ok is False

    seen: dict[str, Any] = {}

    class StructuredFake(GenericFakeChatModel):
        def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
            seen["schema"], seen["include_raw"] = schema, include_raw
            raw = AIMessage(content="", usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10})
            return RunnableLambda(lambda _: {"raw": raw, "parsed": {"topics": [{"pages": [1]}]}, "parsing_error": None})

    structured = LangChainChatModel(StructuredFake(messages=iter(["unused"])), structured_output=True)
    completion = structured.complete([ChatMessage("user", "go")], json_schema=schema)
    assert json.loads(completion.text) == {"topics": [{"pages": [1]}]}
    assert (completion.prompt_tokens, completion.completion_tokens) == (7, 3)
    assert seen["schema"]["title"] == "ConsolidationOut" and seen["include_raw"] is True


def test_fake_list_model_drives_consolidation_and_get_response(tmp_path: Path) -> None:
    consolidation = json.dumps({"topics": [{"pages": list(range(1, 9)), "segment": None,
                                            "summary": "The user keeps hiking near Lisbon.", "keywords": ["hiking", "lisbon"]}]})
    fake = RecordingFakeChatModel(responses=[consolidation, "Try the Sintra trails this weekend."])
    memory = Memoryos(user_id="alice", data_storage_path=tmp_path, background=False, embedder=HashingEmbedder(1024),
                      llm=LangChainChatModel(fake),
                      config=MemoryConfig(llm_consolidation=True, mid_term_heat_threshold=1000.0))
    assert memory.has_llm and memory.stats()["llm"] == "fake-list-chat-model"
    add_lisbon_turns(memory, 18)  # 8 pages overflow the short-term queue: one consolidation call
    assert len(fake.received) == 1
    segments = memory.export()["segments"]
    assert [(s["summary"], s["summary_source"], s["keywords"]) for s in segments] == [
        ("The user keeps hiking near Lisbon.", "llm", ["hiking", "lisbon"])]

    answer = memory.get_response("Where should I hike?")
    assert answer == "Try the Sintra trails this weekend."
    system, user = fake.received[-1]
    assert system.type == "system" and "Lisbon" not in system.text  # remembered data only in the user role
    assert user.type == "human" and "<memory>" in user.text and "Lisbon" in user.text and user.text.endswith("Where should I hike?")
    assert memory.list_memories()[-1].agent_response == answer
    assert memory.stats()["usage"]["by_operation"]["llm:consolidate"]["calls"] == 1


async def test_routing_model_drives_persona_and_async_response(tmp_path: Path) -> None:
    fake = RoutingFakeChatModel()
    memory = Memoryos(user_id="alice", data_storage_path=tmp_path, background=False, embedder=HashingEmbedder(1024),
                      llm=LangChainChatModel(fake))
    add_lisbon_turns(memory, 18)  # consolidation (offline), then a hot segment: persona update
    assert memory.get_user_profile().fields["location"] == "Lisbon"
    assert [f.text for f in memory.get_user_knowledge()] == ["The user lives in Lisbon."]
    assert "- The user lives in Lisbon (noted " in memory.retrieve("Where does the user live?").context
    answer = await memory.aget_response("Where should I hike next?")
    assert answer == "You could hike the Sintra trails."
    totals = memory.stats()["usage"]["totals"]
    assert totals["llm_calls"] >= 2  # persona, response (consolidation is offline by default)
    assert totals["prompt_tokens"] == 100 * totals["llm_calls"] and totals["completion_tokens"] == 10 * totals["llm_calls"]


# -- LangChainEmbeddings --------------------------------------------------------------------


class CountingEmbeddings(Embeddings):
    def __init__(self, size: int = 32) -> None:
        self.inner = DeterministicFakeEmbedding(size=size)
        self.queries = 0
        self.documents = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.queries += 1
        return self.inner.embed_query(text)


def test_embeddings_adapter_probes_dim_once_and_normalises() -> None:
    inner = CountingEmbeddings(48)
    embedder = LangChainEmbeddings(inner)
    assert isinstance(embedder, Embedder) and embedder.name == "langchain:CountingEmbeddings"
    assert embedder.dim == 48 and embedder.dim == 48 and inner.queries == 1
    vectors = embedder.embed(["alpha", "beta", "alpha"])
    assert vectors.shape == (3, 48) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2])
    assert embedder.embed([]).shape == (0, 48)
    assert LangChainEmbeddings(inner, dim=48, name="space-a").name == "space-a"

    with pytest.raises(ValueError, match="dimensions"):
        LangChainEmbeddings(inner, dim=12).embed(["x"])
    with pytest.raises(TypeError):
        LangChainEmbeddings(object())  # type: ignore[arg-type]


async def test_embeddings_adapter_async() -> None:
    embedder = LangChainEmbeddings(DeterministicFakeEmbedding(size=16))
    vectors = await embedder.aembed(["one", "two"])
    assert vectors.shape == (2, 16) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors, embedder.embed(["one", "two"]))


def test_memoryos_runs_on_langchain_models_only(tmp_path: Path) -> None:
    embeddings = CountingEmbeddings(64)
    memory = Memoryos(user_id="alice", data_storage_path=tmp_path, background=False,
                      llm=LangChainChatModel(RoutingFakeChatModel()), embedder=LangChainEmbeddings(embeddings))
    memory.add_memory("I adopted a cat named Miso.", "Miso is a lovely name.")
    result = memory.retrieve("What is my cat called?")
    assert "Miso" in result.context and embeddings.documents >= 2
    assert memory.stats()["embedder"] == "langchain:CountingEmbeddings"
    assert memory.get_response("Any plans?") == "You could hike the Sintra trails."
    memory.close()
