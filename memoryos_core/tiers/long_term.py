"""Long-term persona: profile, user knowledge and assistant knowledge, updated from hot segments.

Candidates come from one LLM call (extraction and reconciliation against related existing facts
in the same answer) or, offline, from rule-based extractors. Every candidate then passes the same
reconciliation: near-duplicates (by embedding) are dropped, a fact for an exclusive slot
(location, occupation, ...) supersedes the older one, and every change lands in the history table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..config import MemoryConfig
from ..extractors import extract_assistant_facts, extract_user_facts
from ..index import IndexCache
from ..providers.metered import MeteredChatModel, MeteredEmbedder
from ..policy import Policy
from ..prompts import PersonaOut, persona_messages
from ..storage.base import FactRow, FactWrite, Job, PageRow

from ..storage.base import Store
from ..structured import call_structured
from ..types import FactKind

log = logging.getLogger("memoryos.persona")

LIST_FIELDS = frozenset({"likes", "dislikes", "family", "pets", "hobbies", "goals"})
PAGES_PER_PASS = 40


@dataclass
class Candidate:
    """A fact proposed by the model or the extractors, before reconciliation."""

    kind: str
    text: str
    refers_to: float | None
    source_pages: list[str]
    source: str
    slot: str | None = None
    op: str = "add"
    target: FactRow | None = None


@dataclass
class PersonaPlan:
    candidates: list[Candidate] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)


def _parse_day(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.strptime(value.strip()[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


class PersonaUpdater:
    def __init__(self, store: Store, indexes: IndexCache, embedder: MeteredEmbedder, llm: MeteredChatModel | None,
                 config: MemoryConfig, policy: Policy) -> None:
        self.store, self.indexes, self.embedder, self.llm = store, indexes, embedder, llm
        self.config, self.policy = config, policy

    def run(self, scope_id: int, job: Job, owner: str) -> None:
        pages = self.store.persona_batch(scope_id, self.policy.heat, PAGES_PER_PASS)
        if not pages:
            self.store.finish_job(job, owner)
            return
        existing = {kind: self.store.facts(scope_id, kind) for kind in ("user", "assistant")}
        plan = self._plan_llm(scope_id, pages, existing) if self.llm is not None else self._plan_heuristic(pages)
        writes = self.reconcile(plan.candidates, existing)
        self.store.apply_persona(scope_id, job, owner, page_rids=[p.rid for p in pages], fact_writes=writes,
                                 profile_changes=plan.profile, policy=self.policy)

    # -- candidates ----------------------------------------------------------------------

    @staticmethod
    def _plan_heuristic(pages: list[PageRow]) -> PersonaPlan:
        plan = PersonaPlan()
        for row in pages:
            page = row.page
            for kind, facts in (("user", extract_user_facts(page.user_input)),
                                ("assistant", extract_assistant_facts(page.agent_response))):
                for f in facts:
                    plan.candidates.append(Candidate(kind=kind, text=f.text, refers_to=page.timestamp,
                                                     source_pages=[page.id], source="heuristic", slot=f.slot))
                    if kind == "user" and f.profile_field and f.profile_value:
                        _merge_field(plan.profile, f.profile_field, f.profile_value)
        return plan

    def _plan_llm(self, scope_id: int, pages: list[PageRow], existing: dict[str, list[FactRow]]) -> PersonaPlan:
        related = self._related(pages, existing)
        by_id = {f.fact.id: f for f in related}
        profile = self.store.profile(scope_id)
        messages = persona_messages([(p.page.timestamp, p.page.text) for p in pages],
                                    [(f.fact.id, f.fact.kind, f.fact.text) for f in related], profile.render())
        out: PersonaOut = call_structured(self.llm, messages, PersonaOut, purpose="persona")
        latest = max(p.page.timestamp for p in pages)
        source_ids = [p.page.id for p in pages]
        plan = PersonaPlan()
        for change in out.profile:
            key = change.field.strip().lower().replace(" ", "_")[:64]
            if not key:
                continue
            if change.value is None:
                plan.profile[key] = None
            elif key in LIST_FIELDS:
                for item in change.value if isinstance(change.value, list) else [change.value]:
                    _merge_field(plan.profile, key, str(item))
            else:
                plan.profile[key] = change.value if isinstance(change.value, str) else ", ".join(change.value)
        for op in out.facts:
            if op.op == "none":
                continue
            # Only an update or a delete names a fact to change; an "add" that carries an id (small models
            # do this) is a new candidate, checked against every active fact like any other.
            target = by_id.get(op.id or "") if op.op in ("update", "delete") else None
            if op.op in ("update", "delete") and target is None:
                if op.op == "delete" or not op.text.strip():
                    continue  # names a fact we did not show: ignore rather than guess
                op.op = "add"
            plan.candidates.append(Candidate(kind=target.fact.kind if target else op.about, text=op.text.strip(),
                                             refers_to=_parse_day(op.time) or latest, source_pages=source_ids,
                                             source="llm", op=op.op, target=target))
        return plan

    def _related(self, pages: list[PageRow], existing: dict[str, list[FactRow]], limit: int = 30) -> list[FactRow]:
        facts = existing["user"] + existing["assistant"]
        if len(facts) <= limit:
            return facts
        vectors = [p.embedding for p in pages if p.embedding is not None]
        if not vectors:
            return facts[-limit:]
        centroid = np.mean(vectors, axis=0)
        scores = np.stack([f.embedding for f in facts]) @ centroid
        return [facts[i] for i in np.argsort(-scores)[:limit]]

    # -- reconciliation ------------------------------------------------------------------

    def reconcile(self, candidates: list[Candidate], existing: dict[str, list[FactRow]]) -> list[FactWrite]:
        """Turn candidates into writes: drop duplicates, supersede exclusive slots, apply model ops."""
        candidates = [c for c in candidates if c.text or c.op == "delete"]
        if not candidates:
            return []
        texts = [c.text or c.target.fact.text for c in candidates]  # type: ignore[union-attr]
        vectors = self.embedder.embed(texts, purpose="facts")
        writes: list[FactWrite] = []
        accepted: dict[str, list[np.ndarray]] = {"user": [], "assistant": []}
        retired: set[int] = set()
        for cand, vec in zip(candidates, vectors):
            kind: FactKind = "assistant" if cand.kind == "assistant" else "user"
            live = [f for f in existing[kind] if f.rid not in retired]
            if cand.op == "delete" and cand.target is not None:
                writes.append(FactWrite(op="retire", kind=kind, event="DELETE", rid=cand.target.rid))
                retired.add(cand.target.rid)
                continue
            others = [f for f in live if cand.op != "update" or cand.target is None or f.rid != cand.target.rid]
            if _same_text(cand.text, [f.fact.text for f in others]) or self._duplicate(
                    vec, [f.embedding for f in others] + accepted[kind]):
                continue
            common = dict(kind=kind, text=cand.text, slot=cand.slot, refers_to=cand.refers_to, source=cand.source,
                          source_pages=cand.source_pages, embedding=vec)
            if cand.op == "update" and cand.target is not None:
                writes.append(FactWrite(op="update", event="UPDATE", rid=cand.target.rid, **common))
                accepted[kind].append(vec)
                continue
            if cand.slot:
                for old in live:
                    if old.fact.slot == cand.slot:
                        writes.append(FactWrite(op="retire", kind=kind, event="SUPERSEDE", rid=old.rid, text=cand.text))
                        retired.add(old.rid)
            writes.append(FactWrite(op="add", event="ADD", **common))
            accepted[kind].append(vec)
        return writes

    def _duplicate(self, vec: np.ndarray, others: list[np.ndarray]) -> bool:
        if not others:
            return False
        return float(np.max(np.stack(others) @ vec)) >= self.config.fact_duplicate_threshold


def _same_text(text: str, others: list[str]) -> bool:
    """Exact repeats (case and spacing aside) are duplicates whatever the embedder says."""
    key = " ".join(text.lower().split()).rstrip(".")
    return any(" ".join(o.lower().split()).rstrip(".") == key for o in others)


def _merge_field(profile: dict[str, Any], key: str, value: str) -> None:
    if key in LIST_FIELDS:
        items = profile.setdefault(key, [])
        if value not in items:
            items.append(value)
    else:
        profile[key] = value
