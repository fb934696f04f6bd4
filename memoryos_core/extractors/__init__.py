"""Offline heuristics used when no LLM is configured, one module per thing extracted.

- ``keywords``: keywords of a group of texts (segment keywords);
- ``summary``: extractive summaries (segment summaries);
- ``user_facts``: rule-based facts about the user, from ``profile`` (who they are), ``preferences``
  (likes and dislikes), ``family`` (family and pets) and ``plans`` (studies and plans);
- ``assistant_facts``: rule-based facts about the assistant;
- ``rules`` (the rule machinery), ``vocabulary`` (shared word lists), ``sentences`` (splitting).

Pure Python and ``re``: fast, deterministic and dependency-free, so memory keeps organising itself
without a model. Callers label these results as heuristic; the rules favour precision (miss a fact
rather than invent one). Words are read through ``memoryos_core.words``, the core's one tokenizer.
"""

from __future__ import annotations

from ..words import STOPWORDS, jaccard, tokenize
from .assistant_facts import extract_assistant_facts
from .keywords import extract_keywords
from .rules import ExtractedFact
from .summary import extractive_summary
from .user_facts import extract_user_facts

__all__ = [
    "STOPWORDS",
    "ExtractedFact",
    "extract_assistant_facts",
    "extract_keywords",
    "extract_user_facts",
    "extractive_summary",
    "jaccard",
    "tokenize",
]
