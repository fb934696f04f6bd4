"""Vector indexes: graphs are built on a background thread from a snapshot, exact search serves
meanwhile, and changes made during the build are replayed when the graph is adopted."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memoryos_core import HashingEmbedder, Memoryos
from memoryos_core import index as index_module
from memoryos_core.index import VectorIndex

DIM = 32


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def top1(index: VectorIndex, vector: np.ndarray) -> int:
    return index.search(vector, 1)[0][0]


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "HNSW_THRESHOLD", 100)


@pytest.fixture
def held_builds(monkeypatch: pytest.MonkeyPatch) -> list:
    """Builds that start only when the test runs them, so changes can land while they are 'running'."""
    held: list = []
    monkeypatch.setattr(index_module._GraphBuild, "start", lambda self: held.append(self))
    return held


def test_changes_during_a_build_are_replayed(small_threshold: None, held_builds: list) -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 150)
    index = VectorIndex(DIM)
    index.add(np.arange(150), vectors)
    assert len(held_builds) == 1 and index.building and not index.hnsw
    assert top1(index, vectors[42]) == 42  # exact search answers while the graph is built

    newcomer, replacement = unit(rng, 1), unit(rng, 1)
    index.add(np.array([500]), newcomer)        # added after the snapshot
    index.add(np.array([3]), replacement)       # replaced after the snapshot
    index.remove(7)                             # removed after the snapshot
    index.add(np.arange(200, 230), unit(rng, 30))  # still over the threshold: no second build starts
    assert len(held_builds) == 1

    held_builds[0].run()
    assert index.build_finished(0) and not index.building
    index.adopt_build()
    assert index.hnsw and index.live == 150 + 1 + 30 - 1
    assert top1(index, newcomer[0]) == 500
    assert top1(index, replacement[0]) == 3 and top1(index, vectors[3]) != 3  # the old vector is gone
    assert all(rid != 7 for rid, _ in index.search(vectors[7], 10))
    assert all(top1(index, vectors[i]) == i for i in (0, 42, 149))


def test_a_failed_build_keeps_the_current_index(small_threshold: None, held_builds: list,
                                               caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(2)
    vectors = unit(rng, 120)
    index = VectorIndex(DIM)
    index.add(np.arange(120), vectors)
    build = held_builds[0]
    build.vectors = np.zeros((3, DIM + 1), dtype=np.float32)  # faiss refuses the wrong dimension
    build.run()
    index.adopt_build()
    assert build.error is not None and not index.hnsw and index.live == 120
    assert "vector index build failed" in caplog.text
    assert top1(index, vectors[5]) == 5
    index.add(np.array([999]), unit(rng, 1))  # the next change tries again
    assert len(held_builds) == 2


def test_background_build_finishes_and_memory_warm_up_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "HNSW_THRESHOLD", 60)
    memory = Memoryos(user_id="ann", data_storage_path=tmp_path, embedder=HashingEmbedder(64), background=False)
    for i in range(80):
        memory.add_memory(f"note {i} about the garden bed number {i}", f"ok {i}", timestamp=1_600_000_000 + 60 * i)
    memory.flush()
    assert memory.warm_up(timeout=60)
    entry = memory.indexes.entry(memory._scope_id, "pages")
    assert entry is not None and entry.hnsw and not entry.building
    result = memory.retrieve("garden bed number 17", top_k=3, record_visits=False)
    assert "number 17" in result.mid_term[0].page.text
    memory.close()


def test_a_new_index_hands_its_vectors_to_the_build(small_threshold: None, held_builds: list) -> None:
    vectors = unit(np.random.default_rng(5), 130)
    index = VectorIndex(DIM)
    index.add(np.arange(130), vectors)  # a new process's first sync: no copy back out of FAISS
    assert len(held_builds) == 1 and np.array_equal(held_builds[0].vectors, vectors)
    assert held_builds[0].snapshot == {rid: rid for rid in range(130)}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_background_builds_yield_the_cpu(small_threshold: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = index_module._GraphBuild.run

    def run(self: Any) -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        original(self)

    monkeypatch.setattr(index_module._GraphBuild, "run", run)
    index = VectorIndex(DIM)
    index.add(np.arange(120), unit(np.random.default_rng(6), 120))
    assert index.build_finished(30)
    assert seen == [min(19, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + index_module.BUILD_NICENESS)]
