"""PostgreSQL under concurrency: several connections (each a ``PostgresStore`` of its own, as
separate processes would have) writing one user at once. What must hold: vec_seq order equals
commit order (so incremental index sync never misses a vector), one claimer per job, one open job
per kind, no lost heat update, no page lost, duplicated or consolidated twice."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
import pytest

from memoryos_core import HashingEmbedder, Memoryos, StoreError
from memoryos_core.index import IndexCache
from memoryos_core.storage import PostgresStore, open_store
from memoryos_core.storage.base import SegmentWrite
from memoryos_core.storage.postgres import redact_dsn

pytest_plugins = ["pg_server"]
pytestmark = pytest.mark.postgres

DIM = 16
T0 = 1_600_000_000.0


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def add(store: Any, sid: int, text: str, ts: float, embedding: np.ndarray | None = None) -> Any:
    return store.add_page(sid, user_input=text, agent_response="ok", timestamp=ts, meta={}, tokens=2,
                          embedding=embedding, consolidate_at=18)


def run_parallel(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..n-1) in n threads released together; re-raise the first failure."""
    barrier = threading.Barrier(n)

    def go(i: int) -> Any:
        barrier.wait(10)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return [f.result(120) for f in [pool.submit(go, i) for i in range(n)]]


@pytest.fixture
def stores(pg_dsn: str) -> Any:
    """A factory of independent stores on one fresh schema (closed after the test)."""
    made: list[PostgresStore] = []

    def make(**kwargs: Any) -> PostgresStore:
        kwargs.setdefault("max_size", 2)
        s = PostgresStore(pg_dsn, **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def test_vector_numbers_are_taken_under_the_scope_row_lock(stores: Any) -> None:
    """A writer holding a reserved vec_seq blocks the next reservation until it commits."""
    first, second = stores(), stores()
    sid = first.scope("u", "a")
    page, _ = add(first, sid, "no vector yet", T0)
    rid = first.get_page(sid, page.id).rid
    done = threading.Event()
    with first._write() as conn:
        reserved = first._next_vec_seq(conn, sid)
        thread = threading.Thread(target=lambda: (second.set_page_embeddings(sid, [(rid, vec(1))]), done.set()))
        thread.start()
        assert not done.wait(0.5), "a second writer reserved a vector number while the first was uncommitted"
    thread.join(10)
    assert done.is_set()
    assert first.get_page(sid, page.id).embedding is not None
    rids, _, top = second.vectors_since(sid, "pages", reserved)
    assert rids.tolist() == [rid] and top == reserved + 1


SLOW_INSERTS = """
CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(random() * 0.004); RETURN NEW; END $$;
CREATE TRIGGER slow_pages BEFORE INSERT ON pages FOR EACH ROW EXECUTE FUNCTION slow_insert();
"""


def test_incremental_readers_never_miss_a_vector(pg_dsn: str, stores: Any) -> None:
    """A reader pulling ``vectors_since(cursor)`` while four writers commit must, with one last pull
    from its own cursor, hold every vector: had a vector committed with a number below a cursor
    already passed, it would be lost to that reader for good (and to IndexCache likewise)."""
    reader = stores()
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # dawdle inside each add, after its vec_seq is taken
        conn.execute(SLOW_INSERTS)
    writers = [PostgresStore(pg_dsn, max_size=1) for _ in range(4)]
    sid = reader.scope("u", "a")
    stop = threading.Event()
    seen: set[int] = set()
    cursor = 0
    pulls = 0
    cache = IndexCache(reader, DIM)

    def read() -> None:
        nonlocal cursor, pulls
        while not stop.is_set():
            rids, _, cursor = reader.vectors_since(sid, "pages", cursor)
            seen.update(rids.tolist())
            cache.sync(sid)
            pulls += 1

    thread = threading.Thread(target=read)
    thread.start()
    try:
        run_parallel(4, lambda w: [add(writers[w], sid, f"w{w} p{i}", T0 + i, embedding=vec(w * 1000 + i))
                                   for i in range(60)])
    finally:
        stop.set()
        thread.join(30)
        for w in writers:
            w.close()
    assert pulls > 10
    rids, _, _ = reader.vectors_since(sid, "pages", cursor)
    everything = reader.live_vector_ids(sid, "pages")
    assert len(everything) == 240
    assert seen | set(rids.tolist()) == everything
    cache.sync(sid)
    assert cache.size(sid, "pages") == 240


def test_every_claim_race_has_one_winner(stores: Any) -> None:
    pool = [stores(max_size=1) for _ in range(10)]
    sid = pool[0].scope("u", "a")
    for round_ in range(4):
        pool[0].enqueue(sid, "consolidate")
        claims = run_parallel(10, lambda i: pool[i].claim_job(sid, f"w{i}", 60))
        winners = [j for j in claims if j is not None]
        assert len(winners) == 1, claims
        pool[0].finish_job(winners[0], f"w{claims.index(winners[0])}")
    assert pool[0].open_jobs(sid) == []


def test_a_job_being_applied_is_skipped_not_waited_for(stores: Any) -> None:
    holder, claimer = stores(), stores()
    sid = holder.scope("u", "a")
    holder.enqueue(sid, "consolidate")
    job = holder.claim_job(sid, "slow", -1.0)  # expired lease: claimable by anyone...
    with holder._write() as conn:
        holder._check_lease(conn, job, "slow")  # ...except while its owner is committing its work
        started = time.perf_counter()
        assert claimer.claim_job(sid, "fast", 60) is None
        assert time.perf_counter() - started < 2.0
    taken = claimer.claim_job(sid, "fast", 60)
    assert taken is not None and taken.id == job.id


def test_enqueue_race_leaves_one_open_job(stores: Any) -> None:
    pool = [stores(max_size=1) for _ in range(10)]
    sid = pool[0].scope("u", "a")
    results = run_parallel(10, lambda i: pool[i].enqueue(sid, "persona"))
    assert results.count(True) == 1
    assert [j["kind"] for j in pool[0].open_jobs(sid)] == ["persona"]


def test_heat_updates_from_many_connections_are_not_lost(stores: Any) -> None:
    pool = [stores(max_size=1) for _ in range(8)]
    s = pool[0]
    sid = s.scope("u", "a")
    for i in range(3):
        add(s, sid, f"p{i}", T0 + i, embedding=vec(i))
    rows = s.overflow_pages(sid, 1, 10)
    s.enqueue(sid, "consolidate")
    job = s.claim_job(sid, "w", 60)
    from memoryos_core.policy import HeatParams, Policy

    hot = HeatParams(1, 1, 1, 86400, 1e9)
    writes = [SegmentWrite(rid=None, summary=f"s{r.rid}", keywords=[], summary_source="heuristic", page_rids=[r.rid],
                           added_vec_sum=r.embedding, last_active=r.page.timestamp) for r in rows]
    s.apply_consolidation(sid, job, "w", writes, Policy(hot, short_term_capacity=10, consolidation_batch=8,
                                                        mid_term_capacity=10, knowledge_capacity=100))
    seg_rids = [seg.rid for seg in s.list_segments(sid, hot)]
    run_parallel(8, lambda i: [pool[i].record_visits(sid, seg_rids, hot) for _ in range(25)])
    assert [seg.segment.visits for seg in s.list_segments(sid, hot)] == [200, 200]


def test_adds_from_many_connections_lose_and_duplicate_nothing(stores: Any) -> None:
    pool = [stores(max_size=1) for _ in range(8)]
    sid = pool[0].scope("u", "a")
    flags = run_parallel(8, lambda w: [pool[w].add_page(
        sid, user_input=f"w{w} p{i}", agent_response="ok", timestamp=T0 + i, meta={}, tokens=2, embedding=None,
        consolidate_at=18)[1] for i in range(50)])
    pages = pool[0].list_pages(sid, tier=None, limit=1000, offset=0)
    assert len(pages) == 400 and len({p.user_input for p in pages}) == 400
    assert [p.seq for p in pages] == list(range(1, 401))
    assert sum(f for per_writer in flags for f in per_writer) == 1  # one open consolidation job, enqueued once
    assert [j["kind"] for j in pool[0].open_jobs(sid)] == ["consolidate"]
    assert pool[0].scope_state(sid).clock == T0 + 49


def test_engines_in_parallel_consolidate_each_page_once(pg_dsn: str) -> None:
    """Four engines (threads, own stores, inline jobs) on one user: jobs race, conflicts are redone."""
    memories = [Memoryos(user_id="shared", data_storage_path=pg_dsn, embedder=HashingEmbedder(128), background=False)
                for _ in range(4)]
    try:
        run_parallel(4, lambda w: [memories[w].add_memory(f"writer {w} message {i} about topic {i % 5}", f"ack {i}",
                                                          timestamp=T0 + i * 60 + w) for i in range(40)])
        check = memories[0]
        assert check.flush()
        pages = check.list_memories(limit=1000)
        assert len(pages) == 160 and len({p.user_input for p in pages}) == 160
        mid = [p for p in pages if p.tier == "mid"]
        assert len(mid) >= 160 - 17 and all(p.segment_id for p in mid)
        segments = check.store.list_segments(check._scope_id, check.heat, include_archived=True)
        members = check.store.segment_members(check._scope_id, [s.rid for s in segments])
        per_segment = {s.rid: 0 for s in segments}
        for _, seg in members:
            per_segment[seg] += 1
        assert per_segment == {s.rid: s.segment.page_count for s in segments}
        assert check.stats()["tiers"]["pending_jobs"] == 0
    finally:
        for m in memories:
            m.close()


def test_dropped_connections_are_replaced(pg_server: Any, stores: Any) -> None:
    """Connections the server dropped are replaced: the dead connection's first statement fails
    before anything ran, and the call is retried on a fresh one (reads and transactions alike)."""
    import psycopg

    s = stores(max_size=2, min_size=2)
    sid = s.scope("u", "a")
    add(s, sid, "before", T0)

    def kill_clients() -> None:
        with psycopg.connect(pg_server.dsn(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                          " AND datname = current_database() AND backend_type = 'client backend'")

    kill_clients()
    assert s.scope_state(sid).clock == T0  # a one-statement read
    kill_clients()
    add(s, sid, "after", T0 + 1)  # a transaction
    kill_clients()
    assert [p.user_input for p in s.list_pages(sid, tier=None, limit=10, offset=0)] == ["before", "after"]


def test_unreachable_server_is_a_clear_store_error() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        open_store(f"postgresql://nobody:secret@127.0.0.1:{free_port}/none", timeout=3)
    assert time.perf_counter() - started < 10


def test_passwords_stay_out_of_messages(pg_dsn: str) -> None:
    assert "s3cret" not in redact_dsn("postgresql://u:s3cret@db.example:5432/mem")
    assert "db.example" in redact_dsn("postgresql://u:s3cret@db.example:5432/mem")
    with_password = pg_dsn.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
    s = open_store(with_password)
    try:
        assert "s3cret" not in repr(s) and "s3cret" not in s.display_dsn
        assert isinstance(s.pgvector_available, bool)
    finally:
        s.close()
