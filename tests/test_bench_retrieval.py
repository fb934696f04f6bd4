"""The retrieval changes made for the LoCoMo target: lexical index kept in step with the store,
time hints, conversation neighbours, date-grouped context, and the recent section only while live."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from memoryos_core import HashingEmbedder, Memoryos
from memoryos_core.retrieval import Focus, lexical_terms, one_side, short_date, time_hints
from memoryos_core.types import Page
from memoryos_core.tokens import TokenCounter

T0 = 1_600_000_000.0  # September 2020: long before "now", so the conversation is not live
DAY = 86400.0


def make(path: Path, **kwargs) -> Memoryos:
    kwargs.setdefault("embedder", HashingEmbedder(512))
    kwargs.setdefault("background", False)
    return Memoryos(user_id="ann", data_storage_path=path, **kwargs)


def chat(memory: Memoryos, n: int, start: float, topic: str = "weather") -> None:
    for i in range(n):
        memory.add_memory(f"Ann: Let's talk about the {topic} once more, take {i}.", f"Bob: Sure, {topic} again ({i}).",
                          timestamp=start + 60 * i)


def day(y: int, m: int, d: int) -> float:
    return datetime(y, m, d, tzinfo=timezone.utc).timestamp()


def test_time_hints() -> None:
    [h] = time_hints("What did Maria do on 3 June, 2023?")
    assert h.matches(day(2023, 6, 3) + 3600) and h.matches(day(2023, 6, 5)) and not h.matches(day(2023, 6, 9))
    [h] = time_hints("What painting did she show on October 13, 2023?")
    assert h.matches(day(2023, 10, 13)) and not h.matches(day(2023, 11, 13))
    [h] = time_hints("What did he donate in December 2023?")
    assert h.matches(day(2023, 12, 24)) and h.matches(day(2024, 1, 5)) and not h.matches(day(2023, 11, 30))
    [h] = time_hints("When did Melanie go camping in June?")
    assert h.matches(day(2021, 6, 10)) and h.matches(day(2023, 7, 2)) and not h.matches(day(2023, 8, 1))
    assert time_hints("May I ask what you did?") == []
    assert time_hints("What happened in 2023?") == []


def test_lexical_terms_and_short_date() -> None:
    assert lexical_terms("Caroline's pottery classes!") == lexical_terms("caroline pottery class")
    assert len(lexical_terms("Caroline's pottery classes!")) == 3 and lexical_terms("the and of it") == []
    assert short_date(day(2023, 5, 8) + 13 * 3600) == "8 May 2023"


def test_lexical_index_follows_adds_updates_and_deletes(tmp_path: Path) -> None:
    memory = make(tmp_path)
    page = memory.add_memory("I adopted a beagle called Zorblax.", "What a name!", timestamp=T0)
    chat(memory, 30, T0 + 600)
    assert "Zorblax" in memory.retrieve("Zorblax", max_context_tokens=300).context
    memory.update(page.id, user_input="I adopted a beagle called Quimby.")
    context = memory.retrieve("Quimby beagle", max_context_tokens=300).context
    assert "Quimby" in context and "Zorblax" not in context
    memory.delete(page.id)
    assert "Quimby" not in memory.retrieve("Quimby beagle", max_context_tokens=300).context
    memory.add_memory("My sister Yolanda visits in spring.", "Lovely.", timestamp=T0 + DAY)
    assert "Yolanda" in memory.retrieve("Yolanda", max_context_tokens=300).context


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


def test_context_groups_pages_by_date_and_respects_the_budget(tmp_path: Path) -> None:
    memory = make(tmp_path)
    chat(memory, 12, T0)
    chat(memory, 12, T0 + 3 * DAY)
    result = memory.retrieve("weather", top_k=50, max_context_tokens=600, record_visits=False)
    assert result.context_tokens == TokenCounter("gpt-4o-mini").count(result.context) <= 600
    body = result.context.split("## Relevant past conversation\n", 1)[1]
    dates = [line for line in body.splitlines() if line.startswith("[")]
    assert dates and dates == sorted(set(dates), key=dates.index)  # one line per day
    assert set(dates) <= {f"[{short_date(T0)}]", f"[{short_date(T0 + 3 * DAY)}]"}
    # every side starts with a speaker name, so the role labels are left out
    assert "User: " not in body and "Ann: Let's talk" in body


def test_recent_section_only_while_the_conversation_is_live(tmp_path: Path) -> None:
    old = make(tmp_path / "old", short_term_capacity=5)
    chat(old, 12, T0)
    context = old.retrieve("weather", max_context_tokens=2000).context
    assert "## Recent conversation" not in context and "## Relevant past conversation" in context
    assert len(old.retrieve("weather").short_term) == 5  # the short-term pages are still reported

    live = make(tmp_path / "live", short_term_capacity=5)
    now = time.time()
    chat(live, 12, now - 3600)
    context = live.retrieve("weather", max_context_tokens=2000).context
    assert context.rstrip().split("\n\n")[-1].startswith("## Recent conversation")


@pytest.mark.parametrize("top_k", [1, 7, 200])
def test_top_k_and_scores(tmp_path: Path, top_k: int) -> None:
    memory = make(tmp_path)
    chat(memory, 40, T0)
    result = memory.retrieve("weather take 17", top_k=top_k, max_context_tokens=3000, record_visits=False)
    assert 0 < len(result.mid_term) <= top_k
    scores = [sp.score for sp in result.mid_term]
    assert scores == sorted(scores, reverse=True) and all(0.0 < s < 1.0 for s in scores)
    assert "take 17." in result.mid_term[0].page.text


def page(user: str, assistant: str) -> Page:
    return Page(id="p", user_input=user, agent_response=assistant, timestamp=T0, tier="mid", segment_id=None,
                meta={}, created_at=T0, seq=1)


def test_focus_picks_the_side_a_question_is_about() -> None:
    named = page("Ann: I went hiking in the Alps.", "Bob: Nice! I stayed home and baked bread.")
    assert Focus.of("Where did Ann go hiking?").side(named) == "user"
    assert Focus.of("What did Bob bake?").side(named) == "assistant"
    assert Focus.of("What did Ann and Bob do?").side(named) is None  # both named, no word tips it
    assert Focus.of("What did Ann and Bob bake?").side(named) == "assistant"  # then the shared words decide
    roles = page("I adopted a cat called Miso.", "Lovely, cats are great company.")
    assert Focus.of("what is my cat called?").side(roles) == "user"  # first person: the user's side
    assert Focus.of("what did you say about company?").side(roles) == "assistant"
    assert Focus.of("Which pet was adopted?").side(roles) == "user"  # no person: the shared words decide
    assert Focus.of("Ann?").side(page("Ann: hello", "")) is None  # one side only: nothing to choose
    half = one_side(named, "assistant")
    assert half.user_input == "" and half.agent_response == named.agent_response and half.id == named.id


def test_past_the_best_exchanges_only_the_telling_side_is_shown(tmp_path: Path) -> None:
    """Half the past-conversation budget goes to whole exchanges; then an exchange shows only the side
    of the speaker the question names, so more of that speaker's words fit in the budget."""
    memory = make(tmp_path)
    for i in range(40):
        memory.add_memory(f"Ann: My garden news, part {i}: the tomatoes grew {i} centimetres this week.",
                          f"Bob: Wonderful to hear about the garden, Ann. My own week was spent fixing the car, "
                          f"the roof and the fence, item {i}.", timestamp=T0 + 600 * i)
    budget = 700
    result = memory.retrieve("What did Ann say about her garden tomatoes?", top_k=100, max_context_tokens=budget,
                             record_visits=False)
    assert result.context_tokens == TokenCounter("gpt-4o-mini").count(result.context) <= budget
    body = result.context.split("## Relevant past conversation\n", 1)[1]
    ann = [line for line in body.splitlines() if line.startswith("Ann: ")]
    bob = [line for line in body.splitlines() if line.startswith("Bob: ")]
    assert bob and len(ann) > len(bob)  # the best exchanges whole, the rest by Ann's side only
    assert len(result.context_page_ids) == len(ann)  # every exchange shown is reported, halves included
    whole_only = memory.retriever.assemble(
        result.profile, [], [(sp, None) for sp in result.mid_term], [], [], budget)[2]
    assert len(whole_only) < len(result.context_page_ids)  # without a focus fewer exchanges fit
