"""Turn pairing: the user's message stored at once, completed by the answer (``memoryos_core.turns``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memoryos_core import HashingEmbedder, Memoryos, TurnPairing


@pytest.fixture
def memory(tmp_path: Path) -> Memoryos:
    m = Memoryos(user_id="ann", data_storage_path=tmp_path, embedder=HashingEmbedder(64), background=False)
    yield m
    m.close()


def test_question_stored_at_once_then_completed_by_the_answer(memory: Memoryos) -> None:
    pairing = TurnPairing(memory, {"source": "test"})
    asked = pairing.store_question("Where is Lisbon?")
    assert asked is not None and memory.recent_pages(1)[-1].id == asked.id and asked.meta == {"source": "test"}
    assert pairing.waiting_page() == asked
    answered = pairing.store_answer(asked.id, "In Portugal.")
    assert answered.id == asked.id and answered.agent_response == "In Portugal."
    assert pairing.waiting_page() is None and len(memory.list_memories()) == 1
    assert pairing.store_question("   ") is None and len(memory.list_memories()) == 1


def test_waiting_page_respects_the_window_start_and_the_question(memory: Memoryos) -> None:
    pairing = TurnPairing(memory)
    asked = pairing.store_question("Hello?")
    assert asked is not None
    assert pairing.waiting_page(question="Hello?") == asked
    assert pairing.waiting_page(question="Something else") is None
    assert pairing.waiting_page(after_seq=asked.seq) is None


def test_an_answer_without_its_page_is_kept_as_a_page_of_its_own(memory: Memoryos) -> None:
    pairing = TurnPairing(memory)
    asked = pairing.store_question("First?")
    assert asked is not None
    pairing.store_answer(asked.id, "One answer.")
    late = pairing.store_answer(asked.id, "A second writer's answer.")  # answered meanwhile
    assert late.id != asked.id and late.user_input == "" and late.agent_response == "A second writer's answer."
    gone = pairing.store_question("Deleted?")
    assert gone is not None
    memory.delete(gone.id)
    kept = pairing.store_answer(gone.id, "Still kept.")
    assert kept.agent_response == "Still kept." and kept.id != gone.id
    assert pairing.store_answer(None, "No page.").agent_response == "No page."
    assert [p.agent_response for p in memory.list_memories()].count("One answer.") == 1
