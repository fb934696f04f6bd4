"""The MCP server with long text, ids of any script, and user messages stored alone.

A 60,000-character turn is stored (whole) and a 60,000-character query retrieves it; a turn past
the stored limit is kept with a visible clip marker; "José", "用户" and "alice smith" are usable ids
in tools and in resource URIs (percent-encoded, as the status resource hands them out); add_memory
takes a user message without an agent response.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("mcp")

from mcp import Client, MCPError  # noqa: E402

from memoryos_core import HashingEmbedder  # noqa: E402
from memoryos_core.mcp import MemoryRegistry, create_server, load_settings  # noqa: E402

# A long document with a distinctive passage in its middle.
FILLER = "The quarterly report covers revenue, staffing and the roadmap for the coming year. "
PUFFINS = "The lighthouse keeper on Skerry Island feeds three puffins every morning. "
DOCUMENT = (FILLER * 400)[:30_000] + PUFFINS + (FILLER * 400)[:30_000 - len(PUFFINS)]
LONG_TURN = "Summarise this: " + DOCUMENT
UNICODE_IDS = ["José", "用户", "alice smith"]


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool} failed: {result.content[0].text if result.content else result}"
    assert isinstance(result.structured_content, dict) and result.structured_content["status"] == "success"
    return result.structured_content


async def call_error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool}({arguments}) should have failed: {result.structured_content}"
    return result.content[0].text


async def read_json(client: Client, uri: str) -> dict[str, Any]:
    result = await client.read_resource(uri)
    return json.loads(result.contents[0].text)


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return load_settings({"data_storage_path": str(tmp_path / "store")}, env={})


async def test_long_turn_is_stored_and_a_long_query_retrieves_it(settings: Any) -> None:
    assert len(LONG_TURN) == 60_016
    async with Client(create_server(settings)) as client:  # the default local MiniLM embedder
        for said, answered in [("I like hiking in the Alps.", "Nice."), ("My cat is called Miso.", "Cute.")]:
            await call(client, "add_memory", user_input=said, agent_response=answered)
        added = await call(client, "add_memory", user_input=LONG_TURN, agent_response="Here is a summary.")
        assert added["details"]["user_input_length"] == 60_016 and added["details"]["clipped"] is False
        listed = await call(client, "list_memories")
        stored = next(m for m in listed["memories"] if m["id"] == added["details"]["memory_id"])
        assert stored["user_input"] == LONG_TURN  # whole: 60,016 characters is under the stored limit

        found = await call(client, "retrieve_memory", query=LONG_TURN)
        assert len(found["query"]) <= 4_000 and found["query"].startswith("Summarise this: ")
        pages = [p["user_input"] for p in found["retrieved_pages"]] + [p["user_input"] for p in found["short_term_memory"]]
        assert LONG_TURN in pages
        searched = await call(client, "search_memory", query=LONG_TURN, limit=3)
        assert searched["results"][0]["id"] == added["details"]["memory_id"]
        puffins = await call(client, "search_memory", query="puffins fed by the lighthouse keeper", limit=3)
        assert added["details"]["memory_id"] in [r["id"] for r in puffins["results"]]


async def test_turn_past_the_limit_is_clipped_with_a_marker(tmp_path: Path) -> None:
    settings = load_settings({"data_storage_path": str(tmp_path / "store")}, env={})
    registry = MemoryRegistry(settings, memory_kwargs={"embedder": HashingEmbedder(64)})
    huge = "Summarise this: " + "abcd efgh " * 25_000 + "What is the last word? zebra"
    async with Client(create_server(settings, registry=registry)) as client:
        added = await call(client, "add_memory", user_input=huge)
        assert added["details"]["clipped"] is True and added["details"]["user_input_length"] <= 200_000
        page = (await call(client, "list_memories"))["memories"][0]
        kept = page["user_input"]
        assert kept.startswith("Summarise this: ") and kept.endswith("What is the last word? zebra")
        assert "characters clipped ...]" in kept and len(kept) <= 200_000


async def test_add_memory_without_agent_response(settings: Any) -> None:
    async with Client(create_server(settings)) as client:
        added = await call(client, "add_memory", user_input="Note: the user's passport expires in March 2027.")
        assert added["details"]["agent_response_length"] == 0
        page = (await call(client, "list_memories"))["memories"][0]
        assert page["user_input"].startswith("Note: the user's passport") and page["agent_response"] == ""
        found = await call(client, "search_memory", query="When does the passport expire?")
        assert found["results"][0]["id"] == added["details"]["memory_id"]
        assert "nothing to remember" in await call_error(client, "add_memory", {"user_input": "  "})


async def test_ids_of_any_script_round_trip_through_tools_and_resource_uris(tmp_path: Path) -> None:
    settings = load_settings({"data_storage_path": str(tmp_path / "store")}, env={})
    registry = MemoryRegistry(settings, memory_kwargs={"embedder": HashingEmbedder(64)})
    async with Client(create_server(settings, registry=registry)) as client:
        for uid in UNICODE_IDS:
            added = await call(client, "add_memory", user_input=f"I am {uid} and I grow tomatoes.",
                               agent_response="Noted.", user_id=uid, assistant_id="助手 一")
            assert added["details"]["user_id"] == uid and added["details"]["assistant_id"] == "助手 一"
        for uid in UNICODE_IDS:  # isolation: each sees its own page only
            listed = await call(client, "list_memories", user_id=uid, assistant_id="助手 一")
            assert [m["user_input"] for m in listed["memories"]] == [f"I am {uid} and I grow tomatoes."]
            document = await read_json(client, f"memoryos://profile/{quote(uid, safe='')}")
            assert document["user_id"] == uid and document["assistant_id"] == "default_assistant"
            document = await read_json(client, f"memoryos://profile/{quote(uid, safe='')}/{quote('助手 一', safe='')}")
            assert (document["user_id"], document["assistant_id"]) == (uid, "助手 一")

        status = await read_json(client, "memoryos://status")
        uris = {(m["user_id"], m["assistant_id"]): m["profile_uri"] for m in status["memories"]}
        for uid in UNICODE_IDS:
            uri = uris[(uid, "助手 一")]
            assert uri.isascii()
            document = await read_json(client, uri)
            assert (document["user_id"], document["assistant_id"]) == (uid, "助手 一")

        # decomposed "José" (e + combining accent) is the same user as the composed one
        decomposed = "Jose\u0301"
        listed = await call(client, "list_memories", user_id=decomposed, assistant_id="助手 一")
        assert listed["user_id"] == "José" and listed["total"] == 1

        for bad in ["bell\x07", "nul\x00x", " leading", "trailing ", "tab\there", "new\nline", "x" * 129, "a/b"]:
            assert "user_id" in await call_error(client, "list_memories", {"user_id": bad})
        for bad in ["trailing%20", "a%2Fb", "%E2%80%8Bzero-width"]:
            with pytest.raises(MCPError, match="user_id") as raised:
                await client.read_resource(f"memoryos://profile/{bad}")
            assert raised.value.error.code == -32602
