"""The ``memoryos`` command: demo, add, search, list, get, delete, history, profile, stats,
export, import, forget-user (and mcp, bench).

Every command runs offline unless given ``--llm``, which uses the endpoint in ``OPENAI_BASE_URL``
(``OPENAI_API_KEY``, ``MEMORYOS_LLM_MODEL``): what the shell happens to hold never switches it on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import resources
from typing import Any, Callable, Sequence

from .config import default_data_path
from .errors import InvalidInputError, MemoryOSError
from .memory import Memoryos
from .types import Page
from .validation import parse_timestamp


def _common(parser: argparse.ArgumentParser, *, default_user: str = "default_user",
            default_assistant: str = "default_assistant") -> None:
    parser.add_argument("--data", default=default_data_path(),
                        help="storage folder or postgresql:// DSN (default %(default)s; $MEMORYOS_DATA sets it)")
    parser.add_argument("--user", default=default_user, help="user id (default %(default)s)")
    parser.add_argument("--assistant", default=default_assistant, help="assistant id (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--llm", action="store_true",
                        help="use the LLM at $OPENAI_BASE_URL (key $OPENAI_API_KEY, model $MEMORYOS_LLM_MODEL); "
                             "default: offline")


def _llm_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if not getattr(args, "llm", False):
        return {}
    base_url = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    return {"openai_base_url": base_url, "openai_api_key": os.environ.get("OPENAI_API_KEY") or "not-needed",
            "llm_model": os.environ.get("MEMORYOS_LLM_MODEL", "gpt-4o-mini")}


def _open(args: argparse.Namespace, **kwargs: Any) -> Memoryos:
    kwargs.setdefault("background", False)
    return Memoryos(user_id=args.user, assistant_id=args.assistant, data_storage_path=args.data,
                    **_llm_kwargs(args), **kwargs)


def _limit(parser: argparse.ArgumentParser, default: int, what: str) -> None:
    parser.add_argument("--limit", type=int, default=default, help=f"most {what} to show (default %(default)s)")


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


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        pages = memory.list_memories(tier=args.tier, limit=args.limit, offset=args.offset)
    _emit(args, {"results": [p.to_dict() for p in pages]},
          "\n".join(f"{p.id}  {p.tier:<8} {_page_line(p)}" for p in pages) or "(no memories)")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        item = memory.get(args.id)
    _emit(args, item.to_dict(), json.dumps(item.to_dict(), ensure_ascii=False, indent=2, default=str))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        memory.delete(args.id)
    _emit(args, {"status": "success", "deleted": args.id}, f"deleted {args.id}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        entries = memory.history(args.id)
    rows = [e.to_dict() for e in entries][-args.limit:]
    lines = [f"{r['event']:<10} {r['target_id']}  {r.get('old_value') or ''} -> {r.get('new_value') or ''}".replace("\n", " | ")
             for r in rows]
    _emit(args, {"results": rows}, "\n".join(lines) or "(no history)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with _open(args) as memory:
        stats = memory.stats()
    lines = [f"user {stats['user_id']}, assistant {stats['assistant_id']}, mode {stats['mode']}, embedder {stats['embedder']}"]
    lines += [f"  {k}: {v}" for k, v in stats["tiers"].items()]
    if stats["last_error"]:
        lines.append(f"  last error: {stats['last_error']}")
    _emit(args, stats, "\n".join(lines))
    return 0


def cmd_forget_user(args: argparse.Namespace) -> int:
    if not args.yes:
        print(f"memoryos: error: this erases everything of user {args.user!r} in {args.data}; "
              "add --yes to confirm", file=sys.stderr)
        return 2
    with _open(args) as memory:
        memory.delete_all()
    _emit(args, {"status": "success", "user_id": args.user},
          f"erased everything of user {args.user!r} (every assistant) in {args.data}")
    return 0


#: How long ``memoryos demo --llm`` waits for the LLM's persona passes before showing the profile.
DEMO_LLM_SETTLE_SECONDS = 3600.0


def load_demo() -> dict[str, Any]:
    return json.loads(resources.files("memoryos_core").joinpath("data/demo_conversation.json").read_text("utf-8"))


def cmd_demo(args: argparse.Namespace) -> int:
    demo = load_demo()
    started = time.perf_counter()
    with _open(args, background=True) as memory:
        if memory.llm is not None:
            problem = _llm_problem(memory)
            if problem:
                print(f"memoryos: error: {problem}", file=sys.stderr)
                return 2
        memory.delete_all()  # the demo user starts from a clean slate every run
        turns = 0
        for session in demo["sessions"]:
            base = parse_timestamp(session["date"])
            for i, turn in enumerate(session["turns"]):
                memory.add_memory(turn["user"], turn["assistant"], timestamp=base + 60 * i,
                                  meta_data={"session": session["date"]})
                turns += 1
        ingest = time.perf_counter() - started
        # A local model takes minutes per persona pass: wait for it, so the profile shown is the model's.
        settle = DEMO_LLM_SETTLE_SECONDS if memory.llm is not None else 120
        if memory.llm is not None and not args.json:
            print("Waiting for the LLM's persona passes (minutes with a local model; Ctrl-C stops)...", flush=True)
        memory.flush(timeout=settle)
        recalls = []
        for q in demo["questions"]:  # retrieval heats the segments it uses, as in real use
            result = memory.retrieve(q["question"])
            hit = q["expect"].lower() in result.context.lower()
            recalls.append({"question": q["question"], "expect": q["expect"], "found_in_context": hit,
                            "context_tokens": result.context_tokens,
                            "top_pages": [{"score": round(sp.score, 3), "text": sp.page.text} for sp in result.mid_term]})
        memory.flush(timeout=settle)
        stats = memory.stats()
        profile = memory.get_user_profile()
        knowledge = memory.get_user_knowledge()
        assistant = memory.get_assistant_knowledge()
    elapsed = time.perf_counter() - started
    data = {"turns": turns, "ingest_seconds": round(ingest, 3), "total_seconds": round(elapsed, 2), "mode": stats["mode"],
            "tiers": stats["tiers"], "profile": profile.fields, "user_knowledge": [f.text for f in knowledge],
            "assistant_knowledge": [f.text for f in assistant], "recall": recalls}
    out = [f"MemoryOS demo ({stats['mode']}, embedder {stats['embedder']})",
           f"User {args.user!r}, assistant {args.assistant!r}, data in {args.data}",
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
    out += ["", f"{found}/{len(recalls)} recall questions answered from memory context.", "",
            "Look further with:", f"  memoryos profile --data {args.data} --user {args.user} --assistant {args.assistant}",
            f"  memoryos search --data {args.data} --user {args.user} --assistant {args.assistant} \"Where does Alex live?\""]
    data.update(user_id=args.user, assistant_id=args.assistant, data=args.data)
    _emit(args, data, "\n".join(out))
    return 0


def _llm_problem(memory: Memoryos) -> str | None:
    """One short call before the demo: an unreachable endpoint is reported once, naming its URL,
    rather than as a stream of failed background jobs."""
    from .providers.base import ChatMessage

    assert memory.llm is not None
    try:
        memory.llm.complete([ChatMessage("user", "Reply with OK.")], purpose="preflight")
    except MemoryOSError as exc:
        return f"the LLM endpoint does not answer ({exc}); run without --llm to stay offline"
    return None


def cmd_mcp(args: argparse.Namespace) -> int:
    from .mcp import run_from_cli

    return run_from_cli(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from memoryos_bench.locomo import run_from_cli

    return run_from_cli(args)


def _add_record_commands(sub: Any) -> None:
    """Subcommands over single records: list, get, delete, history, stats, forget-user."""
    p = sub.add_parser("list", help="list stored exchanges in conversation order")
    _common(p)
    p.add_argument("--tier", choices=("short", "mid", "archived"), help="only this tier")
    _limit(p, 100, "exchanges")
    p.add_argument("--offset", type=int, default=0, help="skip this many first (default %(default)s)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("get", help="show one exchange (pg_...) or fact (ft_...)")
    _common(p)
    p.add_argument("id")
    p.set_defaults(func=cmd_get)

    p = sub.add_parser("delete", help="delete one exchange (with facts drawn only from it) or one fact")
    _common(p)
    p.add_argument("id")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("history", help="the audit trail of changes (of one id, or all)")
    _common(p)
    p.add_argument("id", nargs="?", default=None)
    _limit(p, 100, "entries (newest)")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("stats", help="tier sizes, pending work and the last error")
    _common(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("forget-user", help="erase everything of one user (every assistant)")
    _common(p)
    p.add_argument("--yes", action="store_true", help="confirm the erasure")
    p.set_defaults(func=cmd_forget_user)


def _add_optional_commands(sub: Any) -> None:
    """Subcommands of the optional extras: ``mcp`` (the MCP server) and ``bench`` (the benchmarks)."""
    add_mcp_arguments: Callable[[argparse.ArgumentParser], None] | None
    try:
        from .mcp import add_cli_arguments as add_mcp_arguments
    except ImportError:
        add_mcp_arguments = None
    if add_mcp_arguments is not None:
        p = sub.add_parser("mcp", help="serve memory to MCP clients (stdio or streamable HTTP)")
        add_mcp_arguments(p)
        p.set_defaults(func=cmd_mcp)

    add_bench_arguments: Callable[[argparse.ArgumentParser], None] | None
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


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="memoryos", description="Tiered long-term memory for AI agents.")
    parser.add_argument("--version", action="version", version=f"memoryos {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="ingest a sample conversation (offline unless --llm) and show what memory made of it")
    _common(p, default_user="demo_alex", default_assistant="demo_assistant")
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
    _limit(p, 5, "results")
    p.set_defaults(func=cmd_search)

    _add_record_commands(sub)

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

    _add_optional_commands(sub)
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
