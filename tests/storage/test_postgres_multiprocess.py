"""Several processes writing and reading one user's memory at once (PostgreSQL, and SQLite as the
reference): four writers add 250 pages each with background workers while retrievals run, then
every page must exist exactly once and be consolidated exactly once.

The job lease is shortened to 6 s: a worker that finds a job leased by another process looks
again after a quarter lease, so ``flush()`` at the end of a writer waits seconds, not 30 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from memoryos_core import HashingEmbedder, Memoryos

pytest_plugins = ["pg_server"]

WRITERS = 4
PAGES_PER_WRITER = 250
T0 = 1_600_000_000

WRITER = textwrap.dedent("""
    import sys
    from memoryos_core import HashingEmbedder, MemoryConfig, Memoryos
    location, writer, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    memory = Memoryos(user_id="shared", data_storage_path=location, embedder=HashingEmbedder(128), background=True,
                      config=MemoryConfig(job_lease_seconds=6.0))
    for i in range(count):
        page = memory.add_memory(f"writer {writer} message {i} about topic {i % 7}", f"ack {writer}/{i}",
                                 timestamp=T0 + i * 60 + writer)
        print(page.id, flush=True)  # acknowledged: add_memory returned
        if i % 25 == 24:  # retrieval concurrent with the other writers and with this process's worker
            result = memory.retrieve(f"topic {i % 7}", max_context_tokens=300)
            assert result.context_tokens <= 300 and len(result.short_term) <= 10
    assert memory.flush(240), "background work did not finish"
    memory.close()
""").replace("T0", str(T0))

READER = textwrap.dedent("""
    import os, sys
    from memoryos_core import HashingEmbedder, MemoryConfig, Memoryos
    location, stop_file = sys.argv[1], sys.argv[2]
    memory = Memoryos(user_id="shared", data_storage_path=location, embedder=HashingEmbedder(128), background=True,
                      config=MemoryConfig(job_lease_seconds=6.0))
    done = 0
    while not os.path.exists(stop_file) or done < 3:
        result = memory.retrieve(f"message about topic {done % 7}", max_context_tokens=400)
        assert result.context_tokens <= 400
        ids = [r["id"] for r in memory.search("writer message", limit=5)["results"]]
        assert len(ids) == len(set(ids))
        done += 1
    memory.close()
    print(done, flush=True)
""")


def _spawn(folder: Path, name: str, code: str, *args: str) -> subprocess.Popen[str]:
    script = folder / f"{name}.py"
    script.write_text(code)
    return subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def test_four_processes_on_one_user_lose_duplicate_and_double_consolidate_nothing(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    location = request.getfixturevalue("pg_dsn") if backend == "postgres" else str(tmp_path / "store")
    Memoryos(user_id="shared", data_storage_path=location, embedder=HashingEmbedder(128), background=False).close()
    stop_file = tmp_path / "stop"
    reader = _spawn(tmp_path, "reader", READER, location, str(stop_file))
    started = time.perf_counter()
    writers = [_spawn(tmp_path, f"writer{w}", WRITER, location, str(w), str(PAGES_PER_WRITER)) for w in range(WRITERS)]
    acknowledged: list[str] = []
    try:
        for proc in writers:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-3000:]
            acknowledged += out.split()
        stop_file.write_text("stop")
        out, err = reader.communicate(timeout=120)
        assert reader.returncode == 0, err[-3000:]
        assert int(out.split()[-1]) >= 3
    finally:
        for proc in [*writers, reader]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    elapsed = time.perf_counter() - started

    memory = Memoryos(user_id="shared", data_storage_path=location, embedder=HashingEmbedder(128), background=False)
    try:
        assert memory.flush()
        total = WRITERS * PAGES_PER_WRITER
        pages = memory.list_memories(limit=10 * total)
        # Exactly 1000 pages: every acknowledged page, none twice, in one gap-free order.
        assert len(acknowledged) == total and len(set(acknowledged)) == total
        assert len(pages) == total and {p.id for p in pages} == set(acknowledged)
        assert sorted(p.seq for p in pages) == list(range(1, total + 1))
        expected = {f"writer {w} message {i} about topic {i % 7}" for w in range(WRITERS) for i in range(PAGES_PER_WRITER)}
        assert {p.user_input for p in pages} == expected
        # Consolidated once: every mid page in exactly one segment, segment counts match their members.
        mid = [p for p in pages if p.tier == "mid"]
        short = [p for p in pages if p.tier == "short"]
        assert all(p.segment_id for p in mid) and all(p.segment_id is None for p in short)
        assert len(short) < 10 + 8 and len(mid) == total - len(short)
        segments = memory.store.list_segments(memory._scope_id, memory.heat, include_archived=True)
        assert sum(s.segment.page_count for s in segments) == len(mid)
        members = memory.store.segment_members(memory._scope_id, [s.rid for s in segments])
        assert len(members) == len({rid for rid, _ in members}) == len(mid)
        per_segment = {s.rid: 0 for s in segments}
        for _, seg in members:
            per_segment[seg] += 1
        assert per_segment == {s.rid: s.segment.page_count for s in segments}
        tiers = memory.stats()["tiers"]
        assert tiers["unembedded"] == 0 and tiers["pending_jobs"] == 0 and tiers["failed_jobs"] == 0
        assert memory.retrieve("topic 3").mid_term
    finally:
        memory.close()
    print(f"{backend}: {total} pages from {WRITERS} processes in {elapsed:.1f}s")
