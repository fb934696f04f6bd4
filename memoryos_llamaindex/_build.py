"""Building a ``Memoryos`` from constructor arguments, with LlamaIndex models wrapped for the core."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms.llm import LLM

from memoryos_core import Memoryos

from .providers import LlamaIndexEmbedding, LlamaIndexLLM


def core_models(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Map ``memory_llm`` / ``llm`` and ``embed_model`` / ``embedder`` to the core's ``llm`` / ``embedder``.

    LlamaIndex models are wrapped in :class:`LlamaIndexLLM` / :class:`LlamaIndexEmbedding`; objects
    already implementing the core protocols pass through.
    """
    kwargs = dict(kwargs)
    llm = kwargs.pop("memory_llm", None)
    if llm is None:
        llm = kwargs.pop("llm", None)
    elif kwargs.get("llm") is not None:
        raise TypeError("pass memory_llm= or llm=, not both")
    if isinstance(llm, LLM):
        llm = LlamaIndexLLM(llm)
    embedder = kwargs.pop("embed_model", None)
    if embedder is None:
        embedder = kwargs.pop("embedder", None)
    elif kwargs.get("embedder") is not None:
        raise TypeError("pass embed_model= or embedder=, not both")
    if isinstance(embedder, BaseEmbedding):
        embedder = LlamaIndexEmbedding(embedder)
    if llm is not None:
        kwargs["llm"] = llm
    if embedder is not None:
        kwargs["embedder"] = embedder
    return kwargs


def resolve_memoryos(memoryos: Memoryos | None, core_kwargs: dict[str, Any], owner: str) -> tuple[Memoryos, bool]:
    """The ``Memoryos`` to use and whether the adapter owns it (and so closes it)."""
    if memoryos is not None:
        if not isinstance(memoryos, Memoryos):
            raise TypeError(f"{owner}: memoryos must be a memoryos_core.Memoryos, got {type(memoryos).__name__}")
        if core_kwargs:
            raise TypeError(f"{owner}: unexpected arguments {sorted(core_kwargs)} (they build a Memoryos, "
                            "but one was passed)")
        return memoryos, False
    if "user_id" not in core_kwargs:
        raise TypeError(f"{owner} needs memoryos=Memoryos(...) or the arguments to build one (user_id=..., "
                        "data_storage_path=..., ...)")
    return Memoryos(**core_models(core_kwargs)), True
