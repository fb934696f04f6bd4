"""Long-term memory: persona passes, user and assistant knowledge, the profile."""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from ...errors import NotFoundError
from ...policy import FactAge, HeatParams, Policy
from ...types import Profile
from ..base import FactRow, FactWrite, Job, PageRow, new_id, vec_to_blob
from ..dialect import Tx
from .core import FACT_COLUMNS, SQLCore, fact_row, to_json


class KnowledgeSQL(SQLCore):
    # -- persona passes ---------------------------------------------------------------------

    def _persona_segments(self, tx: Tx, scope_id: int, heat: HeatParams) -> list[int]:
        """Segments whose unanalysed pages a pass takes, as the heat rules say."""
        return heat.for_persona(self._segment_heat(tx, "scope_id = ? AND fresh_pages > 0", scope_id),
                                self._clock(tx, scope_id))

    def persona_batch(self, scope_id: int, heat: HeatParams, limit: int, *, quiet: bool = False) -> list[PageRow]:
        """Unanalysed pages of hot segments (and of archived ones), oldest first; with ``quiet``, the
        batch is topped up with unanalysed pages of the other segments (heat orders, never excludes)."""
        with self._read() as tx:
            chosen = self._persona_segments(tx, scope_id, heat)
            rows: list[PageRow] = []
            if chosen:
                rows = self._page_rows(tx, "p.segment_rid IN (?) AND p.analyzed = FALSE", chosen, order="p.seq",
                                       limit=limit)
            if quiet and len(rows) < limit:
                taken = [r.rid for r in rows] or [0]
                rows += self._page_rows(tx, "p.scope_id = ? AND p.segment_rid IS NOT NULL AND p.analyzed = FALSE"
                                        " AND p.rid NOT IN (?)", scope_id, taken, order="p.seq", limit=limit - len(rows))
            return rows

    def apply_persona(self, scope_id: int, job: Job, owner: str, *, page_rids: Sequence[int],
                      fact_writes: Sequence[FactWrite], profile_changes: dict[str, Any], policy: Policy) -> None:
        """Write reconciled facts and profile changes, mark pages analysed, reset heat; one transaction."""
        rids = list(page_rids)
        now = time.time()
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            self._check_lease(tx, job, owner)
            if rids:
                self._require_all(tx, "SELECT COUNT(*) FROM pages WHERE +scope_id = ? AND analyzed = FALSE"
                                  " AND rid IN (?)", (scope_id, rids), len(rids), "pages were analysed or deleted meanwhile")
            removed = self._apply_fact_writes(tx, scope_id, fact_writes, now)
            removed = self._evict(tx, scope_id, policy, now) or removed
            if profile_changes:
                self._merge_profile(tx, scope_id, profile_changes, policy, now)
            if rids:
                tx.run("UPDATE pages SET analyzed = TRUE WHERE rid IN (?)", rids)
                tx.run("UPDATE segments SET visits = 0, fresh_pages = (SELECT COUNT(*) FROM pages p"
                       " WHERE p.segment_rid = segments.rid AND p.analyzed = FALSE)"
                       " WHERE scope_id = ? AND rid IN (SELECT segment_rid FROM pages WHERE rid IN (?))", scope_id, rids)
            if removed:
                self._bump_epoch(tx, scope_id)
            self._finish_job(tx, job)
            if self._persona_segments(tx, scope_id, policy.heat):  # more hot pages than one pass takes
                self._enqueue(tx, scope_id, "persona")

    def _evict(self, tx: Tx, scope_id: int, policy: Policy, now: float) -> bool:
        """Retire the knowledge the policy evicts beyond capacity; True if any vector left."""
        evicted = False
        for kind in ("user", "assistant"):
            active = [FactAge(*r) for r in tx.all("SELECT rid, id, text, updated_at FROM facts"
                                                  " WHERE scope_id = ? AND kind = ? AND active = TRUE", scope_id, kind)]
            for fact in policy.to_evict(active):
                tx.run("UPDATE facts SET active = FALSE, updated_at = ? WHERE rid = ?", now, fact.rid)
                self._history(tx, scope_id, "fact", fact.id, "EVICT", fact.text, None)
                evicted = True
        return evicted

    # -- knowledge --------------------------------------------------------------------------

    def facts(self, scope_id: int, kind: str | None = None, *, active_only: bool = True) -> list[FactRow]:
        where = "scope_id = ?"
        params: list[Any] = [scope_id]
        if kind:
            where += " AND kind = ?"
            params.append(kind)
        if active_only:
            where += " AND active = TRUE"
        rows = self._db.once(lambda tx: tx.all(f"SELECT {FACT_COLUMNS} FROM facts WHERE {where} ORDER BY rid", *params))
        return [fact_row(r) for r in rows]

    def past_facts(self, scope_id: int, limit: int = 100) -> list[FactRow]:
        rows = self._db.once(lambda tx: tx.all(
            f"SELECT {FACT_COLUMNS} FROM facts WHERE scope_id = ? AND active = FALSE AND valid_until IS NOT NULL"
            " ORDER BY valid_until DESC, rid DESC LIMIT ?", scope_id, limit))
        return [fact_row(r) for r in rows]

    def facts_by_rids(self, scope_id: int, rids: Sequence[int]) -> list[FactRow]:
        if not rids:
            return []
        rows = self._db.once(lambda tx: tx.all(f"SELECT {FACT_COLUMNS} FROM facts WHERE +scope_id = ? AND active = TRUE"
                                               " AND rid IN (?) ORDER BY rid", scope_id, list(rids)))
        return [fact_row(r) for r in rows]

    def get_fact(self, scope_id: int, fact_id: str) -> FactRow:
        row = self._db.once(lambda tx: tx.one(f"SELECT {FACT_COLUMNS} FROM facts WHERE scope_id = ? AND id = ?",
                                              scope_id, fact_id))
        if row is None:
            raise NotFoundError(f"no memory with id {fact_id!r} for this user")
        return fact_row(row)

    def write_facts(self, scope_id: int, writes: Sequence[FactWrite]) -> None:
        """Manual knowledge edits, outside any job."""
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            if self._apply_fact_writes(tx, scope_id, writes, time.time()):
                self._bump_epoch(tx, scope_id)

    def _apply_fact_writes(self, tx: Tx, scope_id: int, writes: Sequence[FactWrite], now: float) -> bool:
        """Apply add/update/retire/delete; True when a vector left the index."""
        removed = False
        clean = self.dialect.clean
        for w in writes:
            if w.op == "add":
                fact_id = w.fact_id or new_id("ft")
                tx.run("INSERT INTO facts (id, scope_id, kind, text, slot, refers_to, source, source_pages, embedding,"
                       " vec_seq, created_at, updated_at, active, valid_until, superseded_by)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       fact_id, scope_id, w.kind, clean(w.text), clean(w.slot), w.refers_to, w.source,
                       to_json(w.source_pages), vec_to_blob(w.embedding), self._next_vec_seq(tx, scope_id), now, now,
                       w.valid_until is None, w.valid_until, w.superseded_by)
                self._history(tx, scope_id, "fact", fact_id, w.event, None, w.text)
                continue
            row = tx.one("SELECT id, text, source_pages FROM facts WHERE rid = ? AND scope_id = ? AND active = TRUE",
                         w.rid, scope_id)
            if row is None:
                continue
            removed = True
            if w.op == "update":
                sources = sorted(set(json.loads(row[2])) | set(w.source_pages))
                tx.run("UPDATE facts SET text = ?, slot = COALESCE(?, slot), refers_to = COALESCE(?, refers_to),"
                       " source = ?, source_pages = ?, embedding = ?, vec_seq = ?, updated_at = ? WHERE rid = ?",
                       clean(w.text), clean(w.slot), w.refers_to, w.source, to_json(sources), vec_to_blob(w.embedding),
                       self._next_vec_seq(tx, scope_id), now, w.rid)
                self._history(tx, scope_id, "fact", row[0], w.event, row[1], w.text)
            elif w.op == "delete":
                tx.run("DELETE FROM facts WHERE rid = ?", w.rid)
                self._history(tx, scope_id, "fact", row[0], w.event, row[1], None)
            else:
                tx.run("UPDATE facts SET active = FALSE, updated_at = ?, valid_until = ?, superseded_by = ?"
                       " WHERE rid = ?", now, w.valid_until, w.superseded_by, w.rid)
                self._history(tx, scope_id, "fact", row[0], w.event, row[1], w.text or None)
        return removed

    # -- profile ----------------------------------------------------------------------------

    def profile(self, scope_id: int) -> Profile:
        row = self._db.once(lambda tx: tx.one("SELECT fields, updated_at FROM profiles WHERE scope_id = ?", scope_id))
        return Profile(fields=json.loads(row[0]) if row else {}, updated_at=row[1] if row else None)

    def set_profile_fields(self, scope_id: int, changes: dict[str, Any], policy: Policy) -> Profile:
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            self._merge_profile(tx, scope_id, changes, policy, time.time())
        return self.profile(scope_id)

    def _merge_profile(self, tx: Tx, scope_id: int, changes: dict[str, Any], policy: Policy, now: float) -> None:
        current = tx.value("SELECT fields FROM profiles WHERE scope_id = ?", scope_id)
        merged = policy.merge_profile(json.loads(current) if current else {}, changes)
        for change in merged.changes:
            self._history(tx, scope_id, "profile", change.key, change.event,
                          None if change.old is None else to_json(change.old),
                          None if change.new is None else to_json(change.new))
        tx.run("INSERT INTO profiles (scope_id, fields, updated_at) VALUES (?, ?, ?)"
               " ON CONFLICT (scope_id) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
               scope_id, self.dialect.clean(to_json(merged.fields)), now)
