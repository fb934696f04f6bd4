"""The token-budgeted context (``memoryos_core.retrieval.context``)."""

from __future__ import annotations

import time
from pathlib import Path

from retrieval_support import DAY, T0, chat, day, make

from memoryos_core.retrieval.context import short_date
from memoryos_core.tokens import TokenCounter


def test_short_date() -> None:
    assert short_date(day(2023, 5, 8) + 13 * 3600) == "8 May 2023"


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
    whole_only = memory.retriever.assembler.assemble(
        result.profile, [], [(sp, None) for sp in result.mid_term], [], [], budget)[2]
    assert len(whole_only) < len(result.context_page_ids)  # without a focus fewer exchanges fit
