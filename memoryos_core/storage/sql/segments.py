"""Segments: consolidation's writes, retrieval visits, and the decisions the policy takes on them."""

from __future__ import annotations

import time
from collections import Counter
from typing import Sequence

from ...policy import HeatParams, Policy
from ..base import ConflictError, Job, SegmentRow, SegmentWrite, blob_to_vec, new_id, vec_to_blob
from ..dialect import Tx
from .core import HEAT_COLUMNS, SEGMENT_COLUMNS, SQLCore, segment_heat, segment_row, to_json


class SegmentsSQL(SQLCore):
    def segments_by_rids(self, scope_id: int, rids: Sequence[int], heat: HeatParams | None = None) -> list[SegmentRow]:
        if not rids:
            return []
        with self._read() as tx:
            clock = self._clock(tx, scope_id)
            rows = tx.all(f"SELECT {SEGMENT_COLUMNS} FROM segments WHERE +scope_id = ? AND rid IN (?) ORDER BY rid",
                          scope_id, list(rids))
        return [segment_row(r, heat, clock) for r in rows]

    def list_segments(self, scope_id: int, heat: HeatParams, *, include_archived: bool = False) -> list[SegmentRow]:
        live = "" if include_archived else " AND archived = FALSE"
        with self._read() as tx:
            clock = self._clock(tx, scope_id)
            rows = tx.all(f"SELECT {SEGMENT_COLUMNS} FROM segments WHERE scope_id = ?{live} ORDER BY rid", scope_id)
        return [segment_row(r, heat, clock) for r in rows]

    def segment_members(self, scope_id: int, segment_rids: Sequence[int]) -> list[tuple[int, int]]:
        """(page rid, segment rid) of the pages of the given segments of the scope."""
        if not segment_rids:
            return []
        rows = self._db.once(lambda tx: tx.all(
            "SELECT p.rid, p.segment_rid FROM pages p JOIN segments s ON s.rid = p.segment_rid"
            " WHERE s.scope_id = ? AND s.rid IN (?)", scope_id, list(segment_rids)))
        return [(r[0], r[1]) for r in rows]

    def apply_consolidation(self, scope_id: int, job: Job, owner: str, writes: Sequence[SegmentWrite],
                            policy: Policy) -> list[str]:
        """Move pages into segments in one transaction; returns ids of segments created."""
        all_rids = [rid for w in writes for rid in w.page_rids]
        if len(all_rids) != len(set(all_rids)):
            raise ValueError("a page was assigned to two segments")
        with self._write() as tx:
            self._lock_scope(tx, scope_id)  # first: what the checks read cannot change until commit
            self._check_lease(tx, job, owner)
            if all_rids:
                self._require_all(tx, "SELECT COUNT(*) FROM pages WHERE +scope_id = ? AND tier = 'short'"
                                  " AND segment_rid IS NULL AND rid IN (?)", (scope_id, all_rids), len(all_rids),
                                  "pages were consolidated or deleted meanwhile")
            created = []
            for w in writes:
                new_segment = self._write_segment(tx, scope_id, w) if w.page_rids else None
                if new_segment:
                    created.append(new_segment)
            self._finish_job(tx, job)
            self._after_segment_change(tx, scope_id, policy, [w.rid for w in writes if w.rid is not None])
            due, params = self._consolidation_due(scope_id, policy.consolidate_at)
            tx.all(due, *params)
        return created

    def _write_segment(self, tx: Tx, scope_id: int, w: SegmentWrite) -> str | None:
        """Create or grow one segment and move its pages in; the id of a segment created."""
        now = time.time()
        vec_seq = self._next_vec_seq(tx, scope_id)
        summary, keywords = self.dialect.clean(w.summary), self.dialect.clean(to_json(w.keywords))
        created = None
        if w.rid is None:
            w.id = created = w.id or new_id("sg")
            w.rid = tx.value(
                "INSERT INTO segments (id, scope_id, summary, keywords, summary_source, vec_sum, vec_seq, page_count,"
                " fresh_pages, last_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING rid", w.id, scope_id, summary, keywords, w.summary_source, vec_to_blob(w.added_vec_sum),
                vec_seq, len(w.page_rids), len(w.page_rids), w.last_active, now, now)
        else:
            old = tx.value("SELECT vec_sum FROM segments WHERE rid = ? AND scope_id = ? AND archived = FALSE",
                           w.rid, scope_id)
            if old is None:
                raise ConflictError("a segment was archived or deleted meanwhile")
            tx.run("UPDATE segments SET summary = ?, keywords = ?, summary_source = ?, vec_sum = ?, vec_seq = ?,"
                   " page_count = page_count + ?, fresh_pages = fresh_pages + ?, last_active = GREATEST(last_active, ?),"
                   " updated_at = ? WHERE rid = ?", summary, keywords, w.summary_source,
                   vec_to_blob(blob_to_vec(old) + w.added_vec_sum), vec_seq, len(w.page_rids), len(w.page_rids),
                   w.last_active, now, w.rid)
        tx.run("UPDATE pages SET tier = 'mid', segment_rid = ? WHERE rid IN (?)", w.rid, list(w.page_rids))
        return created

    def _after_segment_change(self, tx: Tx, scope_id: int, policy: Policy, touched: Sequence[int]) -> None:
        """As the policy decides on the segments as they now stand: queue persona analysis if a touched
        segment got hot; archive the coldest beyond capacity (their pages leave the search indexes)."""
        clock = self._clock(tx, scope_id)
        if touched and policy.heat.any_hot(self._segment_heat(tx, "rid IN (?)", list(touched)), clock):
            self._enqueue(tx, scope_id, "persona")
        live = tx.value("SELECT COUNT(*) FROM segments WHERE scope_id = ? AND archived = FALSE", scope_id)
        if not policy.archive_count(live):
            return
        coldest = policy.to_archive(self._segment_heat(tx, "scope_id = ? AND archived = FALSE", scope_id), clock)
        for segment in coldest:
            tx.run("UPDATE segments SET archived = TRUE WHERE rid = ?", segment.rid)
            tx.run("UPDATE pages SET tier = 'archived' WHERE segment_rid = ?", segment.rid)
            self._history(tx, scope_id, "segment", segment.id, "ARCHIVE", None, None)
        self._bump_epoch(tx, scope_id)
        if policy.distil_before_archiving(coldest):
            self._enqueue(tx, scope_id, "persona")

    def record_visits(self, scope_id: int, segment_rids: Sequence[int], heat: HeatParams) -> None:
        """Heat up retrieved segments (N_visit) at the conversation's current time; a rid listed n
        times counts n visits (visits are written in batches, see ``retrieval.visits``)."""
        if not segment_rids:
            return
        by_count: dict[int, list[int]] = {}
        for rid, n in Counter(segment_rids).items():
            by_count.setdefault(n, []).append(rid)
        with self._write() as tx:
            clock = self._lock_scope(tx, scope_id)
            visited = []
            for n, rids in sorted(by_count.items()):
                visited += tx.all(f"UPDATE segments SET visits = visits + ?, last_active = ? WHERE +scope_id = ?"
                                  f" AND rid IN (?) RETURNING {HEAT_COLUMNS}", n, clock, scope_id, sorted(rids))
            if heat.any_hot([segment_heat(r) for r in visited], clock):
                self._enqueue(tx, scope_id, "persona")
