"""Keywords of a group of texts (``memoryos_core.extractors.keywords``)."""

from __future__ import annotations

from extractor_support import ALPS

from memoryos_core.extractors import extract_keywords


def test_keywords_rank_topic_words_over_filler() -> None:
    keywords = extract_keywords(ALPS, top_n=8)
    assert len(keywords) == 8
    assert keywords[0] == "hiking"
    assert {"alps", "chamonix", "trails"} <= set(keywords[:5])
    filler = {"yeah", "really", "just", "thanks", "great", "good", "sounds", "amazing", "user", "assistant"}
    assert not filler & set(keywords)
    assert all(k == k.lower() for k in keywords)
    assert len(keywords) == len(set(keywords))


def test_keywords_group_word_forms_and_keep_proper_phrases() -> None:
    keywords = extract_keywords(ALPS, top_n=10)
    assert "hike" not in keywords  # folded into "hiking"
    assert "mont blanc" in keywords and "lac blanc" in keywords
    repeated = extract_keywords(["We flew to New York in May.", "New York was cold.", "I loved New York."], 3)
    assert repeated[0] == "new york"


def test_keywords_prefer_proper_nouns() -> None:
    # "cafe" comes first and is as frequent, but the capitalised name is the better topic handle.
    group = ["The cafe was where we met Priya.", "Back at the cafe with Priya again."]
    assert extract_keywords(group, 2) == ["priya", "cafe"]


def test_keywords_top_n_and_empty_input() -> None:
    assert extract_keywords(ALPS, top_n=3) == extract_keywords(ALPS, top_n=8)[:3]
    assert extract_keywords([], 5) == []
    assert extract_keywords(["", "   "], 5) == []
    assert extract_keywords(["yeah ok thanks lol", "hey hi"], 5) == []
    assert extract_keywords(ALPS, top_n=0) == []


def test_keywords_prefer_words_spread_across_texts() -> None:
    group = ["Sourdough needs a strong starter.", "My sourdough loaf came out flat.",
             "Feeding the sourdough starter daily."]
    assert extract_keywords(group, 2) == ["sourdough", "starter"]
