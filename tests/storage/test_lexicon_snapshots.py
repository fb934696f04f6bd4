"""The persisted BM25 lexicon on every backend: what the store keeps and guards, and that a memory
opened on a snapshot ranks exactly as one that rebuilt its lexicon from page text, while following
another writer's adds, updates, deletes and forgets (``memoryos_core.retrieval.lexical``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from memoryos_core import HashingEmbedder, Memoryos, StoreError
from memoryos_core.retrieval.lexical import LexicalIndex
from memoryos_core.storage import open_store

pytest_plugins = ["pg_server"]

T0 = 1_600_000_000.0
QUERIES = ["Zorblax the beagle", "what about the weather number 7", "Quimby", "garden tomatoes", "passport"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("pg_dsn")


@pytest.fixture
def store(location: str) -> Iterator[Any]:
    s = open_store(location)
    yield s
    s.close()


@pytest.fixture
def snapshot_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Write a snapshot after a single page read (the default waits for a thousand)."""
    monkeypatch.setattr(LexicalIndex, "SNAPSHOT_AFTER", 1)


def vec(seed: int, dim: int = 16) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def add(store: Any, sid: int, text: str, ts: float, embedding: np.ndarray | None) -> Any:
    page, _ = store.add_page(sid, user_input=text, agent_response="ok", timestamp=ts, meta={}, tokens=2,
                             embedding=embedding, consolidate_at=1000)
    return page


# -- the store -------------------------------------------------------------------------------


def test_searchable_pages_come_by_vector_number_within_bounds(store: Any) -> None:
    sid, other = store.scope("ann", "a"), store.scope("bob", "a")
    pages = [add(store, sid, f"page {i}", T0 + i, vec(i)) for i in range(5)]
    add(store, sid, "not embedded yet", T0 + 9, None)
    add(store, other, "bob's page", T0, vec(9))
    rows = store.searchable_pages(sid, 0, 10**9, 100)
    assert [r.text for r in rows] == [p.text for p in pages]  # neither the unembedded page nor bob's
    assert [r.vec_seq for r in rows] == sorted(r.vec_seq for r in rows)
    assert (rows[0].seq, rows[0].timestamp) == (pages[0].seq, T0)
    middle = store.searchable_pages(sid, rows[0].vec_seq, rows[3].vec_seq, 2)
    assert [r.rid for r in middle] == [rows[1].rid, rows[2].rid]


def test_a_snapshot_is_kept_only_when_newest_and_nothing_left_since(store: Any) -> None:
    sid = store.scope("ann", "a")
    page = add(store, sid, "hello", T0, vec(1))
    epoch = store.scope_state(sid).vector_epoch
    assert store.lexicon_snapshot(sid) is None
    assert store.save_lexicon_snapshot(sid, watermark=5, epoch=epoch, data=b"five")
    assert not store.save_lexicon_snapshot(sid, watermark=4, epoch=epoch, data=b"four")  # older: refused
    assert store.save_lexicon_snapshot(sid, watermark=6, epoch=epoch, data=b"six")
    assert store.lexicon_snapshot(sid) == b"six"
    add(store, sid, "another", T0 + 1, vec(2))
    store.delete_page(sid, page.id)  # the snapshot may hold the page's words: it goes with it
    assert store.lexicon_snapshot(sid) is None
    assert not store.save_lexicon_snapshot(sid, watermark=7, epoch=epoch, data=b"stale")  # built before the delete
    assert store.lexicon_snapshot(sid) is None
    assert store.save_lexicon_snapshot(sid, watermark=7, epoch=store.scope_state(sid).vector_epoch, data=b"new")
    kept = store.list_pages(sid, tier=None, limit=10, offset=0)[0]
    store.forget(sid, page_ids=[kept.id], fact_ids=[], profile_changes={}, segments=[], note="1 page")
    assert store.lexicon_snapshot(sid) is None
    assert store.save_lexicon_snapshot(sid, watermark=8, epoch=store.scope_state(sid).vector_epoch, data=b"again")
    assert store.delete_user("ann") == 1
    with pytest.raises(StoreError, match="deleted"):
        store.save_lexicon_snapshot(sid, watermark=9, epoch=0,
                                    data=b"ghost")
    assert store.lexicon_snapshot(sid) is None


# -- the engine --------------------------------------------------------------------------------


def make(location: str, **kwargs: Any) -> Memoryos:
    return Memoryos(user_id="ann", data_storage_path=location, embedder=HashingEmbedder(128), background=False,
                    **kwargs)


def ranked(memory: Memoryos, query: str) -> tuple[list[tuple[str, float]], str]:
    result = memory.retrieve(query, top_k=8, max_context_tokens=800, record_visits=False)
    return [(sp.page.id, sp.score) for sp in result.mid_term], result.context


def rebuilt(location: str, query: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[str, float]], str]:
    """What a memory that ignores stored snapshots (rebuilding from page text) returns."""
    memory = make(location)
    with monkeypatch.context() as patch:
        patch.setattr(memory.store, "lexicon_snapshot", lambda scope_id: None)
        try:
            return ranked(memory, query)
        finally:
            memory.close()


def reads_of(memory: Memoryos, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records how many pages each ``searchable_pages`` call of ``memory`` returns."""
    counts: list[int] = []
    original = memory.store.searchable_pages

    def counting(*args: Any) -> Any:
        rows = original(*args)
        counts.append(len(rows))
        return rows

    monkeypatch.setattr(memory.store, "searchable_pages", counting)
    return counts


def conversation(memory: Memoryos) -> list[Any]:
    pages = [memory.add_memory("I adopted a beagle called Zorblax.", "What a name!", timestamp=T0)]
    for i in range(30):
        pages.append(memory.add_memory(f"Let's chat about the weather number {i}.", f"Sure, weather {i}.",
                                       timestamp=T0 + 600 + 60 * i))
    pages.append(memory.add_memory("My garden tomatoes are ripe.", "Enjoy them!", timestamp=T0 + 4000))
    return pages


def test_a_new_open_loads_the_snapshot_and_follows_another_writer(location: str, snapshot_often: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    writer = make(location)
    try:
        pages = conversation(writer)
        writer.retrieve("Zorblax")  # builds the lexicon from page text
        writer.flush()  # the worker's pass stores a snapshot
        assert writer.store.lexicon_snapshot(writer._scope_id) is not None
        reader = make(location)
        try:
            reads = reads_of(reader, monkeypatch)
            for query in QUERIES:
                assert ranked(reader, query) == rebuilt(location, query, monkeypatch)
            assert sum(reads) == 0  # everything came from the snapshot
            # The other writer adds, rewrites and deletes pages; the reader follows by vector number.
            writer.add_memory("We named the new kitten Quimby.", "Cute!", timestamp=T0 + 5000)
            writer.update(pages[5].id, user_input="Actually, my passport expires in May.")
            writer.delete(pages[0].id)
            assert writer.store.lexicon_snapshot(writer._scope_id) is None  # the delete dropped it
            for query in QUERIES:
                assert ranked(reader, query) == rebuilt(location, query, monkeypatch)
            assert 0 < sum(reads) <= 3  # only the new and rewritten pages were read
            ids = [pid for pid, _ in ranked(reader, "Quimby kitten")[0]]
            assert ids and reader.get(ids[0]).user_input.startswith("We named the new kitten Quimby")
            assert pages[0].id not in [pid for pid, _ in ranked(reader, "Zorblax the beagle")[0]]
        finally:
            reader.close()
    finally:
        writer.close()


def test_forget_removes_the_words_from_the_stored_lexicon(location: str, snapshot_often: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    memory = make(location)
    try:
        conversation(memory)
        memory.add_memory("My passport number is XK449021.", "Noted.", timestamp=T0 + 6000)
        assert "XK449021" in memory.retrieve("XK449021").context
        memory.flush()
        assert memory.store.lexicon_snapshot(memory._scope_id) is not None
        memory.forget("my passport number XK449021")
        assert memory.store.lexicon_snapshot(memory._scope_id) is None
        memory.retrieve("weather")
        memory.flush()  # a new snapshot, built after the forget
        data = memory.store.lexicon_snapshot(memory._scope_id)
        assert data is not None and b"xk449021" not in data.lower()
    finally:
        memory.close()
    fresh = make(location)
    try:
        assert "XK449021" not in fresh.retrieve("XK449021 passport").context
        assert ranked(fresh, "passport number") == rebuilt(location, "passport number", monkeypatch)
    finally:
        fresh.close()


def test_a_snapshot_of_another_tokenizer_is_ignored(location: str, snapshot_often: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    memory = make(location)
    try:
        conversation(memory)
        memory.retrieve("weather")
        memory.flush()
    finally:
        memory.close()
    from memoryos_core.retrieval import snapshot

    monkeypatch.setattr(snapshot, "fingerprint", lambda: "another tokenizer")
    reader = make(location)
    try:
        reads = reads_of(reader, monkeypatch)
        assert ranked(reader, "Zorblax")[0]
        assert sum(reads) == 32  # rebuilt from every page's text
    finally:
        reader.close()
