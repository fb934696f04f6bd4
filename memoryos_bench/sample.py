"""A fixed, stratified, seeded question sample for runs with a real (slow) reader.

A run that answers every LoCoMo question with a local model takes days; a run on the first
questions of each conversation sees almost no single-hop questions. ``--sample N`` picks N
questions that are the same for every system and every run, with every (conversation, category)
stratum represented:

1. **Strata**: one per (conversation, category) pair that has questions among the chosen
   conversations and categories.
2. **Allocation**: proportional with a floor. Each stratum first gets ``min(minimum, size)``
   questions; every remaining slot then goes, one at a time, to the stratum furthest below its
   proportional share ``N * size / total`` (ties: conversation order, then category), never more
   than the stratum holds.
3. **Choice within a stratum**: questions ordered by SHA-256 of ``"<seed>|<sample id>|<question
   index>"``, the first ``n`` taken. The order depends on nothing but the seed and the question's
   place in the file (no ``random`` module state, no Python version), and a larger allocation
   only adds questions to a smaller one's.

The sample is returned in file order (conversation, then question index).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

from .data import Conversation, Question

DEFAULT_SEED = 17
DEFAULT_MINIMUM = 1


@dataclass(frozen=True)
class Stratum:
    conversation: str
    category: int
    size: int
    chosen: int


@dataclass(frozen=True)
class QuestionSample:
    """The chosen questions, as (sample id, question index) pairs, and how strata were filled."""

    keys: tuple[tuple[str, int], ...]
    strata: tuple[Stratum, ...]
    seed: int
    minimum: int

    _key_set: frozenset[tuple[str, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key_set", frozenset(self.keys))

    def __contains__(self, key: object) -> bool:
        return key in self._key_set

    def describe(self) -> dict[str, object]:
        """What the run report records about the sample."""
        per_category: dict[str, int] = {}
        per_conversation: dict[str, int] = {}
        for s in self.strata:
            per_category[str(s.category)] = per_category.get(str(s.category), 0) + s.chosen
            per_conversation[s.conversation] = per_conversation.get(s.conversation, 0) + s.chosen
        return {"size": len(self.keys), "seed": self.seed, "minimum_per_stratum": self.minimum,
                "method": "stratified by (conversation, category); proportional allocation with a floor; "
                          "SHA-256 order of seed|sample id|question index within a stratum",
                "per_category": dict(sorted(per_category.items(), key=lambda kv: int(kv[0]))),
                "per_conversation": per_conversation,
                "strata": [{"conversation": s.conversation, "category": s.category, "size": s.size,
                            "chosen": s.chosen} for s in self.strata]}


def _order_key(seed: int, sample_id: str, q: Question) -> str:
    return hashlib.sha256(f"{seed}|{sample_id}|{q.index}".encode()).hexdigest()


def allocate(sizes: Sequence[int], n: int, minimum: int = DEFAULT_MINIMUM) -> list[int]:
    """How many to take from each stratum: a floor of ``minimum``, then proportional shares."""
    total = sum(sizes)
    if n < 1:
        raise ValueError(f"--sample must be at least 1, got {n}")
    if n > total:
        raise ValueError(f"--sample {n} is larger than the {total} questions to choose from")
    counts = [min(minimum, size) for size in sizes]
    if sum(counts) > n:
        raise ValueError(f"--sample {n} cannot hold {minimum} question(s) from each of the {len(sizes)} "
                         f"(conversation, category) strata: use at least {sum(counts)}")
    shares = [n * size / total for size in sizes]
    for _ in range(n - sum(counts)):
        open_strata = [i for i, size in enumerate(sizes) if counts[i] < size]
        best = max(open_strata, key=lambda i: (shares[i] - counts[i], -i))
        counts[best] += 1
    return counts


def stratified_sample(convs: Sequence[Conversation], categories: Sequence[int], n: int,
                      seed: int = DEFAULT_SEED, minimum: int = DEFAULT_MINIMUM) -> QuestionSample:
    """``n`` questions of ``categories`` across ``convs``, stratified by (conversation, category)."""
    strata: list[tuple[str, int, list[Question]]] = []
    for conv in convs:
        for category in sorted(set(categories)):
            questions = [q for q in conv.questions if q.category == category]
            if questions:
                strata.append((conv.sample_id, category, questions))
    if not strata:
        raise ValueError("no questions to sample from in the chosen conversations and categories")
    counts = allocate([len(qs) for _, _, qs in strata], n, minimum)
    chosen: set[tuple[str, int]] = set()
    for (sample_id, _, questions), count in zip(strata, counts):
        ordered = sorted(questions, key=lambda q: _order_key(seed, sample_id, q))
        chosen.update((sample_id, q.index) for q in ordered[:count])
    order = {c.sample_id: i for i, c in enumerate(convs)}
    keys = tuple(sorted(chosen, key=lambda k: (order[k[0]], k[1])))
    return QuestionSample(keys=keys, seed=seed, minimum=minimum,
                          strata=tuple(Stratum(sid, cat, len(qs), count)
                                       for (sid, cat, qs), count in zip(strata, counts)))
