"""PostgreSQL backend: the same contract, semantics and SQL as SQLite, for many processes and
machines sharing one memory.

Selected by a DSN (``Memoryos(data_storage_path="postgresql://...")``, :func:`..open_store`, or
``store=PostgresStore(dsn)``). This module holds only what is PostgreSQL's own: a
``psycopg_pool.ConnectionPool``, transactions, migrations under an advisory lock, and replacing
connections the server dropped. The SQL is the shared :class:`~memoryos_core.storage.sql.SQLStore`'s.

Concurrency (what replaces SQLite's one-writer-at-a-time ``BEGIN IMMEDIATE``):

* Every write transaction on a scope first takes that scope's row (``SELECT ... FOR NO KEY
  UPDATE``, or an ``UPDATE scopes ... RETURNING``), held to commit: writers of one user queue
  exactly as they do on SQLite, other users proceed in parallel; reads never block. Because
  ``vec_counter`` only moves under that lock, ``vec_seq`` order equals commit order, which is what
  lets :class:`~memoryos_core.index.IndexCache` sync incrementally.
* Job claiming does not take the scope lock: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks a due job
  no other transaction is claiming or finishing. A job being applied is locked (``FOR UPDATE`` in the
  lease check), so it cannot be taken over half-way. The partial unique index ``jobs_one_open``
  keeps one open job per kind and scope (``INSERT ... ON CONFLICT DO NOTHING``).
* Lock order is always scope row, then job row; transactions that lock only job rows never wait
  for a scope. There is no lock cycle, hence no deadlock.
* Reads spanning several statements run in ``REPEATABLE READ READ ONLY`` transactions: one
  consistent snapshot, like a SQLite read transaction.

PostgreSQL ``TEXT`` cannot hold NUL characters: pages containing one are refused with
:class:`~memoryos_core.errors.InvalidInputError` (nothing written); text the engine derives
(summaries, knowledge) is stored with NULs removed.

Vector search stays in process (FAISS, synced from the counters). The pgvector extension is
detected (:attr:`PostgresStore.pgvector_available`) but not used yet; see ``docs/postgres.md``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TypeVar

from ..errors import StoreError
from .base import FACT_VALIDITY_COLUMNS, Migration, apply_migrations
from .dialect import POSTGRES, Row, Statement, TransactionalDatabase, Tx
from .sql import SQLStore

try:  # optional dependency: pip install "memoryos-kit[postgres]"
    import psycopg
    from psycopg import conninfo as _conninfo
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

T = TypeVar("T")

#: The schema's history, oldest first. Add a step (never edit an applied one's effect) to change the
#: schema; each runs in one transaction with the row that records it in ``schema_migrations``.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", POSTGRES.schema),
    # Migration 2 created server-side add_page / set_page_embeddings functions, which held a copy of
    # the overflow rule; migration 4 retired them (the shared SQL does both writes). Nothing to create.
    Migration(2, "server-side add_page and set_page_embeddings (retired by migration 4)", lambda: []),
    Migration(3, "items: key-value documents under namespaces (the LangGraph store)",
              lambda: POSTGRES.schema("schema_items.sql")),
    Migration(4, "drop the server-side write functions", lambda: [
        "DROP FUNCTION IF EXISTS memoryos_add_page",
        "DROP FUNCTION IF EXISTS memoryos_set_page_embeddings",
    ]),
    Migration(5, "facts: valid_until and superseded_by (facts with time)", lambda: FACT_VALIDITY_COLUMNS),
    Migration(6, "lexicons: snapshots of the BM25 lexicon, so a new process need not rebuild it",
              lambda: POSTGRES.schema("schema_lexicons.sql")),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
#: pg_advisory_xact_lock key serialising concurrent migrations of one database ("MEMO").
_MIGRATION_LOCK = 0x4D454D4F

_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE


def is_dsn(value: object) -> bool:
    """True for a PostgreSQL connection URI (``postgresql://`` or ``postgres://``)."""
    return isinstance(value, str) and value.strip().lower().startswith(("postgresql://", "postgres://"))


def redact_dsn(dsn: str) -> str:
    """The DSN without its password, for messages and ``repr``."""
    try:
        params = _conninfo.conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - a malformed DSN: show nothing of it
        return "<unparsable DSN>"
    params.pop("password", None)
    return _conninfo.make_conninfo("", **{k: v for k, v in params.items() if v is not None})


class PostgresDatabase(TransactionalDatabase):
    """A connection pool in autocommit mode; transactions are explicit (``BEGIN`` ... ``COMMIT``).

    A pooled connection the server dropped (restart, idle timeout, ``pg_terminate_backend``) is
    replaced transparently: when the first statement on a connection (a transaction's ``BEGIN``
    or a one-statement read) fails because the connection is broken, nothing ran yet, and the
    call is retried on another connection.
    """

    dialect = POSTGRES

    def __init__(self, dsn: str, *, min_size: int, max_size: int, timeout: float,
                 prepare_threshold: int | None) -> None:
        self.dsn, self.display_dsn, self.timeout = dsn, redact_dsn(dsn), timeout
        self._closed = True
        self.pgvector_available = self._migrate(prepare_threshold)
        self._pool = ConnectionPool(dsn, min_size=min_size, max_size=max(min_size, max_size), timeout=timeout,
                                    kwargs={"autocommit": True, "prepare_threshold": prepare_threshold},
                                    name="memoryos", open=False)
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreError(f"no connection to PostgreSQL at {self.display_dsn} within {timeout:g}s") from exc
        self._closed = False

    def _migrate(self, prepare_threshold: int | None) -> bool:
        """Apply pending migrations (one transaction, serialised by an advisory lock); report pgvector."""
        params: dict[str, Any] = {} if "connect_timeout" in _conninfo.conninfo_to_dict(self.dsn) else {
            "connect_timeout": max(1, int(self.timeout))}
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, prepare_threshold=prepare_threshold, **params)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self.display_dsn}: {exc}".strip()) from exc
        with conn:
            try:
                with conn.transaction():
                    tx = Tx(conn, POSTGRES)
                    tx.run("SELECT pg_advisory_xact_lock(?)", _MIGRATION_LOCK)
                    apply_migrations(tx, MIGRATIONS, self.display_dsn)
                return bool(Tx(conn, POSTGRES).value(
                    "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')"))
            except psycopg.Error as exc:
                raise StoreError(f"could not prepare the MemoryOS schema at {self.display_dsn}: {exc}") from exc

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreError(f"no free PostgreSQL connection within {self.timeout:g}s"
                             f" (pool of {self._pool.max_size})") from exc
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL at {self.display_dsn} failed: {exc}") from exc

    def _dead(self, conn: Any, exc: Exception, attempt: int) -> bool:
        """True when ``exc`` on a connection's first statement means the connection was dead."""
        return isinstance(exc, psycopg.OperationalError) and conn.broken and attempt < self._pool.max_size

    @contextmanager
    def _connection_for(self, begin: str) -> Iterator[Any]:
        """A pooled connection with a transaction begun; a connection found dead at ``BEGIN`` (nothing
        ran yet) is replaced by another."""
        for attempt in range(self._pool.max_size + 1):
            with self._connection() as conn:
                try:
                    conn.execute(begin)
                except psycopg.Error as exc:
                    if self._dead(conn, exc, attempt):
                        continue  # the pool discards the broken connection
                    raise
                yield conn
                return
        raise StoreError(f"no live PostgreSQL connection at {self.display_dsn}")

    @staticmethod
    def _rollback(conn: Any) -> None:
        if not conn.closed and conn.pgconn.transaction_status != _IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                pass

    def _transaction(self, begin: str) -> Iterator[Tx]:
        with self._connection_for(begin) as conn:
            try:
                yield Tx(conn, POSTGRES)
            except BaseException:
                self._rollback(conn)
                raise
            conn.execute("COMMIT")

    def write_batch(self, statements: Sequence[Statement], *, retry_safe: bool = False) -> list[list[Row]]:
        """The statements and the ``COMMIT`` in one pipeline: the server runs them back to back. A
        ``retry_safe`` batch (running it twice changes nothing more) goes out whole with its ``BEGIN``,
        one round trip, and is sent again on another connection if its connection turns out dead;
        any other batch sends ``BEGIN`` alone first, where a dead connection is replaced before
        anything ran."""
        if not retry_safe:
            with self._connection_for(POSTGRES.begin_write) as conn:
                return self._pipeline(conn, statements, begin=False)
        for attempt in range(self._pool.max_size + 1):
            with self._connection() as conn:
                try:
                    return self._pipeline(conn, statements, begin=True)
                except psycopg.OperationalError as exc:
                    if self._dead(conn, exc, attempt):
                        continue
                    raise
        raise StoreError(f"no live PostgreSQL connection at {self.display_dsn}")

    def _pipeline(self, conn: Any, statements: Sequence[Statement], *, begin: bool) -> list[list[Row]]:
        try:
            with conn.pipeline():
                if begin:
                    conn.execute(POSTGRES.begin_write)
                cursors = [conn.execute(*POSTGRES.render(sql, params)) for sql, params in statements]
                conn.execute("COMMIT")
            return [c.fetchall() if c.description else [] for c in cursors]
        except BaseException:
            self._rollback(conn)
            raise

    def once(self, work: Callable[[Tx], T]) -> T:
        for attempt in range(self._pool.max_size + 1):
            with self._connection() as conn:
                try:
                    return work(Tx(conn, POSTGRES))
                except psycopg.Error as exc:
                    if self._dead(conn, exc, attempt):
                        continue
                    raise
        raise StoreError(f"no live PostgreSQL connection at {self.display_dsn}")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()


class PostgresStore(SQLStore):
    """A store in a PostgreSQL database, shared by any number of processes and machines.

    ``dsn`` is a libpq connection string or URI. The schema lives in the first schema of the
    connection's ``search_path`` (``public`` by default; pass ``options=-csearch_path=...`` to
    keep several MemoryOS installations in one database). ``min_size``/``max_size`` bound the
    connection pool of this process; ``timeout`` is how long to wait for the server or for a free
    connection. ``prepare_threshold`` is passed to psycopg (``None`` for PgBouncer in
    transaction mode).
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 30.0,
                 prepare_threshold: int | None = 5) -> None:
        if psycopg is None:
            raise StoreError("the PostgreSQL store needs psycopg 3 and psycopg-pool: pip install 'memoryos-kit[postgres]'")
        db = PostgresDatabase(dsn, min_size=min_size, max_size=max_size, timeout=timeout,
                              prepare_threshold=prepare_threshold)
        self.dsn, self.display_dsn, self.pgvector_available = dsn, db.display_dsn, db.pgvector_available
        super().__init__(db)

    def __repr__(self) -> str:
        return f"PostgresStore({self.display_dsn!r})"


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresDatabase", "PostgresStore", "is_dsn", "redact_dsn"]
