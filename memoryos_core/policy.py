"""The memory rules, as pure functions of the values they are given.

Heat (is a segment hot), when short-term has overflowed, which segments are archived, which
knowledge is evicted and how profile changes merge are decided here and nowhere else. A store
never decides: where a decision depends on rows only its transaction sees consistently (which
segments are hot after this write, which are the coldest now), the engine hands the store its
:class:`Policy`; the store reads those rows, asks the policy, and executes the answer in the same
transaction. Nothing here touches storage, so every rule is tested directly (tests/test_policy.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from .config import MemoryConfig


@dataclass(frozen=True)
class SegmentHeat:
    """What heat is computed from: one segment's counters at the time of the decision."""

    rid: int
    id: str
    visits: int
    fresh_pages: int
    last_active: float
    archived: bool = False


@dataclass(frozen=True)
class HeatParams:
    """Heat = ``alpha * visits + beta * fresh_pages + gamma * exp(-age / tau)``, where age is measured on
    conversation time (the scope's clock), so replaying an old conversation behaves as it did live.
    A segment is hot at ``threshold``."""

    alpha: float
    beta: float
    gamma: float
    tau: float
    threshold: float

    def heat(self, visits: int, fresh_pages: int, last_active: float, clock: float) -> float:
        age = max(0.0, clock - last_active)
        return self.alpha * visits + self.beta * fresh_pages + self.gamma * math.exp(-age / self.tau)

    def of(self, segment: SegmentHeat, clock: float) -> float:
        return self.heat(segment.visits, segment.fresh_pages, segment.last_active, clock)

    def is_hot(self, segment: SegmentHeat, clock: float) -> bool:
        """Hot and with pages not yet analysed: worth a persona pass."""
        return segment.fresh_pages > 0 and self.of(segment, clock) >= self.threshold

    def any_hot(self, segments: Sequence[SegmentHeat], clock: float) -> bool:
        return any(self.is_hot(s, clock) for s in segments)

    def for_persona(self, segments: Sequence[SegmentHeat], clock: float) -> list[int]:
        """Row ids of the segments whose unanalysed pages a persona pass takes: the hot ones, and the
        archived ones (distilled before they go cold for good)."""
        return [s.rid for s in segments if s.fresh_pages > 0 and (s.archived or self.is_hot(s, clock))]


@dataclass(frozen=True)
class FactAge:
    """An active fact as eviction sees it."""

    rid: int
    id: str
    text: str
    updated_at: float


@dataclass(frozen=True)
class ProfileChange:
    """One field's change, for the history table (values as merged, not yet serialised)."""

    key: str
    event: Literal["ADD", "UPDATE", "DELETE"]
    old: Any
    new: Any


@dataclass(frozen=True)
class ProfileMerge:
    fields: dict[str, Any]
    changes: list[ProfileChange] = field(default_factory=list)


@dataclass(frozen=True)
class ExactValue:
    """A profile change that replaces a list field outright (an item was taken out) instead of merging."""

    value: list[Any]


def merge_profile(current: dict[str, Any], changes: dict[str, Any]) -> ProfileMerge:
    """Merge ``changes`` into a profile one field at a time: None, ``""`` or ``[]`` removes the field;
    a list merges into a list (new items appended, order kept), an :class:`ExactValue` replaces it;
    anything else replaces."""
    fields = dict(current)
    out: list[ProfileChange] = []
    for key, value in changes.items():
        old = fields.get(key)
        exact = isinstance(value, ExactValue)
        if isinstance(value, ExactValue):
            value = list(value.value)
        if value is None or value == "" or value == []:
            if key in fields:
                del fields[key]
                out.append(ProfileChange(key, "DELETE", old, None))
            continue
        if isinstance(old, list) and isinstance(value, list) and not exact:
            value = old + [v for v in value if v not in old]
        if value != old:
            fields[key] = value
            out.append(ProfileChange(key, "ADD" if old is None else "UPDATE", old, value))
    return ProfileMerge(fields, out)


@dataclass(frozen=True)
class Policy:
    """The rules a store asks inside its transactions (see the module docstring)."""

    heat: HeatParams
    short_term_capacity: int
    consolidation_batch: int
    mid_term_capacity: int
    knowledge_capacity: int

    @classmethod
    def from_config(cls, config: MemoryConfig) -> "Policy":
        heat = HeatParams(config.heat_alpha, config.heat_beta, config.heat_gamma, config.recency_tau_seconds,
                          config.mid_term_heat_threshold)
        return cls(heat, config.short_term_capacity, config.consolidation_batch_size, config.mid_term_capacity,
                   config.long_term_knowledge_capacity)

    @property
    def consolidate_at(self) -> int:
        """Short-term pages at which consolidation is queued: the window plus a whole batch, so one
        pass moves a batch and the newest ``short_term_capacity`` pages stay in short-term."""
        return self.short_term_capacity + self.consolidation_batch

    def archive_count(self, live_segments: int) -> int:
        """How many segments must leave mid-term to get back to its capacity."""
        return max(0, live_segments - self.mid_term_capacity)

    def to_archive(self, live: Sequence[SegmentHeat], clock: float) -> list[SegmentHeat]:
        """The coldest segments beyond capacity (ties: the older segment first)."""
        ranked = sorted(live, key=lambda s: (self.heat.of(s, clock), s.rid))
        return ranked[: self.archive_count(len(live))]

    @staticmethod
    def distil_before_archiving(archived: Sequence[SegmentHeat]) -> bool:
        """True when an archived segment still has unanalysed pages: a persona pass should take them."""
        return any(s.fresh_pages > 0 for s in archived)

    def to_evict(self, active: Sequence[FactAge]) -> list[FactAge]:
        """Facts of one kind beyond the knowledge capacity: the least recently written first."""
        extra = len(active) - self.knowledge_capacity
        if extra <= 0:
            return []
        return sorted(active, key=lambda f: (f.updated_at, f.rid))[:extra]

    @staticmethod
    def merge_profile(current: dict[str, Any], changes: dict[str, Any]) -> ProfileMerge:
        return merge_profile(current, changes)


__all__ = ["ExactValue", "FactAge", "HeatParams", "Policy", "ProfileChange", "ProfileMerge", "SegmentHeat", "merge_profile"]
