"""The MCP tools and resources of ``memoryos mcp``, each over the memory of the user it names.

Tools keep the names, arguments and result fields of the original MemoryOS MCP server
(``add_memory``, ``retrieve_memory``, ``get_user_profile``) and add ``search_memory``,
``list_memories``, ``delete_memory``, ``forget`` and ``forget_user``. Resources: ``memoryos://status`` and
``memoryos://profile/{user_id}`` (``memoryos://profile/{user_id}/{assistant_id}``), ids
percent-encoded (``memoryos://profile/Jos%C3%A9``).

Imports the ``mcp`` extra: only ``create_server`` imports this module.
"""

import contextlib
import json
from typing import Annotated, Any, Callable, Iterator, Literal, Optional

from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ToolAnnotations
from pydantic import Field

from ..errors import InvalidInputError, MemoryOSError
from .registry import MemoryRegistry
from .shapes import (
    fact_item,
    format_ts,
    jsonable,
    now_ts,
    page_item,
    profile_text,
    retrieved_page_item,
    scored_fact_items,
    search_item,
)

INSTRUCTIONS = """\
Long-term memory for this conversation partner (MemoryOS).
- After each exchange worth remembering call add_memory(user_input, agent_response).
- Before answering something that may depend on the past call retrieve_memory(query): it returns
  the user profile, relevant past exchanges, known facts and a ready-to-use `context` text.
- search_memory / list_memories / delete_memory manage individual memories (ids pg_... / ft_...);
  forget_user erases everything stored about the user.
Every tool takes an optional user_id (and assistant_id); memories of different users are isolated.
"""

UserId = Annotated[Optional[str], Field(
    description="Whose memory. Defaults to the server's configured user. Each user_id is a separate, isolated memory.",
    max_length=128)]
AssistantId = Annotated[Optional[str], Field(
    description="Which assistant's memory of the user. Defaults to the server's configured assistant.",
    max_length=128)]


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Anticipated failures become MCP tool errors carrying the library's message."""
    try:
        yield
    except MemoryOSError as exc:
        raise ToolError(str(exc)) from exc


def _resource_errors(func: Callable[[], Any]) -> Any:
    try:
        return func()
    except InvalidInputError as exc:  # a bad id in the URI: the caller's mistake
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
    except MemoryOSError as exc:
        raise ResourceError(str(exc)) from exc


class MemoryTools:
    """What the server offers, as methods over a :class:`MemoryRegistry` (``register`` publishes them)."""

    def __init__(self, registry: MemoryRegistry) -> None:
        self.registry = registry

    def add_memory(
        self,
        user_input: Annotated[str, Field(description=(
            "What the user said in this exchange (or a note, a transcript). Stored whole up to 200,000 "
            "characters; beyond that the middle is replaced by a '[... N characters clipped ...]' marker."))],
        agent_response: Annotated[str, Field(description=(
            "What the assistant answered. Optional: leave it out to store the user's message alone."))] = "",
        timestamp: Annotated[Optional[str | float], Field(
            description="Conversation time of the exchange: 'YYYY-MM-DD HH:MM:SS', ISO 8601 or epoch seconds "
                        "(UTC when no zone is given). Defaults to now.")] = None,
        meta_data: Annotated[Optional[dict[str, Any]], Field(
            description="Optional JSON object stored with the exchange.")] = None,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Remember one exchange (user input + assistant response), or a user message alone. Returns once it
        is stored durably; grouping into topics and profile/knowledge updates run in the background."""
        with _tool_errors(), self.registry.open(user_id, assistant_id) as memory:
            page = memory.add_memory(user_input, agent_response, timestamp=timestamp, meta_data=meta_data)
            return {
                "status": "success",
                "message": "Memory has been successfully added to MemoryOS",
                "timestamp": format_ts(page.timestamp),
                "details": {
                    "memory_id": page.id,
                    "user_id": memory.user_id,
                    "assistant_id": memory.assistant_id,
                    "user_input_length": len(page.user_input),
                    "agent_response_length": len(page.agent_response),
                    "clipped": (len(page.user_input), len(page.agent_response)) != (len(user_input), len(agent_response)),
                    "has_meta_data": bool(meta_data),
                    "tier": page.tier,
                    "memory_processing": "stored in short-term memory; consolidation runs in the background",
                },
            }

    def retrieve_memory(
        self,
        query: Annotated[str, Field(description=(
            "What to look for: a question or topic. A long query is searched by its first and last few "
            "thousand characters."))],
        relationship_with_user: Annotated[str, Field(
            description="Accepted for compatibility with the original server (e.g. friend, assistant).",
            max_length=200)] = "friend",
        style_hint: Annotated[str, Field(
            description="Accepted for compatibility with the original server.", max_length=2000)] = "",
        max_results: Annotated[int, Field(description="Largest number of pages and of knowledge entries returned.",
                                          ge=1, le=100)] = 10,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Retrieve what memory knows about `query`: the user profile, the recent exchanges, relevant past
        exchanges (retrieved_pages), user and assistant knowledge, and `context`, a token-budgeted text
        summarising it all, ready to put in a prompt."""
        with _tool_errors(), self.registry.open(user_id, assistant_id) as memory:
            top_k = max(max_results, memory.config.retrieval_queue_capacity)
            result = memory.retrieve(query, top_k=top_k)
            pages = result.mid_term
            short = [{"user_input": p.user_input, "agent_response": p.agent_response,
                      "timestamp": format_ts(p.timestamp), "id": p.id, "meta_data": jsonable(p.meta)}
                     for p in result.short_term]
            return {
                "status": "success",
                "query": result.query,
                "timestamp": now_ts(),
                "user_id": memory.user_id,
                "assistant_id": memory.assistant_id,
                "user_profile": profile_text(result.profile),
                "user_profile_fields": jsonable(result.profile.fields),
                "short_term_memory": short,
                "short_term_count": len(short),
                "retrieved_pages": [retrieved_page_item(sp) for sp in pages[:max_results]],
                "retrieved_user_knowledge": scored_fact_items(result.user_knowledge, max_results),
                "retrieved_assistant_knowledge": scored_fact_items(result.assistant_knowledge, max_results),
                "total_pages_found": len(pages),
                "total_user_knowledge_found": len(result.user_knowledge),
                "total_assistant_knowledge_found": len(result.assistant_knowledge),
                "context": result.context,
                "context_tokens": result.context_tokens,
            }

    def get_user_profile(
        self,
        include_knowledge: Annotated[bool, Field(description="Include the user knowledge entries.")] = True,
        include_assistant_knowledge: Annotated[bool, Field(
            description="Include the assistant knowledge entries.")] = False,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """The user's profile (built from the conversation) and, optionally, what is known about the user and
        the assistant. Knowledge fields not asked for are null."""
        with _tool_errors(), self.registry.open(user_id, assistant_id) as memory:
            profile = memory.get_user_profile()
            user = [fact_item(f) for f in memory.get_user_knowledge()] if include_knowledge else None
            assistant = [fact_item(f) for f in memory.get_assistant_knowledge()] if include_assistant_knowledge else None
            return {
                "status": "success",
                "timestamp": now_ts(),
                "user_id": memory.user_id,
                "assistant_id": memory.assistant_id,
                "user_profile": profile_text(profile),
                "user_profile_fields": jsonable(profile.fields),
                "user_knowledge": user,
                "user_knowledge_count": None if user is None else len(user),
                "assistant_knowledge": assistant,
                "assistant_knowledge_count": None if assistant is None else len(assistant),
            }

    def search_memory(
        self,
        query: Annotated[str, Field(description="What to look for.")],
        limit: Annotated[int, Field(description="Largest number of results.", ge=1, le=100)] = 10,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Search every stored exchange (all tiers) and knowledge entry, ranked by relevance. Results carry
        ids usable with delete_memory. Unlike retrieve_memory it does not count as a visit."""
        with _tool_errors(), self.registry.open(user_id, assistant_id) as memory:
            found = memory.search(query, limit=limit)
            results = [search_item(r) for r in found["results"]]
            return {"status": "success", "query": query, "user_id": memory.user_id,
                    "assistant_id": memory.assistant_id, "count": len(results), "results": results}

    def list_memories(
        self,
        tier: Annotated[Optional[Literal["short", "mid", "archived"]], Field(
            description="Only this tier: short (recent), mid (consolidated) or archived. Default: all.")] = None,
        limit: Annotated[int, Field(description="Page size.", ge=1, le=1000)] = 100,
        offset: Annotated[int, Field(description="How many to skip (conversation order).", ge=0)] = 0,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """List stored exchanges in conversation order, with their ids, tier and time."""
        with _tool_errors(), self.registry.open(user_id, assistant_id) as memory:
            pages = memory.list_memories(tier=tier, limit=limit, offset=offset)
            counts = memory.stats()["tiers"]
            names = {"short": "short_term", "mid": "mid_term", "archived": "archived"}
            total = counts.get(names[tier], 0) if tier else sum(counts.get(n, 0) for n in names.values())
            return {"status": "success", "user_id": memory.user_id, "assistant_id": memory.assistant_id,
                    "tier": tier, "limit": limit, "offset": offset, "total": int(total), "count": len(pages),
                    "memories": [page_item(p) for p in pages]}

    def delete_memory(
        self,
        memory_id: Annotated[str, Field(description="Id of an exchange (pg_...) or a knowledge entry (ft_...).",
                                        min_length=1, max_length=200)],
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Delete one stored exchange (with the knowledge drawn only from it) or one knowledge entry."""
        with _tool_errors(), self.registry.open(user_id, assistant_id) as memory:
            memory.delete(memory_id)
            return {"status": "success", "message": f"deleted {memory_id}", "memory_id": memory_id,
                    "user_id": memory.user_id, "assistant_id": memory.assistant_id}

    def forget(
        self,
        query: Annotated[str, Field(description="What to forget, e.g. 'my passport number', or the user's own "
                                                "request such as 'please forget my passport number'.",
                                    min_length=1, max_length=2000)],
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Forget what the user asked to forget: the exchanges and knowledge that mention it leave every tier,
        the profile and the history's text; the answer says how much went, never the forgotten text."""
        with _tool_errors(), self.registry.open(user_id, assistant_id) as memory:
            result = memory.forget(query)
            return {"status": "success", "message": result.summary(), "removed": result.removed,
                    "memory_ids": result.page_ids + result.fact_ids, "profile_fields": result.profile_fields,
                    "user_id": memory.user_id, "assistant_id": memory.assistant_id}

    def forget_user(self, user_id: UserId = None, assistant_id: AssistantId = None) -> dict[str, Any]:
        """Erase everything stored about the user, for every assistant: exchanges, knowledge, profile,
        history. Cannot be undone."""
        with _tool_errors():
            uid, aid = self.registry.forget_user(user_id, assistant_id)
        return {"status": "success", "message": f"all memories of user {uid} were deleted", "user_id": uid,
                "assistant_id": aid, "timestamp": now_ts()}

    def status_resource(self) -> str:
        return json.dumps(_resource_errors(self.registry.status), ensure_ascii=False, indent=2)

    def profile_document(self, user_id: str, assistant_id: Optional[str]) -> str:
        def read() -> dict[str, Any]:
            with self.registry.open(user_id, assistant_id) as memory:
                profile = memory.get_user_profile()
                return {"user_id": memory.user_id, "assistant_id": memory.assistant_id,
                        "user_profile": profile_text(profile), "user_profile_fields": jsonable(profile.fields),
                        "updated_at": format_ts(profile.updated_at),
                        "user_knowledge": [fact_item(f) for f in memory.get_user_knowledge()],
                        "assistant_knowledge": [fact_item(f) for f in memory.get_assistant_knowledge()]}

        return json.dumps(_resource_errors(read), ensure_ascii=False, indent=2)

    def profile_resource(self, user_id: str) -> str:
        return self.profile_document(user_id, None)

    def profile_for_assistant_resource(self, user_id: str, assistant_id: str) -> str:
        return self.profile_document(user_id, assistant_id)


def register(server: Any, tools: MemoryTools) -> None:
    """Publish the tools (with their behaviour hints) and resources of ``tools`` on ``server``."""
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    visits = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
    erases = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
    for method, annotations in ((tools.add_memory, writes), (tools.retrieve_memory, visits),
                                (tools.get_user_profile, read_only), (tools.search_memory, read_only),
                                (tools.list_memories, read_only), (tools.delete_memory, erases),
                                (tools.forget, erases), (tools.forget_user, erases)):
        server.tool(annotations=annotations)(method)
    server.resource("memoryos://status", name="status", title="MemoryOS status", mime_type="application/json",
                    description="Counts per tier, pending jobs and LLM/embedding call statistics of the open memories."
                    )(tools.status_resource)
    server.resource("memoryos://profile/{user_id}", name="profile", title="User profile", mime_type="application/json",
                    description="Profile and knowledge of a user, with the server's default assistant. "
                                "Percent-encode the id (UTF-8): memoryos://profile/alice%20smith."
                    )(tools.profile_resource)
    server.resource("memoryos://profile/{user_id}/{assistant_id}", name="profile_for_assistant",
                    title="User profile for an assistant", mime_type="application/json",
                    description="Profile and knowledge of a user, as seen by one assistant."
                    )(tools.profile_for_assistant_resource)
