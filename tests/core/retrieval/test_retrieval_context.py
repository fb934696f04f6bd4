"""The token-budgeted context (``memoryos_core.retrieval.context``)."""

from __future__ import annotations

import time
from pathlib import Path

from retrieval_support import DAY, T0, chat, day, make

from memoryos_core.storage.base import FactWrite
from memoryos_core import MemoryConfig, render_context
from memoryos_core.retrieval.render import short_date
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
        result.profile, [], [(sp, None) for sp in result.mid_term], [], [], budget).kept
    assert len(whole_only) < len(result.context_page_ids)  # without a focus fewer exchanges fit


def test_the_context_is_the_rendering_of_its_sections(tmp_path: Path) -> None:
    """Adapters read the sections; the text is made from them and from nothing else."""
    memory = make(tmp_path, short_term_capacity=4)
    memory.update_user_profile(name="Ann", city="Porto")
    chat(memory, 10, T0)
    memory.add_memory("I went hiking in the Alps.", "Sounds wonderful.", timestamp=T0 + DAY)
    result = memory.retrieve("What did Ann say about the weather and hiking?", top_k=50, max_context_tokens=800,
                             record_visits=False)
    sections = result.sections
    assert result.context == render_context(sections)
    assert sections.profile == {"city": "Porto", "name": "Ann"} and not sections.recent  # not live
    assert [x.page.page.id for x in sections.past] != [] and {x.page.page.id for x in sections.past} == set(
        result.context_page_ids)
    stamps = [(x.page.page.timestamp, x.page.page.seq) for x in sections.past]
    assert stamps == sorted(stamps)  # conversation order
    named = next(x for x in sections.past if "weather" in x.page.page.text)
    assert named.date == short_date(T0) and [u.speaker for u in named.utterances][0] == "Ann"
    hike = next(x for x in sections.past if "Alps" in x.page.page.text)
    assert [(u.role, u.speaker) for u in hike.utterances] == [("user", "User"), ("assistant", "Assistant")]


def test_recent_pages_can_be_left_out_of_the_sections(tmp_path: Path) -> None:
    memory = make(tmp_path, short_term_capacity=5)
    chat(memory, 8, time.time() - 600)
    result = memory.retrieve("weather", max_context_tokens=2000)
    recent = result.sections.recent
    assert recent and recent[-1].id == memory.recent_pages(1)[-1].id
    fewer = result.sections.without_recent({recent[-1].id})
    assert [p.id for p in fewer.recent] == [p.id for p in recent[:-1]]
    assert recent[-1].user_input not in render_context(fewer) and recent[-1].user_input in result.context


def test_knowledge_follows_the_conversation_and_only_where_it_bears_on_the_question(tmp_path: Path) -> None:
    """The reader gets the conversation first; knowledge about the user is left out of a question about
    the other person, and lines that share nothing with the question are left out; shown lines name Ann."""
    memory = make(tmp_path, config=MemoryConfig(short_term_capacity=4, knowledge_min_score=0.0))
    memory.add_memory("Ann: I love hiking in the mountains.", "Bob: I cook pasta every Sunday.", timestamp=T0)
    memory.add_memory("Ann: I work as a nurse at the children's hospital.", "Bob: That is a caring job.",
                      timestamp=T0 + DAY)
    chat(memory, 8, T0 + 2 * DAY)
    known_lines = ["User loves hiking in the mountains.", "User works as a nurse at a children's hospital."]
    vectors = memory.embedder.embed(known_lines, purpose="document")
    memory.store.write_facts(memory._scope_id, [
        FactWrite(op="add", kind="user", event="ADD", text=text, refers_to=T0, source="manual", embedding=vec)
        for text, vec in zip(known_lines, vectors)])
    about_ann = memory.retrieve("Does Ann love hiking in the mountains?", max_context_tokens=1500, record_visits=False)
    known = about_ann.sections.user_knowledge
    assert known and all("hik" in f.fact.text.lower() for f in known)  # the nurse line shares no word
    text = about_ann.context
    assert text.index("## Relevant past conversation") < text.index("## What is known about Ann")
    assert "- Ann loves hiking" in text and "User loves" not in text
    about_bob = memory.retrieve("What does Bob cook on Sundays?", max_context_tokens=1500, record_visits=False)
    assert about_bob.sections.user_knowledge == [] and "What is known about Ann" not in about_bob.context
    assert about_bob.sections.speakers == {"user": "Ann", "assistant": "Bob"}


def test_with_an_assistant_the_users_knowledge_personalises_without_a_shared_word(tmp_path: Path) -> None:
    """"Suggest a recipe" shares no word with "User is allergic to peanuts", yet the allergy must reach
    the model; the word gate is for transcripts between two named people."""
    memory = make(tmp_path, config=MemoryConfig(short_term_capacity=4, knowledge_min_score=0.0))
    for i in range(8):
        memory.add_memory(f"What is the weather like, take {i}?", f"Sunny again ({i}).", timestamp=T0 + 60 * i)
    line = "User is allergic to peanuts."
    memory.store.write_facts(memory._scope_id, [FactWrite(op="add", kind="user", event="ADD", text=line, refers_to=T0,
                                                          source="manual", embedding=memory.embedder.embed(
                                                              [line], purpose="document")[0])])
    result = memory.retrieve("Can you suggest a dinner recipe?", max_context_tokens=1500, record_visits=False)
    assert [f.fact.text for f in result.sections.user_knowledge] == [line]
