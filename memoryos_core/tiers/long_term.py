"""Long-term persona: profile, user knowledge and assistant knowledge, updated from hot segments.

Candidates come from one LLM call (extraction and reconciliation against related existing facts
in the same answer) or, offline, from rule-based extractors. Every candidate then passes the same
reconciliation: near-duplicates (by embedding) are dropped, a fact for an exclusive slot
(location, occupation, ...) supersedes the older one, and every change lands in the history table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..config import MemoryConfig
from ..extractors import extract_assistant_facts
from ..index import IndexCache
from ..persona import plan as persona_rules
from ..persona.forget import is_forget_request
from ..persona.observe import Observation, TurnReader
from ..persona.validate import about_someone_else, copied_from_someone_else, fact_slot, grounded, junk_value
from ..persona.validate import list_items, third_person
from ..providers.metered import MeteredChatModel, MeteredEmbedder
from ..policy import Policy
from ..prompts import PersonaOut, persona_messages
from ..storage.base import FactRow, FactWrite, Job, PageRow, new_id

from ..storage.base import Store
from ..structured import call_structured
from ..types import FactKind

log = logging.getLogger("memoryos.persona")

LIST_FIELDS = persona_rules.LIST_FIELDS
PAGES_PER_PASS = 40
#: With an LLM, quiet segments' pages wait until this many are unanalysed, so one call reads a batch.
QUIET_BATCH_LLM = 16
#: A pause longer than this starts a new conversation: pronouns do not reach across it.
SESSION_GAP_SECONDS = 6 * 3600.0


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
    #: For ``op == "stop"``: what stopped (a retired value, never a new fact).
    stop: Observation | None = None


@dataclass
class PersonaPlan:
    candidates: list[Candidate] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)
    #: Offline: profile adds and stops in reading order, applied to the current profile in ``run``.
    profile_ops: list[Observation] = field(default_factory=list)


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
        # Heat orders the work; it never excludes a page: quiet segments' pages follow the hot ones.
        pages = self.store.persona_batch(scope_id, self.policy.heat, PAGES_PER_PASS, quiet=True)
        if not pages or (self.llm is not None and len(pages) < QUIET_BATCH_LLM
                         and not self.store.persona_batch(scope_id, self.policy.heat, 1)):
            self.store.finish_job(job, owner)  # only a few quiet pages for a model call: wait for more
            return
        existing = {kind: self.store.facts(scope_id, kind) for kind in ("user", "assistant")}
        # The turns just before the batch tell who "she" is in its first pages.
        before = self.store.pages_by_rids(scope_id, [pages[0].rid - k for k in (3, 2, 1) if pages[0].rid - k > 0])
        rules = self._plan_heuristic(pages, [p for p in before if p.page.seq < pages[0].page.seq])
        rules.profile = self._profile_from_ops(scope_id, rules, existing["user"])
        plan = rules if self.llm is None else _prefer_rules(self._plan_llm(scope_id, pages, existing), rules)
        writes = self.reconcile(plan.candidates, existing)
        self.store.apply_persona(scope_id, job, owner, page_rids=[p.rid for p in pages], fact_writes=writes,
                                 profile_changes=plan.profile, policy=self.policy)
        if len(pages) >= PAGES_PER_PASS:
            self.store.enqueue(scope_id, "persona")  # more quiet pages than one pass took

    def _profile_from_ops(self, scope_id: int, plan: PersonaPlan, user_facts: list[FactRow]) -> dict[str, Any]:
        """The offline plan's profile changes: its adds and stops applied in order to the current profile;
        a superseded favourite also leaves the likes."""
        ops: list[Observation] = []
        for op in plan.profile_ops:
            if op.op == "add" and op.slot and op.slot.startswith("favorite_"):
                for old in user_facts:
                    previous = persona_rules.favorite_value(old.fact.text) if old.fact.slot == op.slot else None
                    if previous and previous != op.value:
                        ops.append(Observation(op="stop", value=previous, targets=("likes",)))
            ops.append(op)
        return persona_rules.profile_changes(self.store.profile(scope_id).fields, ops)

    # -- candidates ----------------------------------------------------------------------

    @staticmethod
    def _plan_heuristic(pages: list[PageRow], context: list[PageRow] | None = None) -> PersonaPlan:
        plan = PersonaPlan()
        reader = TurnReader()
        last_ts: float | None = None
        for row in sorted(context or [], key=lambda r: r.page.seq):
            if last_ts is not None and row.page.timestamp - last_ts > SESSION_GAP_SECONDS:
                reader.new_session()
            last_ts = row.page.timestamp
            reader.read(row.page.user_input)  # only to learn who was mentioned
        for row in pages:
            page = row.page
            if last_ts is not None and page.timestamp - last_ts > SESSION_GAP_SECONDS:
                reader.new_session()
            last_ts = page.timestamp
            if is_forget_request(page.user_input):
                continue  # a request to forget states nothing to remember
            for obs in reader.read(page.user_input):
                if obs.op == "stop":
                    plan.candidates.append(Candidate(kind="user", text="", refers_to=page.timestamp, source_pages=[page.id],
                                                     source="heuristic", op="stop", stop=obs))
                else:
                    plan.candidates.append(Candidate(kind="user", text=obs.text, refers_to=page.timestamp,
                                                     source_pages=[page.id], source="heuristic", slot=obs.slot))
                if obs.op == "stop" or (obs.field and obs.value):
                    plan.profile_ops.append(obs)
            for f in extract_assistant_facts(page.agent_response):
                plan.candidates.append(Candidate(kind="assistant", text=f.text, refers_to=page.timestamp,
                                                 source_pages=[page.id], source="heuristic", slot=f.slot))
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
        user_turns = [p.page.user_input for p in pages]
        pages_text = "\n".join(p.page.text for p in pages)
        for change in out.profile:
            key = change.field.strip().lower().replace(" ", "_")[:64]
            if not key:
                continue
            values = change.value if isinstance(change.value, list) else [change.value] if change.value else []
            bad = [v for v in values if junk_value(str(v)) or not grounded(str(v), pages_text)
                   or about_someone_else(str(v), user_turns)]
            if bad:
                log.info("persona answer: profile %s=%r rejected (junk, unsaid or another person's)", key, bad)
                if len(bad) == len(values):
                    continue
                change.value = [v for v in values if v not in bad]
            if change.value is None:
                plan.profile[key] = None
            elif key in LIST_FIELDS:  # "trail running, beagle" written as one value is two items
                for value in change.value if isinstance(change.value, list) else [change.value]:
                    for item in list_items(str(value)):
                        _merge_field(plan.profile, key, item)
            else:
                plan.profile[key] = change.value if isinstance(change.value, str) else ", ".join(change.value)
        for op in out.facts:
            if op.op == "none":
                continue
            # Only an update or a delete names a fact to change; an "add" that carries an id (small models
            # do this) is a new candidate, checked against every active fact like any other.
            target = by_id.get(op.id or "") if op.op in ("update", "delete") else None
            about_user = (target.fact.kind if target else op.about) == "user"
            if op.op in ("add", "update") and about_user:
                said = third_person(op.text)  # small models copy the user's sentence: "I moved to ..."
                if said is None:
                    log.info("persona answer: fact %r rejected (not about the user alone)", op.text)
                    continue
                op.text = said
            if op.op in ("add", "update") and (target is None or target.fact.kind == "user") and op.about != "assistant" \
                    and copied_from_someone_else(op.text, user_turns):
                log.info("persona answer: fact %r rejected (another person's)", op.text)
                continue
            if op.op in ("add", "update") and not grounded(op.text, pages_text):
                log.info("persona answer: %s of %r rejected (the pages do not say it)", op.op, op.text)
                continue
            if op.op in ("update", "delete") and target is None:
                if op.op == "delete" or not op.text.strip():
                    continue  # names a fact we did not show: ignore rather than guess
                op.op = "add"
            kind = target.fact.kind if target else op.about
            plan.candidates.append(Candidate(kind=kind, text=op.text.strip(), refers_to=_parse_day(op.time) or latest,
                                             source_pages=source_ids, source="llm", op=op.op, target=target,
                                             slot=fact_slot(op.text) if kind == "user" else None))
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
        writes: list[FactWrite] = []
        retired: set[int] = set()
        accepted: dict[str, list[np.ndarray]] = {"user": [], "assistant": []}
        adds = [c for c in candidates if c.op != "stop"]
        if any(c.op == "stop" for c in candidates):
            # Stops first (in reading order) only when they come before the adds of their page: a stop
            # retires what was true before it was said.
            adds = []
            for cand in candidates:
                if cand.op == "stop" and cand.stop is not None:
                    self._apply_stop(cand, existing["user"], retired, writes, adds)
                elif cand.op != "stop":
                    adds.append(cand)
        candidates = [c for c in adds if c.text or c.op == "delete"]
        if not candidates:
            return writes
        texts = [c.text or c.target.fact.text for c in candidates]  # type: ignore[union-attr]
        vectors = self.embedder.embed(texts, purpose="facts")
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
            fact_id = new_id("ft")
            common = dict(kind=kind, text=cand.text, slot=cand.slot, refers_to=cand.refers_to, source=cand.source,
                          source_pages=cand.source_pages, embedding=vec)
            # A model's update and a new value of an exclusive slot both replace: the old fact stays, as
            # past, true until this one was said, and names its successor.
            replaced = [cand.target] if cand.op == "update" and cand.target is not None else [
                old for old in live if cand.slot and old.fact.slot == cand.slot]
            for old in replaced:
                writes.append(FactWrite(op="retire", kind=kind, event="SUPERSEDE", rid=old.rid, text=cand.text,
                                        valid_until=cand.refers_to, superseded_by=fact_id))
                retired.add(old.rid)
            if cand.slot:  # two values for one slot in one pass: the later one is current, the earlier past
                writes[:] = [replace(w, valid_until=cand.refers_to, superseded_by=fact_id)
                             if w.op == "add" and w.kind == kind and w.slot == cand.slot and w.valid_until is None
                             else w for w in writes]
            writes.append(FactWrite(op="add", event="ADD", fact_id=fact_id, **common))
            accepted[kind].append(vec)
        return writes

    @staticmethod
    def _apply_stop(cand: Candidate, user_facts: list[FactRow], retired: set[int], writes: list[FactWrite],
                    pending: list[Candidate]) -> None:
        """Retire the active user facts a stop names, and drop this pass's earlier adds it names."""
        stop = cand.stop
        assert stop is not None
        for old in user_facts:
            if old.rid not in retired and persona_rules.retires(stop, old.fact.text, old.fact.slot):
                writes.append(FactWrite(op="retire", kind="user", event="SUPERSEDE", rid=old.rid,
                                        valid_until=cand.refers_to))
                retired.add(old.rid)
        pending[:] = [c for c in pending if not (c.kind == "user" and c.op == "add"
                                                 and persona_rules.retires(stop, c.text, c.slot))]

    def _duplicate(self, vec: np.ndarray, others: list[np.ndarray]) -> bool:
        if not others:
            return False
        return float(np.max(np.stack(others) @ vec)) >= self.config.fact_duplicate_threshold


def _prefer_rules(llm: PersonaPlan, rules: PersonaPlan) -> PersonaPlan:
    """A model's plan, corrected by the precise offline rules where both speak: a small model mixes an
    old employer with a new job, while the rules read the pages in order. The rules' single-valued
    profile fields and their exclusive-slot facts and stops win; the model's facts for a slot the
    rules filled in this batch are dropped; the model keeps everything else (lists, other facts)."""
    ruled = {c.slot for c in rules.candidates if c.slot and c.kind == "user"}
    kept = [c for c in llm.candidates if not (c.kind == "user" and c.slot and c.slot in ruled)]
    extra = [c for c in rules.candidates if c.kind == "user" and (c.slot or c.op == "stop")]
    profile = dict(llm.profile)
    profile.update({key: value for key, value in rules.profile.items() if key not in LIST_FIELDS})
    return PersonaPlan(candidates=kept + extra, profile=profile)


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
