"""The real-reader parts of the LoCoMo bench: question sample, proxies, bootstrap, answer-only runs.

Never the real dataset and never a real model: synthetic conversations and the scripted server.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memoryos_bench import metrics as m
from memoryos_bench.data import Conversation, Question
from memoryos_bench.locomo import options_from_args, run_benchmark
from memoryos_bench.sample import allocate, stratified_sample
from memoryos_core import HashingEmbedder
from scripted_openai import Delay, Reply, Status

from test_bench_locomo import tiny_sample

REPO = Path(__file__).resolve().parents[2]

# -- sample ----------------------------------------------------------------------------------------

#: Questions per category in three synthetic conversations (conv-c has no category 3, like conv-30).
SIZES = {"conv-a": {1: 12, 2: 20, 3: 4, 4: 60}, "conv-b": {1: 30, 2: 10, 3: 9, 4: 90}, "conv-c": {1: 5, 2: 15, 4: 40}}


def synthetic_conversations() -> list[Conversation]:
    convs = []
    for sample_id, sizes in SIZES.items():
        questions, index = [], 0
        for category in (4, 1, 3, 2):  # categories interleaved in file order, as in LoCoMo
            for k in range(sizes.get(category, 0)):
                questions.append(Question(question=f"q{index}", answer=f"a{k}", category=category, evidence=(),
                                          raw_evidence=(), index=index))
                index += 1
        convs.append(Conversation(sample_id=sample_id, speaker_a="A", speaker_b="B", sessions=[],
                                  questions=questions))
    return convs


def test_allocation_is_proportional_with_a_floor() -> None:
    assert allocate([10, 30, 60], 10) == [1, 3, 6]
    assert allocate([1, 99], 10) == [1, 9]  # the floor, then the share
    assert allocate([2, 2, 96], 6) == [1, 1, 4]  # small strata keep one each
    assert allocate([3, 3], 6) == [3, 3]  # everything
    assert allocate([5, 5, 5], 4) in ([2, 1, 1],)  # ties go to the first stratum
    with pytest.raises(ValueError, match="at least 3"):
        allocate([5, 5, 5], 2)
    with pytest.raises(ValueError, match="larger than"):
        allocate([1, 1], 3)


def test_sample_is_stratified_and_proportional() -> None:
    convs = synthetic_conversations()
    sample = stratified_sample(convs, (1, 2, 3, 4), 60, seed=17)
    assert len(sample.keys) == len(set(sample.keys)) == 60
    by_index = {(c.sample_id, q.index): q for c in convs for q in c.questions}
    chosen = [(sid, by_index[(sid, i)].category) for sid, i in sample.keys]
    strata = {(c.sample_id, cat) for c in convs for cat in SIZES[c.sample_id]}
    assert set(chosen) == strata  # every (conversation, category) pair, all conversations and categories
    total = sum(sum(s.values()) for s in SIZES.values())
    for stratum in sample.strata:
        share = 60 * stratum.size / total
        assert stratum.chosen == sum(1 for k in chosen if k == (stratum.conversation, stratum.category))
        assert max(1, int(share) - 1) <= stratum.chosen <= max(1, share) + 1
    assert sample.keys == tuple(sorted(sample.keys, key=lambda k: ("abc".index(k[0][-1]), k[1])))  # file order
    described = sample.describe()
    assert described["size"] == 60 and described["seed"] == 17
    assert sum(described["per_category"].values()) == 60 and set(described["per_conversation"]) == set(SIZES)


def test_sample_is_the_same_in_every_run_and_depends_on_the_seed() -> None:
    convs = synthetic_conversations()
    first = stratified_sample(convs, (1, 2, 3, 4), 40, seed=17)
    assert stratified_sample(synthetic_conversations(), (1, 2, 3, 4), 40, seed=17).keys == first.keys
    assert stratified_sample(convs, (1, 2, 3, 4), 40, seed=18).keys != first.keys
    # another process with another hash seed picks the same questions
    code = ("import json, test_bench_reader as t; from memoryos_bench.sample import stratified_sample; "
            "print(json.dumps(stratified_sample(t.synthetic_conversations(), (1, 2, 3, 4), 40, seed=17).keys))")
    env = {**os.environ, "PYTHONHASHSEED": "12345",
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), str(REPO / "tests" / "bench"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert [tuple(k) for k in json.loads(out.stdout)] == list(first.keys)
    # a bigger allocation of a stratum keeps the questions a smaller one chose
    small = stratified_sample(convs, (4,), 3, seed=17)
    large = stratified_sample(convs, (4,), 30, seed=17)
    assert set(small.keys) <= set(large.keys)


# -- proxies and statistics --------------------------------------------------------------------------

def test_answer_in_context() -> None:
    context = "[8 May 2023]\nCaroline: I went to a LGBTQ support group yesterday."
    assert m.answer_in_context(context, "7 May 2023", 2) == pytest.approx(2 / 3)  # "may" and "2023", not "7"
    assert m.answer_in_context(context, "the LGBTQ support group", 4) == 1.0
    assert m.answer_in_context(context, "Adoption agencies", 4) == 0.0
    assert m.answer_in_context(context, "support group; she said so later", 3) == 1.0  # cut at ";"
    assert m.answer_in_context(context, "Not mentioned", 5) is None
    assert m.answer_in_context(context, "the", 4) is None  # no content token to look for


def test_pearson_on_known_inputs() -> None:
    assert m.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert m.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert m.pearson([1, 1, 1], [1, 2, 3]) is None
    # point-biserial: r = (M1 - M0) / s * sqrt(p q), s the population standard deviation of y
    x, y = [0, 0, 1, 1, 1], [0.0, 0.2, 0.5, 1.0, 0.9]
    mean = sum(y) / 5
    s = (sum((v - mean) ** 2 for v in y) / 5) ** 0.5
    expected = ((0.5 + 1.0 + 0.9) / 3 - 0.1) / s * (0.6 * 0.4) ** 0.5
    assert m.pearson(x, y) == pytest.approx(expected)


def test_paired_bootstrap_on_known_inputs() -> None:
    same = m.paired_bootstrap([0.5] * 50, [0.5] * 50)
    assert (same["mean_difference"], same["low"], same["high"]) == (0.0, 0.0, 0.0)
    shifted = m.paired_bootstrap([0.7, 0.4, 1.0], [0.5, 0.2, 0.8], resamples=500, seed=3)
    assert shifted["low"] == pytest.approx(0.2) and shifted["high"] == pytest.approx(0.2)
    assert shifted["share_at_or_below_zero"] == 0.0 and shifted["pairs"] == 3
    # differences +1 and -1 in equal numbers: mean 0, interval about +-1.96 / sqrt(n)
    n = 1000
    wide = m.paired_bootstrap([1.0, 0.0] * (n // 2), [0.0, 1.0] * (n // 2), resamples=2000, seed=0)
    assert wide["mean_difference"] == 0.0
    assert wide["low"] == pytest.approx(-1.96 / n ** 0.5, abs=0.01)
    assert wide["high"] == pytest.approx(1.96 / n ** 0.5, abs=0.01)
    assert 0.4 < wide["share_at_or_below_zero"] < 0.6
    # two questions, differences 1 and 0: resampled means are 0, 0.5, 1 with chances 1/4, 1/2, 1/4
    two = m.paired_bootstrap([1.0, 0.0], [0.0, 0.0], resamples=4000, seed=1)
    assert (two["low"], two["high"]) == (0.0, 1.0)
    assert two["share_at_or_below_zero"] == pytest.approx(0.25, abs=0.03)
    assert m.paired_bootstrap([1.0, 0.0], [0.0, 0.0], resamples=4000, seed=1) == two  # seeded
    with pytest.raises(ValueError):
        m.paired_bootstrap([1.0], [1.0, 2.0])


# -- answer-only runs against the scripted server ---------------------------------------------------

@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_locomo.json"
    path.write_text(json.dumps([tiny_sample("conv-1"), tiny_sample("conv-2")]), encoding="utf-8")
    return path


def test_answer_only_run_end_to_end(tmp_path: Path, data_file: Path, scripted_openai: Any) -> None:
    """Offline ingestion, answers only, a fixed sample, retries counted, proxies and paired intervals reported."""
    from memoryos_core.cli import build_parser

    def handler(body: dict) -> str:
        system = body["messages"][0]["content"]
        assert "answer questions about a long conversation" in system, "only answers may reach the LLM"
        question = body["messages"][-1]["content"].split("Question:")[-1]
        return "Biscuit" if "dog" in question else "Lisbon"

    scripted_openai.chat_handler = handler
    # the first answer meets a server error, then a reply slower than --timeout: two retries, no error
    scripted_openai.script(Status(503), Delay(1.5, Reply("too late")))
    out = tmp_path / "out"
    args = build_parser().parse_args([
        "bench", "locomo", "--data-path", str(data_file), "--budgets", "300,600", "--out", str(out),
        "--base-url", scripted_openai.base_url, "--api-key", "test", "--model", "scripted", "--answer-only",
        "--sample", "10", "--systems", "memoryos,hybrid_rag", "--timeout", "0.5", "--no-progress"])
    opts = options_from_args(args)
    assert (opts.answer_only, opts.sample, opts.answer_systems, opts.concurrency, opts.timeout, opts.reader_budget) \
        == (True, 10, ("memoryos", "hybrid_rag"), 1, 0.5, 300)
    opts = dataclasses.replace(opts, embedder=HashingEmbedder(256), retry_backoff=0.01)
    results = run_benchmark(opts)

    bodies = scripted_openai.chat_requests()
    assert len(bodies) == 10 * 2 + 2  # one answer per sampled question and system, plus the two retried attempts
    assert results["ingest"]["llm_calls"] == 0 and results["config"]["llm_during_ingest"] is False
    sample = results["data"]["sample"]
    assert sample["size"] == 10 and set(sample["per_category"]) == {"1", "2", "3", "4"}
    assert sample["per_conversation"] == {"conv-1": 5, "conv-2": 5}
    assert sum(results["data"]["questions_per_category"].values()) == 10
    qa = results["qa"]
    assert qa["answer_only"] is True and qa["answer_budget"] == 300 and qa["timeout_seconds"] == 0.5
    assert set(qa["systems"]) == {"memoryos", "hybrid_rag"}
    mem, hyb = qa["systems"]["memoryos"], qa["systems"]["hybrid_rag"]
    assert mem["questions"] == hyb["questions"] == 10
    assert mem["errors"] + hyb["errors"] == 0 and mem["retries"] + hyb["retries"] == 2
    for entry in (mem, hyb):
        assert 0.0 <= entry["answer_in_context"] <= 1.0 and 0.0 <= entry["evidence_recall"] <= 1.0
        assert entry["context_tokens_per_question"] <= 300
        assert set(entry["proxy_correlation"]) == {"evidence_recall", "answer_in_context"}
    rows = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert len(rows) == 10
    f1 = {s: {(r["conversation"], r["index"]): r["answers"][s]["f1"] for r in rows} for s in ("memoryos", "hybrid_rag")}
    diffs = [f1["memoryos"][k] - f1["hybrid_rag"][k] for k in f1["memoryos"]]
    paired = qa["paired_bootstrap"]["hybrid_rag"]
    assert paired["pairs"] == 10 and paired["resamples"] == 2000
    assert paired["mean_difference"] == pytest.approx(sum(diffs) / 10, abs=1e-4)
    assert paired["low"] <= paired["mean_difference"] <= paired["high"]
    for r in rows:  # the context each answer was given is kept for analysis, with its proxies
        assert set(r["contexts"]) == {"memoryos", "hybrid_rag"}
        assert r["answers"]["memoryos"]["in_context"] == r["in_context"]["memoryos"]["300"]
    partial = (out / "answers.partial.jsonl").read_text().splitlines()
    assert len(partial) == 20
    table = (out / "results.md").read_text()
    assert "Real reader" in table and "Paired bootstrap" in table and "MemoryOS - hybrid RAG" in table

    assert mem["llm_calls_per_question"] == pytest.approx((10 + mem["retries"]) / 10)
    assert mem["answers_with_usage"] == 10 and mem["prompt_tokens_per_question"] == 10  # the scripted usage

    # the same command again: the same questions
    again = run_benchmark(dataclasses.replace(opts, out=tmp_path / "again"))
    assert again["data"]["sample"] == sample
    assert len(scripted_openai.chat_requests()) == 22 + 20 and again["qa"]["reused_answers"] == 0

    # an interrupted run resumed: the answers it kept are reused, the others asked for
    kept = (out / "answers.partial.jsonl").read_text().splitlines()
    (out / "answers.partial.jsonl").write_text("\n".join(kept[:7]) + "\n", encoding="utf-8")
    resumed = run_benchmark(dataclasses.replace(opts, resume=True))
    assert len(scripted_openai.chat_requests()) == 42 + 13
    assert resumed["qa"]["reused_answers"] == 7
    assert resumed["qa"]["systems"]["memoryos"]["f1"] == mem["f1"]
    assert len((out / "answers.partial.jsonl").read_text().splitlines()) == 20


def test_answer_only_needs_an_endpoint_and_excludes_max_questions(data_file: Path, tmp_path: Path) -> None:
    from memoryos_core.cli import build_parser

    base = ["bench", "locomo", "--data-path", str(data_file), "--out", str(tmp_path / "o")]
    with pytest.raises(ValueError, match="needs an endpoint"):
        options_from_args(build_parser().parse_args(base + ["--answer-only"]))
    with pytest.raises(ValueError, match="exclude each other"):
        options_from_args(build_parser().parse_args(base + ["--sample", "5", "--max-questions", "2"]))
    with pytest.raises(ValueError, match="unknown --systems"):
        options_from_args(build_parser().parse_args(base + ["--systems", "memoryos,bm25"]))
    legacy = options_from_args(build_parser().parse_args(base + ["--answer-systems", "naive_rag"]))
    assert legacy.answer_systems == ("naive_rag",) and legacy.reader_budget == 2000
