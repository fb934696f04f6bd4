"""The MCP server (`memoryos mcp`), driven by a real MCP client.

Over stdio (a `memoryos mcp --data TMP` subprocess) and over streamable HTTP (a subprocess on a
free 127.0.0.1 port): 15 exchanges then recall of the first one, isolation of two users on one
server, malformed arguments as tool errors with the server still serving, and both resources.
In process: configuration, the multi-user registry (concurrency, eviction, forget), shutdown flush.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

pytest.importorskip("mcp")

from mcp import Client, MCPError, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from memoryos_core import HashingEmbedder, SQLiteStore  # noqa: E402
from memoryos_core.mcp import (  # noqa: E402
    ConfigError,
    MemoryRegistry,
    create_server,
    load_settings,
)

MEMORYOS_BIN = Path(sys.executable).with_name("memoryos")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")

# Fifteen exchanges about one user; the first holds the fact recalled at the end.
ALICE = [
    ("My grandmother's secret plum dumpling recipe uses cardamom and a pinch of saffron.",
     "Cardamom and saffron with plums sounds wonderful."),
    ("I'm training for a half marathon in October.", "Good luck with the training!"),
    ("My laptop keeps overheating when I compile big Rust projects.", "Try cleaning the fans."),
    ("I adopted a rescue greyhound named Biscuit last month.", "Greyhounds are gentle dogs."),
    ("I'm learning to play the cello, mostly Bach suites.", "The suites are beautiful."),
    ("My sister lives in Reykjavik and works as a volcanologist.", "What an exciting job."),
    ("I can't stand cilantro, it tastes like soap to me.", "That is a common genetic trait."),
    ("We're repainting the kitchen a deep teal color this weekend.", "Teal is a bold choice."),
    ("I'm reading a biography of Ada Lovelace.", "She wrote the first published algorithm."),
    ("My car needs new brake pads before winter.", "Don't put that off."),
    ("I started a sourdough starter and named it Clint Yeastwood.", "Great name."),
    ("I'm allergic to penicillin.", "Good to know; tell every doctor."),
    ("My favourite board game is Terraforming Mars.", "A long but rewarding game."),
    ("I work night shifts as a radiology technician.", "Night shifts are tough."),
    ("I'm planning a trip to Kyoto to see the autumn leaves.", "November is the best time."),
]
ALICE_QUERY = "Which spices go into grandma's plum dumplings?"
BOB = ("I keep bees on my rooftop in Marseille; the hive is called Queen Margot.", "Rooftop honey is delicious.")
BOB_QUERY = "Where does the user keep the beehive?"
ORIGINAL_RETRIEVE_FIELDS = {
    "status", "query", "timestamp", "user_profile", "short_term_memory", "short_term_count", "retrieved_pages",
    "retrieved_user_knowledge", "retrieved_assistant_knowledge", "total_pages_found", "total_user_knowledge_found",
    "total_assistant_knowledge_found",
}
ORIGINAL_PROFILE_FIELDS = {
    "status", "timestamp", "user_id", "assistant_id", "user_profile", "user_knowledge", "user_knowledge_count",
    "assistant_knowledge", "assistant_knowledge_count",
}


def server_env() -> dict[str, str]:
    """The subprocess environment: no API key (offline), no MemoryOS settings, no proxies."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MEMORYOS_")) and k not in _PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def store_counts(path: Path, user_id: str, assistant_id: str = "default_assistant") -> dict[str, int]:
    """Tier and job counts read straight from the store (opening a Memoryos could run due jobs itself)."""
    store = SQLiteStore(path)
    try:
        scope_id = store.scope(user_id, assistant_id, create=False)
        assert scope_id is not None, f"no memory for {user_id}"
        return store.counts(scope_id)
    finally:
        store.close()


class SlowEmbedder(HashingEmbedder):
    """Lexical embeddings that take a while: background work is still pending when the test stops the server."""

    def embed(self, texts: Any) -> Any:
        time.sleep(0.3)
        return super().embed(texts)


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; returns its structured result."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {result.content[0].text if result.content else result}"
    data = result.structured_content
    assert isinstance(data, dict) and data["status"] == "success"
    assert json.loads(result.content[0].text) == data  # text content mirrors the structured result
    return data


async def call_error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    """Call a tool that must fail as an MCP tool error; returns the message."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool}({arguments}) should have failed: {result.structured_content}"
    return result.content[0].text


async def read_json(client: Client, uri: str) -> dict[str, Any]:
    result = await client.read_resource(uri)
    assert len(result.contents) == 1
    assert result.contents[0].mime_type == "application/json"
    return json.loads(result.contents[0].text)


async def exercise(client: Client) -> None:
    """The scenario every transport must pass."""
    tools = {t.name for t in (await client.list_tools()).tools}
    assert tools == {"add_memory", "retrieve_memory", "get_user_profile", "search_memory", "list_memories",
                     "delete_memory", "forget", "forget_user"}

    # 15 exchanges about alice, through add_memory
    first_id = None
    for i, (said, answered) in enumerate(ALICE):
        added = await call(client, "add_memory", user_input=said, agent_response=answered,
                           timestamp=f"2025-06-{1 + i:02d} 10:00:00", meta_data={"turn": i}, user_id="alice")
        assert added["timestamp"] == f"2025-06-{1 + i:02d} 10:00:00"
        assert added["details"]["user_id"] == "alice" and added["details"]["memory_id"].startswith("pg_")
        assert added["details"]["has_meta_data"] is True
        first_id = first_id or added["details"]["memory_id"]

    # recall of the first exchange
    found = await call(client, "retrieve_memory", query=ALICE_QUERY, user_id="alice", max_results=5)
    assert ORIGINAL_RETRIEVE_FIELDS <= set(found)
    assert found["query"] == ALICE_QUERY and found["user_id"] == "alice"
    top = [p["user_input"] for p in found["retrieved_pages"][:3]]
    assert ALICE[0][0] in top, top
    hit = next(p for p in found["retrieved_pages"] if p["user_input"] == ALICE[0][0])
    assert hit["id"] == first_id and hit["timestamp"] == "2025-06-01 10:00:00" and hit["meta_data"] == {"turn": 0}
    assert {"user_input", "agent_response", "timestamp", "meta_info"} <= set(hit)
    assert "cardamom" in found["context"]
    assert found["total_pages_found"] >= len(found["retrieved_pages"]) >= 1
    assert found["short_term_count"] == len(found["short_term_memory"]) >= 1
    assert found["short_term_memory"][-1]["user_input"] == ALICE[-1][0]  # the latest exchange is recent memory

    # a second user on the same server: strict isolation both ways
    await call(client, "add_memory", user_input=BOB[0], agent_response=BOB[1], user_id="bob")
    bob_sees = await call(client, "retrieve_memory", query=ALICE_QUERY, user_id="bob")
    assert "cardamom" not in json.dumps(bob_sees).lower()
    assert "Queen Margot" in json.dumps(bob_sees)  # bob's own memory is all he has
    alice_sees = await call(client, "retrieve_memory", query=BOB_QUERY, user_id="alice")
    assert "margot" not in json.dumps(alice_sees).lower() and "marseille" not in json.dumps(alice_sees).lower()
    bob_search = await call(client, "search_memory", query="cardamom plum dumplings", user_id="bob")
    assert all("cardamom" not in r["memory"] for r in bob_search["results"])
    bob_list = await call(client, "list_memories", user_id="bob")
    assert bob_list["total"] == 1 and [m["user_input"] for m in bob_list["memories"]] == [BOB[0]]
    assert await call_error(client, "delete_memory", {"memory_id": first_id, "user_id": "bob"})  # not bob's
    alice_list = await call(client, "list_memories", user_id="alice", limit=5, offset=0)
    assert alice_list["total"] == 15 and alice_list["memories"][0]["id"] == first_id

    # malformed arguments: tool errors with a clear message, and the server keeps serving
    message = await call_error(client, "add_memory", {"user_input": 123, "agent_response": "x", "user_id": "alice"})
    assert "user_input" in message
    message = await call_error(client, "add_memory", {"agent_response": "no user_input", "user_id": "alice"})
    assert "user_input" in message
    message = await call_error(client, "retrieve_memory", {"query": "x", "max_results": "lots", "user_id": "alice"})
    assert "max_results" in message
    message = await call_error(client, "add_memory", {"user_input": "x\x00y", "agent_response": "ok", "user_id": "alice"})
    assert "NUL" in message  # long text is accepted (tests/core/mcp/test_mcp_text_and_ids.py); a NUL never is
    message = await call_error(client, "retrieve_memory", {"query": "x", "user_id": "../../etc/passwd"})
    assert "user_id" in message
    message = await call_error(client, "delete_memory", {"memory_id": "pg_doesnotexist", "user_id": "alice"})
    assert "pg_doesnotexist" in message
    message = await call_error(client, "add_memory", {"user_input": "x", "agent_response": "y", "timestamp": "someday"})
    assert "timestamp" in message
    message = await call_error(client, "no_such_tool", {})
    assert "no_such_tool" in message
    after = await call(client, "retrieve_memory", query=ALICE_QUERY, user_id="alice")
    assert ALICE[0][0] in [p["user_input"] for p in after["retrieved_pages"]]

    # profile tool keeps the original fields
    profile = await call(client, "get_user_profile", user_id="alice", include_assistant_knowledge=True)
    assert ORIGINAL_PROFILE_FIELDS <= set(profile)
    assert profile["user_id"] == "alice" and isinstance(profile["user_profile"], str)
    assert profile["user_knowledge_count"] == len(profile["user_knowledge"])
    assert profile["assistant_knowledge_count"] == len(profile["assistant_knowledge"])

    # resources
    listed = {str(r.uri) for r in (await client.list_resources()).resources}
    assert "memoryos://status" in listed
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert "memoryos://profile/{user_id}" in templates
    status = await read_json(client, "memoryos://status")
    by_user = {m["user_id"]: m for m in status["memories"]}
    assert by_user["alice"]["tiers"]["short_term"] + by_user["alice"]["tiers"]["mid_term"] == 15
    assert by_user["bob"]["tiers"]["short_term"] == 1
    assert status["totals"]["tiers"]["short_term"] + status["totals"]["tiers"]["mid_term"] >= 16
    assert "pending_jobs" in status["totals"] and status["totals"]["usage"]["embedding_calls"] >= 1
    assert status["server"]["mode"] == "offline" and status["server"]["openai_api_key"] == "not set"
    alice_profile = await read_json(client, "memoryos://profile/alice")
    assert alice_profile["user_id"] == "alice" and "user_knowledge" in alice_profile
    bob_profile = await read_json(client, "memoryos://profile/bob")
    assert "cardamom" not in json.dumps(bob_profile).lower()
    with pytest.raises(MCPError, match="user_id") as bad:
        await client.read_resource("memoryos://profile/-bad-id")
    assert bad.value.error.code == -32602  # invalid params
    assert (await call(client, "list_memories", user_id="bob"))["total"] == 1  # still serving


# -- over stdio ---------------------------------------------------------------------------------

@pytest.mark.timeout(90)
async def test_stdio_subprocess(tmp_path: Path) -> None:
    if not MEMORYOS_BIN.exists():
        pytest.skip(f"{MEMORYOS_BIN} is not installed")
    data = tmp_path / "store"
    params = StdioServerParameters(command=str(MEMORYOS_BIN), args=["mcp", "--data", str(data), "--max-lifetime", "80"],
                                   env=server_env())
    assert "OPENAI_API_KEY" not in params.env
    with open(tmp_path / "stderr.txt", "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=30) as client:
            await exercise(client)
    # the server flushed and closed on disconnect: every page is stored and embedded, no job left open
    tiers = store_counts(data, "alice")
    assert tiers["short_term"] + tiers["mid_term"] == 15
    assert tiers["pending_jobs"] == 0 and tiers["unembedded"] == 0
    assert "stopped, memories closed" in (tmp_path / "stderr.txt").read_text()


# -- over streamable HTTP --------------------------------------------------------------------------

@asynccontextmanager
async def http_server(tmp_path: Path, *extra: str) -> AsyncIterator[tuple[str, subprocess.Popen[str]]]:
    """`memoryos mcp --transport streamable-http` on a free 127.0.0.1 port; stopped (or self-stopping) at the end."""
    if not MEMORYOS_BIN.exists():
        pytest.skip(f"{MEMORYOS_BIN} is not installed")
    errlog = open(tmp_path / "http-stderr.txt", "w+")
    proc = subprocess.Popen(
        [str(MEMORYOS_BIN), "mcp", "--transport", "streamable-http", "--host", "127.0.0.1", "--port", "0",
         "--max-lifetime", "80", *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog, text=True, env=server_env())
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None:
            assert proc.poll() is None, f"server exited: {(tmp_path / 'http-stderr.txt').read_text()}"
            assert time.monotonic() < deadline, "server did not start"
            match = re.search(r"(http://127\.0\.0\.1:\d+/mcp)", (tmp_path / "http-stderr.txt").read_text())
            url = match.group(1) if match else None
            if url is None:
                await asyncio.sleep(0.05)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        errlog.close()


@pytest.mark.timeout(90)
async def test_streamable_http_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:  # a proxy from the environment must never see test traffic
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    data = tmp_path / "store"
    # a short short-term queue: the first exchanges are consolidated to mid-term in the background
    async with http_server(tmp_path, "--data", str(data), "--short-term-capacity", "3") as (url, proc):
        async with Client(url, read_timeout_seconds=30) as client:
            await exercise(client)
            # concurrent calls for several users over one connection
            results = await asyncio.gather(*[
                client.call_tool("add_memory", {"user_input": f"parallel fact {i}", "agent_response": "noted",
                                                "user_id": f"user{i % 4}"}) for i in range(16)])
            assert not any(r.is_error for r in results)
            counts = [(await call(client, "list_memories", user_id=f"user{u}"))["total"] for u in range(4)]
            assert counts == [4, 4, 4, 4]
        # a second connection to the same server sees the same store
        async with Client(url, read_timeout_seconds=30) as client:
            again = await call(client, "list_memories", user_id="alice", limit=1)
            assert again["total"] == 15
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    log = (tmp_path / "http-stderr.txt").read_text()
    assert "stopped, memories closed" in log
    # graceful shutdown left no background work behind
    tiers = store_counts(data, "alice")
    assert tiers["pending_jobs"] == 0 and tiers["mid_term"] >= 8 and tiers["short_term"] + tiers["mid_term"] == 15


@pytest.mark.timeout(60)
async def test_http_server_stops_by_itself(tmp_path: Path) -> None:
    async with http_server(tmp_path, "--data", str(tmp_path / "store"), "--max-lifetime", "2") as (_url, proc):
        assert proc.wait(30) == 0
    log = (tmp_path / "http-stderr.txt").read_text()
    assert "max lifetime reached" in log and "stopped, memories closed" in log


# -- in process: tools and registry -------------------------------------------------------------------

@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return load_settings({"data_storage_path": str(tmp_path / "store")}, env={})


async def test_in_process_scenario(settings: Any) -> None:
    async with Client(create_server(settings)) as client:
        await exercise(client)


async def test_search_delete_forget(settings: Any) -> None:
    server = create_server(settings)
    async with Client(server) as client:
        for said, answered in ALICE[:4]:
            await call(client, "add_memory", user_input=said, agent_response=answered, user_id="carol")
            await call(client, "add_memory", user_input=said, agent_response=answered, user_id="carol",
                       assistant_id="coach")
        await call(client, "add_memory", user_input=BOB[0], agent_response=BOB[1], user_id="dave")

        found = await call(client, "search_memory", query="greyhound dog adoption", limit=2, user_id="carol")
        assert found["count"] == len(found["results"]) <= 2
        top = found["results"][0]
        assert "greyhound" in top["memory"] and top["id"].startswith("pg_") and isinstance(top["timestamp"], str)

        deleted = await call(client, "delete_memory", memory_id=top["id"], user_id="carol")
        assert deleted["memory_id"] == top["id"]
        assert (await call(client, "list_memories", user_id="carol"))["total"] == 3
        assert "greyhound" not in json.dumps(await call(client, "list_memories", user_id="carol"))
        assert (await call(client, "list_memories", user_id="carol", assistant_id="coach"))["total"] == 4
        assert "pg_" in await call_error(client, "delete_memory", {"memory_id": top["id"], "user_id": "carol"})

        short = await call(client, "list_memories", user_id="carol", tier="short", limit=2, offset=1)
        assert short["count"] == 2 and short["total"] == 3
        assert "tier" in await call_error(client, "list_memories", {"tier": "long", "user_id": "carol"})

        profile = await call(client, "get_user_profile", user_id="carol", include_knowledge=False)
        assert profile["user_knowledge"] is None and profile["assistant_knowledge"] is None

        await call(client, "add_memory", user_input="My passport number is X1234567.", agent_response="Noted.",
                   user_id="carol")
        gone = await call(client, "forget", query="my passport number", user_id="carol")
        assert gone["removed"] >= 1 and "X1234567" not in json.dumps(gone) and gone["memory_ids"]
        assert "X1234567" not in json.dumps(await call(client, "list_memories", user_id="carol"))
        assert "nothing to forget" in await call_error(client, "forget", {"query": "it", "user_id": "carol"})

        forgotten = await call(client, "forget_user", user_id="carol")
        assert forgotten["user_id"] == "carol"
        for assistant in ("default_assistant", "coach"):  # every assistant's memory of carol is gone
            assert (await call(client, "list_memories", user_id="carol", assistant_id=assistant))["total"] == 0
        assert (await call(client, "list_memories", user_id="dave"))["total"] == 1  # others untouched
        # carol can start over on the same server
        await call(client, "add_memory", user_input="A fresh start.", agent_response="Welcome back.", user_id="carol")
        assert (await call(client, "list_memories", user_id="carol"))["total"] == 1
        profile_doc = await read_json(client, "memoryos://profile/carol/coach")
        assert profile_doc["assistant_id"] == "coach" and profile_doc["user_knowledge"] == []


async def test_shutdown_flushes_background_work(tmp_path: Path) -> None:
    settings = load_settings({"data_storage_path": str(tmp_path / "store"), "short_term_capacity": 2,
                              "flush_timeout": 30}, env={})
    registry = MemoryRegistry(settings, memory_kwargs={"embedder": SlowEmbedder()})
    server = create_server(settings, registry=registry)
    async with Client(server) as client:
        for i, (said, answered) in enumerate(ALICE):
            await call(client, "add_memory", user_input=said, agent_response=answered, timestamp=1_750_000_000 + 60 * i)
        before = store_counts(tmp_path / "store", "default_user")
        assert before["pending_jobs"] >= 1 and before["mid_term"] == 0  # consolidation has not run yet
    # leaving the client ended the server's lifespan: the registry flushed the job, then closed everything
    assert registry._store is None and not registry._entries
    after = store_counts(tmp_path / "store", "default_user")
    assert after["pending_jobs"] == 0 and after["unembedded"] == 0 and after["mid_term"] >= 8


def test_registry_threads_eviction_and_isolation(tmp_path: Path) -> None:
    settings = load_settings({"data_storage_path": str(tmp_path / "store"), "max_open_memories": 3}, env={})
    registry = MemoryRegistry(settings)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(4):
                with registry.open(f"user{n}") as memory:
                    memory.add_memory(f"user{n} note {i}", "ok")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(registry._entries) <= 3  # least recently used memories were closed
    for n in range(6):
        with registry.open(f"user{n}") as memory:
            texts = [p.user_input for p in memory.list_memories()]
            assert texts == [f"user{n} note {i}" for i in range(4)]
    registry.close()
    with pytest.raises(Exception, match="shutting down"):
        with registry.open("user0"):
            pass


# -- configuration ---------------------------------------------------------------------------

def test_settings_precedence_and_original_config(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "user_id": "file_user", "openai_api_key": "", "openai_base_url": "", "data_storage_path": "memdata",
        "assistant_id": "file_assistant", "llm_model": "gpt-4o-mini", "short_term_capacity": 7,
        "mid_term_capacity": 500, "mid_term_heat_threshold": 3.5, "retrieval_queue_capacity": 5,
        "long_term_knowledge_capacity": 50, "embedding_model_name": "all-MiniLM-L6-v2", "legacy_key": 1,
    }))
    s = load_settings({}, env={}, config_file=str(config))
    assert (s.user_id, s.assistant_id, s.short_term_capacity, s.mid_term_heat_threshold) == ("file_user", "file_assistant", 7, 3.5)
    assert s.data_storage_path == str(tmp_path / "memdata")  # relative to the config file
    assert s.openai_api_key is None and s.public()["mode"] == "offline"  # empty key: offline
    assert s.memory_kwargs()["embedding_model_name"] is None  # the original default name means the local model
    assert "legacy_key" in caplog.text

    env = {"MEMORYOS_USER_ID": "env_user", "MEMORYOS_SHORT_TERM_CAPACITY": "4", "OPENAI_API_KEY": "sk-test",
           "MEMORYOS_DATA": str(tmp_path / "envdata"), "MEMORYOS_CONFIG": str(config)}
    s = load_settings({"short_term_capacity": 12, "transport": "streamable-http", "port": 0}, env=env)
    assert s.user_id == "env_user" and s.assistant_id == "file_assistant"  # env over file
    assert s.short_term_capacity == 12 and s.sources["short_term_capacity"] == "flag"  # flag over env
    assert s.data_storage_path == str(tmp_path / "envdata")
    assert s.openai_api_key == "sk-test" and s.public()["openai_api_key"] == "set"
    assert "sk-test" not in json.dumps(s.public())
    assert s.sources["user_id"] == "environment MEMORYOS_USER_ID"

    defaults = load_settings({}, env={})
    assert defaults.transport == "stdio" and defaults.host == "127.0.0.1" and defaults.openai_api_key is None


@pytest.mark.parametrize("flags, env, message", [
    ({"short_term_capacity": 0}, {}, "short_term_capacity"),
    ({}, {"MEMORYOS_MID_TERM_CAPACITY": "lots"}, "MEMORYOS_MID_TERM_CAPACITY"),
    ({"user_id": " no leading spaces"}, {}, "user_id"),
    ({"transport": "carrier-pigeon"}, {}, "transport"),
    ({"port": 70000}, {}, "port"),
])
def test_settings_errors(flags: dict[str, Any], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(flags, env=env)


def test_config_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_settings({}, env={}, config_file=str(bad))
    bad.write_text(json.dumps({"short_term_capacity": "ten"}))
    with pytest.raises(ConfigError, match="short_term_capacity"):
        load_settings({}, env={}, config_file=str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({}, env={}, config_file=str(tmp_path / "missing.json"))


def test_cli_works_without_the_mcp_extra(tmp_path: Path) -> None:
    """The module imports `mcp` lazily: the parser is built and a clear error is given without it."""
    code = (
        "import sys; sys.modules['mcp'] = None\n"
        "from memoryos_core.cli import build_parser, main\n"
        "import memoryos_core.mcp\n"
        "args = build_parser().parse_args(['mcp', '--data', sys.argv[1], '--port', '9'])\n"
        "assert args.data_storage_path == sys.argv[1] and args.port == 9\n"
        "sys.exit(main(['mcp', '--data', sys.argv[1]]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60,
                          env=server_env())
    assert done.returncode == 2, done.stderr
    assert "memoryos-kit[mcp]" in done.stderr

    bad = subprocess.run([sys.executable, "-m", "memoryos_core.cli", "mcp", "--data", str(tmp_path),
                          "--short-term-capacity", "0"], capture_output=True, text=True, timeout=60, env=server_env())
    assert bad.returncode == 2 and "short_term_capacity" in bad.stderr
