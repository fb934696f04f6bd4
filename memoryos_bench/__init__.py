"""Benchmarks of the memory layer (``memoryos bench ...``).

- :mod:`.data`: LoCoMo loading, evidence clean-up, turn-to-page plan.
- :mod:`.metrics`: official and mem0 F1, BLEU-1, evidence recall, percentiles.
- :mod:`.baselines`: full context, naive RAG, hybrid RAG (BM25 + cosine, RRF) over raw turns.
- :mod:`.locomo`: the runner, its command-line options and the report (JSON, Markdown, PNG).
"""

from .metrics import bleu1, evidence_recall, official_f1, set_f1

__all__ = ["bleu1", "evidence_recall", "official_f1", "set_f1"]
