"""LlamaIndex models behind the core's ``ChatModel`` and ``Embedder`` protocols.

``Memoryos(user_id, llm=LlamaIndexLLM(Settings.llm), embedder=LlamaIndexEmbedding(embed_model))``
lets MemoryOS run consolidation, persona updates and ``get_response`` on the models a LlamaIndex
application already configured.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import ChatMessage as LIChatMessage
from llama_index.core.base.llms.types import ChatResponse, MessageRole
from llama_index.core.llms.llm import LLM

from memoryos_core.providers.base import ChatMessage, Completion, ForeignEmbedder

_PROMPT_KEYS = ("prompt_tokens", "input_tokens", "prompt_token_count", "promptTokenCount", "prompt_eval_count")
_COMPLETION_KEYS = ("completion_tokens", "output_tokens", "candidates_token_count", "candidatesTokenCount", "eval_count")


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _count(source: Any, keys: Sequence[str]) -> int | None:
    for key in keys:
        value = _get(source, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return None


def usage_from_response(response: ChatResponse) -> tuple[int, int]:
    """(prompt, completion) tokens from whatever usage record the provider left; (0, 0) if none.

    Covers OpenAI-style ``raw.usage`` (prompt/completion_tokens), Anthropic (input/output_tokens),
    Gemini ``usage_metadata``, Ollama (prompt_eval_count/eval_count) and LlamaIndex integrations
    that copy counts into ``additional_kwargs``.
    """
    raw = response.raw
    candidates = [_get(raw, "usage"), _get(raw, "usage_metadata"), _get(raw, "usageMetadata"), raw,
                  response.additional_kwargs]
    for source in candidates:
        if source is None:
            continue
        prompt = _count(source, _PROMPT_KEYS)
        completion = _count(source, _COMPLETION_KEYS)
        if prompt is not None or completion is not None:
            return prompt or 0, completion or 0
    return 0, 0


class LlamaIndexLLM:
    """A LlamaIndex ``LLM`` as a MemoryOS ``ChatModel`` (chat calls through ``llm.chat`` / ``llm.achat``).

    ``json_schema`` is a hint in the protocol; LlamaIndex has no provider-neutral way to enforce it,
    so it is not forwarded (MemoryOS prompts ask for JSON and the core validates and retries).
    ``chat_kwargs`` are passed to every call (e.g. ``{"temperature": 0}`` where the integration accepts it).
    """

    def __init__(self, llm: LLM, *, model_name: str | None = None, chat_kwargs: dict[str, Any] | None = None) -> None:
        if not isinstance(llm, LLM):
            raise TypeError(f"LlamaIndexLLM needs a llama_index LLM, got {type(llm).__name__}")
        self.llm = llm
        metadata = llm.metadata
        self.model_name = model_name or metadata.model_name or type(llm).__name__
        self._system_role = metadata.system_role
        self._chat_kwargs = dict(chat_kwargs or {})

    def _messages(self, messages: Sequence[ChatMessage]) -> list[LIChatMessage]:
        roles = {"system": self._system_role, "user": MessageRole.USER, "assistant": MessageRole.ASSISTANT}
        out = []
        for m in messages:
            if m.role not in roles:
                raise ValueError(f"unknown chat role {m.role!r}")
            out.append(LIChatMessage(role=roles[m.role], content=m.content))
        return out

    def _completion(self, response: ChatResponse) -> Completion:
        prompt, completion = usage_from_response(response)
        return Completion(text=response.message.content or "", prompt_tokens=prompt, completion_tokens=completion,
                          model=self.model_name)

    def complete(self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None) -> Completion:
        return self._completion(self.llm.chat(self._messages(messages), **self._chat_kwargs))

    async def acomplete(self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None) -> Completion:
        return self._completion(await self.llm.achat(self._messages(messages), **self._chat_kwargs))

    def __repr__(self) -> str:
        return f"LlamaIndexLLM({type(self.llm).__name__}, model_name={self.model_name!r})"


class LlamaIndexEmbedding(ForeignEmbedder):
    """A LlamaIndex ``BaseEmbedding`` as a MemoryOS ``Embedder``: float32, L2-normalised, shape (n, dim).

    ``dim`` is probed once with one embedding call when not given. MemoryOS embeds pages, facts and
    queries with the same call, so text (document) embeddings are used throughout.
    """

    def __init__(self, embed_model: BaseEmbedding, *, dim: int | None = None, name: str | None = None) -> None:
        if not isinstance(embed_model, BaseEmbedding):
            raise TypeError(f"LlamaIndexEmbedding needs a llama_index BaseEmbedding, got {type(embed_model).__name__}")
        self.embed_model = embed_model
        super().__init__(name=name or f"llamaindex:{type(embed_model).__name__}:{embed_model.model_name}", dim=dim)

    def _embed_batch(self, texts: list[str]) -> Any:
        return self.embed_model.get_text_embedding_batch(texts)

    async def _aembed_batch(self, texts: list[str]) -> Any:
        return await self.embed_model.aget_text_embedding_batch(texts)

    def __repr__(self) -> str:
        return f"LlamaIndexEmbedding({self.name!r}, dim={self._dim})"
