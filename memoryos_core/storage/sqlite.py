"""SQLite backend: one database file, WAL, explicit transactions.

This module holds only what is SQLite's own: the file, one connection per thread, WAL, and
transactions that take the write lock up front (``BEGIN IMMEDIATE``) so concurrent processes queue
on the busy timeout instead of failing with "database is locked". The SQL is the shared
:class:`~memoryos_core.storage.sql.SQLStore`'s.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from ..errors import StoreError
from .base import FACT_VALIDITY_COLUMNS, Migration, apply_migrations
from .dialect import SQLITE, TransactionalDatabase, Tx
from .sql import SQLStore

DB_FILENAME = "memoryos.db"
T = TypeVar("T")

#: The schema's history, oldest first. Add a step (never edit an applied one) to change the schema;
#: each runs in the transaction that records it in ``schema_migrations``.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", SQLITE.schema),
    # Stores created before these joined the schema: add the indexes, and recount fresh_pages,
    # which now means "unanalysed pages of the segment" (it used to be reset to 0 by any analysis).
    Migration(2, "pages_scope_seq and segments_fresh indexes; fresh_pages recounted", lambda: [
        "CREATE INDEX IF NOT EXISTS pages_scope_seq ON pages(scope_id, seq)",
        "CREATE INDEX IF NOT EXISTS segments_fresh ON segments(scope_id) WHERE fresh_pages > 0",
        "UPDATE segments SET fresh_pages = (SELECT COUNT(*) FROM pages p WHERE p.segment_rid = segments.rid"
        " AND p.analyzed = 0)",
    ]),
    Migration(3, "items: key-value documents under namespaces (the LangGraph store)",
              lambda: SQLITE.schema("schema_items.sql")),
    Migration(4, "facts: valid_until and superseded_by (facts with time)", lambda: FACT_VALIDITY_COLUMNS),
    Migration(5, "lexicons: snapshots of the BM25 lexicon, so a new process need not rebuild it",
              lambda: SQLITE.schema("schema_lexicons.sql")),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


class SQLiteDatabase(TransactionalDatabase):
    """One database file; each thread gets its own connection."""

    dialect = SQLITE

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._closed = False

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            self._enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            self._local.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch a new database to WAL. The switch needs an exclusive lock and SQLite answers "database
        is locked" at once (no busy handler) when two processes create the file together: retry."""
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _transaction(self, begin: str) -> Iterator[Tx]:
        conn = self._conn()
        conn.execute(begin)
        try:
            yield Tx(conn, SQLITE)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def once(self, work: Callable[[Tx], T]) -> T:
        return work(Tx(self._conn(), SQLITE))  # autocommit: each statement is its own transaction

    def close(self) -> None:
        with self._conn_lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._closed = True
        self._local = threading.local()


class SQLiteStore(SQLStore):
    """The embedded default store. ``path`` is a folder (the file is ``memoryos.db``) or a ``.db`` file."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 30_000) -> None:
        path = Path(path)
        if path.suffix in (".db", ".sqlite", ".sqlite3"):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path = path
        else:
            path.mkdir(parents=True, exist_ok=True)
            self.path = path / DB_FILENAME
        db = SQLiteDatabase(self.path, busy_timeout_ms)
        with db.write() as tx:
            apply_migrations(tx, MIGRATIONS, str(self.path))
        super().__init__(db)


__all__ = ["DB_FILENAME", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteDatabase", "SQLiteStore"]
