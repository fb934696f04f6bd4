"""MCP server for MemoryOS: ``memoryos mcp``.

One server process serves many users: every tool takes an optional ``user_id`` (and
``assistant_id``); each pair gets its own :class:`~memoryos_core.Memoryos`, created on first use,
cached (least recently used ones are closed beyond ``max_open_memories``) and used by one request
at a time. All of them share one SQLite store, where every row carries its scope, so users never
see each other's memories.

Tools keep the names, arguments and result fields of the original MemoryOS MCP server
(``add_memory``, ``retrieve_memory``, ``get_user_profile``) and add ``search_memory``,
``list_memories``, ``delete_memory`` and ``forget_user``. Resources: ``memoryos://status`` and
``memoryos://profile/{user_id}`` (``memoryos://profile/{user_id}/{assistant_id}``), ids percent-encoded
(``memoryos://profile/Jos%C3%A9``).

The ``mcp`` package is an optional extra (``pip install 'memoryos-kit[mcp]'``): it is imported
inside functions only, so ``memoryos`` and ``memoryos mcp --help`` work without it.
"""

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Literal, Optional
from urllib.parse import quote

from pydantic import Field

from .config import DEFAULT_DATA_DIR, MemoryConfig
from .errors import InvalidInputError, MemoryOSError
from .memory import Memoryos
from .storage.postgres import is_dsn
from .types import Fact, Page, Profile, ScoredFact, ScoredPage
from .usage import UsageTracker
from .times import to_datetime
from .validation import check_id

log = logging.getLogger("memoryos.mcp")

SERVER_NAME = "memoryos"
TRANSPORTS = ("stdio", "streamable-http")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
NO_PROFILE = "No detailed user profile"
#: Embedding model names that mean "the local MiniLM": the original server's default config used one.
LOCAL_EMBEDDING_NAMES = {"", "local", "minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}

INSTRUCTIONS = """\
Long-term memory for this conversation partner (MemoryOS).
- After each exchange worth remembering call add_memory(user_input, agent_response).
- Before answering something that may depend on the past call retrieve_memory(query): it returns
  the user profile, relevant past exchanges, known facts and a ready-to-use `context` text.
- search_memory / list_memories / delete_memory manage individual memories (ids pg_... / ft_...);
  forget_user erases everything stored about the user.
Every tool takes an optional user_id (and assistant_id); memories of different users are isolated.
"""


class ConfigError(ValueError):
    """The server configuration (flags, environment or config file) is invalid."""


class ServerClosedError(MemoryOSError):
    """A request arrived while the server was shutting down."""


# -- configuration -----------------------------------------------------------------------------

@dataclass
class ServerSettings:
    """Everything ``memoryos mcp`` is configured with. Memory keys follow the original MemoryOS config."""

    # memory (the original MemoryOS MCP server's config.json keys)
    user_id: str = "default_user"
    openai_api_key: Optional[str] = None
    openai_base_url: Optional[str] = None
    data_storage_path: str = DEFAULT_DATA_DIR
    assistant_id: str = "default_assistant"
    llm_model: str = "gpt-4o-mini"
    short_term_capacity: int = 10
    mid_term_capacity: int = 2000
    mid_term_heat_threshold: float = 5.0
    retrieval_queue_capacity: int = 7
    long_term_knowledge_capacity: int = 100
    embedding_model_name: Optional[str] = None
    # server
    transport: str = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    max_open_memories: int = 256
    flush_timeout: float = 5.0
    max_lifetime: Optional[float] = None
    log_level: str = "WARNING"
    #: where each value came from ("default", "config file", "environment (NAME)", "flag")
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def memory_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of :class:`Memoryos` (ids excepted)."""
        embedding = self.embedding_model_name
        if embedding is not None and embedding.strip().lower() in LOCAL_EMBEDDING_NAMES:
            embedding = None
        return {
            "openai_api_key": self.openai_api_key,
            "openai_base_url": self.openai_base_url,
            "data_storage_path": self.data_storage_path,
            "llm_model": self.llm_model,
            "short_term_capacity": self.short_term_capacity,
            "mid_term_capacity": self.mid_term_capacity,
            "mid_term_heat_threshold": self.mid_term_heat_threshold,
            "retrieval_queue_capacity": self.retrieval_queue_capacity,
            "long_term_knowledge_capacity": self.long_term_knowledge_capacity,
            "embedding_model_name": embedding,
        }

    def public(self) -> dict[str, Any]:
        """The settings without secrets, for the status resource and logs."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("sources", "openai_api_key")}
        out["openai_api_key"] = "set" if self.openai_api_key else "not set"
        out["mode"] = "llm" if self.openai_api_key else "offline"
        return out


MEMORY_KEYS: dict[str, type] = {
    "user_id": str, "openai_api_key": str, "openai_base_url": str, "data_storage_path": str,
    "assistant_id": str, "llm_model": str, "short_term_capacity": int, "mid_term_capacity": int,
    "mid_term_heat_threshold": float, "retrieval_queue_capacity": int, "long_term_knowledge_capacity": int,
    "embedding_model_name": str,
}
SERVER_KEYS: dict[str, type] = {
    "transport": str, "host": str, "port": int, "max_open_memories": int, "flush_timeout": float,
    "max_lifetime": float, "log_level": str,
}
ALL_KEYS = {**MEMORY_KEYS, **SERVER_KEYS}

#: Environment variables per key, first match wins; every memory key also has MEMORYOS_<KEY>.
ENV_NAMES: dict[str, tuple[str, ...]] = {key: (f"MEMORYOS_{key.upper()}",) for key in MEMORY_KEYS}
ENV_NAMES.update({
    "openai_api_key": ("OPENAI_API_KEY",),
    "openai_base_url": ("OPENAI_BASE_URL",),
    "data_storage_path": ("MEMORYOS_DATA", "MEMORYOS_DATA_STORAGE_PATH"),
    "embedding_model_name": ("MEMORYOS_EMBEDDING_MODEL_NAME", "MEMORYOS_EMBEDDING_MODEL"),
    "transport": ("MEMORYOS_MCP_TRANSPORT",),
    "host": ("MEMORYOS_MCP_HOST",),
    "port": ("MEMORYOS_MCP_PORT",),
    "max_open_memories": ("MEMORYOS_MCP_MAX_OPEN_MEMORIES",),
    "log_level": ("MEMORYOS_MCP_LOG_LEVEL",),
})
CONFIG_ENV = "MEMORYOS_CONFIG"


def _coerce(key: str, value: Any, source: str) -> Any:
    """Check and convert one setting; strings (environment, flags) are parsed."""
    kind = ALL_KEYS[key]
    if value is None:
        return None
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} ({source}) must be a string, got {value!r}")
        return value
    if isinstance(value, bool):
        raise ConfigError(f"{key} ({source}) must be a number, got {value!r}")
    try:
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            number: Any = int(value) if not isinstance(value, str) else int(value.strip())
        else:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"{key} ({source}) must be {'an integer' if kind is int else 'a number'}, got {value!r}") from None
    return number


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON config in the original MemoryOS MCP server's format (unknown keys are ignored with a warning)."""
    file = Path(path).expanduser()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {file}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {file} must hold a JSON object of settings")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in ALL_KEYS:
            log.warning("config file %s: ignoring unknown key %r", file, key)
            continue
        if value is None or value == "":
            continue
        out[key] = value
    # A relative storage path is relative to the config file: MCP clients start servers in arbitrary folders.
    location = out.get("data_storage_path")
    if isinstance(location, str) and not is_dsn(location) and not Path(location).expanduser().is_absolute():
        out["data_storage_path"] = str(file.resolve().parent / out["data_storage_path"])
    return out


def load_settings(flags: Optional[dict[str, Any]] = None, *, env: Optional[dict[str, str]] = None,
                  config_file: Optional[str] = None) -> ServerSettings:
    """Resolve the settings: defaults < config file < environment < flags. Raises ConfigError."""
    env = dict(os.environ) if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    unknown = set(flags) - set(ALL_KEYS)
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    settings = ServerSettings()
    settings.sources = {key: "default" for key in ALL_KEYS}
    config_file = config_file or env.get(CONFIG_ENV) or None
    layers: list[tuple[str, dict[str, Any]]] = []
    if config_file:
        layers.append((f"config file {config_file}", read_config_file(config_file)))
    from_env: dict[str, Any] = {}
    env_source: dict[str, str] = {}
    for key, names in ENV_NAMES.items():
        for name in names:
            value = env.get(name)
            if value is not None and value.strip() != "":
                from_env[key], env_source[key] = value.strip(), f"environment {name}"
                break
    layers.append(("environment", from_env))
    layers.append(("flag", flags))
    for label, values in layers:
        for key, value in values.items():
            source = env_source.get(key, label) if label == "environment" else label
            setattr(settings, key, _coerce(key, value, source))
            settings.sources[key] = source
    validate_settings(settings)
    return settings


def validate_settings(settings: ServerSettings) -> None:
    """Fail at start-up, with a message, rather than on the first tool call."""
    try:
        check_id(settings.user_id, "user_id")
        check_id(settings.assistant_id, "assistant_id")
        MemoryConfig(short_term_capacity=settings.short_term_capacity, mid_term_capacity=settings.mid_term_capacity,
                     mid_term_heat_threshold=settings.mid_term_heat_threshold,
                     retrieval_queue_capacity=settings.retrieval_queue_capacity,
                     long_term_knowledge_capacity=settings.long_term_knowledge_capacity)
    except (MemoryOSError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    settings.transport = settings.transport.strip().lower()
    if settings.transport not in TRANSPORTS:
        raise ConfigError(f"transport must be one of {', '.join(TRANSPORTS)}, got {settings.transport!r}")
    if not 0 <= settings.port <= 65535:
        raise ConfigError(f"port must be between 0 and 65535, got {settings.port}")
    if settings.max_open_memories < 1:
        raise ConfigError("max_open_memories must be at least 1")
    if settings.flush_timeout < 0:
        raise ConfigError("flush_timeout must not be negative")
    if settings.max_lifetime is not None and settings.max_lifetime <= 0:
        raise ConfigError("max_lifetime must be positive")
    settings.log_level = settings.log_level.strip().upper()
    if settings.log_level not in LOG_LEVELS:
        raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    if not settings.data_storage_path.strip():
        raise ConfigError("data_storage_path must not be empty")
    if not is_dsn(settings.data_storage_path):  # a postgresql:// DSN is passed through untouched
        settings.data_storage_path = str(Path(settings.data_storage_path).expanduser())


# -- the memories of many users ------------------------------------------------------------------

@dataclass
class _Entry:
    memory: Memoryos
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    closed: bool = False


class MemoryRegistry:
    """One :class:`Memoryos` per (user_id, assistant_id): created lazily, cached, one request at a time each.

    Thread-safe. All memories share one :class:`SQLiteStore` (one database, rows scoped by user and
    assistant). Beyond ``max_open_memories`` the least recently used idle memories are closed;
    their pending jobs stay durable in the store and resume when they are opened again.
    """

    def __init__(self, settings: ServerSettings, *, memory_kwargs: Optional[dict[str, Any]] = None) -> None:
        self.settings = settings
        self._extra = dict(memory_kwargs or {})
        self._cond = threading.Condition(threading.Lock())
        self._entries: "OrderedDict[tuple[str, str], _Entry]" = OrderedDict()
        self._forgetting: set[str] = set()
        self._store: Any = None
        self._closing_threads: list[threading.Thread] = []
        self._closed = False
        self._close_lock = threading.Lock()
        self.usage = UsageTracker()  # every LLM and embedding call since start, evicted memories included
        self.started_at = time.time()

    # -- opening -------------------------------------------------------------------------------

    def resolve_ids(self, user_id: Optional[str], assistant_id: Optional[str]) -> tuple[str, str]:
        uid = self.settings.user_id if user_id is None or user_id == "" else user_id
        aid = self.settings.assistant_id if assistant_id is None or assistant_id == "" else assistant_id
        return check_id(uid, "user_id"), check_id(aid, "assistant_id")

    def _shared_store(self) -> Any:
        if self._store is None:
            from .storage import open_store

            self._store = open_store(self.settings.data_storage_path)  # a folder or a postgresql:// DSN
        return self._store

    def _create(self, key: tuple[str, str]) -> Memoryos:
        kwargs = {**self.settings.memory_kwargs(), **self._extra}
        kwargs.setdefault("background", True)  # add_memory returns once stored; consolidation runs in a thread
        return Memoryos(user_id=key[0], assistant_id=key[1], store=self._shared_store(), on_call=self.usage.record,
                        **kwargs)

    def _checkout(self, key: tuple[str, str]) -> _Entry:
        with self._cond:
            while True:
                if self._closed:
                    raise ServerClosedError("the memory server is shutting down; try again later")
                if key[0] not in self._forgetting:
                    break
                self._cond.wait(timeout=1.0)
            entry = self._entries.get(key)
            if entry is None:
                entry = _Entry(self._create(key))
                self._entries[key] = entry
            self._entries.move_to_end(key)
            entry.users += 1
            evicted = self._pop_idle_beyond_capacity()
        if evicted:
            self._close_later(evicted)
        return entry

    def _release(self, entry: _Entry) -> None:
        with self._cond:
            entry.users -= 1
            evicted = self._pop_idle_beyond_capacity()
        if evicted:
            self._close_later(evicted)

    def _pop_idle_beyond_capacity(self) -> list[_Entry]:
        """Caller holds the lock. Least recently used idle entries past the capacity."""
        out: list[_Entry] = []
        excess = len(self._entries) - self.settings.max_open_memories
        if excess <= 0:
            return out
        for key in list(self._entries):
            if excess <= 0:
                break
            entry = self._entries[key]
            if entry.users == 0:
                del self._entries[key]
                out.append(entry)
                excess -= 1
        return out

    def _close_later(self, entries: list[_Entry]) -> None:
        """Close evicted memories off the request path (stopping a worker can take a moment)."""
        def run() -> None:
            for entry in entries:
                self._close_entry(entry, flush=False, timeout=0)

        thread = threading.Thread(target=run, name="memoryos-mcp-evict", daemon=True)
        with self._cond:
            self._closing_threads = [t for t in self._closing_threads if t.is_alive()] + [thread]
        thread.start()

    @staticmethod
    def _close_entry(entry: _Entry, *, flush: bool, timeout: float, lock_timeout: float = -1) -> None:
        got = entry.lock.acquire(timeout=lock_timeout)
        try:
            if entry.closed:
                return
            entry.closed = True
            try:
                entry.memory.close(flush=flush, timeout=timeout)
            except Exception:  # closing must go on for the others
                log.exception("closing the memory of %s/%s failed", entry.memory.user_id, entry.memory.assistant_id)
        finally:
            if got:
                entry.lock.release()

    @contextlib.contextmanager
    def open(self, user_id: Optional[str] = None, assistant_id: Optional[str] = None) -> Iterator[Memoryos]:
        """The memory of (user_id, assistant_id), held exclusively for the ``with`` block."""
        key = self.resolve_ids(user_id, assistant_id)
        while True:
            entry = self._checkout(key)
            entry.lock.acquire()
            if entry.closed:  # evicted or forgotten between checkout and lock: take the new one
                entry.lock.release()
                self._release(entry)
                continue
            break
        try:
            yield entry.memory
        finally:
            entry.lock.release()
            self._release(entry)

    # -- whole-user operations ---------------------------------------------------------------------

    def forget_user(self, user_id: Optional[str] = None, assistant_id: Optional[str] = None) -> tuple[str, str]:
        """Erase everything of ``user_id`` (every assistant). Open memories of that user are closed first."""
        key = self.resolve_ids(user_id, assistant_id)
        uid = key[0]
        with self._cond:
            while uid in self._forgetting:
                self._cond.wait(timeout=1.0)
            if self._closed:
                raise ServerClosedError("the memory server is shutting down; try again later")
            self._forgetting.add(uid)
            popped = [self._entries.pop(k) for k in [k for k in self._entries if k[0] == uid]]
        try:
            for entry in popped:  # waits for requests in flight on them
                self._close_entry(entry, flush=False, timeout=0)
            with self._cond:
                entry = _Entry(self._create(key))
            with entry.lock:
                entry.memory.delete_all()
            with self._cond:
                self._entries[key] = entry
        finally:
            with self._cond:
                self._forgetting.discard(uid)
                self._cond.notify_all()
        return key

    def status(self) -> dict[str, Any]:
        """Server settings, per-memory stats (tiers, jobs, usage) and totals, as JSON-ready data."""
        with self.open():  # the configured user is always reported
            pass
        with self._cond:
            keys = list(self._entries)
        memories = []
        for uid, aid in keys:
            try:
                with self.open(uid, aid) as memory:
                    memories.append({**jsonable(memory.stats()), "profile_uri": profile_uri(uid, aid)})
            except ServerClosedError:
                raise
            except MemoryOSError as exc:
                memories.append({"user_id": uid, "assistant_id": aid, "error": str(exc)})
        tiers: dict[str, int] = {}
        for stats in memories:
            for name, count in (stats.get("tiers") or {}).items():
                tiers[name] = tiers.get(name, 0) + int(count)
        usage = self.usage.snapshot()
        return {
            "status": "success",
            "server": {"name": SERVER_NAME, "version": _version(), "uptime_seconds": round(time.time() - self.started_at, 1),
                       "open_memories": len(memories), **self.settings.public()},
            "totals": {"tiers": tiers, "pending_jobs": tiers.get("pending_jobs", 0),
                       "failed_jobs": tiers.get("failed_jobs", 0), "usage": usage["totals"]},
            "usage": usage,
            "memories": memories,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def reopen(self) -> None:
        with self._cond:
            self._closed = False

    def close(self, timeout: Optional[float] = None) -> None:
        """Flush (bounded by ``timeout`` in all) and close every memory, then the shared store. Idempotent."""
        timeout = self.settings.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if not self._close_lock.acquire(timeout=max(0.1, timeout)):
            return  # someone else is closing
        try:
            with self._cond:
                self._closed = True
                entries = list(self._entries.values())
                self._entries.clear()
                closing = list(self._closing_threads)
                self._cond.notify_all()
            for entry in entries:
                left = max(0.0, deadline - time.monotonic())
                self._close_entry(entry, flush=left > 0, timeout=left, lock_timeout=max(0.1, left))
            for thread in closing:
                thread.join(max(0.0, deadline - time.monotonic()))
            if any(thread.is_alive() for thread in closing):
                # evicted memories are still stopping their workers: closing the store now would fail them
                log.warning("background work still running at shutdown; the store is left to close at exit")
                self._store = None
            if self._store is not None:
                try:
                    self._store.close()
                except Exception:
                    log.exception("closing the store failed")
                self._store = None
        finally:
            self._close_lock.release()


# -- JSON shapes of the tools ---------------------------------------------------------------------

def format_ts(epoch: Optional[float]) -> Optional[str]:
    """Conversation time as the original server wrote it: ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if epoch is None:
        return None
    return to_datetime(epoch).strftime("%Y-%m-%d %H:%M:%S")


def now_ts() -> str:
    return format_ts(time.time()) or ""


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays, tuples, sets and dataclass leftovers converted."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return jsonable(value.tolist())
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)


def profile_text(profile: Profile) -> str:
    return profile.render() or NO_PROFILE


def page_item(page: Page) -> dict[str, Any]:
    return {"id": page.id, "user_input": page.user_input, "agent_response": page.agent_response,
            "timestamp": format_ts(page.timestamp), "tier": page.tier, "segment_id": page.segment_id,
            "meta_data": jsonable(page.meta), "created_at": format_ts(page.created_at)}


def fact_item(fact: Fact, score: Optional[float] = None) -> dict[str, Any]:
    item: dict[str, Any] = {"knowledge": fact.text, "timestamp": format_ts(fact.refers_to if fact.refers_to is not None else fact.created_at),
            "id": fact.id, "source": fact.source}
    if score is not None:
        item["score"] = round(float(score), 4)
    return item


def retrieved_page_item(sp: ScoredPage) -> dict[str, Any]:
    page = sp.page
    return {"user_input": page.user_input, "agent_response": page.agent_response,
            "timestamp": format_ts(page.timestamp), "meta_info": sp.segment_summary or "",
            "id": page.id, "score": round(float(sp.score), 4), "tier": page.tier, "segment_id": sp.segment_id,
            "meta_data": jsonable(page.meta)}


def scored_fact_items(facts: list[ScoredFact], limit: int) -> list[dict[str, Any]]:
    return [fact_item(sf.fact, sf.score) for sf in facts[:limit]]


def search_item(result: dict[str, Any]) -> dict[str, Any]:
    item = jsonable(result)
    for key in ("timestamp", "created_at"):
        if isinstance(result.get(key), (int, float)):
            item[key] = format_ts(result[key])
    if isinstance(item.get("score"), float):
        item["score"] = round(item["score"], 4)
    return item


def profile_uri(user_id: str, assistant_id: str) -> str:
    """The profile resource of a memory; ids are percent-encoded (UTF-8), so any valid id round-trips."""
    return f"memoryos://profile/{quote(user_id, safe='')}/{quote(assistant_id, safe='')}"


def _version() -> str:
    try:
        from . import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "0"


# -- the MCP server ---------------------------------------------------------------------------------

UserId = Annotated[Optional[str], Field(
    description="Whose memory. Defaults to the server's configured user. Each user_id is a separate, isolated memory.",
    max_length=128)]
AssistantId = Annotated[Optional[str], Field(
    description="Which assistant's memory of the user. Defaults to the server's configured assistant.",
    max_length=128)]


def create_server(settings: Optional[ServerSettings] = None, *, registry: Optional[MemoryRegistry] = None) -> Any:
    """Build the MCP server (an ``mcp.server.mcpserver.MCPServer``) over a :class:`MemoryRegistry`.

    The registry is closed (memories flushed) when the server's lifespan ends; ``server.memoryos_registry``
    gives access to it.
    """
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ToolError
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS, ToolAnnotations

    import anyio

    settings = settings or (registry.settings if registry is not None else load_settings(env={}))
    registry = registry or MemoryRegistry(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        registry.reopen()
        try:
            yield {"registry": registry}
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(registry.close)

    server = MCPServer(SERVER_NAME, title="MemoryOS", version=_version(), instructions=INSTRUCTIONS,
                       lifespan=lifespan, log_level=settings.log_level)  # type: ignore[arg-type]
    server.memoryos_registry = registry  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def tool_errors() -> Iterator[None]:
        """Anticipated failures become MCP tool errors carrying the library's message."""
        try:
            yield
        except MemoryOSError as exc:
            raise ToolError(str(exc)) from exc

    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False))
    def add_memory(
        user_input: Annotated[str, Field(description=(
            "What the user said in this exchange (or a note, a transcript). Stored whole up to 200,000 "
            "characters; beyond that the middle is replaced by a '[... N characters clipped ...]' marker."))],
        agent_response: Annotated[str, Field(description=(
            "What the assistant answered. Optional: leave it out to store the user's message alone."))] = "",
        timestamp: Annotated[Optional[str | float], Field(
            description="Conversation time of the exchange: 'YYYY-MM-DD HH:MM:SS', ISO 8601 or epoch seconds "
                        "(UTC when no zone is given). Defaults to now.")] = None,
        meta_data: Annotated[Optional[dict[str, Any]], Field(
            description="Optional JSON object stored with the exchange.")] = None,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Remember one exchange (user input + assistant response), or a user message alone. Returns once it
        is stored durably; grouping into topics and profile/knowledge updates run in the background."""
        with tool_errors(), registry.open(user_id, assistant_id) as memory:
            page = memory.add_memory(user_input, agent_response, timestamp=timestamp, meta_data=meta_data)
            return {
                "status": "success",
                "message": "Memory has been successfully added to MemoryOS",
                "timestamp": format_ts(page.timestamp),
                "details": {
                    "memory_id": page.id,
                    "user_id": memory.user_id,
                    "assistant_id": memory.assistant_id,
                    "user_input_length": len(page.user_input),
                    "agent_response_length": len(page.agent_response),
                    "clipped": (len(page.user_input), len(page.agent_response)) != (len(user_input), len(agent_response)),
                    "has_meta_data": bool(meta_data),
                    "tier": page.tier,
                    "memory_processing": "stored in short-term memory; consolidation runs in the background",
                },
            }

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                                             open_world_hint=False))
    def retrieve_memory(
        query: Annotated[str, Field(description=(
            "What to look for: a question or topic. A long query is searched by its first and last few "
            "thousand characters."))],
        relationship_with_user: Annotated[str, Field(
            description="Accepted for compatibility with the original server (e.g. friend, assistant).",
            max_length=200)] = "friend",
        style_hint: Annotated[str, Field(
            description="Accepted for compatibility with the original server.", max_length=2000)] = "",
        max_results: Annotated[int, Field(description="Largest number of pages and of knowledge entries returned.",
                                          ge=1, le=100)] = 10,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Retrieve what memory knows about `query`: the user profile, the recent exchanges, relevant past
        exchanges (retrieved_pages), user and assistant knowledge, and `context`, a token-budgeted text
        summarising it all, ready to put in a prompt."""
        with tool_errors(), registry.open(user_id, assistant_id) as memory:
            top_k = max(max_results, memory.config.retrieval_queue_capacity)
            result = memory.retrieve(query, top_k=top_k)
            pages = result.mid_term
            short = [{"user_input": p.user_input, "agent_response": p.agent_response,
                      "timestamp": format_ts(p.timestamp), "id": p.id, "meta_data": jsonable(p.meta)}
                     for p in result.short_term]
            return {
                "status": "success",
                "query": result.query,
                "timestamp": now_ts(),
                "user_id": memory.user_id,
                "assistant_id": memory.assistant_id,
                "user_profile": profile_text(result.profile),
                "user_profile_fields": jsonable(result.profile.fields),
                "short_term_memory": short,
                "short_term_count": len(short),
                "retrieved_pages": [retrieved_page_item(sp) for sp in pages[:max_results]],
                "retrieved_user_knowledge": scored_fact_items(result.user_knowledge, max_results),
                "retrieved_assistant_knowledge": scored_fact_items(result.assistant_knowledge, max_results),
                "total_pages_found": len(pages),
                "total_user_knowledge_found": len(result.user_knowledge),
                "total_assistant_knowledge_found": len(result.assistant_knowledge),
                "context": result.context,
                "context_tokens": result.context_tokens,
            }

    @server.tool(annotations=read_only)
    def get_user_profile(
        include_knowledge: Annotated[bool, Field(description="Include the user knowledge entries.")] = True,
        include_assistant_knowledge: Annotated[bool, Field(
            description="Include the assistant knowledge entries.")] = False,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """The user's profile (built from the conversation) and, optionally, what is known about the user and
        the assistant. Knowledge fields not asked for are null."""
        with tool_errors(), registry.open(user_id, assistant_id) as memory:
            profile = memory.get_user_profile()
            user = [fact_item(f) for f in memory.get_user_knowledge()] if include_knowledge else None
            assistant = [fact_item(f) for f in memory.get_assistant_knowledge()] if include_assistant_knowledge else None
            return {
                "status": "success",
                "timestamp": now_ts(),
                "user_id": memory.user_id,
                "assistant_id": memory.assistant_id,
                "user_profile": profile_text(profile),
                "user_profile_fields": jsonable(profile.fields),
                "user_knowledge": user,
                "user_knowledge_count": None if user is None else len(user),
                "assistant_knowledge": assistant,
                "assistant_knowledge_count": None if assistant is None else len(assistant),
            }

    @server.tool(annotations=read_only)
    def search_memory(
        query: Annotated[str, Field(description="What to look for.")],
        limit: Annotated[int, Field(description="Largest number of results.", ge=1, le=100)] = 10,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Search every stored exchange (all tiers) and knowledge entry, ranked by relevance. Results carry
        ids usable with delete_memory. Unlike retrieve_memory it does not count as a visit."""
        with tool_errors(), registry.open(user_id, assistant_id) as memory:
            found = memory.search(query, limit=limit)
            results = [search_item(r) for r in found["results"]]
            return {"status": "success", "query": query, "user_id": memory.user_id,
                    "assistant_id": memory.assistant_id, "count": len(results), "results": results}

    @server.tool(annotations=read_only)
    def list_memories(
        tier: Annotated[Optional[Literal["short", "mid", "archived"]], Field(
            description="Only this tier: short (recent), mid (consolidated) or archived. Default: all.")] = None,
        limit: Annotated[int, Field(description="Page size.", ge=1, le=1000)] = 100,
        offset: Annotated[int, Field(description="How many to skip (conversation order).", ge=0)] = 0,
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """List stored exchanges in conversation order, with their ids, tier and time."""
        with tool_errors(), registry.open(user_id, assistant_id) as memory:
            pages = memory.list_memories(tier=tier, limit=limit, offset=offset)
            counts = memory.stats()["tiers"]
            names = {"short": "short_term", "mid": "mid_term", "archived": "archived"}
            total = counts.get(names[tier], 0) if tier else sum(counts.get(n, 0) for n in names.values())
            return {"status": "success", "user_id": memory.user_id, "assistant_id": memory.assistant_id,
                    "tier": tier, "limit": limit, "offset": offset, "total": int(total), "count": len(pages),
                    "memories": [page_item(p) for p in pages]}

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                             open_world_hint=False))
    def delete_memory(
        memory_id: Annotated[str, Field(description="Id of an exchange (pg_...) or a knowledge entry (ft_...).",
                                        min_length=1, max_length=200)],
        user_id: UserId = None,
        assistant_id: AssistantId = None,
    ) -> dict[str, Any]:
        """Delete one stored exchange (with the knowledge drawn only from it) or one knowledge entry."""
        with tool_errors(), registry.open(user_id, assistant_id) as memory:
            memory.delete(memory_id)
            return {"status": "success", "message": f"deleted {memory_id}", "memory_id": memory_id,
                    "user_id": memory.user_id, "assistant_id": memory.assistant_id}

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                             open_world_hint=False))
    def forget_user(user_id: UserId = None, assistant_id: AssistantId = None) -> dict[str, Any]:
        """Erase everything stored about the user, for every assistant: exchanges, knowledge, profile,
        history. Cannot be undone."""
        with tool_errors():
            uid, aid = registry.forget_user(user_id, assistant_id)
        return {"status": "success", "message": f"all memories of user {uid} were deleted", "user_id": uid,
                "assistant_id": aid, "timestamp": now_ts()}

    def resource_errors(func: Callable[[], Any]) -> Any:
        try:
            return func()
        except InvalidInputError as exc:  # a bad id in the URI: the caller's mistake
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
        except MemoryOSError as exc:
            raise ResourceError(str(exc)) from exc

    @server.resource("memoryos://status", name="status", title="MemoryOS status", mime_type="application/json",
                     description="Counts per tier, pending jobs and LLM/embedding call statistics of the open memories.")
    def status_resource() -> str:
        return json.dumps(resource_errors(registry.status), ensure_ascii=False, indent=2)

    def profile_document(user_id: str, assistant_id: Optional[str]) -> str:
        def read() -> dict[str, Any]:
            with registry.open(user_id, assistant_id) as memory:
                profile = memory.get_user_profile()
                return {"user_id": memory.user_id, "assistant_id": memory.assistant_id,
                        "user_profile": profile_text(profile), "user_profile_fields": jsonable(profile.fields),
                        "updated_at": format_ts(profile.updated_at),
                        "user_knowledge": [fact_item(f) for f in memory.get_user_knowledge()],
                        "assistant_knowledge": [fact_item(f) for f in memory.get_assistant_knowledge()]}

        return json.dumps(resource_errors(read), ensure_ascii=False, indent=2)

    @server.resource("memoryos://profile/{user_id}", name="profile", title="User profile",
                     mime_type="application/json",
                     description="Profile and knowledge of a user, with the server's default assistant. "
                                 "Percent-encode the id (UTF-8): memoryos://profile/alice%20smith.")
    def profile_resource(user_id: str) -> str:
        return profile_document(user_id, None)

    @server.resource("memoryos://profile/{user_id}/{assistant_id}", name="profile_for_assistant",
                     title="User profile for an assistant", mime_type="application/json",
                     description="Profile and knowledge of a user, as seen by one assistant.")
    def profile_for_assistant_resource(user_id: str, assistant_id: str) -> str:
        return profile_document(user_id, assistant_id)

    return server


# -- command line ---------------------------------------------------------------------------------

def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``memoryos mcp`` (no ``mcp`` import here: the CLI works without the extra)."""
    parser.description = ("Serve MemoryOS to MCP clients. Settings come from flags, then the environment, then the "
                          "--config file, then defaults. Without an API key it runs offline.")
    parser.add_argument("--config", metavar="FILE", help=f"JSON config with the original MemoryOS MCP keys (or ${CONFIG_ENV})")
    parser.add_argument("--transport", choices=TRANSPORTS, help="stdio (default) or streamable-http")
    parser.add_argument("--host", help="HTTP bind address (default 127.0.0.1; there is no authentication)")
    parser.add_argument("--port", type=int, help="HTTP port (default 8000; 0 picks a free one)")
    parser.add_argument("--data", "--data-storage-path", dest="data_storage_path", metavar="DIR",
                        help=f"storage folder shared by all users (default {DEFAULT_DATA_DIR}, or $MEMORYOS_DATA)")
    parser.add_argument("--user", "--user-id", dest="user_id", help="default user id of the tools (default default_user)")
    parser.add_argument("--assistant", "--assistant-id", dest="assistant_id",
                        help="default assistant id (default default_assistant)")
    parser.add_argument("--llm-model", help="chat model when an API key is set (default gpt-4o-mini)")
    parser.add_argument("--openai-base-url", help="any OpenAI-compatible endpoint (the key comes from OPENAI_API_KEY or the config)")
    parser.add_argument("--embedding-model-name", help="OpenAI-compatible embedding model (default: the local MiniLM)")
    for key in ("short_term_capacity", "mid_term_capacity", "retrieval_queue_capacity", "long_term_knowledge_capacity"):
        parser.add_argument(f"--{key.replace('_', '-')}", type=int, dest=key, metavar="N")
    parser.add_argument("--mid-term-heat-threshold", type=float, metavar="X")
    parser.add_argument("--max-open-memories", type=int, metavar="N",
                        help="memories (user, assistant pairs) kept open at once (default 256)")
    parser.add_argument("--flush-timeout", type=float, metavar="SECONDS",
                        help="time given to background work at shutdown (default 5; unfinished jobs stay durable)")
    parser.add_argument("--max-lifetime", type=float, metavar="SECONDS",
                        help="stop by itself after this long (supervised or test runs)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="server log level on stderr (default WARNING)")


def _flags_from_args(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, key) for key in ALL_KEYS if getattr(args, key, None) is not None}


def run_from_cli(args: argparse.Namespace) -> int:
    """Entry point of ``memoryos mcp``; returns the exit code."""
    try:
        settings = load_settings(_flags_from_args(args), config_file=getattr(args, "config", None))
    except ConfigError as exc:
        print(f"memoryos mcp: error: {exc}", file=sys.stderr)
        return 2
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        print("memoryos mcp: error: the MCP extra is not installed: pip install 'memoryos-kit[mcp]'", file=sys.stderr)
        return 2
    return serve(settings)


def serve(settings: ServerSettings) -> int:
    """Run the server until the client disconnects (stdio), a signal, or ``max_lifetime``."""
    logging.getLogger("memoryos").setLevel(settings.log_level)
    registry = MemoryRegistry(settings)
    try:
        server = create_server(settings, registry=registry)
        print(f"memoryos mcp: {settings.public()['mode']} mode, data in {settings.data_storage_path}, "
              f"default user {settings.user_id}", file=sys.stderr, flush=True)
        if settings.transport == "stdio":
            return _serve_stdio(server, registry, settings)
        return _serve_http(server, registry, settings)
    except OSError as exc:
        print(f"memoryos mcp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        registry.close()
        print("memoryos mcp: stopped, memories closed", file=sys.stderr, flush=True)


def _exit_now(registry: MemoryRegistry, settings: ServerSettings, reason: str) -> None:
    """Flush and close (bounded), then end the process.

    Used for stdio, where the SDK reads stdin in a worker thread that cancellation cannot interrupt.
    """
    print(f"memoryos mcp: stopping ({reason})", file=sys.stderr, flush=True)
    try:
        registry.close(timeout=min(settings.flush_timeout, 1.5))
        print("memoryos mcp: stopped, memories closed", file=sys.stderr, flush=True)
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(0)


def _serve_stdio(server: Any, registry: MemoryRegistry, settings: ServerSettings) -> int:
    def stop(reason: str) -> None:
        threading.Thread(target=_exit_now, args=(registry, settings, reason), name="memoryos-mcp-stop",
                         daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: stop(signal.Signals(signum).name))
    if settings.max_lifetime:
        timer = threading.Timer(settings.max_lifetime, stop, args=("max lifetime reached",))
        timer.daemon = True
        timer.start()
    server.run(transport="stdio")  # returns when the client closes stdin; the lifespan closes the memories
    return 0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)  # clients that connect before uvicorn starts wait in the backlog instead of being refused
    sock.set_inheritable(True)
    return sock


def _serve_http(server: Any, registry: MemoryRegistry, settings: ServerSettings) -> int:
    import anyio
    import uvicorn

    app = server.streamable_http_app(host=settings.host)  # DNS-rebinding protection on loopback hosts
    config = uvicorn.Config(app, log_level=settings.log_level.lower(), lifespan="on", timeout_graceful_shutdown=5)
    web = uvicorn.Server(config)
    sock = _bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s without authentication: anyone who can reach it reads every user's memory", host)
    print(f"memoryos mcp: streamable HTTP on http://{shown}:{port}/mcp", file=sys.stderr, flush=True)

    def stop(reason: str) -> None:
        print(f"memoryos mcp: stopping ({reason})", file=sys.stderr, flush=True)
        web.should_exit = True
        # last resort if graceful shutdown hangs (open streams, stuck calls)
        guard = threading.Timer(settings.flush_timeout + 15, _exit_now, args=(registry, settings, "shutdown timed out"))
        guard.daemon = True
        guard.start()

    if threading.current_thread() is threading.main_thread():
        # uvicorn installs its own handlers while serving and re-raises the signal afterwards: land it here.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: None if web.should_exit else stop(signal.Signals(signum).name))
    if settings.max_lifetime:
        timer = threading.Timer(settings.max_lifetime, stop, args=("max lifetime reached",))
        timer.daemon = True
        timer.start()
    try:
        anyio.run(lambda: web.serve(sockets=[sock]))
    finally:
        sock.close()
    return 0


__all__ = [
    "ConfigError",
    "MemoryRegistry",
    "ServerSettings",
    "add_cli_arguments",
    "create_server",
    "load_settings",
    "read_config_file",
    "run_from_cli",
    "serve",
]
