"""MCP server for MemoryOS: ``memoryos mcp``.

One server process serves many users: every tool takes an optional ``user_id`` (and
``assistant_id``); each pair gets its own :class:`~memoryos_core.Memoryos`, created on first use,
cached and used by one request at a time, all over one shared store.

- ``settings``: what the server is configured with (flags, environment, config file, defaults);
- ``registry``: the memories of many users;
- ``tools``: the MCP tools and resources (imports the ``mcp`` extra);
- ``shapes``: the JSON shapes of tool results;
- ``serving``: ``create_server``, the command line, stdio and streamable HTTP.

The ``mcp`` package is an optional extra (``pip install 'memoryos-kit[mcp]'``): nothing here imports
it until a server is built, so ``memoryos`` and ``memoryos mcp --help`` work without it.
"""

from .registry import MemoryRegistry, ServerClosedError
from .serving import add_cli_arguments, create_server, run_from_cli, serve
from .settings import ConfigError, ServerSettings, load_settings, read_config_file

__all__ = [
    "ConfigError",
    "MemoryRegistry",
    "ServerClosedError",
    "ServerSettings",
    "add_cli_arguments",
    "create_server",
    "load_settings",
    "read_config_file",
    "run_from_cli",
    "serve",
]
