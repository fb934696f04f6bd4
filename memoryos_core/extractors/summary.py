"""Extractive summaries: the most central sentences of a group of texts, in their original order, within
a character budget, for segment summaries without a model.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from ..words import WORD, jaccard, normalise, stem, strip_roles, tokenize
from .sentences import split_sentences


def _truncate_words(text: str, max_chars: int) -> str:
    """Cut at a word boundary and mark the cut, so a truncated summary never ends mid-word."""
    if len(text) <= max_chars:
        return text
    budget = max_chars - 1  # room for the ellipsis
    if budget <= 0:
        return ""
    cut = text[: budget + 1]
    space = cut.rfind(" ")
    if space <= 0:
        return ""
    head = text[:space].rstrip(" ,;:-\u2013\u2014")
    return head + "\u2026" if head else ""


def extractive_summary(texts: list[str], max_chars: int = 300) -> str:
    """The most central sentences (shared vocabulary with the group), in original order, within max_chars."""
    if max_chars <= 0:
        return ""
    sentences: list[str] = []
    seen: set[str] = set()
    for text in texts:
        if not text:
            continue
        for raw in split_sentences(strip_roles(normalise(text))):
            s = re.sub(r"\s+", " ", raw).strip()
            if not s or not WORD.search(s) or s.casefold() in seen:
                continue
            seen.add(s.casefold())
            if s[-1] not in ".!?\"')":
                s += "."
            sentences.append(s)
    if not sentences:
        return ""
    bags = [{stem(t) for t in tokenize(s)} for s in sentences]
    shared = Counter(t for bag in bags for t in bag)
    scores = [sum(shared[t] - 1 for t in bag) / math.sqrt(len(bag)) if bag else 0.0 for bag in bags]
    pool = [i for i, bag in enumerate(bags) if bag and scores[i] > 0]
    if not pool:
        pool = [i for i, bag in enumerate(bags) if bag] or list(range(len(sentences)))
    pool.sort(key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    used = 0
    for i in pool:
        if any(bags[i] and jaccard(bags[i], bags[j]) >= 0.7 for j in chosen):
            continue  # a near-repeat adds length, not information
        extra = len(sentences[i]) + (1 if chosen else 0)
        if used + extra <= max_chars:
            chosen.append(i)
            used += extra
    if not chosen:
        return _truncate_words(sentences[pool[0]], max_chars)
    return " ".join(sentences[i] for i in sorted(chosen))
