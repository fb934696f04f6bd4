"""A scripted OpenAI-compatible HTTP server for tests (standard library only).

It listens on 127.0.0.1 only, on a free port, in a daemon thread, and stops by itself after
``max_lifetime`` seconds even if a test forgets to stop it.

    with ScriptedOpenAI() as server:
        server.script(Status(429, retry_after=0.01), Reply('{"ok": true}'))
        client = openai.OpenAI(api_key="test", base_url=server.base_url)
        ...

Chat completions (``POST /v1/chat/completions``) consume the scripted steps in order; when the
queue is empty ``chat_handler(body)`` answers (a string or a step), and without a handler the
answer is ``"ok"``. Embeddings (``POST /v1/embeddings``) are deterministic bag-of-words hashing
vectors, so texts sharing words get similar vectors. ``GET /v1/models`` lists one model.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import itertools
import json
import math
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union

__all__ = ["Delay", "Reply", "ScriptedOpenAI", "Status", "Step", "hashed_embedding"]

_HOST = "127.0.0.1"  # never anything else


@dataclass
class Reply:
    """A successful chat completion with this content and usage."""

    content: str
    prompt_tokens: int = 10
    completion_tokens: int = 5


@dataclass
class Status:
    """An HTTP error answer. ``body`` defaults to an OpenAI-style error object for ``code``."""

    code: int
    body: dict | None = None
    retry_after: float | None = None


@dataclass
class Delay:
    """Sleep ``seconds`` (e.g. past the client's timeout), then answer ``then``."""

    seconds: float
    then: Reply


Step = Union[Reply, Status, Delay]

_ERROR_TYPES = {
    400: ("invalid_request_error", "Bad request"),
    401: ("invalid_request_error", "Incorrect API key provided"),
    404: ("invalid_request_error", "Not found"),
    408: ("timeout", "Request timed out"),
    429: ("rate_limit_exceeded", "Rate limit reached, please try again later"),
    500: ("server_error", "The server had an error while processing your request"),
    502: ("server_error", "Bad gateway"),
    503: ("server_error", "The engine is currently overloaded, please try again later"),
}


def error_body(code: int, message: str | None = None, *, param: str | None = None) -> dict:
    """An OpenAI-style ``{"error": {...}}`` body."""
    kind, default = _ERROR_TYPES.get(code, ("server_error" if code >= 500 else "invalid_request_error", "Error"))
    return {"error": {"message": message or f"{default} (scripted {code})", "type": kind, "param": param, "code": None}}


_WORD = re.compile(r"[a-z0-9]+")


def hashed_embedding(text: str, dim: int) -> list[float]:
    """The unit vector the server answers for ``text``: signed feature hashing of its words.

    Each word lands in three signed buckets, so one unlucky collision cannot cancel a shared word.
    """
    vector = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        for k in range(3):
            chunk = digest[5 * k : 5 * k + 5]
            bucket = int.from_bytes(chunk[:4], "little") % dim
            vector[bucket] += 1.0 if chunk[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:  # no words: a fixed unit vector rather than zeros
        vector[0] = 1.0
        return vector
    return [v / norm for v in vector]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def handle_error(self, request: Any, client_address: Any) -> None:  # silence tracebacks (client hung up, ...)
        pass


class ScriptedOpenAI:
    """An OpenAI-compatible endpoint whose chat answers are scripted step by step."""

    def __init__(self, *, max_lifetime: float = 300.0, embedding_dim: int = 64) -> None:
        self.max_lifetime = max_lifetime
        self.embedding_dim = embedding_dim
        self.requests: list[dict] = []
        self.chat_handler: Callable[[dict], str | Step] | None = None
        #: When True, connections are closed without an answer (an endpoint that is down).
        self.down = False
        #: Multiply embedding vectors by this (OpenAI answers unit vectors; some servers do not).
        self.embedding_scale = 1.0
        #: Answer embedding rows in reverse order (with correct ``index``), as servers may.
        self.reverse_embedding_order = False
        self.base_url = ""
        self._steps: collections.deque[Step] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "ScriptedOpenAI":
        if self._server is not None:
            raise RuntimeError("ScriptedOpenAI is already started")
        self._stopping.clear()
        server = _Server((_HOST, 0), self._handler_class())
        host, port = server.server_address[:2]
        if host != _HOST:  # pragma: no cover - defensive
            server.server_close()
            raise RuntimeError(f"refusing to serve on {host}")
        self._server = server
        self.base_url = f"http://{_HOST}:{port}/v1"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-openai", daemon=True
        )
        self._thread.start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            timer, self._timer = self._timer, None
            thread, self._thread = self._thread, None
        self._stopping.set()  # wakes handlers sleeping in a Delay
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> "ScriptedOpenAI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ---------------------------------------------------------------------------

    def script(self, *steps: Step) -> None:
        for step in steps:
            if not isinstance(step, (Reply, Status, Delay)):
                raise TypeError(f"not a step: {step!r}")
        with self._lock:
            self._steps.extend(steps)

    @property
    def pending_steps(self) -> int:
        with self._lock:
            return len(self._steps)

    def chat_requests(self) -> list[dict]:
        with self._lock:
            return [r["body"] for r in self.requests if r["path"].rstrip("/").endswith("/chat/completions")]

    def _next_chat_step(self, body: dict) -> Step:
        with self._lock:
            if self._steps:
                return self._steps.popleft()
        handler = self.chat_handler
        if handler is None:
            return Reply("ok")
        try:
            answer = handler(body)
        except Exception as exc:  # a broken handler answers 500 instead of hanging the client
            return Status(500, error_body(500, f"chat_handler raised {type(exc).__name__}: {exc}"))
        return Reply(answer) if isinstance(answer, str) else answer

    # -- HTTP --------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "ScriptedOpenAI/1.0"
            timeout = 30  # an idle or stuck connection never pins a thread forever

            def log_message(self, format: str, *args: Any) -> None:  # silence request logging
                pass

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length > 0 else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = None
                path = self.path.split("?", 1)[0]
                with owner._lock:
                    owner.requests.append(
                        {"path": path, "method": method, "body": body,
                         "headers": {k.lower(): v for k, v in self.headers.items()}}
                    )
                if owner.down:
                    self._drop()
                    return
                if body is None:
                    self._send_json(400, error_body(400, "We could not parse the JSON body of your request."))
                    return
                route = path.rstrip("/")
                if method == "POST" and route.endswith("/chat/completions"):
                    self._chat(body)
                elif method == "POST" and route.endswith("/embeddings"):
                    self._embeddings(body)
                elif method == "GET" and route.endswith("/models"):
                    self._send_json(200, {"object": "list", "data": [
                        {"id": "scripted-model", "object": "model", "created": 0, "owned_by": "scripted"}]})
                else:
                    self._send_json(404, error_body(404, f"Unknown request URL: {method} {path}"))

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _chat(self, body: dict) -> None:
                step = owner._next_chat_step(body)
                if isinstance(step, Delay):
                    if owner._stopping.wait(step.seconds):
                        self._drop()
                        return
                    step = step.then
                if isinstance(step, Status):
                    headers = {}
                    if step.retry_after is not None:
                        headers["retry-after"] = repr(float(step.retry_after))
                    self._send_json(step.code, step.body if step.body is not None else error_body(step.code), headers)
                    return
                if not isinstance(step, Reply):
                    self._send_json(500, error_body(500, f"chat_handler returned {type(step).__name__}, not a step"))
                    return
                if body.get("stream"):
                    self._send_json(400, error_body(400, "stream is not supported by the scripted server", param="stream"))
                    return
                self._send_json(200, {
                    "id": f"chatcmpl-scripted-{next(owner._ids)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": str(body.get("model") or "scripted-model"),
                    "system_fingerprint": "fp_scripted",
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": step.content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }],
                    "usage": {
                        "prompt_tokens": step.prompt_tokens,
                        "completion_tokens": step.completion_tokens,
                        "total_tokens": step.prompt_tokens + step.completion_tokens,
                    },
                })

            def _embeddings(self, body: dict) -> None:
                inputs = body.get("input")
                if isinstance(inputs, str):
                    inputs = [inputs]
                if not isinstance(inputs, list) or not inputs:
                    self._send_json(400, error_body(400, "'input' must be a non-empty string or array", param="input"))
                    return
                dim = body.get("dimensions") or owner.embedding_dim
                if not isinstance(dim, int) or dim < 1:
                    self._send_json(400, error_body(400, "'dimensions' must be a positive integer", param="dimensions"))
                    return
                as_base64 = body.get("encoding_format") == "base64"
                rows, words = [], 0
                for index, item in enumerate(inputs):
                    # Token arrays are embedded as their decimal ids, which keeps them deterministic.
                    text = item if isinstance(item, str) else " ".join(str(t) for t in item)
                    words += max(1, len(text.split()))
                    vector = [v * owner.embedding_scale for v in hashed_embedding(text, dim)]
                    if as_base64:
                        embedding: Any = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
                    else:
                        embedding = vector
                    rows.append({"object": "embedding", "index": index, "embedding": embedding})
                if owner.reverse_embedding_order:
                    rows.reverse()
                self._send_json(200, {
                    "object": "list",
                    "data": rows,
                    "model": str(body.get("model") or "scripted-embedding"),
                    "usage": {"prompt_tokens": words, "total_tokens": words},
                })

            def _send_json(self, code: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:  # the client gave up (timeout) before we answered
                    pass
                self.close_connection = True

        return Handler
