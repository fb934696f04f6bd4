"""Extractive summaries (``memoryos_core.extractors.summary``)."""

from __future__ import annotations

from extractor_support import ALPS

from memoryos_core.extractors import extractive_summary


def test_summary_respects_length_and_picks_central_sentence() -> None:
    group = [
        "User: Thanks!",
        "User: What's the weather like in London today?",
        "User: We are hiking in the Alps near Chamonix.\nAssistant: Hiking near Chamonix in the Alps is lovely.",
        "Assistant: The best hiking trails in the Alps start in Chamonix.",
    ]
    summary = extractive_summary(group, max_chars=60)
    assert len(summary) <= 60
    assert "Chamonix" in summary and "weather" not in summary and "Thanks" not in summary
    assert not summary.startswith(("User:", "Assistant:"))


def test_summary_keeps_original_order_and_strips_roles() -> None:
    summary = extractive_summary(ALPS, max_chars=400)
    assert "User:" not in summary and "Assistant:" not in summary
    assert len(summary) <= 400
    first, second = "The Alps are beautiful", "Which trails near Chamonix"
    assert first in summary and second in summary
    assert summary.index(first) < summary.index(second)


def test_summary_truncates_on_word_boundary_with_ellipsis() -> None:
    long_sentence = "Hiking across the Alps from Chamonix to Zermatt takes about twelve days on foot."
    summary = extractive_summary([long_sentence], max_chars=30)
    assert summary.endswith("\u2026") and len(summary) <= 30
    body = summary[:-1]
    assert long_sentence.startswith(body)
    assert long_sentence[len(body)] == " "  # the cut fell between words


def test_summary_empty_and_tiny_budgets() -> None:
    assert extractive_summary([]) == ""
    assert extractive_summary(["", "  "]) == ""
    assert extractive_summary(ALPS, max_chars=0) == ""
    assert extractive_summary(["Supercalifragilistic"], max_chars=5) == ""
    assert extractive_summary(["Short one."], max_chars=300) == "Short one."


def test_summary_drops_repeated_sentences() -> None:
    summary = extractive_summary(["I love Lisbon.", "I love Lisbon.", "Lisbon has great food."], 300)
    assert summary.count("I love Lisbon.") == 1
