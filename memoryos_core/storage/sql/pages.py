"""Pages: adding, embedding, reading, editing and deleting exchanges."""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from ...errors import NotFoundError, StoreError
from ...types import Page, render_page_text
from ..base import ConflictError, PageRow, blob_to_vec, new_id, vec_to_blob
from ..dialect import Tx
from .core import DELETED, SQLCore, to_json


class PagesSQL(SQLCore):
    def add_page(self, scope_id: int, *, user_input: str, agent_response: str, timestamp: float,
                 meta: dict[str, Any], tokens: int, embedding: np.ndarray | None,
                 consolidate_at: int) -> tuple[Page, bool]:
        """Insert one page into short-term; queue consolidation once short-term holds ``consolidate_at`` pages."""
        self.dialect.storable(user_input, agent_response)
        page_id = new_id("pg")
        now = time.time()
        has_vector = embedding is not None
        _, _, queued, stored = self._db.write_batch([
            # Takes the scope's row: sequence, clock and vector number advance in commit order. Every
            # statement is idempotent by page id, so a batch resent after a lost connection adds nothing.
            ("UPDATE scopes SET next_seq = next_seq + 1, clock = GREATEST(clock, ?), vec_counter = vec_counter + ?"
             " WHERE id = ? AND user_id <> '' AND NOT EXISTS (SELECT 1 FROM pages WHERE id = ?)",
             (timestamp, int(has_vector), scope_id, page_id)),
            ("INSERT INTO pages (id, scope_id, seq, user_input, agent_response, ts, created_at, meta, tokens, embedding,"
             " vec_seq) SELECT ?, id, next_seq, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? THEN vec_counter END FROM scopes"
             " WHERE id = ? AND user_id <> '' ON CONFLICT (id) DO NOTHING",
             (page_id, user_input, agent_response, timestamp, now, to_json(meta), tokens,
              None if embedding is None else vec_to_blob(embedding), has_vector, scope_id)),
            self._consolidation_due(scope_id, consolidate_at),
            ("SELECT seq FROM pages WHERE id = ? AND scope_id = ?", (page_id, scope_id)),
        ], retry_safe=True)
        if not stored:
            raise StoreError(DELETED)
        seq, enqueued = stored[0][0], bool(queued)
        page = Page(id=page_id, user_input=user_input, agent_response=agent_response, timestamp=timestamp,
                    tier="short", segment_id=None, meta=meta, created_at=now, seq=seq)
        return page, enqueued

    def unembedded_pages(self, scope_id: int, limit: int) -> list[tuple[int, str]]:
        rows = self._db.once(lambda tx: tx.all(
            "SELECT rid, user_input, agent_response FROM pages WHERE scope_id = ? AND embedding IS NULL"
            " ORDER BY rid LIMIT ?", scope_id, limit))
        return [(r[0], render_page_text(r[1], r[2])) for r in rows]

    def set_page_embeddings(self, scope_id: int, items: Sequence[tuple[int, np.ndarray]]) -> None:
        """Store vectors of pages that still lack one; the n vector numbers are reserved by the first
        statement (taking the scope's row) and read back by each update, so all go out as one batch."""
        if not items:
            return
        count = len(items)
        reserved, *_ = self._db.write_batch([  # resent whole, it only wastes n numbers (the pages keep their first)
            ("UPDATE scopes SET vec_counter = vec_counter + ? WHERE id = ? AND user_id <> '' RETURNING vec_counter",
             (count, scope_id)),
            *[("UPDATE pages SET embedding = ?, vec_seq = (SELECT vec_counter FROM scopes WHERE id = ?) - ?"
               " WHERE rid = ? AND scope_id = ? AND embedding IS NULL",
               (vec_to_blob(vector), scope_id, count - 1 - i, int(rid), scope_id)) for i, (rid, vector) in enumerate(items)],
        ], retry_safe=True)
        if not reserved:
            raise StoreError(DELETED)

    # -- reads ------------------------------------------------------------------------------

    def pages_of_segments(self, scope_id: int, segment_rids: Sequence[int]) -> list[PageRow]:
        """The embedded pages of the given segments, with their vectors."""
        if not segment_rids:
            return []
        return self._db.once(lambda tx: self._page_rows(
            tx, "p.scope_id = ? AND p.segment_rid IN (?) AND p.embedding IS NOT NULL", scope_id, list(segment_rids),
            with_vector=True))

    def pages_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[PageRow]:
        if not rids:
            return []
        # "+p.scope_id": look the rows up by id; the scope is still checked row by row.
        return self._db.once(lambda tx: self._page_rows(tx, "+p.scope_id = ? AND p.rid IN (?)", scope_id, list(rids)))

    def short_term(self, scope_id: int, limit: int) -> list[PageRow]:
        """The newest ``limit`` pages, oldest first."""
        rows = self._db.once(lambda tx: self._page_rows(tx, "p.scope_id = ?", scope_id, order="p.seq DESC",
                                                        limit=limit))
        return rows[::-1]

    def overflow_pages(self, scope_id: int, keep: int, limit: int) -> list[PageRow]:
        """Short-tier pages older than the newest ``keep`` of the scope, oldest first."""
        with self._read() as tx:
            cutoff = tx.value("SELECT seq FROM pages WHERE scope_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
                              scope_id, max(keep - 1, 0))
            if cutoff is None:
                return []
            return self._page_rows(tx, "p.scope_id = ? AND p.tier = 'short' AND p.seq < ?", scope_id, cutoff,
                                   order="p.seq", limit=limit, with_vector=True)

    def get_page(self, scope_id: int, page_id: str) -> PageRow:
        rows = self._db.once(lambda tx: self._page_rows(tx, "p.scope_id = ? AND p.id = ?", scope_id, page_id,
                                                        with_vector=True))
        if not rows:
            raise NotFoundError(f"no memory with id {page_id!r} for this user")
        return rows[0]

    def list_pages(self, scope_id: int, *, tier: str | None, limit: int, offset: int) -> list[Page]:
        where, params = ("p.scope_id = ? AND p.tier = ?", (scope_id, tier)) if tier else ("p.scope_id = ?", (scope_id,))
        rows = self._db.once(lambda tx: self._page_rows(tx, where, *params, order="p.seq", limit=limit, offset=offset))
        return [r.page for r in rows]

    # -- edits ------------------------------------------------------------------------------

    @staticmethod
    def _locate_page(tx: Tx, scope_id: int, page_id: str) -> tuple[int, str, str, np.ndarray | None, int | None]:
        """(rid, user_input, agent_response, vector, segment rid) of a page of this scope."""
        row = tx.one("SELECT rid, user_input, agent_response, embedding, segment_rid FROM pages"
                     " WHERE scope_id = ? AND id = ?", scope_id, page_id)
        if row is None:
            raise NotFoundError(f"no memory with id {page_id!r} for this user")
        return row[0], row[1], row[2], blob_to_vec(row[3]), row[4]

    def update_page(self, scope_id: int, page_id: str, *, user_input: str, agent_response: str, tokens: int,
                    embedding: np.ndarray, only_if_unanswered: bool = False) -> Page:
        """Rewrite a page and its vector (and its segment's share); ``only_if_unanswered`` makes it
        an atomic completion of a one-sided page (ConflictError if it already has a response)."""
        self.dialect.storable(user_input, agent_response)
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            rid, old_in, old_out, old_vec, seg_rid = self._locate_page(tx, scope_id, page_id)
            if only_if_unanswered and old_out:
                raise ConflictError("the page already has a response")
            tx.run("UPDATE pages SET user_input = ?, agent_response = ?, tokens = ?, embedding = ?, vec_seq = ?,"
                   " analyzed = FALSE WHERE rid = ?", user_input, agent_response, tokens, vec_to_blob(embedding),
                   self._next_vec_seq(tx, scope_id), rid)
            if seg_rid is not None:
                self._shift_segment(tx, scope_id, seg_rid, embedding - (0 if old_vec is None else old_vec), 0)
            self._bump_epoch(tx, scope_id)
            self._history(tx, scope_id, "page", page_id, "COMPLETE" if only_if_unanswered else "UPDATE",
                          to_json({"user_input": old_in, "agent_response": old_out}),
                          to_json({"user_input": user_input, "agent_response": agent_response}))
        return self.get_page(scope_id, page_id).page

    def delete_page(self, scope_id: int, page_id: str) -> None:
        """Delete a page, its vector, its share of its segment, and facts drawn only from it."""
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            rid, old_in, old_out, vec, seg_rid = self._locate_page(tx, scope_id, page_id)
            tx.run("DELETE FROM pages WHERE rid = ?", rid)
            tx.run("DELETE FROM lexicons WHERE scope_id = ?", scope_id)  # it may hold the page's words
            if seg_rid is not None:
                self._shift_segment(tx, scope_id, seg_rid, 0.0 if vec is None else -vec, -1)
            for fact_rid, fact_id, text in self._facts_only_from(tx, scope_id, page_id, active_only=True):
                tx.run("DELETE FROM facts WHERE rid = ?", fact_rid)
                self._history(tx, scope_id, "fact", fact_id, "DELETE", text, None)
            self._bump_epoch(tx, scope_id)
            self._history(tx, scope_id, "page", page_id, "DELETE",
                          to_json({"user_input": old_in, "agent_response": old_out}), None)
