"""Relative times in remembered lines carry the absolute time they point to."""

from __future__ import annotations

import pytest

from memoryos_core.relative_time import annotate_relative_times
from memoryos_core.times import parse_timestamp

MONDAY_8_MAY_2023 = parse_timestamp("2023-05-08T13:56:00")


@pytest.mark.parametrize("said, note", [
    ("I went to a support group yesterday.", "yesterday = 7 May 2023"),
    ("Last night was loud.", "last night = 7 May 2023"),
    ("See you tomorrow!", "tomorrow = 9 May 2023"),
    ("I went to a conference two days ago", "two days ago = 6 May 2023"),
    ("We met 3 weeks ago", "3 weeks ago = around 17 April 2023"),
    ("It closed a couple of months ago", "a couple of months ago = around March 2023"),
    ("I joined a group last Tues.", "last tues = 2 May 2023"),
    ("Last Friday I took my kids", "last friday = 5 May 2023"),
    ("last Monday", "last monday = 1 May 2023"),  # said on a Monday: the Monday before
    ("Last weekend we hiked", "last weekend = the weekend before 8 May 2023"),
    ("last week we went", "last week = the week before 8 May 2023"),
    ("Next month I have a show", "next month = June 2023"),
    ("this month", "this month = May 2023"),
    ("We adopted last year", "last year = 2022"),
    ("next year in Japan", "next year = 2024"),
])
def test_expressions_are_resolved_against_the_date_said(said: str, note: str) -> None:
    # the words stay exactly as said (a quote of them is still found), the resolution follows them
    assert annotate_relative_times(said, MONDAY_8_MAY_2023) == f"{said} ({note})"


def test_year_and_month_boundaries() -> None:
    new_year = parse_timestamp("2024-01-01T09:00:00")
    assert annotate_relative_times("yesterday and last month, yesterday", new_year) == \
        "yesterday and last month, yesterday (yesterday = 31 December 2023; last month = December 2023)"


def test_unsure_or_already_annotated_text_is_left_alone() -> None:
    assert annotate_relative_times("a few days ago", MONDAY_8_MAY_2023) == "a few days ago"
    once = annotate_relative_times("yesterday", MONDAY_8_MAY_2023)
    assert annotate_relative_times(once, MONDAY_8_MAY_2023) == once
    assert annotate_relative_times("yesterday", None) == "yesterday"
    assert annotate_relative_times("", MONDAY_8_MAY_2023) == ""
    assert annotate_relative_times("Yesterdays are gone", MONDAY_8_MAY_2023) == "Yesterdays are gone"


def test_context_shows_resolved_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from memoryos_core import HashingEmbedder, Memoryos

    memory = Memoryos(user_id="u", data_storage_path=tmp_path, background=False, embedder=HashingEmbedder(256))
    memory.add_memory("I went to a pottery class yesterday.", "Fun!", timestamp="2023-07-03T10:00:00")
    for i in range(15):
        memory.add_memory(f"Filler {i} about the weather", "ok", timestamp=f"2023-07-{4 + i:02d}T10:00:00")
    result = memory.retrieve("When did I go to the pottery class?", max_context_tokens=1500)
    assert "I went to a pottery class yesterday. (yesterday = 2 July 2023)" in result.context
    past = [u.text for e in result.sections.past for u in e.utterances]
    assert any(text.endswith("(yesterday = 2 July 2023)") for text in past)
    memory.close()
