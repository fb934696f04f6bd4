"""Export and import: a faithful round trip, idempotent re-imports, and hostile documents refused whole.

Every test runs on SQLite and on PostgreSQL (the ``location`` fixture, as in the conformance
suite). The source memory is the demo conversation that ``memoryos demo`` ingests, replayed with
the recall questions so segments get hot, the persona pass runs and "User lives in Lisbon." is
superseded by "User lives in Porto.".
"""

from __future__ import annotations

import copy
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from memoryos_core import ExportFormatError, InvalidInputError, Memoryos
from memoryos_core.cli import main as cli_main
from memoryos_core.storage import importer
from memoryos_core.validation import parse_timestamp

pytest_plugins = ["pg_server"]

T0 = 1_700_000_000.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store lives: a SQLite folder or a DSN onto an empty PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("pg_dsn")


@pytest.fixture
def other_location(location: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second, empty store on the same backend (another machine, as far as ids are concerned)."""
    if not location.startswith("postgresql://"):
        yield str(tmp_path / "elsewhere")
        return
    server = request.getfixturevalue("pg_server")
    name, dsn = server.fresh_schema()
    yield dsn
    server.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def open_memory(location: str, user: str) -> Memoryos:
    return Memoryos(user_id=user, assistant_id="demo_assistant", data_storage_path=location, background=False)


def ingest_demo(memory: Memoryos) -> None:
    """What ``memoryos demo`` does: every turn of the sample conversation, then the recall questions."""
    demo = json.loads(resources.files("memoryos_core").joinpath("data/demo_conversation.json").read_text("utf-8"))
    for session in demo["sessions"]:
        base = parse_timestamp(session["date"])
        for i, turn in enumerate(session["turns"]):
            memory.add_memory(turn["user"], turn["assistant"], timestamp=base + 60 * i,
                              meta_data={"session": session["date"]})
    memory.flush()
    for question in demo["questions"]:
        memory.retrieve(question["question"])
    memory.flush()


@pytest.fixture
def demo_memory(location: str) -> Iterator[Memoryos]:
    memory = open_memory(location, "demo_alex")
    try:
        ingest_demo(memory)
        yield memory
    finally:
        memory.close()


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """What a file holds: the export through ``json.dumps`` and back."""
    return json.loads(json.dumps(data))


def comparable(export: dict[str, Any]) -> dict[str, Any]:
    """An export with record ids replaced by their position (ids differ when another user of the same
    store already holds them) and without the owner and the history row numbers."""
    names: dict[str, str] = {}
    for table in ("pages", "segments", "facts"):
        for i, row in enumerate(export[table]):
            names[row["id"]] = f"{table}#{i}"
    rename: Callable[[Any], Any] = lambda value: names.get(value, value)  # noqa: E731
    out = copy.deepcopy(export)
    out.pop("user_id")
    for table in ("pages", "segments", "facts"):
        for row in out[table]:
            row["id"] = rename(row["id"])
    for page in out["pages"]:
        page["segment_id"] = rename(page["segment_id"])
    for fact in out["facts"]:
        fact["source_page_ids"] = [rename(p) for p in fact["source_page_ids"]]
        fact["superseded_by"] = rename(fact["superseded_by"])
    for entry in out["history"]:
        entry.pop("id")
        entry["target_id"] = rename(entry["target_id"])
    return out


def facts_by_text(memory: Memoryos) -> dict[str, bool]:
    return {f["text"]: f["active"] for f in memory.export()["facts"]}


# -- the round trip -------------------------------------------------------------------------


def test_demo_round_trip_into_another_user_is_faithful(demo_memory: Memoryos, location: str) -> None:
    data = as_json(demo_memory.export())
    source_facts = facts_by_text(demo_memory)
    assert source_facts["User lives in Lisbon."] is False and source_facts["User lives in Porto."] is True
    by_text = {f["text"]: f for f in data["facts"]}
    lisbon, porto = by_text["User lives in Lisbon."], by_text["User lives in Porto."]
    assert lisbon["superseded_by"] == porto["id"] and lisbon["valid_until"] >= lisbon["refers_to"]
    assert len(data["pages"]) == 45 and data["segments"] and data["history"] and data["profile"]["fields"]
    with open_memory(location, "alex_copy") as copy_:
        assert copy_.import_data(data) == 45
        again = as_json(copy_.export())
        assert comparable(again) == comparable(data)
        assert again["user_id"] == "alex_copy"
        # Same store, so the copy cannot reuse the source's ids: every reference follows the new ids.
        assert {p["id"] for p in again["pages"]}.isdisjoint(p["id"] for p in data["pages"])
        assert facts_by_text(copy_) == source_facts
        assert copy_.stats()["tiers"] == demo_memory.stats()["tiers"]
        assert copy_.stats()["tiers"]["unembedded"] == 0  # vectors re-derived
        assert [f.text for f in copy_.get_user_knowledge()] == [f.text for f in demo_memory.get_user_knowledge()]
        # Nothing left for the engine to redo: the imported memory is as settled as the source.
        copy_.flush()
        assert comparable(as_json(copy_.export())) == comparable(data)
        result = copy_.retrieve("Where does Alex live now?", record_visits=False)
        assert "Porto" in result.context
        assert "User lives in Lisbon." not in result.context  # superseded stays inactive
        copied = {f.text: f for f in copy_.get_user_knowledge(include_past=True)}
        assert copied["User lives in Lisbon."].superseded_by == copied["User lives in Porto."].id  # followed the new ids
        assert any("Biscuit" in r["memory"] for r in copy_.search("What is the name of Alex's dog?")["results"])
    # The source is untouched.
    assert as_json(demo_memory.export()) == data


def test_import_into_a_new_store_keeps_every_id(demo_memory: Memoryos, other_location: str) -> None:
    data = as_json(demo_memory.export())
    with open_memory(other_location, "alex_elsewhere") as moved:
        assert moved.import_data(data) == 45
        again = as_json(moved.export())
    assert again["user_id"] == "alex_elsewhere"
    again["user_id"] = data["user_id"]
    for entry_a, entry_b in zip(again["history"], data["history"]):
        entry_a["id"] = entry_b["id"]
    assert again == data


def test_importing_the_same_export_twice_changes_nothing(demo_memory: Memoryos, location: str) -> None:
    data = as_json(demo_memory.export())
    assert demo_memory.import_data(data) == 0  # into the memory it came from
    assert as_json(demo_memory.export()) == data
    with open_memory(location, "alex_copy") as copy_:
        assert copy_.import_data(data) == 45
        first = as_json(copy_.export())
        tiers = copy_.stats()["tiers"]
        assert copy_.import_data(data) == 0
        assert copy_.import_data(copy.deepcopy(data)) == 0
        assert as_json(copy_.export()) == first
        assert copy_.stats()["tiers"] == tiers


def test_a_page_deleted_after_an_import_comes_back_into_its_segment(demo_memory: Memoryos, location: str) -> None:
    """Import adds what the memory lacks: a page deleted since the last import returns, with its place."""
    data = as_json(demo_memory.export())
    with open_memory(location, "alex_copy") as copy_:
        copy_.import_data(data)
        page = next(p for p in copy_.list_memories(limit=100) if "Biscuit" in p.user_input and p.tier == "mid")
        before = as_json(copy_.export())
        vec_sums = {s.segment.id: s.vec_sum for s in copy_.store.list_segments(copy_._scope_id, copy_.heat)}
        copy_.delete(page.id)
        assert len(copy_.list_memories(limit=100)) == 44
        assert copy_.import_data(data) == 1
        back = copy_.get(page.id)
        assert (back.segment_id, back.tier, back.text, back.timestamp, back.created_at, back.analyzed) == (
            page.segment_id, "mid", page.text, page.timestamp, page.created_at, page.analyzed)
        after = as_json(copy_.export())
        assert after["segments"] == before["segments"]  # page counts and heat inputs as they were
        by_id: Callable[[dict[str, Any]], str] = lambda row: row["id"]  # noqa: E731
        # Facts drawn only from the page went with it, and came back (stored anew: listed last).
        assert sorted(after["facts"], key=by_id) == sorted(before["facts"], key=by_id)
        assert after["history"][:len(before["history"])] == before["history"]
        assert [h["event"] for h in after["history"][len(before["history"]):]] == ["DELETE"] * (
            len(after["history"]) - len(before["history"]))
        for row in copy_.store.list_segments(copy_._scope_id, copy_.heat):
            assert row.vec_sum == pytest.approx(vec_sums[row.segment.id], abs=1e-5)
        assert any(r["id"] == page.id for r in copy_.search("Alex's beagle Biscuit", limit=5)["results"])


def test_import_merges_into_a_memory_with_its_own_pages(demo_memory: Memoryos, location: str) -> None:
    data = as_json(demo_memory.export())
    with open_memory(location, "sam") as sam:
        own = sam.add_memory("My favourite colour is teal.", "Noted!", timestamp=T0)
        sam.update_user_profile(location="Faro", pets=["cat named Miso"])
        assert sam.import_data(data) == 45
        pages = sam.list_memories(limit=100)
        assert pages[0].id == own.id and pages[0].seq == 1 and len(pages) == 46
        assert [p.seq for p in pages] == sorted(p.seq for p in pages) and len({p.seq for p in pages}) == 46
        assert [p.text for p in pages[1:]] == [p.text for p in demo_memory.list_memories(limit=100)]
        fields = sam.get_user_profile().fields
        assert fields["location"] == "Faro" and fields["pets"] == ["cat named Miso"]  # the memory's own values stay
        assert fields["name"] == "Alex"  # fields it lacked are added
        settled = as_json(sam.export())
        assert sam.import_data(data) == 0
        assert as_json(sam.export()) == settled


def test_minimal_documents_import_and_reimport_without_duplicates(location: str) -> None:
    doc = {"format": "memoryos-export/1",
           "pages": [{"user_input": "I adopted a corgi called Biscuit.", "agent_response": "Lovely!",
                      "timestamp": "2024-05-01T10:00:00"},
                     {"user_input": "He is two years old.", "agent_response": "A young dog!", "timestamp": T0}],
           "facts": [{"kind": "user", "text": "The user has a corgi named Biscuit.", "refers_to": "2024-05-01"},
                     {"kind": "assistant", "text": "The assistant suggested puppy classes."}],
           "profile": {"fields": {"pets": ["corgi named Biscuit"]}}}
    with open_memory(location, "kim") as kim:
        assert kim.import_data(copy.deepcopy(doc)) == 2
        first = as_json(kim.export())
        assert [p["timestamp"] for p in first["pages"]] == [parse_timestamp("2024-05-01T10:00:00"), T0]
        assert first["facts"][0]["refers_to"] == parse_timestamp("2024-05-01")
        assert kim.import_data(copy.deepcopy(doc)) == 0
        assert as_json(kim.export()) == first
        assert [f.text for f in kim.get_user_knowledge()] == ["The user has a corgi named Biscuit."]
        assert "Biscuit" in kim.retrieve("What is my dog called?", record_visits=False).context


# -- hostile documents -------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A mutation setting ``path`` (``facts.0.kind``) of the document to ``value``."""
    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return doc
    return mutate


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _same_id_twice(doc: dict[str, Any]) -> dict[str, Any]:
    doc["pages"][1]["id"] = doc["pages"][0]["id"]
    return doc


def _same_seq_twice(doc: dict[str, Any]) -> dict[str, Any]:
    doc["pages"][1]["seq"] = doc["pages"][0]["seq"]
    return doc


def _empty_page(doc: dict[str, Any]) -> dict[str, Any]:
    doc["pages"][3].update(user_input="", agent_response=" ")
    return doc


def _short_page_claims_mid(doc: dict[str, Any]) -> dict[str, Any]:
    page = doc["pages"][0]
    page["tier"] = "short"
    return doc


#: name -> (mutation of a valid demo export, pattern the error must match: the bad field's path).
MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "not_an_object": (lambda doc: [doc], r"must be a JSON object"),
    "wrong_format": (_set("format", "memoryos-export/99"), r"at format:"),
    "pages_not_a_list": (_set("pages", {"0": "hello"}), r"at pages:"),
    "page_not_an_object": (_set("pages.1", "hello"), r"at pages\[1\]:"),
    "bad_second_page_after_a_good_first": (_set("pages.1.user_input", 42), r"at pages\[1\]\.user_input:"),
    "dict_where_text_is_expected": (_set("pages.2.agent_response", {"text": "hi"}), r"at pages\[2\]\.agent_response:"),
    "nul_in_a_page": (_set("pages.1.agent_response", "fine\x00thanks"), r"at pages\[1\]\.agent_response:.*NUL"),
    "unknown_page_field": (_set("pages.0.colour", "red"), r"at pages\[0\]\.colour:"),
    "unknown_tier": (_set("pages.0.tier", "long"), r"at pages\[0\]\.tier:"),
    "tier_contradicts_segment": (_short_page_claims_mid, r"at pages\[0\]\.tier:"),
    "page_in_a_missing_segment": (_set("pages.0.segment_id", "sg_nowhere"), r"at pages\[0\]\.segment_id:"),
    "page_id_not_an_id": (_set("pages.0.id", "../../etc/passwd"), r"at pages\[0\]\.id:"),
    "page_id_twice": (_same_id_twice, r"at pages\[1\]\.id:"),
    "seq_not_increasing": (_same_seq_twice, r"at pages\[1\]\.seq:"),
    "both_sides_empty": (_empty_page, r"at pages\[3\]:"),
    "meta_not_an_object": (_set("pages.0.meta", ["session"]), r"at pages\[0\]\.meta:"),
    "meta_nested_100000_deep": (_set("pages.0.meta", _nested(100_000)), r"at pages\[0\]\.meta:"),
    "timestamp_1e20": (_set("pages.4.timestamp", 1e20), r"at pages\[4\]\.timestamp:"),
    "timestamp_minus_1e20": (_set("pages.4.timestamp", -1e20), r"at pages\[4\]\.timestamp:"),
    "timestamp_10_to_30": (_set("pages.4.timestamp", 10**30), r"at pages\[4\]\.timestamp:"),
    "timestamp_nan": (_set("pages.4.timestamp", math.nan), r"at pages\[4\]\.timestamp:"),
    "timestamp_inf": (_set("pages.4.timestamp", math.inf), r"at pages\[4\]\.timestamp:"),
    "timestamp_year_10000": (_set("pages.4.timestamp", "10000-01-01"), r"at pages\[4\]\.timestamp:"),
    "timestamp_a_bool": (_set("pages.4.timestamp", True), r"at pages\[4\]\.timestamp:"),
    "fact_of_2_mb": (_set("facts.0.text", "x" * 2_000_000), r"at facts\[0\]\.text:.*limit"),
    "nul_in_a_fact": (_set("facts.0.text", "User lives in\x00 Porto."), r"at facts\[0\]\.text:.*NUL"),
    "empty_fact": (_set("facts.0.text", "   "), r"at facts\[0\]\.text:"),
    "unknown_fact_kind": (_set("facts.0.kind", "robot"), r"at facts\[0\]\.kind:"),
    "unknown_fact_source": (_set("facts.0.source", "oracle"), r"at facts\[0\]\.source:"),
    "dict_slot": (_set("facts.0.slot", {"name": "location"}), r"at facts\[0\]\.slot:"),
    "refers_to_yesterday": (_set("facts.0.refers_to", "yesterday"), r"at facts\[0\]\.refers_to:"),
    "fact_active_as_text": (_set("facts.0.active", "yes"), r"at facts\[0\]\.active:"),
    "fact_created_at_inf": (_set("facts.1.created_at", math.inf), r"at facts\[1\]\.created_at:"),
    "profile_field_of_5_mb": (_set("profile.fields.bio", "y" * 5_000_000), r"at profile\.fields\.bio:.*limit"),
    "profile_fields_a_list": (_set("profile.fields", ["Porto"]), r"at profile\.fields:"),
    "keywords_a_string": (_set("segments.0.keywords", "running"), r"at segments\[0\]\.keywords:"),
    "negative_visits": (_set("segments.0.visits", -3), r"at segments\[0\]\.visits:"),
    "history_time_yesterday": (_set("history.0.at", "yesterday"), r"at history\[0\]\.at:"),
    "history_value_of_5_mb": (_set("history.0.new_value", "z" * 5_000_000), r"at history\[0\]\.new_value:"),
    "history_unknown_target": (_set("history.0.target_kind", "planet"), r"at history\[0\]\.target_kind:"),
}


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A valid export to spoil, made once (SQLite: the document is the same on both backends)."""
    with open_memory(str(tmp_path_factory.mktemp("demo")), "demo_alex") as memory:
        ingest_demo(memory)
        return as_json(memory.export())


@pytest.fixture
def seeded(location: str) -> Iterator[Memoryos]:
    """A memory that already holds something, so a partial write would show."""
    memory = open_memory(location, "target")
    try:
        memory.add_memory("My locker code is 8812.", "Got it.", timestamp=T0)
        memory.update_user_profile(city="Faro")
        yield memory
    finally:
        memory.close()


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_hostile_document_is_refused_whole(case: str, seeded: Memoryos, demo_export: dict[str, Any]) -> None:
    mutate, where = MALFORMED[case]
    doc = mutate(copy.deepcopy(demo_export))
    before, tiers = seeded.export(), seeded.stats()["tiers"]
    with pytest.raises(InvalidInputError, match=where) as caught:
        seeded.import_data(doc)
    assert isinstance(caught.value, ExportFormatError)
    assert seeded.export() == before
    assert seeded.stats()["tiers"] == tiers


def test_a_failure_inside_the_write_leaves_nothing(seeded: Memoryos, demo_export: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation passed, then the store failed half-way (after pages and facts were inserted)."""
    before = seeded.export()

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_insert_history", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        seeded.import_data(copy.deepcopy(demo_export))
    assert seeded.export() == before
    monkeypatch.undo()
    assert seeded.import_data(copy.deepcopy(demo_export)) == 45  # and a retry writes it all


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["unknown_fact_kind", "dict_slot", "fact_of_2_mb", "refers_to_yesterday",
                                  "timestamp_nan", "bad_second_page_after_a_good_first"])
def test_cli_import_of_a_bad_document_is_one_line_and_exit_2(case: str, tmp_path: Path, demo_export: dict[str, Any],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    mutate, where = MALFORMED[case]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(mutate(copy.deepcopy(demo_export))), encoding="utf-8")
    assert cli_main(["import", "--data", str(tmp_path / "D"), "--user", "u", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memoryos: error: invalid export at ") and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, "\udcff not text"])
def test_cli_import_of_a_file_that_is_not_json(content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert cli_main(["import", "--data", str(tmp_path / "D"), "--user", "u", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memoryos: error: ") and err.count("\n") == 1


def test_cli_import_reports_pages_already_present(tmp_path: Path, demo_export: dict[str, Any],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "alex.json"
    path.write_text(json.dumps(demo_export), encoding="utf-8")
    args = ["import", "--data", str(tmp_path / "D"), "--user", "alex", str(path)]
    assert cli_main(args) == 0
    assert capsys.readouterr().out.strip() == "imported 45 pages"
    assert cli_main(args) == 0
    assert capsys.readouterr().out.strip() == "imported 0 pages (45 already present)"
