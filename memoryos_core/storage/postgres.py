"""PostgreSQL backend: the same contract and semantics as :class:`~.sqlite.SQLiteStore`, for many
processes and machines sharing one memory.

Selected by a DSN (``Memoryos(data_storage_path="postgresql://...")``, :func:`..open_store`, or
``store=PostgresStore(dsn)``). Connections come from a ``psycopg_pool.ConnectionPool``; every public
method is one transaction.

Concurrency model (what replaces SQLite's one-writer-at-a-time ``BEGIN IMMEDIATE``):

* Every write transaction on a scope first takes that scope's row lock (``UPDATE scopes ...
  RETURNING`` or ``SELECT ... FOR NO KEY UPDATE``), held to commit. Writers of one user therefore
  queue exactly as they do on SQLite, while other users proceed in parallel; reads never block.
  Because ``vec_counter`` is only ever advanced under that lock, ``vec_seq`` order equals commit
  order, which is what lets :class:`~memoryos_core.index.IndexCache` sync incrementally.
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

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import InvalidInputError, NotFoundError, StoreError
from ..policy import ExactValue, FactAge, Policy, SegmentHeat
from ..types import Fact, HistoryEntry, Page, Profile, Segment, render_page_text
from .base import (
    ConflictError,
    ExportRows,
    JobKind,
    OpenJob,
    TierCounts,
    tier_counts,
    FactRow,
    FactWrite,
    HeatParams,
    ItemRow,
    ItemWrite,
    in_listing_order,
    page_plan,
    Job,
    Migration,
    PageRow,
    ScopeState,
    SegmentRow,
    SegmentWrite,
    VectorTable,
    blob_to_matrix,
    blob_to_vec,
    matrix_to_blob,
    namespace_bounds,
    new_id,
    pending_migrations,
    split_sql,
    vec_to_blob,
)
from .importer import ImportBatch, ImportCounts, apply_import

try:  # optional dependency: pip install "memoryos-kit[postgres]"
    import psycopg
    from psycopg import conninfo as _conninfo
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

_SCHEMA = Path(__file__).with_name("schema_postgres.sql")

#: Migration 2: the two most frequent writes as server-side functions. Each takes the scope row
#: lock as its first statement (a VOLATILE function takes a fresh snapshot per statement, so what
#: follows sees every transaction committed before the lock was granted) and runs as one
#: autocommit statement: the lock is held for the server's work only, never across a network
#: round trip or a client-side pause. ``memoryos_add_page`` is idempotent by page id, so a call
#: lost with its connection can be retried safely.
_FUNCTIONS_V2 = (
    """
    CREATE OR REPLACE FUNCTION memoryos_add_page(
        p_scope BIGINT, p_id TEXT, p_user_input TEXT, p_agent_response TEXT, p_ts DOUBLE PRECISION,
        p_created DOUBLE PRECISION, p_meta TEXT, p_tokens INTEGER, p_embedding BYTEA, p_capacity INTEGER,
        p_batch INTEGER, OUT o_seq BIGINT, OUT o_enqueued BOOLEAN)
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
        v_counter BIGINT;
        v_short BIGINT;
    BEGIN
        PERFORM 1 FROM scopes WHERE id = p_scope FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'memoryos scope % does not exist', p_scope USING ERRCODE = 'P0002';
        END IF;
        SELECT seq INTO o_seq FROM pages WHERE id = p_id;
        IF FOUND THEN  -- a retried call whose first attempt committed
            o_enqueued := FALSE;
            RETURN;
        END IF;
        UPDATE scopes SET next_seq = next_seq + 1, clock = GREATEST(clock, p_ts),
               vec_counter = vec_counter + CASE WHEN p_embedding IS NULL THEN 0 ELSE 1 END
         WHERE id = p_scope RETURNING next_seq, vec_counter INTO o_seq, v_counter;
        INSERT INTO pages (id, scope_id, seq, user_input, agent_response, ts, created_at, meta, tokens, embedding,
                           vec_seq)
        VALUES (p_id, p_scope, o_seq, p_user_input, p_agent_response, p_ts, p_created, p_meta, p_tokens, p_embedding,
                CASE WHEN p_embedding IS NULL THEN NULL ELSE v_counter END);
        SELECT COUNT(*) INTO v_short FROM pages WHERE scope_id = p_scope AND tier = 'short';
        o_enqueued := FALSE;
        IF v_short - p_capacity >= p_batch THEN
            INSERT INTO jobs (scope_id, kind, status, created_at, updated_at)
            VALUES (p_scope, 'consolidate', 'pending', p_created, p_created) ON CONFLICT DO NOTHING;
            o_enqueued := FOUND;
        END IF;
    END
    $fn$
    """,
    """
    CREATE OR REPLACE FUNCTION memoryos_set_page_embeddings(p_scope BIGINT, p_rids BIGINT[], p_vectors BYTEA[])
    RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
        v_last BIGINT;
        v_count INTEGER;
    BEGIN
        UPDATE scopes SET vec_counter = vec_counter + cardinality(p_rids) WHERE id = p_scope
        RETURNING vec_counter INTO v_last;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'memoryos scope % does not exist', p_scope USING ERRCODE = 'P0002';
        END IF;
        UPDATE pages p SET embedding = v.vector, vec_seq = v_last - cardinality(p_rids) + v.n
          FROM unnest(p_rids, p_vectors) WITH ORDINALITY AS v(rid, vector, n)
         WHERE p.rid = v.rid AND p.scope_id = p_scope AND p.embedding IS NULL;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        RETURN v_count;
    END
    $fn$
    """,
)

#: Migration 3: items, the documents of the LangGraph store (``memoryos_core.items``), as on SQLite.
#: ``namespace`` uses the "C" collation so a prefix is a byte-order range its index serves.
_ITEMS_V3 = (
    """CREATE TABLE IF NOT EXISTS items (
        rid         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        scope_id    BIGINT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
        namespace   TEXT COLLATE "C" NOT NULL,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,
        text        TEXT NOT NULL DEFAULT '',
        embedding   BYTEA,
        vec_rows    INTEGER NOT NULL DEFAULT 0,
        created_at  DOUBLE PRECISION NOT NULL,
        updated_at  DOUBLE PRECISION NOT NULL,
        ttl_seconds DOUBLE PRECISION,
        expires_at  DOUBLE PRECISION,
        UNIQUE (scope_id, namespace, key)
    )""",
    "CREATE INDEX IF NOT EXISTS items_namespace ON items(namespace, rid, expires_at)",
    "CREATE INDEX IF NOT EXISTS items_expiry ON items(expires_at) WHERE expires_at IS NOT NULL",
)

#: The schema's history, oldest first. Add a step (never edit an applied one) to change the schema;
#: each runs in one transaction with the row that records it in ``schema_migrations``.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", lambda: split_sql(_SCHEMA.read_text())),
    Migration(2, "server-side add_page and set_page_embeddings", lambda: _FUNCTIONS_V2),
    Migration(3, "items: key-value documents under namespaces (the LangGraph store)", lambda: _ITEMS_V3),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
#: pg_advisory_xact_lock key serialising concurrent migrations of one database ("MEMO").
_MIGRATION_LOCK = 0x4D454D4F

_DELETED = "this user's memory was deleted; open it again to start afresh"

_PAGE_COLS = ("p.rid, p.id, p.seq, p.user_input, p.agent_response, p.ts, p.created_at, p.meta, p.tier, p.segment_rid,"
              " p.analyzed, p.tokens, s.id")
_PAGE_FROM = "pages p LEFT JOIN segments s ON s.rid = p.segment_rid"
_SEG_COLS = (
    "rid, id, summary, keywords, summary_source, vec_sum, page_count, fresh_pages, visits, last_active, archived"
)
_FACT_COLS = "rid, id, kind, text, slot, refers_to, source, source_pages, embedding, active, created_at, updated_at"


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


def _clean(text: str | None) -> str | None:
    """Derived text with NULs removed (PostgreSQL TEXT cannot hold them)."""
    return text.replace("\x00", "") if text and "\x00" in text else text


def _require_no_nul(*values: str) -> None:
    if any("\x00" in v for v in values):
        raise InvalidInputError("text contains a NUL character (\\x00), which PostgreSQL cannot store; remove it")


class PostgresStore:
    """A store in a PostgreSQL database, shared by any number of processes and machines.

    ``dsn`` is a libpq connection string or URI. The schema lives in the first schema of the
    connection's ``search_path`` (``public`` by default; pass ``options=-csearch_path=...`` to
    keep several MemoryOS installations in one database). ``min_size``/``max_size`` bound the
    connection pool of this process; ``timeout`` is how long to wait for the server or for a free
    connection. ``prepare_threshold`` is passed to psycopg (``None`` for PgBouncer in
    transaction mode).

    A pooled connection the server dropped (restart, idle timeout, ``pg_terminate_backend``) is
    replaced transparently: when the first statement on a connection (a transaction's ``BEGIN``
    or a one-statement read) fails because the connection is broken, nothing ran yet, and the
    call is retried on another connection.
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 30.0,
                 prepare_threshold: int | None = 5) -> None:
        if psycopg is None:
            raise StoreError("the PostgreSQL store needs psycopg 3 and psycopg-pool: pip install 'memoryos-kit[postgres]'")
        self.dsn = dsn
        self.display_dsn = redact_dsn(dsn)
        self.timeout = timeout
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

    def __repr__(self) -> str:
        return f"PostgresStore({self.display_dsn!r})"

    # -- connections and transactions -------------------------------------------------------

    def _connect(self, prepare_threshold: int | None) -> Any:
        params: dict[str, Any] = {} if "connect_timeout" in _conninfo.conninfo_to_dict(self.dsn) else {
            "connect_timeout": max(1, int(self.timeout))}
        try:
            return psycopg.connect(self.dsn, autocommit=True, prepare_threshold=prepare_threshold, **params)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self.display_dsn}: {exc}".strip()) from exc

    def _migrate(self, prepare_threshold: int | None) -> bool:
        """Apply pending migrations (one transaction, serialised by an advisory lock); report pgvector."""
        with self._connect(prepare_threshold) as conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                                 " (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
                    current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
                    for step in pending_migrations(current, MIGRATIONS, self.display_dsn):
                        for statement in step.statements():
                            conn.execute(statement)
                        conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (step.version, time.time()))
                return bool(conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')").fetchone()[0])
            except psycopg.Error as exc:
                raise StoreError(f"could not prepare the MemoryOS schema at {self.display_dsn}: {exc}") from exc

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        """A pooled connection in autocommit mode (one statement = one transaction)."""
        if self._closed:
            raise StoreError("the store is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreError(f"no free PostgreSQL connection within {self.timeout:g}s (pool of {self._pool.max_size})") from exc
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL at {self.display_dsn} failed: {exc}") from exc

    def _retry(self, conn: Any, exc: Exception, attempt: int) -> bool:
        """True when ``exc`` on a connection's first statement means the connection was dead."""
        return isinstance(exc, psycopg.OperationalError) and conn.broken and attempt < self._pool.max_size

    @contextmanager
    def _tx(self, begin: str) -> Iterator[Any]:
        for attempt in range(self._pool.max_size + 1):
            with self._conn() as conn:
                try:
                    conn.execute(begin)
                except psycopg.Error as exc:
                    if self._retry(conn, exc, attempt):
                        continue  # the pool discards the broken connection
                    raise
                try:
                    yield conn
                except BaseException:
                    if not conn.closed and conn.pgconn.transaction_status != _IDLE:
                        try:
                            conn.execute("ROLLBACK")
                        except psycopg.Error:
                            pass
                    raise
                conn.execute("COMMIT")
                return

    def _autocommit(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(conn)`` in autocommit mode (one statement, one transaction): reads and idempotent
        writes only, as it is retried on another connection when the first one turns out dead."""
        for attempt in range(self._pool.max_size + 1):
            with self._conn() as conn:
                try:
                    return work(conn)
                except psycopg.Error as exc:
                    if self._retry(conn, exc, attempt):
                        continue
                    raise
        raise AssertionError("unreachable")

    def _call(self, sql: str, params: Sequence[Any]) -> Any:
        """One idempotent write as one autocommit statement (a server-side function); its row."""
        try:
            return self._autocommit(lambda conn: conn.execute(sql, params).fetchone())
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) == "P0002":
                raise StoreError(_DELETED) from exc
            raise

    def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._autocommit(lambda conn: conn.execute(sql, params).fetchone())

    def _fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        return self._autocommit(lambda conn: conn.execute(sql, params).fetchall())

    def _pages(self, where: str, params: Sequence[Any], **kwargs: Any) -> list[PageRow]:
        return self._autocommit(lambda conn: self._page_rows(conn, where, params, **kwargs))

    def _write(self) -> Any:
        return self._tx("BEGIN")

    def _read(self) -> Any:
        return self._tx("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    @staticmethod
    def _lock_scope(conn: Any, scope_id: int) -> float | None:
        """Take the scope's row lock (held to commit); returns its clock, None if the scope is gone."""
        row = conn.execute("SELECT clock FROM scopes WHERE id = %s FOR NO KEY UPDATE", (scope_id,)).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()

    # -- scopes -----------------------------------------------------------------------------

    def scope(self, user_id: str, assistant_id: str, *, create: bool = True) -> int | None:
        def find_or_create(conn: Any) -> int | None:
            row = conn.execute("SELECT id FROM scopes WHERE user_id = %s AND assistant_id = %s",
                               (user_id, assistant_id)).fetchone()
            if row or not create:
                return row[0] if row else None
            row = conn.execute(
                "INSERT INTO scopes (user_id, assistant_id) VALUES (%s, %s)"
                " ON CONFLICT (user_id, assistant_id) DO NOTHING RETURNING id", (user_id, assistant_id)).fetchone()
            if row is None:  # another process created it meanwhile
                row = conn.execute("SELECT id FROM scopes WHERE user_id = %s AND assistant_id = %s",
                                   (user_id, assistant_id)).fetchone()
            return row[0]

        return self._autocommit(find_or_create)

    def scope_state(self, scope_id: int) -> ScopeState:
        row = self._fetchone("SELECT clock, vec_counter, vector_epoch FROM scopes WHERE id = %s", (scope_id,))
        if row is None:
            raise StoreError(_DELETED)
        return ScopeState(scope_id, row[0], row[1], row[2])

    @staticmethod
    def _next_vec_seq(conn: Any, scope_id: int, count: int = 1) -> int:
        """Reserve ``count`` vector sequence numbers (under the scope row lock); returns the first."""
        row = conn.execute("UPDATE scopes SET vec_counter = vec_counter + %s WHERE id = %s RETURNING vec_counter",
                           (count, scope_id)).fetchone()
        if row is None:
            raise StoreError(_DELETED)
        return row[0] - count + 1

    @staticmethod
    def _bump_epoch(conn: Any, scope_id: int) -> None:
        conn.execute("UPDATE scopes SET vector_epoch = vector_epoch + 1 WHERE id = %s", (scope_id,))

    @staticmethod
    def _history(conn: Any, scope_id: int, kind: str, target: str, event: str,
                 old: str | None, new: str | None, at: float | None = None) -> None:
        conn.execute(
            "INSERT INTO history (scope_id, target_kind, target_id, event, old_value, new_value, at)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s)", (scope_id, kind, target, event, _clean(old), _clean(new), at or time.time()))

    # -- pages ------------------------------------------------------------------------------

    def add_page(
        self,
        scope_id: int,
        *,
        user_input: str,
        agent_response: str,
        timestamp: float,
        meta: dict[str, Any],
        tokens: int,
        embedding: np.ndarray | None,
        consolidate_at: int,
    ) -> tuple[Page, bool]:
        """Insert one page into short-term; queue consolidation once short-term holds ``consolidate_at`` pages."""
        _require_no_nul(user_input, agent_response)
        page_id = new_id("pg")
        now = time.time()
        seq, enqueued = self._call(
            "SELECT o_seq, o_enqueued FROM memoryos_add_page(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (scope_id, page_id, user_input, agent_response, timestamp, now, json.dumps(meta, ensure_ascii=False), tokens,
             vec_to_blob(embedding) if embedding is not None else None, consolidate_at, 0))
        page = Page(id=page_id, user_input=user_input, agent_response=agent_response, timestamp=timestamp,
                    tier="short", segment_id=None, meta=meta, created_at=now, seq=seq)
        return page, enqueued

    def _maybe_enqueue_consolidation(self, conn: Any, scope_id: int, consolidate_at: int) -> bool:
        count = conn.execute("SELECT COUNT(*) FROM pages WHERE scope_id = %s AND tier = 'short'", (scope_id,)).fetchone()[0]
        if count >= consolidate_at:
            return self._enqueue(conn, scope_id, "consolidate")
        return False

    def unembedded_pages(self, scope_id: int, limit: int) -> list[tuple[int, str]]:
        rows = self._fetchall("SELECT rid, user_input, agent_response FROM pages WHERE scope_id = %s AND embedding IS NULL"
                              " ORDER BY rid LIMIT %s", (scope_id, limit))
        return [(r[0], render_page_text(r[1], r[2])) for r in rows]

    def set_page_embeddings(self, scope_id: int, items: Sequence[tuple[int, np.ndarray]]) -> None:
        if not items:
            return
        self._call("SELECT memoryos_set_page_embeddings(%s, %s::bigint[], %s::bytea[])",
                   (scope_id, [int(rid) for rid, _ in items], [vec_to_blob(v) for _, v in items]))

    @staticmethod
    def _page_rows(conn: Any, where: str, params: Sequence[Any], *, order: str = "p.rid", limit: bool = False,
                   with_vec: bool = False) -> list[PageRow]:
        cols = _PAGE_COLS + (", p.embedding" if with_vec else "")
        sql = f"SELECT {cols} FROM {_PAGE_FROM} WHERE {where} ORDER BY {order}" + (" LIMIT %s OFFSET %s" if limit else "")
        out = []
        for r in conn.execute(sql, params).fetchall():
            page = Page(id=r[1], seq=r[2], user_input=r[3], agent_response=r[4], timestamp=r[5], created_at=r[6],
                        meta=json.loads(r[7]), tier=r[8], segment_id=r[12], analyzed=bool(r[10]))
            out.append(PageRow(rid=r[0], page=page, segment_rid=r[9], tokens=r[11],
                               embedding=blob_to_vec(r[13]) if with_vec else None))
        return out

    def pages_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[PageRow]:
        if not rids:
            return []
        return self._pages("p.scope_id = %s AND p.rid = ANY(%s::bigint[])", (scope_id, list(rids)))

    def pages_of_segments(self, scope_id: int, segment_rids: Sequence[int]) -> list[PageRow]:
        if not segment_rids:
            return []
        return self._pages("p.scope_id = %s AND p.segment_rid = ANY(%s::bigint[]) AND p.embedding IS NOT NULL",
                           (scope_id, list(segment_rids)), with_vec=True)

    def short_term(self, scope_id: int, limit: int) -> list[PageRow]:
        """The newest ``limit`` pages, oldest first."""
        return list(reversed(self._pages("p.scope_id = %s", (scope_id, limit, 0), order="p.seq DESC", limit=True)))

    def overflow_pages(self, scope_id: int, keep: int, limit: int) -> list[PageRow]:
        """Short-tier pages older than the newest ``keep`` of the scope, oldest first."""
        with self._read() as conn:
            cutoff = conn.execute("SELECT seq FROM pages WHERE scope_id = %s ORDER BY seq DESC LIMIT 1 OFFSET %s",
                                  (scope_id, max(keep - 1, 0))).fetchone()
            if cutoff is None:
                return []
            return self._page_rows(conn, "p.scope_id = %s AND p.tier = 'short' AND p.seq < %s",
                                   (scope_id, cutoff[0], limit, 0), order="p.seq", limit=True, with_vec=True)

    def get_page(self, scope_id: int, page_id: str) -> PageRow:
        rows = self._pages("p.scope_id = %s AND p.id = %s", (scope_id, page_id), with_vec=True)
        if not rows:
            raise NotFoundError(f"no memory with id {page_id!r} for this user")
        return rows[0]

    def list_pages(self, scope_id: int, *, tier: str | None, limit: int, offset: int) -> list[Page]:
        where: str = "p.scope_id = %s"
        params: list[Any] = [scope_id]
        if tier:
            where += " AND p.tier = %s"
            params.append(tier)
        rows = self._pages(where, (*params, limit, offset), order="p.seq", limit=True)
        return [r.page for r in rows]

    @staticmethod
    def _locate_page(conn: Any, scope_id: int, page_id: str) -> tuple[Any, ...]:
        """(rid, user_input, agent_response, embedding, segment_rid) of a page of this scope."""
        row = conn.execute(
            "SELECT rid, user_input, agent_response, embedding, segment_rid FROM pages WHERE scope_id = %s AND id = %s",
            (scope_id, page_id)).fetchone()
        if row is None:
            raise NotFoundError(f"no memory with id {page_id!r} for this user")
        return tuple(row)

    def update_page(self, scope_id: int, page_id: str, *, user_input: str, agent_response: str, tokens: int,
                    embedding: np.ndarray, only_if_unanswered: bool = False) -> Page:
        """Rewrite a page and its vector (and its segment's share); ``only_if_unanswered`` makes it
        an atomic completion of a one-sided page (ConflictError if it already has a response)."""
        _require_no_nul(user_input, agent_response)
        with self._write() as conn:
            self._lock_scope(conn, scope_id)
            rid, old_in, old_out, old_blob, seg_rid = self._locate_page(conn, scope_id, page_id)
            if only_if_unanswered and old_out:
                raise ConflictError("the page already has a response")
            conn.execute(
                "UPDATE pages SET user_input = %s, agent_response = %s, tokens = %s, embedding = %s, vec_seq = %s,"
                " analyzed = FALSE WHERE rid = %s",
                (user_input, agent_response, tokens, vec_to_blob(embedding), self._next_vec_seq(conn, scope_id), rid))
            if seg_rid is not None:
                old_vec = blob_to_vec(old_blob)
                delta = embedding - (old_vec if old_vec is not None else 0)
                self._shift_segment(conn, scope_id, seg_rid, delta, 0)
            self._bump_epoch(conn, scope_id)
            self._history(conn, scope_id, "page", page_id, "COMPLETE" if only_if_unanswered else "UPDATE",
                          json.dumps({"user_input": old_in, "agent_response": old_out}, ensure_ascii=False),
                          json.dumps({"user_input": user_input, "agent_response": agent_response}, ensure_ascii=False))
        return self.get_page(scope_id, page_id).page

    def _shift_segment(self, conn: Any, scope_id: int, seg_rid: int, delta: Any, count_delta: int) -> None:
        row = conn.execute("SELECT vec_sum, page_count FROM segments WHERE rid = %s", (seg_rid,)).fetchone()
        if row is None:
            return
        if row[1] + count_delta <= 0:
            conn.execute("DELETE FROM segments WHERE rid = %s", (seg_rid,))
            return
        conn.execute(  # fresh_pages stays the count of unanalysed pages (an edited page is re-analysed)
            "UPDATE segments SET vec_sum = %s, page_count = page_count + %s, vec_seq = %s, updated_at = %s,"
            " fresh_pages = (SELECT COUNT(*) FROM pages p WHERE p.segment_rid = %s AND NOT p.analyzed) WHERE rid = %s",
            (vec_to_blob(blob_to_vec(row[0]) + delta), count_delta, self._next_vec_seq(conn, scope_id), time.time(),
             seg_rid, seg_rid))

    def delete_page(self, scope_id: int, page_id: str) -> None:
        """Delete a page, its vector, its share of its segment, and facts drawn only from it."""
        with self._write() as conn:
            self._lock_scope(conn, scope_id)
            rid, old_in, old_out, blob, seg_rid = self._locate_page(conn, scope_id, page_id)
            conn.execute("DELETE FROM pages WHERE rid = %s", (rid,))
            if seg_rid is not None:
                vec = blob_to_vec(blob)
                self._shift_segment(conn, scope_id, seg_rid, -vec if vec is not None else 0, -1)
            for fact_rid, fact_id, text, sources in conn.execute(
                "SELECT rid, id, text, source_pages FROM facts WHERE scope_id = %s AND active AND strpos(source_pages, %s) > 0",
                (scope_id, page_id)).fetchall():
                remaining = [p for p in json.loads(sources) if p != page_id]
                alive = remaining and conn.execute("SELECT COUNT(*) FROM pages WHERE id = ANY(%s::text[])",
                                                   (remaining,)).fetchone()[0]
                if not alive:
                    conn.execute("DELETE FROM facts WHERE rid = %s", (fact_rid,))
                    self._history(conn, scope_id, "fact", fact_id, "DELETE", text, None)
            self._bump_epoch(conn, scope_id)
            self._history(conn, scope_id, "page", page_id, "DELETE",
                          json.dumps({"user_input": old_in, "agent_response": old_out}, ensure_ascii=False), None)

    def forget(self, scope_id: int, *, page_ids: Sequence[str], fact_ids: Sequence[str],
               profile_changes: dict[str, Any], segments: Sequence[tuple[str, str, list[str]]], note: str) -> None:
        """Erase pages and facts the user asked to forget, in one transaction: rows, vectors, the facts drawn
        only from those pages, the text of their history, the profile values and segment summaries that
        held it; one FORGET event (``note``, without the forgotten text) records what went."""
        now = time.time()
        with self._write() as conn:
            self._lock_scope(conn, scope_id)
            gone_facts: list[str] = list(fact_ids)
            for page_id in page_ids:
                row = conn.execute("SELECT rid, embedding, segment_rid FROM pages WHERE scope_id = %s AND id = %s",
                                   (scope_id, page_id)).fetchone()
                if row is None:
                    continue
                conn.execute("DELETE FROM pages WHERE rid = %s", (row[0],))
                if row[2] is not None:
                    vec = blob_to_vec(row[1])
                    self._shift_segment(conn, scope_id, row[2], -vec if vec is not None else 0, -1)
                for fact_id, sources in conn.execute("SELECT id, source_pages FROM facts WHERE scope_id = %s AND"
                                                     " strpos(source_pages, %s) > 0", (scope_id, page_id)).fetchall():
                    remaining = [p for p in json.loads(sources) if p != page_id]
                    alive = remaining and conn.execute("SELECT COUNT(*) FROM pages WHERE id = ANY(%s::text[])",
                                                       (remaining,)).fetchone()[0]
                    if not alive:
                        gone_facts.append(fact_id)
            texts: list[str] = []
            for fact_id in dict.fromkeys(gone_facts):
                row = conn.execute("SELECT text FROM facts WHERE scope_id = %s AND id = %s", (scope_id, fact_id)).fetchone()
                if row is not None:
                    texts.append(row[0])
                    conn.execute("DELETE FROM facts WHERE scope_id = %s AND id = %s", (scope_id, fact_id))
            targets = list(page_ids) + list(dict.fromkeys(gone_facts)) + list(profile_changes)
            for chunk in range(0, len(targets), 500):
                part = targets[chunk:chunk + 500]
                conn.execute("UPDATE history SET old_value = NULL, new_value = NULL WHERE scope_id = %s AND"
                             " target_id = ANY(%s::text[])", (scope_id, part))
            for text in texts:  # a superseding fact's text also sits on the row of the fact it replaced
                conn.execute("UPDATE history SET new_value = NULL WHERE scope_id = %s AND new_value = %s",
                             (scope_id, _clean(text)))
            if profile_changes:
                row = conn.execute("SELECT fields FROM profiles WHERE scope_id = %s", (scope_id,)).fetchone()
                fields = json.loads(row[0]) if row else {}
                for key, value in profile_changes.items():
                    value = value.value if isinstance(value, ExactValue) else value
                    if value in (None, "", []):
                        fields.pop(key, None)
                    else:
                        fields[key] = value
                conn.execute("UPDATE profiles SET fields = %s, updated_at = %s WHERE scope_id = %s",
                             (json.dumps(fields, ensure_ascii=False), now, scope_id))
            for seg_id, summary, keywords in segments:
                conn.execute("UPDATE segments SET summary = %s, keywords = %s, updated_at = %s WHERE scope_id = %s AND id = %s",
                             (summary, json.dumps(keywords, ensure_ascii=False), now, scope_id, seg_id))
            self._bump_epoch(conn, scope_id)
            self._history(conn, scope_id, "memory", "forget", "FORGET", None, note, now)


    # -- segments ---------------------------------------------------------------------------

    @staticmethod
    def _segment(row: Sequence[Any], heat: HeatParams | None, clock: float) -> SegmentRow:
        rid, sid, summary, keywords, source, vec_sum, count, fresh, visits, last_active, archived = row
        value = heat.heat(visits, fresh, last_active, clock) if heat else 0.0
        segment = Segment(id=sid, summary=summary, keywords=json.loads(keywords), page_count=count, visits=visits,
                          fresh_pages=fresh, last_active=last_active, heat=value, archived=bool(archived),
                          summary_source=source)
        return SegmentRow(rid=rid, segment=segment, vec_sum=blob_to_vec(vec_sum))

    @staticmethod
    def _clock(conn: Any, scope_id: int) -> float:
        row = conn.execute("SELECT clock FROM scopes WHERE id = %s", (scope_id,)).fetchone()
        if row is None:
            raise StoreError(_DELETED)
        return row[0]

    def segments_by_rids(self, scope_id: int, rids: Sequence[int], heat: HeatParams | None = None) -> list[SegmentRow]:
        if not rids:
            return []
        with self._read() as conn:
            clock = self._clock(conn, scope_id)
            rows = conn.execute(f"SELECT {_SEG_COLS} FROM segments WHERE scope_id = %s AND rid = ANY(%s::bigint[])"
                                " ORDER BY rid", (scope_id, list(rids))).fetchall()
        return [self._segment(r, heat, clock) for r in rows]

    def list_segments(self, scope_id: int, heat: HeatParams, *, include_archived: bool = False) -> list[SegmentRow]:
        where = "" if include_archived else " AND NOT archived"
        with self._read() as conn:
            clock = self._clock(conn, scope_id)
            rows = conn.execute(f"SELECT {_SEG_COLS} FROM segments WHERE scope_id = %s{where} ORDER BY rid",
                                (scope_id,)).fetchall()
        return [self._segment(r, heat, clock) for r in rows]

    def apply_consolidation(self, scope_id: int, job: Job, owner: str, writes: Sequence[SegmentWrite],
                            policy: Policy) -> list[str]:
        """Move pages into segments in one transaction; returns ids of segments created."""
        created: list[str] = []
        now = time.time()
        with self._write() as conn:
            self._lock_scope(conn, scope_id)  # before any check: what they read cannot change until commit
            self._check_lease(conn, job, owner)
            all_rids = [rid for w in writes for rid in w.page_rids]
            if len(all_rids) != len(set(all_rids)):
                raise ValueError("a page was assigned to two segments")
            if all_rids:
                movable = conn.execute(
                    "SELECT COUNT(*) FROM pages WHERE scope_id = %s AND tier = 'short' AND segment_rid IS NULL"
                    " AND rid = ANY(%s::bigint[])", (scope_id, all_rids)).fetchone()[0]
                if movable != len(all_rids):
                    raise ConflictError("pages were consolidated or deleted meanwhile")
            for w in writes:
                if not w.page_rids:
                    continue
                vec_seq = self._next_vec_seq(conn, scope_id)
                keywords = _clean(json.dumps(w.keywords, ensure_ascii=False))
                if w.rid is None:
                    w.id = w.id or new_id("sg")
                    w.rid = conn.execute(
                        "INSERT INTO segments (id, scope_id, summary, keywords, summary_source, vec_sum, vec_seq, page_count,"
                        " fresh_pages, last_active, created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                        " RETURNING rid",
                        (w.id, scope_id, _clean(w.summary), keywords, w.summary_source, vec_to_blob(w.added_vec_sum),
                         vec_seq, len(w.page_rids), len(w.page_rids), w.last_active, now, now)).fetchone()[0]
                    created.append(w.id)
                else:
                    row = conn.execute("SELECT vec_sum FROM segments WHERE rid = %s AND scope_id = %s AND NOT archived",
                                       (w.rid, scope_id)).fetchone()
                    if row is None:
                        raise ConflictError("a segment was archived or deleted meanwhile")
                    conn.execute(
                        "UPDATE segments SET summary = %s, keywords = %s, summary_source = %s, vec_sum = %s, vec_seq = %s,"
                        " page_count = page_count + %s, fresh_pages = fresh_pages + %s,"
                        " last_active = GREATEST(last_active, %s), updated_at = %s WHERE rid = %s",
                        (_clean(w.summary), keywords, w.summary_source,
                         vec_to_blob(blob_to_vec(row[0]) + w.added_vec_sum), vec_seq, len(w.page_rids),
                         len(w.page_rids), w.last_active, now, w.rid))
                conn.execute("UPDATE pages SET tier = 'mid', segment_rid = %s WHERE rid = ANY(%s::bigint[])",
                             (w.rid, list(w.page_rids)))
            self._finish_job(conn, job)
            self._after_segment_change(conn, scope_id, policy, [w.rid for w in writes if w.rid is not None])
            self._maybe_enqueue_consolidation(conn, scope_id, policy.consolidate_at)
        return created

    @staticmethod
    def _segment_heat(conn: Any, where: str, params: Sequence[Any]) -> list[SegmentHeat]:
        return [SegmentHeat(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in conn.execute(
            f"SELECT rid, id, visits, fresh_pages, last_active, archived FROM segments WHERE {where}", params).fetchall()]

    def _after_segment_change(self, conn: Any, scope_id: int, policy: Policy, touched: Sequence[int]) -> None:
        """Ask the policy: queue persona analysis if a touched segment got hot; archive the coldest beyond capacity."""
        clock = self._clock(conn, scope_id)
        if touched and policy.heat.any_hot(self._segment_heat(conn, "rid = ANY(%s::bigint[])", (list(touched),)), clock):
            self._enqueue(conn, scope_id, "persona")
        live = conn.execute("SELECT COUNT(*) FROM segments WHERE scope_id = %s AND NOT archived", (scope_id,)).fetchone()[0]
        if not policy.archive_count(live):
            return
        coldest = policy.to_archive(self._segment_heat(conn, "scope_id = %s AND NOT archived", (scope_id,)), clock)
        for seg in coldest:
            conn.execute("UPDATE segments SET archived = TRUE WHERE rid = %s", (seg.rid,))
            conn.execute("UPDATE pages SET tier = 'archived' WHERE segment_rid = %s", (seg.rid,))
            self._history(conn, scope_id, "segment", seg.id, "ARCHIVE", None, None)
        self._bump_epoch(conn, scope_id)
        if policy.distil_before_archiving(coldest):
            self._enqueue(conn, scope_id, "persona")

    def record_visits(self, scope_id: int, segment_rids: Sequence[int], heat: HeatParams) -> None:
        """Heat up retrieved segments (N_visit) at the conversation's current time."""
        if not segment_rids:
            return
        rids = list(segment_rids)
        with self._write() as conn:
            clock = self._lock_scope(conn, scope_id)
            if clock is None:
                return
            hot = conn.execute(
                "UPDATE segments SET visits = visits + 1, last_active = %s WHERE scope_id = %s AND rid = ANY(%s::bigint[])"
                " RETURNING rid, id, visits, fresh_pages, last_active, archived", (clock, scope_id, rids)).fetchall()
            if heat.any_hot([SegmentHeat(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in hot], clock):
                self._enqueue(conn, scope_id, "persona")

    # -- persona ----------------------------------------------------------------------------

    def _persona_segments(self, conn: Any, scope_id: int, heat: HeatParams) -> list[int]:
        """Segments with unanalysed pages that are hot, or archived (distilled before they go)."""
        clock = self._clock(conn, scope_id)
        return heat.for_persona(self._segment_heat(conn, "scope_id = %s AND fresh_pages > 0", (scope_id,)), clock)

    def persona_batch(self, scope_id: int, heat: HeatParams, limit: int, *, quiet: bool = False) -> list[PageRow]:
        """Unanalysed pages of hot segments (and of archived ones), oldest first; with ``quiet``, the
        batch is topped up with unanalysed pages of the other segments (heat orders, never excludes)."""
        with self._read() as conn:
            chosen = self._persona_segments(conn, scope_id, heat)
            rows: list[PageRow] = []
            if chosen:
                rows = self._page_rows(conn, "p.segment_rid = ANY(%s::bigint[]) AND NOT p.analyzed",
                                       (chosen, limit, 0), order="p.seq", limit=True)
            if quiet and len(rows) < limit:
                taken = [r.rid for r in rows]
                rows += self._page_rows(
                    conn, "p.scope_id = %s AND p.segment_rid IS NOT NULL AND NOT p.analyzed"
                    " AND NOT (p.rid = ANY(%s::bigint[]))", (scope_id, taken, limit - len(rows), 0),
                    order="p.seq", limit=True)
            return rows

    def facts(self, scope_id: int, kind: str | None = None, *, active_only: bool = True) -> list[FactRow]:
        where: str = "scope_id = %s"
        params: list[Any] = [scope_id]
        if kind:
            where += " AND kind = %s"
            params.append(kind)
        if active_only:
            where += " AND active"
        rows = self._fetchall(f"SELECT {_FACT_COLS} FROM facts WHERE {where} ORDER BY rid", params)
        return [self._fact(r) for r in rows]

    def facts_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[FactRow]:
        if not rids:
            return []
        rows = self._fetchall(f"SELECT {_FACT_COLS} FROM facts WHERE scope_id = %s AND active AND rid = ANY(%s::bigint[])"
                              " ORDER BY rid", (scope_id, list(rids)))
        return [self._fact(r) for r in rows]

    @staticmethod
    def _fact(r: Sequence[Any]) -> FactRow:
        fact = Fact(id=r[1], kind=r[2], text=r[3], slot=r[4], refers_to=r[5], source=r[6],
                    source_page_ids=json.loads(r[7]), created_at=r[10], updated_at=r[11])
        return FactRow(rid=r[0], fact=fact, embedding=blob_to_vec(r[8]), active=bool(r[9]))

    def apply_persona(self, scope_id: int, job: Job, owner: str, *, page_rids: Sequence[int],
                      fact_writes: Sequence[FactWrite], profile_changes: dict[str, Any],
                      policy: Policy) -> None:
        """Write reconciled facts and profile changes, mark pages analysed, reset heat; one transaction."""
        now = time.time()
        rids = list(page_rids)
        with self._write() as conn:
            self._lock_scope(conn, scope_id)
            self._check_lease(conn, job, owner)
            if rids:
                pending = conn.execute(
                    "SELECT COUNT(*) FROM pages WHERE scope_id = %s AND NOT analyzed AND rid = ANY(%s::bigint[])",
                    (scope_id, rids)).fetchone()[0]
                if pending != len(rids):
                    raise ConflictError("pages were analysed or deleted meanwhile")
            retired = self._apply_fact_writes(conn, scope_id, fact_writes, now)
            for kind in ("user", "assistant"):
                active = [FactAge(*r) for r in conn.execute(
                    "SELECT rid, id, text, updated_at FROM facts WHERE scope_id = %s AND kind = %s AND active",
                    (scope_id, kind)).fetchall()]
                for fact in policy.to_evict(active):
                    conn.execute("UPDATE facts SET active = FALSE, updated_at = %s WHERE rid = %s", (now, fact.rid))
                    self._history(conn, scope_id, "fact", fact.id, "EVICT", fact.text, None)
                    retired = True
            if profile_changes:
                self._merge_profile(conn, scope_id, profile_changes, now, policy)
            if rids:
                conn.execute("UPDATE pages SET analyzed = TRUE WHERE rid = ANY(%s::bigint[])", (rids,))
                conn.execute(
                    "UPDATE segments SET visits = 0, fresh_pages = (SELECT COUNT(*) FROM pages p WHERE"
                    " p.segment_rid = segments.rid AND NOT p.analyzed) WHERE scope_id = %s AND rid IN"
                    " (SELECT DISTINCT segment_rid FROM pages WHERE rid = ANY(%s::bigint[]))", (scope_id, rids))
            if retired:
                self._bump_epoch(conn, scope_id)
            self._finish_job(conn, job)
            # More hot pages than one batch took: keep going.
            if self._persona_segments(conn, scope_id, policy.heat):
                self._enqueue(conn, scope_id, "persona")

    def _merge_profile(self, conn: Any, scope_id: int, changes: dict[str, Any], now: float, policy: Policy) -> None:
        row = conn.execute("SELECT fields FROM profiles WHERE scope_id = %s", (scope_id,)).fetchone()
        merged = policy.merge_profile(json.loads(row[0]) if row else {}, changes)
        for change in merged.changes:
            self._history(conn, scope_id, "profile", change.key, change.event,
                          None if change.old is None else json.dumps(change.old, ensure_ascii=False),
                          None if change.new is None else json.dumps(change.new, ensure_ascii=False))
        conn.execute(
            "INSERT INTO profiles (scope_id, fields, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (scope_id) DO UPDATE SET fields = EXCLUDED.fields, updated_at = EXCLUDED.updated_at",
            (scope_id, _clean(json.dumps(merged.fields, ensure_ascii=False)), now))

    def profile(self, scope_id: int) -> Profile:
        row = self._fetchone("SELECT fields, updated_at FROM profiles WHERE scope_id = %s", (scope_id,))
        return Profile(fields=json.loads(row[0]) if row else {}, updated_at=row[1] if row else None)

    def set_profile_fields(self, scope_id: int, changes: dict[str, Any], policy: Policy) -> Profile:
        with self._write() as conn:
            if self._lock_scope(conn, scope_id) is None:
                raise StoreError(_DELETED)
            self._merge_profile(conn, scope_id, changes, time.time(), policy)
        return self.profile(scope_id)

    def get_fact(self, scope_id: int, fact_id: str) -> FactRow:
        row = self._fetchone(f"SELECT {_FACT_COLS} FROM facts WHERE scope_id = %s AND id = %s", (scope_id, fact_id))
        if row is None:
            raise NotFoundError(f"no memory with id {fact_id!r} for this user")
        return self._fact(row)

    def write_facts(self, scope_id: int, writes: Sequence[FactWrite]) -> None:
        """Manual knowledge edits, outside any job."""
        with self._write() as conn:
            if self._lock_scope(conn, scope_id) is None:
                raise StoreError(_DELETED)
            if self._apply_fact_writes(conn, scope_id, writes, time.time()):
                self._bump_epoch(conn, scope_id)

    def _apply_fact_writes(self, conn: Any, scope_id: int, writes: Sequence[FactWrite], now: float) -> bool:
        """Apply add/update/retire/delete; returns True when a vector left the index."""
        removed = False
        for w in writes:
            if w.op == "add":
                fid = new_id("ft")
                conn.execute(
                    "INSERT INTO facts (id, scope_id, kind, text, slot, refers_to, source, source_pages, embedding,"
                    " vec_seq, created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (fid, scope_id, w.kind, _clean(w.text), _clean(w.slot), w.refers_to, w.source,
                     json.dumps(w.source_pages), vec_to_blob(w.embedding), self._next_vec_seq(conn, scope_id), now, now))
                self._history(conn, scope_id, "fact", fid, w.event, None, w.text)
                continue
            row = conn.execute("SELECT id, text, source_pages FROM facts WHERE rid = %s AND scope_id = %s AND active",
                               (w.rid, scope_id)).fetchone()
            if row is None:
                continue
            removed = True
            if w.op == "update":
                sources = sorted(set(json.loads(row[2])) | set(w.source_pages))
                conn.execute(
                    "UPDATE facts SET text = %s, slot = COALESCE(%s, slot), refers_to = COALESCE(%s, refers_to),"
                    " source = %s, source_pages = %s, embedding = %s, vec_seq = %s, updated_at = %s WHERE rid = %s",
                    (_clean(w.text), _clean(w.slot), w.refers_to, w.source, json.dumps(sources),
                     vec_to_blob(w.embedding), self._next_vec_seq(conn, scope_id), now, w.rid))
                self._history(conn, scope_id, "fact", row[0], w.event, row[1], w.text)
            elif w.op == "delete":
                conn.execute("DELETE FROM facts WHERE rid = %s", (w.rid,))
                self._history(conn, scope_id, "fact", row[0], w.event, row[1], None)
            else:
                conn.execute("UPDATE facts SET active = FALSE, updated_at = %s WHERE rid = %s", (now, w.rid))
                self._history(conn, scope_id, "fact", row[0], w.event, row[1], w.text or None)
        return removed

    # -- jobs -------------------------------------------------------------------------------

    @staticmethod
    def _enqueue(conn: Any, scope_id: int, kind: str) -> bool:
        now = time.time()
        row = conn.execute(
            "INSERT INTO jobs (scope_id, kind, status, created_at, updated_at) VALUES (%s, %s, 'pending', %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING id", (scope_id, kind, now, now)).fetchone()  # jobs_one_open
        return row is not None

    def enqueue(self, scope_id: int, kind: JobKind) -> bool:
        with self._write() as conn:
            if self._lock_scope(conn, scope_id) is None:
                raise StoreError(_DELETED)
            return self._enqueue(conn, scope_id, kind)

    def claim_job(self, scope_id: int, owner: str, lease_seconds: float,
                  owner_is_dead: Callable[[str], bool] | None = None) -> Job | None:
        """Take the next due job of the scope. A running job is taken over when its lease expired
        or ``owner_is_dead`` says its worker is gone (a crashed process on this machine). Jobs
        another transaction is claiming or applying are skipped (``SKIP LOCKED``), never waited for."""
        now = time.time()
        with self._write() as conn:
            if owner_is_dead is not None:
                for job_id, job_owner in conn.execute(
                    "SELECT id, owner FROM jobs WHERE scope_id = %s AND status = 'running' AND lease_until >= %s"
                    " FOR UPDATE SKIP LOCKED", (scope_id, now)).fetchall():
                    if job_owner and owner_is_dead(job_owner):
                        conn.execute("UPDATE jobs SET lease_until = 0 WHERE id = %s", (job_id,))
            row = conn.execute(
                "SELECT id, kind, attempts FROM jobs WHERE scope_id = %s AND ((status = 'pending' AND not_before <= %s)"
                " OR (status = 'running' AND lease_until < %s)) ORDER BY kind = 'persona', id LIMIT 1"
                " FOR UPDATE SKIP LOCKED", (scope_id, now, now)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE jobs SET status = 'running', owner = %s, lease_until = %s, updated_at = %s WHERE id = %s",
                         (owner, now + lease_seconds, now, row[0]))
        return Job(id=row[0], scope_id=scope_id, kind=row[1], attempts=row[2])

    @staticmethod
    def _check_lease(conn: Any, job: Job, owner: str) -> None:
        """Raise ConflictError unless ``owner`` still holds ``job``; locks the job row until commit."""
        if job.id == 0:
            return
        row = conn.execute("SELECT owner, status FROM jobs WHERE id = %s FOR UPDATE", (job.id,)).fetchone()
        if row is None or row[0] != owner or row[1] != "running":
            raise ConflictError("the job was taken over by another worker")

    @staticmethod
    def _finish_job(conn: Any, job: Job) -> None:
        if job.id:
            conn.execute("DELETE FROM jobs WHERE id = %s", (job.id,))

    def finish_job(self, job: Job, owner: str) -> None:
        with self._write() as conn:
            self._check_lease(conn, job, owner)
            self._finish_job(conn, job)

    def release_job(self, job: Job, owner: str, error: str, retry_at: float, *, give_up: bool) -> None:
        """Record a failed attempt; the job becomes due again at ``retry_at`` (or is parked as failed)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = %s, attempts = attempts + 1, not_before = %s, lease_until = NULL, owner = NULL,"
                " last_error = %s, updated_at = %s WHERE id = %s AND (owner = %s OR owner IS NULL)",
                ("failed" if give_up else "pending", retry_at, _clean(error[:2000]), time.time(), job.id, owner))

    def open_jobs(self, scope_id: int) -> list[OpenJob]:
        rows = self._fetchall("SELECT id, kind, status, attempts, not_before, last_error FROM jobs WHERE scope_id = %s"
                              " ORDER BY id", (scope_id,))
        return [OpenJob(id=r[0], kind=r[1], status=r[2], attempts=r[3], not_before=r[4], last_error=r[5]) for r in rows]

    def retry_failed_jobs(self, scope_id: int) -> int:
        """Make failed jobs due again: per kind, the newest failed one, unless one is already open."""
        with self._write() as conn:
            if self._lock_scope(conn, scope_id) is None:
                return 0
            return len(conn.execute(
                "UPDATE jobs SET status = 'pending', not_before = 0, attempts = 0 WHERE id IN ("
                " SELECT MAX(f.id) FROM jobs f WHERE f.scope_id = %s AND f.status = 'failed'"
                " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.scope_id = f.scope_id AND j.kind = f.kind"
                " AND j.status IN ('pending', 'running')) GROUP BY f.kind) RETURNING id", (scope_id,)).fetchall())

    # -- vectors ----------------------------------------------------------------------------

    @staticmethod
    def _vector_source(table: VectorTable) -> tuple[str, str, tuple[Any, ...]]:
        """(vector column, FROM/WHERE clause after ``scope_id = %s``, its extra parameters) of the
        rows an index of ``table`` holds."""
        if table == "pages":
            return "embedding", "FROM pages WHERE scope_id = %s AND tier <> 'archived' AND embedding IS NOT NULL", ()
        if table == "segments":
            return "vec_sum", "FROM segments WHERE scope_id = %s AND NOT archived", ()
        if table in ("facts_user", "facts_assistant"):
            return "embedding", "FROM facts WHERE scope_id = %s AND active AND kind = %s", (table.split("_", 1)[1],)
        raise ValueError(f"unknown vector table {table!r}")

    def vectors_since(self, scope_id: int, table: VectorTable, since_seq: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows whose vector was written after ``since_seq``: (rids, vectors, max seq).

        Complete by construction: a vec_seq is reserved under the scope row lock held to commit,
        so no transaction can still commit a number at or below one that is already visible."""
        column, source, extra = self._vector_source(table)
        rows = self._fetchall(f"SELECT rid, {column}, vec_seq {source} AND vec_seq > %s", (scope_id, *extra, since_seq))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), since_seq
        rids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1).copy()
        return rids, vectors, max(r[2] for r in rows)

    def live_vector_ids(self, scope_id: int, table: VectorTable) -> set[int]:
        """Row ids an index of ``table`` should hold now (after removals)."""
        _, source, extra = self._vector_source(table)
        return {r[0] for r in self._fetchall(f"SELECT rid {source}", (scope_id, *extra))}

    def segment_members(self, scope_id: int, segment_rids: Sequence[int]) -> list[tuple[int, int]]:
        """(page rid, segment rid) of the pages of the given segments of the scope."""
        if not segment_rids:
            return []
        return [tuple(r) for r in self._fetchall(
            "SELECT p.rid, p.segment_rid FROM pages p JOIN segments s ON s.rid = p.segment_rid"
            " WHERE s.scope_id = %s AND s.rid = ANY(%s::bigint[])", (scope_id, list(segment_rids)))]

    def segment_of(self, scope_id: int, page_rids: Sequence[int]) -> dict[int, int | None]:
        """Segment rid (None in short-term) of each given page of the scope; missing pages are absent."""
        if not page_rids:
            return {}
        return dict(self._fetchall("SELECT rid, segment_rid FROM pages WHERE scope_id = %s AND rid = ANY(%s::bigint[])",
                                   (scope_id, list(page_rids))))

    # -- management -------------------------------------------------------------------------

    @staticmethod
    def _history_rows(conn: Any, scope_id: int, target_id: str | None, limit: int) -> list[HistoryEntry]:
        where: str = "scope_id = %s"
        params: list[Any] = [scope_id]
        if target_id:
            where += " AND target_id = %s"
            params.append(target_id)
        rows = conn.execute(f"SELECT id, target_kind, target_id, event, old_value, new_value, at FROM history"
                            f" WHERE {where} ORDER BY id LIMIT %s", (*params, limit)).fetchall()
        return [HistoryEntry(*r) for r in rows]

    def history(self, scope_id: int, target_id: str | None = None, limit: int = 1000) -> list[HistoryEntry]:
        return self._autocommit(lambda conn: self._history_rows(conn, scope_id, target_id, limit))

    def counts(self, scope_id: int) -> TierCounts:
        out: dict[str, int] = {"short_term": 0, "mid_term": 0, "archived": 0}  # filled below
        with self._read() as conn:
            for tier, n in conn.execute("SELECT tier, COUNT(*) FROM pages WHERE scope_id = %s GROUP BY tier",
                                        (scope_id,)).fetchall():
                out[{"short": "short_term", "mid": "mid_term", "archived": "archived"}[tier]] = n
            row = conn.execute(
                "SELECT (SELECT COUNT(*) FROM segments WHERE scope_id = %(s)s AND NOT archived),"
                " (SELECT COUNT(*) FROM facts WHERE scope_id = %(s)s AND kind = 'user' AND active),"
                " (SELECT COUNT(*) FROM facts WHERE scope_id = %(s)s AND kind = 'assistant' AND active),"
                " (SELECT COUNT(*) FROM pages WHERE scope_id = %(s)s AND embedding IS NULL),"
                " (SELECT COUNT(*) FROM jobs WHERE scope_id = %(s)s AND status <> 'failed'),"
                " (SELECT COUNT(*) FROM jobs WHERE scope_id = %(s)s AND status = 'failed')", {"s": scope_id}).fetchone()
        keys = ("segments", "user_knowledge", "assistant_knowledge", "unembedded", "pending_jobs", "failed_jobs")
        out.update(zip(keys, (int(n) for n in row)))
        return tier_counts(out)

    def delete_user(self, user_id: str) -> int:
        """Erase every row of every scope of ``user_id`` (pages, vectors, segments, facts, profile, history, jobs,
        items)."""
        with self._write() as conn:
            scope_ids = [r[0] for r in conn.execute(
                "SELECT id FROM scopes WHERE user_id = %s ORDER BY id FOR UPDATE", (user_id,)).fetchall()]
            if scope_ids:
                for table in ("jobs", "history", "profiles", "facts", "pages", "segments", "items"):
                    conn.execute(f"DELETE FROM {table} WHERE scope_id = ANY(%s::bigint[])", (scope_ids,))
                conn.execute("DELETE FROM scopes WHERE id = ANY(%s::bigint[])", (scope_ids,))
        return len(scope_ids)

    def import_rows(self, scope_id: int, batch: ImportBatch, policy: Policy) -> ImportCounts:
        """Write a validated import in one transaction, under the scope's row lock (see :mod:`.importer`),
        then enqueue the work the imported state calls for, as after any write."""
        with self._write() as conn:
            if self._lock_scope(conn, scope_id) is None:
                raise StoreError(_DELETED)
            counts = apply_import(conn, scope_id, batch, placeholder="%s")
            if counts.pages:
                self._maybe_enqueue_consolidation(conn, scope_id, policy.consolidate_at)
                if self._persona_segments(conn, scope_id, policy.heat):
                    self._enqueue(conn, scope_id, "persona")
        return counts

    def export_rows(self, scope_id: int) -> ExportRows:
        with self._read() as conn:
            pages = self._page_rows(conn, "p.scope_id = %s", (scope_id,), order="p.seq")
            segs = conn.execute(f"SELECT {_SEG_COLS} FROM segments WHERE scope_id = %s ORDER BY rid", (scope_id,)).fetchall()
            facts = conn.execute(f"SELECT {_FACT_COLS} FROM facts WHERE scope_id = %s ORDER BY rid", (scope_id,)).fetchall()
            prof = conn.execute("SELECT fields, updated_at FROM profiles WHERE scope_id = %s", (scope_id,)).fetchone()
            history = self._history_rows(conn, scope_id, None, 1_000_000)
        profile = Profile(fields=json.loads(prof[0]) if prof else {}, updated_at=prof[1] if prof else None)
        return {
            "pages": [r.page.to_dict() for r in pages],
            "segments": [self._segment(s, None, 0).segment.to_dict() for s in segs],
            "facts": [{**self._fact(f).fact.to_dict(), "active": bool(f[9])} for f in facts],
            "profile": profile.to_dict(),
            "history": [h.to_dict() for h in history],
        }


    # -- items ------------------------------------------------------------------------------

    _ITEM_COLS = "rid, scope_id, namespace, key, value, text, created_at, updated_at, ttl_seconds, expires_at, vec_rows"

    @staticmethod
    def _item(row: Sequence[Any], with_vectors: bool) -> ItemRow:
        blob = row[11]
        return ItemRow(rid=row[0], scope_id=row[1], namespace=row[2], key=row[3], value_json=row[4], text=row[5],
                       embedding=blob_to_matrix(bytes(blob), row[10]) if with_vectors and blob is not None else None,
                       created_at=row[6], updated_at=row[7], ttl_seconds=row[8], expires_at=row[9])

    def write_items(self, writes: Sequence[ItemWrite], now: float) -> None:
        """Upserts and deletes in one transaction, under the row locks of the scopes written to (a
        concurrent ``delete_user`` either runs first, and the write fails, or waits for it)."""
        if not writes:
            return
        for w in writes:
            _require_no_nul(w.namespace, w.key)
        with self._write() as conn:
            scopes = sorted({w.scope_id for w in writes if w.value is not None})
            if scopes:
                locked = conn.execute("SELECT id FROM scopes WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE",
                                      (scopes,)).fetchall()
                if len(locked) != len(scopes):
                    raise StoreError(_DELETED)
            for w in writes:
                if w.value is None:
                    conn.execute("DELETE FROM items WHERE scope_id = %s AND namespace = %s AND key = %s",
                                 (w.scope_id, w.namespace, w.key))
                    continue
                rows = 0 if w.embedding is None else int(w.embedding.shape[0])
                conn.execute(
                    "INSERT INTO items (scope_id, namespace, key, value, text, embedding, vec_rows, created_at, updated_at,"
                    " ttl_seconds, expires_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                    " ON CONFLICT (scope_id, namespace, key) DO UPDATE SET value = excluded.value, text = excluded.text,"
                    " embedding = excluded.embedding, vec_rows = excluded.vec_rows, updated_at = excluded.updated_at,"
                    " ttl_seconds = excluded.ttl_seconds, expires_at = excluded.expires_at",
                    (w.scope_id, w.namespace, w.key, json.dumps(w.value, ensure_ascii=False), _clean(w.text) or "",
                     matrix_to_blob(w.embedding), rows, now, now, w.ttl_seconds, w.expires_at))

    def get_item(self, scope_id: int, namespace: str, key: str, now: float) -> ItemRow | None:
        row = self._fetchone(
            f"SELECT {self._ITEM_COLS}, NULL FROM items WHERE scope_id = %s AND namespace = %s AND key = %s"
            " AND (expires_at IS NULL OR expires_at > %s)", (scope_id, namespace, key, now))
        return self._item(row, False) if row else None

    @staticmethod
    def _item_where(prefix: str, now: float, scope_id: int | None) -> tuple[str, list[Any]]:
        where = "(expires_at IS NULL OR expires_at > %s)"
        params: list[Any] = [now]
        if prefix:
            low, high = namespace_bounds(prefix)
            where += " AND (namespace = %s OR (namespace >= %s AND namespace < %s))"
            params += [prefix, low, high]
        if scope_id is not None:
            where += " AND scope_id = %s"
            params.append(scope_id)
        return where, params

    def item_candidates(self, prefix: str, now: float, *, scope_id: int | None = None,
                        with_vectors: bool = False) -> list[ItemRow]:
        where, params = self._item_where(prefix, now, scope_id)
        vectors = "embedding" if with_vectors else "NULL"
        rows = self._fetchall(f"SELECT {self._ITEM_COLS}, {vectors} FROM items WHERE {where}", params)
        return in_listing_order([self._item(r, with_vectors) for r in rows])

    def item_page(self, prefix: str, now: float, *, limit: int, offset: int = 0,
                  scope_id: int | None = None) -> list[ItemRow]:
        where, params = self._item_where(prefix, now, scope_id)
        out: list[ItemRow] = []
        with self._read() as conn:
            stats = conn.execute(f"SELECT namespace, MIN(rid), COUNT(*) FROM items WHERE {where} GROUP BY namespace",
                                 params).fetchall()
            for namespace, take, skip in page_plan(stats, limit, offset):
                rows = conn.execute(f"SELECT {self._ITEM_COLS}, NULL FROM items WHERE {where} AND namespace = %s"
                                    " ORDER BY rid LIMIT %s OFFSET %s", (*params, namespace, take, skip)).fetchall()
                out += [self._item(r, False) for r in rows]
        return out

    def item_namespaces(self, prefix: str, now: float, *, scope_id: int | None = None) -> list[str]:
        where, params = self._item_where(prefix, now, scope_id)
        return [r[0] for r in self._fetchall(f"SELECT DISTINCT namespace FROM items WHERE {where}", params)]

    def refresh_item_expiry(self, updates: Sequence[tuple[int, float]]) -> None:
        if not updates:
            return
        self._autocommit(lambda conn: conn.execute(
            "UPDATE items i SET expires_at = u.expires_at FROM unnest(%s::bigint[], %s::float8[]) AS u(rid, expires_at)"
            " WHERE i.rid = u.rid AND i.expires_at IS NOT NULL",
            ([rid for rid, _ in updates], [expires for _, expires in updates])))

    def purge_expired_items(self, now: float) -> int:
        return int(self._autocommit(lambda conn: conn.execute(
            "DELETE FROM items WHERE expires_at <= %s", (now,)).rowcount))

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore", "is_dsn", "redact_dsn"]
