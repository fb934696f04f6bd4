"""Crash safety and several processes on one store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from memoryos_core import HashingEmbedder, Memoryos

WRITER = textwrap.dedent("""
    import sys
    from memoryos_core import HashingEmbedder, Memoryos
    path, user, start, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    memory = Memoryos(user_id=user, data_storage_path=path, embedder=HashingEmbedder(128),
                      background=(mode == "background"))
    for i in range(start, start + count):
        page = memory.add_memory(f"writer message {i} about topic {i % 7}", f"ack {i}", timestamp=1_600_000_000 + i)
        print(page.id, i, flush=True)  # printed only after add_memory returned: acknowledged
    if mode != "kill":
        memory.close()
""")


def _spawn(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_sigkill_mid_adds_loses_no_acknowledged_page(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = _spawn(tmp_path, str(store), "victim", "0", "100000", "background")
    acknowledged: list[str] = []
    deadline = time.time() + 60
    assert proc.stdout is not None
    while len(acknowledged) < 300 and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(line.split()[0])
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(acknowledged) >= 300, proc.stderr.read() if proc.stderr else ""
    memory = Memoryos(user_id="victim", data_storage_path=store, embedder=HashingEmbedder(128), background=False)
    stored = {p.id for p in memory.list_memories(limit=1_000_000)}
    assert set(acknowledged) <= stored
    # Work interrupted by the kill (embeddings, consolidation) is picked up and finished.
    assert memory.flush()
    stats = memory.stats()["tiers"]
    assert stats["unembedded"] == 0 and stats["pending_jobs"] == 0
    pages = memory.list_memories(limit=1_000_000)
    assert all(p.segment_id for p in pages if p.tier == "mid")


@pytest.mark.slow
def test_two_processes_writing_one_user_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    procs = [_spawn(tmp_path, str(store), "shared", str(start), "150", "background") for start in (0, 1000)]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    memory = Memoryos(user_id="shared", data_storage_path=store, embedder=HashingEmbedder(128), background=False)
    assert memory.flush()
    pages = memory.list_memories(limit=10_000)
    assert len(pages) == 300
    assert len({p.user_input for p in pages}) == 300
    assert sorted(p.seq for p in pages) == list(range(1, 301))
    segments = memory.store.list_segments(memory._scope_id, memory.heat, include_archived=True)
    mid = [p for p in pages if p.tier == "mid"]
    assert sum(s.segment.page_count for s in segments) == len(mid)
    assert len(mid) >= 300 - 10 - 8
    assert memory.stats()["tiers"]["pending_jobs"] == 0
