"""The one policy for long text. Every adapter and the MCP server reach it through ``Memoryos``'s verbs.

* **Stored text** (each side of a page): kept whole up to ``MemoryConfig.max_text_chars`` (200,000
  characters by default). Beyond that the middle is cut out and replaced by a visible
  ``[... N characters clipped ...]`` marker: the head (usually the request) and the tail (often the
  question about the material) survive, and whoever reads the page sees that something is missing.
  A turn is never rejected or dropped for being long.
* **Queries** (``retrieve``, ``search``): clipped to ``MemoryConfig.max_query_chars`` (head and tail,
  no marker: the marker's words would themselves be searched for). A long query is never rejected.
* **Embeddings**: an embedding model reads a bounded window (all-MiniLM-L6-v2 stops at 256 tokens,
  OpenAI models at 8,191), so a long text is cut into pieces that fit, at most
  ``EMBED_MAX_PIECES`` of them spread evenly from head to tail, and the text's vector is the
  normalised mean of the pieces' vectors. Chosen over embedding the head and tail alone because the
  mean covers the whole text (a long paste is found by what is in its middle too), its cost is
  bounded by the piece cap, and a text that fits one piece gets exactly the vector it always had.
* **Prompts**: a page shown to the LLM during consolidation is clipped to ``PROMPT_PAGE_CHARS`` with
  the same marker, so one long paste cannot overflow the model's context window. In a retrieved
  context, a recent exchange longer than half of the recent-conversation budget shows its head and
  the marker (``clip_page_to_tokens``) instead of crowding every other exchange out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from .errors import InvalidInputError
from .providers.base import Embedder, normalize
from .providers.metered import MeteredEmbedder
from .tokens import TokenCounter
from .types import Page
from .usage import UsageTracker

#: Default of ``MemoryConfig.max_text_chars``: each side of a page is stored whole up to this length.
STORED_TEXT_CHARS = 200_000
#: Default of ``MemoryConfig.max_query_chars``: the part of a query that is searched for.
QUERY_CHARS = 4_000
#: Piece length for embedders that do not say what they read (``max_input_chars`` attribute).
EMBED_PIECE_CHARS = 1_000
#: Most pieces embedded per text; bounds the cost of embedding one very long page.
EMBED_MAX_PIECES = 16
#: Longest page text shown to the LLM in a consolidation or persona prompt.
PROMPT_PAGE_CHARS = 8_000
#: Share of a clipped text kept from its head (the rest comes from its tail).
HEAD_SHARE = 2 / 3


def clip_marker(removed: int) -> str:
    return f"\n[... {removed:,} characters clipped ...]\n"


def _cut_points(text: str, keep: int) -> tuple[int, int]:
    """Where the kept head ends and the kept tail starts, moved back to whitespace when one is near."""
    head = int(keep * HEAD_SHARE)
    tail_start = len(text) - (keep - head)
    space = text.rfind(" ", max(0, head - 200), head)
    if space > 0:
        head = space
    space = text.find(" ", tail_start, tail_start + 200)
    if space >= 0:
        tail_start = space + 1
    return head, tail_start


def clip_with_marker(text: str, limit: int) -> str:
    """``text`` itself when it has at most ``limit`` characters; otherwise its head and tail around a
    marker saying how many characters were cut. The result never exceeds ``limit`` characters."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(clip_marker(len(text))))
    head, tail_start = _cut_points(text, keep)
    return text[:head] + clip_marker(tail_start - head) + text[tail_start:]


def clip_to_tokens(text: str, max_tokens: int, tokens: TokenCounter) -> str:
    """``text`` itself when it has at most ``max_tokens`` tokens; otherwise its head and the clip marker,
    together within ``max_tokens`` (the marker takes about a dozen)."""
    if tokens.count(text) <= max_tokens:
        return text
    head = tokens.truncate(text, max(0, max_tokens - 16))
    return head + clip_marker(len(text) - len(head)).rstrip("\n")


def clip_page_to_tokens(page: Page, max_tokens: int, tokens: TokenCounter) -> Page:
    """``page`` itself when its sides fit ``max_tokens`` together; otherwise a copy whose longer side
    is clipped (head and marker) so that both fit, the shorter side keeping up to half."""
    sides = (page.user_input, page.agent_response)
    counts = [tokens.count(side) for side in sides]
    if sum(counts) <= max_tokens:
        return page
    short = 0 if counts[0] <= counts[1] else 1
    budgets = [0, 0]
    budgets[short] = min(counts[short], max_tokens // 2)
    budgets[1 - short] = max_tokens - budgets[short]
    user, answer = (clip_to_tokens(side, budget, tokens) if side else side for side, budget in zip(sides, budgets))
    return replace(page, user_input=user, agent_response=answer)


def clip_query(text: str, limit: int) -> str:
    """The part of a long query that is searched for: its head and tail, joined without a marker."""
    if len(text) <= limit:
        return text
    head, tail_start = _cut_points(text, max(0, limit - 5))
    return text[:head] + "\n...\n" + text[tail_start:]


def check_stored_text(value: object, what: str, limit: int) -> str:
    """A page side as it will be stored: a string without NUL, clipped with a marker past ``limit``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInputError(f"{what} contains a NUL character, which no storage backend keeps")
    return clip_with_marker(value, limit)


def check_query(value: object, limit: int) -> str:
    """A search query as it will be searched: a non-empty string without NUL, clipped past ``limit``."""
    if not isinstance(value, str):
        raise InvalidInputError(f"query must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInputError("query contains a NUL character")
    if not value.strip():
        raise InvalidInputError("query must not be empty")
    return clip_query(value, limit)


def embedding_pieces(text: str, piece_chars: int, max_pieces: int = EMBED_MAX_PIECES) -> list[str]:
    """``text`` cut into pieces of at most ``piece_chars`` characters (at whitespace when possible);
    beyond ``max_pieces``, that many spread evenly over the text, the first and last included."""
    if len(text) <= piece_chars:
        return [text]
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + piece_chars)
        if end < len(text):
            space = text.rfind(" ", start + piece_chars // 2, end)
            if space > start:
                end = space
        pieces.append(text[start:end])
        start = end
    if len(pieces) > max_pieces:
        step = (len(pieces) - 1) / (max_pieces - 1)
        pieces = [pieces[round(i * step)] for i in range(max_pieces)]
    return pieces


class PiecewiseEmbedder(MeteredEmbedder):
    """The core's embedder: metered (every piece counts as an item), and texts longer than the model
    reads are embedded in pieces, one batch per call, each text getting the normalised mean of its
    pieces' vectors. A text that fits one piece gets exactly the model's own vector."""

    def __init__(self, inner: Embedder, tracker: UsageTracker, *, piece_chars: int | None = None,
                 max_pieces: int = EMBED_MAX_PIECES) -> None:
        super().__init__(inner, tracker)
        self.piece_chars = int(piece_chars or getattr(inner, "max_input_chars", None) or EMBED_PIECE_CHARS)
        self.max_pieces = max_pieces

    def _split(self, texts: Sequence[str]) -> tuple[list[str], list[int]] | None:
        """All pieces and each text's piece count; None when every text fits in one piece."""
        if all(len(t) <= self.piece_chars for t in texts):
            return None
        pieces = [embedding_pieces(t, self.piece_chars, self.max_pieces) for t in texts]
        return [p for group in pieces for p in group], [len(group) for group in pieces]

    @staticmethod
    def _pool(vectors: np.ndarray, counts: list[int]) -> np.ndarray:
        ends = np.cumsum(counts)
        return normalize(np.stack([vectors[end - n:end].mean(axis=0) for n, end in zip(counts, ends)]))

    def embed(self, texts: Sequence[str], *, purpose: str) -> np.ndarray:
        split = self._split(texts)
        if split is None:
            return super().embed(texts, purpose=purpose)
        pieces, counts = split
        return self._pool(np.asarray(super().embed(pieces, purpose=purpose)), counts)

    async def aembed(self, texts: Sequence[str], *, purpose: str) -> np.ndarray:
        split = self._split(texts)
        if split is None:
            return await super().aembed(texts, purpose=purpose)
        pieces, counts = split
        return self._pool(np.asarray(await super().aembed(pieces, purpose=purpose)), counts)
