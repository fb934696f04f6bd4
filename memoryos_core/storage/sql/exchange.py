"""A memory in and out as a whole: the export's rows, and writing a validated import."""

from __future__ import annotations

import json
from typing import Any

from ...policy import Policy
from ...types import Profile
from ..base import ExportRows
from ..importer import ImportBatch, ImportCounts, apply_import
from .core import FACT_COLUMNS, SEGMENT_COLUMNS, SQLCore, fact_row, history_rows, segment_row


class ExchangeSQL(SQLCore):
    def export_rows(self, scope_id: int) -> ExportRows:
        with self._read() as tx:
            pages = self._page_rows(tx, "p.scope_id = ?", scope_id, order="p.seq")
            segments = tx.all(f"SELECT {SEGMENT_COLUMNS} FROM segments WHERE scope_id = ? ORDER BY rid", scope_id)
            facts = tx.all(f"SELECT {FACT_COLUMNS} FROM facts WHERE scope_id = ? ORDER BY rid", scope_id)
            profile = tx.one("SELECT fields, updated_at FROM profiles WHERE scope_id = ?", scope_id)
            history = history_rows(tx, scope_id, None, 1_000_000)
        fields: dict[str, Any] = json.loads(profile[0]) if profile else {}
        return ExportRows(
            pages=[r.page.to_dict() for r in pages],
            segments=[segment_row(s, None, 0.0).segment.to_dict() for s in segments],
            facts=[{**fact_row(f).fact.to_dict(), "active": bool(f[9])} for f in facts],
            profile=Profile(fields=fields, updated_at=profile[1] if profile else None).to_dict(),
            history=[h.to_dict() for h in history],
        )

    def import_rows(self, scope_id: int, batch: ImportBatch, policy: Policy) -> ImportCounts:
        """Write a validated import in one transaction holding the scope's row (see :mod:`..importer`),
        then queue the work the imported state calls for, as the policy decides after any write."""
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            counts = apply_import(tx, scope_id, batch)
            if counts.pages:
                due, params = self._consolidation_due(scope_id, policy.consolidate_at)
                tx.all(due, *params)
                if policy.heat.for_persona(self._segment_heat(tx, "scope_id = ? AND fresh_pages > 0", scope_id),
                                           self._clock(tx, scope_id)):
                    self._enqueue(tx, scope_id, "persona")
        return counts
