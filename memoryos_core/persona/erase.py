"""Finding everything a request to forget names, in every tier, as one plan for the store.

The matching rules live in :mod:`.forget`; this module walks the user's pages (with a vector
search so that close paraphrases count), knowledge, profile and segment summaries, and returns
what the store must erase in one transaction (``Store.forget``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..index import IndexCache
from ..policy import ExactValue, HeatParams
from ..text_limits import PiecewiseEmbedder
from ..storage.base import Store
from ..types import ForgetResult, render_page_text
from ..words import search_terms
from .forget import matches, scrub_summary, without_requests

_PAGE_CHUNK = 1000
_NEAR_PAGES = 50


@dataclass
class ErasePlan:
    """What ``Store.forget`` is handed: the ids to delete, profile changes, rewritten summaries."""

    result: ForgetResult
    profile_changes: dict[str, Any] = field(default_factory=dict)
    segments: list[tuple[str, str, list[str]]] = field(default_factory=list)


def plan_erase(store: Store, indexes: IndexCache, embedder: PiecewiseEmbedder, scope: int, heat: HeatParams,
               subject: str, wanted: set[str]) -> ErasePlan:
    """Every page, fact, profile value and segment summary of ``scope`` that names ``wanted``."""
    qvec = embedder.embed([subject], purpose="query")[0]
    indexes.sync(scope)
    scores = dict(indexes.search(scope, "pages", qvec, _NEAR_PAGES))
    close = {row.page.id: scores[row.rid] for row in store.pages_by_rids(scope, list(scores))}
    page_ids, segment_texts = _matching_pages(store, scope, wanted, close)
    fact_ids = [row.fact.id for row in store.facts(scope, None, active_only=False) if matches(wanted, row.fact.text)]
    profile_changes = _profile_changes(store.profile(scope).fields, wanted)
    segments = _rewritten_summaries(store, scope, heat, wanted, segment_texts, set(page_ids))
    result = ForgetResult(subject=subject, page_ids=page_ids, fact_ids=fact_ids, profile_fields=sorted(profile_changes))
    return ErasePlan(result, profile_changes, segments)


def _matching_pages(store: Store, scope: int, wanted: set[str],
                    close: dict[str, float]) -> tuple[list[str], dict[str, list[str]]]:
    page_ids: list[str] = []
    segment_texts: dict[str, list[str]] = {}
    offset = 0
    while True:
        chunk = store.list_pages(scope, tier=None, limit=_PAGE_CHUNK, offset=offset)
        for page in chunk:
            text = render_page_text(without_requests(page.user_input), page.agent_response)
            if matches(wanted, text, close.get(page.id)):
                page_ids.append(page.id)
                if page.segment_id:
                    segment_texts.setdefault(page.segment_id, []).append(text)
        if len(chunk) < _PAGE_CHUNK:
            return page_ids, segment_texts
        offset += _PAGE_CHUNK


def _profile_changes(fields: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, list):
            kept = [v for v in value if not matches(wanted, str(v))]
            if len(kept) != len(value):
                changes[key] = ExactValue(kept) if kept else None
        elif matches(wanted, f"{key} {value}"):
            changes[key] = None
    return changes


def _rewritten_summaries(store: Store, scope: int, heat: HeatParams, wanted: set[str],
                         segment_texts: dict[str, list[str]], erased: set[str]) -> list[tuple[str, str, list[str]]]:
    """Summaries and keywords of the segments that held erased pages, with the words only those pages
    used taken out (words the segment's remaining pages also use stay)."""
    rewritten: list[tuple[str, str, list[str]]] = []
    if not segment_texts:
        return rewritten
    for row in store.list_segments(scope, heat, include_archived=True):
        if row.segment.id not in segment_texts:
            continue
        secret = set(search_terms(" ".join(segment_texts[row.segment.id])))
        rest = store.pages_of_segments(scope, [row.rid])
        secret -= set(search_terms(" ".join(p.page.text for p in rest if p.page.id not in erased)))
        summary, keywords = scrub_summary(row.segment.summary, row.segment.keywords, wanted, secret)
        rewritten.append((row.segment.id, summary, keywords))
    return rewritten
