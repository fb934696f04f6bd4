"""LangChain models as MemoryOS providers: any ``BaseChatModel`` as a core ``ChatModel``, any
``Embeddings`` as a core ``Embedder``.

    memory = Memoryos(user_id="alice", llm=LangChainChatModel(ChatAnthropic(model="claude-...")),
                      embedder=LangChainEmbeddings(OllamaEmbeddings(model="nomic-embed-text")))
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage

from memoryos_core import ChatMessage, Completion
from memoryos_core.providers.base import ForeignEmbedder

log = logging.getLogger(__name__)


def to_langchain_messages(messages: Sequence[ChatMessage]) -> list[AnyMessage]:
    """Core roles to LangChain messages: system, user -> human, assistant -> ai."""
    out: list[AnyMessage] = []
    for message in messages:
        if message.role == "system":
            out.append(SystemMessage(content=message.content))
        elif message.role == "user":
            out.append(HumanMessage(content=message.content))
        elif message.role == "assistant":
            out.append(AIMessage(content=message.content))
        else:
            raise ValueError(f"unknown chat role {message.role!r}")
    return out


def _model_name(model: Any) -> str:
    for attr in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    llm_type = getattr(model, "_llm_type", None)
    return llm_type if isinstance(llm_type, str) and llm_type else type(model).__name__


class LangChainChatModel:
    """A LangChain chat model behind the core ``ChatModel`` protocol.

    ``json_schema`` (sent by the core with consolidation and persona prompts, which already ask for
    JSON) is a hint. With ``structured_output=True`` the adapter first tries the model's
    ``with_structured_output`` and falls back to a plain call for models without it.
    """

    def __init__(self, model: BaseChatModel, *, model_name: str | None = None, structured_output: bool = False) -> None:
        if not isinstance(model, BaseChatModel):
            raise TypeError(f"model must be a LangChain BaseChatModel, got {type(model).__name__}")
        self.model = model
        self.model_name = model_name or _model_name(model)
        self.structured_output = structured_output
        self._structured_ok = structured_output

    def _completion(self, message: BaseMessage) -> Completion:
        usage = getattr(message, "usage_metadata", None) or {}
        meta = getattr(message, "response_metadata", None) or {}
        model = meta.get("model_name") or meta.get("model") or self.model_name
        return Completion(text=message.text, prompt_tokens=int(usage.get("input_tokens") or 0),
                          completion_tokens=int(usage.get("output_tokens") or 0), model=str(model))

    def _structured_runnable(self, json_schema: dict[str, Any] | None) -> Any:
        """The model bound to the schema, or None (not asked for, or the model cannot do it)."""
        if not json_schema or not self._structured_ok:
            return None
        schema = dict(json_schema.get("schema") or json_schema)
        schema.setdefault("title", json_schema.get("name") or "Output")
        schema.setdefault("description", f"{schema['title']} as JSON")
        try:
            return self.model.with_structured_output(schema, include_raw=True)
        except Exception as exc:  # NotImplementedError for models without tools/JSON mode, schema rejections
            log.info("%s: structured output unavailable (%s); using plain calls", self.model_name, exc)
            self._structured_ok = False
            return None

    def _from_structured(self, out: Any) -> Completion | None:
        if not isinstance(out, dict) or not isinstance(out.get("raw"), BaseMessage):
            return None
        completion = self._completion(out["raw"])
        parsed = out.get("parsed")
        if parsed is None:
            return completion if completion.text.strip() else None
        if hasattr(parsed, "model_dump"):
            parsed = parsed.model_dump()
        return Completion(text=json.dumps(parsed, ensure_ascii=False), prompt_tokens=completion.prompt_tokens,
                          completion_tokens=completion.completion_tokens, model=completion.model)

    def complete(self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None) -> Completion:
        lc_messages = to_langchain_messages(messages)
        runnable = self._structured_runnable(json_schema)
        if runnable is not None:
            done = self._from_structured(runnable.invoke(lc_messages))
            if done is not None:
                return done
        return self._completion(self.model.invoke(lc_messages))

    async def acomplete(self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None) -> Completion:
        lc_messages = to_langchain_messages(messages)
        runnable = self._structured_runnable(json_schema)
        if runnable is not None:
            done = self._from_structured(await runnable.ainvoke(lc_messages))
            if done is not None:
                return done
        return self._completion(await self.model.ainvoke(lc_messages))

    def __repr__(self) -> str:
        return f"LangChainChatModel({self.model_name!r})"


class LangChainEmbeddings(ForeignEmbedder):
    """LangChain ``Embeddings`` behind the core ``Embedder`` protocol.

    Texts are embedded with ``embed_documents`` (pages, facts and queries alike: the core compares
    them in one space), returned as float32 unit vectors. ``dim`` is probed once with
    ``embed_query`` unless given. ``name`` identifies the vector space.
    """

    def __init__(self, embeddings: Embeddings, *, name: str | None = None, dim: int | None = None) -> None:
        if not isinstance(embeddings, Embeddings):
            raise TypeError(f"embeddings must be a LangChain Embeddings, got {type(embeddings).__name__}")
        self.embeddings = embeddings
        model = next((v for v in (getattr(embeddings, a, None) for a in ("model", "model_name", "model_id"))
                      if isinstance(v, str) and v), None)
        super().__init__(name=name or f"langchain:{type(embeddings).__name__}" + (f":{model}" if model else ""), dim=dim)

    def _probe(self) -> Any:
        return [self.embeddings.embed_query("dimension probe")]

    def _embed_batch(self, texts: list[str]) -> Any:
        return self.embeddings.embed_documents(texts)

    async def _aembed_batch(self, texts: list[str]) -> Any:
        return await self.embeddings.aembed_documents(texts)

    def __repr__(self) -> str:
        return f"LangChainEmbeddings({self.name!r})"
