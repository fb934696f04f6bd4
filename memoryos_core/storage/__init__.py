"""Storage backends behind one contract (see :mod:`.base`). SQLite is the embedded default;
PostgreSQL (:mod:`.postgres`, needs the ``postgres`` extra) serves many processes and machines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import ConflictError, HeatParams, Store
from .sqlite import SQLiteStore


def open_store(path_or_dsn: str | os.PathLike[str], **options: Any) -> Store:
    """The store for ``path_or_dsn``: ``postgresql://...`` (or ``postgres://...``) opens a
    :class:`~.postgres.PostgresStore`; anything else is a folder or ``.db`` file for
    :class:`SQLiteStore`. ``options`` go to the backend's constructor."""
    from .postgres import is_dsn

    if is_dsn(path_or_dsn):
        from .postgres import PostgresStore

        return PostgresStore(str(path_or_dsn).strip(), **options)
    return SQLiteStore(Path(path_or_dsn), **options)


def __getattr__(name: str) -> Any:  # PostgresStore without importing psycopg for SQLite users
    if name == "PostgresStore":
        from .postgres import PostgresStore

        return PostgresStore
    raise AttributeError(name)


__all__ = ["ConflictError", "HeatParams", "PostgresStore", "SQLiteStore", "Store", "open_store"]
