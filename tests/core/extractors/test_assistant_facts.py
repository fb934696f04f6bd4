"""Rule-based facts about the assistant (``memoryos_core.extractors.assistant_facts``)."""

from __future__ import annotations

import pytest
from extractor_support import texts

from memoryos_core.extractors import ExtractedFact, extract_assistant_facts


def test_assistant_name() -> None:
    expected = [ExtractedFact("Assistant's name is Aria.", "assistant_name", None, None)]
    assert extract_assistant_facts("My name is Aria, and I'm here to help.") == expected
    assert extract_assistant_facts("I'm Aria, your travel assistant.") == expected
    assert extract_assistant_facts("I'm happy to help!") == []


def test_assistant_recommendations() -> None:
    assert extract_assistant_facts("I recommend trying the pastel de nata at Manteigaria.") == [
        ExtractedFact("Assistant recommended trying the pastel de nata at Manteigaria.", None, None, None)]
    assert texts(extract_assistant_facts("I'd suggest you visit Sintra early in the morning.")) == [
        "Assistant recommended that the user visit Sintra early in the morning."]
    assert texts(extract_assistant_facts("I recommended Porto because of the food.")) == [
        "Assistant recommended Porto."]


def test_assistant_promises() -> None:
    assert texts(extract_assistant_facts("Sure! I'll remind you to call your mom tomorrow.")) == [
        "Assistant promised to remind the user to call the user's mom tomorrow."]
    assert texts(extract_assistant_facts("I will remind you!")) == ["Assistant promised to remind the user."]


@pytest.mark.parametrize("said", [
    "Would you like me to remind you?", "I don't recommend swimming there.", "Can I recommend something?",
    "I recommend it.", "I won't remind you.", "Do you want me to suggest a book?",
])
def test_assistant_negatives(said: str) -> None:
    assert extract_assistant_facts(said) == []


def test_assistant_facts_never_touch_profile() -> None:
    facts = extract_assistant_facts("My name is Aria. I recommend the Lisbon Card. I'll remind you on Friday.")
    assert len(facts) == 3
    assert all(f.profile_field is None and f.profile_value is None for f in facts)
    assert all(f.text.startswith("Assistant") and f.text.endswith(".") for f in facts)
