"""MemoryOSStore against LangGraph's own InMemoryStore: the same scenarios on both, same results.

Each scenario drives a ``BaseStore`` through the public API and returns what it observed (items as
(namespace, key, value), namespace lists, ...; timestamps are checked separately since the two
stores write at different instants). It runs on ``InMemoryStore`` and on ``MemoryOSStore`` over
SQLite and over PostgreSQL (skipped with the reason when no server binaries exist), and the
observations must be equal. Then: what only MemoryOSStore does (TTL, several processes, owners,
the user's memory in a search), the deliberate differences, and semantic search with the local
embedder.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from langgraph.store.base import BaseStore, GetOp, Item, ListNamespacesOp, MatchCondition, PutOp, SearchItem, SearchOp
from langgraph.store.memory import InMemoryStore

from memoryos_core import HashingEmbedder, InvalidInputError, StoreError
from memoryos_langchain import MemoryOSStore, NamespaceMapping

pytest_plugins = ["pg_server"]

DIM = 64
Observation = list[Any]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("pg_dsn")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def open_memoryos(location: str) -> Iterator[Callable[..., MemoryOSStore]]:
    opened: list[MemoryOSStore] = []

    def make(**kwargs: Any) -> MemoryOSStore:
        kwargs.setdefault("embedder", HashingEmbedder(DIM))
        kwargs.setdefault("memory_kwargs", {"background": False})
        store = MemoryOSStore(location, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def reference() -> InMemoryStore:
    """LangGraph's store, with semantic search on the same embedder as the MemoryOSStore under test."""
    embedder = HashingEmbedder(DIM)
    return InMemoryStore(index={"dims": DIM, "embed": lambda texts: embedder.embed(texts).tolist()})


def seen(result: Any) -> Any:
    """An operation's result without timestamps: items as (namespace, key, value)."""
    if isinstance(result, Item):
        return (result.namespace, result.key, result.value)
    if isinstance(result, list):
        return [seen(r) for r in result]
    return result


def keys(items: list[SearchItem]) -> list[str]:
    return [i.key for i in items]


# -- scenarios ------------------------------------------------------------------------------------

def puts_and_gets(store: BaseStore) -> Observation:
    store.put(("users", "alice"), "profile", {"name": "Alice", "langs": ["pt", "en"], "meta": {"age": 31}})
    store.put(("users", "alice", "prefs"), "theme", {"value": "dark"})
    store.put(("users", "bob"), "profile", {"name": "Bob"})
    store.put(("docs",), "intro", {"text": "Welcome", "n": 1.5, "ok": True, "none": None})
    store.put(("users", "alice"), "empty", {})
    return [seen(store.get(("users", "alice"), "profile")), seen(store.get(("users", "alice", "prefs"), "theme")),
            seen(store.get(("users", "bob"), "profile")), seen(store.get(("docs",), "intro")),
            seen(store.get(("users", "alice"), "empty")), seen(store.get(("users", "alice"), "missing")),
            seen(store.get(("users", "bob"), "theme")), seen(store.search(())), seen(store.search(("users",))),
            seen(store.search(("users", "alice"))), seen(store.search(("users", "al"))), seen(store.search(("nobody",)))]


def upserts(store: BaseStore) -> Observation:
    ns = ("memories", "alice")
    for key in ("a", "b", "c"):
        store.put(ns, key, {"v": key, "extra": 1})
    store.put(("memories", "bob"), "x", {"v": "x"})
    store.put(ns, "a", {"v": "A"})  # replaces the whole value, keeps its place
    store.put(ns, "c", {"v": "C", "extra": 2})
    return [seen(store.get(ns, "a")), seen(store.search(("memories",))), seen(store.search(ns, filter={"extra": 1}))]


def deletes(store: BaseStore) -> Observation:
    ns = ("memories", "alice")
    for key in ("a", "b", "c"):
        store.put(ns, key, {"v": key})
    store.delete(ns, "b")
    store.delete(ns, "never-there")
    store.delete(("memories", "nobody"), "x")
    out = [seen(store.get(ns, "b")), seen(store.search(ns))]
    store.put(ns, "b", {"v": "again"})  # a deleted key comes back at the end
    out.append(seen(store.search(ns)))
    return out


NAMESPACES = [
    ("users", "alice", "prefs"), ("users", "alice", "notes", "work"), ("users", "bob", "prefs"),
    ("users", "bob", "notes"), ("docs",), ("docs", "shared", "prefs"), ("memories", "carol"), ("a", "b", "c", "d"),
]


def namespace_listing(store: BaseStore) -> Observation:
    for i, ns in enumerate(NAMESPACES):
        store.put(ns, f"k{i}", {"i": i})
        store.put(ns, f"j{i}", {"i": -i})
    calls: list[dict[str, Any]] = [
        {}, {"prefix": ("users",)}, {"prefix": ("users", "alice")}, {"prefix": ("users", "*", "prefs")},
        {"prefix": ("*",)}, {"prefix": ("users", "alice", "prefs", "more")}, {"prefix": ("nope",)},
        {"suffix": ("prefs",)}, {"suffix": ("*", "prefs")}, {"suffix": ("notes", "*")},
        {"prefix": ("users",), "suffix": ("prefs",)}, {"prefix": ("users", "*"), "suffix": ("notes",)},
        {"max_depth": 1}, {"max_depth": 2}, {"prefix": ("users",), "max_depth": 2}, {"suffix": ("prefs",), "max_depth": 1},
        {"max_depth": 10}, {"limit": 3}, {"limit": 3, "offset": 3}, {"limit": 3, "offset": 6}, {"offset": 100},
        {"prefix": ("users",), "max_depth": 2, "limit": 1, "offset": 1}, {"limit": 0},
    ]
    return [store.list_namespaces(**call) for call in calls]


FILTER_ITEMS: list[dict[str, Any]] = [
    {"kind": "note", "score": 3, "tags": ["x", "y"], "meta": {"lang": "pt", "level": {"n": 1}}, "done": False},
    {"kind": "note", "score": 7.5, "tags": ["y"], "meta": {"lang": "en", "level": {"n": 2}}, "done": True},
    {"kind": "task", "score": 5, "tags": ["x", "y"], "meta": {"lang": "pt"}, "done": True},
    {"kind": "task", "score": 10, "meta": {"lang": "en", "level": {"n": 1}}},
    {"kind": "event", "score": 5.0, "tags": [], "meta": {"lang": "fr", "extra": 1}, "done": None},
]
FILTERS: list[dict[str, Any]] = [
    {"kind": "note"}, {"kind": "nothing"}, {"score": 5}, {"done": True}, {"done": None}, {"tags": ["x", "y"]},
    {"tags": ["y", "x"]}, {"tags": []}, {"meta": {"lang": "pt"}}, {"meta": {"level": {"n": 1}}},
    {"meta": {"lang": "en", "level": {"n": 2}}}, {"kind": {"$eq": "task"}}, {"kind": {"$ne": "task"}},
    {"score": {"$gt": 5}}, {"score": {"$gte": 5}}, {"score": {"$lt": 5}}, {"score": {"$lte": 5}},
    {"score": {"$gt": 3, "$lt": 10}}, {"kind": "task", "score": {"$gte": 6}}, {"meta": {"lang": {"$ne": "pt"}}},
    {"meta": {"level": {"n": {"$gte": 2}}}}, {"done": {"$ne": True}}, {"missing": None}, {"missing": {"$ne": 1}},
    {},
]


def filters(store: BaseStore) -> Observation:
    for i, value in enumerate(FILTER_ITEMS):
        store.put(("items", "alice", "inbox" if i % 2 else "archive"), f"i{i}", value)
    store.put(("items", "bob"), "other", {"kind": "note", "score": 3})
    out: Observation = [keys(store.search(("items",), filter=f, limit=20)) for f in FILTERS]
    out += [keys(store.search(("items", "alice", "inbox"), filter=f, limit=20)) for f in FILTERS]
    return out


def pagination(store: BaseStore) -> Observation:
    for i in range(25):
        store.put(("log", "alice", "day" + str(i % 3)), f"e{i:02d}", {"i": i, "even": i % 2 == 0})
    out: Observation = []
    for limit, offset in ((10, 0), (10, 10), (10, 20), (10, 30), (0, 0), (1, 24), (25, 0), (100, 5)):
        out.append(keys(store.search(("log",), limit=limit, offset=offset)))
        out.append(keys(store.search(("log",), filter={"even": True}, limit=limit, offset=offset)))
    return out


def batches(store: BaseStore) -> Observation:
    ns = ("memories", "alice")
    store.put(ns, "a", {"v": 1})
    results = store.batch([
        PutOp(ns, "b", {"v": 2}),
        GetOp(ns, "b"),                     # reads see the store as it was before the batch
        GetOp(ns, "a"),
        PutOp(ns, "a", {"v": 10}),
        PutOp(ns, "a", {"v": 11}),          # the last write of a key wins
        SearchOp(ns, limit=10),
        ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("memories",)),), limit=10),
        PutOp(ns, "c", {"v": 3}),
        PutOp(ns, "c", None),               # ... a delete too
    ])
    return [seen(results), seen(store.search(ns))]


def async_use(store: BaseStore) -> Observation:
    async def run() -> Observation:
        ns = ("memories", "alice")
        await store.aput(ns, "a", {"v": 1})
        await store.aput(ns, "b", {"v": 2, "tag": "t"})
        await store.aput(("memories", "bob"), "c", {"v": 3})
        await store.adelete(ns, "a")
        return [seen(await store.aget(ns, "b")), seen(await store.aget(ns, "a")),
                seen(await store.asearch(("memories",), filter={"tag": "t"})),
                await store.alist_namespaces(prefix=("memories",)),
                seen(await store.abatch([GetOp(ns, "b"), SearchOp(("memories",), limit=1, offset=1)]))]

    return asyncio.run(run())


def query_sets(store: BaseStore) -> Observation:
    """With a query, the two stores rank differently (cosine alone vs the hybrid), but the same
    items come back, and unindexed items follow the ranked ones without a score."""
    ns = ("memories", "alice")
    store.put(ns, "tea", {"content": "drinks green tea every morning"})
    store.put(ns, "hike", {"content": "hikes in the mountains on weekends"})
    store.put(ns, "title", {"title": "Cooking notes", "body": "pasta and risotto"}, index=["title"])
    store.put(ns, "hidden", {"content": "tea is hidden here"}, index=False)
    store.put(("memories", "bob"), "tea", {"content": "bob drinks tea"})
    found = store.search(ns, query="green tea", limit=10)
    return [sorted(keys(found[:3])), [(i.key, i.score is None) for i in found[3:]],
            sorted(keys(store.search(("memories",), query="tea", limit=10))),
            len(store.search(ns, query="tea", limit=2)), sorted(keys(store.search(ns, query="tea", filter={"title": "Cooking notes"})))]


SCENARIOS = [puts_and_gets, upserts, deletes, namespace_listing, filters, pagination, batches, async_use, query_sets]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_same_results_as_langgraph_in_memory_store(scenario: Callable[[BaseStore], Observation],
                                                   open_memoryos: Callable[..., MemoryOSStore]) -> None:
    expected = scenario(reference())
    assert scenario(open_memoryos()) == expected


def test_the_scenarios_observe_something() -> None:
    """Guard against scenarios that compare empty results."""
    observed = {s.__name__: s(reference()) for s in SCENARIOS}
    assert observed["puts_and_gets"][0] == (("users", "alice"), "profile",
                                            {"name": "Alice", "langs": ["pt", "en"], "meta": {"age": 31}})
    assert [k for _, k, _ in observed["upserts"][1]] == ["a", "b", "c", "x"]
    assert len(observed["namespace_listing"][0]) == len(NAMESPACES)
    assert observed["filters"][13] == ["i1", "i3"] and observed["filters"][0] == ["i0", "i1", "other"]
    assert observed["pagination"][0] != observed["pagination"][2] and len(observed["pagination"][12]) == 25
    assert observed["batches"][0][1] is None and observed["batches"][0][2][2] == {"v": 1}


# -- items as records -------------------------------------------------------------------------

def test_items_carry_timestamps_and_scores(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    clock = Clock()
    store = open_memoryos(clock=clock)
    ns = ("memories", "alice")
    store.put(ns, "a", {"content": "likes green tea"})
    first = store.get(ns, "a")
    assert isinstance(first, Item) and first.created_at == first.updated_at == datetime.fromisoformat(
        "2027-01-15T08:00:00+00:00")
    clock.now += 90
    store.put(ns, "a", {"content": "likes black tea"})
    again = store.get(ns, "a")
    # An upsert keeps created_at (like LangGraph's SQL stores; InMemoryStore resets it) and moves updated_at.
    assert again.created_at == first.created_at and (again.updated_at - first.updated_at).total_seconds() == 90
    hits = store.search(ns, query="tea")
    assert isinstance(hits[0], SearchItem) and 0 < hits[0].score < 1 and hits[0].dict()["score"] == hits[0].score
    assert store.search(ns)[0].score is None
    assert store.search(ns)[0].dict()["namespace"] == ["memories", "alice"]


def test_deliberate_differences_from_in_memory_store(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    """Where InMemoryStore's behaviour is an accident of its dicts, MemoryOSStore does the sensible thing."""
    ours, theirs = open_memoryos(), reference()
    for store in (ours, theirs):
        store.put(("gone", "alice"), "only", {"score": 1})
        store.delete(("gone", "alice"), "only")
        store.put(("kept", "alice"), "k", {"other": 1})
    # A namespace whose items were all deleted is not listed (InMemoryStore keeps the empty dict).
    assert ours.list_namespaces() == [("kept", "alice")]
    assert theirs.list_namespaces() == [("gone", "alice"), ("kept", "alice")]
    # An order comparison on a missing field does not match (InMemoryStore raises TypeError).
    assert ours.search(("kept",), filter={"score": {"$gt": 0}}) == []
    with pytest.raises(TypeError):
        theirs.search(("kept",), filter={"score": {"$gt": 0}})
    # TTL is supported.
    with pytest.raises(NotImplementedError):
        theirs.put(("kept", "alice"), "t", {}, ttl=1)
    ours.put(("kept", "alice"), "t", {}, ttl=1)
    assert ours.get(("kept", "alice"), "t") is not None


# -- TTL ------------------------------------------------------------------------------------

def test_ttl_expiry_refresh_and_sweep(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    clock = Clock()
    store = open_memoryos(clock=clock)
    ns = ("memories", "alice")
    store.put(ns, "short", {"content": "expires soon"}, ttl=1)          # minutes
    store.put(ns, "long", {"content": "expires later"}, ttl=10)
    store.put(ns, "forever", {"content": "never expires"})
    store.put(("other", "bob"), "short", {"content": "bob's"}, ttl=1)
    clock.now += 50
    assert store.get(ns, "short") is not None                            # read at 50 s: now expires at 110 s
    clock.now += 50
    assert store.get(ns, "short", refresh_ttl=False) is not None         # 100 s: still there, not refreshed
    assert keys(store.search(ns, refresh_ttl=False)) == ["short", "long", "forever"]
    clock.now += 11                                                      # 111 s: expired
    assert store.get(ns, "short") is None
    assert keys(store.search(ns)) == ["long", "forever"]
    assert set(keys(store.search(ns, query="expires"))) == {"long", "forever"}
    assert store.list_namespaces() == [ns]                               # bob's only item expired at 60 s
    assert store.sweep_ttl() == 2                                        # alice's short and bob's short
    assert store.sweep_ttl() == 0
    store.put(ns, "short", {"content": "back"}, ttl=1)                   # a put starts the clock again
    clock.now += 59
    assert store.search(ns, query="back")[0].key == "short"             # a search refreshes what it returns
    clock.now += 59
    assert store.get(ns, "short") is not None
    store.put(ns, "short", {"content": "no ttl now"})                    # an upsert without ttl clears it
    clock.now += 3600
    assert store.get(ns, "short") is not None and store.get(ns, "long") is None


def test_ttl_config_default_and_no_refresh_on_read(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    clock = Clock()
    store = open_memoryos(clock=clock, ttl={"default_ttl": 2, "refresh_on_read": False})
    ns = ("memories", "alice")
    store.put(ns, "a", {"v": 1})                                         # default_ttl applies
    store.put(ns, "b", {"v": 2}, ttl=None)                               # explicitly without TTL
    clock.now += 100
    assert store.get(ns, "a") is not None                                # read, but reads do not refresh
    clock.now += 21
    assert store.get(ns, "a") is None and store.get(ns, "b") is not None
    store.put(ns, "c", {"v": 3})
    clock.now += 100
    assert store.get(ns, "c", refresh_ttl=True) is not None              # an explicit refresh still works
    clock.now += 100
    assert store.get(ns, "c") is not None


def test_ttl_sweeper_thread_stops_cleanly(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    store = open_memoryos()
    thread = store.start_ttl_sweeper(sweep_interval_minutes=60)
    assert thread.is_alive() and store.start_ttl_sweeper() is thread
    assert store.stop_ttl_sweeper(timeout=10) and not thread.is_alive()


# -- owners -----------------------------------------------------------------------------------

def test_namespaces_map_to_users_and_forget_user_erases_items(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    store = open_memoryos()
    store.put(("memories", "alice"), "a", {"content": "alice's note"})
    store.put(("memories", "alice", "work"), "b", {"content": "alice at work"})
    store.put(("memories", "bob"), "c", {"content": "bob's note"})
    store.put(("docs",), "d", {"content": "for everyone"})
    mapping = store.mapping
    assert mapping.owner_of(("memories", "alice", "work")) == ("alice", "default_assistant")
    assert mapping.owner_of(("docs",)) == ("store:shared", "default_assistant")
    # The items are alice's memory: her Memoryos sees them, bob's does not.
    alice = store.memory("alice")
    assert [h.item.key for h in alice.search_items(("memories",))] == ["a", "b"]
    assert [h.item.key for h in store.memory("bob").search_items(())] == ["c"]
    alice.add_memory("I live in Porto.", "Nice city!")
    store.forget_user("alice")
    assert keys(store.search(())) == ["c", "d"]
    assert store.list_namespaces() == [("docs",), ("memories", "bob")]
    assert store.memory("alice").recent_pages() == []
    store.put(("memories", "alice"), "a", {"content": "a fresh start"})  # she can start again
    assert keys(store.search(("memories", "alice"))) == ["a"]


def test_assistant_position_and_bad_ids(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    store = open_memoryos(mapping=NamespaceMapping(user=0, assistant=1))
    store.put(("alice", "coach", "notes"), "a", {"v": 1})
    store.put(("alice", "chef"), "b", {"v": 2})
    store.put(("alice",), "c", {"v": 3})
    assert store.mapping.owner_of(("alice", "coach", "notes")) == ("alice", "coach")
    assert store.mapping.owner_of(("alice",)) == ("alice", "default_assistant")
    assert [h.item.key for h in store.memory("alice", "coach").search_items(())] == ["a"]
    assert [h.item.key for h in store.memory("alice", "chef").search_items(())] == ["b"]
    assert keys(store.search(("alice",))) == ["a", "b", "c"]
    store.forget_user("alice")                                           # every assistant of the user
    assert store.search(()) == []
    with pytest.raises(InvalidInputError, match="user id at position 0"):
        store.put(("not an id!", "coach"), "k", {"v": 1})
    with pytest.raises(InvalidInputError):
        store.put(("alice", "coach"), "k", {"when": datetime.now()})    # not JSON: nothing written
    with pytest.raises(InvalidInputError, match="operator"):
        store.search(("alice",), filter={"v": {"$in": [1]}})
    with pytest.raises(ValueError):
        NamespaceMapping(user=1, assistant=1)
    assert store.search(()) == [] and store.list_namespaces() == []


def test_search_can_include_the_users_memory(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    store = open_memoryos(include_memory=True)
    alice = store.memory("alice")
    alice.add_memory("I adopted a beagle named Biscuit last week.", "Congratulations on Biscuit!")
    alice.add_memory("My favourite colour is teal.", "Teal is lovely.")
    store.memory("bob").add_memory("Biscuit is the name of my cat.", "Cute!")
    store.put(("memories", "alice"), "m1", {"content": "Alice prefers morning meetings"})
    found = store.search(("memories", "alice"), query="Biscuit the beagle", limit=5)
    assert found[0].value["kind"] == "page" and "beagle named Biscuit" in found[0].value["content"]
    assert found[0].key.startswith("pg_") and found[0].namespace == ("memories", "alice")
    assert "m1" in keys(found) and not any("cat" in i.value["content"] for i in found)
    assert store.search(("memories", "alice"), query="Biscuit", filter={"kind": "none"}) == []
    assert [i.value["kind"] for i in store.search(("memories", "alice"), query="Biscuit", filter={"kind": "page"})] == [
        "page"]
    # Without a query, or under a prefix spanning users, only items come back.
    assert keys(store.search(("memories", "alice"))) == ["m1"]
    assert keys(store.search(("memories",), query="Biscuit")) == ["m1"]
    plain = open_memoryos()
    assert keys(plain.search(("memories", "alice"), query="Biscuit the beagle")) == ["m1"]


# -- several processes ------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from memoryos_core import HashingEmbedder
    from memoryos_langchain import MemoryOSStore
    location, writer = sys.argv[1], sys.argv[2]
    with MemoryOSStore(location, embedder=HashingEmbedder(64)) as store:
        for i in range(40):
            store.put(("memories", f"user{i % 4}"), f"{writer}-{i}", {"content": f"note {i} from {writer}"})
            store.put(("memories", "shared"), "counter", {"writer": writer, "i": i})  # everyone upserts one key
            assert store.get(("memories", f"user{i % 4}"), f"{writer}-{i}") is not None
        print(len(store.search(("memories",), limit=1000)), flush=True)
""")


def test_several_processes_share_one_store(location: str, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, str(script), location, w], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for w in ("w1", "w2", "w3")]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    with MemoryOSStore(location, embedder=HashingEmbedder(DIM)) as store:
        found = store.search(("memories",), limit=1000)
        assert len(found) == 3 * 40 + 1
        assert len({(i.namespace, i.key) for i in found}) == len(found)
        counter = store.get(("memories", "shared"), "counter")
        assert counter is not None and counter.value["i"] == 39
        assert store.list_namespaces() == [("memories", "shared")] + [("memories", f"user{u}") for u in range(4)]


def test_a_write_into_a_deleted_user_fails_cleanly(location: str) -> None:
    from memoryos_core.storage import open_store
    from memoryos_core.storage.base import ItemWrite

    raw = open_store(location)
    try:
        sid = raw.scope("alice", "a")
        raw.write_items([ItemWrite(sid, "memories.alice", "k", {"v": 1})], now=1.0)
        assert [r.key for r in raw.item_candidates("memories", 2.0)] == ["k"]
        assert raw.delete_user("alice") == 1
        assert raw.item_candidates("", 2.0) == []
        with pytest.raises(StoreError, match="deleted"):
            raw.write_items([ItemWrite(sid, "memories.alice", "k", {"v": 2})], now=3.0)
        assert raw.item_candidates("", 4.0) == []
    finally:
        raw.close()


# -- semantic search with the local embedder ------------------------------------------------------

@pytest.fixture(scope="module")
def semantic_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemoryOSStore]:
    store = MemoryOSStore(tmp_path_factory.mktemp("semantic"))   # MemoryOS's local MiniLM embedder
    ns = ("memories", "alice")
    notes = {
        "pet": "Has a beagle called Biscuit who loves long walks",
        "job": "Works as a pediatric nurse at the hospital in Porto",
        "food": "Cannot eat peanuts: severe allergy",
        "music": "Plays the cello in a community orchestra",
        "travel": "Planning a trip to Kyoto in April",
        "code": "Order number QX-7731 is still pending",
    }
    for key, text in notes.items():
        store.put(ns, key, {"content": text})
    store.put(ns, "doc", {"title": "Gardening", "body": "invoice 4471 was paid by wire transfer"}, index=["title"])
    store.put(ns, "trips", {"places": [{"name": "a ski week in the Alps"}, {"name": "a surf camp in Peniche"}]},
              index=["places[*].name"])
    yield store
    store.close()


@pytest.mark.parametrize("query, expected", [
    ("What kind of dog does she own?", "pet"),                   # no word in common: meaning only
    ("Which medical job does the user have?", "job"),
    ("food she must avoid", "food"),
    ("musical instrument", "music"),
    ("holiday in Japan", "travel"),
    ("QX-7731", "code"),                                          # a rare token: BM25
    ("gardening", "doc"),
    ("surfing holiday", "trips"),                                 # each array element has its own vector
])
def test_semantic_search_finds_the_meaning(semantic_store: MemoryOSStore, query: str, expected: str) -> None:
    found = semantic_store.search(("memories", "alice"), query=query, limit=3)
    assert found[0].key == expected, [(i.key, round(i.score, 3)) for i in found]
    assert found[0].score > found[1].score


def test_semantic_search_reads_only_the_indexed_fields(semantic_store: MemoryOSStore) -> None:
    found = semantic_store.search(("memories", "alice"), query="invoice 4471 wire transfer", limit=10)
    assert keys(found).index("doc") >= len(found) // 2  # the body is stored, not indexed: only the title counts
    assert semantic_store.get(("memories", "alice"), "doc").value["body"].startswith("invoice 4471")


def test_a_users_items_travel_with_export_and_import(open_memoryos: Callable[..., MemoryOSStore]) -> None:
    store = open_memoryos()
    store.put(("memories", "alice"), "a", {"content": "likes green tea"})
    store.put(("memories", "alice", "work"), "b", {"content": "nurse"}, ttl=60)
    data = store.memory("alice").export()
    assert store.memory("carol").import_data(data) == 0 and store.memory("carol").import_data(data) == 0
    # Imported under carol's owner, in the namespaces as exported (her memory's own items).
    assert [(h.item.namespace, h.item.key) for h in store.memory("carol").search_items()] == [
        (("memories", "alice"), "a"), (("memories", "alice", "work"), "b")]
    assert store.memory("carol").search_items(query="tea")[0].item.key == "a"
