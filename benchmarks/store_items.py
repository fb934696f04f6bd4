"""MemoryOSStore (LangGraph store) latency at growing numbers of items under one user's namespace.

    .venv/bin/python benchmarks/store_items.py --sizes 1000,10000 [--dsn postgresql://...] [--minilm]

Items are filled in batches (one transaction each). Then measured, one call at a time: ``put``
(an upsert of one item: embedding + one transaction), ``get``, ``search`` with a query (every
item under the prefix is a candidate: vectors and BM25 over all of them), ``search`` with a filter
and no query, ``search`` with neither (paged in SQL), and ``list_namespaces``. By default the
embedder is ``HashingEmbedder(384)`` (microseconds: the figures are the store and the ranking);
``--minilm`` uses MemoryOS's local MiniLM embedder (what a default store pays per put and query).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from typing import Any, Callable

from memoryos_core import HashingEmbedder, default_embedder
from memoryos_langchain import MemoryOSStore

TOPICS = ["hiking trails mountains", "sourdough bread baking", "chess openings tactics", "jazz piano chords",
          "marathon training plan", "garden tomatoes compost", "python programming bugs", "travel japan kyoto"]
NS = ("memories", "alice")


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def fill(store: MemoryOSStore, n: int, rng: random.Random) -> None:
    from langgraph.store.base import PutOp

    for start in range(0, n, 500):
        store.batch([PutOp((*NS, f"topic{i % 8}"), f"item{i}",
                           {"content": f"note {i} about {rng.choice(TOPICS)} and {rng.choice(TOPICS)}",
                            "i": i, "kind": "note" if i % 3 else "task"})
                     for i in range(start, min(n, start + 500))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--dsn", help="a postgresql:// DSN (each size uses a fresh schema is up to you: the items are "
                                      "added to what is there)")
    parser.add_argument("--minilm", action="store_true", help="embed with the local MiniLM model")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    embedder = default_embedder() if args.minilm else HashingEmbedder(384)
    print(f"embedder: {embedder.name}; backend: {'PostgreSQL' if args.dsn else 'SQLite'}; runs: {args.runs}")
    print("| items | put p50 / p95 | get p50 | search(query) p50 / p95 | search(filter) p50 | search() p50 |"
          " list_namespaces p50 |")
    print("|---|---|---|---|---|---|---|")
    rng = random.Random(7)
    for n in [int(x) for x in args.sizes.split(",")]:
        location = args.dsn or tempfile.mkdtemp(prefix=f"memoryos-items-{n}-")
        with MemoryOSStore(location, embedder=embedder) as store:
            fill(store, n, rng)
            counter = iter(range(10**9))
            put = timed(lambda: store.put((*NS, "topic0"), f"item{next(counter) % n}",
                                          {"content": f"updated about {rng.choice(TOPICS)}", "i": -1}), args.runs)
            get = timed(lambda: store.get((*NS, "topic1"), f"item{rng.randrange(n)}"), args.runs)
            query = timed(lambda: store.search(NS, query=f"what about {rng.choice(TOPICS)}?", limit=10), args.runs)
            filtered = timed(lambda: store.search(NS, filter={"kind": "task", "i": {"$gte": n // 2}}, limit=10),
                             args.runs)
            plain = timed(lambda: store.search(NS, limit=10, offset=rng.randrange(n)), args.runs)
            listing = timed(lambda: store.list_namespaces(prefix=("memories",)), args.runs)
        print(f"| {n:,} | {put[0]:.2f} / {put[1]:.2f} ms | {get[0]:.2f} ms | {query[0]:.1f} / {query[1]:.1f} ms |"
              f" {filtered[0]:.1f} ms | {plain[0]:.2f} ms | {listing[0]:.1f} ms |")


if __name__ == "__main__":
    main()
