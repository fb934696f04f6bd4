"""The ``memoryos`` command: demo, add, search, profile, export, import (and mcp, bench).

Every command reads the LLM settings from the environment (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``MEMORYOS_LLM_MODEL``); without them it runs offline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import resources
from typing import Any, Sequence

from .errors import InvalidInputError, MemoryOSError
from .memory import Memoryos
from .types import Page
from .validation import parse_timestamp


def _common(parser: argparse.ArgumentParser, *, default_data: str = "./memoryos_data", default_user: str = "default_user") -> None:
    parser.add_argument("--data", default=os.environ.get("MEMORYOS_DATA", default_data), help="storage folder (default %(default)s)")
    parser.add_argument("--user", default=default_user, help="user id (default %(default)s)")
    parser.add_argument("--assistant", default="default_assistant", help="assistant id (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _open(args: argparse.Namespace, **kwargs: Any) -> Memoryos:
    return Memoryos(user_id=args.user, assistant_id=args.assistant, data_storage_path=args.data,
                    llm_model=os.environ.get("MEMORYOS_LLM_MODEL", "gpt-4o-mini"), background=False, **kwargs)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str) if args.json else text)


def _page_line(page: Page) -> str:
    when = time.strftime("%Y-%m-%d", time.gmtime(page.timestamp))
    return f"[{when}] {page.text}".replace("\n", " | ")


# -- commands ----------------------------------------------------------------------------------

def cmd_add(args: argparse.Namespace) -> int:
    meta = json.loads(args.meta) if args.meta else None
    with _open(args) as memory:
        page = memory.add_memory(args.user_input, args.agent_response, timestamp=args.timestamp, meta_data=meta)
    _emit(args, {"status": "success", "page": page.to_dict()}, f"stored {page.id}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        found = memory.search(args.query, limit=args.limit)
    lines = [f"{r['score']:.3f}  {r['type']:<20} {r['memory']}".replace("\n", " | ") for r in found["results"]]
    _emit(args, {"query": args.query, **found}, "\n".join(lines) or "(nothing found)")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        profile = memory.get_user_profile()
        user = memory.get_user_knowledge()
        assistant = memory.get_assistant_knowledge()
    data = {"user_id": args.user, "profile": profile.fields, "user_knowledge": [f.to_dict() for f in user],
            "assistant_knowledge": [f.to_dict() for f in assistant]}
    text = [profile.render() or "(empty profile)", "", "User knowledge:"] + [f"- {f.text}" for f in user]
    text += ["", "Assistant knowledge:"] + [f"- {f.text}" for f in assistant]
    _emit(args, data, "\n".join(text))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        data = memory.export()
    encoded = json.dumps(data, ensure_ascii=False, indent=2)
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(encoded)
        print(f"exported {len(data['pages'])} pages to {args.output}", file=sys.stderr)
    else:
        print(encoded)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    source = args.input if args.input != "-" else "standard input"
    try:
        with open(args.input, encoding="utf-8") if args.input != "-" else sys.stdin as fh:
            data = json.loads(fh.read())
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, or nested beyond the parser
        raise InvalidInputError(f"{source} is not a JSON export: {str(exc) or type(exc).__name__}") from None
    with _open(args) as memory:
        count = memory.import_data(data)
    present = len(data.get("pages") or []) - count
    _emit(args, {"status": "success", "pages": count},
          f"imported {count} pages" + (f" ({present} already present)" if present else ""))
    return 0


def load_demo() -> dict[str, Any]:
    return json.loads(resources.files("memoryos_core").joinpath("data/demo_conversation.json").read_text("utf-8"))


def cmd_demo(args: argparse.Namespace) -> int:
    demo = load_demo()
    started = time.perf_counter()
    with Memoryos(user_id=demo["user_id"], assistant_id=demo["assistant_id"], data_storage_path=args.data,
                  background=True) as memory:
        memory.delete_all()  # the demo starts from a clean slate every run
        turns = 0
        for session in demo["sessions"]:
            base = parse_timestamp(session["date"])
            for i, turn in enumerate(session["turns"]):
                memory.add_memory(turn["user"], turn["assistant"], timestamp=base + 60 * i,
                                  meta_data={"session": session["date"]})
                turns += 1
        ingest = time.perf_counter() - started
        memory.flush(timeout=120)
        recalls = []
        for q in demo["questions"]:  # retrieval heats the segments it uses, as in real use
            result = memory.retrieve(q["question"])
            hit = q["expect"].lower() in result.context.lower()
            recalls.append({"question": q["question"], "expect": q["expect"], "found_in_context": hit,
                            "context_tokens": result.context_tokens,
                            "top_pages": [{"score": round(sp.score, 3), "text": sp.page.text} for sp in result.mid_term]})
        memory.flush(timeout=120)
        stats = memory.stats()
        profile = memory.get_user_profile()
        knowledge = memory.get_user_knowledge()
        assistant = memory.get_assistant_knowledge()
    elapsed = time.perf_counter() - started
    data = {"turns": turns, "ingest_seconds": round(ingest, 3), "total_seconds": round(elapsed, 2), "mode": stats["mode"],
            "tiers": stats["tiers"], "profile": profile.fields, "user_knowledge": [f.text for f in knowledge],
            "assistant_knowledge": [f.text for f in assistant], "recall": recalls}
    out = [f"MemoryOS demo ({stats['mode']}, embedder {stats['embedder']})",
           f"Ingested {turns} turns in {ingest:.2f}s; total {elapsed:.1f}s", "", "Tiers:"]
    out += [f"  {k}: {v}" for k, v in stats["tiers"].items()]
    out += ["", "User profile:", profile.render() or "  (empty)", "", "User knowledge:"]
    out += [f"  - {f.text}" for f in knowledge] or ["  (none)"]
    out += ["", "Assistant knowledge:"] + ([f"  - {f.text}" for f in assistant] or ["  (none)"])
    out += ["", "Recall:"]
    for r in recalls:
        out.append(f"  Q: {r['question']}  [{'found' if r['found_in_context'] else 'MISSING'}: {r['expect']}]")
        out += [f"     {p['score']:.3f} {p['text']}".replace("\n", " | ") for p in r["top_pages"][:2]]
    found = sum(r["found_in_context"] for r in recalls)
    out += ["", f"{found}/{len(recalls)} recall questions answered from memory context."]
    _emit(args, data, "\n".join(out))
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from .mcp_server import run_from_cli

    return run_from_cli(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from memoryos_bench.locomo import run_from_cli

    return run_from_cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memoryos", description="Tiered long-term memory for AI agents.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="ingest a sample conversation offline and show what memory made of it")
    _common(p, default_data=".memoryos-demo")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("add", help="store one exchange")
    _common(p)
    p.add_argument("user_input")
    p.add_argument("agent_response")
    p.add_argument("--timestamp", help="conversation time (ISO 8601 or epoch seconds)")
    p.add_argument("--meta", help="JSON object stored with the page")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("search", help="search memory")
    _common(p)
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=5)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("profile", help="show the user profile and knowledge")
    _common(p)
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("export", help="export a user's memory as JSON")
    _common(p)
    p.add_argument("--output", "-o", default="-")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="import a JSON export")
    _common(p)
    p.add_argument("input", help="export file, or - for standard input")
    p.set_defaults(func=cmd_import)

    try:
        from .mcp_server import add_cli_arguments as add_mcp_arguments
    except ImportError:
        add_mcp_arguments = None
    if add_mcp_arguments is not None:
        p = sub.add_parser("mcp", help="serve memory to MCP clients (stdio or streamable HTTP)")
        add_mcp_arguments(p)
        p.set_defaults(func=cmd_mcp)

    try:
        from memoryos_bench.locomo import add_cli_arguments as add_bench_arguments
    except ImportError:
        add_bench_arguments = None
    if add_bench_arguments is not None:
        bench = sub.add_parser("bench", help="benchmarks")
        bench_sub = bench.add_subparsers(dest="bench", required=True)
        p = bench_sub.add_parser("locomo", help="LoCoMo evidence recall, QA scores, cost and speed")
        add_bench_arguments(p)
        p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MemoryOSError as exc:
        print(f"memoryos: error: {exc}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, OSError) as exc:
        print(f"memoryos: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
