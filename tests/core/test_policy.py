"""The memory rules on their own (memoryos_core.policy): no store, no engine, values in and decisions out."""

from __future__ import annotations

import math

import pytest

from memoryos_core.config import MemoryConfig
from memoryos_core.policy import FactAge, HeatParams, Policy, ProfileChange, SegmentHeat, merge_profile

HOUR = 3600.0
DAY = 24 * HOUR
HEAT = HeatParams(alpha=1.0, beta=1.0, gamma=1.0, tau=DAY, threshold=5.0)


def seg(rid: int, visits: int = 0, fresh: int = 0, last_active: float = 0.0, archived: bool = False) -> SegmentHeat:
    return SegmentHeat(rid=rid, id=f"sg_{rid}", visits=visits, fresh_pages=fresh, last_active=last_active,
                       archived=archived)


def policy(**overrides: int) -> Policy:
    values = dict(short_term_capacity=10, consolidation_batch=8, mid_term_capacity=3, knowledge_capacity=2)
    values.update(overrides)
    return Policy(HEAT, **values)


# -- heat ------------------------------------------------------------------------------------


def test_heat_adds_visits_fresh_pages_and_recency_on_conversation_time() -> None:
    assert HEAT.heat(visits=2, fresh_pages=3, last_active=100.0, clock=100.0) == pytest.approx(6.0)
    assert HEAT.heat(0, 0, last_active=0.0, clock=DAY) == pytest.approx(math.exp(-1))
    # A clock behind the segment (an out-of-order page) counts as no age, never as negative age.
    assert HEAT.heat(0, 0, last_active=DAY, clock=0.0) == pytest.approx(1.0)
    weighted = HeatParams(alpha=2.0, beta=0.5, gamma=3.0, tau=HOUR, threshold=1.0)
    assert weighted.heat(1, 4, last_active=0.0, clock=HOUR) == pytest.approx(2.0 + 2.0 + 3.0 * math.exp(-1))
    assert HEAT.of(seg(1, visits=2, fresh=3, last_active=5.0), clock=5.0) == pytest.approx(6.0)


def test_a_segment_is_hot_at_the_threshold_and_only_with_unanalysed_pages() -> None:
    assert HEAT.is_hot(seg(1, visits=1, fresh=3), clock=0.0)  # 1 + 3 + 1 = 5
    assert not HEAT.is_hot(seg(1, visits=0, fresh=3), clock=0.0)  # 4
    assert not HEAT.is_hot(seg(1, visits=1, fresh=3), clock=DAY)  # recency decayed: 4.37
    assert not HEAT.is_hot(seg(1, visits=9, fresh=0), clock=0.0)  # nothing left to analyse
    assert HEAT.any_hot([seg(1), seg(2, visits=4, fresh=1)], clock=0.0)
    assert not HEAT.any_hot([], clock=0.0)


def test_persona_takes_hot_and_archived_segments_with_unanalysed_pages() -> None:
    segments = [seg(1, visits=4, fresh=1), seg(2, fresh=1), seg(3, fresh=1, archived=True),
                seg(4, archived=True), seg(5, visits=9)]
    assert HEAT.for_persona(segments, clock=0.0) == [1, 3]


# -- short-term overflow --------------------------------------------------------------------


def test_consolidation_is_due_once_a_whole_batch_has_overflowed() -> None:
    assert policy(short_term_capacity=10, consolidation_batch=8).consolidate_at == 18
    assert policy(short_term_capacity=1, consolidation_batch=1).consolidate_at == 2


def test_policy_from_config_carries_every_threshold() -> None:
    cfg = MemoryConfig(short_term_capacity=4, mid_term_capacity=50, mid_term_heat_threshold=2.5,
                       long_term_knowledge_capacity=7, heat_alpha=0.5, recency_tau_seconds=HOUR)
    p = Policy.from_config(cfg)
    assert (p.short_term_capacity, p.consolidation_batch, p.mid_term_capacity, p.knowledge_capacity) == (
        4, cfg.consolidation_batch_size, 50, 7)
    assert (p.heat.alpha, p.heat.beta, p.heat.gamma, p.heat.tau, p.heat.threshold) == (
        0.5, cfg.heat_beta, cfg.heat_gamma, HOUR, 2.5)
    assert p.consolidate_at == 4 + cfg.consolidation_batch_size


# -- archiving ------------------------------------------------------------------------------


def test_the_coldest_segments_beyond_capacity_are_archived() -> None:
    p = policy(mid_term_capacity=3)
    clock = 10 * DAY
    live = [seg(1, visits=5, last_active=0.0), seg(2, last_active=9 * DAY), seg(3, last_active=DAY),
            seg(4, fresh=2, last_active=10 * DAY), seg(5, last_active=2 * DAY)]
    assert p.archive_count(len(live)) == 2
    assert [s.rid for s in p.to_archive(live, clock)] == [3, 5]  # the two oldest without visits or fresh pages
    assert p.to_archive(live[:3], clock) == []
    assert p.archive_count(2) == 0


def test_archiving_ties_go_to_the_older_segment() -> None:
    p = policy(mid_term_capacity=1)
    assert [s.rid for s in p.to_archive([seg(7), seg(3), seg(5)], clock=0.0)] == [3, 5]


def test_unanalysed_pages_of_archived_segments_are_distilled_first() -> None:
    assert Policy.distil_before_archiving([seg(1), seg(2, fresh=1)])
    assert not Policy.distil_before_archiving([seg(1), seg(2, visits=3)])
    assert not Policy.distil_before_archiving([])


# -- knowledge eviction ---------------------------------------------------------------------


def test_knowledge_beyond_capacity_evicts_the_least_recently_written() -> None:
    p = policy(knowledge_capacity=2)
    facts = [FactAge(1, "ft_a", "a", updated_at=30.0), FactAge(2, "ft_b", "b", updated_at=10.0),
             FactAge(3, "ft_c", "c", updated_at=20.0), FactAge(4, "ft_d", "d", updated_at=10.0)]
    assert [f.rid for f in p.to_evict(facts)] == [2, 4]  # same time: the older row first
    assert p.to_evict(facts[:2]) == []
    assert p.to_evict([]) == []


# -- profile merge --------------------------------------------------------------------------


def test_profile_fields_merge_one_at_a_time_with_their_changes() -> None:
    first = merge_profile({}, {"name": "Alice", "likes": ["tea"], "city": ""})
    assert first.fields == {"name": "Alice", "likes": ["tea"]}
    assert first.changes == [ProfileChange("name", "ADD", None, "Alice"), ProfileChange("likes", "ADD", None, ["tea"])]
    second = merge_profile(first.fields, {"name": "Alicia", "likes": ["chess", "tea"], "pets": []})
    assert second.fields == {"name": "Alicia", "likes": ["tea", "chess"]}  # lists grow, order kept
    assert second.changes == [ProfileChange("name", "UPDATE", "Alice", "Alicia"),
                              ProfileChange("likes", "UPDATE", ["tea"], ["tea", "chess"])]
    third = merge_profile(second.fields, {"name": None, "likes": ["tea"], "job": "nurse"})
    assert third.fields == {"likes": ["tea", "chess"], "job": "nurse"}
    assert third.changes == [ProfileChange("name", "DELETE", "Alicia", None), ProfileChange("job", "ADD", None, "nurse")]
    assert first.fields == {"name": "Alice", "likes": ["tea"]}  # the input is never changed in place
    assert policy().merge_profile({"a": 1}, {"a": 2}).fields == {"a": 2}


def test_a_scalar_replaces_a_list_and_an_unchanged_value_records_nothing() -> None:
    merged = merge_profile({"likes": ["tea"], "name": "Alice"}, {"likes": "coffee", "name": "Alice"})
    assert merged.fields == {"likes": "coffee", "name": "Alice"}
    assert merged.changes == [ProfileChange("likes", "UPDATE", ["tea"], "coffee")]
