"""Retrieval across tiers and assembly of a token-budgeted context, one module per job.

- ``time_hints``: dates and months a query names, as windows;
- ``lexical``: BM25 over page text, an in-memory lexicon per scope following the page vector index
  (``lexicon`` holds its arrays, ``snapshot`` stores it for the next process);
- ``vectors``: cosine look-ups in the vector indexes (pages, segment centroids, facts), and the
  latest query embeddings;
- ``ranking``: semantic, lexical, conversational and time evidence on one scale;
- ``focus``: the side of an exchange a question is about;
- ``context``: the token-budgeted context, section by section (``ContextSections``);
- ``render``: the text form of those sections;
- ``retriever``: the flow of one retrieval (rank, assemble, note the visits to heat what was used;
  ``visits`` holds them until the worker writes them).

Words are read through ``memoryos_core.words``, the one tokenizer of the core.
"""

from __future__ import annotations

from .context import Assembly, Budget, ContextAssembler
from .focus import Focus, one_side
from .lexical import LexicalIndex
from .ranking import PageRanker
from .render import TITLES, render_context, short_date
from .retriever import Retriever, search_results
from .time_hints import TimeHint, time_hints
from .vectors import QueryVectors, VectorSearch

__all__ = [
    "TITLES",
    "Assembly",
    "Budget",
    "ContextAssembler",
    "Focus",
    "LexicalIndex",
    "PageRanker",
    "QueryVectors",
    "Retriever",
    "TimeHint",
    "VectorSearch",
    "one_side",
    "search_results",
    "render_context",
    "short_date",
    "time_hints",
]
