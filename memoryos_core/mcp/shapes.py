"""JSON shapes of the tool results: the original MemoryOS MCP server's field names, plain JSON types."""

import math
import time
from typing import Any, Optional
from urllib.parse import quote

from ..times import to_datetime
from ..types import Fact, Page, Profile, ScoredFact, ScoredPage

NO_PROFILE = "No detailed user profile"


def format_ts(epoch: Optional[float]) -> Optional[str]:
    """Conversation time as the original server wrote it: ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if epoch is None:
        return None
    return to_datetime(epoch).strftime("%Y-%m-%d %H:%M:%S")


def now_ts() -> str:
    return format_ts(time.time()) or ""


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays, tuples, sets and dataclass leftovers converted."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return jsonable(value.tolist())
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)


def profile_text(profile: Profile) -> str:
    return profile.render() or NO_PROFILE


def page_item(page: Page) -> dict[str, Any]:
    return {"id": page.id, "user_input": page.user_input, "agent_response": page.agent_response,
            "timestamp": format_ts(page.timestamp), "tier": page.tier, "segment_id": page.segment_id,
            "meta_data": jsonable(page.meta), "created_at": format_ts(page.created_at)}


def fact_item(fact: Fact, score: Optional[float] = None) -> dict[str, Any]:
    item: dict[str, Any] = {"knowledge": fact.text, "timestamp": format_ts(fact.refers_to if fact.refers_to is not None else fact.created_at),
            "id": fact.id, "source": fact.source}
    if score is not None:
        item["score"] = round(float(score), 4)
    return item


def retrieved_page_item(sp: ScoredPage) -> dict[str, Any]:
    page = sp.page
    return {"user_input": page.user_input, "agent_response": page.agent_response,
            "timestamp": format_ts(page.timestamp), "meta_info": sp.segment_summary or "",
            "id": page.id, "score": round(float(sp.score), 4), "tier": page.tier, "segment_id": sp.segment_id,
            "meta_data": jsonable(page.meta)}


def scored_fact_items(facts: list[ScoredFact], limit: int) -> list[dict[str, Any]]:
    return [fact_item(sf.fact, sf.score) for sf in facts[:limit]]


def search_item(result: dict[str, Any]) -> dict[str, Any]:
    item = jsonable(result)
    for key in ("timestamp", "created_at"):
        if isinstance(result.get(key), (int, float)):
            item[key] = format_ts(result[key])
    if isinstance(item.get("score"), float):
        item["score"] = round(item["score"], 4)
    return item


def profile_uri(user_id: str, assistant_id: str) -> str:
    """The profile resource of a memory; ids are percent-encoded (UTF-8), so any valid id round-trips."""
    return f"memoryos://profile/{quote(user_id, safe='')}/{quote(assistant_id, safe='')}"
