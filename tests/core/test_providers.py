"""Providers through the real ``openai`` client against a scripted local server, plus structured
output parsing, offline token counting, the local embedders and usage accounting.

Nothing here leaves 127.0.0.1: an autouse guard refuses any other socket connection.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import openai
import pytest
import tiktoken
import tiktoken.load
import tiktoken.registry
from pydantic import BaseModel, Field

from memoryos_core import tokens
from memoryos_core.errors import LLMError, LLMNotConfiguredError, MemoryOSError
from memoryos_core.providers import (
    ChatMessage,
    ChatModel,
    Embedder,
    HashingEmbedder,
    LocalMiniLMEmbedder,
    OpenAIChatModel,
    OpenAIEmbedder,
)
from memoryos_core.structured import StructuredOutputError, extract_json, json_schema_for, parse_model
from memoryos_core.tokens import TokenCounter
from memoryos_core.usage import CallEvent, UsageTracker

try:  # tests/ may or may not be a package
    from .scripted_openai import Delay, Reply, ScriptedOpenAI, Status, hashed_embedding
except ImportError:
    from scripted_openai import Delay, Reply, ScriptedOpenAI, Status, hashed_embedding

pytestmark = pytest.mark.timeout(60)

MESSAGES = [ChatMessage("system", "You are terse."), ChatMessage("user", "Say hi.")]
API_KEY = "sk-scripted-test"
_LOCAL_HOSTS = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


# -- guards and helpers ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything in these tests tries to connect beyond the loopback address."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in _LOCAL_HOSTS:
                raise AssertionError(f"test tried to reach {address!r}; only 127.0.0.1 is allowed")

    def connect(sock: socket.socket, address: object) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: object) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an environment proxy


def chat_model(server: ScriptedOpenAI, **kwargs: object) -> OpenAIChatModel:
    kwargs.setdefault("max_retries", 2)
    kwargs.setdefault("timeout", 5.0)
    return OpenAIChatModel("gpt-4o-mini", api_key=API_KEY, base_url=server.base_url, **kwargs)


def embedder(server: ScriptedOpenAI, model: str = "scripted-embed", **kwargs: object) -> OpenAIEmbedder:
    kwargs.setdefault("max_retries", 1)
    kwargs.setdefault("timeout", 5.0)
    return OpenAIEmbedder(model, api_key=API_KEY, base_url=server.base_url, **kwargs)


def error_400(message: str, param: str | None = None) -> Status:
    return Status(400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}})


class Fact(BaseModel):
    text: str
    confidence: float = Field(ge=0.0, le=1.0)


class Facts(BaseModel):
    facts: list[Fact]


# -- the scripted server itself ----------------------------------------------------------------


def test_server_binds_loopback_and_serves_models(scripted_openai: ScriptedOpenAI) -> None:
    assert scripted_openai.base_url.startswith("http://127.0.0.1:")
    assert scripted_openai.base_url.endswith("/v1")
    assert scripted_openai._server.server_address[0] == "127.0.0.1"
    client = openai.OpenAI(api_key=API_KEY, base_url=scripted_openai.base_url, max_retries=0, timeout=5)
    assert [m.id for m in client.models.list().data] == ["scripted-model"]
    assert scripted_openai.requests[-1]["path"] == "/v1/models"
    assert scripted_openai.requests[-1]["headers"]["authorization"] == f"Bearer {API_KEY}"
    with pytest.raises(urllib.error.HTTPError) as info:
        _direct.open(scripted_openai.base_url + "/nope", timeout=5)
    assert info.value.code == 404


def test_server_stops_by_itself_after_max_lifetime() -> None:
    server = ScriptedOpenAI(max_lifetime=0.2).start()
    url = server.base_url + "/models"
    try:
        with _direct.open(url, timeout=5) as response:
            assert response.status == 200
        deadline = time.monotonic() + 5
        while server.running and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not server.running
        with pytest.raises(OSError):
            _direct.open(url, timeout=2)
    finally:
        server.stop()  # idempotent


def test_server_steps_handler_and_default(scripted_openai: ScriptedOpenAI) -> None:
    client = openai.OpenAI(api_key=API_KEY, base_url=scripted_openai.base_url, max_retries=0, timeout=5)

    def ask() -> str:
        response = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
        return response.choices[0].message.content

    assert ask() == "ok"  # nothing scripted, no handler
    scripted_openai.script(Reply("first"), Reply("second"))
    scripted_openai.chat_handler = lambda body: f"echo {body['messages'][-1]['content']}"
    assert [ask(), ask(), ask()] == ["first", "second", "echo q"]
    assert scripted_openai.pending_steps == 0
    assert len(scripted_openai.chat_requests()) == 4
    with pytest.raises(TypeError):
        scripted_openai.script("not a step")  # type: ignore[arg-type]


# -- OpenAIChatModel ---------------------------------------------------------------------------


def test_complete_returns_text_usage_and_sends_a_plain_request(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(Reply("Hi!", prompt_tokens=17, completion_tokens=4))
    model = chat_model(scripted_openai, temperature=0.0)
    assert isinstance(model, ChatModel)
    result = model.complete(MESSAGES)
    assert result.text == "Hi!"
    assert (result.prompt_tokens, result.completion_tokens) == (17, 4)
    assert result.model == "gpt-4o-mini"
    [request] = scripted_openai.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    body = request["body"]
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hi."}]
    assert body["temperature"] == 0.0
    assert "response_format" not in body


async def test_acomplete_returns_text_and_usage(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(Reply("async hi", prompt_tokens=21, completion_tokens=2))
    model = chat_model(scripted_openai)
    try:
        result = await model.acomplete(MESSAGES)
    finally:
        await model.aclient.close()
    assert isinstance(model.aclient, openai.AsyncOpenAI)
    assert result.text == "async hi"
    assert (result.prompt_tokens, result.completion_tokens) == (21, 2)
    assert len(scripted_openai.chat_requests()) == 1


def test_json_schema_is_sent_as_response_format(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(Reply('{"text": "lives in Lisbon", "confidence": 0.9}'))
    schema = json_schema_for(Fact)
    result = chat_model(scripted_openai).complete(MESSAGES, json_schema=schema)
    assert parse_model(result.text, Fact) == Fact(text="lives in Lisbon", confidence=0.9)
    [body] = scripted_openai.chat_requests()
    assert body["response_format"] == {"type": "json_schema", "json_schema": schema}
    assert body["response_format"]["json_schema"]["name"] == "Fact"


@pytest.mark.parametrize("code", [429, 500, 503])
def test_transient_errors_are_retried(scripted_openai: ScriptedOpenAI, code: int) -> None:
    scripted_openai.script(Status(code, retry_after=0.01), Status(code, retry_after=0.01), Reply("recovered"))
    started = time.monotonic()
    result = chat_model(scripted_openai, max_retries=2).complete(MESSAGES)
    assert result.text == "recovered"
    assert len(scripted_openai.chat_requests()) == 3
    assert time.monotonic() - started < 5


async def test_async_rate_limit_is_retried(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(Status(429, retry_after=0.01), Reply("after 429"))
    model = chat_model(scripted_openai, max_retries=2)
    try:
        result = await model.acomplete(MESSAGES)
    finally:
        await model.aclient.close()
    assert result.text == "after 429"
    assert len(scripted_openai.chat_requests()) == 2


def test_timeout_is_retried(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(Delay(1.5, Reply("too late")), Reply("on time"))
    started = time.monotonic()
    result = chat_model(scripted_openai, timeout=0.5, max_retries=1).complete(MESSAGES)
    assert result.text == "on time"
    assert len(scripted_openai.chat_requests()) == 2
    assert time.monotonic() - started < 5


def test_persistent_timeout_raises_llm_error(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.chat_handler = lambda body: Delay(1.0, Reply("never in time"))
    with pytest.raises(LLMError) as info:
        chat_model(scripted_openai, timeout=0.3, max_retries=1).complete(MESSAGES)
    assert isinstance(info.value.__cause__, openai.APITimeoutError)
    assert "APITimeoutError" in str(info.value)
    assert len(scripted_openai.chat_requests()) == 2


def test_persistent_server_error_raises_llm_error(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.chat_handler = lambda body: Status(500, retry_after=0.01)
    with pytest.raises(LLMError) as info:
        chat_model(scripted_openai, max_retries=3).complete(MESSAGES)
    assert isinstance(info.value, MemoryOSError)
    assert isinstance(info.value.__cause__, openai.InternalServerError)
    assert "InternalServerError" in str(info.value)
    assert len(scripted_openai.chat_requests()) == 4  # first try + max_retries


async def test_async_persistent_server_error_raises_llm_error(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.chat_handler = lambda body: Status(500, retry_after=0.01)
    model = chat_model(scripted_openai, max_retries=1)
    try:
        with pytest.raises(LLMError):
            await model.acomplete(MESSAGES)
    finally:
        await model.aclient.close()
    assert len(scripted_openai.chat_requests()) == 2


def test_endpoint_down_raises_llm_error(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.down = True
    with pytest.raises(LLMError) as info:
        chat_model(scripted_openai, max_retries=1).complete(MESSAGES)
    assert isinstance(info.value.__cause__, openai.APIConnectionError)
    assert len(scripted_openai.chat_requests()) == 2
    scripted_openai.down = False
    assert chat_model(scripted_openai, max_retries=0).complete(MESSAGES).text == "ok"


def test_response_format_rejection_falls_back_to_plain_requests(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(
        error_400("Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
                  param="response_format"),
        Reply('{"text": "likes tea", "confidence": 0.7}'),
        Reply('{"text": "likes coffee", "confidence": 0.6}'),
    )
    model = chat_model(scripted_openai)
    schema = json_schema_for(Fact)
    assert parse_model(model.complete(MESSAGES, json_schema=schema).text, Fact).text == "likes tea"
    assert model.supports_json_schema is False
    first, second = scripted_openai.chat_requests()
    assert first["response_format"]["type"] == "json_schema"
    assert "response_format" not in second
    assert second["messages"] == first["messages"]
    # The model remembers: later structured calls go out plain at once.
    assert model.complete(MESSAGES, json_schema=schema).text.startswith('{"text": "likes coffee"')
    assert len(scripted_openai.chat_requests()) == 3
    assert "response_format" not in scripted_openai.chat_requests()[2]


async def test_async_response_format_rejection_falls_back(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(error_400("response_format is not supported"), Reply('{"text": "x", "confidence": 1}'))
    model = chat_model(scripted_openai)
    try:
        result = await model.acomplete(MESSAGES, json_schema=json_schema_for(Fact))
    finally:
        await model.aclient.close()
    assert parse_model(result.text, Fact).confidence == 1.0
    first, second = scripted_openai.chat_requests()
    assert "response_format" in first and "response_format" not in second


def test_other_bad_request_is_not_retried_and_keeps_json_schema(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(error_400("This model's maximum context length is 128000 tokens."), Reply("unused"))
    model = chat_model(scripted_openai)
    with pytest.raises(LLMError) as info:
        model.complete(MESSAGES, json_schema=json_schema_for(Fact))
    assert isinstance(info.value.__cause__, openai.BadRequestError)
    assert "maximum context length" in str(info.value)
    assert model.supports_json_schema is True
    assert len(scripted_openai.chat_requests()) == 1
    assert scripted_openai.pending_steps == 1


def test_response_format_error_without_schema_is_an_error(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.script(error_400("response_format is not supported"), Reply("unused"))
    model = chat_model(scripted_openai)
    with pytest.raises(LLMError):
        model.complete(MESSAGES)  # no json_schema: nothing to fall back from
    assert len(scripted_openai.chat_requests()) == 1


async def test_missing_api_key_fails_at_first_call_not_construction(
    scripted_openai: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = OpenAIChatModel(base_url=scripted_openai.base_url)  # must not raise
    emb = OpenAIEmbedder("text-embedding-3-small", base_url=scripted_openai.base_url)
    assert emb.dim == 1536  # known model: no call needed
    with pytest.raises(LLMNotConfiguredError, match="OPENAI_API_KEY"):
        model.complete(MESSAGES)
    with pytest.raises(LLMNotConfiguredError):
        await model.acomplete(MESSAGES)
    with pytest.raises(LLMNotConfiguredError):
        emb.embed(["hello"])
    with pytest.raises(LLMNotConfiguredError):
        await emb.aembed(["hello"])
    assert scripted_openai.requests == []


def test_api_key_from_environment(scripted_openai: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    model = OpenAIChatModel(base_url=scripted_openai.base_url, max_retries=0, timeout=5)
    assert model.complete(MESSAGES).text == "ok"
    assert scripted_openai.requests[0]["headers"]["authorization"] == "Bearer sk-from-env"


# -- OpenAIEmbedder ----------------------------------------------------------------------------

TEXTS = ["I moved to Lisbon last spring.", "", "Where does the user live? Lisbon", "Two cups of flour."]


def _check_embeddings(vectors: np.ndarray, texts: list[str], dim: int) -> None:
    assert isinstance(vectors, np.ndarray)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    expected = np.array([hashed_embedding(t or " ", dim) for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)  # right vector in the right row


def test_embed_normalises_and_keeps_input_order(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.reverse_embedding_order = True  # rows come back out of order, with their index
    scripted_openai.embedding_scale = 3.5  # and not unit length
    emb = embedder(scripted_openai)
    vectors = emb.embed(TEXTS)
    _check_embeddings(vectors, TEXTS, 64)
    assert emb.dim == 64
    [request] = scripted_openai.requests
    assert request["path"] == "/v1/embeddings"
    assert request["body"]["model"] == "scripted-embed"
    assert request["body"]["input"] == ["I moved to Lisbon last spring.", " ", "Where does the user live? Lisbon",
                                        "Two cups of flour."]
    assert "dimensions" not in request["body"]
    # Bag-of-words vectors: the two Lisbon texts are closer than Lisbon and flour.
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[3]


async def test_aembed_normalises_and_keeps_input_order(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.reverse_embedding_order = True
    scripted_openai.embedding_scale = 0.25
    emb = embedder(scripted_openai)
    try:
        vectors = await emb.aembed(TEXTS)
    finally:
        await emb.aclient.close()
    _check_embeddings(vectors, TEXTS, 64)


def test_embed_dimensions_are_sent_and_probed(scripted_openai: ScriptedOpenAI) -> None:
    emb = embedder(scripted_openai, dimensions=16)
    assert emb.dim == 16
    # (On Python 3.11 this isinstance reads ``dim``; with dimensions given that makes no call.)
    assert isinstance(emb, Embedder)
    assert scripted_openai.requests == []
    _check_embeddings(emb.embed(["alpha beta", "gamma"]), ["alpha beta", "gamma"], 16)
    assert scripted_openai.requests[-1]["body"]["dimensions"] == 16

    unknown = embedder(scripted_openai, model="my-local-embedder")
    assert unknown.dim == 64  # probed with one call
    assert len(scripted_openai.requests) == 2
    assert unknown.embed([]).shape == (0, 64)
    assert len(scripted_openai.requests) == 2  # empty input makes no call


def test_embed_failure_raises_llm_error(scripted_openai: ScriptedOpenAI) -> None:
    scripted_openai.down = True
    with pytest.raises(LLMError):
        embedder(scripted_openai, max_retries=0).embed(["hello"])


# -- structured output -------------------------------------------------------------------------


def test_extract_json_bare_fenced_and_in_prose() -> None:
    assert extract_json('{"a": 1, "b": [true, null]}') == {"a": 1, "b": [True, None]}
    assert extract_json('  [1, 2, 3]\n') == [1, 2, 3]
    assert extract_json('Here you go:\n```json\n{"facts": []}\n```\nAnything else?') == {"facts": []}
    assert extract_json('```\n{"plain": "fence"}\n```') == {"plain": "fence"}
    assert extract_json('Sure! The answer is {"text": "x", "confidence": 0.5} -- hope that helps.') == {
        "text": "x", "confidence": 0.5}
    # A brace that is not JSON comes first; the real object is still found.
    assert extract_json('Use {curly braces} like this: {"ok": true}') == {"ok": True}


@pytest.mark.parametrize("text", ["", "no JSON here", "{not: json}", '{"a": 1', "```json\n{broken,}\n```"])
def test_extract_json_rejects_invalid(text: str) -> None:
    with pytest.raises(StructuredOutputError, match="no JSON"):
        extract_json(text)


def test_parse_model_validates_schema() -> None:
    fenced = '```json\n{"facts": [{"text": "lives in Lisbon", "confidence": 0.9}]}\n```'
    assert parse_model(fenced, Facts) == Facts(facts=[Fact(text="lives in Lisbon", confidence=0.9)])

    with pytest.raises(StructuredOutputError) as info:
        parse_model('{"facts": [{"text": "x", "confidence": 7}]}', Facts)
    message = str(info.value)
    assert "does not match the schema" in message
    assert "confidence" in message and "less than or equal to 1" in message

    with pytest.raises(StructuredOutputError) as info:
        parse_model('{"facts": [{"confidence": 0.5}]}', Facts)
    assert "text" in str(info.value) and "missing" in str(info.value).lower()

    with pytest.raises(StructuredOutputError, match="no JSON"):
        parse_model("I could not find any facts.", Facts)
    assert issubclass(StructuredOutputError, ValueError)


def test_json_schema_for_names_the_model() -> None:
    schema = json_schema_for(Facts)
    assert schema["name"] == "Facts"
    assert "facts" in schema["schema"]["properties"]


# -- tokens ------------------------------------------------------------------------------------


@pytest.fixture
def offline_tiktoken(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """A fresh tiktoken cache folder, tiktoken's in-process registry emptied, and no downloads."""
    cache = tmp_path / "tiktoken-cache"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    real_read_file = tiktoken.load.read_file

    def no_download(blobpath: str) -> bytes:
        if "://" in blobpath:
            raise AssertionError(f"tiktoken tried to download {blobpath}")
        return real_read_file(blobpath)

    monkeypatch.setattr(tiktoken.load, "read_file", no_download)
    tokens.get_encoding.cache_clear()
    yield cache
    tokens.get_encoding.cache_clear()


def _cache_file(cache, url: str):
    return cache / hashlib.sha1(url.encode()).hexdigest()


def test_token_counts_offline_o200k(offline_tiktoken) -> None:
    counter = TokenCounter("gpt-4o-mini")
    assert counter.encoding.name == "o200k_base"
    assert counter.count("hello world") == 2
    assert counter.encoding.encode("hello world") == [24912, 2375]
    assert counter.count("") == 0
    assert counter.count("<|endoftext|>") > 1  # special tokens are counted as plain text, never raise
    assert not offline_tiktoken.exists()  # built from the shipped file: no cache written anywhere
    assert TokenCounter("some-unknown-local-model").encoding.name == "o200k_base"
    assert TokenCounter().encoding.name == "o200k_base"


def test_token_counts_offline_cl100k_for_gpt4(offline_tiktoken) -> None:
    counter = TokenCounter("gpt-4")
    assert counter.encoding.name == "cl100k_base"
    assert counter.encoding.encode("hello world") == [15339, 1917]
    text = "ĉiuj 東京 🙂"
    assert counter.count(text) == 8
    assert TokenCounter("gpt-4o").count(text) == 5
    assert not offline_tiktoken.exists()
    assert TokenCounter("text-davinci-003").encoding.name == "o200k_base"  # p50k is not shipped: never fetched


def test_token_counter_is_thread_safe(offline_tiktoken) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(TokenCounter("gpt-4").count("hello world"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [2] * 8


def test_truncate() -> None:
    counter = TokenCounter("gpt-4o-mini")
    text = "The quick brown fox jumps over the lazy dog. " * 20
    cut = counter.truncate(text, 7)
    assert counter.count(cut) == 7
    assert text.startswith(cut) and len(cut) < len(text)
    assert counter.truncate(text, 10_000) == text
    assert counter.truncate(text, 0) == ""
    assert counter.truncate("", 5) == ""


# -- local embedders ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> LocalMiniLMEmbedder:
    return LocalMiniLMEmbedder(batch_size=2)


def test_minilm_model_is_verified() -> None:
    assert LocalMiniLMEmbedder.verify_model() is True


def test_minilm_relatedness(minilm: LocalMiniLMEmbedder) -> None:
    fact, question, unrelated = minilm.embed(
        ["I moved to Lisbon last spring.", "Where does the user live? Lisbon", "The recipe needs two cups of flour."]
    )
    assert float(fact @ question) > float(fact @ unrelated) + 0.3
    assert float(question @ unrelated) < 0.3


def test_minilm_shape_norm_and_order(minilm: LocalMiniLMEmbedder) -> None:
    texts = [
        "A much longer sentence about quarterly financial reports, revenue growth and the board meeting next Tuesday.",
        "ok",
        "I moved to Lisbon last spring.",
        "",
        "Cats sleep a lot.",
    ]
    vectors = minilm.embed(texts)
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    assert minilm.dim == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    singles = np.vstack([minilm.embed([t]) for t in texts])
    # Each row is its own text (batched in length order internally, then restored).
    assert (np.argmax(vectors @ singles.T, axis=1) == np.arange(len(texts))).all()
    np.testing.assert_allclose(np.sum(vectors * singles, axis=1), 1.0, atol=1e-3)
    assert minilm.embed([]).shape == (0, 384)


async def test_minilm_aembed_matches_embed(minilm: LocalMiniLMEmbedder) -> None:
    texts = ["hello there", "I moved to Lisbon last spring."]
    np.testing.assert_allclose(await minilm.aembed(texts), minilm.embed(texts), atol=1e-5)


def test_hashing_embedder_is_deterministic() -> None:
    a, b = HashingEmbedder(128), HashingEmbedder(128)
    texts = ["the user lives in Lisbon", "the user lives in Porto now", "flour and salt", ""]
    va, vb = a.embed(texts), b.embed(texts)
    assert isinstance(a, Embedder)
    assert va.shape == (4, 128) and va.dtype == np.float32
    assert np.array_equal(va, vb)
    assert np.array_equal(a.embed(texts[:1])[0], va[0])
    np.testing.assert_allclose(np.linalg.norm(va[:3], axis=1), 1.0, atol=1e-6)
    assert not va[3].any()  # no words, zero vector (never NaN)
    assert va[0] @ va[1] > va[0] @ va[2]
    assert np.array_equal(a.embed(["LISBON!"]), a.embed(["lisbon"]))
    assert a.name == "hashing:128" and a.dim == 128
    assert HashingEmbedder(32).embed(texts).shape == (4, 32)
    assert a.embed([]).shape == (0, 128)


# -- usage accounting --------------------------------------------------------------------------


def _event(kind: str, purpose: str, p: int = 0, c: int = 0, ok: bool = True, items: int = 1) -> CallEvent:
    return CallEvent(kind=kind, purpose=purpose, model="m", prompt_tokens=p, completion_tokens=c, seconds=0.5,
                     ok=ok, error=None if ok else "boom", items=items)  # type: ignore[arg-type]


def test_usage_tracker_snapshot_totals() -> None:
    tracker = UsageTracker()
    tracker.record(_event("llm", "consolidate", 100, 20))
    tracker.record(_event("llm", "consolidate", 50, 10, ok=False))
    tracker.record(_event("llm", "profile", 7, 3))
    tracker.record(_event("embedding", "store", items=12))
    snap = tracker.snapshot()
    assert snap["totals"] == {"llm_calls": 3, "embedding_calls": 1, "prompt_tokens": 157, "completion_tokens": 33}
    consolidate = snap["by_operation"]["llm:consolidate"]
    assert consolidate["calls"] == 2 and consolidate["failures"] == 1
    assert consolidate["prompt_tokens"] == 150 and consolidate["completion_tokens"] == 30
    assert consolidate["seconds"] == pytest.approx(1.0)
    assert snap["by_operation"]["embedding:store"]["items"] == 12
    assert set(snap["by_operation"]) == {"llm:consolidate", "llm:profile", "embedding:store"}
    # A snapshot is a copy.
    snap["by_operation"]["llm:profile"]["calls"] = 99
    assert tracker.snapshot()["by_operation"]["llm:profile"]["calls"] == 1


def test_usage_tracker_on_call_hook_and_swallowed_errors() -> None:
    seen: list[CallEvent] = []
    tracker = UsageTracker(on_call=seen.append)
    event = _event("llm", "answer", 3, 1)
    tracker.record(event)
    assert seen == [event]

    def broken(_: CallEvent) -> None:
        raise RuntimeError("observer bug")

    tracker.on_call = broken
    tracker.record(_event("embedding", "search"))  # must not raise
    assert tracker.snapshot()["totals"]["embedding_calls"] == 1
    assert tracker.snapshot()["totals"]["llm_calls"] == 1


def test_usage_tracker_is_thread_safe() -> None:
    tracker = UsageTracker()

    def work() -> None:
        for _ in range(200):
            tracker.record(_event("llm", "x", 1, 1))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.snapshot()["totals"] == {"llm_calls": 800, "embedding_calls": 0, "prompt_tokens": 800,
                                            "completion_tokens": 800}
