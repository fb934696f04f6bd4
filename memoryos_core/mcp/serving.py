"""Serving ``memoryos mcp``: the server built over a registry, its command line, stdio and streamable HTTP.

The ``mcp`` package is an optional extra (``pip install 'memoryos-kit[mcp]'``): it is imported inside
functions only, so ``memoryos`` and ``memoryos mcp --help`` work without it.
"""

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from typing import Any, Optional

from ..config import DEFAULT_DATA_DIR
from .registry import MemoryRegistry
from .settings import (
    ALL_KEYS,
    CONFIG_ENV,
    LOG_LEVELS,
    SERVER_NAME,
    TRANSPORTS,
    ConfigError,
    ServerSettings,
    load_settings,
    server_version,
)

log = logging.getLogger("memoryos.mcp")


def create_server(settings: Optional[ServerSettings] = None, *, registry: Optional[MemoryRegistry] = None) -> Any:
    """Build the MCP server (an ``mcp.server.mcpserver.MCPServer``) over a :class:`MemoryRegistry`.

    The registry is closed (memories flushed) when the server's lifespan ends; ``server.memoryos_registry``
    gives access to it.
    """
    import anyio
    from mcp.server.mcpserver import MCPServer

    from .tools import INSTRUCTIONS, MemoryTools, register

    settings = settings or (registry.settings if registry is not None else load_settings(env={}))
    memories = registry or MemoryRegistry(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        memories.reopen()
        try:
            yield {"registry": memories}
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(memories.close)

    server = MCPServer(SERVER_NAME, title="MemoryOS", version=server_version(), instructions=INSTRUCTIONS,
                       lifespan=lifespan, log_level=settings.log_level)  # type: ignore[arg-type]
    server.memoryos_registry = memories  # type: ignore[attr-defined]
    register(server, MemoryTools(memories))
    return server


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
