"""Retrieval across tiers and assembly of a token-budgeted context, one module per job.

- ``time_hints``: dates and months a query names, as windows;
- ``lexical``: BM25 over page text, an in-memory lexicon per scope following the page vector index;
- ``vectors``: cosine look-ups in the vector indexes (pages, segment centroids, facts);
- ``ranking``: semantic, lexical, conversational and time evidence on one scale;
- ``focus``: the side of an exchange a question is about;
- ``context``: the token-budgeted context, section by section (``ContextSections``);
- ``render``: the text form of those sections;
- ``retriever``: the flow of one retrieval (rank, assemble, heat what was used).

Words are read through ``memoryos_core.words``, the one tokenizer of the core.
"""

from __future__ import annotations

from .context import Assembly, Budget, ContextAssembler
from .focus import Focus, one_side
from .lexical import LexicalIndex
from .ranking import PageRanker
from .render import TITLES, render_context, short_date
from .retriever import Retriever
from .time_hints import TimeHint, time_hints
from .vectors import VectorSearch

__all__ = [
    "TITLES",
    "Assembly",
    "Budget",
    "ContextAssembler",
    "Focus",
    "LexicalIndex",
    "PageRanker",
    "Retriever",
    "TimeHint",
    "VectorSearch",
    "one_side",
    "render_context",
    "short_date",
    "time_hints",
]
