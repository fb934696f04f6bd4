"""Settings of ``memoryos mcp``: defaults < config file < environment < flags, checked at start-up.

Memory keys keep the original MemoryOS MCP server's ``config.json`` names, so its config files work
as they are. ``ServerSettings.sources`` records where each value came from (shown by the status
resource). Plain code rather than ``pydantic-settings``: the original key names, several environment
names per key, unknown keys ignored with a warning, paths relative to the config file and the
per-value sources would each need a custom settings source, so it would not remove code.
"""

import json
import logging
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from ..config import DEFAULT_DATA_DIR, MemoryConfig
from ..errors import MemoryOSError
from ..storage.postgres import is_dsn
from ..validation import check_id

log = logging.getLogger("memoryos.mcp")

SERVER_NAME = "memoryos"
TRANSPORTS = ("stdio", "streamable-http")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Embedding model names that mean "the local MiniLM": the original server's default config used one.
LOCAL_EMBEDDING_NAMES = {"", "local", "minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class ConfigError(ValueError):
    """The server configuration (flags, environment or config file) is invalid."""


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


def server_version() -> str:
    try:
        from .. import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "0"
