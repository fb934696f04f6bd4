"""The core's tokenizer and normaliser (``memoryos_core.words``)."""

from __future__ import annotations

from memoryos_core.words import search_terms


def test_search_terms_fold_possessives_plurals_and_stopwords() -> None:
    assert search_terms("Caroline's pottery classes!") == search_terms("caroline pottery class")
    assert len(search_terms("Caroline's pottery classes!")) == 3 and search_terms("the and of it") == []
    assert search_terms("\u201cAnna\u2019s\u201d hiking") == search_terms("anna hike")  # curly quotes straightened
