"""Exact token counts with tiktoken, offline.

tiktoken downloads its BPE files on first use. We ship the two encodings OpenAI chat models use
(byte-identical to the published files; tiktoken verifies their sha256) and seed tiktoken's own
cache with them, so the real tiktoken code path runs and nothing is fetched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import tiktoken

_DATA = Path(__file__).parent / "data" / "tiktoken"
_BLOB_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
_lock = threading.Lock()
DEFAULT_ENCODING = "o200k_base"


def _tiktoken_cache_dir() -> Path:
    # Mirrors tiktoken.load.read_file_cached's choice of cache folder.
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return Path(os.environ["TIKTOKEN_CACHE_DIR"])
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return Path(os.environ["DATA_GYM_CACHE_DIR"])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def _build_without_cache(encoding_name: str) -> tiktoken.Encoding:
    """TIKTOKEN_CACHE_DIR="" turns tiktoken's cache off: build from the shipped file directly."""
    import tiktoken_ext.openai_public as public

    local = str(_DATA / f"{encoding_name}.tiktoken")
    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda _url, expected_hash=None: original(local, expected_hash=expected_hash)
    try:
        params = public.ENCODING_CONSTRUCTORS[encoding_name]()
    finally:
        public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**params)


def _seed_cache(encoding_name: str) -> None:
    url = _BLOB_URLS.get(encoding_name)
    if url is None:
        return
    cache_dir = _tiktoken_cache_dir()
    target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    if target.exists():
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    shutil.copyfile(_DATA / f"{encoding_name}.tiktoken", tmp)
    os.replace(tmp, target)


def encoding_name_for(model: str | None) -> str:
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
    with _lock:
        if os.environ.get("TIKTOKEN_CACHE_DIR") == "" and name in _BLOB_URLS:
            return _build_without_cache(name)
        _seed_cache(name)
        return tiktoken.get_encoding(name)


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
