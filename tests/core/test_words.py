"""The core's tokenizer and normaliser (``memoryos_core.words``)."""

from __future__ import annotations

import pytest

from memoryos_core.words import STOPWORDS, jaccard, search_terms, tokenize


def test_search_terms_fold_possessives_plurals_and_stopwords() -> None:
    assert search_terms("Caroline's pottery classes!") == search_terms("caroline pottery class")
    assert len(search_terms("Caroline's pottery classes!")) == 3 and search_terms("the and of it") == []
    assert search_terms("\u201cAnna\u2019s\u201d hiking") == search_terms("anna hike")  # curly quotes straightened


def test_stopwords_include_english_and_chat_filler() -> None:
    for word in ("the", "and", "i'm", "don't", "yeah", "really", "just", "oh", "hey", "thanks", "lol", "okay"):
        assert word in STOPWORDS
    for word in ("hiking", "lisbon", "nurse"):
        assert word not in STOPWORDS


def test_tokenize_lowercases_drops_stopwords_and_short_tokens() -> None:
    said = "Yeah I\u2019m REALLY into Anna's hiking trips, aren't you? 42 x"
    assert tokenize(said) == ["anna", "hiking", "trips", "42"]
    assert tokenize("") == []
    assert tokenize("oh hey thanks lol") == []
    assert tokenize("Zürich rock'n'roll") == ["zürich", "rock'n'roll"]


def test_jaccard_edge_cases() -> None:
    assert jaccard([], []) == 0.0
    assert jaccard(set(), {"a"}) == 0.0
    assert jaccard(["a", "b"], ["a", "b"]) == 1.0
    assert jaccard(["a", "a", "b"], {"b", "c"}) == pytest.approx(1 / 3)
    assert jaccard({"x"}, {"y"}) == 0.0
