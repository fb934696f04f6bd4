"""Read latency for one user at growing store sizes, the query embedding included (issue 16).

    .venv/bin/python benchmarks/read_latency.py --sizes 1000,10000,100000 --dir /tmp/read-bench

For each size a store of synthetic multi-topic pages is filled once (``store_latency``'s filler:
precomputed vectors, so filling is fast; kept in ``--dir`` for the next run), then measured with
the real offline embedder (all-MiniLM-L6-v2 int8), which embeds every query:

- first answer after open, in a new process, twice: the process opens the memory, loads the
  embedding model and answers one ``retrieve``. The first process after the fill may have to build
  what is not stored yet (it stores the lexicon snapshot when it closes); the second shows what
  every later process pays.
- steady ``search(limit=10)`` and ``retrieve()`` p50 / p95 over distinct queries (none repeated, so
  no cache helps), after the page graph is built; and ``retrieve`` of a query asked just before
  (a retry, a framework asking twice).

Only public API is used, so the same script measures an older checkout (``PYTHONPATH=<checkout>``)
on a copy of the same stores: compare old and new in one session, on an otherwise idle machine if
the absolute figures matter (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from store_latency import TOPICS, PrecomputedEmbedder, fill  # noqa: E402

from memoryos_core import MemoryConfig, Memoryos, default_embedder  # noqa: E402

CONFIG = MemoryConfig(mid_term_capacity=1_000_000)  # keep every page searchable: measure the full store


def queries(n: int, seed: int) -> list[str]:
    """``n`` distinct questions about the pages' topics and details."""
    pool = [f"what did I learn about {topic} detail {d}" for topic in TOPICS for d in range(97)]
    return random.Random(seed).sample(pool, n)


def ensure_filled(path: Path, size: int) -> None:
    memory = Memoryos(user_id="bench", data_storage_path=path, embedder=PrecomputedEmbedder(), config=CONFIG,
                      background=False)
    have = len(memory.list_memories(limit=10**7))
    if have < size:
        print(f"  filling {path.name}: {have} -> {size} pages", file=sys.stderr, flush=True)
        fill(memory, have, size)
        memory.flush()
    memory.close()


def first_answer(path: Path) -> dict[str, float]:
    """In this (new) process: open, load the model, answer one retrieve, close."""
    t = time.perf_counter()
    embedder = default_embedder()
    embedder.embed(["load the model"])
    model = time.perf_counter() - t
    t = time.perf_counter()
    memory = Memoryos(user_id="bench", data_storage_path=path, embedder=embedder, config=CONFIG)
    opened = time.perf_counter() - t
    t = time.perf_counter()
    memory.retrieve("what did I learn about garden tomatoes compost detail 5")
    first = time.perf_counter() - t
    t = time.perf_counter()
    memory.close()
    return {"model_s": model, "open_s": opened, "first_retrieve_s": first, "close_s": time.perf_counter() - t}


def in_new_process(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--first-answer", str(path)], check=True,
                         capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def steady(path: Path, samples: int) -> dict[str, float]:
    memory = Memoryos(user_id="bench", data_storage_path=path, embedder=default_embedder(), config=CONFIG)
    memory.warm_up()  # the page graph (past 20k vectors) is built in the background; wait for it
    memory.retrieve("warm up after the graph")
    asked = queries(2 * samples, seed=len(path.name))
    timings: dict[str, list[float]] = {"search": [], "retrieve": [], "repeat": []}
    for searched, retrieved in zip(asked[:samples], asked[samples:]):  # interleaved: both see the same load
        t = time.perf_counter()
        memory.search(searched, limit=10)
        timings["search"].append(time.perf_counter() - t)
        t = time.perf_counter()
        memory.retrieve(retrieved)
        timings["retrieve"].append(time.perf_counter() - t)
    for q in asked[samples:samples + samples // 4]:  # the same question twice in a row: time the second
        memory.retrieve(q)
        t = time.perf_counter()
        memory.retrieve(q)
        timings["repeat"].append(time.perf_counter() - t)
    memory.close()
    return {f"{kind}_p{q}": pct(values, q) for kind, values in timings.items() for q in (50, 95)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--dir", default="read-bench", help="where the stores are kept (store-<size>)")
    parser.add_argument("--first-answer", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_answer:
        print(json.dumps(first_answer(Path(args.first_answer))))
        return 0
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    print(f"# read latency, one user, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; stores in {base}")
    header = ("| pages | model load | open | first retrieve (1st / 2nd new process) | search p50 / p95 "
              "| retrieve p50 / p95 | retrieve p50, query asked before |")
    rows = []
    for size in sorted(int(s) for s in args.sizes.split(",")):
        path = base / f"store-{size}"
        ensure_filled(path, size)
        one, two = in_new_process(path), in_new_process(path)
        r = steady(path, args.samples)
        print(f"  {size}: first {one} then {two}; steady {r}", file=sys.stderr, flush=True)
        rows.append(f"| {size:,} | {two['model_s']:.2f} s | {two['open_s']:.2f} s "
                    f"| {1000 * one['first_retrieve_s']:.0f} / {1000 * two['first_retrieve_s']:.0f} ms "
                    f"| {r['search_p50']:.1f} / {r['search_p95']:.1f} ms | {r['retrieve_p50']:.1f} / {r['retrieve_p95']:.1f} ms "
                    f"| {r['repeat_p50']:.1f} ms |")
    print(header)
    print("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    print("\n".join(rows))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
