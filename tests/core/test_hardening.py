"""Day-one defects: unusable answers, parked jobs, hostile timestamps and arguments, slow endpoints."""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from memoryos_core import HashingEmbedder, InvalidInputError, Memoryos, NoAnswerError
from memoryos_core.usage import CallEvent
from scripted_openai import Delay, Reply, ScriptedOpenAI, Status

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc).timestamp()


def offline(path: Path, **kwargs: Any) -> Memoryos:
    return Memoryos(user_id="u1", data_storage_path=path, background=False, embedder=HashingEmbedder(256), **kwargs)


def with_llm(path: Path, server: ScriptedOpenAI, **kwargs: Any) -> Memoryos:
    kwargs.setdefault("llm_timeout", 5.0)
    return Memoryos(user_id="u1", openai_api_key="k", openai_base_url=server.base_url, data_storage_path=path,
                    background=False, embedder=HashingEmbedder(256), **kwargs)


# -- item 3: an unusable answer is no memory; flush says when work is parked --------------------


@pytest.mark.parametrize("reply", [Reply(""), Reply("   \n")])
def test_empty_answer_is_not_stored_and_is_reported(tmp_path: Path, scripted_openai: ScriptedOpenAI,
                                                    reply: Reply) -> None:
    memory = with_llm(tmp_path, scripted_openai)
    scripted_openai.chat_handler = lambda body: reply
    with pytest.raises(NoAnswerError, match="nothing was stored"):
        memory.get_response("What did I say about Lisbon?")
    assert memory.list_memories() == []


def test_refused_answer_is_not_stored(tmp_path: Path, scripted_openai: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    from memoryos_core.providers.base import Completion

    memory = with_llm(tmp_path, scripted_openai)
    assert memory.llm is not None
    monkeypatch.setattr(memory.llm.inner, "complete",
                        lambda messages, json_schema=None: Completion(text="", refusal="I can't help with that."))
    with pytest.raises(NoAnswerError, match="refused"):
        memory.get_response("Tell me a secret")
    assert memory.list_memories() == []


async def test_async_empty_answer_is_not_stored(tmp_path: Path, scripted_openai: ScriptedOpenAI) -> None:
    memory = with_llm(tmp_path, scripted_openai)
    scripted_openai.chat_handler = lambda body: Reply("")
    with pytest.raises(NoAnswerError):
        await memory.aget_response("hello?")
    assert memory.list_memories() == []


@pytest.mark.parametrize("background", [False, True])
def test_flush_is_false_while_a_job_is_parked_as_failed(tmp_path: Path, scripted_openai: ScriptedOpenAI,
                                                         background: bool) -> None:
    from memoryos_core import MemoryConfig

    scripted_openai.chat_handler = lambda body: Status(400)  # not retryable: every attempt fails at once
    memory = Memoryos(user_id="u1", openai_api_key="k", openai_base_url=scripted_openai.base_url,
                      data_storage_path=tmp_path, background=background, embedder=HashingEmbedder(256),
                      config=MemoryConfig(short_term_capacity=2, consolidation_batch_size=2, job_max_attempts=1,
                                          llm_consolidation=True))
    for i in range(4):
        memory.add_memory(f"Turn {i} about hiking", "ok", timestamp=T0 + i)
    assert memory.flush(timeout=30) is False
    assert any(j["status"] == "failed" for j in memory.stats()["jobs"])
    memory.close(flush=False)


# -- item 6: timestamps and arguments are checked at the door; reads survive any stored row -----


@pytest.mark.parametrize("bad", [1e20, -1e20, math.inf, -math.inf, math.nan, 10**30,
                                 "10000-01-01T00:00:00", "0000-01-01", "not a date"])
def test_unrepresentable_timestamps_are_rejected_and_write_nothing(tmp_path: Path, bad: Any) -> None:
    memory = offline(tmp_path)
    with pytest.raises(InvalidInputError):
        memory.add_memory("hello", "world", timestamp=bad)
    assert memory.list_memories() == []
    memory.add_memory("hello", "world", timestamp=T0)
    assert memory.retrieve("hello").context


def test_reads_survive_a_stored_row_with_an_absurd_time(tmp_path: Path) -> None:
    memory = offline(tmp_path)
    page = memory.add_memory("I keep bees on the roof.", "Lovely.", timestamp=T0)
    for i in range(12):
        memory.add_memory(f"Filler {i} about the weather", "ok", timestamp=T0 + 60 * (i + 1))
    with closing(sqlite3.connect(memory.store.path)) as conn, conn:  # a row written by an older version or another tool
        conn.execute("UPDATE pages SET ts = 1e20 WHERE id = ?", (page.id,))
    assert "bees" in memory.retrieve("where are the bees kept").context
    assert memory.search("bees")["results"]
    assert any(p.id == page.id for p in memory.list_memories(limit=100))


@pytest.mark.parametrize("call", [
    lambda m: m.update(5, "x"),
    lambda m: m.get(None),
    lambda m: m.delete(3.5),
    lambda m: m.list_memories(limit="5"),
    lambda m: m.list_memories(offset=-1),
    lambda m: m.list_memories(limit=True),
    lambda m: m.search("x", limit="3"),
])
def test_wrong_argument_types_raise_invalid_input(tmp_path: Path, call: Any) -> None:
    with pytest.raises(InvalidInputError):
        call(offline(tmp_path))


def test_deeply_nested_metadata_is_invalid_input(tmp_path: Path) -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100_000):
        node["x"] = {}
        node = node["x"]
    memory = offline(tmp_path)
    with pytest.raises(InvalidInputError, match="nested"):
        memory.add_memory("hi", "there", meta_data=deep)
    assert memory.list_memories() == []


# -- item 9: slow endpoints: capped answers, every HTTP attempt counted --------------------------


def test_every_http_attempt_is_counted_and_calls_are_capped(tmp_path: Path, scripted_openai: ScriptedOpenAI) -> None:
    events: list[CallEvent] = []
    memory = with_llm(tmp_path, scripted_openai, llm_timeout=0.5, llm_max_retries=2, on_call=events.append)
    scripted_openai.script(Delay(1.5, Reply("too late")), Status(503), Reply("Here you are."))
    assert memory.get_response("hello") == "Here you are."
    llm_events = [e for e in events if e.kind == "llm"]
    assert len(scripted_openai.chat_requests()) == 3
    assert [e.ok for e in llm_events] == [False, False, True]
    assert memory.stats()["usage"]["totals"]["llm_calls"] == 3
    body = scripted_openai.chat_requests()[-1]
    assert 0 < body["max_tokens"] <= 1024


def test_structured_calls_are_capped(tmp_path: Path, scripted_openai: ScriptedOpenAI) -> None:
    memory = with_llm(tmp_path, scripted_openai, config=None, short_term_capacity=2)
    scripted_openai.chat_handler = lambda body: Reply('{"topics": []}')
    for i in range(12):
        memory.add_memory(f"Turn {i}: I went hiking near Lisbon again.", "Nice.", timestamp=T0 + 60 * i)
    memory.flush(timeout=30)
    structured = [b for b in scripted_openai.chat_requests() if "response_format" in b]
    assert structured and all(0 < b["max_tokens"] <= 1024 for b in structured)


def test_default_timeout_suits_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    from memoryos_core.providers.openai_compat import OpenAIChatModel

    monkeypatch.delenv("MEMORYOS_LLM_TIMEOUT", raising=False)
    assert OpenAIChatModel(api_key="k").timeout >= 180
    monkeypatch.setenv("MEMORYOS_LLM_TIMEOUT", "42")
    assert OpenAIChatModel(api_key="k").timeout == 42


# -- item 10: an "add" that names an existing fact never duplicates it --------------------------


def test_add_with_an_existing_fact_id_does_not_duplicate(tmp_path: Path, scripted_openai: ScriptedOpenAI) -> None:
    import json
    import re

    def handler(body: dict[str, Any]) -> str:
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        if "organise" in system:
            numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", user, flags=re.M)]
            return json.dumps({"topics": [{"pages": numbers, "segment": None, "summary": "Hiking.",
                                           "keywords": ["hiking"]}]})
        if "long-term memory" in system:
            known = re.search(r'"id": "(ft_[0-9a-f]+)"', user)
            fact = {"op": "add", "about": "user", "text": "The user lives in Lisbon."}
            if known:  # what a real 1.5B model sent: an add carrying the id of the fact it repeats
                fact["id"] = known.group(1)
            return json.dumps({"profile": [], "facts": [fact]})
        return "ok"

    scripted_openai.chat_handler = handler
    memory = with_llm(tmp_path, scripted_openai, mid_term_heat_threshold=3.0)
    for i in range(60):
        memory.add_memory(f"Turn {i}: I went hiking near Lisbon again.", "Lovely.", timestamp=T0 + 60 * i)
    memory.flush(timeout=60)
    texts = [f.text for f in memory.get_user_knowledge()]
    assert texts.count("The user lives in Lisbon.") == 1, texts
    persona_calls = [b for b in scripted_openai.chat_requests()
                     if "long-term memory" in next(m["content"] for m in b["messages"] if m["role"] == "system")]
    assert len(persona_calls) >= 2  # the model really was asked again, with the fact shown by id


# -- item 7: an outage is reported once, not once per retry ----------------------------------------


def test_repeated_job_failures_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from memoryos_core import MemoryConfig
    from memoryos_core.storage.base import Job
    from memoryos_core.worker import JobRunner

    released: list[bool] = []

    class Store:
        def release_job(self, job: Job, owner: str, error: str, not_before: float, *, give_up: bool) -> None:
            released.append(give_up)

    def down(scope_id: int, job: Job, owner: str) -> None:
        raise ConnectionError("the LLM endpoint at http://127.0.0.1:9/v1 is unreachable")

    runner = JobRunner(Store(), 1, MemoryConfig(job_max_attempts=5), {"consolidate": down}, lambda limit: 0)
    with caplog.at_level(logging.DEBUG, logger="memoryos.worker"):
        for attempt in range(5):
            runner._run(Job(id=7, scope_id=1, kind="consolidate", attempts=attempt))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert released == [False, False, False, False, True]
    assert len(warnings) == 2  # the first failure, and the parking
    assert "127.0.0.1:9" in warnings[0].getMessage() and "parked" in warnings[1].getMessage()
