"""The storage contract: records exchanged with the engine, and the operations a backend provides.

A backend owns durability and isolation: every method is one transaction, rows are always
filtered by scope, and ids of another scope are reported as missing. Vectors travel as float32
numpy arrays; the engine keeps the search indexes.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Literal, Protocol, Sequence

import numpy as np

from ..errors import StoreError
from ..types import Fact, HistoryEntry, Page, Profile, Segment

VectorTable = Literal["pages", "segments", "facts_user", "facts_assistant"]


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
    kind: Literal["consolidate", "persona"]
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


@dataclass(frozen=True)
class HeatParams:
    alpha: float
    beta: float
    gamma: float
    tau: float
    threshold: float

    def heat(self, visits: int, fresh_pages: int, last_active: float, clock: float) -> float:
        age = max(0.0, clock - last_active)
        return self.alpha * visits + self.beta * fresh_pages + self.gamma * math.exp(-age / self.tau)


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
    """What the engine needs from a storage backend (SQLite and PostgreSQL implement it)."""

    def scope(self, user_id: str, assistant_id: str, *, create: bool = True) -> int | None: ...
    def scope_state(self, scope_id: int) -> ScopeState: ...
    def add_page(self, scope_id: int, **kwargs: Any) -> tuple[Page, bool]: ...
    def delete_user(self, user_id: str) -> int: ...
    def close(self) -> None: ...

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


def split_sql(script: str) -> list[str]:
    """Split a schema file into statements (``--`` comments removed; no semicolons inside statements)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


@dataclass(frozen=True)
class Migration:
    """One step of a backend's schema history. ``statements`` returns the SQL to run, in order,
    inside the transaction that also records ``version`` in ``schema_migrations``."""

    version: int
    description: str
    statements: Callable[[], Sequence[str]]


def pending_migrations(current: int, migrations: Sequence[Migration], where: str) -> list[Migration]:
    """The steps to apply to a store at schema ``current``, oldest first; refuses a newer schema."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)) or not versions or versions[0] != 1:
        raise ValueError("migrations must be numbered 1, 2, ... in order, without repeats")
    latest = versions[-1]
    if current > latest:
        raise StoreError(f"{where} has schema version {current}; this MemoryOS understands up to {latest}: upgrade")
    return [m for m in migrations if m.version > current]


def vec_to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def blob_to_vec(blob: bytes | None) -> np.ndarray | None:
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=np.float32).copy()


__all__ = [
    "ConflictError",
    "FactRow",
    "FactWrite",
    "HeatParams",
    "HistoryEntry",
    "ItemRow",
    "ItemWrite",
    "Job",
    "Migration",
    "PageRow",
    "Profile",
    "ScopeState",
    "SegmentRow",
    "SegmentWrite",
    "Store",
    "VectorTable",
    "NAMESPACE_SEPARATOR",
    "blob_to_matrix",
    "in_listing_order",
    "page_plan",
    "blob_to_vec",
    "matrix_to_blob",
    "namespace_bounds",
    "namespace_path",
    "new_id",
    "pending_migrations",
    "split_sql",
    "vec_to_blob",
]
