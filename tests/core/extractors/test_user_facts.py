"""Rule-based facts about the user (``memoryos_core.extractors.user_facts`` and its rule modules)."""

from __future__ import annotations

import pytest
from extractor_support import ALPS, only, texts

from memoryos_core.extractors import (
    ExtractedFact,
    extract_assistant_facts,
    extract_keywords,
    extract_user_facts,
    extractive_summary,
)


# -- user facts: name -----------------------------------------------------------------------


@pytest.mark.parametrize("said, name", [
    ("My name is Alice and I live in Lisbon.", "Alice"),
    ("my name\u2019s john btw", "John"),
    ("Hi, I'm Sam Taylor and I'm a nurse.", "Sam Taylor"),
    ("I'm Anna, nice to meet you!", "Anna"),
    ("Call me Liz.", "Liz"),
    ("I'm Dr. Smith", "Dr. Smith"),
])
def test_name(said: str, name: str) -> None:
    facts = [f for f in extract_user_facts(said) if f.slot == "name"]
    assert facts == [ExtractedFact(f"User's name is {name}.", "name", "name", name)]


@pytest.mark.parametrize("said", [
    "I'm tired.", "I'm good, thanks", "i'm anna", "I'm Sorry about that", "I'm American", "I'm Excited!",
    "What's my name?", "My name is not important", "I'm Anna's mom", "Can you call me later?",
])
def test_name_negatives(said: str) -> None:
    assert not [f for f in extract_user_facts(said) if f.slot == "name"]


# -- location / origin --------------------------------------------------------------------------


@pytest.mark.parametrize("said, place", [
    ("I live in Lisbon.", "Lisbon"),
    ("I moved to Porto last week.", "Porto"),
    ("I just relocated to new york with my wife", "New York"),
    ("I\u2019ve been living in Berlin for 5 years.", "Berlin"),
    ("i moved to the netherlands two years ago", "the Netherlands"),
    ("I live in St. Louis, Missouri.", "St. Louis"),
    ("I live in Lisbon, do you know it?", "Lisbon"),
])
def test_location(said: str, place: str) -> None:
    fact = only(said)
    assert fact == ExtractedFact(f"User lives in {place}.", "location", "location", place)


def test_origin_is_a_separate_slot() -> None:
    facts = extract_user_facts("I'm from Porto but I live in Berlin now.")
    assert facts == [
        ExtractedFact("User is from Porto.", "origin", "hometown", "Porto"),
        ExtractedFact("User lives in Berlin.", "location", "location", "Berlin"),
    ]
    assert only("i\u2019m from brazil originally").profile_value == "Brazil"
    assert only("I grew up in Kyoto.").text == "User grew up in Kyoto."


@pytest.mark.parametrize("said", [
    "I don't live in Paris.", "I no longer live in Rome", "Where do I live?", "Do you live in Lisbon?",
    "If I lived in Paris I would be happy", "I wish I lived in Hawaii", "I live in an apartment",
    "I live in fear", "I never lived in Rome", "Where do I live",
])
def test_location_negatives(said: str) -> None:
    assert extract_user_facts(said) == []


# -- occupation / employer ----------------------------------------------------------------------


def test_occupation_and_employer() -> None:
    assert extract_user_facts("I work as a nurse at the city hospital.") == [
        ExtractedFact("User works as a nurse.", "occupation", "occupation", "nurse"),
        ExtractedFact("User works at the city hospital.", "employer", "employer", "the city hospital"),
    ]
    assert texts(extract_user_facts("I'm a software engineer at Google.")) == [
        "User is a software engineer.", "User works at Google."]
    assert only("i'm a high school teacher").profile_value == "high school teacher"
    assert only("im an engineer").text == "User is an engineer."
    assert only("I'm retired.") == ExtractedFact("User is retired.", "occupation", "occupation", "retired")
    assert only("I work for Siemens.") == ExtractedFact("User works for Siemens.", "employer", "employer", "Siemens")
    assert texts(extract_user_facts("i work at google as a designer")) == [
        "User works at Google.", "User works as a designer."]


@pytest.mark.parametrize("said", [
    "I'm a bit tired.", "I'm a big believer in rest", "I'm not a teacher.", "Are you a teacher?",
    "I work from home", "I work at night", "I work for a living", "i work for myself", "I'm a mess",
])
def test_occupation_negatives(said: str) -> None:
    assert not [f for f in extract_user_facts(said) if f.slot in {"occupation", "employer"}]


# -- likes / hobbies / favourites / dislikes ------------------------------------------------------


def test_likes_and_hobbies() -> None:
    assert only("I love trail running on weekends.") == ExtractedFact(
        "User loves trail running.", None, "hobbies", "trail running")
    assert only("I like to cook Italian food.") == ExtractedFact(
        "User likes to cook Italian food.", None, "hobbies", "cooking Italian food")
    assert only("I love Lisbon so much") == ExtractedFact("User loves Lisbon.", None, "likes", "Lisbon")
    assert only("I really enjoy reading sci-fi novels").profile_field == "hobbies"
    assert only("I'm obsessed with K-pop").text == "User is obsessed with K-pop."
    assert only("I play tennis on weekends") == ExtractedFact("User plays tennis.", None, "hobbies", "tennis")
    assert texts(extract_user_facts("my hobbies are painting, hiking and chess")) == [
        "User's hobbies include painting.", "User's hobbies include hiking.", "User's hobbies include chess."]


def test_object_is_cut_at_clause_boundaries() -> None:
    assert texts(extract_user_facts("I really like spicy food but I hate olives")) == [
        "User likes spicy food.", "User hates olives."]
    assert only("I love hiking, cooking and reading").profile_value == "hiking"
    assert only("I enjoy pizza because it's cheap").profile_value == "pizza"


def test_favorite() -> None:
    assert only("My favourite colour is teal.") == ExtractedFact(
        "User's favorite colour is teal.", "favorite_colour", "likes", "teal")
    assert only("my favorite band is Radiohead").slot == "favorite_band"
    assert only("Sushi is my favorite food.").text == "User's favorite food is Sushi."


def test_dislikes() -> None:
    assert only("I hate Mondays.") == ExtractedFact("User hates Mondays.", None, "dislikes", "Mondays")
    assert only("I can't stand cilantro, it tastes like soap.").text == "User can't stand cilantro."
    assert only("I don\u2019t like horror movies").text == "User doesn't like horror movies."
    assert only("I'm not a fan of jazz").profile_value == "jazz"


@pytest.mark.parametrize("said", [
    "Do you like hiking?", "I'd like a coffee", "I would love to help", "I like it", "I love you",
    "I like the way you think", "I love that idea", "I like it when you explain things", "I'm like so tired",
    "I hate to say it but you're right", "do you enjoy jazz",
])
def test_preference_negatives(said: str) -> None:
    assert extract_user_facts(said) == []


# -- family / pets --------------------------------------------------------------------------------


def test_family() -> None:
    assert only("My sister is called Maria.") == ExtractedFact(
        "User has a sister named Maria.", None, "family", "sister named Maria")
    assert only("my sister Anna lives in Rome").text == "User has a sister named Anna."
    assert only("my daughter's name is lily").profile_value == "daughter named Lily"
    assert only("My sister is a doctor.") == ExtractedFact("User's sister is a doctor.", None, "family", "sister")
    assert only("my mom lives in Madrid").text == "User's mom lives in Madrid."
    assert only("I've got a younger brother").text == "User has a younger brother."
    assert only("my son is 5 years old").text == "User's son is 5 years old."


def test_pets() -> None:
    assert extract_user_facts("I have two cats named Luna and Milo and a dog.") == [
        ExtractedFact("User has two cats named Luna and Milo.", None, "pets", "two cats named Luna and Milo"),
        ExtractedFact("User has a dog.", None, "pets", "dog"),
    ]
    assert only("My dog Max is a golden retriever.").text == "User has a dog named Max."
    assert only("I adore my cat Whiskers.").profile_field == "pets"


@pytest.mark.parametrize("said", [
    "I don't have a dog", "I have no kids", "I have a question", "my sister said hi", "my dog is sick",
    "Do you have a dog?", "I have a dog-eared copy of that book",
])
def test_family_pet_negatives(said: str) -> None:
    assert extract_user_facts(said) == []


# -- age / relationship / studies / plans ---------------------------------------------------------


@pytest.mark.parametrize("said", ["I'm 32 years old", "I am 32", "Im 32 and I live in NYC", "I just turned 32"])
def test_age(said: str) -> None:
    assert extract_user_facts(said)[0] == ExtractedFact("User is 32 years old.", "age", "age", "32")


@pytest.mark.parametrize("said", ["I'm 5 minutes away", "I'm 100% sure", "I'm 6 foot tall", "Am I 32?"])
def test_age_negatives(said: str) -> None:
    assert extract_user_facts(said) == []


def test_relationship_and_diet() -> None:
    assert only("I'm married.") == ExtractedFact(
        "User is married.", "relationship_status", "relationship_status", "married")
    assert only("I got engaged last month").profile_value == "engaged"
    assert only("I am a vegan").slot == "diet"
    assert extract_user_facts("I'm single-handedly running this") == []


def test_studies() -> None:
    assert extract_user_facts("I study computer science at MIT.") == [
        ExtractedFact("User studies computer science.", "studies", "studies", "computer science"),
        ExtractedFact("User studies at MIT.", "school", "school", "MIT"),
    ]
    assert only("I'm studying biology").text == "User studies biology."
    assert extract_user_facts("I'm studying for my exam") == []
    assert extract_user_facts("I'm studying hard") == []


def test_plans_are_non_exclusive() -> None:
    plan = only("I'm planning to visit Japan next spring.")
    assert plan == ExtractedFact("User is planning to visit Japan next spring.", None, None, None)
    assert only("I'm going to Paris next week!").text == "User is going to Paris next week."
    assert only("I'm moving to Canada").text == "User is moving to Canada."
    assert only("I plan to learn Spanish").text == "User plans to learn Spanish."
    assert only("I'll call my mom tomorrow").text == "User will call their mom tomorrow."
    assert extract_user_facts("I'm going to bed") == []
    assert extract_user_facts("I'm going to try") == []
    assert extract_user_facts("I'll think about it tomorrow") == []
    assert extract_user_facts("Are you going to Paris next week?") == []


# -- general properties ------------------------------------------------------------------------------


def test_several_facts_from_one_message_in_reading_order() -> None:
    facts = extract_user_facts("Okay so I'm Maria, I just moved to Madrid last month, and I'm a teacher.")
    assert texts(facts) == ["User's name is Maria.", "User lives in Madrid.", "User is a teacher."]
    assert all(f.text.startswith("User") and f.text.endswith(".") for f in facts)


def test_duplicates_are_removed_within_one_call() -> None:
    facts = extract_user_facts("I live in Lisbon. I live in Lisbon! i live in lisbon")
    assert texts(facts) == ["User lives in Lisbon."]


def test_questions_yield_nothing_but_statement_before_tag_question_counts() -> None:
    assert extract_user_facts("Do you know I live in Lisbon?") == []
    assert extract_user_facts("Where do I work") == []
    assert only("I live in Lisbon, what about you?").profile_value == "Lisbon"


@pytest.mark.parametrize("said", [
    "I don't think I live in Paris", "I'm not sure I like jazz", "If I work at Google next year, fine",
    "do you think i live in paris", "I doubt it, but I never said I'm a teacher",
    "Imagine I'm a pilot", "whether I love it or not",
])
def test_negated_or_hypothetical_clauses_yield_nothing(said: str) -> None:
    assert extract_user_facts(said) == []


def test_negation_scope_ends_at_clause_boundary() -> None:
    assert only("I don't know, I live in Lisbon.").profile_value == "Lisbon"
    assert only("Not Paris, but I live in Lisbon.").profile_value == "Lisbon"


def test_user_role_prefix_and_empty_input() -> None:
    assert only("User: I live in Lisbon.").profile_value == "Lisbon"
    assert extract_user_facts("") == []
    assert extract_user_facts("   \n ") == []


def test_deterministic_and_pathological_input_yields_nothing() -> None:
    # Speed is measured in benchmarks, not asserted here; pytest-timeout catches a runaway regex.
    message = ("My name is Alice and I live in Lisbon. I work as a nurse at the city hospital. "
               "I love trail running on weekends. My sister is called Maria. ") * 40
    first = extract_user_facts(message)
    assert first == extract_user_facts(message)
    assert extract_keywords(ALPS * 5) == extract_keywords(ALPS * 5)
    assert extractive_summary(ALPS, 200) == extractive_summary(ALPS, 200)
    assert extract_user_facts("i'm " * 3000) == []
    assert extract_assistant_facts("I recommend " * 3000) == []
    assert len(extractive_summary([message] * 20, 400)) <= 400


def test_fact_is_frozen() -> None:
    fact = only("I live in Lisbon.")
    with pytest.raises(AttributeError):
        fact.text = "x"  # type: ignore[misc]
