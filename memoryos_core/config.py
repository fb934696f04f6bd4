"""Tunable constants of the memory tiers, in one typed place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

#: The one default storage folder of the library, the CLI, the demo and the MCP server.
DEFAULT_DATA_DIR = "./memoryos_data"


def default_data_path() -> str:
    """``$MEMORYOS_DATA`` when set, else ``./memoryos_data`` (relative to the working directory)."""
    return os.environ.get("MEMORYOS_DATA") or DEFAULT_DATA_DIR


@dataclass(frozen=True)
class MemoryConfig:
    """Capacities, thresholds and budgets.

    Defaults follow the published MemoryOS design where it is sound (short-term 10 pages,
    heat threshold 5, recency time constant 24 h of *conversation* time) and depart where
    it measured badly (consolidation is batched so one LLM call serves several pages).
    """

    short_term_capacity: int = 10
    #: Pages evicted from short-term together; one consolidation pass (one LLM call) per batch.
    consolidation_batch_size: int = 8
    #: Topic grouping and segment summaries written by the LLM (when one is configured). Off by default:
    #: retrieval ranks pages, never summaries, and these calls were 86% of the write path's LLM time
    #: with a local model; segments are then grouped by embeddings with extractive summaries.
    llm_consolidation: bool = False
    mid_term_capacity: int = 2000
    #: Largest segment; a full segment stops attracting new pages so topics stay sharp.
    max_segment_pages: int = 40
    mid_term_heat_threshold: float = 5.0
    heat_alpha: float = 1.0
    heat_beta: float = 1.0
    heat_gamma: float = 1.0
    recency_tau_seconds: float = 24 * 3600.0
    #: Join an existing segment when cos(page, centroid) + Jaccard(keywords) reaches this (the published
    #: 0.6 was tuned for summary embeddings; centroids of MiniLM page vectors sit lower).
    segment_join_threshold: float = 0.5
    long_term_knowledge_capacity: int = 100
    retrieval_queue_capacity: int = 7
    top_segments: int = 5
    knowledge_top_k: int = 10
    knowledge_min_score: float = 0.2
    #: Cosine above which a new fact is the same as an existing one.
    fact_duplicate_threshold: float = 0.92
    max_context_tokens: int = 2000
    #: The recent-conversation section is shown while the newest exchange is at most this old on the
    #: wall clock (a live conversation); otherwise the short-term pages compete on relevance.
    recent_live_seconds: float = 6 * 3600.0
    #: Each side of a page is stored whole up to this many characters; a longer side is stored with its
    #: middle replaced by a "[... N characters clipped ...]" marker (never rejected; see text_limits).
    max_text_chars: int = 200_000
    #: A longer query is searched by its head and tail (never rejected).
    max_query_chars: int = 4_000
    max_meta_bytes: int = 16_000
    job_max_attempts: int = 8
    job_lease_seconds: float = 120.0
    extra: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positive = {
            "short_term_capacity": self.short_term_capacity,
            "consolidation_batch_size": self.consolidation_batch_size,
            "mid_term_capacity": self.mid_term_capacity,
            "max_segment_pages": self.max_segment_pages,
            "long_term_knowledge_capacity": self.long_term_knowledge_capacity,
            "retrieval_queue_capacity": self.retrieval_queue_capacity,
            "max_context_tokens": self.max_context_tokens,
            "max_text_chars": self.max_text_chars,
            "max_query_chars": self.max_query_chars,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_text_chars < 1_000 or self.max_query_chars < 100:
            raise ValueError("max_text_chars must be at least 1000 and max_query_chars at least 100")
        if self.mid_term_heat_threshold <= 0 or self.recency_tau_seconds <= 0:
            raise ValueError("mid_term_heat_threshold and recency_tau_seconds must be positive")
