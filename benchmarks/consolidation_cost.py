"""LLM cost and add latency of the write path, replaying LoCoMo conv-26 (issue: LLM consolidation).

    .venv/bin/python benchmarks/consolidation_cost.py [--data-path ../shared/data/locomo/locomo10.json]

Speaker A is the user, speaker B the assistant, session date-times are the timestamps, and no turn
is dropped (ingestion rules of ``memoryos_bench.data.plan_pages``). The LLM is the scripted
OpenAI-compatible server of the test suite on 127.0.0.1, answering instantly through the real
``openai`` client; its token counts are tiktoken counts of what was sent and answered. Embeddings
are the real offline MiniLM. Consolidation runs in the background (the default), so "add" is the
caller's latency; "drain" is the time the worker needs to finish after the last add.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from scripted_openai import Reply, ScriptedOpenAI  # noqa: E402

from memoryos_bench.data import load_locomo, plan_pages, resolve_data_path  # noqa: E402
from memoryos_core import MemoryConfig, Memoryos  # noqa: E402
from memoryos_core.tokens import TokenCounter  # noqa: E402

COUNTER = TokenCounter("gpt-4o-mini")


def _user(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")


def answer(body: dict[str, Any]) -> Reply:
    """A plausible instant model: groups consolidation batches by the first candidate, extracts one fact."""
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    text = _user(body)
    if "organise a user's conversation history" in system:
        numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", text, flags=re.M)]
        existing = re.findall(r'"id": "(sg_[0-9a-f]+)"', text)
        half = max(1, len(numbers) // 2)
        topics = [{"pages": numbers[:half], "segment": existing[0] if existing else None,
                   "summary": "The user and the assistant talked about daily life, plans and feelings.",
                   "keywords": ["life", "plans"]},
                  {"pages": numbers[half:], "segment": None,
                   "summary": "They discussed hobbies and family.", "keywords": ["hobbies", "family"]}]
        content = json.dumps({"topics": [t for t in topics if t["pages"]]})
    elif "long-term memory of an assistant" in system:
        content = json.dumps({"profile": [{"field": "interests", "value": ["community"]}],
                              "facts": [{"op": "add", "about": "user", "text": "The user cares about community work."}]})
    else:
        content = "ok"
    prompt = sum(COUNTER.count(m["content"]) for m in body["messages"])
    return Reply(content, prompt_tokens=prompt, completion_tokens=COUNTER.count(content))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--conversation", default="conv-26")
    parser.add_argument("--short-term-capacity", type=int, default=7, help="7 as in the published measurement")
    parser.add_argument("--llm-consolidation", action="store_true",
                        help="segment summaries by the LLM too (MemoryConfig(llm_consolidation=True); off by default)")
    parser.add_argument("--paced", action="store_true",
                        help="wait for the worker after every add, as in a live chat (worst case for LLM calls)")
    args = parser.parse_args(argv)

    conv = load_locomo(resolve_data_path(args.data_path), [args.conversation])[0]
    pages = plan_pages(conv)
    turns = len(conv.turns)
    with ScriptedOpenAI(max_lifetime=1800) as server:
        server.chat_handler = answer
        memory = Memoryos(user_id="conv26", openai_api_key="scripted", openai_base_url=server.base_url,
                          data_storage_path=tempfile.mkdtemp(prefix="memoryos-cost-"),
                          config=MemoryConfig(short_term_capacity=args.short_term_capacity,
                                              llm_consolidation=args.llm_consolidation), background=True)
        memory.retrieve("warm-up")  # load the ONNX model before timing
        adds: list[float] = []
        started = time.perf_counter()
        for plan in pages:
            t = time.perf_counter()
            memory.add_memory(plan.user_input, plan.agent_response, timestamp=plan.timestamp,
                              meta_data={"dia_ids": list(plan.dia_ids)})
            adds.append(time.perf_counter() - t)
            if args.paced:
                memory.flush(timeout=600)
        ingest = time.perf_counter() - started
        t = time.perf_counter()
        memory.flush(timeout=600)
        drain = time.perf_counter() - t
        stats = memory.stats()
        memory.close()
    usage = stats["usage"]
    llm = {k.split(":", 1)[1]: v for k, v in usage["by_operation"].items() if k.startswith("llm:")}
    calls = sum(v["calls"] for v in llm.values())
    prompt = sum(v["prompt_tokens"] for v in llm.values())
    completion = sum(v["completion_tokens"] for v in llm.values())
    emb = usage["by_operation"].get("embedding:pages", {"seconds": 0.0, "items": 1})
    ms = np.array(adds) * 1000
    print(f"# write-path cost, LoCoMo {args.conversation}: {turns} turns in {len(pages)} pages (adds), "
          f"short-term capacity {args.short_term_capacity}, background consolidation"
          f"{', paced (worker drained after every add)' if args.paced else ', adds as fast as possible'}")
    print("| figure | value |\n|---|---|")
    by_kind = ", ".join(f"{k} {v['calls']}" for k, v in sorted(llm.items()))
    print(f"| LLM calls | {calls} ({by_kind}) |")
    print(f"| LLM calls per 100 adds (pages) | {100 * calls / len(pages):.1f} |")
    print(f"| LLM calls per 100 turns | {100 * calls / turns:.1f} |")
    print(f"| prompt tokens per add | {prompt / len(pages):.0f} |")
    print(f"| completion tokens per add | {completion / len(pages):.0f} |")
    print(f"| add p50 / p95 (caller) | {np.percentile(ms, 50):.2f} ms / {np.percentile(ms, 95):.2f} ms |")
    print(f"| local embedding, amortised in the worker | {1000 * emb['seconds'] / max(1, emb['items']):.2f} ms per page |")
    print(f"| ingest wall time | {ingest:.2f} s |")
    print(f"| time to drain after the last add | {drain:.2f} s |")
    print(f"| pages in mid-term / short-term | {stats['tiers']['mid_term']} / {stats['tiers']['short_term']} |")
    print(f"| user / assistant facts | {stats['tiers']['user_knowledge']} / {stats['tiers']['assistant_knowledge']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
