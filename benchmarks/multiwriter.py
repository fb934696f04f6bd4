"""Several writer processes on one user's memory: throughput and retrieval latency per backend.

    .venv/bin/python benchmarks/multiwriter.py                       # SQLite and a throwaway PostgreSQL
    .venv/bin/python benchmarks/multiwriter.py --dsn postgresql://... --backends postgres --writers 1,2,4,8

For each backend and writer count, W processes open the same user's memory (``background=True``,
``HashingEmbedder(128)`` so the figures are the storage and the engine, not an embedding model),
wait at a barrier, then each adds ``--adds`` pages and runs ``retrieve()`` after every 10th add
while the others keep writing. Reported:

- adds/s: all acknowledged adds divided by the time from the barrier to the last add returning;
- add p50/p95: the caller's latency of ``add_memory`` (one transaction; the worker thread of the
  same process embeds and consolidates meanwhile);
- retrieve p50/p95: ``retrieve()`` during the writes (embedding the backlog, index sync, ranking,
  context assembly, heat update);
- drain: from the last add to every writer's background work done (``flush``).

Without ``--dsn`` PostgreSQL runs on a throwaway local server (``tests/pg_server.py``) with
``fsync=on, synchronous_commit=off``: the durability class of SQLite's WAL with
``synchronous=NORMAL`` (a crash of the machine may lose the last commits, never consistency).
Jobs use a 6 s lease so a worker waiting on another process's job re-polls every 1.5 s.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ["hiking trails mountains", "sourdough bread baking", "chess openings tactics", "jazz piano chords",
          "marathon training plan", "garden tomatoes compost", "python programming bugs", "travel japan kyoto"]
RETRIEVE_EVERY = 10


def writer(location: str, index: int, adds: int, barrier: Any, results: Any) -> None:
    from memoryos_core import HashingEmbedder, MemoryConfig, Memoryos

    memory = Memoryos(user_id="bench", data_storage_path=location, embedder=HashingEmbedder(128), background=True,
                      config=MemoryConfig(job_lease_seconds=6.0))
    memory.retrieve("warm up")  # load the indexes before the clock starts
    barrier.wait(120)
    start = time.perf_counter()
    add_times, retrieve_times = [], []
    for i in range(adds):
        topic = TOPICS[(i + index) % len(TOPICS)]
        t = time.perf_counter()
        memory.add_memory(f"writer {index} note {i}: let's talk about {topic}", f"sure, {topic} number {i}",
                          timestamp=1_600_000_000 + i * 60 + index)
        add_times.append(time.perf_counter() - t)
        if i % RETRIEVE_EVERY == RETRIEVE_EVERY - 1:
            t = time.perf_counter()
            memory.retrieve(f"what did we say about {topic}?", max_context_tokens=800)
            retrieve_times.append(time.perf_counter() - t)
    end = time.perf_counter()
    memory.flush(300)
    drained = time.perf_counter()
    memory.close()
    results.put({"start": start, "end": end, "drained": drained, "adds": add_times, "retrieves": retrieve_times})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(location: str, writers: int, adds: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(location, w, adds, barrier, results)) for w in range(writers)]
    for p in procs:
        p.start()
    out = [results.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(60)
        if p.exitcode != 0:
            raise SystemExit(f"a writer failed (exit code {p.exitcode})")
    start = min(r["start"] for r in out)
    end = max(r["end"] for r in out)
    add_times = [t for r in out for t in r["adds"]]
    retrieve_times = [t for r in out for t in r["retrieves"]]
    check(location, writers * adds)
    return {
        "adds_per_s": len(add_times) / (end - start),
        "add_p50": pct(add_times, 0.5) * 1000, "add_p95": pct(add_times, 0.95) * 1000,
        "retrieve_p50": pct(retrieve_times, 0.5) * 1000, "retrieve_p95": pct(retrieve_times, 0.95) * 1000,
        "drain": max(r["drained"] for r in out) - end,
    }


def check(location: str, expected: int) -> None:
    """Every page stored once, every consolidated page in one segment: the run was a correct one."""
    from memoryos_core import HashingEmbedder, Memoryos

    memory = Memoryos(user_id="bench", data_storage_path=location, embedder=HashingEmbedder(128), background=False)
    try:
        memory.flush()
        pages = memory.list_memories(limit=expected * 2)
        mid = sum(p.tier == "mid" for p in pages)
        segments = memory.store.list_segments(memory._scope_id, memory.heat, include_archived=True)
        if len(pages) != expected or len({p.id for p in pages}) != expected or \
                sum(s.segment.page_count for s in segments) != mid:
            raise SystemExit(f"inconsistent store after the run: {len(pages)} pages, {mid} consolidated")
    finally:
        memory.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--writers", default="1,2,4")
    parser.add_argument("--adds", type=int, default=400, help="adds per writer process")
    parser.add_argument("--dsn", help="an existing PostgreSQL database (default: a throwaway local server)")
    args = parser.parse_args()
    backends = args.backends.split(",")
    counts = [int(w) for w in args.writers.split(",")]

    server = None
    if "postgres" in backends and not args.dsn:
        sys.path.insert(0, str(ROOT / "tests"))
        from pg_server import PgServer, PgUnavailable

        try:
            server = PgServer(max_lifetime=3600, settings={"fsync": "on", "full_page_writes": "on",
                                                           "synchronous_commit": "off"}).start()
        except PgUnavailable as exc:
            print(f"skipping postgres: {exc}")
            backends.remove("postgres")
    import psycopg  # noqa: F401  (fail early when the extra is missing)

    print(f"{os.cpu_count()} CPUs, {args.adds} adds per writer, retrieve every {RETRIEVE_EVERY} adds, HashingEmbedder(128)")
    print(f"{'backend':9} {'writers':>7} {'adds/s':>8} {'add p50':>8} {'add p95':>8} {'retr p50':>9} {'retr p95':>9}"
          f" {'drain':>6}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for backend in backends:
                for w in counts:
                    if backend == "sqlite":
                        location = str(Path(tmp) / f"sqlite-{w}")
                    else:
                        name = f"bench_{uuid.uuid4().hex[:8]}"
                        dsn = args.dsn or server.dsn()  # type: ignore[union-attr]
                        with psycopg.connect(dsn, autocommit=True) as conn:
                            conn.execute(f"CREATE SCHEMA {name}")
                        location = dsn + ("&" if "?" in dsn else "?") + f"options=-csearch_path%3D{name}"
                    r = run(location, w, args.adds)
                    print(f"{backend:9} {w:>7} {r['adds_per_s']:>8.0f} {r['add_p50']:>6.2f}ms {r['add_p95']:>6.2f}ms"
                          f" {r['retrieve_p50']:>7.2f}ms {r['retrieve_p95']:>7.2f}ms {r['drain']:>5.1f}s", flush=True)
                    if backend == "postgres":
                        with psycopg.connect(dsn, autocommit=True) as conn:
                            conn.execute(f"DROP SCHEMA {name} CASCADE")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
