"""Building a ``Memoryos`` from constructor arguments, with LlamaIndex models wrapped for the core."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms.llm import LLM

from memoryos_core import Memoryos

from .providers import LlamaIndexEmbedding, LlamaIndexLLM


def _pop_either(kwargs: dict[str, Any], name: str, alias: str) -> Any:
    """Take the value passed as ``name`` or as ``alias`` (not both)."""
    value, other = kwargs.pop(name, None), kwargs.pop(alias, None)
    if value is not None and other is not None:
        raise TypeError(f"pass {name}= or {alias}=, not both")
    return value if value is not None else other


def core_models(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Map ``memory_llm`` / ``llm`` and ``embed_model`` / ``embedder`` to the core's ``llm`` / ``embedder``.

    LlamaIndex models are wrapped in :class:`LlamaIndexLLM` / :class:`LlamaIndexEmbedding`; objects
    already implementing the core protocols pass through.
    """
    kwargs = dict(kwargs)
    llm = _pop_either(kwargs, "memory_llm", "llm")
    if isinstance(llm, LLM):
        llm = LlamaIndexLLM(llm)
    embedder = _pop_either(kwargs, "embed_model", "embedder")
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
