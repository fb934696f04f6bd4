"""Add and retrieve latency for one user at growing store sizes (issue: core storage targets).

    .venv/bin/python benchmarks/store_latency.py --sizes 1000,10000,100000

For each size the store is filled with synthetic multi-topic pages (vectors precomputed, so
filling is fast), then measured:

- "embedding excluded": the embedder returns precomputed vectors (a dictionary look-up), so the
  figures are the memory engine itself: SQLite transaction, FAISS search, ranking, context assembly.
  Adds run in synchronous mode, so every 8th add also pays for an inline consolidation pass.
- "embedding included": the real offline embedder (all-MiniLM-L6-v2 int8 on onnxruntime); adds in
  background mode (the default) return after the insert and the worker embeds in batches, so the
  add figure is the caller's latency and "embed/page" is the worker's amortised cost.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from memoryos_core import MemoryConfig, Memoryos, default_embedder

TOPICS = ["hiking trails mountains", "sourdough bread baking", "chess openings tactics", "jazz piano chords",
          "marathon training plan", "garden tomatoes compost", "python programming bugs", "travel japan kyoto",
          "family dinner recipes", "astronomy telescope nebula", "budget savings mortgage", "dog training puppy"]
DIM = 384


class PrecomputedEmbedder:
    """Vectors by topic: centroid plus noise, looked up by text. Costs microseconds."""

    name = "bench:precomputed"

    def __init__(self, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.centroids = rng.standard_normal((len(TOPICS), DIM)).astype(np.float32)
        self.rng = rng

    @property
    def dim(self) -> int:
        return DIM

    def _vector(self, text: str) -> np.ndarray:
        topic = next((i for i, t in enumerate(TOPICS) if t.split()[0] in text), hash(text) % len(TOPICS))
        local = np.random.default_rng(abs(hash(text)) % (2**32))
        v = self.centroids[topic] + 0.8 * local.standard_normal(DIM).astype(np.float32)
        return v / np.linalg.norm(v)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]).astype(np.float32) if texts else np.zeros((0, DIM), np.float32)

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)


def page_text(i: int) -> tuple[str, str]:
    topic = TOPICS[(i // 20) % len(TOPICS)]  # topics come in runs, as in real conversations
    words = topic.split()
    return (f"{words[0]} note {i}: today I spent time on {topic} and learned detail {i % 97}.",
            f"That is great progress with {words[1]} {i % 13}; keep going with {words[2]}.")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def fill(memory: Memoryos, start: int, end: int) -> None:
    t0 = time.perf_counter()
    for i in range(start, end):
        u, a = page_text(i)
        memory.add_memory(u, a, timestamp=1_600_000_000 + i * 90)
        if (i + 1) % 10000 == 0:
            print(f"  filled {i + 1} pages ({time.perf_counter() - t0:.0f}s)", file=sys.stderr, flush=True)


def measure(path: Path, size: int, samples: int, included: bool) -> dict[str, float]:
    config = MemoryConfig(mid_term_capacity=1_000_000)  # keep every page searchable: measure the full store
    fast = Memoryos(user_id="bench", data_storage_path=path, embedder=PrecomputedEmbedder(), config=config,
                    background=False)
    have = len(fast.list_memories(limit=10**7))
    fill(fast, have, size)
    fast.flush()
    fast.close()  # reopen: what a new process pays before its first answer
    fast = Memoryos(user_id="bench", data_storage_path=path, embedder=PrecomputedEmbedder(), config=config,
                    background=False)
    t = time.perf_counter()
    fast.retrieve("what did I learn about the garden", record_visits=False)
    first_retrieve = time.perf_counter() - t
    t = time.perf_counter()
    fast.warm_up()  # the page graph, built in the background past HNSW_THRESHOLD vectors
    graph_ready = time.perf_counter() - t
    queries = [f"what did I learn about {random.choice(TOPICS)} detail {random.randint(0, 96)}" for _ in range(samples)]
    add_times, ret_times = [], []
    for j in range(samples):
        u, a = page_text(size + j)
        t = time.perf_counter()
        fast.add_memory(u, a, timestamp=1_600_000_000 + (size + j) * 90)
        add_times.append(time.perf_counter() - t)
    fast.flush()
    for q in queries:
        t = time.perf_counter()
        fast.retrieve(q, record_visits=False)
        ret_times.append(time.perf_counter() - t)
    out = {"pages": len(fast.list_memories(limit=10**7)), "add_p50_ms": pct(add_times, 50), "add_p95_ms": pct(add_times, 95),
           "retrieve_p50_ms": pct(ret_times, 50), "retrieve_p95_ms": pct(ret_times, 95),
           "disk_bytes_per_page": sum(f.stat().st_size for f in path.iterdir()) / max(1, size),
           "first_retrieve_ms": 1000 * first_retrieve, "graph_ready_s": graph_ready}
    fast.close()
    if included:
        real = Memoryos(user_id="bench", data_storage_path=path, embedder=default_embedder(), config=config,
                        background=True)
        add_times, ret_times = [], []
        for j in range(samples):
            u, a = page_text(size + samples + j)
            t = time.perf_counter()
            real.add_memory(u, a, timestamp=1_600_000_000 + (size + samples + j) * 90)
            add_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        real.flush()
        drain = time.perf_counter() - t
        for q in queries:
            t = time.perf_counter()
            real.retrieve(q, record_visits=False)
            ret_times.append(time.perf_counter() - t)
        embed = real.stats()["usage"]["by_operation"].get("embedding:pages", {"seconds": 0.0, "items": 1})
        out.update({"incl_add_p50_ms": pct(add_times, 50), "incl_add_p95_ms": pct(add_times, 95),
                    "incl_retrieve_p50_ms": pct(ret_times, 50), "incl_retrieve_p95_ms": pct(ret_times, 95),
                    "incl_embed_ms_per_page": 1000 * embed["seconds"] / max(1, embed["items"]),
                    "incl_drain_s": drain})
        real.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--no-embedding", action="store_true", help="skip the 'embedding included' runs")
    parser.add_argument("--dir", help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    random.seed(1)
    base = Path(args.dir or tempfile.mkdtemp(prefix="memoryos-bench-"))
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"# store latency, one user, {os.cpu_count()} cores; folder {base}")
    header = ("| pages | add p50 | add p95 | retrieve p50 | retrieve p95 | disk/page | first retrieve after open "
              "| graph ready after | add p50 (+emb) | add p95 (+emb) "
              "| embed/page | retrieve p50 (+emb) | retrieve p95 (+emb) |")
    rows = []
    path = base / "store"  # grows from one size to the next
    for size in sizes:
        r = measure(path, size, args.samples, not args.no_embedding)
        print(f"  {size}: {r}", file=sys.stderr, flush=True)
        cells = [f"{size:,}", f"{r['add_p50_ms']:.2f} ms", f"{r['add_p95_ms']:.2f} ms", f"{r['retrieve_p50_ms']:.2f} ms",
                 f"{r['retrieve_p95_ms']:.2f} ms", f"{r['disk_bytes_per_page'] / 1024:.1f} KB",
                 f"{r['first_retrieve_ms']:.0f} ms", f"{r['graph_ready_s']:.1f} s"]
        if "incl_add_p50_ms" in r:
            cells += [f"{r['incl_add_p50_ms']:.2f} ms", f"{r['incl_add_p95_ms']:.2f} ms", f"{r['incl_embed_ms_per_page']:.2f} ms",
                      f"{r['incl_retrieve_p50_ms']:.2f} ms", f"{r['incl_retrieve_p95_ms']:.2f} ms"]
        else:
            cells += ["-"] * 5
        rows.append("| " + " | ".join(cells) + " |")
    print(header)
    print("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
