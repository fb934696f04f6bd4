"""Baselines over raw turns: full context, naive RAG (cosine) and hybrid RAG (BM25 + cosine, RRF).

All share one :class:`TurnCorpus` per conversation: each turn is rendered once as
``Speaker: text [shares an image: caption]`` (the way MemoryOS shows a page's sides), embedded once
with the core's embedder, and tokenised once for BM25. Contexts are filled greedily in rank order up
to the token budget and laid out like MemoryOS's: conversation order, one ``[8 May 2023]`` date line
per day, counted with the same tiktoken counter.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from memoryos_core.extractors import STOPWORDS
from memoryos_core.retrieval import short_date
from .data import Conversation, Turn, speaker_line

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
RRF_K = 60


@lru_cache(maxsize=1)
def _stem_fn():  # noqa: ANN202
    from nltk.stem import PorterStemmer

    stemmer = PorterStemmer()
    return lru_cache(maxsize=200_000)(stemmer.stem)


def bm25_tokens(text: str) -> list[str]:
    """Lowercase words without stopwords or possessives, Porter-stemmed."""
    stem = _stem_fn()
    out = []
    for w in _WORD.findall(text.lower().replace("\u2019", "'")):
        if w.endswith("'s"):
            w = w[:-2]
        if w and w not in STOPWORDS:
            out.append(stem(w))
    return out


class BM25:
    """Okapi BM25 (k1, b) over pre-tokenised documents."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(d) for d in docs]
        self.lens = np.array([len(d) for d in docs], dtype=np.float64)
        self.avgdl = float(self.lens.mean()) if len(docs) else 0.0
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[int]] = {}
        for i, tf in enumerate(self.tfs):
            for t in tf:
                self.postings.setdefault(t, []).append(i)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(self.tfs), dtype=np.float64)
        if not self.avgdl:
            return out
        for t in set(query):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i in self.postings[t]:
                f = self.tfs[i][t]
                norm = self.k1 * (1 - self.b + self.b * self.lens[i] / self.avgdl)
                out[i] += idf * f * (self.k1 + 1) / (f + norm)
        return out


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[int]:
    """Reciprocal rank fusion of several rankings of the same items."""
    score: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            score[item] = score.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(score, key=lambda i: (-score[i], i))


def turn_line(turn: Turn) -> str:
    """A turn as it appears in a baseline's context: speaker and text (with any image caption)."""
    return speaker_line(turn.speaker, turn.full_text)


def day_line(turn: Turn) -> str:
    """The date line that heads a day's turns, as in MemoryOS's context."""
    return f"[{short_date(turn.timestamp)}]"


def render_turns(turns: Sequence[Turn], chosen: Sequence[int]) -> str:
    """Chosen turns in conversation order, one date line per run of turns of the same day (MemoryOS's layout)."""
    lines: list[str] = []
    current = None
    for i in sorted(chosen):
        day = day_line(turns[i])
        if day != current:
            lines.append(day)
            current = day
        lines.append(turn_line(turns[i]))
    return "\n".join(lines)


@dataclass
class TurnCorpus:
    turns: list[Turn]
    costs: list[int]
    days: list[str]
    day_costs: dict[str, int]
    vectors: np.ndarray
    bm25: BM25

    @classmethod
    def build(cls, conv: Conversation, embedder: Any, counter: Any) -> "TurnCorpus":
        turns = conv.turns
        lines = [turn_line(t) for t in turns]
        days = [day_line(t) for t in turns]
        vectors = embedder.embed(lines)
        return cls(turns=turns, costs=[counter.count(x) + 1 for x in lines], days=days,
                   day_costs={d: counter.count(d) + 1 for d in set(days)},
                   vectors=np.asarray(vectors, dtype=np.float32), bm25=BM25([bm25_tokens(x) for x in lines]))

    def cosine_ranking(self, qvec: np.ndarray) -> list[int]:
        sims = self.vectors @ np.asarray(qvec, dtype=np.float32)
        return [int(i) for i in np.argsort(-sims, kind="stable")]

    def bm25_ranking(self, question: str) -> list[int]:
        scores = self.bm25.scores(bm25_tokens(question))
        order = np.argsort(-scores, kind="stable")
        return [int(i) for i in order if scores[i] > 0]

    def fill(self, ranking: Sequence[int], budget: int, counter: Any) -> tuple[str, int]:
        """Greedy fill in rank order (skipping turns that do not fit, a new day costing its date line),
        shown in conversation order; the exact count decides, dropping the weakest turns if needed."""
        chosen: list[int] = []
        days: set[str] = set()
        used = 0
        for i in ranking:
            if budget - used < 4:
                break
            cost = self.costs[i] + (0 if self.days[i] in days else self.day_costs[self.days[i]])
            if used + cost > budget:
                continue
            chosen.append(i)
            days.add(self.days[i])
            used += cost
        while True:
            text = render_turns(self.turns, chosen)
            exact = counter.count(text)
            if exact <= budget or not chosen:
                return text, exact
            chosen.pop()

    def full(self, counter: Any) -> tuple[str, int]:
        text = render_turns(self.turns, range(len(self.turns)))
        return text, counter.count(text)


def naive_rag(corpus: TurnCorpus, qvec: np.ndarray, budget: int, counter: Any) -> tuple[str, int]:
    return corpus.fill(corpus.cosine_ranking(qvec), budget, counter)


def hybrid_rag(corpus: TurnCorpus, question: str, qvec: np.ndarray, budget: int, counter: Any) -> tuple[str, int]:
    ranking = rrf([corpus.cosine_ranking(qvec), corpus.bm25_ranking(question)])
    return corpus.fill(ranking, budget, counter)
