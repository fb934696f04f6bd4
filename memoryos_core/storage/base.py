"""The storage contract: records exchanged with the engine, and the operations a backend provides.

A backend owns durability and isolation: every method is one transaction, rows are always
filtered by scope, and ids of another scope are reported as missing. It owns no memory rule: where
a write's outcome depends on one (is a segment hot, which segments are archived), it is handed the
engine's :class:`~memoryos_core.policy.Policy` and executes what that decides. Vectors travel as
float32 numpy arrays; the engine keeps the search indexes.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol, Sequence, TypedDict, overload

import numpy as np

from ..errors import StoreError
from ..policy import HeatParams, Policy
from ..types import Fact, HistoryEntry, Page, Profile, Segment
from .dialect import Tx, split_sql

if TYPE_CHECKING:  # importer builds on this module
    from .importer import ImportBatch, ImportCounts

VectorTable = Literal["pages", "segments", "facts_user", "facts_assistant"]
JobKind = Literal["consolidate", "persona"]


class ConflictError(Exception):
    """Another worker changed the rows a job was about to write; the job is redone on fresh data."""


@dataclass(frozen=True)
class ScopeState:
    scope_id: int
    clock: float
    vec_counter: int
    vector_epoch: int


@dataclass(frozen=True)
class PageRow:
    rid: int
    page: Page
    segment_rid: int | None
    tokens: int
    embedding: np.ndarray | None


@dataclass(frozen=True)
class SearchablePage:
    """What the lexical index reads of a page: its text, place in the conversation and vector number."""

    rid: int
    seq: int
    timestamp: float
    text: str
    vec_seq: int


@dataclass(frozen=True)
class SegmentRow:
    rid: int
    segment: Segment
    vec_sum: np.ndarray

    @property
    def centroid(self) -> np.ndarray:
        norm = float(np.linalg.norm(self.vec_sum))
        return self.vec_sum / norm if norm else self.vec_sum


@dataclass(frozen=True)
class FactRow:
    rid: int
    fact: Fact
    embedding: np.ndarray
    active: bool


@dataclass(frozen=True)
class Job:
    id: int
    scope_id: int
    kind: JobKind
    attempts: int


@dataclass
class SegmentWrite:
    """A segment created (``rid is None``) or grown by a consolidation pass."""

    rid: int | None
    summary: str
    keywords: list[str]
    summary_source: str
    page_rids: list[int]
    added_vec_sum: np.ndarray
    last_active: float
    id: str | None = None


@dataclass
class FactWrite:
    """One reconciled knowledge change: add a fact, update one, or retire one."""

    op: Literal["add", "update", "retire", "delete"]
    kind: Literal["user", "assistant"]
    event: str
    text: str = ""
    rid: int | None = None
    slot: str | None = None
    refers_to: float | None = None
    source: str = "heuristic"
    source_pages: list[str] = field(default_factory=list)
    embedding: np.ndarray | None = None
    #: ``add``: the new fact's id, chosen by the engine so a retire in the same batch can name it.
    fact_id: str | None = None
    #: ``retire`` (or an ``add`` of a value already replaced): conversation time the fact stopped being
    #: true, and the fact that replaced it; such an add is stored as past, outside the active knowledge.
    valid_until: float | None = None
    superseded_by: str | None = None


class OpenJob(TypedDict):
    """A job not yet finished (pending, running or parked as failed), as ``Memoryos.stats()`` shows it."""

    id: int
    kind: JobKind
    status: Literal["pending", "running", "failed"]
    attempts: int
    not_before: float
    last_error: str | None


class TierCounts(TypedDict):
    """Row counts of one scope (``Memoryos.stats()["tiers"]``)."""

    short_term: int
    mid_term: int
    archived: int
    segments: int
    user_knowledge: int
    assistant_knowledge: int
    unembedded: int
    pending_jobs: int
    failed_jobs: int


def tier_counts(values: dict[str, int]) -> TierCounts:
    """The counts record from a dict of its fields (a missing field counts 0)."""
    return TierCounts(
        short_term=values.get("short_term", 0), mid_term=values.get("mid_term", 0), archived=values.get("archived", 0),
        segments=values.get("segments", 0), user_knowledge=values.get("user_knowledge", 0),
        assistant_knowledge=values.get("assistant_knowledge", 0), unembedded=values.get("unembedded", 0),
        pending_jobs=values.get("pending_jobs", 0), failed_jobs=values.get("failed_jobs", 0))


class ExportRows(TypedDict):
    """Everything of one scope as JSON-ready data (vectors omitted)."""

    pages: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    profile: dict[str, Any]
    history: list[dict[str, Any]]


@dataclass(frozen=True)
class ItemRow:
    """A stored item (a key-value document under a namespace path, owned by a scope).

    ``namespace`` is the encoded path (labels joined by ``.``, see :func:`namespace_path`);
    ``embedding`` holds one float32 row per indexed text (``None`` when the item is not indexed or
    the read did not ask for vectors). ``value`` is parsed from ``value_json`` on first use: a
    search reads many rows and returns few."""

    rid: int
    scope_id: int
    namespace: str
    key: str
    value_json: str
    text: str
    embedding: np.ndarray | None
    created_at: float
    updated_at: float
    ttl_seconds: float | None
    expires_at: float | None

    @cached_property
    def value(self) -> dict[str, Any]:
        return json.loads(self.value_json)


def in_listing_order(rows: Sequence[ItemRow]) -> list[ItemRow]:
    """Items as a store lists them: namespaces by their oldest live item, then items by first insertion."""
    first: dict[str, int] = {}
    for row in rows:
        first[row.namespace] = min(row.rid, first.get(row.namespace, row.rid))
    return sorted(rows, key=lambda r: (first[r.namespace], r.rid))


def page_plan(stats: Sequence[tuple[str, int, int]], limit: int, offset: int) -> list[tuple[str, int, int]]:
    """Which (namespace, limit, offset) reads make up one page in listing order, from each
    namespace's (path, oldest rid, item count)."""
    plan: list[tuple[str, int, int]] = []
    skip, want = offset, limit
    for namespace, _, count in sorted(stats, key=lambda s: s[1]):
        if want <= 0:
            break
        if skip >= count:
            skip -= count
            continue
        take = min(want, count - skip)
        plan.append((namespace, take, skip))
        want -= take
        skip = 0
    return plan


@dataclass(frozen=True)
class ItemWrite:
    """One item change decided by the engine: an upsert (``value`` set) or a delete (``value`` None).
    An upsert keeps ``created_at`` and the item's place in listing order."""

    scope_id: int
    namespace: str
    key: str
    value: dict[str, Any] | None
    text: str = ""
    embedding: np.ndarray | None = None
    ttl_seconds: float | None = None
    expires_at: float | None = None


#: Separator of namespace labels in the stored path (labels never contain it).
NAMESPACE_SEPARATOR = "."


def namespace_path(labels: Sequence[str]) -> str:
    """The stored form of a namespace: its labels joined by ``.``."""
    return NAMESPACE_SEPARATOR.join(labels)


def namespace_bounds(prefix: str) -> tuple[str, str]:
    """[low, high) of the paths strictly below ``prefix`` in byte order (``prefix.`` to ``prefix/``):
    a range an index serves. The prefix itself is matched by equality."""
    return prefix + NAMESPACE_SEPARATOR, prefix + chr(ord(NAMESPACE_SEPARATOR) + 1)


def matrix_to_blob(matrix: np.ndarray | None) -> bytes | None:
    return None if matrix is None else vec_to_blob(matrix)


def blob_to_matrix(blob: bytes | None, rows: int) -> np.ndarray | None:
    """The (rows, dim) float32 matrix of an item's stored vectors (a read-only view of the blob)."""
    if blob is None or rows <= 0:
        return None
    return np.frombuffer(blob, dtype=np.float32).reshape(rows, -1)


class Store(Protocol):
    """What the engine needs from a storage backend.

    Guarantees shared by every method: each is one transaction (all of it commits or none of
    it); every row read or written belongs to ``scope_id`` (ids of another scope read as
    missing); a write on a deleted user's scope raises :class:`~memoryos_core.errors.StoreError`
    and writes nothing. Job writes (``apply_*``, ``finish_job``) first check that ``owner``
    still holds the job's lease and raise :class:`ConflictError` otherwise.
    """

    # -- scopes
    def scope(self, user_id: str, assistant_id: str, *, create: bool = True) -> int | None:
        """The scope id of a (user, assistant) pair, created on first use (None if absent and not ``create``)."""
    def scope_state(self, scope_id: int) -> ScopeState:
        """The scope's clock and vector counters (one row): what the indexes sync on."""
    def close(self) -> None:
        """Release connections; later calls raise StoreError."""

    # -- pages
    def add_page(self, scope_id: int, *, user_input: str, agent_response: str, timestamp: float,
                 meta: dict[str, Any], tokens: int, embedding: np.ndarray | None,
                 consolidate_at: int) -> tuple[Page, bool]:
        """Insert a short-term page (advancing the clock) and, once short-term holds ``consolidate_at``
        pages (:attr:`Policy.consolidate_at`), queue consolidation; True when this add queued it."""
    def unembedded_pages(self, scope_id: int, limit: int) -> list[tuple[int, str]]:
        """(rid, text) of pages stored without a vector, oldest first."""
    def set_page_embeddings(self, scope_id: int, items: Sequence[tuple[int, np.ndarray]]) -> None:
        """Store vectors of pages that still lack one (a page embedded meanwhile keeps its vector)."""
    def pages_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[PageRow]:
        """The given pages of the scope (missing ones are absent), without vectors."""
    def pages_of_segments(self, scope_id: int, segment_rids: Sequence[int]) -> list[PageRow]:
        """The embedded pages of the given segments, with their vectors."""
    def short_term(self, scope_id: int, limit: int) -> list[PageRow]:
        """The newest ``limit`` pages, oldest first."""
    def overflow_pages(self, scope_id: int, keep: int, limit: int) -> list[PageRow]:
        """Short-tier pages older than the newest ``keep``, oldest first, with vectors."""
    def get_page(self, scope_id: int, page_id: str) -> PageRow:
        """One page with its vector; NotFoundError if the scope has no such page."""
    def list_pages(self, scope_id: int, *, tier: str | None, limit: int, offset: int) -> list[Page]:
        """Pages in conversation order, optionally of one tier."""
    def update_page(self, scope_id: int, page_id: str, *, user_input: str, agent_response: str, tokens: int,
                    embedding: np.ndarray, only_if_unanswered: bool = False) -> Page:
        """Rewrite a page, its vector and its segment's share; ConflictError if ``only_if_unanswered``
        and the page already has a response."""
    def delete_page(self, scope_id: int, page_id: str) -> None:
        """Delete a page, its vector, its share of its segment and the facts drawn only from it."""
    def forget(self, scope_id: int, *, page_ids: Sequence[str], fact_ids: Sequence[str],
               profile_changes: dict[str, Any], segments: Sequence[tuple[str, str, list[str]]], note: str) -> None:
        """Erase pages and facts the user asked to forget (rows, vectors, facts drawn only from them, their
        history's text), apply the profile changes, rewrite the named segments' summary and keywords, and
        record one FORGET event with ``note``; one transaction."""

    # -- segments
    def segments_by_rids(self, scope_id: int, rids: Sequence[int], heat: HeatParams | None = None) -> list[SegmentRow]:
        """The given segments (heat computed with ``heat`` when given, else 0)."""
    def list_segments(self, scope_id: int, heat: HeatParams, *, include_archived: bool = False) -> list[SegmentRow]:
        """Every live (or every) segment of the scope, in creation order."""
    def segment_members(self, scope_id: int, segment_rids: Sequence[int]) -> list[tuple[int, int]]:
        """(page rid, segment rid) of the pages of the given segments."""
    def apply_consolidation(self, scope_id: int, job: Job, owner: str, writes: Sequence[SegmentWrite],
                            policy: Policy) -> list[str]:
        """Move every page of ``writes`` into its segment and finish the job; then, as ``policy`` decides
        on the rows as they now stand: queue persona analysis for a segment that got hot, archive the
        coldest segments beyond capacity, queue the next consolidation. Returns ids of segments created."""
    def record_visits(self, scope_id: int, segment_rids: Sequence[int], heat: HeatParams) -> None:
        """Count a retrieval visit on each segment (a rid listed n times: n visits) at the scope's clock;
        queue persona analysis if one got hot."""

    # -- knowledge and profile
    def persona_batch(self, scope_id: int, heat: HeatParams, limit: int, *, quiet: bool = False) -> list[PageRow]:
        """Unanalysed pages of hot (or archived) segments, oldest first; with ``quiet``, topped up with
        the other segments' unanalysed pages, oldest first (every page is analysed eventually)."""
    def apply_persona(self, scope_id: int, job: Job, owner: str, *, page_rids: Sequence[int],
                      fact_writes: Sequence[FactWrite], profile_changes: dict[str, Any], policy: Policy) -> None:
        """Write reconciled facts, evict knowledge beyond capacity and merge profile changes (as ``policy``
        decides), mark the pages analysed (resetting their segments' heat), finish the job, and queue
        another pass while hot pages remain."""
    def facts(self, scope_id: int, kind: str | None = None, *, active_only: bool = True) -> list[FactRow]:
        """Knowledge of the scope (of one kind), oldest first."""
    def past_facts(self, scope_id: int, limit: int = 100) -> list[FactRow]:
        """Facts that were true until a conversation time (replaced, or ended by a stop), latest ended first."""
    def facts_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[FactRow]:
        """The given active facts of the scope."""
    def get_fact(self, scope_id: int, fact_id: str) -> FactRow:
        """One fact; NotFoundError if the scope has no such fact."""
    def write_facts(self, scope_id: int, writes: Sequence[FactWrite]) -> None:
        """Manual knowledge edits (add, update, retire, delete), with history."""
    def profile(self, scope_id: int) -> Profile:
        """The scope's profile (empty if none)."""
    def set_profile_fields(self, scope_id: int, changes: dict[str, Any], policy: Policy) -> Profile:
        """Merge ``changes`` into the profile as ``policy.merge_profile`` says, with history."""

    # -- jobs
    def enqueue(self, scope_id: int, kind: JobKind) -> bool:
        """Queue a job; False when one of that kind is already open."""
    def claim_job(self, scope_id: int, owner: str, lease_seconds: float,
                  owner_is_dead: Callable[[str], bool] | None = None) -> Job | None:
        """Lease the next due job (consolidation first); expired or orphaned leases are taken over."""
    def finish_job(self, job: Job, owner: str) -> None:
        """Delete a job that found nothing to do."""
    def release_job(self, job: Job, owner: str, error: str, retry_at: float, *, give_up: bool) -> None:
        """Record a failed attempt: due again at ``retry_at``, or parked as failed."""
    def open_jobs(self, scope_id: int) -> list[OpenJob]:
        """Jobs not finished, oldest first."""
    def retry_failed_jobs(self, scope_id: int) -> int:
        """Make the newest failed job of each kind due again (unless one is open); how many."""

    # -- vectors
    def vectors_since(self, scope_id: int, table: VectorTable, since_seq: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(rids, vectors, max seq) of the rows whose vector was written after ``since_seq``."""
    def live_vector_ids(self, scope_id: int, table: VectorTable) -> set[int]:
        """Row ids an index of ``table`` should hold now."""

    # -- lexicon (BM25 over page text, see retrieval.lexical)
    def searchable_pages(self, scope_id: int, after_seq: int, upto_seq: int, limit: int) -> list[SearchablePage]:
        """Pages the page vector index holds (embedded, not archived) whose vector number is in
        (``after_seq``, ``upto_seq``], in vector-number order, at most ``limit``."""
    def lexicon_snapshot(self, scope_id: int) -> bytes | None:
        """The scope's stored lexicon snapshot (the engine's bytes), if any."""
    def save_lexicon_snapshot(self, scope_id: int, *, watermark: int, epoch: int, data: bytes) -> bool:
        """Store a lexicon snapshot covering vector numbers up to ``watermark``, unless a newer one is
        stored or the scope's ``vector_epoch`` is no longer ``epoch``; True if stored. ``delete_page``,
        ``forget`` and ``delete_user`` drop the snapshot in their transaction."""

    # -- management
    def history(self, scope_id: int, target_id: str | None = None, limit: int = 1000) -> list[HistoryEntry]:
        """Changes of the scope (or of one page, fact, profile field or segment), oldest first."""
    def counts(self, scope_id: int) -> TierCounts:
        """Rows per tier, knowledge, backlog and jobs."""
    def delete_user(self, user_id: str) -> int:
        """Erase every row (items included) of every scope of ``user_id``; returns the number of scopes erased."""
    def export_rows(self, scope_id: int) -> ExportRows:
        """Pages, segments, facts, profile and history as JSON-ready data."""
    def import_rows(self, scope_id: int, batch: ImportBatch, policy: Policy) -> ImportCounts:
        """Write a validated import (``storage.importer.apply_import``), then queue the work it calls for."""

    # -- items (key-value documents under namespaces: the LangGraph store) ---------------------
    def write_items(self, writes: Sequence[ItemWrite], now: float) -> None:
        """Apply upserts and deletes in one transaction (StoreError if a scope was deleted meanwhile)."""
    def get_item(self, scope_id: int, namespace: str, key: str, now: float) -> ItemRow | None:
        """The live (unexpired at ``now``) item, without its vectors."""
    def item_candidates(self, prefix: str, now: float, *, scope_id: int | None = None,
                        with_vectors: bool = False) -> list[ItemRow]:
        """Live items whose namespace is ``prefix`` or below it (of one scope, or of every scope when
        ``scope_id`` is None), in listing order (:func:`in_listing_order`)."""
    def item_page(self, prefix: str, now: float, *, limit: int, offset: int = 0,
                  scope_id: int | None = None) -> list[ItemRow]:
        """``limit`` of those items from ``offset`` on, in listing order, without reading the others."""
    def item_namespaces(self, prefix: str, now: float, *, scope_id: int | None = None) -> list[str]:
        """Distinct namespaces holding live items at or below ``prefix``."""
    def refresh_item_expiry(self, updates: Sequence[tuple[int, float]]) -> None:
        """Set new ``expires_at`` values, given as (rid, expires_at), in one transaction."""
    def purge_expired_items(self, now: float) -> int:
        """Delete items expired at ``now``; returns how many."""


def new_id(prefix: str) -> str:
    """Public id of a page (``pg_``), segment (``sg_``) or fact (``ft_``): the same shape on every backend."""
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class Migration:
    """One step of a backend's schema history. ``statements`` returns the SQL to run, in order,
    inside the transaction that also records ``version`` in ``schema_migrations``."""

    version: int
    description: str
    statements: Callable[[], Sequence[str]]


#: Facts with time (both backends): when a fact stopped being true, and which fact replaced it.
FACT_VALIDITY_COLUMNS = (
    "ALTER TABLE facts ADD COLUMN valid_until DOUBLE PRECISION",
    "ALTER TABLE facts ADD COLUMN superseded_by TEXT",
)


def pending_migrations(current: int, migrations: Sequence[Migration], where: str) -> list[Migration]:
    """The steps to apply to a store at schema ``current``, oldest first; refuses a newer schema."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or not versions or versions[0] != 1:
        raise ValueError("migrations must be numbered 1, 2, ... in order, without repeats")
    latest = versions[-1]
    if current > latest:
        raise StoreError(f"{where} has schema version {current}; this MemoryOS understands up to {latest}: upgrade")
    return [m for m in migrations if m.version > current]


def apply_migrations(tx: Tx, migrations: Sequence[Migration], where: str) -> None:
    """Bring a database to the latest schema inside ``tx``: each pending step, then its row in
    ``schema_migrations`` (all or nothing, with the transaction)."""
    tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
    current = int(tx.value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
    for step in pending_migrations(current, migrations, where):
        for statement in step.statements():
            tx.run(statement)
        tx.run("INSERT INTO schema_migrations VALUES (?, ?)", step.version, time.time())


def vec_to_blob(vector: np.ndarray | None) -> bytes:
    """A vector as float32 bytes; a missing one is a programming error."""
    if vector is None:
        raise ValueError("a vector is required here")
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


@overload
def blob_to_vec(blob: bytes) -> np.ndarray: ...
@overload
def blob_to_vec(blob: None) -> None: ...
@overload
def blob_to_vec(blob: bytes | None) -> np.ndarray | None: ...
def blob_to_vec(blob: bytes | None) -> np.ndarray | None:
    """A stored float32 vector (None stays None)."""
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=np.float32).copy()


__all__ = [
    "ConflictError",
    "ExportRows",
    "FactRow",
    "FactWrite",
    "HeatParams",
    "HistoryEntry",
    "ItemRow",
    "ItemWrite",
    "Job",
    "JobKind",
    "Migration",
    "OpenJob",
    "Policy",
    "PageRow",
    "Profile",
    "ScopeState",
    "SegmentRow",
    "SegmentWrite",
    "Store",
    "TierCounts",
    "NAMESPACE_SEPARATOR",
    "VectorTable",
    "blob_to_matrix",
    "blob_to_vec",
    "in_listing_order",
    "matrix_to_blob",
    "namespace_bounds",
    "namespace_path",
    "page_plan",
    "new_id",
    "pending_migrations",
    "split_sql",
    "vec_to_blob",
]
