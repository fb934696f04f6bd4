"""The LoCoMo bench on a tiny synthetic conversation file (never the real dataset): data, ingestion, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memoryos_core import HashingEmbedder, Memoryos
from memoryos_bench.data import clean_evidence, load_locomo, plan_pages, resolve_data_path
from memoryos_bench.locomo import BenchOptions, ingest, run_benchmark

A, B = "Ann", "Bob"


def turn(speaker: str, dia: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"speaker": speaker, "dia_id": dia, "text": text, **extra}


def tiny_sample(sample_id: str = "conv-1") -> dict[str, Any]:
    """Two sessions with every pairing case, an empty session, captions and messy evidence ids."""
    return {
        "sample_id": sample_id,
        "conversation": {
            "speaker_a": A, "speaker_b": B,
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                turn(A, "D1:1", "I adopted a beagle called Biscuit yesterday."),
                turn(A, "D1:2", "He loves the park.", img_url="http://x", blip_caption="a dog on the grass"),
                turn(B, "D1:3", "Biscuit is a lovely name!"),
                turn(B, "D1:4", "My cat Luna would be jealous."),
                turn(A, "D1:5", "I also started pottery classes."),
            ],
            "session_2_date_time": "10:00 am on 20 June, 2023",
            "session_2": [
                turn(B, "D2:1", "I ran a marathon in Lisbon last week!"),
                turn(A, "D2:2", "Wow, how long did it take?"),
                turn(B, "D2:3", "Four hours and ten minutes."),
            ],
            "session_3_date_time": "9:00 am on 1 July, 2023",
            "session_3": [],
        },
        "qa": [
            {"question": "What is the name of Ann's dog?", "answer": "Biscuit", "evidence": ["D1:1"], "category": 4},
            {"question": "When did Ann adopt her dog?", "answer": "7 May 2023", "evidence": ["D1:1"], "category": 2},
            {"question": "Which pets do Ann and Bob have?", "answer": "beagle, cat", "evidence": ["D1:1; D1:4"],
             "category": 1},
            {"question": "Where did Bob run a marathon?", "answer": "Lisbon", "evidence": ["D2:01 "], "category": 4},
            {"question": "Would Bob enjoy running?", "answer": "Likely yes; he ran a marathon", "evidence": ["D2:1"],
             "category": 3},
            {"question": "What did Ann eat?", "answer": "pasta", "evidence": [], "category": 4},
            {"question": "What is Bob's dog called?", "adversarial_answer": "Biscuit", "evidence": ["D1:1"],
             "category": 5},
        ],
        "event_summary": {}, "observation": {}, "session_summary": {},
    }


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_locomo.json"
    second = tiny_sample("conv-2")
    path.write_text(json.dumps([tiny_sample("conv-1"), second]), encoding="utf-8")
    return path


def test_evidence_ids_are_cleaned() -> None:
    known = {"D1:1", "D1:4", "D2:1", "D11:26", "D30:5"}
    assert clean_evidence(["D1:1; D1:4"], known) == (("D1:1", "D1:4"), 0)
    assert clean_evidence([" D2:1 ", "D:11:26", "D30:05"], known) == (("D2:1", "D11:26", "D30:5"), 0)
    assert clean_evidence(["D", "D9:9", "D1:1 D1:1"], known) == (("D1:1",), 2)


def test_data_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_data_path(str(tmp_path / "x.json")) == tmp_path / "x.json"
    monkeypatch.setenv("MEMORYOS_LOCOMO", str(tmp_path / "env.json"))
    assert resolve_data_path(None) == tmp_path / "env.json"
    monkeypatch.delenv("MEMORYOS_LOCOMO")
    assert resolve_data_path(None).parts[-4:] == ("shared", "data", "locomo", "locomo10.json")


def test_pages_keep_every_turn(data_file: Path) -> None:
    conv = load_locomo(data_file, ["conv-1"])[0]
    assert [n for n, *_ in conv.sessions] == [1, 2]  # the empty session is skipped
    pages = plan_pages(conv)
    assert [(bool(p.user_input), bool(p.agent_response)) for p in pages] == [
        (True, True),    # two A turns merged, then two B turns merged
        (True, False),   # trailing A turn: empty response
        (False, True),   # session starting with B: empty user input
        (True, True),
    ]
    assert [p.dia_ids for p in pages] == [("D1:1", "D1:2", "D1:3", "D1:4"), ("D1:5",), ("D2:1",), ("D2:2", "D2:3")]
    first = pages[0]
    assert first.user_input == ("Ann: I adopted a beagle called Biscuit yesterday.\n"
                                "Ann: He loves the park. [shares an image: a dog on the grass]")
    assert first.agent_response == "Bob: Biscuit is a lovely name!\nBob: My cat Luna would be jealous."
    assert pages[0].timestamp < pages[1].timestamp < pages[2].timestamp < pages[3].timestamp
    assert pages[2].timestamp - pages[0].timestamp > 30 * 86400  # session date-times are the timestamps
    all_ids = [d for p in pages for d in p.dia_ids]
    assert sorted(all_ids) == sorted(t.dia_id for t in conv.turns)


def test_ingestion_stores_every_turn_with_ids(tmp_path: Path, data_file: Path) -> None:
    conv = load_locomo(data_file, ["conv-1"])[0]
    memory = Memoryos(user_id=conv.sample_id, data_storage_path=tmp_path / "db", background=True,
                      short_term_capacity=1, embedder=HashingEmbedder(256))
    try:
        info = ingest(memory, conv)
        stored = memory.list_memories(limit=100)
        assert info["turns"] == 8 and info["pages"] == 4 and info["llm_calls"] == 0
        assert len(stored) == 4
        text = "\n".join(p.text for p in stored)
        for t in conv.turns:
            assert t.text in text
        assert "[shares an image: a dog on the grass]" in text
        assert sorted(d for p in stored for d in p.meta["dia_ids"]) == sorted(t.dia_id for t in conv.turns)
        assert {p.meta["session"] for p in stored} == {1, 2}
    finally:
        memory.close()


def _check_results(results: dict[str, Any], budgets: list[str]) -> None:
    systems = results["systems"]
    assert set(systems) >= {"memoryos", "naive_rag", "hybrid_rag", "full_context"}
    for name in ("memoryos", "naive_rag", "hybrid_rag"):
        recall = systems[name]["evidence_recall"]
        assert list(recall) == budgets
        assert all(0.0 <= recall[b] <= 1.0 for b in budgets)
        assert set(systems[name]["per_category"][budgets[0]]) == {"1", "2", "3", "4"}
        assert all(systems[name]["avg_context_tokens"][b] <= int(b) for b in budgets)
    assert systems["full_context"]["evidence_recall"]["full"] == 1.0
    assert results["ingest"]["llm_calls"] == 0 and results["ingest"]["turns"] == 16
    assert results["data"]["questions_per_category"] == {"1": 2, "2": 2, "3": 2, "4": 6}
    assert results["data"]["questions_without_evidence"] == 2


def test_end_to_end_offline_writes_results(tmp_path: Path, data_file: Path) -> None:
    out = tmp_path / "out"
    opts = BenchOptions(data_path=data_file, out=out, budgets=(60, 4000), progress=False,
                        embedder=HashingEmbedder(256))
    results = run_benchmark(opts)
    _check_results(results, ["60", "4000"])
    on_disk = json.loads((out / "results.json").read_text())
    _check_results(on_disk, ["60", "4000"])
    # a generous budget holds the whole tiny conversation for every system
    assert on_disk["systems"]["memoryos"]["evidence_recall"]["4000"] == 1.0
    assert on_disk["systems"]["naive_rag"]["evidence_recall"]["4000"] == 1.0
    assert on_disk["qa"]["skipped"] is True
    table = (out / "results.md").read_text()
    assert "MemoryOS" in table and "Skipped" in table
    assert (out / "recall.png").read_bytes()[:4] == b"\x89PNG"
    rows = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert len(rows) == 12


def test_cli_with_scripted_llm_endpoint(tmp_path: Path, data_file: Path, scripted_openai: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole command, LLM parts included, against the scripted OpenAI-compatible test server."""
    from memoryos_core.cli import main

    def handler(body: dict) -> str:
        system = body["messages"][0]["content"]
        if "organise a user's conversation history" in system:
            return '{"topics": []}'  # leaves the pages to the heuristic planner
        if "long-term memory of an assistant" in system:
            return '{"profile": [], "facts": []}'
        if "grade answers" in system:
            return "CORRECT"
        question = body["messages"][-1]["content"].split("Question:")[-1]
        return "Biscuit" if "dog" in question else "Lisbon"

    scripted_openai.chat_handler = handler
    monkeypatch.setattr("memoryos_bench.locomo.default_embedder", lambda: HashingEmbedder(256))
    monkeypatch.setattr("memoryos_core.memory.default_embedder", lambda: HashingEmbedder(256))
    out = tmp_path / "out"
    code = main(["bench", "locomo", "--data-path", str(data_file), "--conversations", "conv-1",
                 "--budgets", "100,300", "--out", str(out), "--base-url", scripted_openai.base_url,
                 "--api-key", "test", "--model", "scripted", "--answer-budget", "300", "--judge",
                 "--categories", "1,2,3,4,5", "--no-progress"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    qa = results["qa"]
    assert qa["skipped"] is False and qa["model"] == "scripted"
    mem = qa["systems"]["memoryos"]
    assert mem["questions"] == 7 and mem["errors"] == 0
    assert mem["llm_calls_per_question"] == 1.0 and mem["judge_calls_per_question"] == 1.0
    # "What is the name of Ann's dog?" -> "Biscuit" is exact; "Where did Bob run a marathon?" -> "Lisbon" too
    assert mem["f1_per_category"]["4"] == pytest.approx(2 / 3, abs=1e-3)  # the third cat-4 question ("What did Ann eat?") misses
    assert mem["judge"] == 1.0
    assert {"search_latency", "answer_latency", "set_f1", "bleu1", "prompt_tokens_per_question"} <= set(mem)
    assert results["config"]["llm"] == "scripted"
    assert "Answers (LLM)" in (out / "results.md").read_text()
