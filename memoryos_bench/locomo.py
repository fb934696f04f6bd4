"""``memoryos bench locomo``: evidence recall, QA scores, cost and speed on LoCoMo.

Per conversation: ingest into its own MemoryOS user, index the raw turns for the baselines, then
for every question of the chosen categories measure the evidence recall and the answer-in-context
rate of each system's context at each token budget. With an OpenAI-compatible endpoint, also
answer the questions from each system's context and score the answers (LoCoMo F1, mem0 set F1,
BLEU-1, optional LLM judge), with how well each LLM-free proxy predicts F1 and a paired bootstrap
interval for MemoryOS's F1 difference to each baseline. ``--answer-only`` keeps ingestion offline
so the LLM only answers; ``--sample N`` answers a fixed stratified sample (:mod:`.sample`).

Outputs in ``--out``: ``results.json``, ``results.md`` (tables), ``recall.png`` (recall against
budget) and ``questions.jsonl`` (per-question recall and, with an LLM, answers and scores).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from memoryos_core.memory import Memoryos, default_embedder
from memoryos_core.tokens import TokenCounter
from . import metrics
from .baselines import TurnCorpus, hybrid_rag, naive_rag
from .data import Conversation, Question, load_locomo, plan_pages, resolve_data_path
from .sample import DEFAULT_SEED, QuestionSample, stratified_sample

SYSTEMS = ("memoryos", "naive_rag", "hybrid_rag", "full_context")
BUDGETED = ("memoryos", "naive_rag", "hybrid_rag")
LABELS = {"memoryos": "MemoryOS", "naive_rag": "naive RAG (cosine)", "hybrid_rag": "hybrid RAG (BM25+cosine, RRF)",
          "full_context": "full context"}
TOKEN_MODEL = "gpt-4o-mini"


@dataclass
class BenchOptions:
    data_path: Path
    out: Path
    conversations: list[str] | None = None
    categories: tuple[int, ...] = (1, 2, 3, 4)
    budgets: tuple[int, ...] = (1000, 2000, 4000)
    top_k: int = 1000
    short_term_capacity: int = 10
    workdir: Path | None = None
    max_questions: int | None = None
    #: A fixed stratified sample of this many questions (:func:`.sample.stratified_sample`).
    sample: int | None = None
    sample_seed: int = DEFAULT_SEED
    # LLM parts
    base_url: str | None = None
    api_key: str | None = None
    model: str = "gpt-4o-mini"
    #: None: 2000 tokens, or with ``answer_only`` the first of ``budgets``.
    answer_budget: int | None = None
    answer_systems: tuple[str, ...] = BUDGETED
    judge: bool = False
    judge_model: str | None = None
    #: Offline ingestion even with an endpoint: the LLM only answers (and judges).
    answer_only: bool = False
    #: One request at a time suits a one-slot local server; raise it for hosted endpoints.
    concurrency: int = 1
    #: Seconds per LLM request: a local CPU model needs minutes when requests queue.
    timeout: float = 300.0
    #: Further attempts after a failed request (timeouts, 5xx, connection errors); counted in the report.
    retries: int = 2
    #: First wait before a retry, doubled each time (at most 30 s).
    retry_backoff: float = 2.0
    #: Reuse the answers an interrupted run left in ``out/answers.partial.jsonl`` (same question, system,
    #: context and model).
    resume: bool = False
    bootstrap_resamples: int = 2000
    bootstrap_seed: int = 0
    progress: bool = True
    command: str = ""
    #: Tests inject a fast embedder; the CLI always uses the core's local MiniLM.
    embedder: Any = None
    llm: Any = None

    @property
    def llm_enabled(self) -> bool:
        return self.llm is not None or bool(self.base_url or self.api_key)

    @property
    def llm_ingest(self) -> bool:
        """Whether ingestion uses the LLM (consolidation, persona): not in answer-only runs."""
        return self.llm_enabled and not self.answer_only

    @property
    def reader_budget(self) -> int:
        """Context tokens given to the answering model."""
        if self.answer_budget is not None:
            return self.answer_budget
        return self.budgets[0] if self.answer_only else 2000


# -- command line ------------------------------------------------------------------------------

def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _name_list(text: str) -> list[str] | None:
    names = [x.strip() for x in text.split(",") if x.strip()]
    return None if not names or names == ["all"] else names


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-path", default=None,
                        help="locomo10.json (default: $MEMORYOS_LOCOMO, else ../shared/data/locomo/locomo10.json "
                             "relative to the repository)")
    parser.add_argument("--conversations", type=_name_list, default=None,
                        help="comma-separated sample ids, e.g. conv-26,conv-30 (default: all)")
    parser.add_argument("--categories", type=_int_list, default=(1, 2, 3, 4),
                        help="question categories (default 1,2,3,4; 5 = adversarial)")
    parser.add_argument("--budgets", type=_int_list, default=(1000, 2000, 4000),
                        help="context token budgets for evidence recall (default 1000,2000,4000)")
    parser.add_argument("--out", default="locomo-results", help="output folder (default %(default)s)")
    parser.add_argument("--top-k", type=int, default=1000, help="MemoryOS retrieve top_k (default %(default)s)")
    parser.add_argument("--short-term-capacity", type=int, default=10,
                        help="MemoryOS short-term pages (default %(default)s)")
    parser.add_argument("--workdir", default=None, help="where MemoryOS stores data (default: a temporary folder)")
    parser.add_argument("--max-questions", type=int, default=None,
                        help="at most this many questions per conversation (quick runs)")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="a fixed sample of N questions, stratified by conversation and category and "
                             "seeded: the same questions for every system and run (see docs/benchmarks.md)")
    parser.add_argument("--sample-seed", type=int, default=DEFAULT_SEED,
                        help="seed of the --sample order (default %(default)s)")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint: enables the LLM parts")
    parser.add_argument("--api-key", default=None,
                        help="API key (enables the LLM parts; with --base-url alone, $OPENAI_API_KEY or a dummy key)")
    parser.add_argument("--model", default=os.environ.get("MEMORYOS_LLM_MODEL", "gpt-4o-mini"),
                        help="chat model for ingestion, answers and judge (default %(default)s)")
    parser.add_argument("--answer-budget", type=int, default=None,
                        help="context tokens given to the answering model (default 2000; with --answer-only "
                             "the first of --budgets)")
    parser.add_argument("--systems", "--answer-systems", dest="answer_systems", default=",".join(BUDGETED),
                        help=f"systems whose contexts are answered (default {','.join(BUDGETED)}; "
                             "full_context is also accepted)")
    parser.add_argument("--answer-only", action="store_true",
                        help="ingest offline even with --base-url: the LLM only answers (and judges)")
    parser.add_argument("--judge", action="store_true", help="also score answers with an LLM judge")
    parser.add_argument("--judge-model", default=None, help="judge model (default: --model)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="parallel LLM requests (default %(default)s, for a one-slot local server)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the answers an interrupted run left in OUT/answers.partial.jsonl when the "
                             "question, system, context and model are the same")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per LLM request (default %(default)s)")
    parser.add_argument("--retries", type=int, default=2,
                        help="further attempts after a timeout or server error, counted in the report "
                             "(default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    answer_systems = tuple(s.strip() for s in str(args.answer_systems).split(",") if s.strip())
    unknown = [s for s in answer_systems if s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown --systems {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    if not answer_systems:
        raise ValueError("--systems names no system")
    if args.sample is not None and args.max_questions is not None:
        raise ValueError("--sample and --max-questions exclude each other")
    if args.answer_only and not (args.base_url or args.api_key):
        raise ValueError("--answer-only needs an endpoint to answer with (--base-url or --api-key)")
    if args.timeout <= 0 or args.retries < 0:
        raise ValueError("--timeout must be positive and --retries at least 0")
    argv = sys.argv or [""]
    program = "memoryos" if Path(argv[0]).name == "memoryos" else f"python {argv[0]}"
    return BenchOptions(
        data_path=resolve_data_path(args.data_path), out=Path(args.out), conversations=args.conversations,
        categories=tuple(args.categories), budgets=tuple(args.budgets), top_k=args.top_k,
        short_term_capacity=args.short_term_capacity, workdir=Path(args.workdir) if args.workdir else None,
        max_questions=args.max_questions, sample=args.sample, sample_seed=args.sample_seed,
        base_url=args.base_url, api_key=args.api_key, model=args.model,
        answer_budget=args.answer_budget, answer_systems=answer_systems, judge=args.judge,
        judge_model=args.judge_model, answer_only=args.answer_only, concurrency=max(1, args.concurrency),
        timeout=args.timeout, retries=args.retries, resume=args.resume, progress=not args.no_progress,
        command=" ".join([program, *argv[1:]]).strip())


def run_from_cli(args: argparse.Namespace) -> int:
    try:
        opts = options_from_args(args)
        results = run_benchmark(opts)
    except (FileNotFoundError, ValueError) as exc:
        print(f"memoryos bench locomo: error: {exc}", file=sys.stderr)
        return 2
    print(render_markdown(results))
    print(f"\nwrote {opts.out / 'results.json'}, results.md, recall.png, questions.jsonl", file=sys.stderr)
    return 0


# -- helpers ------------------------------------------------------------------------------------

def _bar(iterable: Any = None, *, total: int | None = None, desc: str = "", enabled: bool = True, leave: bool = False) -> Any:
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not enabled, file=sys.stderr, leave=leave,
                dynamic_ncols=True, mininterval=0.5)


@contextlib.contextmanager
def _without_env(*names: str) -> Iterator[None]:
    """Hide LLM settings from the environment so an offline run stays offline."""
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "python": platform.python_version(), "platform": platform.platform()}


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _latency(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50_ms": _r(metrics.percentile([v * 1000 for v in values], 50), 2),
            "p95_ms": _r(metrics.percentile([v * 1000 for v in values], 95), 2), "n": len(values)}


class QueryCache:
    """Wraps an embedder so a text embedded alone (a query) is embedded once: the bench asks
    MemoryOS the same question at every budget, and only the first call pays for the embedding."""

    def __init__(self, inner: Any, size: int = 4096) -> None:
        self.inner, self.name, self.size = inner, inner.name, size
        self._cache: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts)
        hit = self._cache.get(texts[0])
        if hit is None:
            hit = self.inner.embed(texts)[0]
            if len(self._cache) >= self.size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[texts[0]] = hit
        return hit[None, :].copy()

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)


def evidence_texts(conv: Conversation, q: Question) -> list[str]:
    turns = conv.turn_map()
    return [turns[d].text if turns[d].text.strip() else turns[d].full_text for d in q.evidence if d in turns]


# -- ingestion ----------------------------------------------------------------------------------

def open_memory(conv: Conversation, opts: BenchOptions, storage: Path, llm_kwargs: dict[str, Any]) -> Memoryos:
    with contextlib.ExitStack() as stack:
        if not opts.llm_ingest:
            stack.enter_context(_without_env("OPENAI_API_KEY", "OPENAI_BASE_URL"))
        return Memoryos(user_id=conv.sample_id, data_storage_path=storage, background=True,
                        short_term_capacity=opts.short_term_capacity,
                        embedder=QueryCache(opts.embedder or default_embedder()), **llm_kwargs)


def ingest(memory: Memoryos, conv: Conversation, progress: bool = False) -> dict[str, Any]:
    """Add every page in conversation order, then wait for embedding and consolidation."""
    pages = plan_pages(conv)
    start = time.perf_counter()
    for plan in _bar(pages, desc=f"ingest {conv.sample_id}", enabled=progress):
        memory.add_memory(plan.user_input, plan.agent_response, timestamp=plan.timestamp,
                          meta_data={"dia_ids": list(plan.dia_ids), "session": plan.session})
    added = time.perf_counter() - start
    memory.flush()
    seconds = time.perf_counter() - start
    usage = memory.stats()["usage"]["totals"]
    return {"turns": len(conv.turns), "pages": len(pages), "sessions": len(conv.sessions),
            "add_seconds": round(added, 3), "seconds": round(seconds, 3),
            "llm_calls": int(usage["llm_calls"]), "embedding_calls": int(usage["embedding_calls"]),
            "prompt_tokens": int(usage["prompt_tokens"]), "completion_tokens": int(usage["completion_tokens"])}


# -- LLM answers --------------------------------------------------------------------------------

ANSWER_SYSTEM = """You answer questions about a long conversation between {a} and {b}, using the memories provided.
Memories are grouped under the date of their conversation session, in brackets. Words like "yesterday" or
"last year" are relative to that date: turn them into dates or years. Answer with a short phrase (at most
ten words) and no explanation. If the memories do not contain the answer, give your best guess."""

JUDGE_SYSTEM = """You grade answers to questions about a conversation. Compare the generated answer with the gold answer.
Be generous: the same meaning in other words is CORRECT, and a date in another format or a relative time that
points to the same day, month or year is CORRECT. An answer that misses the point or contradicts the gold answer
is WRONG. Reply with one word: CORRECT or WRONG."""


def _chat(opts: BenchOptions) -> Any:
    if opts.llm is not None:
        return opts.llm
    return _endpoint_model(opts, opts.model)


def _endpoint_model(opts: BenchOptions, model: str) -> Any:
    """A chat model on the endpoint; the client does not retry (the bench retries and counts)."""
    from memoryos_core.providers.openai_compat import OpenAIChatModel

    key = opts.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
    return OpenAIChatModel(model, api_key=key, base_url=opts.base_url, temperature=0.0, timeout=opts.timeout,
                           max_retries=0)


def answer_messages(conv: Conversation, question: str, context: str) -> list[Any]:
    from memoryos_core.providers.base import ChatMessage

    system = ANSWER_SYSTEM.format(a=conv.speaker_a, b=conv.speaker_b)
    user = f"<memories>\n{context}\n</memories>\n\nQuestion: {question}\nShort answer:"
    return [ChatMessage("system", system), ChatMessage("user", user)]


def judge_messages(question: str, gold: str, answer: str) -> list[Any]:
    from memoryos_core.providers.base import ChatMessage

    return [ChatMessage("system", JUDGE_SYSTEM),
            ChatMessage("user", f"Question: {question}\nGold answer: {gold}\nGenerated answer: {answer}\nGrade:")]


def gold_answer(q: Question) -> str:
    if q.category == 5:
        return "Not mentioned in the conversation"
    return "" if q.answer is None else q.answer


def score_answer(q: Question, answer: str) -> dict[str, float]:
    gold = gold_answer(q)
    return {"f1": metrics.official_f1(answer, gold, q.category), "set_f1": metrics.set_f1(answer, gold),
            "bleu1": metrics.bleu1(answer, gold)}


# -- the run ------------------------------------------------------------------------------------

@dataclass
class _Acc:
    """Per-system accumulators."""

    recall: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # budget -> (category, recall)
    in_context: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # budget -> (category, rate)
    tokens: dict[str, list[int]] = field(default_factory=dict)  # budget -> context tokens
    qa: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _QAJob:
    """One question to answer from one system's context at the answer budget."""

    conv: Conversation
    q: Question
    system: str
    context: str
    context_tokens: int
    search_seconds: float
    recall: float | None
    in_context: float | None
    row: dict[str, Any]


def run_benchmark(opts: BenchOptions) -> dict[str, Any]:
    started = time.perf_counter()
    convs = load_locomo(opts.data_path, opts.conversations)
    sample = stratified_sample(convs, opts.categories, opts.sample, opts.sample_seed) if opts.sample else None
    counter = TokenCounter(TOKEN_MODEL)
    embedder = opts.embedder or default_embedder()
    opts.out.mkdir(parents=True, exist_ok=True)
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="memoryos-locomo-"))
    own_workdir = opts.workdir is None
    llm_kwargs: dict[str, Any] = {}
    chat = None
    if opts.llm_enabled:
        chat = _chat(opts)
    if opts.llm_ingest:
        ingest_llm = opts.llm if opts.llm is not None else _endpoint_model(opts, opts.model)
        if opts.llm is None:
            ingest_llm.max_retries = opts.retries  # ingestion retries inside the client
        llm_kwargs = {"llm": ingest_llm, "llm_model": opts.model}
    budgets = [str(b) for b in opts.budgets]
    reader_budget = opts.reader_budget
    acc = {s: _Acc() for s in SYSTEMS}
    ingest_rows: list[dict[str, Any]] = []
    baseline_index_seconds = 0.0
    retrieve_times: dict[str, list[float]] = {b: [] for b in budgets}
    first_retrieves: list[float] = []  # the first budget of each question: query embedding included
    baseline_times: dict[str, list[float]] = {"naive_rag": [], "hybrid_rag": []}
    question_rows: list[dict[str, Any]] = []
    skipped_no_evidence = 0
    unresolved = sum(c.unresolved_evidence for c in convs)
    qa_jobs: list[_QAJob] = []
    try:
        for ci, conv in enumerate(convs):
            prefix = f"[{ci + 1}/{len(convs)}] {conv.sample_id}"
            questions = [q for q in conv.questions if q.category in opts.categories]
            if sample is not None:
                questions = [q for q in questions if (conv.sample_id, q.index) in sample]
            if opts.max_questions is not None:
                questions = questions[: opts.max_questions]
            memory = open_memory(conv, opts, workdir, llm_kwargs)
            try:
                memory.delete_all()  # a reused --workdir starts clean
                ingest_rows.append({"conversation": conv.sample_id, **ingest(memory, conv, opts.progress)})
                t0 = time.perf_counter()
                corpus = TurnCorpus.build(conv, embedder, counter)
                full_text, full_tokens = corpus.full(counter)
                qvecs = embedder.embed([q.question for q in questions]) if questions else np.zeros((0, 1))
                baseline_index_seconds += time.perf_counter() - t0
                for qi, q in enumerate(_bar(questions, desc=f"{prefix} questions", enabled=opts.progress)):
                    texts = evidence_texts(conv, q)
                    gold = gold_answer(q)
                    row: dict[str, Any] = {"conversation": conv.sample_id, "index": q.index, "category": q.category,
                                           "question": q.question, "gold": gold, "evidence": list(q.evidence),
                                           "recall": {}, "in_context": {}, "tokens": {}}
                    contexts: dict[str, tuple[str, int, float]] = {}
                    for b in opts.budgets:
                        key = str(b)
                        t = time.perf_counter()
                        res = memory.retrieve(q.question, top_k=opts.top_k, max_context_tokens=b, record_visits=False)
                        dt = time.perf_counter() - t
                        (first_retrieves if b == opts.budgets[0] else retrieve_times[key]).append(dt)
                        outs = {"memoryos": (res.context, res.context_tokens, dt)}
                        t = time.perf_counter()
                        outs["naive_rag"] = (*naive_rag(corpus, qvecs[qi], b, counter), time.perf_counter() - t)
                        baseline_times["naive_rag"].append(outs["naive_rag"][2])
                        t = time.perf_counter()
                        outs["hybrid_rag"] = (*hybrid_rag(corpus, q.question, qvecs[qi], b, counter),
                                              time.perf_counter() - t)
                        baseline_times["hybrid_rag"].append(outs["hybrid_rag"][2])
                        for system, (ctx, used, secs) in outs.items():
                            _measure(acc[system], row, system, key, ctx, used, texts, gold, q.category)
                            if b == reader_budget:
                                contexts[system] = (ctx, used, secs)
                    rec_full = _measure(acc["full_context"], row, "full_context", "full", full_text, full_tokens,
                                        texts, gold, q.category)
                    if rec_full is None:
                        skipped_no_evidence += 1
                    contexts["full_context"] = (full_text, full_tokens, 0.0)
                    if chat is not None:
                        for system in opts.answer_systems:
                            if system not in contexts:  # answer budget not among the recall budgets
                                contexts[system] = _context_at(system, memory, corpus, q, qvecs[qi], reader_budget,
                                                               opts.top_k, counter)
                            ctx, used, secs = contexts[system]
                            row.setdefault("contexts", {})[system] = ctx
                            qa_jobs.append(_QAJob(conv, q, system, ctx, used, secs,
                                                  metrics.evidence_recall(ctx, texts),
                                                  metrics.answer_in_context(ctx, gold, q.category), row))
                    question_rows.append(row)
            finally:
                memory.close()
        qa_section = _run_qa(qa_jobs, chat, opts, acc) if chat is not None else {
            "skipped": True, "reason": "no LLM endpoint given (--base-url / --api-key); retrieval-only run"}
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    results = _assemble(opts, convs, acc, budgets, ingest_rows, first_retrieves, retrieve_times, baseline_times,
                        baseline_index_seconds, qa_section, skipped_no_evidence, unresolved, embedder,
                        time.perf_counter() - started, sample, question_rows)
    write_outputs(results, question_rows, opts.out)
    return results


def _measure(acc: _Acc, row: dict[str, Any], system: str, key: str, ctx: str, used: int, texts: list[str],
             gold: str, category: int) -> float | None:
    """Record a context's tokens, evidence recall and answer-in-context rate; return the recall."""
    acc.tokens.setdefault(key, []).append(used)
    rec = metrics.evidence_recall(ctx, texts)
    if rec is not None:
        acc.recall.setdefault(key, []).append((category, rec))
    rate = metrics.answer_in_context(ctx, gold, category)
    if rate is not None:
        acc.in_context.setdefault(key, []).append((category, rate))
    row["recall"].setdefault(system, {})[key] = rec
    row["in_context"].setdefault(system, {})[key] = None if rate is None else round(rate, 4)
    row["tokens"].setdefault(system, {})[key] = used
    return rec


def _context_at(system: str, memory: Memoryos, corpus: TurnCorpus, q: Question, qvec: np.ndarray, budget: int,
                top_k: int, counter: TokenCounter) -> tuple[str, int, float]:
    t = time.perf_counter()
    if system == "memoryos":
        res = memory.retrieve(q.question, top_k=top_k, max_context_tokens=budget, record_visits=False)
        ctx, used = res.context, res.context_tokens
    elif system == "naive_rag":
        ctx, used = naive_rag(corpus, qvec, budget, counter)
    elif system == "hybrid_rag":
        ctx, used = hybrid_rag(corpus, q.question, qvec, budget, counter)
    else:
        ctx, used = corpus.full(counter)
    return ctx, used, time.perf_counter() - t


#: HTTP statuses a retry cannot fix (bad request such as a prompt over the server's context, auth, not found).
_FINAL_STATUSES = frozenset({400, 401, 403, 404, 422})


def _retryable(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    return getattr(cause, "status_code", None) not in _FINAL_STATUSES


def complete_with_retries(model: Any, messages: list[Any], *, purpose: str, retries: int,
                          backoff: float = 2.0) -> tuple[Any, int]:
    """The completion and how many retries it took; raises the last error when all attempts fail."""
    attempt = 0
    while True:
        try:
            return model.complete(messages, purpose=purpose), attempt
        except Exception as exc:
            if attempt >= retries or not _retryable(exc):
                exc.retries = attempt  # type: ignore[attr-defined]
                raise
            time.sleep(min(backoff * 2 ** attempt, 30.0))
            attempt += 1


def _run_qa(jobs: list[_QAJob], chat: Any, opts: BenchOptions, acc: dict[str, _Acc]) -> dict[str, Any]:
    from memoryos_core.providers.metered import MeteredChatModel
    from memoryos_core.usage import UsageTracker

    trackers = {s: UsageTracker() for s in SYSTEMS}
    judge_chat = chat
    if opts.judge and opts.judge_model and opts.llm is None:
        judge_chat = _endpoint_model(opts, opts.judge_model)
    partial = opts.out / "answers.partial.jsonl"
    earlier = _earlier_answers(partial) if opts.resume else {}
    partial.unlink(missing_ok=True)
    model_name = getattr(chat, "model_name", opts.model)

    def one(job: _QAJob) -> dict[str, Any]:
        conv, q, system = job.conv, job.q, job.system
        digest = hashlib.sha256(job.context.encode("utf-8")).hexdigest()
        again = earlier.get((conv.sample_id, q.index, system, digest))
        if again is not None and again.get("model") == model_name and (not opts.judge or "judge" in again):
            return {**again, "reused": True}
        model = MeteredChatModel(chat, trackers[system])
        t = time.perf_counter()
        usage: dict[str, Any] = {"prompt_tokens": None, "completion_tokens": None}
        try:
            completion, retries = complete_with_retries(model, answer_messages(conv, q.question, job.context),
                                                        purpose="answer", retries=opts.retries,
                                                        backoff=opts.retry_backoff)
            answer, error = completion.text.strip(), None
            usage = {"prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens}
        except Exception as exc:  # one failed question must not lose the run
            answer, retries, error = "", int(getattr(exc, "retries", 0)), f"{type(exc).__name__}: {exc}"
        answer_secs = time.perf_counter() - t
        out: dict[str, Any] = {"system": system, "conversation": conv.sample_id, "index": q.index,
                               "category": q.category, "answer": answer, "error": error, "retries": retries,
                               "calls": 1 + retries, **usage, "model": model_name, "context_sha256": digest,
                               "search_seconds": job.search_seconds, "answer_seconds": answer_secs,
                               "context_tokens": job.context_tokens, "recall": job.recall,
                               "in_context": _r(job.in_context), **score_answer(q, answer)}
        if opts.judge and error is None:
            judge = MeteredChatModel(judge_chat, trackers[system])
            try:
                verdict_completion, judge_retries = complete_with_retries(
                    judge, judge_messages(q.question, gold_answer(q), answer), purpose="judge", retries=opts.retries,
                    backoff=opts.retry_backoff)
                verdict = verdict_completion.text
                out["retries"] += judge_retries
                out["judge"] = 1.0 if "CORRECT" in verdict.upper() and "INCORRECT" not in verdict.upper() else 0.0
            except Exception as exc:
                out["retries"] += int(getattr(exc, "retries", 0))
                out["judge_error"] = f"{type(exc).__name__}: {exc}"
        return out

    with ThreadPoolExecutor(max_workers=opts.concurrency) as pool, partial.open("w", encoding="utf-8") as log:
        for job, res in zip(jobs, _bar(pool.map(one, jobs), total=len(jobs), desc="answers", enabled=opts.progress)):
            acc[job.system].qa.append(res)
            job.row.setdefault("answers", {})[job.system] = res
            log.write(json.dumps({"question": job.q.question, "gold": gold_answer(job.q),
                                  **{k: v for k, v in res.items() if k != "reused"}}, ensure_ascii=False) + "\n")
            log.flush()
    section: dict[str, Any] = {"skipped": False, "model": getattr(chat, "model_name", opts.model),
                               "answer_budget": opts.reader_budget, "judge": opts.judge,
                               "answer_only": opts.answer_only, "concurrency": opts.concurrency,
                               "timeout_seconds": opts.timeout, "max_retries": opts.retries,
                               "reused_answers": sum(1 for s in SYSTEMS for r in acc[s].qa if r.get("reused")),
                               "systems": {}}
    for system in opts.answer_systems:
        rows = acc[system].qa
        if not rows:
            continue
        snap = trackers[system].snapshot()["by_operation"]
        judge_use = snap.get("llm:judge", {})
        n = len(rows)
        entry: dict[str, Any] = {"questions": n, "errors": sum(1 for r in rows if r["error"]),
                                 "retries": sum(r["retries"] for r in rows)}
        for metric in ("f1", "set_f1", "bleu1") + (("judge",) if opts.judge else ()):
            vals = [(r["category"], r[metric]) for r in rows if metric in r]
            entry[metric] = _r(metrics.mean(v for _, v in vals))
            entry[f"{metric}_per_category"] = {str(c): _r(metrics.mean(v for k, v in vals if k == c))
                                               for c in sorted({k for k, _ in vals})}
        entry["evidence_recall"] = _r(metrics.mean(r["recall"] for r in rows if r["recall"] is not None))
        entry["answer_in_context"] = _r(metrics.mean(r["in_context"] for r in rows if r["in_context"] is not None))
        entry["proxy_correlation"] = _proxy_correlation(rows)
        entry["context_tokens_per_question"] = _r(metrics.mean(r["context_tokens"] for r in rows), 1)
        # from the answers themselves, so answers reused by --resume count too
        entry["llm_calls_per_question"] = _r(metrics.mean(r["calls"] for r in rows if r.get("calls") is not None), 3)
        entry["prompt_tokens_per_question"] = _r(metrics.mean(
            r["prompt_tokens"] for r in rows if r.get("prompt_tokens") is not None), 1)
        entry["completion_tokens_per_question"] = _r(metrics.mean(
            r["completion_tokens"] for r in rows if r.get("completion_tokens") is not None), 1)
        entry["answers_with_usage"] = sum(1 for r in rows if r.get("prompt_tokens") is not None)
        entry["reused"] = sum(1 for r in rows if r.get("reused"))
        if opts.judge:
            entry["judge_calls_per_question"] = _r(judge_use.get("calls", 0) / n, 3)
        entry["search_latency"] = _latency([r["search_seconds"] for r in rows])
        entry["answer_latency"] = _latency([r["answer_seconds"] for r in rows])
        section["systems"][system] = entry
    all_rows = [r for s in opts.answer_systems for r in acc[s].qa]
    section["proxy_correlation"] = {**_proxy_correlation(all_rows),
                                    "method": "Pearson r between per-answer LoCoMo F1 and the proxy, pooled over "
                                              "the answered systems' (question, system) pairs"}
    section["paired_bootstrap"] = _paired(acc, opts)
    return section


def _earlier_answers(path: Path) -> dict[tuple[str, int, str, str], dict[str, Any]]:
    """Answers of an earlier run in ``path`` that can stand: no error, and the hash of the context they answered."""
    out: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            row = json.loads(line)
            if not row.get("error") and row.get("context_sha256"):
                row.pop("question", None)
                row.pop("gold", None)
                out[(row["conversation"], int(row["index"]), row["system"], row["context_sha256"])] = row
    return out


def _proxy_correlation(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How well each LLM-free proxy predicts the answer's F1, question by question (Pearson r)."""
    out: dict[str, Any] = {}
    for proxy in ("recall", "in_context"):
        pairs = [(r[proxy], r["f1"]) for r in rows if r.get(proxy) is not None and not r["error"]]
        r = metrics.pearson([p for p, _ in pairs], [f for _, f in pairs]) if pairs else None
        out["evidence_recall" if proxy == "recall" else "answer_in_context"] = {"r": _r(r), "n": len(pairs)}
    return out


def _paired(acc: dict[str, _Acc], opts: BenchOptions) -> dict[str, Any]:
    """MemoryOS minus each other answered system on the same questions: F1 difference and bootstrap interval."""
    if "memoryos" not in opts.answer_systems:
        return {}
    ours = {(r["conversation"], r["index"]): r["f1"] for r in acc["memoryos"].qa}
    out: dict[str, Any] = {}
    for system in opts.answer_systems:
        if system == "memoryos":
            continue
        theirs = {(r["conversation"], r["index"]): r["f1"] for r in acc[system].qa}
        keys = [k for k in ours if k in theirs]
        if keys:
            stats = metrics.paired_bootstrap([ours[k] for k in keys], [theirs[k] for k in keys],
                                             resamples=opts.bootstrap_resamples, seed=opts.bootstrap_seed)
            out[system] = {k: (_r(v) if isinstance(v, float) else v) for k, v in stats.items()}
    return out


def _assemble(opts: BenchOptions, convs: list[Conversation], acc: dict[str, _Acc], budgets: list[str],
              ingest_rows: list[dict[str, Any]], first_retrieves: list[float], retrieve_times: dict[str, list[float]],
              baseline_times: dict[str, list[float]], baseline_index_seconds: float, qa: dict[str, Any],
              skipped_no_evidence: int, unresolved: int, embedder: Any, elapsed: float,
              sample: QuestionSample | None, question_rows: list[dict[str, Any]]) -> dict[str, Any]:
    systems: dict[str, Any] = {}
    for system in SYSTEMS:
        keys = ["full"] if system == "full_context" else budgets
        entry: dict[str, Any] = {"label": LABELS[system], "evidence_recall": {}, "per_category": {},
                                 "answer_in_context": {}, "avg_context_tokens": {}, "questions_scored": {}}
        for key in keys:
            pairs = acc[system].recall.get(key, [])
            entry["evidence_recall"][key] = _r(metrics.mean(r for _, r in pairs))
            entry["per_category"][key] = {str(c): _r(metrics.mean(r for k, r in pairs if k == c))
                                          for c in sorted({k for k, _ in pairs})}
            entry["answer_in_context"][key] = _r(metrics.mean(r for _, r in acc[system].in_context.get(key, [])))
            entry["avg_context_tokens"][key] = _r(metrics.mean(acc[system].tokens.get(key, [])), 1)
            entry["questions_scored"][key] = len(pairs)
        if system == "full_context":
            entry["note"] = "every turn, unbudgeted: recall 1.0 by construction"
        systems[system] = entry
    turns = sum(r["turns"] for r in ingest_rows)
    secs = sum(r["seconds"] for r in ingest_rows)
    cached = [t for ts in retrieve_times.values() for t in ts]
    counts: dict[str, int] = {}
    for row in question_rows:
        counts[str(row["category"])] = counts.get(str(row["category"]), 0) + 1
    data_path = Path(opts.data_path)
    return {
        "benchmark": "locomo",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": opts.command,
        "wall_seconds": round(elapsed, 1),
        "machine": _machine(),
        "data": {"path": str(data_path), "sha256": _sha256(data_path), "conversations": [c.sample_id for c in convs],
                 "questions_per_category": dict(sorted(counts.items(), key=lambda kv: int(kv[0]))), "questions_without_evidence": skipped_no_evidence,
                 "unresolved_evidence_ids": unresolved, "max_questions_per_conversation": opts.max_questions,
                 "sample": sample.describe() if sample is not None else None},
        "config": {"budgets": [int(b) for b in budgets], "categories": list(opts.categories), "top_k": opts.top_k,
                   "short_term_capacity": opts.short_term_capacity, "embedder": getattr(embedder, "name", "?"),
                   "token_counter": f"tiktoken ({TokenCounter(TOKEN_MODEL).encoding.name}, {TOKEN_MODEL})",
                   "llm": opts.model if opts.llm_enabled else None,
                   "llm_during_ingest": opts.llm_ingest},
        "systems": systems,
        "qa": qa,
        "ingest": {"turns": turns, "pages": sum(r["pages"] for r in ingest_rows), "seconds": round(secs, 2),
                   "turns_per_second": _r(turns / secs if secs else None, 1),
                   "llm_calls": sum(r["llm_calls"] for r in ingest_rows),
                   "embedding_calls": sum(r["embedding_calls"] for r in ingest_rows),
                   "per_conversation": ingest_rows},
        "latency": {"memoryos_retrieve": {**_latency(first_retrieves),
                                          "note": "first budget of each question: query embedding included"},
                    "memoryos_retrieve_query_cached": {**_latency(cached),
                                                       "note": "other budgets: the question's vector is cached",
                                                       "per_budget": {b: _latency(t) for b, t in retrieve_times.items() if t}},
                    "naive_rag_search": _latency(baseline_times["naive_rag"]),
                    "hybrid_rag_search": _latency(baseline_times["hybrid_rag"]),
                    "baseline_turn_indexing_seconds": round(baseline_index_seconds, 2)},
    }


# -- report -------------------------------------------------------------------------------------

def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def render_markdown(results: dict[str, Any]) -> str:
    budgets = [str(b) for b in results["config"]["budgets"]]
    systems = results["systems"]
    lines = ["## LoCoMo evidence recall (categories " + ",".join(map(str, results["config"]["categories"])) + " pooled)",
             "", "| system | " + " | ".join(f"recall @{b}" for b in budgets) + " | " +
             " | ".join(f"avg tokens @{b}" for b in budgets) + " |",
             "|---|" + "---:|" * (2 * len(budgets))]
    for s in BUDGETED:
        e = systems[s]
        lines.append(f"| {e['label']} | " + " | ".join(_f(e["evidence_recall"].get(b), 4) for b in budgets) + " | " +
                     " | ".join(_f(e["avg_context_tokens"].get(b), 0) for b in budgets) + " |")
    fc = systems["full_context"]
    lines.append(f"| {fc['label']} (unbudgeted) | " + " | ".join(_f(fc["evidence_recall"].get("full"), 4) for _ in budgets)
                 + " | " + " | ".join(_f(fc["avg_context_tokens"].get("full"), 0) for _ in budgets) + " |")
    cats = sorted({c for s in BUDGETED for b in budgets for c in systems[s]["per_category"].get(b, {})}, key=int)
    lines += ["", "### Evidence recall per category", "",
              "| system | budget | " + " | ".join(f"cat {c}" for c in cats) + " |", "|---|---:|" + "---:|" * len(cats)]
    for s in BUDGETED:
        for b in budgets:
            pc = systems[s]["per_category"].get(b, {})
            lines.append(f"| {systems[s]['label']} | {b} | " + " | ".join(_f(pc.get(c)) for c in cats) + " |")
    lines += ["", "### Answer in context (share of the gold answer's content tokens found in the context; no LLM)", "",
              "| system | " + " | ".join(f"in context @{b}" for b in budgets) + " |", "|---|" + "---:|" * len(budgets)]
    for s in BUDGETED:
        e = systems[s]
        lines.append(f"| {e['label']} | " + " | ".join(_f(e["answer_in_context"].get(b)) for b in budgets) + " |")
    lines.append(f"| {fc['label']} (unbudgeted) | " +
                 " | ".join(_f(fc["answer_in_context"].get("full")) for _ in budgets) + " |")
    n = results["data"]["questions_per_category"]
    lines += ["", "Questions: " + ", ".join(f"cat {c}: {n[c]}" for c in sorted(n, key=int)) +
              f"; {results['data']['questions_without_evidence']} without evidence skipped for recall."]
    sample = results["data"].get("sample")
    if sample:
        lines.append(f"Sample: {sample['size']} questions, stratified by conversation and category (at least "
                     f"{sample['minimum_per_stratum']} per stratum, the rest proportional), seed {sample['seed']}.")
    qa = results["qa"]
    lines += ["", "### Answers (LLM)", ""]
    if qa.get("skipped"):
        lines.append(f"Skipped: {qa['reason']}.")
    else:
        judge = qa.get("judge")
        head = "| system | F1 (LoCoMo) | F1 (mem0 set) | BLEU-1 |" + (" J |" if judge else "") + \
               " calls/q | prompt tok/q | search p50/p95 ms | answer p50/p95 ms |"
        lines += [f"Model {qa['model']}, context budget {qa['answer_budget']} tokens.", "", head,
                  "|---|" + "---:|" * (head.count("|") - 2)]
        for s, e in qa["systems"].items():
            lines.append(f"| {LABELS[s]} | {_f(e['f1'])} | {_f(e['set_f1'])} | {_f(e['bleu1'])} |" +
                         (f" {_f(e.get('judge'))} |" if judge else "") +
                         f" {_f(e['llm_calls_per_question'], 2)} | {_f(e['prompt_tokens_per_question'], 0)} |"
                         f" {_f(e['search_latency']['p50_ms'], 1)} / {_f(e['search_latency']['p95_ms'], 1)} |"
                         f" {_f(e['answer_latency']['p50_ms'], 0)} / {_f(e['answer_latency']['p95_ms'], 0)} |")
        lines += _reader_lines(qa)
        cats_qa = sorted({c for e in qa["systems"].values() for c in e["f1_per_category"]}, key=int)
        lines += ["", "| system | metric | " + " | ".join(f"cat {c}" for c in cats_qa) + " |",
                  "|---|---|" + "---:|" * len(cats_qa)]
        for s, e in qa["systems"].items():
            for metric in ("f1", "set_f1", "bleu1") + (("judge",) if judge else ()):
                pc = e.get(f"{metric}_per_category", {})
                lines.append(f"| {LABELS[s]} | {metric} | " + " | ".join(_f(pc.get(c)) for c in cats_qa) + " |")
    ing, lat = results["ingest"], results["latency"]
    rl, rc = lat["memoryos_retrieve"], lat["memoryos_retrieve_query_cached"]
    lines += ["", "### Cost and speed", "",
              f"- Ingest: {ing['turns']} turns as {ing['pages']} pages in {ing['seconds']:.1f} s "
              f"= {_f(ing['turns_per_second'], 1)} turns/s (embedding and consolidation included); "
              f"LLM calls during ingest: {ing['llm_calls']}.",
              f"- MemoryOS retrieve (query embedding, ranking, context assembly): p50 {_f(rl['p50_ms'], 1)} ms, "
              f"p95 {_f(rl['p95_ms'], 1)} ms over {rl['n']} calls; with the query vector cached (the same question "
              f"at the other budgets): p50 {_f(rc['p50_ms'], 1)} ms, p95 {_f(rc['p95_ms'], 1)} ms.",
              f"- Baseline search (precomputed vectors): naive p50 {_f(lat['naive_rag_search']['p50_ms'], 1)} ms, "
              f"hybrid p50 {_f(lat['hybrid_rag_search']['p50_ms'], 1)} ms.",
              f"- Wall time {results['wall_seconds']:.0f} s on {results['machine']['cores']} cores "
              f"({results['machine']['cpu']}); embedder {results['config']['embedder']}; "
              f"tokens counted with {results['config']['token_counter']}."]
    return "\n".join(lines)


def _reader_lines(qa: dict[str, Any]) -> list[str]:
    """The real-reader table: scores, proxies and how they predict F1, latency, tokens, paired intervals."""
    lines = ["", "#### Real reader: scores, LLM-free proxies, cost", "",
             "| system | F1 | BLEU-1 | evidence recall | answer in context | r(F1, recall) | r(F1, in context) |"
             " answer p50 / p95 s | context tok/q | prompt tok/q | errors | retries |",
             "|---|" + "---:|" * 11]
    for s, e in qa["systems"].items():
        corr = e.get("proxy_correlation", {})
        lat = e["answer_latency"]
        p50 = None if lat["p50_ms"] is None else lat["p50_ms"] / 1000
        p95 = None if lat["p95_ms"] is None else lat["p95_ms"] / 1000
        lines.append(f"| {LABELS[s]} | {_f(e['f1'])} | {_f(e['bleu1'])} | {_f(e.get('evidence_recall'))} |"
                     f" {_f(e.get('answer_in_context'))} | {_f(corr.get('evidence_recall', {}).get('r'))} |"
                     f" {_f(corr.get('answer_in_context', {}).get('r'))} | {_f(p50, 1)} / {_f(p95, 1)} |"
                     f" {_f(e.get('context_tokens_per_question'), 0)} | {_f(e['prompt_tokens_per_question'], 0)} |"
                     f" {e['errors']} | {e.get('retries', 0)} |")
    pooled = qa.get("proxy_correlation")
    if pooled:
        lines += ["", f"r: Pearson correlation between per-answer F1 and the proxy (point-biserial where the proxy "
                      f"is 0/1), per system and pooled over all answers: evidence recall "
                      f"{_f(pooled['evidence_recall']['r'])} (n={pooled['evidence_recall']['n']}), answer in context "
                      f"{_f(pooled['answer_in_context']['r'])} (n={pooled['answer_in_context']['n']})."]
    paired = qa.get("paired_bootstrap") or {}
    if paired:
        first = next(iter(paired.values()))
        lines += ["", f"Paired bootstrap of the F1 difference ({first['resamples']} resamples of the questions, "
                      f"seed {first['seed']}, 95% percentile interval):", "",
                  "| difference | F1 | 95% interval | questions | resamples <= 0 |", "|---|---:|---|---:|---:|"]
        for s, b in paired.items():
            lines.append(f"| MemoryOS - {LABELS[s]} | {b['mean_difference']:+.3f} | "
                         f"[{b['low']:+.3f}, {b['high']:+.3f}] | {b['pairs']} | {_f(b['share_at_or_below_zero'])} |")
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = [int(b) for b in results["config"]["budgets"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    styles = {"memoryos": ("o-", "#d62728"), "naive_rag": ("s--", "#1f77b4"), "hybrid_rag": ("^--", "#2ca02c")}
    for s in BUDGETED:
        ys = [results["systems"][s]["evidence_recall"].get(str(b)) for b in budgets]
        style, color = styles[s]
        ax.plot(budgets, [np.nan if y is None else y for y in ys], style, color=color, label=LABELS[s])
    fc = results["systems"]["full_context"]
    full = fc["evidence_recall"].get("full")
    if full is not None:
        ax.axhline(full, color="grey", linestyle=":",
                   label=f"full context ({_f(fc['avg_context_tokens'].get('full'), 0)} tokens avg)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.set_xlabel("context budget (tokens, tiktoken)")
    ax.set_ylabel("evidence recall (categories pooled)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("LoCoMo: evidence recall against context budget")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_outputs(results: dict[str, Any], question_rows: list[dict[str, Any]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "results.md").write_text(render_markdown(results) + "\n", encoding="utf-8")
    with (out / "questions.jsonl").open("w", encoding="utf-8") as fh:
        for row in question_rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    plot(results, out / "recall.png")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/locomo.py", description=__doc__.splitlines()[0])
    add_cli_arguments(parser)
    return run_from_cli(parser.parse_args(argv))


__all__ = ["BenchOptions", "add_cli_arguments", "main", "run_benchmark", "run_from_cli"]
