"""Scores used on LoCoMo: official F1, the mem0/A-Mem set F1, BLEU-1, evidence recall, percentiles.

Official F1 follows LoCoMo's ``task_eval/evaluation.py``: drop commas, lowercase, strip
punctuation, drop a/an/the/and, Porter-stem (``nltk.stem.PorterStemmer``, no data needed), then
multiset token overlap. Category 1 splits gold and prediction on commas and averages, over the gold
parts, the best match with any predicted part; category 3 cuts the gold answer at its first ``;``.

The mem0 / A-Mem variant lowercases, turns ``. , ! ?`` into spaces, splits on whitespace and takes
F1 over token *sets*. BLEU-1 is nltk's ``sentence_bleu`` with weights (1, 0, 0, 0) and smoothing
method1 over lowercased tokens.

Tokenisation for BLEU-1: ``nltk.word_tokenize`` needs the ``punkt`` data, which cannot be
downloaded here. :func:`word_tokenize` reproduces it without data: a regex sentence splitter
(split after ``.``, ``!`` or ``?`` followed by whitespace) in place of punkt, then nltk's own
``NLTKWordTokenizer`` (the Treebank-style word tokenizer ``word_tokenize`` applies to each
sentence, pure regex, no data). It differs from ``word_tokenize`` only where punkt would keep an
abbreviation's period inside a sentence ("Dr. Smith"), which short QA answers rarely contain.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from functools import lru_cache
from typing import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCT = set(string.punctuation)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WS = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - nltk type
    from nltk.stem import PorterStemmer

    return PorterStemmer()


@lru_cache(maxsize=1)
def _word_tokenizer():  # noqa: ANN202
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


# -- LoCoMo official --------------------------------------------------------------------------

def normalize_answer(text: object) -> str:
    s = str(text).replace(",", "")
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _stems(text: object) -> list[str]:
    stem = _stemmer().stem
    return [stem(w) for w in normalize_answer(text).split()]


def f1_tokens(prediction: object, gold: object) -> float:
    """LoCoMo's ``f1_score``: multiset overlap of stemmed, normalised tokens."""
    pred, ref = _stems(prediction), _stems(gold)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1_multi(prediction: object, gold: object) -> float:
    """LoCoMo's ``f1`` for multi-answer questions: comma-split parts, best prediction part per gold part."""
    preds = [p.strip() for p in str(prediction).split(",")]
    golds = [g.strip() for g in str(gold).split(",")]
    return sum(max(f1_tokens(p, g) for p in preds) for g in golds) / len(golds)


def official_f1(prediction: object, gold: object, category: int) -> float:
    """The LoCoMo score of one answer for its category (5: 1 if it says the information is missing)."""
    prediction = str(prediction)
    if category == 5:
        low = prediction.lower()
        return 1.0 if ("no information available" in low or "not mentioned" in low) else 0.0
    answer = str(gold)
    if category == 3:
        answer = answer.split(";")[0].strip()
    if category == 1:
        return f1_multi(prediction, answer)
    return f1_tokens(prediction, answer)


# -- mem0 / A-Mem ---------------------------------------------------------------------------

def simple_tokens(text: object) -> list[str]:
    s = str(text).lower()
    for ch in ".,!?":
        s = s.replace(ch, " ")
    return s.split()


def set_f1(prediction: object, gold: object) -> float:
    """F1 over token sets, as in the mem0 and A-Mem evaluation code."""
    pred, ref = set(simple_tokens(prediction)), set(simple_tokens(gold))
    if not pred or not ref:
        return 0.0
    common = pred & ref
    if not common:
        return 0.0
    precision, recall = len(common) / len(pred), len(common) / len(ref)
    return 2 * precision * recall / (precision + recall)


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize`` without punkt: regex sentence split, then nltk's Treebank-style tokenizer."""
    tok = _word_tokenizer()
    out: list[str] = []
    for sentence in _SENTENCE_END.split(str(text).strip()):
        if sentence:
            out.extend(tok.tokenize(sentence))
    return out


def bleu1(prediction: object, gold: object) -> float:
    """Sentence BLEU-1 with nltk's smoothing method1, on lowercased tokens (mem0 / A-Mem)."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    hyp = word_tokenize(str(prediction).lower())
    ref = word_tokenize(str(gold).lower())
    if not hyp or not ref:
        return 0.0
    return float(sentence_bleu([ref], hyp, weights=(1, 0, 0, 0), smoothing_function=SmoothingFunction().method1))


# -- retrieval ------------------------------------------------------------------------------

def squash(text: str) -> str:
    """Whitespace-collapsed text, so containment does not depend on line breaks or double spaces."""
    return _WS.sub(" ", text).strip()


def evidence_recall(context: str, evidence_texts: Sequence[str]) -> float | None:
    """Fraction of evidence turn texts contained in ``context``; None when there is no evidence."""
    texts = [squash(t) for t in evidence_texts]
    if not texts:
        return None
    haystack = squash(context)
    return sum(1 for t in texts if t in haystack) / len(texts)


def mean(values: Iterable[float]) -> float | None:
    vals = [float(v) for v in values]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100), like numpy's default."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


# -- real-reader proxies and statistics -----------------------------------------------------------

#: Function words left out of the answer-in-context check, beyond LoCoMo's a/an/the/and: they are
#: in almost every context and would make any answer look present. Month names ("may") stay.
_FUNCTION_WORDS = frozenset({"of", "in", "on", "at", "to", "for", "with", "by", "from", "as", "or", "is", "was",
                             "are", "were", "be", "been", "it", "its", "that", "this", "he", "she", "his", "her",
                             "they", "their", "them", "i", "my", "me", "we", "our", "you", "your"})


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer().stem(word))


def gold_for_category(gold: object, category: int) -> str:
    """The gold answer LoCoMo's F1 scores against: category 3 cut at its first ``;``."""
    text = str(gold)
    return text.split(";")[0].strip() if category == 3 else text


def answer_in_context(context: str, gold: object, category: int) -> float | None:
    """Fraction of the gold answer's content tokens found in the context (an LLM-free proxy).

    Both sides are normalised and stemmed as LoCoMo's F1 does (commas, punctuation, a/an/the/and
    removed, lowercase, Porter stems); common function words are left out of the gold tokens. None
    for category 5 (no gold answer to find) or a gold answer without content tokens.
    """
    if category == 5:
        return None
    wanted = {_stem(w) for w in normalize_answer(gold_for_category(gold, category)).split()
              if w not in _FUNCTION_WORDS}
    if not wanted:
        return None
    present = {_stem(w) for w in set(normalize_answer(context).split())}
    return len(wanted & present) / len(wanted)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r (the point-biserial correlation when one side is 0/1); None if either side is constant."""
    if len(xs) != len(ys):
        raise ValueError("pearson needs two sequences of the same length")
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = 2000, seed: int = 0,
                     confidence: float = 0.95) -> dict[str, float | int]:
    """Mean of ``a - b`` over paired items and its percentile bootstrap interval.

    Items (questions) are resampled with replacement ``resamples`` times with numpy's PCG64
    generator seeded by ``seed``; the interval is the (1-confidence)/2 and (1+confidence)/2
    percentiles (linear interpolation) of the resampled means. ``share_at_or_below_zero`` is the
    fraction of resampled means <= 0.
    """
    import numpy as np

    if len(a) != len(b):
        raise ValueError("paired_bootstrap needs paired scores of the same length")
    if not a:
        raise ValueError("paired_bootstrap needs at least one pair")
    diffs = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return {"mean_difference": float(diffs.mean()), "low": float(lo), "high": float(hi), "pairs": len(diffs),
            "resamples": resamples, "seed": seed, "confidence": confidence,
            "share_at_or_below_zero": float((means <= 0).mean())}
