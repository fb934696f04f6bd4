"""Shared pieces of the offline-extractor tests: a sample conversation and fact helpers."""

from __future__ import annotations

from memoryos_core.extractors import ExtractedFact, extract_user_facts

ALPS = [
    "User: Yeah I'm really excited, we're going hiking in the Alps next week!\n"
    "Assistant: That sounds amazing! The Alps are beautiful for hiking in summer.",
    "User: Which trails near Chamonix are good for a beginner hike?\n"
    "Assistant: The Lac Blanc trail near Chamonix is a great hiking route with views of Mont Blanc.",
    "User: Thanks! I just need new hiking boots too.\n"
    "Assistant: Good boots matter a lot on alpine trails.",
]


def texts(facts: list[ExtractedFact]) -> list[str]:
    return [f.text for f in facts]


def only(user_text: str) -> ExtractedFact:
    facts = extract_user_facts(user_text)
    assert len(facts) == 1, facts
    return facts[0]
