"""SQLite backend: one database file, WAL, explicit transactions, plain SQL.

Every public method is one transaction. Writers take the lock up front (``BEGIN IMMEDIATE``)
so concurrent processes queue on the busy timeout instead of failing with "database is locked".
Each thread gets its own connection.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import NotFoundError, StoreError
from ..policy import ExactValue, FactAge, Policy, SegmentHeat
from ..types import Fact, HistoryEntry, Page, Profile, Segment
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

_SCHEMA = Path(__file__).with_name("schema_sqlite.sql")

#: Migration 3: items, the documents of the LangGraph store (``memoryos_core.items``). One row per
#: (scope, namespace path, key); ``embedding`` holds ``vec_rows`` float32 vectors (one per indexed
#: text); ``text`` is what BM25 reads; ``expires_at`` (epoch seconds) is NULL without a TTL.
_ITEMS_V3 = (
    """CREATE TABLE IF NOT EXISTS items (
        rid         INTEGER PRIMARY KEY,
        scope_id    INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
        namespace   TEXT NOT NULL,
        key         TEXT NOT NULL,
        value       TEXT NOT NULL,
        text        TEXT NOT NULL DEFAULT '',
        embedding   BLOB,
        vec_rows    INTEGER NOT NULL DEFAULT 0,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL,
        ttl_seconds REAL,
        expires_at  REAL,
        UNIQUE (scope_id, namespace, key)
    )""",
    "CREATE INDEX IF NOT EXISTS items_namespace ON items(namespace, rid, expires_at)",
    "CREATE INDEX IF NOT EXISTS items_expiry ON items(expires_at) WHERE expires_at IS NOT NULL",
)
DB_FILENAME = "memoryos.db"

#: The schema's history, oldest first. Add a step (never edit an applied one) to change the schema;
#: each runs in the transaction that records it in ``schema_migrations``.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", lambda: split_sql(_SCHEMA.read_text())),
    # Stores created before these joined schema_sqlite.sql: add the indexes, and recount fresh_pages,
    # which now means "unanalysed pages of the segment" (it used to be reset to 0 by any analysis).
    Migration(2, "pages_scope_seq and segments_fresh indexes; fresh_pages recounted", lambda: [
        "CREATE INDEX IF NOT EXISTS pages_scope_seq ON pages(scope_id, seq)",
        "CREATE INDEX IF NOT EXISTS segments_fresh ON segments(scope_id) WHERE fresh_pages > 0",
        "UPDATE segments SET fresh_pages = (SELECT COUNT(*) FROM pages p WHERE p.segment_rid = segments.rid"
        " AND p.analyzed = 0)",
    ]),
    Migration(3, "items: key-value documents under namespaces (the LangGraph store)", lambda: _ITEMS_V3),
)
SCHEMA_VERSION = MIGRATIONS[-1].version

_PAGE_COLS = "rid, id, seq, user_input, agent_response, ts, created_at, meta, tier, segment_rid, analyzed, tokens"
_SEG_COLS = (
    "rid, id, summary, keywords, summary_source, vec_sum, page_count, fresh_pages, visits, last_active, archived"
)
# "+scope_id" in a WHERE with "rid IN (...)" keeps SQLite from scanning a scope index instead of
# looking the row ids up (the scope check still applies, row by row).
_FACT_COLS = "rid, id, kind, text, slot, refers_to, source, source_pages, embedding, active, created_at, updated_at"


_statements = split_sql  # kept for callers of the old private name


class SQLiteStore:
    """The embedded default store. ``path`` is a folder (the file is ``memoryos.db``) or a ``.db`` file."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 30_000) -> None:
        path = Path(path)
        if path.suffix in (".db", ".sqlite", ".sqlite3"):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path = path
        else:
            path.mkdir(parents=True, exist_ok=True)
            self.path = path / DB_FILENAME
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._closed = False
        self._migrate()

    # -- connections and transactions -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        conn = getattr(self._local, "conn", None)
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

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
            for step in pending_migrations(current, MIGRATIONS, str(self.path)):
                for statement in step.statements():
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (step.version, time.time()))

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

    # -- scopes -----------------------------------------------------------------------------

    def scope(self, user_id: str, assistant_id: str, *, create: bool = True) -> int | None:
        conn = self._conn()
        row = conn.execute("SELECT id FROM scopes WHERE user_id = ? AND assistant_id = ?", (user_id, assistant_id)).fetchone()
        if row or not create:
            return row[0] if row else None
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO scopes (user_id, assistant_id) VALUES (?, ?)", (user_id, assistant_id))
            return conn.execute(
                "SELECT id FROM scopes WHERE user_id = ? AND assistant_id = ?", (user_id, assistant_id)
            ).fetchone()[0]

    def scope_state(self, scope_id: int) -> ScopeState:
        row = self._conn().execute(  # user_id '' marks the tombstone of a deleted user
            "SELECT clock, vec_counter, vector_epoch FROM scopes WHERE id = ? AND user_id != ''", (scope_id,)
        ).fetchone()
        if row is None:
            raise StoreError("this user's memory was deleted; open it again to start afresh")
        return ScopeState(scope_id, row[0], row[1], row[2])

    @staticmethod
    def _next_vec_seq(conn: sqlite3.Connection, scope_id: int, count: int = 1) -> int:
        """Reserve ``count`` vector sequence numbers; returns the first."""
        row = conn.execute(
            "UPDATE scopes SET vec_counter = vec_counter + ? WHERE id = ? RETURNING vec_counter", (count, scope_id)
        ).fetchone()
        return row[0] - count + 1

    @staticmethod
    def _bump_epoch(conn: sqlite3.Connection, scope_id: int) -> None:
        conn.execute("UPDATE scopes SET vector_epoch = vector_epoch + 1 WHERE id = ?", (scope_id,))

    @staticmethod
    def _history(conn: sqlite3.Connection, scope_id: int, kind: str, target: str, event: str,
                 old: str | None, new: str | None, at: float | None = None) -> None:
        conn.execute(
            "INSERT INTO history (scope_id, target_kind, target_id, event, old_value, new_value, at) VALUES (?,?,?,?,?,?,?)",
            (scope_id, kind, target, event, old, new, at or time.time()),
        )

    # -- pages ------------------------------------------------------------------------------

    @staticmethod
    def _page(row: Sequence[Any], segment_ids: dict[int, str] | None = None, seg_id: str | None = None) -> Page:
        return Page(
            id=row[1], seq=row[2], user_input=row[3], agent_response=row[4], timestamp=row[5], created_at=row[6],
            meta=json.loads(row[7]), tier=row[8], segment_id=seg_id, analyzed=bool(row[10]),
        )

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
        page_id = new_id("pg")
        now = time.time()
        with self._write() as conn:
            seq = conn.execute(
                "UPDATE scopes SET next_seq = next_seq + 1, clock = MAX(clock, ?) WHERE id = ? AND user_id != ''"
                " RETURNING next_seq",
                (timestamp, scope_id),
            ).fetchone()
            if seq is None:
                raise StoreError("this user's memory was deleted; open it again to start afresh")
            vec_seq = self._next_vec_seq(conn, scope_id) if embedding is not None else None
            conn.execute(
                "INSERT INTO pages (id, scope_id, seq, user_input, agent_response, ts, created_at, meta, tokens, embedding, vec_seq)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (page_id, scope_id, seq[0], user_input, agent_response, timestamp, now,
                 json.dumps(meta, ensure_ascii=False), tokens,
                 vec_to_blob(embedding) if embedding is not None else None, vec_seq),
            )
            enqueued = self._maybe_enqueue_consolidation(conn, scope_id, consolidate_at)
        page = Page(id=page_id, user_input=user_input, agent_response=agent_response, timestamp=timestamp,
                    tier="short", segment_id=None, meta=meta, created_at=now, seq=seq[0])
        return page, enqueued

    def _maybe_enqueue_consolidation(self, conn: sqlite3.Connection, scope_id: int, consolidate_at: int) -> bool:
        count = conn.execute(
            "SELECT COUNT(*) FROM pages WHERE scope_id = ? AND tier = 'short'", (scope_id,)
        ).fetchone()[0]
        if count >= consolidate_at:
            return self._enqueue(conn, scope_id, "consolidate")
        return False

    def unembedded_pages(self, scope_id: int, limit: int) -> list[tuple[int, str]]:
        rows = self._conn().execute(
            "SELECT rid, user_input, agent_response FROM pages WHERE scope_id = ? AND embedding IS NULL ORDER BY rid LIMIT ?",
            (scope_id, limit),
        ).fetchall()
        from ..types import render_page_text

        return [(r[0], render_page_text(r[1], r[2])) for r in rows]

    def set_page_embeddings(self, scope_id: int, items: Sequence[tuple[int, np.ndarray]]) -> None:
        if not items:
            return
        with self._write() as conn:
            first = self._next_vec_seq(conn, scope_id, len(items))
            conn.executemany(
                "UPDATE pages SET embedding = ?, vec_seq = ? WHERE rid = ? AND scope_id = ? AND embedding IS NULL",
                [(vec_to_blob(v), first + i, rid, scope_id) for i, (rid, v) in enumerate(items)],
            )

    def _segment_ids(self, conn: sqlite3.Connection, maybe_rids: set[int | None]) -> dict[int, str]:
        rids = {rid for rid in maybe_rids if rid is not None}
        if not rids:
            return {}
        marks = ",".join("?" * len(rids))
        return dict(conn.execute(f"SELECT rid, id FROM segments WHERE rid IN ({marks})", tuple(rids)).fetchall())

    def _page_rows(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any], with_vec: bool = False) -> list[PageRow]:
        cols = _PAGE_COLS + (", embedding" if with_vec else "")
        rows = conn.execute(sql.format(cols=cols), params).fetchall()
        seg_ids = self._segment_ids(conn, {r[9] for r in rows})
        return [
            PageRow(rid=r[0], page=self._page(r, seg_id=seg_ids.get(r[9])), segment_rid=r[9], tokens=r[11],
                    embedding=blob_to_vec(r[12]) if with_vec else None)
            for r in rows
        ]

    def pages_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[PageRow]:
        if not rids:
            return []
        marks = ",".join("?" * len(rids))
        with self._read() as conn:
            return self._page_rows(conn, f"SELECT {{cols}} FROM pages WHERE +scope_id = ? AND rid IN ({marks})",
                                   (scope_id, *rids))

    def pages_of_segments(self, scope_id: int, segment_rids: Sequence[int]) -> list[PageRow]:
        if not segment_rids:
            return []
        marks = ",".join("?" * len(segment_rids))
        with self._read() as conn:
            return self._page_rows(
                conn, f"SELECT {{cols}} FROM pages WHERE scope_id = ? AND segment_rid IN ({marks}) AND embedding IS NOT NULL",
                (scope_id, *segment_rids), with_vec=True)

    def short_term(self, scope_id: int, limit: int) -> list[PageRow]:
        """The newest ``limit`` pages, oldest first."""
        with self._read() as conn:
            rows = self._page_rows(
                conn, "SELECT {cols} FROM pages WHERE scope_id = ? ORDER BY seq DESC LIMIT ?", (scope_id, limit))
        return list(reversed(rows))

    def overflow_pages(self, scope_id: int, keep: int, limit: int) -> list[PageRow]:
        """Short-tier pages older than the newest ``keep`` of the scope, oldest first."""
        with self._read() as conn:
            cutoff = conn.execute(
                "SELECT seq FROM pages WHERE scope_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?", (scope_id, keep - 1)
            ).fetchone()
            if cutoff is None:
                return []
            return self._page_rows(
                conn, "SELECT {cols} FROM pages WHERE scope_id = ? AND tier = 'short' AND seq < ? ORDER BY seq LIMIT ?",
                (scope_id, cutoff[0], limit), with_vec=True)

    def get_page(self, scope_id: int, page_id: str) -> PageRow:
        with self._read() as conn:
            rows = self._page_rows(conn, "SELECT {cols} FROM pages WHERE scope_id = ? AND id = ?", (scope_id, page_id),
                                   with_vec=True)
        if not rows:
            raise NotFoundError(f"no memory with id {page_id!r} for this user")
        return rows[0]

    def list_pages(self, scope_id: int, *, tier: str | None, limit: int, offset: int) -> list[Page]:
        where: str = "scope_id = ?"
        params: list[Any] = [scope_id]
        if tier:
            where += " AND tier = ?"
            params.append(tier)
        with self._read() as conn:
            rows = self._page_rows(conn, f"SELECT {{cols}} FROM pages WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
                                   (*params, limit, offset))
        return [r.page for r in rows]

    @staticmethod
    def _locate_page(conn: sqlite3.Connection, scope_id: int, page_id: str) -> tuple[Any, ...]:
        """(rid, user_input, agent_response, embedding, segment_rid) of a page of this scope."""
        row = conn.execute(
            "SELECT rid, user_input, agent_response, embedding, segment_rid FROM pages WHERE scope_id = ? AND id = ?",
            (scope_id, page_id)).fetchone()
        if row is None:
            raise NotFoundError(f"no memory with id {page_id!r} for this user")
        return row

    def update_page(self, scope_id: int, page_id: str, *, user_input: str, agent_response: str, tokens: int,
                    embedding: np.ndarray, only_if_unanswered: bool = False) -> Page:
        """Rewrite a page and its vector (and its segment's share); ``only_if_unanswered`` makes it
        an atomic completion of a one-sided page (ConflictError if it already has a response)."""
        with self._write() as conn:
            rid, old_in, old_out, old_blob, seg_rid = self._locate_page(conn, scope_id, page_id)
            if only_if_unanswered and old_out:
                raise ConflictError("the page already has a response")
            conn.execute(
                "UPDATE pages SET user_input = ?, agent_response = ?, tokens = ?, embedding = ?, vec_seq = ?, analyzed = 0"
                " WHERE rid = ?",
                (user_input, agent_response, tokens, vec_to_blob(embedding), self._next_vec_seq(conn, scope_id), rid))
            if seg_rid is not None:
                old_vec = blob_to_vec(old_blob)
                self._shift_segment(conn, scope_id, seg_rid, embedding - (old_vec if old_vec is not None else 0), 0)
            self._bump_epoch(conn, scope_id)
            self._history(conn, scope_id, "page", page_id, "COMPLETE" if only_if_unanswered else "UPDATE",
                          json.dumps({"user_input": old_in, "agent_response": old_out}, ensure_ascii=False),
                          json.dumps({"user_input": user_input, "agent_response": agent_response}, ensure_ascii=False))
        return self.get_page(scope_id, page_id).page

    def _shift_segment(self, conn: sqlite3.Connection, scope_id: int, seg_rid: int, delta: np.ndarray | float,
                       count_delta: int) -> None:
        row = conn.execute("SELECT vec_sum, page_count FROM segments WHERE rid = ?", (seg_rid,)).fetchone()
        if row is None:
            return
        if row[1] + count_delta <= 0:
            conn.execute("DELETE FROM segments WHERE rid = ?", (seg_rid,))
            return
        vec_sum = blob_to_vec(row[0]) + delta
        conn.execute(  # fresh_pages stays the count of unanalysed pages (an edited page is re-analysed)
            "UPDATE segments SET vec_sum = ?, page_count = page_count + ?, vec_seq = ?, updated_at = ?,"
            " fresh_pages = (SELECT COUNT(*) FROM pages p WHERE p.segment_rid = ? AND p.analyzed = 0) WHERE rid = ?",
            (vec_to_blob(vec_sum), count_delta, self._next_vec_seq(conn, scope_id), time.time(), seg_rid, seg_rid),
        )

    def delete_page(self, scope_id: int, page_id: str) -> None:
        """Delete a page, its vector, its share of its segment, and facts drawn only from it."""
        with self._write() as conn:
            rid, old_in, old_out, blob, seg_rid = self._locate_page(conn, scope_id, page_id)
            conn.execute("DELETE FROM pages WHERE rid = ?", (rid,))
            if seg_rid is not None:
                vec = blob_to_vec(blob)
                self._shift_segment(conn, scope_id, seg_rid, -vec if vec is not None else 0, -1)
            for fact_rid, fact_id, text, sources in conn.execute(
                "SELECT rid, id, text, source_pages FROM facts WHERE scope_id = ? AND active = 1 AND source_pages LIKE ?",
                (scope_id, f"%{page_id}%"),
            ).fetchall():
                remaining = [p for p in json.loads(sources) if p != page_id]
                alive = remaining and conn.execute(
                    f"SELECT COUNT(*) FROM pages WHERE id IN ({','.join('?' * len(remaining))})", remaining
                ).fetchone()[0]
                if not alive:
                    conn.execute("DELETE FROM facts WHERE rid = ?", (fact_rid,))
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
            gone_facts: list[str] = list(fact_ids)
            for page_id in page_ids:
                row = conn.execute("SELECT rid, embedding, segment_rid FROM pages WHERE scope_id = ? AND id = ?",
                                   (scope_id, page_id)).fetchone()
                if row is None:
                    continue
                conn.execute("DELETE FROM pages WHERE rid = ?", (row[0],))
                if row[2] is not None:
                    vec = blob_to_vec(row[1])
                    self._shift_segment(conn, scope_id, row[2], -vec if vec is not None else 0, -1)
                for fact_id, sources in conn.execute("SELECT id, source_pages FROM facts WHERE scope_id = ? AND"
                                                     " source_pages LIKE ?", (scope_id, f"%{page_id}%")).fetchall():
                    remaining = [p for p in json.loads(sources) if p != page_id]
                    alive = remaining and conn.execute(
                        f"SELECT COUNT(*) FROM pages WHERE id IN ({','.join('?' * len(remaining))})", remaining
                    ).fetchone()[0]
                    if not alive:
                        gone_facts.append(fact_id)
            texts: list[str] = []
            for fact_id in dict.fromkeys(gone_facts):
                row = conn.execute("SELECT text FROM facts WHERE scope_id = ? AND id = ?", (scope_id, fact_id)).fetchone()
                if row is not None:
                    texts.append(row[0])
                    conn.execute("DELETE FROM facts WHERE scope_id = ? AND id = ?", (scope_id, fact_id))
            targets = list(page_ids) + list(dict.fromkeys(gone_facts)) + list(profile_changes)
            for chunk in range(0, len(targets), 500):
                part = targets[chunk:chunk + 500]
                conn.execute(f"UPDATE history SET old_value = NULL, new_value = NULL WHERE scope_id = ? AND target_id IN"
                             f" ({','.join('?' * len(part))})", (scope_id, *part))
            for text in texts:  # a superseding fact's text also sits on the row of the fact it replaced
                conn.execute("UPDATE history SET new_value = NULL WHERE scope_id = ? AND new_value = ?", (scope_id, text))
            if profile_changes:
                row = conn.execute("SELECT fields FROM profiles WHERE scope_id = ?", (scope_id,)).fetchone()
                fields = json.loads(row[0]) if row else {}
                for key, value in profile_changes.items():
                    value = value.value if isinstance(value, ExactValue) else value
                    if value in (None, "", []):
                        fields.pop(key, None)
                    else:
                        fields[key] = value
                conn.execute("UPDATE profiles SET fields = ?, updated_at = ? WHERE scope_id = ?",
                             (json.dumps(fields, ensure_ascii=False), now, scope_id))
            for seg_id, summary, keywords in segments:
                conn.execute("UPDATE segments SET summary = ?, keywords = ?, updated_at = ? WHERE scope_id = ? AND id = ?",
                             (summary, json.dumps(keywords, ensure_ascii=False), now, scope_id, seg_id))
            self._bump_epoch(conn, scope_id)
            self._history(conn, scope_id, "memory", "forget", "FORGET", None, note, now)


    # -- segments ---------------------------------------------------------------------------

    def _segment(self, row: Sequence[Any], heat: HeatParams | None, clock: float) -> SegmentRow:
        rid, sid, summary, keywords, source, vec_sum, count, fresh, visits, last_active, archived = row
        value = heat.heat(visits, fresh, last_active, clock) if heat else 0.0
        segment = Segment(id=sid, summary=summary, keywords=json.loads(keywords), page_count=count, visits=visits,
                          fresh_pages=fresh, last_active=last_active, heat=value, archived=bool(archived),
                          summary_source=source)
        return SegmentRow(rid=rid, segment=segment, vec_sum=blob_to_vec(vec_sum))

    def segments_by_rids(self, scope_id: int, rids: Sequence[int], heat: HeatParams | None = None) -> list[SegmentRow]:
        if not rids:
            return []
        marks = ",".join("?" * len(rids))
        with self._read() as conn:
            clock = self.scope_state(scope_id).clock
            rows = conn.execute(f"SELECT {_SEG_COLS} FROM segments WHERE +scope_id = ? AND rid IN ({marks})",
                                (scope_id, *rids)).fetchall()
        return [self._segment(r, heat, clock) for r in rows]

    def list_segments(self, scope_id: int, heat: HeatParams, *, include_archived: bool = False) -> list[SegmentRow]:
        where = "" if include_archived else " AND archived = 0"
        with self._read() as conn:
            clock = self.scope_state(scope_id).clock
            rows = conn.execute(f"SELECT {_SEG_COLS} FROM segments WHERE scope_id = ?{where} ORDER BY rid",
                                (scope_id,)).fetchall()
        return [self._segment(r, heat, clock) for r in rows]

    def apply_consolidation(self, scope_id: int, job: Job, owner: str, writes: Sequence[SegmentWrite],
                            policy: Policy) -> list[str]:
        """Move pages into segments in one transaction; returns ids of segments created."""
        created: list[str] = []
        now = time.time()
        with self._write() as conn:
            self._check_lease(conn, job, owner)
            all_rids = [rid for w in writes for rid in w.page_rids]
            if len(all_rids) != len(set(all_rids)):
                raise ValueError("a page was assigned to two segments")
            if all_rids:
                marks = ",".join("?" * len(all_rids))
                movable = conn.execute(
                    f"SELECT COUNT(*) FROM pages WHERE +scope_id = ? AND tier = 'short' AND segment_rid IS NULL AND rid IN ({marks})",
                    (scope_id, *all_rids),
                ).fetchone()[0]
                if movable != len(all_rids):
                    raise ConflictError("pages were consolidated or deleted meanwhile")
            for w in writes:
                if not w.page_rids:
                    continue
                vec_seq = self._next_vec_seq(conn, scope_id)
                if w.rid is None:
                    w.id = w.id or new_id("sg")
                    w.rid = conn.execute(
                        "INSERT INTO segments (id, scope_id, summary, keywords, summary_source, vec_sum, vec_seq, page_count,"
                        " fresh_pages, last_active, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING rid",
                        (w.id, scope_id, w.summary, json.dumps(w.keywords, ensure_ascii=False), w.summary_source,
                         vec_to_blob(w.added_vec_sum), vec_seq, len(w.page_rids), len(w.page_rids), w.last_active, now, now),
                    ).fetchone()[0]
                    created.append(w.id)
                else:
                    row = conn.execute("SELECT vec_sum FROM segments WHERE rid = ? AND scope_id = ? AND archived = 0",
                                       (w.rid, scope_id)).fetchone()
                    if row is None:
                        raise ConflictError("a segment was archived or deleted meanwhile")
                    conn.execute(
                        "UPDATE segments SET summary = ?, keywords = ?, summary_source = ?, vec_sum = ?, vec_seq = ?,"
                        " page_count = page_count + ?, fresh_pages = fresh_pages + ?, last_active = MAX(last_active, ?),"
                        " updated_at = ? WHERE rid = ?",
                        (w.summary, json.dumps(w.keywords, ensure_ascii=False), w.summary_source,
                         vec_to_blob(blob_to_vec(row[0]) + w.added_vec_sum), vec_seq, len(w.page_rids), len(w.page_rids),
                         w.last_active, now, w.rid),
                    )
                marks = ",".join("?" * len(w.page_rids))
                conn.execute(f"UPDATE pages SET tier = 'mid', segment_rid = ? WHERE rid IN ({marks})", (w.rid, *w.page_rids))
            self._finish_job(conn, job)
            self._after_segment_change(conn, scope_id, policy, [w.rid for w in writes if w.rid is not None])
            self._maybe_enqueue_consolidation(conn, scope_id, policy.consolidate_at)
        return created

    @staticmethod
    def _segment_heat(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[SegmentHeat]:
        return [SegmentHeat(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in conn.execute(
            f"SELECT rid, id, visits, fresh_pages, last_active, archived FROM segments WHERE {where}", params)]

    def _after_segment_change(self, conn: sqlite3.Connection, scope_id: int, policy: Policy,
                              touched: Sequence[int]) -> None:
        """Ask the policy: queue persona analysis if a touched segment got hot; archive the coldest beyond capacity."""
        clock = conn.execute("SELECT clock FROM scopes WHERE id = ?", (scope_id,)).fetchone()[0]
        if touched:
            marks = ",".join("?" * len(touched))
            if policy.heat.any_hot(self._segment_heat(conn, f"rid IN ({marks})", tuple(touched)), clock):
                self._enqueue(conn, scope_id, "persona")
        live = conn.execute("SELECT COUNT(*) FROM segments WHERE scope_id = ? AND archived = 0", (scope_id,)).fetchone()[0]
        if not policy.archive_count(live):
            return
        coldest = policy.to_archive(self._segment_heat(conn, "scope_id = ? AND archived = 0", (scope_id,)), clock)
        for seg in coldest:
            conn.execute("UPDATE segments SET archived = 1 WHERE rid = ?", (seg.rid,))
            conn.execute("UPDATE pages SET tier = 'archived' WHERE segment_rid = ?", (seg.rid,))
            self._history(conn, scope_id, "segment", seg.id, "ARCHIVE", None, None)
        self._bump_epoch(conn, scope_id)
        if policy.distil_before_archiving(coldest):
            self._enqueue(conn, scope_id, "persona")

    def record_visits(self, scope_id: int, segment_rids: Sequence[int], heat: HeatParams) -> None:
        """Heat up retrieved segments (N_visit) at the conversation's current time."""
        if not segment_rids:
            return
        marks = ",".join("?" * len(segment_rids))
        with self._write() as conn:
            conn.execute(
                f"UPDATE segments SET visits = visits + 1, last_active = (SELECT clock FROM scopes WHERE id = ?)"
                f" WHERE +scope_id = ? AND rid IN ({marks})",
                (scope_id, scope_id, *segment_rids),
            )
            clock = conn.execute("SELECT clock FROM scopes WHERE id = ?", (scope_id,)).fetchone()[0]
            if heat.any_hot(self._segment_heat(conn, f"rid IN ({marks})", tuple(segment_rids)), clock):
                self._enqueue(conn, scope_id, "persona")

    # -- persona ----------------------------------------------------------------------------

    def _persona_segments(self, conn: sqlite3.Connection, scope_id: int, heat: HeatParams) -> list[int]:
        """Segments with unanalysed pages that are hot, or archived (distilled before they go)."""
        clock = conn.execute("SELECT clock FROM scopes WHERE id = ?", (scope_id,)).fetchone()[0]
        return heat.for_persona(self._segment_heat(conn, "scope_id = ? AND fresh_pages > 0", (scope_id,)), clock)

    def persona_batch(self, scope_id: int, heat: HeatParams, limit: int, *, quiet: bool = False) -> list[PageRow]:
        """Unanalysed pages of hot segments (and of archived ones), oldest first; with ``quiet``, the
        batch is topped up with unanalysed pages of the other segments (heat orders, never excludes)."""
        with self._read() as conn:
            chosen = self._persona_segments(conn, scope_id, heat)
            rows: list[PageRow] = []
            if chosen:
                marks = ",".join("?" * len(chosen))
                rows = self._page_rows(
                    conn, f"SELECT {{cols}} FROM pages WHERE segment_rid IN ({marks}) AND analyzed = 0 ORDER BY seq LIMIT ?",
                    (*chosen, limit))
            if quiet and len(rows) < limit:
                taken = [r.rid for r in rows] or [0]
                marks = ",".join("?" * len(taken))
                rows += self._page_rows(
                    conn, f"SELECT {{cols}} FROM pages WHERE scope_id = ? AND segment_rid IS NOT NULL AND analyzed = 0"
                    f" AND rid NOT IN ({marks}) ORDER BY seq LIMIT ?", (scope_id, *taken, limit - len(rows)))
            return rows

    def facts(self, scope_id: int, kind: str | None = None, *, active_only: bool = True) -> list[FactRow]:
        where: str = "scope_id = ?"
        params: list[Any] = [scope_id]
        if kind:
            where += " AND kind = ?"
            params.append(kind)
        if active_only:
            where += " AND active = 1"
        rows = self._conn().execute(f"SELECT {_FACT_COLS} FROM facts WHERE {where} ORDER BY rid", params).fetchall()
        return [self._fact(r) for r in rows]

    def facts_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[FactRow]:
        if not rids:
            return []
        marks = ",".join("?" * len(rids))
        rows = self._conn().execute(
            f"SELECT {_FACT_COLS} FROM facts WHERE +scope_id = ? AND active = 1 AND rid IN ({marks})", (scope_id, *rids)
        ).fetchall()
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
        with self._write() as conn:
            self._check_lease(conn, job, owner)
            if page_rids:
                marks = ",".join("?" * len(page_rids))
                pending = conn.execute(
                    f"SELECT COUNT(*) FROM pages WHERE +scope_id = ? AND analyzed = 0 AND rid IN ({marks})",
                    (scope_id, *page_rids)).fetchone()[0]
                if pending != len(page_rids):
                    raise ConflictError("pages were analysed or deleted meanwhile")
            retired = self._apply_fact_writes(conn, scope_id, fact_writes, now)
            for kind in ("user", "assistant"):
                active = [FactAge(*r) for r in conn.execute(
                    "SELECT rid, id, text, updated_at FROM facts WHERE scope_id = ? AND kind = ? AND active = 1",
                    (scope_id, kind))]
                for fact in policy.to_evict(active):
                    conn.execute("UPDATE facts SET active = 0, updated_at = ? WHERE rid = ?", (now, fact.rid))
                    self._history(conn, scope_id, "fact", fact.id, "EVICT", fact.text, None)
                    retired = True
            if profile_changes:
                self._merge_profile(conn, scope_id, profile_changes, now, policy)
            if page_rids:
                marks = ",".join("?" * len(page_rids))
                conn.execute(f"UPDATE pages SET analyzed = 1 WHERE rid IN ({marks})", tuple(page_rids))
                conn.execute(
                    "UPDATE segments SET visits = 0, fresh_pages = (SELECT COUNT(*) FROM pages p WHERE"
                    " p.segment_rid = segments.rid AND p.analyzed = 0) WHERE scope_id = ? AND rid IN"
                    f" (SELECT DISTINCT segment_rid FROM pages WHERE rid IN ({marks}))", (scope_id, *page_rids))
            if retired:
                self._bump_epoch(conn, scope_id)
            self._finish_job(conn, job)
            # More hot pages than one batch took: keep going.
            if self._persona_segments(conn, scope_id, policy.heat):
                self._enqueue(conn, scope_id, "persona")

    def _merge_profile(self, conn: sqlite3.Connection, scope_id: int, changes: dict[str, Any], now: float,
                       policy: Policy) -> None:
        row = conn.execute("SELECT fields FROM profiles WHERE scope_id = ?", (scope_id,)).fetchone()
        merged = policy.merge_profile(json.loads(row[0]) if row else {}, changes)
        for change in merged.changes:
            self._history(conn, scope_id, "profile", change.key, change.event,
                          None if change.old is None else json.dumps(change.old, ensure_ascii=False),
                          None if change.new is None else json.dumps(change.new, ensure_ascii=False))
        conn.execute(
            "INSERT INTO profiles (scope_id, fields, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(scope_id) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
            (scope_id, json.dumps(merged.fields, ensure_ascii=False), now))

    def profile(self, scope_id: int) -> Profile:
        row = self._conn().execute("SELECT fields, updated_at FROM profiles WHERE scope_id = ?", (scope_id,)).fetchone()
        return Profile(fields=json.loads(row[0]) if row else {}, updated_at=row[1] if row else None)

    def set_profile_fields(self, scope_id: int, changes: dict[str, Any], policy: Policy) -> Profile:
        with self._write() as conn:
            self._merge_profile(conn, scope_id, changes, time.time(), policy)
        return self.profile(scope_id)

    def get_fact(self, scope_id: int, fact_id: str) -> FactRow:
        row = self._conn().execute(f"SELECT {_FACT_COLS} FROM facts WHERE scope_id = ? AND id = ?",
                                   (scope_id, fact_id)).fetchone()
        if row is None:
            raise NotFoundError(f"no memory with id {fact_id!r} for this user")
        return self._fact(row)

    def write_facts(self, scope_id: int, writes: Sequence[FactWrite]) -> None:
        """Manual knowledge edits, outside any job."""
        with self._write() as conn:
            if self._apply_fact_writes(conn, scope_id, writes, time.time()):
                self._bump_epoch(conn, scope_id)

    def _apply_fact_writes(self, conn: sqlite3.Connection, scope_id: int, writes: Sequence[FactWrite], now: float) -> bool:
        """Apply add/update/retire/delete; returns True when a vector left the index."""
        removed = False
        for w in writes:
            if w.op == "add":
                fid = new_id("ft")
                conn.execute(
                    "INSERT INTO facts (id, scope_id, kind, text, slot, refers_to, source, source_pages, embedding,"
                    " vec_seq, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (fid, scope_id, w.kind, w.text, w.slot, w.refers_to, w.source, json.dumps(w.source_pages),
                     vec_to_blob(w.embedding), self._next_vec_seq(conn, scope_id), now, now))
                self._history(conn, scope_id, "fact", fid, w.event, None, w.text)
                continue
            row = conn.execute("SELECT id, text, source_pages FROM facts WHERE rid = ? AND scope_id = ? AND active = 1",
                               (w.rid, scope_id)).fetchone()
            if row is None:
                continue
            removed = True
            if w.op == "update":
                sources = sorted(set(json.loads(row[2])) | set(w.source_pages))
                conn.execute(
                    "UPDATE facts SET text = ?, slot = COALESCE(?, slot), refers_to = COALESCE(?, refers_to),"
                    " source = ?, source_pages = ?, embedding = ?, vec_seq = ?, updated_at = ? WHERE rid = ?",
                    (w.text, w.slot, w.refers_to, w.source, json.dumps(sources), vec_to_blob(w.embedding),
                     self._next_vec_seq(conn, scope_id), now, w.rid))
                self._history(conn, scope_id, "fact", row[0], w.event, row[1], w.text)
            elif w.op == "delete":
                conn.execute("DELETE FROM facts WHERE rid = ?", (w.rid,))
                self._history(conn, scope_id, "fact", row[0], w.event, row[1], None)
            else:
                conn.execute("UPDATE facts SET active = 0, updated_at = ? WHERE rid = ?", (now, w.rid))
                self._history(conn, scope_id, "fact", row[0], w.event, row[1], w.text or None)
        return removed

    # -- jobs -------------------------------------------------------------------------------

    @staticmethod
    def _enqueue(conn: sqlite3.Connection, scope_id: int, kind: str) -> bool:
        now = time.time()
        cur = conn.execute(
            "INSERT OR IGNORE INTO jobs (scope_id, kind, status, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)",
            (scope_id, kind, now, now))
        return cur.rowcount > 0

    def enqueue(self, scope_id: int, kind: JobKind) -> bool:
        with self._write() as conn:
            return self._enqueue(conn, scope_id, kind)

    def claim_job(self, scope_id: int, owner: str, lease_seconds: float,
                  owner_is_dead: Callable[[str], bool] | None = None) -> Job | None:
        """Take the next due job of the scope. A running job is taken over when its lease expired
        or ``owner_is_dead`` says its worker is gone (a crashed process on this machine)."""
        now = time.time()
        with self._write() as conn:
            if owner_is_dead is not None:
                for job_id, job_owner in conn.execute(
                    "SELECT id, owner FROM jobs WHERE scope_id = ? AND status = 'running' AND lease_until >= ?",
                    (scope_id, now)).fetchall():
                    if job_owner and owner_is_dead(job_owner):
                        conn.execute("UPDATE jobs SET lease_until = 0 WHERE id = ?", (job_id,))
            row = conn.execute(
                "SELECT id, kind, attempts FROM jobs WHERE scope_id = ? AND ((status = 'pending' AND not_before <= ?)"
                " OR (status = 'running' AND lease_until < ?)) ORDER BY kind = 'persona', id LIMIT 1",
                (scope_id, now, now)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE jobs SET status = 'running', owner = ?, lease_until = ?, updated_at = ? WHERE id = ?",
                         (owner, now + lease_seconds, now, row[0]))
        return Job(id=row[0], scope_id=scope_id, kind=row[1], attempts=row[2])

    @staticmethod
    def _check_lease(conn: sqlite3.Connection, job: Job, owner: str) -> None:
        if job.id == 0:
            return
        row = conn.execute("SELECT owner, status FROM jobs WHERE id = ?", (job.id,)).fetchone()
        if row is None or row[0] != owner or row[1] != "running":
            raise ConflictError("the job was taken over by another worker")

    @staticmethod
    def _finish_job(conn: sqlite3.Connection, job: Job) -> None:
        if job.id:
            conn.execute("DELETE FROM jobs WHERE id = ?", (job.id,))

    def finish_job(self, job: Job, owner: str) -> None:
        with self._write() as conn:
            self._check_lease(conn, job, owner)
            self._finish_job(conn, job)

    def release_job(self, job: Job, owner: str, error: str, retry_at: float, *, give_up: bool) -> None:
        """Record a failed attempt; the job becomes due again at ``retry_at`` (or is parked as failed)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, attempts = attempts + 1, not_before = ?, lease_until = NULL, owner = NULL,"
                " last_error = ?, updated_at = ? WHERE id = ? AND (owner = ? OR owner IS NULL)",
                ("failed" if give_up else "pending", retry_at, error[:2000], time.time(), job.id, owner))

    def open_jobs(self, scope_id: int) -> list[OpenJob]:
        rows = self._conn().execute(
            "SELECT id, kind, status, attempts, not_before, last_error FROM jobs WHERE scope_id = ? ORDER BY id",
            (scope_id,)).fetchall()
        return [OpenJob(id=r[0], kind=r[1], status=r[2], attempts=r[3], not_before=r[4], last_error=r[5]) for r in rows]

    def retry_failed_jobs(self, scope_id: int) -> int:
        """Make one failed job of each kind due again (one job of a kind covers all its work)."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE jobs SET status = 'pending', not_before = 0, attempts = 0 WHERE id IN"
                " (SELECT MAX(id) FROM jobs f WHERE f.scope_id = ? AND f.status = 'failed' AND NOT EXISTS"
                " (SELECT 1 FROM jobs j WHERE j.scope_id = f.scope_id AND j.kind = f.kind"
                " AND j.status IN ('pending', 'running')) GROUP BY f.kind)", (scope_id,)).rowcount

    # -- vectors ----------------------------------------------------------------------------

    @staticmethod
    def _vector_source(table: VectorTable) -> tuple[str, str]:
        """(vector column, FROM/WHERE clause) of the rows a table's index holds."""
        if table == "pages":
            return "embedding", "FROM pages WHERE scope_id = ? AND tier != 'archived' AND embedding IS NOT NULL"
        if table == "segments":
            return "vec_sum", "FROM segments WHERE scope_id = ? AND archived = 0"
        kind = "user" if table == "facts_user" else "assistant"
        return "embedding", f"FROM facts WHERE scope_id = ? AND active = 1 AND kind = '{kind}'"

    def vectors_since(self, scope_id: int, table: VectorTable, since_seq: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows whose vector was written after ``since_seq``: (rids, vectors, max seq)."""
        column, source = self._vector_source(table)
        rows = self._conn().execute(f"SELECT rid, {column}, vec_seq {source} AND vec_seq > ?",
                                    (scope_id, since_seq)).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), since_seq
        rids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1).copy()
        return rids, vectors, max(r[2] for r in rows)

    def live_vector_ids(self, scope_id: int, table: VectorTable) -> set[int]:
        """Row ids an index of ``table`` should hold now (after removals)."""
        _, source = self._vector_source(table)
        return {r[0] for r in self._conn().execute(f"SELECT rid {source}", (scope_id,))}

    def segment_members(self, scope_id: int, segment_rids: Sequence[int]) -> list[tuple[int, int]]:
        """(page rid, segment rid) of the pages of the given segments (an index-only read)."""
        if not segment_rids:
            return []
        marks = ",".join("?" * len(segment_rids))
        owned = [r[0] for r in self._conn().execute(
            f"SELECT rid FROM segments WHERE +scope_id = ? AND rid IN ({marks})", (scope_id, *segment_rids))]
        if not owned:
            return []
        marks = ",".join("?" * len(owned))
        return self._conn().execute(f"SELECT rid, segment_rid FROM pages WHERE segment_rid IN ({marks})", owned).fetchall()

    def segment_of(self, scope_id: int, page_rids: Sequence[int]) -> dict[int, int | None]:
        if not page_rids:
            return {}
        marks = ",".join("?" * len(page_rids))
        return dict(self._conn().execute(
            f"SELECT rid, segment_rid FROM pages WHERE +scope_id = ? AND rid IN ({marks})", (scope_id, *page_rids)).fetchall())

    # -- management -------------------------------------------------------------------------

    def history(self, scope_id: int, target_id: str | None = None, limit: int = 1000) -> list[HistoryEntry]:
        where: str = "scope_id = ?"
        params: list[Any] = [scope_id]
        if target_id:
            where += " AND target_id = ?"
            params.append(target_id)
        rows = self._conn().execute(
            f"SELECT id, target_kind, target_id, event, old_value, new_value, at FROM history WHERE {where}"
            " ORDER BY id LIMIT ?", (*params, limit)).fetchall()
        return [HistoryEntry(*r) for r in rows]

    def counts(self, scope_id: int) -> TierCounts:
        conn = self._conn()
        out: dict[str, int] = {"short_term": 0, "mid_term": 0, "archived": 0}  # filled below
        for tier, n in conn.execute("SELECT tier, COUNT(*) FROM pages WHERE scope_id = ? GROUP BY tier", (scope_id,)):
            out[{"short": "short_term", "mid": "mid_term", "archived": "archived"}[tier]] = n
        out["segments"] = conn.execute("SELECT COUNT(*) FROM segments WHERE scope_id = ? AND archived = 0",
                                       (scope_id,)).fetchone()[0]
        for kind in ("user", "assistant"):
            out[f"{kind}_knowledge"] = conn.execute(
                "SELECT COUNT(*) FROM facts WHERE scope_id = ? AND kind = ? AND active = 1", (scope_id, kind)).fetchone()[0]
        out["unembedded"] = conn.execute("SELECT COUNT(*) FROM pages WHERE scope_id = ? AND embedding IS NULL",
                                         (scope_id,)).fetchone()[0]
        out["pending_jobs"] = conn.execute("SELECT COUNT(*) FROM jobs WHERE scope_id = ? AND status != 'failed'",
                                           (scope_id,)).fetchone()[0]
        out["failed_jobs"] = conn.execute("SELECT COUNT(*) FROM jobs WHERE scope_id = ? AND status = 'failed'",
                                          (scope_id,)).fetchone()[0]
        return tier_counts(out)

    def delete_user(self, user_id: str) -> int:
        """Erase every row of every scope of ``user_id`` (pages, vectors, segments, facts, profile, history, jobs,
        items)."""
        with self._write() as conn:
            scope_ids = [r[0] for r in conn.execute("SELECT id FROM scopes WHERE user_id = ?", (user_id,))]
            for sid in scope_ids:
                for table in ("jobs", "history", "profiles", "facts", "pages", "segments", "items"):
                    conn.execute(f"DELETE FROM {table} WHERE scope_id = ?", (sid,))
                # The scope row stays as an anonymous tombstone: SQLite would hand a deleted row's id to
                # the next new user, and a process still holding this id must never write into them.
                conn.execute("UPDATE scopes SET user_id = '', assistant_id = 'deleted:' || id WHERE id = ?", (sid,))
        return len(scope_ids)

    def import_rows(self, scope_id: int, batch: ImportBatch, policy: Policy) -> ImportCounts:
        """Write a validated import in one transaction (see :mod:`.importer`), then enqueue the work
        the imported state calls for, as after any write."""
        with self._write() as conn:
            counts = apply_import(conn, scope_id, batch)
            if counts.pages:
                self._maybe_enqueue_consolidation(conn, scope_id, policy.consolidate_at)
                if self._persona_segments(conn, scope_id, policy.heat):
                    self._enqueue(conn, scope_id, "persona")
        return counts

    def export_rows(self, scope_id: int) -> ExportRows:
        with self._read() as conn:
            pages = self._page_rows(conn, "SELECT {cols} FROM pages WHERE scope_id = ? ORDER BY seq", (scope_id,))
            segs = conn.execute(f"SELECT {_SEG_COLS} FROM segments WHERE scope_id = ? ORDER BY rid", (scope_id,)).fetchall()
            facts = conn.execute(f"SELECT {_FACT_COLS} FROM facts WHERE scope_id = ? ORDER BY rid", (scope_id,)).fetchall()
        return {
            "pages": [r.page.to_dict() for r in pages],
            "segments": [self._segment(s, None, 0).segment.to_dict() for s in segs],
            "facts": [{**self._fact(f).fact.to_dict(), "active": bool(f[9])} for f in facts],
            "profile": self.profile(scope_id).to_dict(),
            "history": [h.to_dict() for h in self.history(scope_id, limit=1_000_000)],
        }

    # -- items ------------------------------------------------------------------------------

    @staticmethod
    def _item(row: Sequence[Any], with_vectors: bool) -> ItemRow:
        return ItemRow(rid=row[0], scope_id=row[1], namespace=row[2], key=row[3], value_json=row[4], text=row[5],
                       embedding=blob_to_matrix(row[11], row[10]) if with_vectors else None, created_at=row[6],
                       updated_at=row[7], ttl_seconds=row[8], expires_at=row[9])

    def write_items(self, writes: Sequence[ItemWrite], now: float) -> None:
        """Upserts and deletes in one transaction. An upsert keeps the row (its ``created_at`` and place)."""
        if not writes:
            return
        with self._write() as conn:
            scopes = sorted({w.scope_id for w in writes if w.value is not None})
            if scopes:
                marks = ",".join("?" * len(scopes))
                alive = conn.execute(f"SELECT COUNT(*) FROM scopes WHERE id IN ({marks}) AND user_id != ''",
                                     scopes).fetchone()[0]
                if alive != len(scopes):
                    raise StoreError("this user's memory was deleted; open it again to start afresh")
            for w in writes:
                if w.value is None:
                    conn.execute("DELETE FROM items WHERE scope_id = ? AND namespace = ? AND key = ?",
                                 (w.scope_id, w.namespace, w.key))
                    continue
                rows = 0 if w.embedding is None else int(w.embedding.shape[0])
                conn.execute(
                    "INSERT INTO items (scope_id, namespace, key, value, text, embedding, vec_rows, created_at, updated_at,"
                    " ttl_seconds, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (scope_id, namespace, key) DO UPDATE SET value = excluded.value, text = excluded.text,"
                    " embedding = excluded.embedding, vec_rows = excluded.vec_rows, updated_at = excluded.updated_at,"
                    " ttl_seconds = excluded.ttl_seconds, expires_at = excluded.expires_at",
                    (w.scope_id, w.namespace, w.key, json.dumps(w.value, ensure_ascii=False), w.text,
                     matrix_to_blob(w.embedding), rows, now, now, w.ttl_seconds, w.expires_at))

    _ITEM_COLS = "rid, scope_id, namespace, key, value, text, created_at, updated_at, ttl_seconds, expires_at, vec_rows"

    def get_item(self, scope_id: int, namespace: str, key: str, now: float) -> ItemRow | None:
        row = self._conn().execute(
            f"SELECT {self._ITEM_COLS}, NULL FROM items WHERE scope_id = ? AND namespace = ? AND key = ?"
            " AND (expires_at IS NULL OR expires_at > ?)", (scope_id, namespace, key, now)).fetchone()
        return self._item(row, False) if row else None

    @staticmethod
    def _item_where(prefix: str, now: float, scope_id: int | None) -> tuple[str, list[Any]]:
        where = "(expires_at IS NULL OR expires_at > ?)"
        params: list[Any] = [now]
        if prefix:
            low, high = namespace_bounds(prefix)
            where += " AND (namespace = ? OR (namespace >= ? AND namespace < ?))"
            params += [prefix, low, high]
        if scope_id is not None:
            where += " AND scope_id = ?"
            params.append(scope_id)
        return where, params

    def item_candidates(self, prefix: str, now: float, *, scope_id: int | None = None,
                        with_vectors: bool = False) -> list[ItemRow]:
        where, params = self._item_where(prefix, now, scope_id)
        vectors = "embedding" if with_vectors else "NULL"
        rows = self._conn().execute(f"SELECT {self._ITEM_COLS}, {vectors} FROM items WHERE {where}", params).fetchall()
        return in_listing_order([self._item(r, with_vectors) for r in rows])

    def item_page(self, prefix: str, now: float, *, limit: int, offset: int = 0,
                  scope_id: int | None = None) -> list[ItemRow]:
        where, params = self._item_where(prefix, now, scope_id)
        out: list[ItemRow] = []
        with self._read() as conn:
            stats = conn.execute(f"SELECT namespace, MIN(rid), COUNT(*) FROM items WHERE {where} GROUP BY namespace",
                                 params).fetchall()
            for namespace, take, skip in page_plan(stats, limit, offset):
                rows = conn.execute(f"SELECT {self._ITEM_COLS}, NULL FROM items WHERE {where} AND namespace = ?"
                                    " ORDER BY rid LIMIT ? OFFSET ?", (*params, namespace, take, skip)).fetchall()
                out += [self._item(r, False) for r in rows]
        return out

    def item_namespaces(self, prefix: str, now: float, *, scope_id: int | None = None) -> list[str]:
        where, params = self._item_where(prefix, now, scope_id)
        return [r[0] for r in self._conn().execute(f"SELECT DISTINCT namespace FROM items WHERE {where}", params)]

    def refresh_item_expiry(self, updates: Sequence[tuple[int, float]]) -> None:
        if not updates:
            return
        with self._write() as conn:
            conn.executemany("UPDATE items SET expires_at = ? WHERE rid = ? AND expires_at IS NOT NULL",
                             [(expires, rid) for rid, expires in updates])

    def purge_expired_items(self, now: float) -> int:
        with self._write() as conn:
            return conn.execute("DELETE FROM items WHERE expires_at <= ?", (now,)).rowcount
