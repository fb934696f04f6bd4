"""OpenAI-compatible chat and embeddings over the ``openai`` package (sync and async twins).

Clients are created lazily, so a missing key fails at the first call with a clear message,
never at import or construction. Timeouts, connection errors, 429 and 5xx are retried here with
exponential backoff and jitter (not inside the ``openai`` client), so every HTTP attempt is counted.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from typing import Any, Awaitable, Callable, Sequence

import numpy as np

from ..errors import LLMError, LLMNotConfiguredError
from ..usage import report_attempt
from .base import ChatMessage, Completion, normalize

_KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


#: Default seconds one HTTP attempt may take: a small model on a CPU needs 45-95 s for a
#: consolidation call, so the default suits local servers; ``MEMORYOS_LLM_TIMEOUT`` overrides it.
DEFAULT_TIMEOUT = 300.0
#: Largest answer of a structured (JSON) call and of a free answer, in tokens: a runaway generation
#: on a slow local model otherwise runs for minutes.
STRUCTURED_MAX_TOKENS = 1024
ANSWER_MAX_TOKENS = 800


def default_timeout() -> float:
    """``MEMORYOS_LLM_TIMEOUT`` (seconds) if set to a positive number, else ``DEFAULT_TIMEOUT``."""
    raw = os.environ.get("MEMORYOS_LLM_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


class _OpenAIBase:
    """Client set-up and retries. The ``openai`` client's own retries are off: we retry timeouts,
    connection errors, 429 and 5xx ourselves, so every HTTP attempt is reported to the usage meter."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
    ) -> None:
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.timeout = timeout if timeout is not None else default_timeout()
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
        return {"api_key": self.api_key, "base_url": self.base_url, "timeout": self.timeout, "max_retries": 0}

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

    def _backoff(self, attempt: int) -> float:
        return min(20.0, 0.5 * 2 ** attempt) * (0.5 + random.random())

    def _attempts(self, send: Callable[[], Any]) -> Any:
        """``send`` with retries; each HTTP attempt is reported to the usage meter."""
        for attempt in range(self.max_retries + 1):
            start = time.perf_counter()
            try:
                response = send()
            except Exception as exc:
                report_attempt(time.perf_counter() - start, error=exc)
                if attempt < self.max_retries and _retryable(exc):
                    time.sleep(self._backoff(attempt))
                    continue
                raise
            report_attempt(time.perf_counter() - start, usage=getattr(response, "usage", None))
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _aattempts(self, send: Callable[[], Awaitable[Any]]) -> Any:
        for attempt in range(self.max_retries + 1):
            start = time.perf_counter()
            try:
                response = await send()
            except Exception as exc:
                report_attempt(time.perf_counter() - start, error=exc)
                if attempt < self.max_retries and _retryable(exc):
                    await asyncio.sleep(self._backoff(attempt))
                    continue
                raise
            report_attempt(time.perf_counter() - start, usage=getattr(response, "usage", None))
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def _retryable(exc: Exception) -> bool:
    import openai

    return isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError,
                            openai.InternalServerError))


def _wrap_error(exc: Exception, base_url: str | None) -> LLMError:
    import openai

    where = f" at {base_url}" if base_url else ""
    name = type(exc).__name__
    if isinstance(exc, openai.APITimeoutError):
        return LLMError(f"{name}: the LLM endpoint{where} did not answer in time (raise llm_timeout or "
                        f"MEMORYOS_LLM_TIMEOUT for slow local models): {exc}")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"{name}: the LLM endpoint{where} is unreachable: {exc}")
    return LLMError(f"{name}: {exc}")


def _rejected_parameter(exc: Exception, name: str) -> bool:
    import openai

    return isinstance(exc, openai.BadRequestError) and name in str(exc).lower()


class OpenAIChatModel(_OpenAIBase):
    """Chat completions on any OpenAI-compatible endpoint.

    Structured (JSON) calls are capped at ``structured_max_tokens`` and answers at ``max_tokens``.
    """

    def __init__(self, model: str = "gpt-4o-mini", *, temperature: float = 0.2,
                 max_tokens: int = ANSWER_MAX_TOKENS, structured_max_tokens: int = STRUCTURED_MAX_TOKENS,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_name = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.structured_max_tokens = structured_max_tokens
        #: Set when the endpoint refused ``response_format``; we then ask in plain words.
        self.supports_json_schema = True
        #: The name the endpoint takes for the token cap (reasoning models want ``max_completion_tokens``).
        self.cap_parameter = "max_tokens"

    def _request(self, messages: Sequence[ChatMessage], json_schema: dict[str, Any] | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model_name,
            "messages": [m.to_openai() for m in messages],
            "temperature": self.temperature,
            self.cap_parameter: self.structured_max_tokens if json_schema is not None else self.max_tokens,
        }
        if json_schema is not None and self.supports_json_schema:
            request["response_format"] = {"type": "json_schema", "json_schema": json_schema}
        return request

    def _adapt_to_rejection(self, exc: Exception, json_schema: dict[str, Any] | None) -> bool:
        """Learn from a 400 that names a parameter this endpoint does not take; True to send again."""
        if json_schema is not None and self.supports_json_schema and _rejected_parameter(exc, "response_format"):
            self.supports_json_schema = False
            return True
        if self.cap_parameter == "max_tokens" and _rejected_parameter(exc, "max_tokens"):
            self.cap_parameter = "max_completion_tokens"
            return True
        return False

    @staticmethod
    def _completion(response: Any) -> Completion:
        choice = response.choices[0] if response.choices else None
        message = choice.message if choice else None
        text = (message.content if message else None) or ""
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            model=str(getattr(response, "model", "") or ""),
            finish_reason=str(getattr(choice, "finish_reason", "") or ""),
            refusal=getattr(message, "refusal", None) or None,
        )

    def complete(self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None) -> Completion:
        try:
            create = self.client.chat.completions.create
            return self._completion(self._attempts(lambda: create(**self._request(messages, json_schema))))
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            if self._adapt_to_rejection(exc, json_schema):
                return self.complete(messages, json_schema=json_schema)
            raise _wrap_error(exc, self.base_url) from exc

    async def acomplete(
        self, messages: Sequence[ChatMessage], *, json_schema: dict[str, Any] | None = None
    ) -> Completion:
        try:
            create = self.aclient.chat.completions.create
            return self._completion(await self._aattempts(lambda: create(**self._request(messages, json_schema))))
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            if self._adapt_to_rejection(exc, json_schema):
                return await self.acomplete(messages, json_schema=json_schema)
            raise _wrap_error(exc, self.base_url) from exc


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
            create = self.client.embeddings.create
            return self._vectors(self._attempts(lambda: create(**self._request(texts))))
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            raise _wrap_error(exc, self.base_url) from exc

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        try:
            create = self.aclient.embeddings.create
            return self._vectors(await self._aattempts(lambda: create(**self._request(texts))))
        except LLMNotConfiguredError:
            raise
        except Exception as exc:
            raise _wrap_error(exc, self.base_url) from exc
