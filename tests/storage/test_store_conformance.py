"""One storage contract, every backend: the same tests run against SQLite and PostgreSQL.

Each test gets a fresh store from the ``store`` fixture (a temporary SQLite folder, or a fresh
schema on the session's throwaway PostgreSQL server; that half is skipped with the reason when
no server binaries exist). The engine-level tests at the end drive ``Memoryos`` on both, and one
runs the same conversation on both backends and requires identical outcomes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from memoryos_core import HashingEmbedder, InvalidInputError, Memoryos, NotFoundError, StoreError
from memoryos_core.config import MemoryConfig
from memoryos_core.storage import ConflictError, PostgresStore, SQLiteStore, open_store
from memoryos_core.policy import HeatParams, Policy
from memoryos_core.storage.base import FactWrite, ItemWrite, Job, PageRow, SegmentWrite

pytest_plugins = ["pg_server"]

DIM = 16
T0 = 1_600_000_000.0
DAY = 86400.0
CFG = MemoryConfig()


def heat(threshold: float = 5.0) -> HeatParams:
    return HeatParams(CFG.heat_alpha, CFG.heat_beta, CFG.heat_gamma, CFG.recency_tau_seconds, threshold)


def policy(threshold: float = 5.0, *, capacity: int = 100, knowledge: int = 100) -> Policy:
    """The rules the engine hands a store: heat at ``threshold``, ``capacity`` live segments, ``knowledge`` facts."""
    return Policy(heat(threshold), short_term_capacity=100, consolidation_batch=8, mid_term_capacity=capacity,
                  knowledge_capacity=knowledge)


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store lives: a SQLite folder or a DSN onto an empty PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("pg_dsn")


@pytest.fixture
def store(location: str) -> Iterator[Any]:
    s = open_store(location)
    yield s
    s.close()


def add(store: Any, sid: int, text: str, ts: float, *, embedding: np.ndarray | None = None, capacity: int = 100,
        batch: int = 8, meta: dict[str, Any] | None = None) -> tuple[Any, bool]:
    return store.add_page(sid, user_input=text, agent_response=f"re: {text}", timestamp=ts, meta=meta or {},
                          tokens=len(text.split()), embedding=embedding, consolidate_at=capacity + batch)


def claim(store: Any, sid: int, owner: str = "w1", lease: float = 60.0) -> Job:
    job = store.claim_job(sid, owner, lease)
    assert job is not None
    return job


def consolidate(store: Any, sid: int, groups: list[list[PageRow]], *, capacity: int = 100, threshold: float = 5.0,
                rids: list[int | None] | None = None, owner: str = "w1") -> list[str]:
    """Run one consolidation job moving ``groups`` of pages into (new or given) segments."""
    store.enqueue(sid, "consolidate")
    job = claim(store, sid, owner)
    writes = []
    for i, group in enumerate(groups):
        total = np.sum([r.embedding if r.embedding is not None else vec(r.rid) for r in group], axis=0)
        writes.append(SegmentWrite(rid=(rids or [None] * len(groups))[i], summary=f"topic {i}: " + group[0].page.user_input,
                                   keywords=[f"kw{i}", "shared"], summary_source="heuristic",
                                   page_rids=[r.rid for r in group], added_vec_sum=total.astype(np.float32),
                                   last_active=max(r.page.timestamp for r in group)))
    return store.apply_consolidation(sid, job, owner, writes, policy(threshold, capacity=capacity))


def pages_in_short(store: Any, sid: int, n: int = 1000) -> list[PageRow]:
    return [r for r in store.overflow_pages(sid, 1, n)]


# -- scopes ---------------------------------------------------------------------------------


def test_open_store_picks_the_backend(store: Any, location: str) -> None:
    assert isinstance(store, PostgresStore if location.startswith("postgresql://") else SQLiteStore)


def test_scopes_are_created_once_and_isolated(store: Any) -> None:
    a = store.scope("alice", "coach")
    assert store.scope("alice", "coach") == a
    assert store.scope("alice", "coach", create=False) == a
    assert store.scope("nobody", "coach", create=False) is None
    b = store.scope("alice", "chef")
    c = store.scope("bob", "coach")
    assert len({a, b, c}) == 3
    state = store.scope_state(a)
    assert (state.scope_id, state.clock, state.vec_counter, state.vector_epoch) == (a, 0.0, 0, 0)


def test_deleted_scope_reports_clearly(store: Any) -> None:
    sid = store.scope("gone", "a")
    add(store, sid, "hello", T0)
    assert store.delete_user("gone") == 1
    with pytest.raises(StoreError, match="deleted"):
        store.scope_state(sid)
    with pytest.raises(StoreError, match="deleted"):
        add(store, sid, "again", T0)
    fresh = store.scope("gone", "a")  # opening again starts afresh
    assert store.scope_state(fresh).clock == 0.0 and store.list_pages(fresh, tier=None, limit=10, offset=0) == []


def test_a_deleted_users_scope_refuses_every_write(store: Any) -> None:
    """A process still holding a deleted user's scope id must not write into it: every write raises
    StoreError and leaves no row behind, on every backend."""
    sid = store.scope("gone", "a")
    page, _ = add(store, sid, "hello", T0, embedding=vec(1))
    rid = store.get_page(sid, page.id).rid
    store.enqueue(sid, "consolidate")
    job = claim(store, sid)
    assert store.delete_user("gone") == 1
    fact = FactWrite(op="add", kind="user", event="ADD", text="a fact", source="manual", embedding=vec(3))
    writes = {
        "add_page": lambda: add(store, sid, "again", T0),
        "set_page_embeddings": lambda: store.set_page_embeddings(sid, [(rid, vec(2))]),
        "update_page": lambda: store.update_page(sid, page.id, user_input="x", agent_response="y", tokens=1,
                                                 embedding=vec(2)),
        "delete_page": lambda: store.delete_page(sid, page.id),
        "set_profile_fields": lambda: store.set_profile_fields(sid, {"name": "Ghost"}, policy()),
        "write_facts": lambda: store.write_facts(sid, [fact]),
        "enqueue": lambda: store.enqueue(sid, "persona"),
        "retry_failed_jobs": lambda: store.retry_failed_jobs(sid),
        "record_visits": lambda: store.record_visits(sid, [1], heat()),
        "save_lexicon_snapshot": lambda: store.save_lexicon_snapshot(sid, watermark=9, epoch=0, data=b"x"),
        "apply_consolidation": lambda: store.apply_consolidation(sid, job, "w1", [], policy()),
        "apply_persona": lambda: store.apply_persona(sid, job, "w1", page_rids=[], fact_writes=[fact],
                                                     profile_changes={"name": "Ghost"}, policy=policy()),
    }
    for name, write in writes.items():
        with pytest.raises(StoreError, match="deleted"):
            write()
    assert store.profile(sid).fields == {} and store.facts(sid, active_only=False) == []
    assert store.history(sid) == [] and store.open_jobs(sid) == []
    assert store.list_pages(sid, tier=None, limit=10, offset=0) == []
    assert set(store.counts(sid).values()) == {0}
    assert store.scope("gone", "a", create=False) is None


# -- pages ----------------------------------------------------------------------------------


def test_add_page_orders_advances_clock_and_round_trips(store: Any) -> None:
    sid = store.scope("alice", "a")
    meta = {"session": 3, "tags": ["x", "ü"], "nested": {"k": None}}
    stamps = [T0 + 50, T0 + 10, T0 + 90, T0 + 20, T0 + 30]
    pages = [add(store, sid, f"message {i} ünïcode", ts, meta=meta)[0] for i, ts in enumerate(stamps)]
    assert [p.seq for p in pages] == [1, 2, 3, 4, 5]
    assert all(p.tier == "short" and p.segment_id is None and p.meta == meta for p in pages)
    assert store.scope_state(sid).clock == T0 + 90  # the latest conversation time, not the last one
    short = store.short_term(sid, 3)
    assert [r.page.user_input for r in short] == [f"message {i} ünïcode" for i in (2, 3, 4)]
    assert all(isinstance(r, PageRow) and r.segment_rid is None for r in short)
    got = store.get_page(sid, pages[0].id)
    assert got.page.id == pages[0].id and got.page.meta == meta and got.page.timestamp == T0 + 50
    assert got.page.agent_response == "re: message 0 ünïcode" and got.tokens == 3 and got.embedding is None
    assert got.page.created_at == pytest.approx(pages[0].created_at)


def test_overflow_enqueues_one_consolidation_job(store: Any) -> None:
    sid = store.scope("alice", "a")
    flags = [add(store, sid, f"m{i}", T0 + i, capacity=3, batch=2)[1] for i in range(7)]
    assert flags == [False, False, False, False, True, False, False]
    jobs = store.open_jobs(sid)
    assert [(j["kind"], j["status"], j["attempts"]) for j in jobs] == [("consolidate", "pending", 0)]
    over = store.overflow_pages(sid, 3, 100)
    assert [r.page.user_input for r in over] == ["m0", "m1", "m2", "m3"]
    assert [r.page.user_input for r in store.overflow_pages(sid, 3, 2)] == ["m0", "m1"]
    assert store.overflow_pages(sid, 50, 100) == []


def test_a_resent_add_or_embedding_batch_changes_nothing_more(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL resends a retry-safe batch whose connection died, not knowing whether it committed:
    sending one twice must leave what sending it once leaves."""
    sid = store.scope("alice", "a")
    add(store, sid, "first", T0, capacity=0, batch=1)
    db = store._db
    sent = db.write_batch

    def twice(statements: Any, *, retry_safe: bool = False) -> Any:
        assert retry_safe
        sent(statements, retry_safe=retry_safe)
        return sent(statements, retry_safe=retry_safe)

    monkeypatch.setattr(db, "write_batch", twice)
    page, _ = add(store, sid, "second", T0 + 5, embedding=vec(1), capacity=0, batch=1)
    rid = store.get_page(sid, page.id).rid
    first = store.list_pages(sid, tier=None, limit=10, offset=0)[0]
    store.set_page_embeddings(sid, [(store.get_page(sid, first.id).rid, vec(2))])
    monkeypatch.undo()
    pages = store.list_pages(sid, tier=None, limit=10, offset=0)
    assert [(p.user_input, p.seq) for p in pages] == [("first", 1), ("second", 2)] and page.seq == 2
    assert store.scope_state(sid).clock == T0 + 5 and [j["kind"] for j in store.open_jobs(sid)] == ["consolidate"]
    np.testing.assert_allclose(store.get_page(sid, page.id).embedding, vec(1))
    np.testing.assert_allclose(store.get_page(sid, first.id).embedding, vec(2))
    rids, _, _ = store.vectors_since(sid, "pages", 0)
    assert sorted(rids.tolist()) == sorted([rid, store.get_page(sid, first.id).rid])
    assert add(store, sid, "third", T0 + 6)[0].seq == 3


def test_embeddings_backlog_and_vector_counter(store: Any) -> None:
    sid = store.scope("alice", "a")
    p1, _ = add(store, sid, "first", T0)
    p2, _ = add(store, sid, "second", T0 + 1)
    assert store.scope_state(sid).vec_counter == 0
    pending = store.unembedded_pages(sid, 10)
    assert [text for _, text in pending] == ["User: first\nAssistant: re: first", "User: second\nAssistant: re: second"]
    assert store.unembedded_pages(sid, 1) == pending[:1]
    store.set_page_embeddings(sid, [(rid, vec(rid)) for rid, _ in pending])
    assert store.scope_state(sid).vec_counter == 2
    assert store.unembedded_pages(sid, 10) == []
    # A second writer embedding the same pages changes nothing (first one wins).
    store.set_page_embeddings(sid, [(pending[0][0], vec(999))])
    np.testing.assert_array_equal(store.get_page(sid, p1.id).embedding, vec(pending[0][0]))
    rids, vectors, top = store.vectors_since(sid, "pages", 0)
    assert sorted(rids.tolist()) == sorted(r for r, _ in pending) and vectors.shape == (2, DIM) and top == 2
    p3, _ = add(store, sid, "third", T0 + 2, embedding=vec(3))
    state = store.scope_state(sid)
    assert state.vec_counter == 4  # 2 + the unused reservation of the ignored write + 1
    rids, vectors, top = store.vectors_since(sid, "pages", 2)
    assert rids.tolist() == [store.get_page(sid, p3.id).rid] and top == 4
    np.testing.assert_allclose(vectors[0], vec(3))
    assert store.vectors_since(sid, "pages", top)[0].size == 0
    assert store.counts(sid)["unembedded"] == 0


def test_page_reads_respect_scope(store: Any) -> None:
    a = store.scope("alice", "a")
    b = store.scope("bob", "a")
    pa = [add(store, a, f"alice {i}", T0 + i, embedding=vec(i))[0] for i in range(5)]
    pb, _ = add(store, b, "bob 0", T0)
    rid_b = store.get_page(b, pb.id).rid
    with pytest.raises(NotFoundError):
        store.get_page(a, pb.id)
    rids_a = [store.get_page(a, p.id).rid for p in pa]
    got = store.pages_by_rids(a, [*rids_a[:2], rid_b])
    assert sorted(r.page.id for r in got) == sorted(p.id for p in pa[:2])
    assert store.pages_by_rids(a, []) == []
    assert [p.user_input for p in store.list_pages(a, tier=None, limit=2, offset=1)] == ["alice 1", "alice 2"]
    assert [p.user_input for p in store.list_pages(a, tier="short", limit=100, offset=0)] == [f"alice {i}" for i in range(5)]
    assert store.list_pages(a, tier="mid", limit=100, offset=0) == []
    assert store.list_pages(a, tier=None, limit=0, offset=0) == []


# -- consolidation ---------------------------------------------------------------------------


def test_consolidation_moves_every_page_into_exactly_one_segment(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(6):
        add(store, sid, f"page {i}", T0 + i * 60, embedding=vec(i))
    short = pages_in_short(store, sid)
    assert len(short) == 5  # the newest stays
    created = consolidate(store, sid, [short[:3], short[3:5]])
    assert len(created) == 2 and all(c.startswith("sg_") for c in created)
    segs = store.list_segments(sid, heat())
    assert [s.segment.id for s in segs] == created
    assert [s.segment.page_count for s in segs] == [3, 2]
    assert segs[0].segment.keywords == ["kw0", "shared"] and segs[0].segment.summary == "topic 0: page 0"
    assert segs[0].segment.fresh_pages == 3 and segs[0].segment.last_active == T0 + 120
    np.testing.assert_allclose(segs[0].vec_sum, vec(0) + vec(1) + vec(2), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(segs[0].centroid), 1.0, rtol=1e-5)
    pages = store.list_pages(sid, tier=None, limit=100, offset=0)
    assert [p.tier for p in pages] == ["mid"] * 5 + ["short"]
    assert [p.segment_id for p in pages[:5]] == [created[0]] * 3 + [created[1]] * 2
    assert store.open_jobs(sid) == []
    # The same pages cannot be consolidated twice.
    with pytest.raises(ConflictError):
        consolidate(store, sid, [short[:1]])
    assert store.open_jobs(sid)[0]["status"] == "running"  # the caller releases it (worker does)
    # Segment reads.
    by_rid = store.segments_by_rids(sid, [s.rid for s in segs], heat())
    assert {s.segment.id for s in by_rid} == set(created)
    assert all(s.segment.heat > 0 for s in by_rid)
    members = store.segment_members(sid, [segs[0].rid])
    assert sorted(members) == sorted((r.rid, segs[0].rid) for r in short[:3])
    assert store.segment_members(store.scope("bob", "a"), [segs[0].rid]) == []
    assert [(r.page.segment_id, r.segment_rid) for r in store.pages_by_rids(sid, [r.rid for r in short[3:5]])] == [
        (created[1], segs[1].rid)] * 2
    seg_rids, seg_vecs, _ = store.vectors_since(sid, "segments", 0)
    assert sorted(seg_rids.tolist()) == sorted(s.rid for s in segs)


def test_consolidation_grows_an_existing_segment(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(4):
        add(store, sid, f"page {i}", T0 + i * 60, embedding=vec(i))
    short = pages_in_short(store, sid)
    consolidate(store, sid, [short[:2]])
    seg = store.list_segments(sid, heat())[0]
    counter = store.scope_state(sid).vec_counter
    assert consolidate(store, sid, [short[2:3]], rids=[seg.rid]) == []
    grown = store.list_segments(sid, heat())[0]
    assert grown.rid == seg.rid and grown.segment.page_count == 3 and grown.segment.fresh_pages == 3
    np.testing.assert_allclose(grown.vec_sum, seg.vec_sum + short[2].embedding, rtol=1e-5)
    assert store.scope_state(sid).vec_counter == counter + 1
    rids, _, _ = store.vectors_since(sid, "segments", counter)
    assert rids.tolist() == [seg.rid]


def test_consolidation_rejects_a_page_in_two_segments(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(3):
        add(store, sid, f"page {i}", T0 + i, embedding=vec(i))
    short = pages_in_short(store, sid)
    with pytest.raises(ValueError, match="two segments"):
        consolidate(store, sid, [short[:2], short[1:2]])
    assert all(p.tier == "short" for p in store.list_pages(sid, tier=None, limit=10, offset=0))


def test_lost_lease_means_conflict_and_nothing_written(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(3):
        add(store, sid, f"page {i}", T0 + i, embedding=vec(i))
    short = pages_in_short(store, sid)
    store.enqueue(sid, "consolidate")
    slow = store.claim_job(sid, "slow", -1.0)  # lease already expired
    fast = store.claim_job(sid, "fast", 60.0)  # takes it over
    assert slow is not None and fast is not None and slow.id == fast.id
    write = SegmentWrite(rid=None, summary="s", keywords=[], summary_source="heuristic", page_rids=[short[0].rid],
                         added_vec_sum=short[0].embedding, last_active=T0)
    with pytest.raises(ConflictError):
        store.apply_consolidation(sid, slow, "slow", [write], policy(capacity=10))
    store.release_job(slow, "slow", "conflict", time.time(), give_up=False)  # not the owner: no effect
    assert store.open_jobs(sid)[0]["status"] == "running" and store.list_segments(sid, heat()) == []
    write.rid, write.id = None, None
    store.apply_consolidation(sid, fast, "fast", [write], policy(capacity=10))
    assert store.open_jobs(sid) == [] and len(store.list_segments(sid, heat())) == 1
    with pytest.raises(ConflictError):
        store.finish_job(slow, "slow")


def test_capacity_archives_the_coldest_segments(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(4):
        add(store, sid, f"page {i}", T0 + i * DAY, embedding=vec(i))
    short = pages_in_short(store, sid)
    consolidate(store, sid, [[p] for p in short[:3]], capacity=2, threshold=100.0)
    segs = store.list_segments(sid, heat(), include_archived=True)
    archived = [s for s in segs if s.segment.archived]
    assert len(archived) == 1 and archived[0].segment.last_active == T0  # the oldest is the coldest
    assert len(store.list_segments(sid, heat())) == 2
    assert [p.user_input for p in store.list_pages(sid, tier="archived", limit=10, offset=0)] == ["page 0"]
    assert store.scope_state(sid).vector_epoch == 1
    assert archived[0].rid not in store.live_vector_ids(sid, "segments")
    assert short[0].rid not in store.live_vector_ids(sid, "pages")
    assert short[1].rid in store.live_vector_ids(sid, "pages")
    assert [h.event for h in store.history(sid, archived[0].segment.id)] == ["ARCHIVE"]
    # Archived pages still get their persona analysis.
    assert [j["kind"] for j in store.open_jobs(sid)] == ["persona"]
    assert [r.page.user_input for r in store.persona_batch(sid, heat(100.0), 10)] == ["page 0"]
    counts = store.counts(sid)
    assert (counts["archived"], counts["mid_term"], counts["short_term"], counts["segments"]) == (1, 2, 1, 2)


def test_visits_heat_segments_and_enqueue_persona(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(3):
        add(store, sid, f"page {i}", T0 + i * 60, embedding=vec(i))
    consolidate(store, sid, [pages_in_short(store, sid)], threshold=100.0)
    add(store, sid, "later", T0 + 10 * DAY)
    seg = store.list_segments(sid, heat(100.0))[0]
    assert store.open_jobs(sid) == []
    store.record_visits(sid, [seg.rid], heat(100.0))
    store.record_visits(sid, [], heat(100.0))
    seen = store.list_segments(sid, heat(100.0))[0]
    assert seen.segment.visits == 1 and seen.segment.last_active == T0 + 10 * DAY  # the conversation clock
    assert store.open_jobs(sid) == []
    store.record_visits(sid, [seen.rid], heat(3.0))  # visits 2 + fresh 2 + recency 1 >= 3
    assert [j["kind"] for j in store.open_jobs(sid)] == ["persona"]
    assert store.list_segments(sid, heat(3.0))[0].segment.visits == 2
    store.record_visits(sid, [seen.rid, seen.rid, seen.rid], heat(100.0))  # a batch: a rid n times counts n
    assert store.list_segments(sid, heat(100.0))[0].segment.visits == 5


# -- persona --------------------------------------------------------------------------------


def _hot_segment(store: Any, sid: int, n: int = 4) -> list[PageRow]:
    for i in range(n + 1):
        add(store, sid, f"I live in city {i}", T0 + i * 60, embedding=vec(i))
    short = pages_in_short(store, sid)
    consolidate(store, sid, [short], threshold=1.0)
    return short


def test_persona_writes_facts_profile_and_resets_heat(store: Any) -> None:
    sid = store.scope("alice", "a")
    short = _hot_segment(store, sid)
    assert [j["kind"] for j in store.open_jobs(sid)] == ["persona"]
    batch = store.persona_batch(sid, heat(1.0), 2)
    assert [r.page.user_input for r in batch] == ["I live in city 0", "I live in city 1"]
    assert store.persona_batch(sid, heat(1000.0), 10) == []  # not hot enough
    job = claim(store, sid)
    writes = [
        FactWrite(op="add", kind="user", event="ADD", text="User lives in city 0", slot="location", refers_to=T0,
                  source="heuristic", source_pages=[batch[0].page.id], embedding=vec(100)),
        FactWrite(op="add", kind="assistant", event="ADD", text="Assistant recommended maps", source="heuristic",
                  source_pages=[batch[1].page.id], embedding=vec(101)),
    ]
    store.apply_persona(sid, job, "w1", page_rids=[r.rid for r in batch], fact_writes=writes,
                        profile_changes={"location": "city 0", "likes": ["maps"]}, policy=policy(0.5, knowledge=10))
    user = store.facts(sid, "user")
    assert [(f.fact.text, f.fact.slot, f.fact.refers_to, f.fact.source_page_ids) for f in user] == [
        ("User lives in city 0", "location", T0, [batch[0].page.id])]
    assert [f.fact.text for f in store.facts(sid, "assistant")] == ["Assistant recommended maps"]
    assert len(store.facts(sid)) == 2
    assert store.get_fact(sid, user[0].fact.id).rid == user[0].rid
    np.testing.assert_allclose(store.facts_by_rids(sid, [user[0].rid])[0].embedding, vec(100))
    with pytest.raises(NotFoundError):
        store.get_fact(store.scope("bob", "a"), user[0].fact.id)
    assert store.profile(sid).fields == {"location": "city 0", "likes": ["maps"]}
    analysed = {r.page.id: r.page.analyzed for r in store.pages_by_rids(sid, [r.rid for r in short])}
    assert sum(analysed.values()) == 2
    seg = store.list_segments(sid, heat(1.0))[0]
    # fresh_pages counts the pages still unanalysed; visits reset after analysis.
    assert (seg.segment.fresh_pages, seg.segment.visits) == (len(short) - 2, 0)
    # Unanalysed pages remain and the segment is still hot (recency alone >= 0.5): the job re-enqueued itself.
    assert [j["kind"] for j in store.open_jobs(sid)] == ["persona"]
    assert store.counts(sid)["user_knowledge"] == 1 and store.counts(sid)["assistant_knowledge"] == 1
    rids, _, _ = store.vectors_since(sid, "facts_user", 0)
    assert rids.tolist() == [user[0].rid]
    events = [(h.target_kind, h.event) for h in store.history(sid)]
    assert ("fact", "ADD") in events and ("profile", "ADD") in events
    # Analysing the same pages again is a conflict.
    job2 = claim(store, sid)
    with pytest.raises(ConflictError):
        store.apply_persona(sid, job2, "w1", page_rids=[batch[0].rid], fact_writes=[], profile_changes={},
                            policy=policy(1.0, knowledge=10))


def test_knowledge_capacity_evicts_the_oldest(store: Any) -> None:
    sid = store.scope("alice", "a")
    _hot_segment(store, sid, 2)
    job = claim(store, sid)
    writes = [FactWrite(op="add", kind="user", event="ADD", text=f"fact {i}", source="heuristic", embedding=vec(i))
              for i in range(3)]
    store.apply_persona(sid, job, "w1", page_rids=[], fact_writes=writes, profile_changes={},
                        policy=policy(1.0, knowledge=2))
    assert [f.fact.text for f in store.facts(sid, "user")] == ["fact 1", "fact 2"]
    assert [f.fact.text for f in store.facts(sid, "user", active_only=False)] == ["fact 0", "fact 1", "fact 2"]
    assert [h.event for h in store.history(sid) if h.target_kind == "fact"] == ["ADD", "ADD", "ADD", "EVICT"]
    assert store.scope_state(sid).vector_epoch >= 1
    assert len(store.live_vector_ids(sid, "facts_user")) == 2


def test_manual_fact_edits(store: Any) -> None:
    sid = store.scope("alice", "a")
    store.write_facts(sid, [FactWrite(op="add", kind="user", event="IMPORT", text=f"fact {i}", source="manual",
                                      source_pages=["pg_a"], embedding=vec(i)) for i in range(3)])
    facts = store.facts(sid, "user")
    epoch = store.scope_state(sid).vector_epoch
    store.write_facts(sid, [FactWrite(op="update", kind="user", event="UPDATE", rid=facts[0].rid, text="fact zero",
                                      source="manual", source_pages=["pg_b"], embedding=vec(10))])
    updated = store.get_fact(sid, facts[0].fact.id)
    assert updated.fact.text == "fact zero" and updated.fact.source_page_ids == ["pg_a", "pg_b"]
    assert store.scope_state(sid).vector_epoch == epoch + 1
    store.write_facts(sid, [FactWrite(op="retire", kind="user", event="SUPERSEDE", rid=facts[1].rid, text="by fact 3")])
    store.write_facts(sid, [FactWrite(op="delete", kind="user", event="DELETE", rid=facts[2].rid)])
    store.write_facts(sid, [FactWrite(op="delete", kind="user", event="DELETE", rid=facts[2].rid)])  # gone: no-op
    assert [f.fact.text for f in store.facts(sid, "user")] == ["fact zero"]
    assert [f.active for f in store.facts(sid, "user", active_only=False)] == [True, False]
    assert [(h.event, h.old_value, h.new_value) for h in store.history(sid, facts[1].fact.id)] == [
        ("IMPORT", None, "fact 1"), ("SUPERSEDE", "fact 1", "by fact 3")]
    assert [h.event for h in store.history(sid, facts[2].fact.id)] == ["IMPORT", "DELETE"]
    with pytest.raises(NotFoundError):
        store.get_fact(sid, facts[2].fact.id)


def test_profile_fields_merge_with_history(store: Any) -> None:
    sid = store.scope("alice", "a")
    assert store.profile(sid).fields == {} and store.profile(sid).updated_at is None
    store.set_profile_fields(sid, policy=policy(), changes={"name": "Alice", "likes": ["tea"]})
    p = store.set_profile_fields(sid, policy=policy(), changes={"name": "Alicia", "likes": ["tea", "chess"], "city": ""})
    assert p.fields == {"name": "Alicia", "likes": ["tea", "chess"]} and p.updated_at
    p = store.set_profile_fields(sid, policy=policy(), changes={"name": None})
    assert p.fields == {"likes": ["tea", "chess"]}
    assert [(h.target_id, h.event) for h in store.history(sid)] == [
        ("name", "ADD"), ("likes", "ADD"), ("name", "UPDATE"), ("likes", "UPDATE"), ("name", "DELETE")]
    assert json.loads(store.history(sid, "name")[1].old_value) == "Alice"


def test_update_and_delete_page_keep_segments_and_facts_consistent(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(4):
        add(store, sid, f"page {i}", T0 + i, embedding=vec(i))
    short = pages_in_short(store, sid)
    consolidate(store, sid, [short[:2], short[2:3]], threshold=100.0)
    seg_a, seg_b = store.list_segments(sid, heat())
    page = short[0].page
    store.write_facts(sid, [
        FactWrite(op="add", kind="user", event="ADD", text="only from page 0", source="heuristic",
                  source_pages=[page.id], embedding=vec(50)),
        FactWrite(op="add", kind="user", event="ADD", text="from pages 0 and 1", source="heuristic",
                  source_pages=[page.id, short[1].page.id], embedding=vec(51))])
    epoch = store.scope_state(sid).vector_epoch
    updated = store.update_page(sid, page.id, user_input="page zero", agent_response="edited", tokens=2,
                                embedding=vec(70))
    assert (updated.user_input, updated.agent_response, updated.segment_id) == ("page zero", "edited", seg_a.segment.id)
    assert store.scope_state(sid).vector_epoch == epoch + 1
    grown = store.segments_by_rids(sid, [seg_a.rid])[0]
    np.testing.assert_allclose(grown.vec_sum, seg_a.vec_sum - short[0].embedding + vec(70), rtol=1e-4, atol=1e-5)
    assert [h.event for h in store.history(sid, page.id)] == ["UPDATE"]
    assert json.loads(store.history(sid, page.id)[0].old_value)["user_input"] == "page 0"
    store.delete_page(sid, page.id)
    with pytest.raises(NotFoundError):
        store.get_page(sid, page.id)
    with pytest.raises(NotFoundError):
        store.delete_page(sid, page.id)
    assert [f.fact.text for f in store.facts(sid, "user")] == ["from pages 0 and 1"]
    assert store.segments_by_rids(sid, [seg_a.rid])[0].segment.page_count == 1
    assert [h.event for h in store.history(sid, page.id)] == ["UPDATE", "DELETE"]
    store.delete_page(sid, short[2].page.id)  # the last page of seg_b: the segment goes too
    assert [s.rid for s in store.list_segments(sid, heat(), include_archived=True)] == [seg_a.rid]
    assert seg_b.rid not in store.live_vector_ids(sid, "segments")
    with pytest.raises(NotFoundError):
        store.update_page(store.scope("bob", "a"), short[1].page.id, user_input="x", agent_response="y", tokens=1,
                          embedding=vec(1))


# -- jobs -----------------------------------------------------------------------------------


def test_job_claim_order_backoff_give_up_and_retry(store: Any) -> None:
    sid = store.scope("alice", "a")
    assert store.enqueue(sid, "persona") is True
    assert store.enqueue(sid, "persona") is False  # one open job per kind and scope
    assert store.enqueue(sid, "consolidate") is True
    first = store.claim_job(sid, "w1", 60)
    second = store.claim_job(sid, "w2", 60)
    assert (first.kind, second.kind) == ("consolidate", "persona")  # consolidation first
    assert store.claim_job(sid, "w3", 60) is None  # both leased
    store.release_job(first, "w1", "boom", time.time() + 3600, give_up=False)
    assert store.claim_job(sid, "w3", 60) is None  # backing off
    job = {j["kind"]: j for j in store.open_jobs(sid)}["consolidate"]
    assert (job["status"], job["attempts"], job["last_error"]) == ("pending", 1, "boom")
    store.release_job(second, "w2", "x" * 5000, time.time(), give_up=True)
    failed = {j["kind"]: j for j in store.open_jobs(sid)}["persona"]
    assert failed["status"] == "failed" and len(failed["last_error"]) == 2000
    counts = store.counts(sid)
    assert (counts["pending_jobs"], counts["failed_jobs"]) == (1, 1)
    assert store.enqueue(sid, "persona") is True  # a failed job is not open
    store.delete_user("alice")
    sid = store.scope("alice", "a")
    store.enqueue(sid, "persona")
    job = store.claim_job(sid, "w1", 60)
    store.release_job(job, "w1", "down", time.time(), give_up=True)
    assert store.retry_failed_jobs(sid) == 1
    again = store.claim_job(sid, "w1", 60)
    assert again is not None and again.attempts == 0
    store.finish_job(again, "w1")
    assert store.open_jobs(sid) == []


def test_expired_or_orphaned_leases_are_taken_over(store: Any) -> None:
    sid = store.scope("alice", "a")
    store.enqueue(sid, "consolidate")
    job = store.claim_job(sid, "host|111-dead", 60)
    assert store.claim_job(sid, "other", 60) is None
    assert store.claim_job(sid, "other", 60, owner_is_dead=lambda owner: owner == "host|222") is None
    taken = store.claim_job(sid, "other", 60, owner_is_dead=lambda owner: owner == "host|111-dead")
    assert taken is not None and taken.id == job.id
    with pytest.raises(ConflictError):
        store.finish_job(job, "host|111-dead")
    store.finish_job(taken, "other")
    assert store.open_jobs(sid) == []


def test_retry_failed_jobs_with_two_failures_of_one_kind(store: Any) -> None:
    sid = store.scope("alice", "a")
    for _ in range(2):
        store.enqueue(sid, "persona")
        job = store.claim_job(sid, "w1", 60)
        store.release_job(job, "w1", "down", time.time(), give_up=True)
    assert store.retry_failed_jobs(sid) == 1
    assert sorted(j["status"] for j in store.open_jobs(sid)) == ["failed", "pending"]


# -- vectors, management --------------------------------------------------------------------


def test_vector_tables_follow_tiers_and_facts(store: Any) -> None:
    sid = store.scope("alice", "a")
    for i in range(3):
        add(store, sid, f"page {i}", T0 + i, embedding=vec(i))
    store.write_facts(sid, [FactWrite(op="add", kind=k, event="ADD", text=f"{k} fact", source="manual",
                                      embedding=vec(20 + n)) for n, k in enumerate(("user", "assistant"))])
    live = {t: store.live_vector_ids(sid, t) for t in ("pages", "segments", "facts_user", "facts_assistant")}
    assert len(live["pages"]) == 3 and live["segments"] == set()
    assert len(live["facts_user"]) == 1 and len(live["facts_assistant"]) == 1
    assert live["facts_user"] != live["facts_assistant"]
    for table in ("facts_user", "facts_assistant"):
        rids, vectors, top = store.vectors_since(sid, table, 0)
        assert set(rids.tolist()) == live[table] and vectors.shape == (1, DIM) and top <= store.scope_state(sid).vec_counter
    other = store.scope("bob", "a")
    assert store.vectors_since(other, "pages", 0)[0].size == 0 and store.live_vector_ids(other, "pages") == set()


def test_counts_export_and_delete_user(store: Any) -> None:
    a = store.scope("alice", "coach")
    a2 = store.scope("alice", "chef")
    b = store.scope("bob", "coach")
    for i in range(4):
        add(store, a, f"alice secret {i}", T0 + i, embedding=vec(i), meta={"i": i})
    consolidate(store, a, [pages_in_short(store, a)[:2]], threshold=1.0)
    store.write_facts(a, [FactWrite(op="add", kind="user", event="ADD", text="alice fact", source="manual",
                                    embedding=vec(9))])
    store.set_profile_fields(a, {"name": "Alice"}, policy())
    add(store, a2, "alice at the chef", T0)
    add(store, b, "bob's page", T0)
    counts = store.counts(a)
    assert counts == {"short_term": 2, "mid_term": 2, "archived": 0, "segments": 1, "user_knowledge": 1,
                      "assistant_knowledge": 0, "unembedded": 0, "pending_jobs": 1, "failed_jobs": 0}
    data = store.export_rows(a)
    assert [p["user_input"] for p in data["pages"]] == [f"alice secret {i}" for i in range(4)]
    assert data["pages"][0]["meta"] == {"i": 0} and data["pages"][0]["segment_id"] == data["segments"][0]["id"]
    assert data["segments"][0]["page_count"] == 2 and data["segments"][0]["heat"] == 0.0
    assert [(f["text"], f["active"]) for f in data["facts"]] == [("alice fact", True)]
    assert data["profile"]["fields"] == {"name": "Alice"}
    assert [h["event"] for h in data["history"]] == ["ADD", "ADD"]
    json.dumps(data)  # JSON-ready
    assert store.delete_user("alice") == 2
    assert store.delete_user("alice") == 0
    assert store.scope("alice", "coach", create=False) is None and store.scope("alice", "chef", create=False) is None
    assert [p.user_input for p in store.list_pages(b, tier=None, limit=10, offset=0)] == ["bob's page"]
    assert store.counts(a) == {"short_term": 0, "mid_term": 0, "archived": 0, "segments": 0, "user_knowledge": 0,
                               "assistant_knowledge": 0, "unembedded": 0, "pending_jobs": 0, "failed_jobs": 0}


def test_reopen_keeps_data_and_schema_version(location: str) -> None:
    s = open_store(location)
    sid = s.scope("alice", "a")
    page, _ = add(s, sid, "persisted", T0, embedding=vec(1))
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.scope_state(sid)
    again = open_store(location)
    try:
        assert again.scope("alice", "a", create=False) == sid
        assert again.get_page(sid, page.id).page.user_input == "persisted"
        assert again.scope_state(sid).vec_counter == 1
    finally:
        again.close()


def test_newer_schema_is_refused(location: str) -> None:
    s = open_store(location)
    s.close()
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("INSERT INTO schema_migrations VALUES (99, 0)")
    else:
        import sqlite3

        with sqlite3.connect(Path(location) / "memoryos.db") as conn:
            conn.execute("INSERT INTO schema_migrations VALUES (99, 0)")
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(location)


def _raw(location: str, *statements: str) -> list[Any]:
    """Run SQL on the store's database directly; the rows of the last statement."""
    rows: list[Any] = []
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            for sql in statements:
                cur = conn.execute(sql)
                rows = cur.fetchall() if cur.description else []
    else:
        import sqlite3

        with sqlite3.connect(Path(location) / "memoryos.db") as conn:
            for sql in statements:
                rows = conn.execute(sql).fetchall()
    return rows


def _backend(location: str) -> Any:
    from memoryos_core.storage import postgres, sqlite

    return postgres if location.startswith("postgresql://") else sqlite


def test_schema_is_created_at_the_latest_version(location: str) -> None:
    open_store(location).close()
    module = _backend(location)
    assert [v for (v,) in _raw(location, "SELECT version FROM schema_migrations ORDER BY version")] == [
        m.version for m in module.MIGRATIONS]
    assert module.SCHEMA_VERSION == module.MIGRATIONS[-1].version >= 2
    open_store(location).close()  # reopening applies nothing twice
    assert len(_raw(location, "SELECT version FROM schema_migrations")) == len(module.MIGRATIONS)


#: Takes the facts-with-time migration back (the columns it added), to rebuild an older store.
UNDO_FACT_VALIDITY = ("ALTER TABLE facts DROP COLUMN valid_until", "ALTER TABLE facts DROP COLUMN superseded_by")


def test_a_version_1_store_is_upgraded_in_place(location: str) -> None:
    s = open_store(location)
    sid = s.scope("alice", "a")
    for i in range(4):
        add(s, sid, f"page {i}", T0 + i, embedding=vec(i))
    consolidate(s, sid, [pages_in_short(s, sid)[:3]], threshold=100.0)
    s.close()
    # Take the store back to what migration 1 alone produced.
    if location.startswith("postgresql://"):  # (migration 2's functions are gone since migration 4)
        _raw(location, "DROP TABLE items", *UNDO_FACT_VALIDITY, "DELETE FROM schema_migrations WHERE version > 1")
    else:
        _raw(location, "DROP INDEX pages_scope_seq", "DROP INDEX segments_fresh", "UPDATE segments SET fresh_pages = 0",
             "DROP TABLE items", *UNDO_FACT_VALIDITY, "DELETE FROM schema_migrations WHERE version > 1")
    again = open_store(location)
    try:
        assert [v for (v,) in _raw(location, "SELECT version FROM schema_migrations ORDER BY version")] == [
            m.version for m in _backend(location).MIGRATIONS]
        assert [p.user_input for p in again.list_pages(sid, tier=None, limit=10, offset=0)] == [f"page {i}" for i in range(4)]
        assert again.list_segments(sid, heat())[0].segment.fresh_pages == 3  # recounted on SQLite, kept on PostgreSQL
        page, _ = add(again, sid, "after the upgrade", T0 + 10, embedding=vec(10))
        assert page.seq == 5 and again.scope_state(sid).vec_counter >= 6
        again.write_items([ItemWrite(sid, "m", "k", {"v": 1})], now=T0)  # migration 3 created the items table
        assert again.get_item(sid, "m", "k", T0).value == {"v": 1}
        assert again.past_facts(sid) == []  # the facts-with-time columns are back
    finally:
        again.close()


def test_migration_steps_are_checked() -> None:
    from memoryos_core.storage.base import Migration, pending_migrations

    steps = [Migration(1, "a", lambda: []), Migration(2, "b", lambda: [])]
    assert [m.version for m in pending_migrations(0, steps, "x")] == [1, 2]
    assert [m.version for m in pending_migrations(1, steps, "x")] == [2]
    assert pending_migrations(2, steps, "x") == []
    with pytest.raises(StoreError, match="schema version 3"):
        pending_migrations(3, steps, "x")
    for bad in ([steps[1]], [steps[0], steps[0]], [steps[1], steps[0]], []):
        with pytest.raises(ValueError):
            pending_migrations(0, bad, "x")


def test_page_completion_is_atomic(store: Any) -> None:
    sid = store.scope("alice", "a")
    page, _ = store.add_page(sid, user_input="What's a good name for a beagle?", agent_response="", timestamp=T0,
                             meta={}, tokens=8, embedding=vec(1), consolidate_at=18)
    done = store.update_page(sid, page.id, user_input=page.user_input, agent_response="Biscuit.", tokens=9,
                             embedding=vec(2), only_if_unanswered=True)
    assert done.agent_response == "Biscuit." and done.seq == page.seq
    with pytest.raises(ConflictError):
        store.update_page(sid, page.id, user_input=page.user_input, agent_response="Max.", tokens=9, embedding=vec(3),
                          only_if_unanswered=True)
    assert store.get_page(sid, page.id).page.agent_response == "Biscuit."
    assert [h.event for h in store.history(sid, page.id)] == ["COMPLETE"]
    np.testing.assert_allclose(store.get_page(sid, page.id).embedding, vec(2))


def test_nul_characters(store: Any) -> None:
    sid = store.scope("alice", "a")
    if isinstance(store, SQLiteStore):
        page, _ = add(store, sid, "a\x00b", T0)
        assert store.get_page(sid, page.id).page.user_input == "a\x00b"
    else:  # PostgreSQL text cannot hold NUL: refused up front, nothing written
        with pytest.raises(InvalidInputError, match="NUL"):
            add(store, sid, "a\x00b", T0)
        assert store.list_pages(sid, tier=None, limit=10, offset=0) == []
        assert store.scope_state(sid).clock == 0.0


# -- items (the LangGraph store's documents) -----------------------------------------------------


def item(sid: int, namespace: str, key: str, value: dict[str, Any] | None, *, vectors: int = 0, seed: int = 0,
         expires_at: float | None = None) -> ItemWrite:
    matrix = np.stack([vec(seed + i) for i in range(vectors)]) if vectors else None
    return ItemWrite(sid, namespace, key, value, text=f"text of {key}" if value is not None else "", embedding=matrix,
                     ttl_seconds=60.0 if expires_at is not None else None, expires_at=expires_at)


def test_items_upsert_get_delete_and_round_trip(store: Any) -> None:
    a, b = store.scope("alice", "x"), store.scope("bob", "x")
    value = {"text": "ünïcode \u0000 safe", "n": [1, 2.5, None], "nested": {"ok": True}}
    store.write_items([item(a, "memories.alice", "k1", value, vectors=2, seed=1),
                       item(a, "memories.alice", "k2", {"v": 2}),
                       item(b, "memories.alice", "k1", {"bob": True})], now=T0)  # same path, another owner
    got = store.get_item(a, "memories.alice", "k1", T0)
    assert got.value == value and got.text == "text of k1" and got.created_at == got.updated_at == T0
    assert got.embedding is None and got.ttl_seconds is None and got.expires_at is None
    assert store.get_item(b, "memories.alice", "k1", T0).value == {"bob": True}
    assert store.get_item(a, "memories.alice", "nope", T0) is None
    [full] = [r for r in store.item_candidates("memories.alice", T0, scope_id=a, with_vectors=True) if r.key == "k1"]
    np.testing.assert_allclose(full.embedding, np.stack([vec(1), vec(2)]))
    # An upsert replaces the value, keeps created_at and the row's place; a delete removes it.
    store.write_items([item(a, "memories.alice", "k1", {"v": "new"}), item(a, "memories.alice", "k2", None)], now=T0 + 5)
    again = store.get_item(a, "memories.alice", "k1", T0 + 5)
    assert again.value == {"v": "new"} and again.created_at == T0 and again.updated_at == T0 + 5 and again.rid == got.rid
    assert store.get_item(a, "memories.alice", "k2", T0 + 5) is None
    assert [(r.scope_id, r.key) for r in store.item_candidates("", T0 + 5)] == [(a, "k1"), (b, "k1")]


def test_item_prefixes_order_and_paging(store: Any) -> None:
    a, b = store.scope("alice", "x"), store.scope("bob", "x")
    paths = ["m.alice", "m.alice.work", "m.alicex", "m.bob", "m", "n.alice", "m.alice"]
    store.write_items([item(b if "bob" in p else a, p, f"k{i}", {"i": i}) for i, p in enumerate(paths)], now=T0)
    got = lambda prefix, **kw: [r.key for r in store.item_candidates(prefix, T0, **kw)]  # noqa: E731
    # Namespaces by their oldest item, items by insertion; "m.alice" does not cover "m.alicex".
    assert got("m.alice") == ["k0", "k6", "k1"]
    assert got("m") == ["k0", "k6", "k1", "k2", "k3", "k4"]
    assert got("") == ["k0", "k6", "k1", "k2", "k3", "k4", "k5"]
    assert got("m", scope_id=b) == ["k3"] and got("m.bob", scope_id=a) == []
    page = lambda prefix, limit, offset, **kw: [  # noqa: E731
        r.key for r in store.item_page(prefix, T0, limit=limit, offset=offset, **kw)]
    for limit in range(0, 8):
        for offset in range(0, 8):
            assert page("m", limit, offset) == got("m")[offset:offset + limit]
    assert page("", 3, 4) == ["k3", "k4", "k5"] and page("m", 5, 0, scope_id=b) == ["k3"]
    assert store.item_page("m", T0, limit=1)[0].value == {"i": 0}
    assert sorted(store.item_namespaces("m", T0)) == ["m", "m.alice", "m.alice.work", "m.alicex", "m.bob"]
    assert sorted(store.item_namespaces("m.alice", T0, scope_id=a)) == ["m.alice", "m.alice.work"]
    assert store.item_namespaces("zzz", T0) == []


def test_item_expiry_refresh_and_purge(store: Any) -> None:
    sid = store.scope("alice", "x")
    store.write_items([item(sid, "m.alice", "short", {"v": 1}, expires_at=T0 + 60),
                       item(sid, "m.alice", "long", {"v": 2}, expires_at=T0 + 600),
                       item(sid, "m.other", "gone", {"v": 3}, expires_at=T0 + 60),
                       item(sid, "m.alice", "forever", {"v": 4})], now=T0)
    assert store.get_item(sid, "m.alice", "short", T0 + 59).expires_at == T0 + 60
    assert store.get_item(sid, "m.alice", "short", T0 + 60) is None       # expired at its instant
    short = [r for r in store.item_candidates("m", T0 + 30) if r.key == "short"][0]
    store.refresh_item_expiry([(short.rid, T0 + 120)])
    assert [r.key for r in store.item_candidates("m", T0 + 90)] == ["short", "long", "forever"]
    assert store.item_namespaces("", T0 + 90) == ["m.alice"]             # "m.other" only holds an expired item
    assert store.purge_expired_items(T0 + 90) == 1 and store.purge_expired_items(T0 + 90) == 0
    assert store.purge_expired_items(T0 + 10_000) == 2
    assert [r.key for r in store.item_candidates("", T0 + 10_000)] == ["forever"]


def test_item_writes_are_one_transaction_and_follow_the_user(store: Any) -> None:
    a, b = store.scope("alice", "x"), store.scope("bob", "x")
    store.write_items([item(a, "m.alice", "k", {"v": 1}), item(b, "m.bob", "k", {"v": 1})], now=T0)
    assert store.delete_user("alice") == 1
    assert [r.scope_id for r in store.item_candidates("", T0)] == [b]
    # A batch touching a deleted owner fails whole: bob's change is not applied either.
    with pytest.raises(StoreError, match="deleted"):
        store.write_items([item(b, "m.bob", "k", {"v": 2}), item(a, "m.alice", "k2", {"v": 2})], now=T0 + 1)
    assert store.get_item(b, "m.bob", "k", T0 + 1).value == {"v": 1}
    assert [r.key for r in store.item_candidates("", T0 + 1)] == ["k"]


# -- the engine on every backend -------------------------------------------------------------


def make(location: str, user: str = "alice", **kwargs: Any) -> Memoryos:
    kwargs.setdefault("embedder", HashingEmbedder(128))
    kwargs.setdefault("background", False)
    return Memoryos(user_id=user, data_storage_path=location, **kwargs)


def filler(memory: Memoryos, n: int, start: float, topic: str = "weather") -> None:
    for i in range(n):
        memory.add_memory(f"Let's chat about the {topic} number {i}.", f"Sure, {topic} {i} is interesting.",
                          timestamp=start + i * 60)


def test_memoryos_end_to_end(location: str) -> None:
    memory = make(location, mid_term_heat_threshold=3.0)
    try:
        assert type(memory.store).__name__ == ("PostgresStore" if location.startswith("postgresql") else "SQLiteStore")
        memory.add_memory("My name is Alice and I live in Lisbon.", "Nice to meet you, Alice!", timestamp=T0,
                          meta_data={"session": 1})
        memory.add_memory("I work as a nurse at the city hospital.", "That must be demanding.", timestamp=T0 + 60)
        memory.add_memory("I adopted a beagle called Biscuit.", "Biscuit is a lovely name!", timestamp=T0 + 120)
        filler(memory, 25, T0 + 200)
        assert memory.flush()
        for _ in range(4):
            memory.retrieve("Alice Lisbon nurse beagle Biscuit")
        assert memory.flush()
        result = memory.retrieve("What is the name of my beagle?", max_context_tokens=500)
        assert "Biscuit" in result.context and result.context_tokens <= 500
        assert result.mid_term and result.mid_term[0].segment_id
        profile = memory.get_user_profile().fields
        assert (profile["name"], profile["location"]) == ("Alice", "Lisbon")
        assert {"User's name is Alice.", "User lives in Lisbon."} <= {f.text for f in memory.get_user_knowledge()}
        pages = memory.list_memories(limit=1000)
        assert len(pages) == 28 and [p.seq for p in pages] == list(range(1, 29))
        mid = [p for p in pages if p.tier == "mid"]
        segments = memory.store.list_segments(memory._scope_id, memory.heat, include_archived=True)
        assert sum(s.segment.page_count for s in segments) == len(mid) and all(p.segment_id for p in mid)
        stats = memory.stats()["tiers"]
        assert stats["unembedded"] == 0 and stats["pending_jobs"] == 0
        # Management verbs.
        page = pages[2]
        memory.update(page.id, user_input="I adopted a corgi called Biscuit.")
        assert "corgi" in memory.retrieve("which dog did I adopt", max_context_tokens=600).context
        memory.delete(page.id)
        with pytest.raises(NotFoundError):
            memory.get(page.id)
        assert [h.event for h in memory.history(page.id)] == ["UPDATE", "DELETE"]
        assert all(r["id"] != page.id for r in memory.search("corgi Biscuit", limit=50)["results"])
        data = json.loads(json.dumps(memory.export()))
        clone = make(location, "alice_copy", mid_term_heat_threshold=3.0)
        try:
            assert clone.import_data(data) == 27
            assert [p.text for p in clone.list_memories(limit=100)] == [p.text for p in memory.list_memories(limit=100)]
            assert clone.list_memories()[0].meta == {"session": 1}
            assert clone.get_user_profile().fields.get("location") == "Lisbon"
        finally:
            clone.close()
        bob = make(location, "bob")
        try:
            assert "Lisbon" not in bob.retrieve("where does Alice live").context
            with pytest.raises(NotFoundError):
                bob.get(pages[0].id)
        finally:
            bob.close()
        memory.delete_all()
        assert memory.list_memories() == [] and memory.get_user_knowledge() == [] and memory.history() == []
        memory.add_memory("fresh start", "ok", timestamp=T0)
        assert len(memory.list_memories()) == 1
    finally:
        memory.close()


def test_memoryos_background_mode(location: str) -> None:
    memory = make(location, background=True)
    try:
        filler(memory, 40, T0)
        assert memory.flush(60)
        stats = memory.stats()["tiers"]
        # The worker takes whatever overflow it finds when it runs, so the split depends on timing; the
        # invariant is that fewer than a batch of overflowed pages is left waiting.
        cfg = memory.config
        assert stats["short_term"] + stats["mid_term"] == 40
        assert stats["short_term"] - cfg.short_term_capacity < cfg.consolidation_batch_size
        assert stats["unembedded"] == 0 and stats["pending_jobs"] == 0
    finally:
        memory.close()


def _snapshot(memory: Memoryos) -> dict[str, Any]:
    """What a conversation produced, without ids and wall-clock times."""
    pages = memory.list_memories(limit=10_000)
    groups: dict[str | None, list[str]] = {}
    for p in pages:
        groups.setdefault(p.segment_id, []).append(p.user_input)
    segments = memory.store.list_segments(memory._scope_id, memory.heat, include_archived=True)
    result = memory.retrieve("Where does the user live and what pet do they have?", max_context_tokens=800,
                             record_visits=False)
    return {
        "pages": [(p.seq, p.user_input, p.agent_response, p.timestamp, p.tier, p.analyzed, p.meta) for p in pages],
        "groups": sorted(groups.values()),
        "segments": sorted((s.segment.summary, tuple(s.segment.keywords), s.segment.page_count, s.segment.visits,
                            s.segment.fresh_pages, s.segment.archived, round(s.segment.heat, 9)) for s in segments),
        "facts": [(f.fact.kind, f.fact.text, f.fact.slot, f.fact.refers_to, f.fact.source, f.active, f.fact.valid_until,
                   f.fact.superseded_by is not None) for f in memory.store.facts(memory._scope_id, active_only=False)],
        "profile": memory.get_user_profile().fields,
        "history": [(h.target_kind, h.event, h.old_value, h.new_value) for h in memory.history()
                    if h.target_kind != "fact"],
        "fact_events": sorted((h.event, h.old_value or "", h.new_value or "") for h in memory.history()
                              if h.target_kind == "fact"),
        "counts": memory.stats()["tiers"],
        "context": result.context,
        "search": [(r["memory"], round(r["score"], 5)) for r in memory.search("Porto beagle", limit=8)["results"]],
    }


TOPICS = [["astronomy", "telescopes", "galaxies", "nebula"], ["sourdough", "baking", "flour", "oven"],
          ["chess", "openings", "gambit", "endgame"], ["kayak", "rapids", "paddle", "river"],
          ["jazz", "piano", "chords", "improvisation"]]


def conversation(memory: Memoryos) -> None:
    """Reaches every tier: segments, heat from retrievals, persona, supersession, archiving, manual edits."""
    t = T0
    memory.add_memory("My name is Alice and I live in Lisbon with my beagle Max.", "Lovely!", timestamp=t,
                      meta_data={"s": 1})
    for n, words in enumerate(TOPICS):
        for i in range(6):
            t += 3600
            memory.add_memory(f"{words[i % 4]} {words[(i + 1) % 4]}", f"{words[(i + 2) % 4]} {words[(i + 3) % 4]}",
                              timestamp=t)
        if n == 1:
            for _ in range(3):
                memory.retrieve("Alice Lisbon beagle Max")
            t += 30 * DAY
            memory.add_memory("I moved to Porto last week.", "Congratulations on the move!", timestamp=t)
    for _ in range(3):
        memory.retrieve("Porto move")
    memory.update_user_profile(nickname="Lis")
    memory.add_memory("My passport number is X1234567.", "Noted.", timestamp=t + 3600)
    memory.add_memory("Please forget my passport number.", "Done, it is gone.", timestamp=t + 7200)
    assert memory.flush()


@pytest.mark.postgres
def test_backends_agree_on_the_same_conversation(tmp_path: Path, pg_dsn: str) -> None:
    outcomes = []
    for location in (str(tmp_path / "store"), pg_dsn):
        memory = make(location, mid_term_heat_threshold=2.0, short_term_capacity=3, mid_term_capacity=3)
        try:
            conversation(memory)
            outcomes.append(_snapshot(memory))
        finally:
            memory.close()
    sqlite_outcome, postgres_outcome = outcomes
    assert sqlite_outcome["counts"]["archived"] > 0  # the script reached every tier
    assert ("SUPERSEDE", "User lives in Lisbon.", "User lives in Porto.") in sqlite_outcome["fact_events"]
    lisbon = [f for f in sqlite_outcome["facts"] if f[1] == "User lives in Lisbon."]
    assert lisbon and lisbon[0][6] is not None and lisbon[0][7]  # past, with when it ended and its successor
    assert any(event == "FORGET" for _, event, _, _ in sqlite_outcome["history"])
    assert "X1234567" not in repr(sqlite_outcome)  # forgotten on both backends alike (compared below)
    for key in sqlite_outcome:
        assert postgres_outcome[key] == sqlite_outcome[key], key


def test_facts_keep_their_time_when_replaced(store: Any) -> None:
    """A replaced fact stays, inactive, with when it stopped and what replaced it; a value already
    replaced when it is written (two in one pass) is stored as past from the start."""
    sid = store.scope("alice", "a")
    store.write_facts(sid, [FactWrite(op="add", kind="user", event="ADD", text="User lives in Lisbon", slot="location",
                                      refers_to=T0, embedding=vec(1), fact_id="ft_lisbon")])
    lisbon = store.facts(sid, "user")[0]
    store.write_facts(sid, [
        FactWrite(op="retire", kind="user", event="SUPERSEDE", rid=lisbon.rid, text="User lives in Porto",
                  valid_until=T0 + 5 * DAY, superseded_by="ft_porto"),
        FactWrite(op="add", kind="user", event="ADD", text="User lives in Coimbra", slot="location", refers_to=T0 + DAY,
                  embedding=vec(2), fact_id="ft_coimbra", valid_until=T0 + 5 * DAY, superseded_by="ft_porto"),
        FactWrite(op="add", kind="user", event="ADD", text="User lives in Porto", slot="location", refers_to=T0 + 5 * DAY,
                  embedding=vec(3), fact_id="ft_porto"),
    ])
    assert [(f.fact.id, f.fact.valid_until) for f in store.facts(sid, "user")] == [("ft_porto", None)]
    past = store.past_facts(sid)
    assert {(f.fact.id, f.fact.valid_until, f.fact.superseded_by, f.active) for f in past} == {
        ("ft_lisbon", T0 + 5 * DAY, "ft_porto", False), ("ft_coimbra", T0 + 5 * DAY, "ft_porto", False)}
    assert all(f.fact.is_past for f in past) and not store.get_fact(sid, "ft_porto").fact.is_past
    rids, _, _ = store.vectors_since(sid, "facts_user", 0)
    assert rids.tolist() == [store.get_fact(sid, "ft_porto").rid]  # past facts are not searched as current
    assert store.past_facts(store.scope("bob", "a")) == []
    exported = {f["id"]: f for f in store.export_rows(sid)["facts"]}
    assert (exported["ft_lisbon"]["valid_until"], exported["ft_lisbon"]["superseded_by"]) == (T0 + 5 * DAY, "ft_porto")
