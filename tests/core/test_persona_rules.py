"""The persona's offline rules one by one, and Memoryos.forget as a caller uses it."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from pathlib import Path

import pytest

from memoryos_core import ForgetResult, HashingEmbedder, InvalidInputError, Memoryos
from memoryos_core.persona.forget import forget_subject
from memoryos_core.persona.observe import TurnReader
from memoryos_core.persona.validate import fact_slot, list_items, third_person
from memoryos_core.persona.plan import profile_changes
from memoryos_core.policy import ExactValue, merge_profile


def read(*turns: str) -> list[str]:
    reader = TurnReader()
    out: list[str] = []
    for turn in turns:
        out += [f"{o.op}:{o.text or o.value}" for o in reader.read(turn)]
    return out


def test_updates_are_restated_as_current_values() -> None:
    assert "add:User lives in Porto." in read("We finally moved to Porto last month.")
    assert "add:User lives in Valencia." in read("I moved from Madrid to Valencia in the spring.")
    assert read("I left the hospital and started at a clinic in town.") == ["stop:hospital", "add:User works at a clinic."]
    assert "add:User's favorite language is Go." in read("Go is now my favourite language.")
    assert "add:User is single." in read("Tom and I broke up in February.")


def test_third_parties_keep_their_facts() -> None:
    facts = read("My sister Maya lives in Berlin and works as a chef.")
    assert "add:User's sister Maya lives in Berlin." in facts and "add:User's sister Maya works as a chef." in facts
    assert not any(f.startswith("add:User lives") or f.startswith("add:User works") for f in facts)
    assert read("My girlfriend and I got engaged last weekend!") == ["add:User is engaged."]


def test_pronouns_resolve_to_one_person_or_the_fact_is_dropped() -> None:
    assert read("I'm planning to visit Japan in October with her.") == []
    resolved = read("My sister Maya and I are close.", "I'm planning to visit Japan in October with her.")
    assert "add:User is planning to visit Japan in October with Maya." in resolved
    ambiguous = read("My sister Ana and my mom Rosa came over.", "I'm going to Rome with her next month.")
    assert not any("Rome" in f for f in ambiguous)


def test_stops_take_values_out_of_the_profile() -> None:
    reader = TurnReader()
    ops = reader.read("I'm not vegetarian anymore.") + reader.read("I gave up tennis after my injury.")
    changes = profile_changes({"diet": "vegetarian", "hobbies": ["tennis", "chess"]}, ops)
    assert changes["diet"] is None and changes["hobbies"] == ExactValue(["chess"])
    merged = merge_profile({"hobbies": ["tennis", "chess"]}, {"hobbies": ExactValue(["chess"])})
    assert merged.fields == {"hobbies": ["chess"]}


@pytest.mark.parametrize("text, subject", [
    ("Please forget my passport number.", "my passport number"),
    ("Forget what I said about my therapist.", "my therapist"),
    ("Can you forget my home address please?", "my home address"),
    ("Do you ever forget things I tell you?", None),
    ("Don't forget to call mum.", None),
    ("I always forget my keys.", None),
])
def test_forget_requests(text: str, subject: str | None) -> None:
    assert forget_subject(text) == subject


def test_forget_api_erases_everywhere_and_reports_without_the_text(tmp_path: Path) -> None:
    memory = Memoryos("u", data_storage_path=tmp_path, embedder=HashingEmbedder(256), background=False)
    memory.add_memory("My passport number is X1234567.", "Noted.", timestamp=1_735_900_000)
    memory.add_memory("I live in Porto.", "Lovely.", timestamp=1_735_900_100)
    for i in range(20):
        memory.add_memory(f"Tell me about comet number {i}.", "Comets are icy.", timestamp=1_735_900_200 + i)
    assert memory.flush()
    result = memory.forget("my passport number")
    assert isinstance(result, ForgetResult) and len(result.page_ids) == 1
    assert "X1234567" not in result.summary() and result.summary().startswith("Forgot 1 exchange")
    assert not any("X1234567" in p.text for p in memory.list_memories(limit=100))
    assert "X1234567" not in memory.retrieve("passport number").context
    assert all("X1234567" not in (h.old_value or "") + (h.new_value or "") for h in memory.history())
    assert [h.event for h in memory.history() if h.event == "FORGET"] == ["FORGET"]
    assert memory.get_user_profile().fields["location"] == "Porto"
    again = asyncio.run(memory.aforget("my passport number"))
    assert again.removed == 0 and again.summary().startswith("Nothing matching")
    with pytest.raises(InvalidInputError):
        memory.forget("it")
    memory.close()


def test_model_answers_are_validated_against_the_pages(tmp_path: Path, scripted_openai) -> None:  # type: ignore[no-untyped-def]
    import json
    import re

    state = {"persona": 0}

    def handler(body):  # type: ignore[no-untyped-def]
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
        text = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        if "organise" in system:
            numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", text, flags=re.M)]
            return json.dumps({"topics": [{"pages": numbers, "segment": None, "summary": "Family news.",
                                           "keywords": ["family"]}]})
        if "long-term memory of an assistant" in system:
            state["persona"] += 1
            fact = re.search(r'"id": "(ft_[0-9a-f]+)"', text)
            facts = [{"op": "add", "about": "user", "text": "The user lives in Berlin."},
                     {"op": "add", "about": "user", "text": "The user's sister Maya is a chef in Berlin."},
                     {"op": "add", "about": "user", "text": "The user lives in Lisbon."}]
            if fact:
                facts.append({"op": "update", "id": fact.group(1), "about": "user", "text": "The user lives in Tokyo."})
            return json.dumps({"profile": [{"field": "location", "value": "Berlin"},
                                           {"field": "occupation", "value": "chef"},
                                           {"field": "name", "value": "User"},
                                           {"field": "hometown", "value": "Lisbon"}], "facts": facts})
        return "ok"

    scripted_openai.chat_handler = handler
    memory = Memoryos("u", openai_api_key="k", openai_base_url=scripted_openai.base_url, data_storage_path=tmp_path,
                      embedder=HashingEmbedder(512), background=False, mid_term_heat_threshold=1.0, llm_timeout=5.0)
    memory.add_memory("My sister Maya is a chef in Berlin and she keeps sending me recipes.", "Lovely!", timestamp=1_735_900_000)
    memory.add_memory("I live in Lisbon, near the river.", "Nice.", timestamp=1_735_900_060)
    for i in range(40):
        memory.add_memory(f"Tell me about comet number {i}.", "Comets are icy.", timestamp=1_735_900_120 + 60 * i)
    memory.flush()
    assert state["persona"] >= 1
    fields = memory.get_user_profile().fields
    assert fields.get("hometown") == "Lisbon"  # grounded in the user's own words
    # Berlin (the sister's city) is rejected; the location is the rules' reading of "I live in Lisbon".
    assert fields.get("location") == "Lisbon" and "occupation" not in fields and "name" not in fields
    texts = [f.text for f in memory.get_user_knowledge()]
    assert "The user's sister Maya is a chef in Berlin." in texts
    assert "User lives in Lisbon." in texts  # the rules' fact wins the location slot over the model's copy
    assert "The user lives in Berlin." not in texts and "The user lives in Tokyo." not in texts
    memory.close()


def test_a_models_fact_is_said_of_the_user_in_the_third_person() -> None:
    assert third_person("I started at the children's hospital on Monday. The team is kind.") == (
        "User started at the children's hospital on Monday.")
    assert third_person("I'm allergic to peanuts.") == "User is allergic to peanuts."
    assert third_person("My sister Maya is a chef.") == "User's sister Maya is a chef."
    assert third_person("We moved to Porto.") is None  # who "we" are is unknown: not stored
    assert third_person("The user lives in Porto.") == "The user lives in Porto."
    assert list_items("trail running, beagles and Japanese food") == ["trail running", "beagles", "Japanese food"]
    assert [fact_slot(t) for t in ("The user lives in Porto.", "User works at St. Clara Hospital.",
                                   "User works as a nurse.", "User loves trail running.")] == [
        "location", "employer", "occupation", None]


def test_the_rules_correct_a_small_models_stale_values(tmp_path: Path, scripted_openai: Any) -> None:
    """A small model mixes the old employer into the profile and copies the user's sentences; the
    rules, which read the pages in order, win on single-valued fields and exclusive slots."""
    def handler(body):  # type: ignore[no-untyped-def]
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
        if "long-term memory of an assistant" not in system:
            return "ok"
        return json.dumps({
            "profile": [{"field": "employer", "value": "St. Clara Hospital"}, {"field": "likes",
                                                                              "value": "trail running, beagles"}],
            "facts": [{"op": "add", "about": "user", "text": "User works at St. Clara Hospital."},
                      {"op": "add", "about": "user", "text": "I started at the children's hospital on Monday. It's big."}]})

    scripted_openai.chat_handler = handler
    memory = Memoryos("u", openai_api_key="k", openai_base_url=scripted_openai.base_url, data_storage_path=tmp_path,
                      embedder=HashingEmbedder(512), background=False, llm_timeout=5.0)
    memory.add_memory("I work at St. Clara Hospital as a nurse.", "Busy job!", timestamp=1_735_900_000)
    memory.add_memory("I love trail running with beagles.", "Fun!", timestamp=1_735_900_060)
    memory.add_memory("I started at the children's hospital on Monday.", "Congratulations!", timestamp=1_738_000_000)
    for i in range(40):
        memory.add_memory(f"Tell me about comet number {i}.", "Comets are icy.", timestamp=1_738_000_100 + 60 * i)
    assert memory.flush()
    fields = memory.get_user_profile().fields
    assert "children's hospital" in fields["employer"]
    assert {"trail running", "beagles"} <= set(fields["likes"])
    current = [f.text for f in memory.get_user_knowledge()]
    assert "User started at the children's hospital on Monday." in current
    assert not any("St. Clara" in text for text in current)
    past = [f.text for f in memory.get_user_knowledge(include_past=True) if f.is_past]
    assert any("St. Clara" in text for text in past)
    memory.close()
