"""What every part of the SQL store shares: the database, the scope lock, history, vector
numbers, job bookkeeping and the mapping of rows to records.

Concurrency, the same on both databases: every write to a scope starts by taking that scope's
row (:meth:`SQLCore._lock_scope`, or an ``UPDATE scopes`` that also advances a counter) and keeps
it to commit. On PostgreSQL that is a row lock: writers of one user queue, other users proceed.
On SQLite the write transaction already holds the database (``BEGIN IMMEDIATE``). Because
``vec_counter`` only moves under that lock, vector numbers are visible in commit order, which is
what lets the indexes sync incrementally. Job rows are locked after the scope row, never before.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from typing import Any, Sequence

import numpy as np

from ...errors import StoreError
from ...policy import HeatParams, SegmentHeat
from ...types import Fact, HistoryEntry, Page, Segment
from ..base import ConflictError, FactRow, Job, JobKind, PageRow, ScopeState, SegmentRow, blob_to_vec, vec_to_blob
from ..dialect import Database, Row, Statement, Tx

DELETED = "this user's memory was deleted; open it again to start afresh"

PAGE_COLUMNS = ("p.rid, p.id, p.seq, p.user_input, p.agent_response, p.ts, p.created_at, p.meta, p.tier,"
                " p.segment_rid, p.analyzed, p.tokens, s.id")
PAGE_SOURCE = "pages p LEFT JOIN segments s ON s.rid = p.segment_rid"
SEGMENT_COLUMNS = ("rid, id, summary, keywords, summary_source, vec_sum, page_count, fresh_pages, visits, last_active,"
                   " archived")
FACT_COLUMNS = ("rid, id, kind, text, slot, refers_to, source, source_pages, embedding, active, created_at, updated_at,"
                " valid_until, superseded_by")
HEAT_COLUMNS = "rid, id, visits, fresh_pages, last_active, archived"


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def page_row(r: Row, with_vector: bool = False) -> PageRow:
    """A row of ``SELECT {PAGE_COLUMNS}[, p.embedding] FROM {PAGE_SOURCE}`` as a record."""
    page = Page(id=r[1], seq=r[2], user_input=r[3], agent_response=r[4], timestamp=r[5], created_at=r[6],
                meta=json.loads(r[7]), tier=r[8], segment_id=r[12], analyzed=bool(r[10]))
    return PageRow(rid=r[0], page=page, segment_rid=r[9], tokens=r[11],
                   embedding=blob_to_vec(r[13]) if with_vector else None)


def segment_row(r: Row, heat: HeatParams | None, clock: float) -> SegmentRow:
    rid, sid, summary, keywords, source, vec_sum, count, fresh, visits, last_active, archived = r
    value = heat.heat(visits, fresh, last_active, clock) if heat else 0.0
    segment = Segment(id=sid, summary=summary, keywords=json.loads(keywords), page_count=count, visits=visits,
                      fresh_pages=fresh, last_active=last_active, heat=value, archived=bool(archived),
                      summary_source=source)
    return SegmentRow(rid=rid, segment=segment, vec_sum=blob_to_vec(vec_sum))


def fact_row(r: Row) -> FactRow:
    fact = Fact(id=r[1], kind=r[2], text=r[3], slot=r[4], refers_to=r[5], source=r[6],
                source_page_ids=json.loads(r[7]), created_at=r[10], updated_at=r[11], valid_until=r[12],
                superseded_by=r[13])
    return FactRow(rid=r[0], fact=fact, embedding=blob_to_vec(r[8]), active=bool(r[9]))


def segment_heat(r: Row) -> SegmentHeat:
    """A row of ``SELECT {HEAT_COLUMNS}`` as the policy reads it."""
    return SegmentHeat(rid=r[0], id=r[1], visits=r[2], fresh_pages=r[3], last_active=r[4], archived=bool(r[5]))


def history_rows(tx: Tx, scope_id: int, target_id: str | None, limit: int) -> list[HistoryEntry]:
    """The scope's history (of one target when given), oldest first."""
    columns = "id, target_kind, target_id, event, old_value, new_value, at"
    if target_id:
        rows = tx.all(f"SELECT {columns} FROM history WHERE scope_id = ? AND target_id = ? ORDER BY id LIMIT ?",
                      scope_id, target_id, limit)
    else:
        rows = tx.all(f"SELECT {columns} FROM history WHERE scope_id = ? ORDER BY id LIMIT ?", scope_id, limit)
    return [HistoryEntry(*r) for r in rows]


class SQLCore:
    """The shared half of :class:`~memoryos_core.storage.sql.SQLStore`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.dialect = db.dialect

    def _write(self) -> AbstractContextManager[Tx]:
        return self._db.write()

    def _read(self) -> AbstractContextManager[Tx]:
        return self._db.read()

    def close(self) -> None:
        self._db.close()

    # -- scopes ---------------------------------------------------------------------------

    def scope(self, user_id: str, assistant_id: str, *, create: bool = True) -> int | None:
        find = "SELECT id FROM scopes WHERE user_id = ? AND assistant_id = ?"
        found: int | None = self._db.once(lambda tx: tx.value(find, user_id, assistant_id))
        if found is not None or not create:
            return found
        with self._write() as tx:
            tx.run("INSERT INTO scopes (user_id, assistant_id) VALUES (?, ?)"
                   " ON CONFLICT (user_id, assistant_id) DO NOTHING", user_id, assistant_id)
            created: int = tx.value(find, user_id, assistant_id)
        return created

    def scope_state(self, scope_id: int) -> ScopeState:
        row = self._db.once(lambda tx: tx.one(
            "SELECT clock, vec_counter, vector_epoch FROM scopes WHERE id = ? AND user_id <> ''", scope_id))
        if row is None:
            raise StoreError(DELETED)
        return ScopeState(scope_id, row[0], row[1], row[2])

    @staticmethod
    def _clock(tx: Tx, scope_id: int, *, lock: bool = False) -> float:
        """The scope's clock; StoreError if the user was deleted. With ``lock``, the scope's row is
        this transaction's until commit (every write to a scope starts so)."""
        clock = tx.value("SELECT clock FROM scopes WHERE id = ? AND user_id <> ''"
                         + (" FOR NO KEY UPDATE" if lock else ""), scope_id)
        if clock is None:
            raise StoreError(DELETED)
        return float(clock)

    def _lock_scope(self, tx: Tx, scope_id: int) -> float:
        return self._clock(tx, scope_id, lock=True)

    @staticmethod
    def _next_vec_seq(tx: Tx, scope_id: int, count: int = 1) -> int:
        """Reserve ``count`` vector numbers (under the scope's lock); returns the first."""
        last = tx.value("UPDATE scopes SET vec_counter = vec_counter + ? WHERE id = ? AND user_id <> ''"
                        " RETURNING vec_counter", count, scope_id)
        if last is None:
            raise StoreError(DELETED)
        return int(last) - count + 1

    @staticmethod
    def _bump_epoch(tx: Tx, scope_id: int) -> None:
        tx.run("UPDATE scopes SET vector_epoch = vector_epoch + 1 WHERE id = ?", scope_id)

    def _history(self, tx: Tx, scope_id: int, kind: str, target: str, event: str, old: str | None,
                 new: str | None) -> None:
        tx.run("INSERT INTO history (scope_id, target_kind, target_id, event, old_value, new_value, at)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)", scope_id, kind, target, event, self.dialect.clean(old),
               self.dialect.clean(new), time.time())

    # -- pages, segments and facts that follow them ----------------------------------------

    def _shift_segment(self, tx: Tx, scope_id: int, seg_rid: int, delta: np.ndarray | float,
                       count_delta: int) -> None:
        """Move a segment's vector sum and page count by a page's change; a segment left empty goes."""
        row = tx.one("SELECT vec_sum, page_count FROM segments WHERE rid = ?", seg_rid)
        if row is None:
            return
        if row[1] + count_delta <= 0:
            tx.run("DELETE FROM segments WHERE rid = ?", seg_rid)
            return
        tx.run(  # fresh_pages stays the count of unanalysed pages (an edited page is analysed again)
            "UPDATE segments SET vec_sum = ?, page_count = page_count + ?, vec_seq = ?, updated_at = ?,"
            " fresh_pages = (SELECT COUNT(*) FROM pages p WHERE p.segment_rid = ? AND p.analyzed = FALSE)"
            " WHERE rid = ?", vec_to_blob(blob_to_vec(row[0]) + delta), count_delta, self._next_vec_seq(tx, scope_id),
            time.time(), seg_rid, seg_rid)

    @staticmethod
    def _facts_only_from(tx: Tx, scope_id: int, page_id: str, *, active_only: bool) -> list[Row]:
        """(rid, id, text) of the facts drawn from ``page_id`` and from no page that still exists."""
        only: list[Row] = []
        for fact_rid, fact_id, text, sources in tx.all(
                "SELECT rid, id, text, source_pages FROM facts WHERE scope_id = ? AND source_pages LIKE ?"
                + (" AND active = TRUE" if active_only else ""), scope_id, f"%{page_id}%"):
            remaining = [p for p in json.loads(sources) if p != page_id]
            if not remaining or not tx.value("SELECT COUNT(*) FROM pages WHERE id IN (?)", remaining):
                only.append((fact_rid, fact_id, text))
        return only

    # -- rows ------------------------------------------------------------------------------

    @staticmethod
    def _page_rows(tx: Tx, where: str, *params: Any, order: str = "p.rid", limit: int | None = None,
                   offset: int = 0, with_vector: bool = False) -> list[PageRow]:
        columns = PAGE_COLUMNS + (", p.embedding" if with_vector else "")
        tail = " LIMIT ? OFFSET ?" if limit is not None else ""
        extra = (limit, offset) if limit is not None else ()
        rows = tx.all(f"SELECT {columns} FROM {PAGE_SOURCE} WHERE {where} ORDER BY {order}{tail}", *params, *extra)
        return [page_row(r, with_vector) for r in rows]

    @staticmethod
    def _segment_heat(tx: Tx, where: str, *params: Any) -> list[SegmentHeat]:
        return [segment_heat(r) for r in tx.all(f"SELECT {HEAT_COLUMNS} FROM segments WHERE {where}", *params)]

    # -- jobs ------------------------------------------------------------------------------

    @staticmethod
    def _enqueue(tx: Tx, scope_id: int, kind: JobKind) -> bool:
        """Queue a job unless one of its kind is open (the partial unique index ``jobs_one_open``)."""
        now = time.time()
        return tx.one("INSERT INTO jobs (scope_id, kind, status, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)"
                      " ON CONFLICT DO NOTHING RETURNING id", scope_id, kind, now, now) is not None

    @staticmethod
    def _consolidation_due(scope_id: int, consolidate_at: int) -> Statement:
        """Queue consolidation if short-term holds ``consolidate_at`` pages or more (the engine's
        threshold); returns the job's id when it queued one."""
        now = time.time()
        return ("INSERT INTO jobs (scope_id, kind, status, created_at, updated_at) SELECT ?, 'consolidate', 'pending', ?, ?"
                " WHERE (SELECT COUNT(*) FROM pages WHERE scope_id = ? AND tier = 'short') >= ?"
                " ON CONFLICT DO NOTHING RETURNING id", (scope_id, now, now, scope_id, consolidate_at))

    @staticmethod
    def _check_lease(tx: Tx, job: Job, owner: str) -> None:
        """ConflictError unless ``owner`` still holds ``job``; the job row stays locked to commit."""
        if job.id == 0:
            return
        row = tx.one("SELECT owner, status FROM jobs WHERE id = ? FOR UPDATE", job.id)
        if row is None or row[0] != owner or row[1] != "running":
            raise ConflictError("the job was taken over by another worker")

    @staticmethod
    def _finish_job(tx: Tx, job: Job) -> None:
        if job.id:
            tx.run("DELETE FROM jobs WHERE id = ?", job.id)

    @staticmethod
    def _require_all(tx: Tx, count_sql: str, params: Sequence[Any], expected: int, conflict: str) -> None:
        """ConflictError unless ``count_sql`` counts ``expected`` rows (another writer moved them)."""
        if tx.value(count_sql, *params) != expected:
            raise ConflictError(conflict)
