"""OpenAI-compatible chat and embeddings over the ``openai`` package (sync and async twins).

Clients are created lazily, so a missing key fails at the first call with a clear message,
never at import or construction. The openai client retries timeouts, 429 and 5xx with
exponential backoff and jitter; we set how many times and how long to wait.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Sequence

import numpy as np

from ..errors import LLMError, LLMNotConfiguredError
from .base import ChatMessage, Completion, normalize

_KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


class _OpenAIBase:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.timeout = timeout
        self.max_retries = max_retries
        self._client: Any = None
        self._aclient: Any = None
        self._lock = threading.Lock()

    def _kwargs(self) -> dict[str, Any]:
        if not self.api_key:
            raise LLMNotConfiguredError(
                "no API key: pass openai_api_key=... (or set OPENAI_API_KEY), and openai_base_url=... "
                "for an OpenAI-compatible server"
            )
        return {"api_key": self.api_key, "base_url": self.base_url, "timeout": self.timeout, "max_retries": self.max_retries}

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(**self._kwargs())
            return self._client

    @property
    def aclient(self) -> Any:
        with self._lock:
            if self._aclient is None:
                import openai

                self._aclient = openai.AsyncOpenAI(**self._kwargs())
            return self._aclient


def _wrap_error(exc: Exception) -> LLMError:
    return LLMError(f"{type(exc).__name__}: {exc}")


def _is_response_format_rejection(exc: Exception) -> bool:
    import openai

    return isinstance(exc, openai.BadRequestError) and "response_format" in str(exc).lower()


class OpenAIChatModel(_OpenAIBase):
    """Chat completions on any OpenAI-compatible endpoint."""

    def __init__(self, model: str = "gpt-4o-mini", *, temperature: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_name = model
        self.temperature = temperature
        #: Set when the endpoint refused ``response_format``; we then ask in plain words.
        self.supports_json_schema = True

    def _request(self, messages: Sequence[ChatMessage], json_schema: dict[str, Any] | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model_name,
            "messages": [m.to_openai() for m in messages],
            "temperature": self.temperature,
        }
        if json_schema is not None and self.supports_json_schema:
            request["response_format"] = {"type": "json_schema", "json_schema": json_schema}
        return request

    @staticmethod
    def _completion(response: Any) -> Completion:
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content if choice and choice.message else None) or ""
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            model=str(getattr(response, "model", "") or ""),
        )

    def complete(self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None) -> Completion:
        try:
            return self._completion(self.client.chat.completions.create(**self._request(messages, json_schema)))
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            if json_schema is not None and self.supports_json_schema and _is_response_format_rejection(exc):
                self.supports_json_schema = False
                return self.complete(messages, json_schema=json_schema)
            raise _wrap_error(exc) from exc

    async def acomplete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None
    ) -> Completion:
        try:
            response = await self.aclient.chat.completions.create(**self._request(messages, json_schema))
            return self._completion(response)
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            if json_schema is not None and self.supports_json_schema and _is_response_format_rejection(exc):
                self.supports_json_schema = False
                return await self.acomplete(messages, json_schema=json_schema)
            raise _wrap_error(exc) from exc


class OpenAIEmbedder(_OpenAIBase):
    """Embeddings on any OpenAI-compatible endpoint."""

    def __init__(self, model: str = "text-embedding-3-small", *, dimensions: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.name = f"openai:{model}"
        self._dim = dimensions or _KNOWN_DIMS.get(model)
        self._send_dimensions = dimensions is not None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def _request(self, texts: Sequence[str]) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model, "input": [t if t else " " for t in texts]}
        if self._send_dimensions:
            request["dimensions"] = self._dim
        return request

    def _vectors(self, response: Any) -> np.ndarray:
        rows = sorted(response.data, key=lambda d: d.index)
        vectors = normalize(np.array([r.embedding for r in rows], dtype=np.float32))
        self._dim = vectors.shape[1]
        return vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        try:
            return self._vectors(self.client.embeddings.create(**self._request(texts)))
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            raise _wrap_error(exc) from exc

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        try:
            return self._vectors(await self.aclient.embeddings.create(**self._request(texts)))
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            raise _wrap_error(exc) from exc
