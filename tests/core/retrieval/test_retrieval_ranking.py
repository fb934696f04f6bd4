"""Page ranking: lexical, semantic and conversational evidence (``memoryos_core.retrieval.ranking``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from retrieval_support import DAY, T0, chat, make


def test_rare_words_win_over_embedding_noise(tmp_path: Path) -> None:
    memory = make(tmp_path)
    chat(memory, 20, T0)
    memory.add_memory("Ann: I finally fixed the carburetor of my old Vespa.", "Bob: Nice work!", timestamp=T0 + DAY)
    chat(memory, 20, T0 + 2 * DAY, topic="music")
    result = memory.retrieve("carburetor", top_k=3, max_context_tokens=400)
    assert "carburetor" in result.mid_term[0].page.text


def test_neighbouring_exchange_comes_along(tmp_path: Path) -> None:
    """The answer is one exchange after the words of the question."""
    memory = make(tmp_path)
    chat(memory, 15, T0)
    memory.add_memory("Bob: What did you paint last weekend?", "Ann: Guess!", timestamp=T0 + DAY)
    memory.add_memory("Ann: A sunrise over the lake, in bright orange.", "Bob: Beautiful.", timestamp=T0 + DAY + 60)
    chat(memory, 15, T0 + 2 * DAY, topic="music")
    result = memory.retrieve("What did Ann paint?", top_k=4, max_context_tokens=2000)
    assert "sunrise over the lake" in result.context


def test_a_named_date_favours_the_pages_of_that_day(tmp_path: Path) -> None:
    memory = make(tmp_path)
    chat(memory, 10, T0)
    chat(memory, 10, T0 + 30 * DAY)
    result = memory.retrieve("weather on 13 October, 2020", top_k=5, record_visits=False)  # T0 + 30 days
    assert result.mid_term and all(sp.page.timestamp >= T0 + 30 * DAY for sp in result.mid_term)


@pytest.mark.parametrize("top_k", [1, 7, 200])
def test_top_k_and_scores(tmp_path: Path, top_k: int) -> None:
    memory = make(tmp_path)
    chat(memory, 40, T0)
    result = memory.retrieve("weather take 17", top_k=top_k, max_context_tokens=3000, record_visits=False)
    assert 0 < len(result.mid_term) <= top_k
    scores = [sp.score for sp in result.mid_term]
    assert scores == sorted(scores, reverse=True) and all(0.0 < s < 1.0 for s in scores)
    assert "take 17." in result.mid_term[0].page.text
