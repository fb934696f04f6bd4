"""What the read path no longer does per query: write heat visits (``retrieval.visits``) and embed a
query it embedded a moment ago (``retrieval.vectors.QueryVectors``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memoryos_core import HashingEmbedder
from memoryos_core.retrieval.vectors import QueryVectors
from memoryos_core.retrieval.visits import VisitLog
from memoryos_core.text_limits import PiecewiseEmbedder
from memoryos_core.usage import UsageTracker
from retrieval_support import T0, chat, make


def visits(memory: object) -> int:
    return sum(s.segment.visits for s in memory.store.list_segments(memory._scope_id, memory.heat))  # type: ignore[attr-defined]


def test_visits_wait_for_the_worker_and_survive_close_without_flush(tmp_path: Path) -> None:
    memory = make(tmp_path, mid_term_heat_threshold=1000.0)
    chat(memory, 30, T0)
    memory.flush()
    for _ in range(3):
        memory.retrieve("weather take 4")
    waiting = memory.retriever.visits.waiting
    assert waiting >= 3 and visits(memory) == 0
    memory.close(flush=False)
    reopened = make(tmp_path, mid_term_heat_threshold=1000.0)
    try:
        assert visits(reopened) == waiting
    finally:
        reopened.close()


def test_enough_waiting_visits_wake_the_worker(tmp_path: Path, monkeypatch: object) -> None:
    memory = make(tmp_path, mid_term_heat_threshold=1000.0)
    try:
        chat(memory, 30, T0)
        memory.flush()
        memory.retriever.visits.FLUSH_AT = 4  # type: ignore[misc]
        for _ in range(3):
            memory.retrieve("weather take 7")
        assert visits(memory) == 0
        memory.retrieve("weather take 7")  # the fourth: the worker (inline here) writes them all
        assert memory.retriever.visits.waiting == 0 and visits(memory) >= 4
    finally:
        memory.close()


def test_a_deleted_users_visits_are_dropped_not_raised(tmp_path: Path) -> None:
    memory = make(tmp_path)
    try:
        chat(memory, 30, T0)
        memory.flush()
        log = VisitLog(memory.store, memory.heat)
        segment = memory.store.list_segments(memory._scope_id, memory.heat)[0]
        log.note(memory._scope_id, [segment.rid])
        memory.store.delete_user("ann")
        log.flush()  # no StoreError: there is nothing left to heat
        assert log.waiting == 0
    finally:
        memory.close()


def test_a_repeated_query_is_embedded_once(tmp_path: Path) -> None:
    memory = make(tmp_path)
    try:
        chat(memory, 12, T0)
        first = memory.retrieve("weather take 3", record_visits=False)
        again = memory.retrieve("weather take 3", record_visits=False)
        memory.search("weather take 3")
        memory.retrieve("weather take 4", record_visits=False)
        assert memory.stats()["usage"]["by_operation"]["embedding:query"]["calls"] == 2
        assert first.context == again.context
    finally:
        memory.close()


def test_query_vectors_keep_the_latest_and_cannot_be_changed() -> None:
    embedder = PiecewiseEmbedder(HashingEmbedder(64), UsageTracker())
    cache = QueryVectors(embedder, size=2)
    a = cache.get("alpha")
    assert np.array_equal(a, embedder.embed(["alpha"], purpose="query")[0]) and not a.flags.writeable
    cache.get("beta")
    assert cache.get("alpha") is a  # still cached, and now the most recent
    cache.get("gamma")  # evicts beta, the least recently used
    assert cache.get("alpha") is a and cache.get("beta") is not None
    assert set(cache._cache) == {"alpha", "beta"}
