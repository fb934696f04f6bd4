"""A lexicon as bytes for the store (``Store.save_lexicon_snapshot``), and back.

Plain numpy arrays in an uncompressed ``.npz`` (loaded without pickle), plus a header: the format
version, the vector number the snapshot covers (watermark), and a fingerprint of ``words.search_terms``
so a snapshot written by a version that tokenised differently is ignored and rebuilt, never mixed.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

import numpy as np

from ..words import search_terms
from .lexicon import Lexicon

FORMAT = 1
#: Text whose search terms change whenever tokenising, stopwords, folding or stemming change.
_PROBE = ("The Hikers' hiking trips: I'm running 3 marathons, she studies cities' libraries; "
          "José's café, naïve résumés, and 2023-05-07 at 10:30 — doesn't it? BOXES, buses, watched")
_ARRAYS = ("rid", "length", "seq", "stamp", "doc_ptr", "doc_terms", "doc_tf", "post_order", "words")


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Identifies the tokenizer a lexicon was built with."""
    return hashlib.sha256("\x1f".join(search_terms(_PROBE)).encode()).hexdigest()[:16]


def encode(lex: Lexicon, watermark: int) -> bytes:
    """The live part of ``lex`` (docs renumbered in order), covering vector numbers up to ``watermark``."""
    arrays = lex.live_arrays()
    for name in ("length", "doc_terms", "doc_tf", "post_order"):  # counts, term ids and positions fit 32 bits
        arrays[name] = np.minimum(arrays[name], np.iinfo(np.int32).max).astype(np.int32)
    header = f"{FORMAT}\n{watermark}\n{fingerprint()}".encode()
    out = io.BytesIO()
    arrays["header"] = np.frombuffer(header, dtype=np.uint8)
    np.savez(out, **arrays)  # type: ignore[arg-type]  # the stub reads keyword arrays as ``allow_pickle``
    return out.getvalue()


def decode(data: bytes) -> tuple[Lexicon, int] | None:
    """(lexicon, watermark), or None for a snapshot of another format or tokenizer."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        version, watermark, marker = bytes(archive["header"]).decode().split("\n")
        if int(version) != FORMAT or marker != fingerprint():
            return None
        arrays = {name: archive[name] for name in _ARRAYS}
    return Lexicon.from_arrays(arrays), int(watermark)
