"""The storage contract: records exchanged with the engine, and the operations a backend provides.

A backend owns durability and isolation: every method is one transaction, rows are always
filtered by scope, and ids of another scope are reported as missing. Vectors travel as float32
numpy arrays; the engine keeps the search indexes.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
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
class ExactValue:
    """A profile change that replaces a list field outright (an item was taken out) instead of merging."""

    value: list[Any]


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


class Store(Protocol):
    """What the engine needs from a storage backend (SQLite here; PostgreSQL can follow)."""

    def scope(self, user_id: str, assistant_id: str, *, create: bool = True) -> int | None: ...
    def scope_state(self, scope_id: int) -> ScopeState: ...
    def add_page(self, scope_id: int, **kwargs: Any) -> tuple[Page, bool]: ...
    def close(self) -> None: ...


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
    "ExactValue",
    "FactRow",
    "FactWrite",
    "HeatParams",
    "HistoryEntry",
    "Job",
    "Migration",
    "PageRow",
    "Profile",
    "ScopeState",
    "SegmentRow",
    "SegmentWrite",
    "Store",
    "VectorTable",
    "blob_to_vec",
    "new_id",
    "pending_migrations",
    "split_sql",
    "vec_to_blob",
]
