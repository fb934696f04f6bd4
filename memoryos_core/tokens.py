"""Exact token counts with tiktoken, offline and without writing anywhere.

tiktoken downloads its BPE files on first use and caches them under ``$TMPDIR/data-gym-cache``.
We ship the two encodings OpenAI chat models use (byte-identical to the published files) and build
tiktoken's encodings from them directly, checking the published sha256, so nothing is fetched and
nothing is written outside the data folder.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from functools import lru_cache
from pathlib import Path

import tiktoken

_DATA = Path(__file__).parent / "data" / "tiktoken"
#: The encodings we ship, with the sha256 tiktoken publishes for each file.
_SHIPPED = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_lock = threading.Lock()
DEFAULT_ENCODING = "o200k_base"


def _shipped_ranks(encoding_name: str) -> dict[bytes, int]:
    data = (_DATA / f"{encoding_name}.tiktoken").read_bytes()
    if hashlib.sha256(data).hexdigest() != _SHIPPED[encoding_name]:
        raise RuntimeError(f"the shipped {encoding_name} file is damaged (sha256 mismatch): reinstall memoryos-kit")
    return {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}


def _build_from_shipped(encoding_name: str) -> tiktoken.Encoding:
    """tiktoken's own constructor for the encoding, fed the shipped ranks instead of a download."""
    import tiktoken_ext.openai_public as public

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda _url, expected_hash=None: _shipped_ranks(encoding_name)
    try:
        params = public.ENCODING_CONSTRUCTORS[encoding_name]()
    finally:
        public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**params)


def encoding_name_for(model: str | None) -> str:
    """tiktoken's encoding for ``model``; unknown models count with o200k_base."""
    if model:
        try:
            return tiktoken.encoding_name_for_model(model)
        except KeyError:
            pass
    return DEFAULT_ENCODING


@lru_cache(maxsize=8)
def get_encoding(model: str | None = None) -> tiktoken.Encoding:
    """The tiktoken encoding of ``model`` (unknown models count with o200k_base)."""
    name = encoding_name_for(model)
    if name not in _SHIPPED:  # an older model's encoding: not shipped, and never downloaded
        name = DEFAULT_ENCODING
    return _shipped_encoding(name)


@lru_cache(maxsize=None)
def _shipped_encoding(name: str) -> tiktoken.Encoding:
    with _lock:
        return _build_from_shipped(name)


class TokenCounter:
    """Counts tokens for one model; cheap to call, safe across threads."""

    def __init__(self, model: str | None = None) -> None:
        self.model = model
        self.encoding = get_encoding(model)

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self.encoding.encode(text, disallowed_special=()))

    def truncate(self, text: str, max_tokens: int) -> str:
        tokens = self.encoding.encode(text, disallowed_special=())
        if len(tokens) <= max_tokens:
            return text
        return self.encoding.decode(tokens[: max(0, max_tokens)])
