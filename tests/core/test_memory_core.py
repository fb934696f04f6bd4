"""The engine end to end, offline: tiers, heat, persona, retrieval, management verbs, isolation."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from memoryos_core import (
    HashingEmbedder,
    InvalidInputError,
    LLMNotConfiguredError,
    Memoryos,
    NotFoundError,
    StoreError,
)
from memoryos_core.tokens import TokenCounter

DAY = 86400.0
T0 = 1_600_000_000.0  # September 2020: an "old" conversation, far from wall-clock now


def make(path: Path, user: str = "alice", **kwargs) -> Memoryos:
    kwargs.setdefault("embedder", HashingEmbedder(1024))
    kwargs.setdefault("background", False)
    return Memoryos(user_id=user, data_storage_path=path, **kwargs)


def filler(memory: Memoryos, n: int, start: float, topic: str = "weather") -> None:
    for i in range(n):
        memory.add_memory(f"Let's chat about the {topic} number {i}.", f"Sure, {topic} {i} is interesting.",
                          timestamp=start + i * 60)


def test_short_term_keeps_latest_pages_in_order(tmp_path: Path) -> None:
    memory = make(tmp_path)
    for i in range(5):
        memory.add_memory(f"message {i}", f"reply {i}", timestamp=T0 + i)
    result = memory.retrieve("message")
    assert [p.user_input for p in result.short_term] == [f"message {i}" for i in range(5)]
    assert all(p.tier == "short" for p in result.short_term)


def test_overflow_consolidates_every_page_into_exactly_one_segment(tmp_path: Path) -> None:
    memory = make(tmp_path, short_term_capacity=10)
    filler(memory, 30, T0)
    assert memory.flush()
    pages = memory.list_memories(limit=1000)
    assert len(pages) == 30
    mid = [p for p in pages if p.tier == "mid"]
    short = [p for p in pages if p.tier == "short"]
    assert len(mid) >= 16 and len(short) >= 10  # batches of 8 left the newest 10..17 in short-term
    assert all(p.segment_id for p in mid)
    assert all(p.segment_id is None for p in short)
    segments = memory.store.list_segments(memory._scope_id, memory.heat)
    assert sum(s.segment.page_count for s in segments) == len(mid)
    assert all(s.segment.summary and s.segment.keywords for s in segments)
    assert all(s.segment.summary_source == "heuristic" for s in segments)


def test_retrieve_finds_a_fact_beyond_the_short_term_window(tmp_path: Path) -> None:
    memory = make(tmp_path)
    memory.add_memory("I adopted a beagle called Biscuit.", "Biscuit is a lovely name!", timestamp=T0)
    filler(memory, 25, T0 + 100)
    result = memory.retrieve("What is the name of my beagle?", max_context_tokens=400)
    assert "Biscuit" in result.context
    assert result.mid_term and "Biscuit" in result.mid_term[0].page.text
    assert result.mid_term[0].segment_id is not None
    assert result.context_tokens == TokenCounter("gpt-4o-mini").count(result.context)
    assert result.context_tokens <= 400


def test_context_respects_small_budgets(tmp_path: Path) -> None:
    memory = make(tmp_path)
    filler(memory, 40, T0)
    for budget in (50, 120, 300):
        result = memory.retrieve("weather number 3", max_context_tokens=budget, top_k=30)
        assert result.context_tokens <= budget
        assert result.context_tokens == TokenCounter("gpt-4o-mini").count(result.context)


def test_heat_uses_conversation_time_and_visits(tmp_path: Path) -> None:
    memory = make(tmp_path, mid_term_heat_threshold=100.0)  # no analysis: watch raw heat
    filler(memory, 20, T0)
    memory.flush()
    segments = memory.store.list_segments(memory._scope_id, memory.heat)
    assert segments
    # Recency is measured against the conversation clock (2020), not today's wall clock.
    for s in segments:
        age = (T0 + 19 * 60) - s.segment.last_active
        assert 0 <= age < DAY
        recency = s.segment.heat - s.segment.visits - s.segment.fresh_pages
        assert recency > 0.9
    before = {s.segment.id: s.segment.visits for s in segments}
    memory.retrieve("weather number 2")
    waiting = memory.retriever.visits.waiting
    unwritten = {s.segment.id: s.segment.visits for s in memory.store.list_segments(memory._scope_id, memory.heat)}
    assert waiting > 0 and unwritten == before  # no write on the read path...
    memory.flush()  # ...the worker's next pass writes the visits
    after = {s.segment.id: s.segment.visits for s in memory.store.list_segments(memory._scope_id, memory.heat)}
    assert sum(after.values()) == sum(before.values()) + waiting and memory.retriever.visits.waiting == 0


def test_hot_segment_updates_profile_and_knowledge_offline(tmp_path: Path) -> None:
    memory = make(tmp_path, mid_term_heat_threshold=3.0)
    memory.add_memory("My name is Alice and I live in Lisbon.", "Nice to meet you, Alice!", timestamp=T0)
    memory.add_memory("I work as a nurse at the city hospital.", "That must be demanding.", timestamp=T0 + 60)
    memory.add_memory("I love trail running on weekends.", "Great way to unwind.", timestamp=T0 + 120)
    filler(memory, 20, T0 + 200)
    memory.flush()
    # Retrievals heat the segment that holds the persona pages.
    for _ in range(4):
        memory.retrieve("Alice Lisbon nurse trail running")
    memory.flush()
    profile = memory.get_user_profile()
    knowledge = [f.text for f in memory.get_user_knowledge()]
    assert profile.fields.get("location") == "Lisbon"
    assert any("Lisbon" in k for k in knowledge)
    assert any("nurse" in k for k in knowledge)
    assert all(f.source == "heuristic" for f in memory.get_user_knowledge())


def test_newer_exclusive_fact_supersedes_older_and_history_keeps_both(tmp_path: Path) -> None:
    memory = make(tmp_path, mid_term_heat_threshold=1.0, short_term_capacity=1)
    memory.config  # capacity 1: pages leave short-term quickly
    memory.add_memory("I live in Lisbon.", "Lovely city.", timestamp=T0)
    filler(memory, 9, T0 + 60, topic="music")
    memory.flush()
    memory.add_memory("I moved to Porto last week.", "Congratulations on the move!", timestamp=T0 + 30 * DAY)
    filler(memory, 9, T0 + 30 * DAY + 60, topic="books")
    memory.flush()
    active = [f for f in memory.get_user_knowledge() if f.slot == "location"]
    assert [f.text for f in active] == [t for t in (f.text for f in active) if "Porto" in t] and active
    history = memory.history()
    events = [(h.event, h.old_value or "", h.new_value or "") for h in history if h.target_kind == "fact"]
    assert any(e == "SUPERSEDE" and "Lisbon" in old for e, old, _ in events)
    assert any(e == "ADD" and "Porto" in new for e, _, new in events)
    assert memory.get_user_profile().fields["location"] == "Porto"


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    memory = make(tmp_path)
    memory.add_memory("My favourite colour is teal.", "Noted!", timestamp=T0)
    filler(memory, 20, T0 + 60)
    memory.close()
    again = make(tmp_path)
    assert len(again.list_memories(limit=100)) == 21
    assert "teal" in again.retrieve("favourite colour", max_context_tokens=500).context


def test_users_never_see_each_other(tmp_path: Path) -> None:
    alice = make(tmp_path, "alice")
    bob = make(tmp_path, "bob")
    page = alice.add_memory("My secret code is 4242.", "I'll keep it safe.", timestamp=T0)
    filler(alice, 20, T0 + 60)
    bob.add_memory("I like tea.", "Tea is nice.", timestamp=T0)
    assert "4242" not in bob.retrieve("secret code").context
    assert all("4242" not in r["memory"] for r in bob.search("secret code")["results"])
    with pytest.raises(NotFoundError):
        bob.get(page.id)
    with pytest.raises(NotFoundError):
        bob.delete(page.id)
    bob.delete_all()
    assert alice.get(page.id).user_input == "My secret code is 4242."


def test_same_user_different_assistants_are_separate(tmp_path: Path) -> None:
    a = make(tmp_path, "carol", assistant_id="coach")
    b = make(tmp_path, "carol", assistant_id="chef")
    a.add_memory("My marathon goal is 3h30.", "Let's train for it.", timestamp=T0)
    assert b.list_memories() == []


@pytest.mark.parametrize("bad", ["", "../../etc/passwd", "a/b", "x" * 200, " leading", "trailing ", "tab\there",
                                 "nul\x00", "bell\x07", None, 42])
def test_bad_ids_are_rejected(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InvalidInputError):
        make(tmp_path, bad)  # type: ignore[arg-type]


def test_bad_input_gets_clear_errors(tmp_path: Path) -> None:
    memory = make(tmp_path)
    with pytest.raises(InvalidInputError, match="NUL"):
        memory.add_memory("x\x00y", "ok")  # long text is clipped, not rejected (test_text_limits.py)
    with pytest.raises(InvalidInputError, match="both empty"):
        memory.add_memory("  ", "")
    with pytest.raises(InvalidInputError, match="timestamp"):
        memory.add_memory("hi", "hello", timestamp="not a date")
    with pytest.raises(InvalidInputError, match="meta_data"):
        memory.add_memory("hi", "hello", meta_data={"x": object()} | {"y": set()})  # type: ignore[dict-item]
    with pytest.raises(InvalidInputError, match="query"):
        memory.retrieve("")
    assert memory.list_memories() == []  # nothing was written by the failures


def test_one_sided_exchanges_are_kept(tmp_path: Path) -> None:
    memory = make(tmp_path)
    memory.add_memory("Just saying hi", "", timestamp=T0)
    memory.add_memory("", "Welcome back!", timestamp=T0 + 1)
    assert [p.text for p in memory.list_memories()] == ["User: Just saying hi", "Assistant: Welcome back!"]


def test_get_response_without_llm_explains_how_to_configure(tmp_path: Path) -> None:
    memory = make(tmp_path)
    with pytest.raises(LLMNotConfiguredError, match="openai_api_key"):
        memory.get_response("hello")


def test_update_delete_and_history(tmp_path: Path) -> None:
    memory = make(tmp_path)
    page = memory.add_memory("I drive a red car.", "Nice.", timestamp=T0)
    filler(memory, 20, T0 + 60)
    updated = memory.update(page.id, user_input="I drive a blue car.")
    assert updated.user_input == "I drive a blue car."
    assert "blue car" in memory.retrieve("what colour is my car", max_context_tokens=600).context
    history = memory.history(page.id)
    assert [h.event for h in history] == ["UPDATE"]
    assert "red car" in (history[0].old_value or "") and "blue car" in (history[0].new_value or "")
    memory.delete(page.id)
    with pytest.raises(NotFoundError):
        memory.get(page.id)
    assert all(r["id"] != page.id for r in memory.search("blue car", limit=50)["results"])
    assert [h.event for h in memory.history(page.id)] == ["UPDATE", "DELETE"]


def test_delete_all_erases_every_copy(tmp_path: Path) -> None:
    memory = make(tmp_path, mid_term_heat_threshold=1.0)
    memory.add_memory("My name is Zed and I live in Oslo.", "Hi Zed!", timestamp=T0)
    filler(memory, 20, T0 + 60)
    memory.flush()
    assert memory.get_user_knowledge()
    other = make(tmp_path, "someone_else")
    other.add_memory("I live in Rome.", "Ciao!", timestamp=T0)
    memory.delete_all()
    assert memory.list_memories() == [] and memory.get_user_knowledge() == [] and memory.history() == []
    assert not memory.get_user_profile().fields
    memory.store.close()
    conn = sqlite3.connect(tmp_path / "memoryos.db")
    dump = "\n".join(conn.iterdump())
    assert "Oslo" not in dump and "Zed" not in dump
    assert "Rome" in dump
    # The memory keeps working after the wipe.
    again = make(tmp_path)
    again.add_memory("fresh start", "ok", timestamp=T0)
    assert len(again.list_memories()) == 1


def test_export_import_round_trip(tmp_path: Path) -> None:
    memory = make(tmp_path, mid_term_heat_threshold=1.0)
    memory.add_memory("My name is Ana and I live in Madrid.", "Hola Ana!", timestamp=T0, meta_data={"session": 1})
    filler(memory, 20, T0 + 60)
    memory.flush()
    assert memory.get_user_profile().fields.get("location") == "Madrid"
    data = json.loads(json.dumps(memory.export()))
    assert data["format"] == "memoryos-export/1" and len(data["pages"]) == 21
    clone = make(tmp_path, "ana_copy")
    assert clone.import_data(data) == 21
    assert [p.text for p in clone.list_memories(limit=100)] == [p.text for p in memory.list_memories(limit=100)]
    assert clone.list_memories()[0].meta == {"session": 1}
    assert {f.text for f in clone.get_user_knowledge()} >= {f.text for f in memory.get_user_knowledge()}
    assert clone.get_user_profile().fields.get("location") == "Madrid"
    with pytest.raises(InvalidInputError):
        clone.import_data({"pages": []})


def test_mid_term_capacity_archives_coldest_segments(tmp_path: Path) -> None:
    memory = make(tmp_path, mid_term_capacity=2, short_term_capacity=2)
    topics = [["astronomy", "telescopes", "galaxies", "nebula"], ["sourdough", "baking", "flour", "oven"],
              ["chess", "openings", "gambit", "endgame"], ["kayak", "rapids", "paddle", "river"],
              ["jazz", "piano", "chords", "improvisation"]]
    t = T0
    for words in topics:
        for i in range(6):
            memory.add_memory(f"{words[i % 4]} {words[(i + 1) % 4]}", f"{words[(i + 2) % 4]} {words[(i + 3) % 4]}", timestamp=t)
            t += 3600
    memory.flush()
    segments = memory.store.list_segments(memory._scope_id, memory.heat)
    assert len(segments) <= 2
    archived = memory.list_memories(tier="archived", limit=1000)
    assert archived  # evicted from mid-term but not lost
    assert len(memory.list_memories(limit=1000)) == 30


def test_stats_report_tiers_usage_and_mode(tmp_path: Path) -> None:
    memory = make(tmp_path)
    filler(memory, 12, T0)
    memory.retrieve("weather")
    stats = memory.stats()
    assert stats["mode"] == "offline-heuristic"
    assert stats["tiers"]["short_term"] + stats["tiers"]["mid_term"] == 12
    assert stats["usage"]["totals"]["llm_calls"] == 0
    assert stats["usage"]["by_operation"]["embedding:query"]["calls"] == 1


def test_recent_pages_and_completing_a_one_sided_page(tmp_path: Path) -> None:
    memory = make(tmp_path)
    for i in range(12):
        memory.add_memory(f"msg {i}", f"re {i}", timestamp=T0 + i)
    assert [p.user_input for p in memory.recent_pages()] == [f"msg {i}" for i in range(2, 12)]
    assert [p.user_input for p in memory.recent_pages(3)] == ["msg 9", "msg 10", "msg 11"]
    open_page = memory.add_memory("Is the museum open on Mondays?", "", timestamp=T0 + 100)
    done = memory.complete_page(open_page.id, "Yes, from 10 to 18.")
    assert done.agent_response == "Yes, from 10 to 18." and done.id == open_page.id
    with pytest.raises(InvalidInputError, match="already has a response"):
        memory.complete_page(open_page.id, "Again")
    assert [h.event for h in memory.history(open_page.id)] == ["COMPLETE"]
    assert "museum" in memory.retrieve("museum opening hours").context


def test_context_page_ids_are_the_pages_in_the_context(tmp_path: Path) -> None:
    memory = make(tmp_path)
    filler(memory, 40, T0)
    result = memory.retrieve("weather number 7", top_k=20, max_context_tokens=200)
    assert result.context_page_ids
    by_id = {sp.page.id: sp.page for sp in result.mid_term}
    assert all(by_id[pid].user_input in result.context for pid in result.context_page_ids)
    left_out = [sp.page for sp in result.mid_term if sp.page.id not in result.context_page_ids]
    assert left_out and all(p.user_input not in result.context for p in left_out)


def test_nul_characters_are_rejected(tmp_path: Path) -> None:
    memory = make(tmp_path)
    with pytest.raises(InvalidInputError, match="NUL"):
        memory.add_memory("bad\x00byte", "ok")


def test_a_deleted_users_id_is_never_handed_to_another_user(tmp_path: Path) -> None:
    stale = make(tmp_path, "gone")
    stale.add_memory("I am about to be forgotten.", "Ok.", timestamp=T0)
    make(tmp_path, "gone").delete_all()  # another instance erases the user
    newcomer = make(tmp_path, "newcomer")
    with pytest.raises(StoreError, match="deleted"):
        stale.add_memory("A late write from a process that still holds the old scope.", "Ok.", timestamp=T0 + 1)
    newcomer.add_memory("Hello, I am new here.", "Welcome!", timestamp=T0 + 2)
    assert [p.user_input for p in newcomer.list_memories()] == ["Hello, I am new here."]
    assert all("late write" not in r["memory"] for r in newcomer.search("late write")["results"])
    assert make(tmp_path, "gone").list_memories() == []
