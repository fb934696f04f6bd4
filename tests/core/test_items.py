"""The core's items (``memoryos_core.items``): index texts, filters, namespace selection, ranking,
checks, and the ``Memoryos`` item verbs (one user's items only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memoryos_core import HashingEmbedder, InvalidInputError, Memoryos
from memoryos_core.items import item_texts, matches_filter, select_namespaces
from memoryos_core.retrieval.ranking import rank_texts

DOC = {"title": "Trip", "stops": [{"city": "Porto", "days": 3}, {"city": "Kyoto", "days": 5}],
       "meta": {"tags": ["food", "temples"], "draft": False}, "empty": "", "none": None}


@pytest.mark.parametrize("fields, texts", [
    (["$"], ["Trip\nPorto\n3\nKyoto\n5\nfood\ntemples\nFalse"]),
    (["title"], ["Trip"]),
    (["stops[*].city"], ["Porto", "Kyoto"]),
    (["stops[0].city", "stops[-1].city"], ["Porto", "Kyoto"]),
    (["stops[7].city", "nothing", "title.deeper", "empty", "none"], []),
    (["meta.tags"], ["food\ntemples"]),
    (["meta.tags[*]"], ["food", "temples"]),
    (["stops[*].{city,days}"], ["Porto", "3", "Kyoto", "5"]),
    (["meta.*"], ["food\ntemples", "False"]),
    (["stops[1]"], ["Kyoto\n5"]),
])
def test_item_texts_follow_langgraph_paths(fields: list[str], texts: list[str]) -> None:
    assert item_texts(DOC, fields) == texts


def test_filters() -> None:
    value = {"n": 5, "s": "5", "flag": True, "nested": {"a": [1, {"b": 2}]}}
    assert matches_filter(value, None) and matches_filter(value, {})
    assert matches_filter(value, {"nested": {"a": [1, {"b": 2}]}})
    assert not matches_filter(value, {"nested": {"a": [1]}})
    assert matches_filter(value, {"s": {"$gt": 4}})                   # a numeric string compares as a number
    assert not matches_filter(value, {"flag": {"$gt": 0}})            # a boolean is not a number
    assert not matches_filter(value, {"missing": {"$lt": 10}})
    assert matches_filter(value, {"missing": {"$ne": 1}, "n": {"$gte": 5, "$lte": 5}})


def test_select_namespaces() -> None:
    spaces = [("a", "b", "c"), ("a", "x"), ("b",), ("a", "b")]
    assert select_namespaces(spaces) == [("a", "b"), ("a", "b", "c"), ("a", "x"), ("b",)]
    assert select_namespaces(spaces, prefix=("a", "*"), suffix=("c",)) == [("a", "b", "c")]
    assert select_namespaces(spaces, max_depth=1) == [("a",), ("b",)]
    assert select_namespaces(spaces, max_depth=1, limit=1, offset=1) == [("b",)]


def test_rank_texts_is_the_hybrid_of_cosine_and_bm25() -> None:
    q = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    away = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    # An item's best vector counts: the second text of item 0 points at the query.
    scores = rank_texts("hello", q, ["one", "two", "three"],
                        [np.vstack([away[0], q]), away, np.array([[0.0, 0.0, 1.0]], dtype=np.float32)])
    assert scores.argmax() == 0 and np.all((scores > 0) & (scores < 1))
    # Equal cosines: BM25 decides, a rare word of the query wins.
    same = [away] * 3
    scores = rank_texts("invoice QX-7731", q, ["the weather", "invoice QX-7731 pending", "lunch plans"], same)
    assert scores.argmax() == 1
    assert rank_texts("x", q, [], []).shape == (0,)


@pytest.fixture
def memory(tmp_path: Path) -> Memoryos:
    m = Memoryos("alice", data_storage_path=tmp_path, embedder=HashingEmbedder(64), background=False)
    yield m
    m.close()


def test_memoryos_item_verbs_are_one_users(memory: Memoryos, tmp_path: Path) -> None:
    bob = Memoryos("bob", data_storage_path=tmp_path, embedder=HashingEmbedder(64), background=False)
    try:
        memory.put_item(("notes",), "k", {"content": "alice's"})
        bob.put_item(("notes",), "k", {"content": "bob's"})       # the same path is bob's own
        assert memory.get_item(("notes",), "k").value == {"content": "alice's"}
        assert [h.item.value["content"] for h in bob.search_items(query="notes")] == ["bob's"]
        assert memory.list_item_namespaces() == [("notes",)]
        memory.delete_item(("notes",), "k")
        assert memory.get_item(("notes",), "k") is None and bob.get_item(("notes",), "k") is not None
    finally:
        bob.close()


@pytest.mark.parametrize("call, message", [
    (lambda m: m.put_item((), "k", {}), "at least one label"),
    (lambda m: m.put_item(("a.b",), "k", {}), "cannot contain"),
    (lambda m: m.put_item(("*",), "k", {}), "wildcard"),
    (lambda m: m.put_item("notes", "k", {}), "tuple of strings"),
    (lambda m: m.put_item(("n",), 3, {}), "key must be a string"),
    (lambda m: m.put_item(("n",), "k", ["not", "a", "mapping"]), "mapping"),
    (lambda m: m.put_item(("n",), "k", {"x": float("nan")}), "JSON"),
    (lambda m: m.put_item(("n",), "k", {"x": "y" * 1_000_001}), "larger than"),
    (lambda m: m.put_item(("n",), "k", {}, ttl_minutes=0), "positive number"),
    (lambda m: m.put_item(("n",), "k", {}, index="content"), "list of non-empty path"),
    (lambda m: m.put_item(("n",), "k", {"l": list(range(300))}, index=["l[*]"]), "at most 256"),
    (lambda m: m.search_items(limit=-1), "non-negative"),
    (lambda m: m.search_items(filter={"a": {"$regex": "x"}}), "unsupported filter operator"),
    (lambda m: m.search_items(query=5), "query must be a string"),
    (lambda m: m.list_item_namespaces(max_depth=0), "max_depth"),
])
def test_bad_input_is_refused_and_writes_nothing(memory: Memoryos, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match=message):
        call(memory)
    assert memory.search_items() == []


def test_one_bad_change_in_a_batch_writes_nothing(memory: Memoryos) -> None:
    from memoryos_core.items import ItemChange

    good = ItemChange(memory.owner, ("n",), "good", {"v": 1})
    bad = ItemChange(memory.owner, ("n",), "bad", {"v": object()})
    with pytest.raises(InvalidInputError):
        memory.items.write([good, bad])
    assert memory.search_items() == []
    memory.items.write([good, ItemChange(memory.owner, ("n",), "good", {"v": 2})])  # the last change of a key wins
    assert memory.get_item(("n",), "good").value == {"v": 2}


def test_long_texts_and_queries(memory: Memoryos) -> None:
    """A long document is indexed in pieces and a long query is searched by its head and tail,
    the core's policy for pages (``text_limits``)."""
    filler = " ".join(f"word{i}" for i in range(4000))
    memory.put_item(("docs",), "long", {"content": "zebra migration notes " + filler + " closing remarks"})
    memory.put_item(("docs",), "short", {"content": "a note about lunch"})
    found = memory.search_items(("docs",), query="zebra migration " + "x " * 20_000 + " closing remarks")
    assert [h.item.key for h in found][0] == "long"
    def pieces() -> int:
        return memory.usage.snapshot()["by_operation"]["embedding:items"]["items"]

    before = pieces()
    memory.put_item(("docs",), "long2", {"content": filler})  # about 26,000 characters: several pieces, one vector
    assert pieces() - before > 1
    assert memory.items.store.item_candidates("docs", 2e9, with_vectors=True)[-1].embedding.shape[0] == 1


def test_export_and_import_carry_items(memory: Memoryos, tmp_path: Path) -> None:
    import json

    from memoryos_core.errors import ExportFormatError

    memory.put_item(("memories", "alice"), "diet", {"content": "vegetarian", "since": 2019})
    memory.put_item(("memories", "alice", "raw"), "blob", {"content": "not searchable"}, index=False)
    memory.put_item(("memories", "alice"), "temp", {"content": "soon gone"}, ttl_minutes=30)
    memory.add_memory("I moved to Porto.", "Nice!")
    data = json.loads(json.dumps(memory.export()))
    assert [(i["key"], i["indexed"], i["ttl_minutes"]) for i in data["items"]] == [
        ("diet", True, None), ("temp", True, 30.0), ("blob", False, None)]
    other = Memoryos("alice2", data_storage_path=tmp_path / "elsewhere", embedder=HashingEmbedder(64), background=False)
    try:
        assert other.import_data(data) == 1
        assert [(h.item.key, h.item.value, h.item.created_at) for h in other.search_items()] == [
            (i["key"], i["value"], i["created_at"]) for i in data["items"]]
        assert other.search_items(query="vegetarian")[0].item.key == "diet"
        assert other.search_items(query="searchable")[-1].score is None  # still unindexed
        assert other.get_item(("memories", "alice"), "temp").ttl_minutes == 30.0
        other.put_item(("memories", "alice"), "diet", {"content": "vegan now"})
        other.import_data(data)                                          # again: what is there stays
        assert other.get_item(("memories", "alice"), "diet").value == {"content": "vegan now"}
        assert len(other.search_items(limit=100)) == 3 and len(other.recent_pages()) == 1
        bad = {**data, "pages": [{"user_input": "new page"}], "items": [{**data["items"][0], "namespace": ["a.b"]}]}
        with pytest.raises(ExportFormatError, match=r"items\[0\]\.namespace"):
            other.import_data(bad)                                       # checked first: nothing written
        assert len(other.recent_pages()) == 1
        twice = {**data, "items": [data["items"][0], data["items"][0]]}
        with pytest.raises(ExportFormatError, match="appears twice"):
            other.import_data(twice)
    finally:
        other.close()
