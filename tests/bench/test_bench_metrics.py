"""LoCoMo scoring on hand-made cases, with the expected values worked out by hand."""

from __future__ import annotations

import math

import pytest

from memoryos_bench import metrics as m
from memoryos_bench.baselines import BM25, bm25_tokens, rrf


def test_normalize_answer_drops_commas_punctuation_articles_and_and() -> None:
    assert m.normalize_answer("The Cat, a Dog and an Owl!") == "cat dog owl"
    assert m.normalize_answer("1,000 dollars.") == "1000 dollars"


def test_official_f1_multiset_overlap_with_porter_stems() -> None:
    # "cat sat" vs "cat sat down": 2 common, P = 1, R = 2/3 -> F1 = 0.8
    assert m.f1_tokens("The cat sat", "a cat sat down") == pytest.approx(0.8)
    # Porter stems: running -> run, dogs -> dog
    assert m.f1_tokens("running dogs", "run dog") == pytest.approx(1.0)
    # multiset: "cat cat cat" vs "cat dog": 1 common, P = 1/3, R = 1/2 -> 0.4
    assert m.f1_tokens("cat cat cat", "cat dog") == pytest.approx(0.4)
    assert m.f1_tokens("", "cat") == 0.0
    assert m.official_f1("7 May, 2023", "7 May 2023", 2) == pytest.approx(1.0)
    assert m.official_f1(2022, 2022, 4) == 1.0


def test_official_f1_category_1_splits_on_commas() -> None:
    # gold parts "hiking", "swimming"; prediction "swimming": (0 + 1) / 2
    assert m.official_f1("swimming", "hiking, swimming", 1) == pytest.approx(0.5)
    # prediction parts "I like swimming" and "hiking":
    #   gold "hiking" -> 1.0; gold "swimming" vs "i like swim": P = 1/3, R = 1 -> 0.5; mean 0.75
    assert m.official_f1("I like swimming, hiking", "hiking, swimming", 1) == pytest.approx(0.75)
    # the same strings scored as category 4 do not split: "i like swim hike" vs "hike swim": P 2/4, R 1
    assert m.official_f1("I like swimming, hiking", "hiking, swimming", 4) == pytest.approx(2 / 3)


def test_official_f1_category_3_cuts_gold_at_semicolon() -> None:
    # gold "Likely yes" (after the cut) -> stems "like", "ye"; prediction "ye": P = 1, R = 1/2
    assert m.official_f1("yes", "Likely yes; she said so", 3) == pytest.approx(2 / 3)
    # without the cut the gold has 5 stems: P = 1, R = 1/5 -> 1/3
    assert m.official_f1("yes", "Likely yes; she said so", 4) == pytest.approx(1 / 3)


def test_official_f1_category_5_rewards_abstention() -> None:
    assert m.official_f1("Not mentioned in the conversation", "", 5) == 1.0
    assert m.official_f1("No information available.", "", 5) == 1.0
    assert m.official_f1("Paris", "", 5) == 0.0


def test_mem0_set_f1() -> None:
    # sets {the, cat, hat} vs {cat, hat}: P = 2/3, R = 1 -> 0.8
    assert m.set_f1("The cat, the hat.", "cat hat") == pytest.approx(0.8)
    # duplicates do not count: {cat} vs {cat, dog}: P = 1, R = 1/2 -> 2/3
    assert m.set_f1("cat cat cat", "cat dog") == pytest.approx(2 / 3)
    # no stemming, no article removal, but ". , ! ?" become spaces
    assert m.set_f1("Dogs!", "dog") == 0.0
    assert m.set_f1("", "dog") == 0.0
    assert m.set_f1(2022, "2022") == 1.0


def test_bleu1_against_hand_computed_values() -> None:
    # 6 hypothesis tokens, 5 clipped matches (the x2, cat, on, mat), same length: 5/6
    assert m.bleu1("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    # all 2 tokens match but brevity penalty exp(1 - 6/2)
    assert m.bleu1("the cat", "the cat sat on the mat") == pytest.approx(math.exp(-2))
    # lowercased before tokenising
    assert m.bleu1("The Cat", "the cat") == pytest.approx(1.0)
    # nltk returns 0 when no unigram matches at all (smoothing only applies to higher orders then)
    assert m.bleu1("dog", "cat") == 0.0


def test_word_tokenize_matches_treebank_conventions() -> None:
    assert m.word_tokenize("It's May 7, 2023. She didn't go!") == [
        "It", "'s", "May", "7", ",", "2023", ".", "She", "did", "n't", "go", "!"]
    assert m.word_tokenize("") == []


def test_evidence_recall_counts_contained_turns() -> None:
    context = "[8 May 2023] Caroline: I went to a  support group.\nMelanie: Nice!"
    assert m.evidence_recall(context, ["I went to a support group.", "Melanie: Nice!"]) == 1.0
    assert m.evidence_recall(context, ["I went to a support group.", "Something else"]) == 0.5
    assert m.evidence_recall(context, []) is None
    assert m.evidence_recall("", ["x"]) == 0.0


def test_percentile_interpolates_like_numpy() -> None:
    assert m.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert m.percentile([10], 95) == 10
    assert m.percentile([], 50) is None
    assert m.percentile(list(range(101)), 95) == pytest.approx(95)


def test_bm25_prefers_rare_matching_terms_and_rrf_fuses() -> None:
    docs = [bm25_tokens(t) for t in ("I adopted a beagle called Biscuit", "The weather is nice today",
                                     "Weather again and again the weather")]
    bm25 = BM25(docs)
    scores = bm25.scores(bm25_tokens("What is my beagle called?"))
    assert scores[0] > 0 and scores[1] == 0 and scores[2] == 0
    weather = bm25.scores(bm25_tokens("weather"))
    assert weather[2] > weather[1] > 0  # term frequency counts, saturating
    assert rrf([[0, 1, 2], [2, 1]]) == [2, 1, 0]  # 2: 1/63 + 1/61 edges out 1: 2/62; 0: 1/61
