"""MemoryOSRetriever: every tier as NodeWithScore, sync and async, in a query engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.base.llms.types import MessageRole
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, TextNode

from memoryos_core import Memoryos
from memoryos_llamaindex import MemoryOSRetriever

from llamaindex_support import RecordingLLM

FACT = "My cat is called Miso and she loves sardines."


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    """A memory with pages in mid-term and short-term, user and assistant knowledge, and a profile."""
    mp = pytest.MonkeyPatch()
    mp.delenv("OPENAI_API_KEY", raising=False)
    m = Memoryos(user_id="rita", data_storage_path=tmp_path_factory.mktemp("retriever"), background=False)
    m.add_memory(FACT, "Noted.", timestamp="2025-01-01T10:00:00")
    for i in range(19):  # overflow short-term by a batch: the oldest 8 pages are consolidated into mid-term
        m.add_memory(f"Tell me about topic {i} of astronomy", "Here you go.", timestamp=f"2025-01-02T10:{i:02d}:00")
    m.update_user_profile(name="Rita", likes=["cats", "sardines"])
    m.import_data({"format": "memoryos-export/1", "facts": [
        {"kind": "user", "text": "The user has an orange cat named Miso.", "refers_to": 1735725600.0},
        {"kind": "assistant", "text": "The assistant recommended an automatic cat feeder."}]})
    yield m
    m.close()
    mp.undo()


QUERY = "What is my cat called?"


def test_nodes_from_every_tier(seeded: Memoryos) -> None:
    assert seeded.stats()["tiers"]["mid_term"] > 0
    nodes = MemoryOSRetriever(memoryos=seeded, record_visits=False).retrieve(QUERY)
    assert all(isinstance(n.node, TextNode) for n in nodes)
    tiers = [n.node.metadata["tier"] for n in nodes]
    assert {"mid_term", "short_term", "user_knowledge", "assistant_knowledge", "profile"} <= set(tiers)

    top = nodes[0]  # best match: the page where the user said it, from mid-term
    page = seeded.list_memories()[0]
    assert top.node.node_id == page.id == top.node.metadata["memory_id"]
    assert top.node.metadata["tier"] == "mid_term" and top.node.metadata["source"] == "relevant"
    assert top.node.metadata["timestamp"] == "2025-01-01T10:00:00+00:00"
    assert top.node.metadata["segment_id"] == page.segment_id and page.segment_id
    summary = top.node.metadata.get("segment_summary")  # the topic summary, when the core provides one
    assert summary is None or (isinstance(summary, str) and summary)
    assert top.score == top.node.metadata["score"] and top.score > 0.3
    assert top.node.get_content() == f"User: {FACT}\nAssistant: Noted."

    scored = [n.score for n in nodes if n.score is not None]
    assert scored == sorted(scored, reverse=True) and len(scored) == tiers.index("profile")
    # Every page reaches the persona, so the cat page's own fact may rank beside the imported one.
    fact = next(n for n in nodes if n.node.metadata["tier"] == "user_knowledge"
                and n.node.get_content() == "The user has an orange cat named Miso.")
    assert fact.node.node_id.startswith("ft_") and fact.node.metadata["timestamp"] == "2025-01-01T10:00:00+00:00"
    profile = next(n for n in nodes if n.node.metadata["tier"] == "profile")
    shown = profile.node.get_content().splitlines()
    assert profile.score is None and "- likes: cats, sardines" in shown and "- name: Rita" in shown
    recent = [n for n in nodes if n.node.metadata.get("source") == "recent"]
    assert len(recent) == seeded.config.short_term_capacity and all(n.score is None for n in recent)
    stamps = [n.node.metadata["timestamp"] for n in recent]
    assert stamps == sorted(stamps) and recent[-1].node.get_content().startswith("User: Tell me about topic 18")

    # what an LLM sees: tier and time, not ids and scores
    shown = top.node.get_content(metadata_mode=MetadataMode.LLM)
    assert "tier: mid_term" in shown and "timestamp:" in shown and "memory_id" not in shown and "score" not in shown


async def test_async_matches_sync(seeded: Memoryos) -> None:
    retriever = MemoryOSRetriever(memoryos=seeded, record_visits=False)
    sync = retriever.retrieve(QUERY)
    async_nodes = await retriever.aretrieve(QUERY)
    assert [n.node.node_id for n in async_nodes] == [n.node.node_id for n in sync]
    assert retriever.last_result is not None and retriever.last_result.query == QUERY


def test_options(seeded: Memoryos, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = seeded.retrieve
    monkeypatch.setattr(seeded, "retrieve", lambda q, **kw: calls.append(kw) or real(q, **kw))
    retriever = MemoryOSRetriever(memoryos=seeded, top_k=1, max_context_tokens=300, include_short_term=False,
                                  include_profile=False, include_knowledge=False)
    nodes = retriever.retrieve(QUERY)
    assert [n.node.metadata["tier"] for n in nodes] == ["mid_term"]
    assert calls == [{"top_k": 1, "max_context_tokens": 300, "record_visits": True}]
    assert retriever.retrieve("   ") == []
    with pytest.raises(ValueError):
        MemoryOSRetriever(memoryos=seeded, top_k=0)


def test_in_a_query_engine(seeded: Memoryos) -> None:
    llm = RecordingLLM()
    engine = RetrieverQueryEngine.from_args(MemoryOSRetriever(memoryos=seeded, record_visits=False), llm=llm)
    response = engine.query(QUERY)
    assert str(response) == "Your cat is called Miso."
    prompt = llm.chats[-1]
    # the default chat QA template puts retrieved context in the user message
    assert prompt[-1].role == MessageRole.USER and FACT in prompt[-1].content
    assert response.source_nodes[0].node.metadata["tier"] == "mid_term"


def test_owns_a_memoryos_built_from_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    retriever = MemoryOSRetriever(user_id="sam", data_storage_path=tmp_path / "s", background=False)
    retriever.memoryos.add_memory("I play the cello.", "Lovely!")
    assert [n.node.metadata["tier"] for n in retriever.retrieve("What instrument do I play?")] == ["short_term"]
    retriever.close()
    assert retriever.memoryos._closed
