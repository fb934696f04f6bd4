"""LlamaIndex models as MemoryOS providers: LlamaIndexLLM (ChatModel) and LlamaIndexEmbedding (Embedder)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

from memoryos_core import ChatMessage as CoreMessage
from memoryos_core import ChatModel, Embedder, HashingEmbedder, MemoryConfig, Memoryos
from memoryos_llamaindex import LlamaIndexEmbedding, LlamaIndexLLM, MemoryOSMemory
from memoryos_llamaindex.providers import usage_from_response


class ScriptedLLM(CustomLLM):
    """Answers MemoryOS's own prompts: consolidation and persona with valid JSON, questions from memory."""

    system_role: MessageRole = MessageRole.SYSTEM
    usage: Any = None
    _seen: list = PrivateAttr(default_factory=list)
    _async_calls: int = PrivateAttr(default=0)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted-1", is_chat_model=True, system_role=self.system_role)

    @property
    def seen(self) -> list[list[ChatMessage]]:
        return self._seen

    def _reply(self, messages: Sequence[ChatMessage]) -> str:
        self._seen.append(list(messages))
        system, user = messages[0].content or "", messages[-1].content or ""
        if system.startswith("You organise"):  # consolidation: one topic with every new exchange
            numbers = [int(n) for n in re.findall(r"^\[(\d+)\] \(", user, re.M)]
            return json.dumps({"topics": [{"pages": numbers, "segment": None, "keywords": ["cat", "astronomy"],
                                           "summary": "The user introduced their cat Miso and asked about astronomy."}]})
        if system.startswith("You maintain"):  # persona
            return json.dumps({"profile": [{"field": "pet", "value": "a cat named Miso"}],
                               "facts": [{"op": "add", "about": "user", "text": "The user has a cat named Miso."}]})
        return "Your cat is called Miso." if "Miso" in user else "I do not know."

    def _response(self, messages: Sequence[ChatMessage]) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=self._reply(messages)),
                            raw=self.usage)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._response(messages)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self._async_calls += 1
        return self._response(messages)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise AssertionError("LlamaIndexLLM must use chat, not complete")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise AssertionError("LlamaIndexLLM must use chat, not complete")


class LexicalEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model with meaningful (lexical) vectors, unnormalised, counting calls."""

    _inner: Any = PrivateAttr(default_factory=lambda: HashingEmbedder(512))
    _calls: int = PrivateAttr(default=0)

    def _vec(self, text: str) -> list[float]:
        self._calls += 1
        return (self._inner.embed([text])[0] * 3.0).tolist()  # the adapter must normalise

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vec(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)


# -- LlamaIndexLLM ---------------------------------------------------------------------------

def test_llm_maps_roles_and_reads_usage() -> None:
    llm = ScriptedLLM(system_role=MessageRole.DEVELOPER, usage={"usage": {"prompt_tokens": 12, "completion_tokens": 3}})
    model = LlamaIndexLLM(llm)
    assert isinstance(model, ChatModel) and model.model_name == "scripted-1"
    out = model.complete([CoreMessage("system", "rules"), CoreMessage("user", "Is Miso here?"),
                          CoreMessage("assistant", "Earlier answer")], json_schema={"type": "object"})
    assert [(m.role, m.content) for m in llm.seen[-1]] == [
        (MessageRole.DEVELOPER, "rules"), (MessageRole.USER, "Is Miso here?"), (MessageRole.ASSISTANT, "Earlier answer")]
    assert out.text == "I do not know." and (out.prompt_tokens, out.completion_tokens) == (12, 3)
    assert out.model == "scripted-1"


async def test_llm_async_uses_achat() -> None:
    llm = ScriptedLLM()
    out = await LlamaIndexLLM(llm, model_name="custom").acomplete([CoreMessage("user", "Miso?")])
    assert out.text == "Your cat is called Miso." and llm._async_calls == 1
    assert (out.prompt_tokens, out.completion_tokens, out.model) == (0, 0, "custom")  # no usage: zeros


@pytest.mark.parametrize("raw, additional, expected", [
    ({"usage": {"prompt_tokens": 7, "completion_tokens": 2}}, {}, (7, 2)),                       # OpenAI dict
    (SimpleNamespace(usage=SimpleNamespace(input_tokens=9, output_tokens=4)), {}, (9, 4)),         # Anthropic object
    ({"usage_metadata": {"prompt_token_count": 5, "candidates_token_count": 6}}, {}, (5, 6)),   # Gemini
    ({"prompt_eval_count": 8, "eval_count": 1}, {}, (8, 1)),                                     # Ollama
    (None, {"prompt_tokens": 3, "completion_tokens": 1}, (3, 1)),                                # additional_kwargs
    ({"usage": None}, {}, (0, 0)),
    (None, {}, (0, 0)),
])
def test_usage_extraction(raw: Any, additional: dict, expected: tuple[int, int]) -> None:
    response = ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content="x"), raw=raw,
                            additional_kwargs=additional)
    assert usage_from_response(response) == expected


def test_llm_rejects_non_llamaindex_models() -> None:
    with pytest.raises(TypeError):
        LlamaIndexLLM(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        LlamaIndexEmbedding(object())  # type: ignore[arg-type]


def test_llamaindex_llm_drives_the_core(tmp_path: Path) -> None:
    """Consolidation, persona and get_response all run on the LlamaIndex model."""
    llm = ScriptedLLM(usage={"usage": {"prompt_tokens": 11, "completion_tokens": 5}})
    memory = Memoryos(user_id="pia", data_storage_path=tmp_path, background=False, llm=LlamaIndexLLM(llm),
                      embedder=HashingEmbedder(512), config=MemoryConfig(llm_consolidation=True))
    memory.add_memory("My cat is called Miso.", "Cute!")
    for i in range(18):
        memory.add_memory(f"Tell me about astronomy topic {i}", "Here you go.")
    stats = memory.stats()
    assert stats["llm"] == "scripted-1" and stats["mode"] == "llm"
    assert stats["tiers"]["mid_term"] == 8 and stats["last_error"] is None
    ops = stats["usage"]["by_operation"]
    assert ops["llm:consolidate"]["calls"] == 1 and ops["llm:persona"]["calls"] == 1
    assert ops["llm:consolidate"]["prompt_tokens"] == 11
    assert memory.get_user_profile().fields == {"pet": "a cat named Miso"}
    assert [f.text for f in memory.get_user_knowledge()] == ["The user has a cat named Miso."]

    assert memory.get_response("What is my cat called?") == "Your cat is called Miso."
    system, user = llm.seen[-1]
    assert system.role == MessageRole.SYSTEM and "Miso" not in system.content
    assert user.role == MessageRole.USER and user.content.startswith("<memory>") and "Miso" in user.content
    memory.close()


async def test_llamaindex_llm_drives_the_core_async(tmp_path: Path) -> None:
    llm = ScriptedLLM()
    memory = Memoryos(user_id="pia", data_storage_path=tmp_path, background=False, llm=LlamaIndexLLM(llm),
                      embedder=HashingEmbedder(512))
    await memory.aadd_memory("My cat is called Miso.", "Cute!")
    assert await memory.aget_response("What is my cat called?") == "Your cat is called Miso."
    assert llm._async_calls == 1
    memory.close()


# -- LlamaIndexEmbedding ---------------------------------------------------------------------

def test_embedding_probes_dim_once_and_normalises() -> None:
    model = LexicalEmbedding()
    embedder = LlamaIndexEmbedding(model)
    assert isinstance(embedder, Embedder) and embedder.name == "llamaindex:LexicalEmbedding:unknown"
    assert embedder.dim == 512 and embedder.dim == 512
    assert model._calls == 1  # one probe
    vectors = embedder.embed(["my cat Miso", "astronomy"])
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32 and vectors.flags.c_contiguous
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert embedder.embed([]).shape == (0, 512)

    given = LlamaIndexEmbedding(MockEmbedding(embed_dim=8), dim=8, name="mock")
    assert given.dim == 8 and given.name == "mock"
    with pytest.raises(ValueError):
        LlamaIndexEmbedding(MockEmbedding(embed_dim=8), dim=0)
    wrong = LlamaIndexEmbedding(MockEmbedding(embed_dim=8), dim=16)
    with pytest.raises(ValueError, match="have 8 dimensions, expected 16"):
        wrong.embed(["x"])


async def test_embedding_async() -> None:
    embedder = LlamaIndexEmbedding(MockEmbedding(embed_dim=4))
    vectors = await embedder.aembed(["a", "b", "c"])
    assert vectors.shape == (3, 4) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert embedder.dim == 4 and (await embedder.aembed([])).shape == (0, 4)


def test_llamaindex_embedding_drives_the_core(tmp_path: Path) -> None:
    """Pages, queries and ranking run on the LlamaIndex embedding model; here through MemoryOSMemory."""
    model = LexicalEmbedding()
    memory = MemoryOSMemory(user_id="quinn", data_storage_path=tmp_path, background=False, embed_model=model)
    assert memory.memoryos.embedder.name.startswith("llamaindex:") and memory.memoryos.embedder.dim == 512
    memory.put_messages([ChatMessage(role=MessageRole.USER, content="My cat Miso sleeps all day."),
                         ChatMessage(role=MessageRole.ASSISTANT, content="Lucky cat!")])
    for i in range(12):
        memory.put_messages([ChatMessage(role=MessageRole.USER, content=f"Astronomy question {i} about stars"),
                             ChatMessage(role=MessageRole.ASSISTANT, content="Stars shine.")])
    out = memory.get(input="Where does my cat Miso sleep?")
    assert "My cat Miso sleeps all day." in out[0].content
    assert model._calls > 13
    memory.close()
