"""Forgetting on request: what the user asked to forget leaves every table in one transaction."""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from ...policy import ExactValue
from ..base import blob_to_vec
from ..dialect import Tx
from .core import SQLCore, to_json

#: History rows whose text is blanked per statement (a bound on SQLite's parameters).
_HISTORY_CHUNK = 500


class ForgettingSQL(SQLCore):
    def forget(self, scope_id: int, *, page_ids: Sequence[str], fact_ids: Sequence[str],
               profile_changes: dict[str, Any], segments: Sequence[tuple[str, str, list[str]]], note: str) -> None:
        """Erase pages and facts the user asked to forget, in one transaction: rows, vectors, the facts drawn
        only from those pages, the text of their history, the profile values and segment summaries that
        held it (as the engine rewrote them); one FORGET event (``note``, without the forgotten text)
        records what went."""
        now = time.time()
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            tx.run("DELETE FROM lexicons WHERE scope_id = ?", scope_id)  # it holds the words of every page
            gone_facts: list[str] = list(fact_ids)
            for page_id in page_ids:
                row = tx.one("SELECT rid, embedding, segment_rid FROM pages WHERE scope_id = ? AND id = ?",
                             scope_id, page_id)
                if row is None:
                    continue
                tx.run("DELETE FROM pages WHERE rid = ?", row[0])
                if row[2] is not None:
                    vec = blob_to_vec(row[1])
                    self._shift_segment(tx, scope_id, row[2], 0.0 if vec is None else -vec, -1)
                gone_facts += [fact_id for _, fact_id, _ in self._facts_only_from(tx, scope_id, page_id,
                                                                                   active_only=False)]
            texts: list[str] = []
            for fact_id in dict.fromkeys(gone_facts):
                text = tx.value("SELECT text FROM facts WHERE scope_id = ? AND id = ?", scope_id, fact_id)
                if text is not None:
                    texts.append(text)
                    tx.run("DELETE FROM facts WHERE scope_id = ? AND id = ?", scope_id, fact_id)
            targets = list(page_ids) + list(dict.fromkeys(gone_facts)) + list(profile_changes)
            for start in range(0, len(targets), _HISTORY_CHUNK):
                tx.run("UPDATE history SET old_value = NULL, new_value = NULL WHERE scope_id = ? AND target_id IN (?)",
                       scope_id, targets[start:start + _HISTORY_CHUNK])
            for text in texts:  # a superseding fact's text also sits on the row of the fact it replaced
                tx.run("UPDATE history SET new_value = NULL WHERE scope_id = ? AND new_value = ?", scope_id,
                       self.dialect.clean(text))
            if profile_changes:
                self._set_profile_values(tx, scope_id, profile_changes, now)
            for segment_id, summary, keywords in segments:
                tx.run("UPDATE segments SET summary = ?, keywords = ?, updated_at = ? WHERE scope_id = ? AND id = ?",
                       self.dialect.clean(summary), self.dialect.clean(to_json(keywords)), now, scope_id, segment_id)
            self._bump_epoch(tx, scope_id)
            self._history(tx, scope_id, "memory", "forget", "FORGET", None, note)

    def _set_profile_values(self, tx: Tx, scope_id: int, values: dict[str, Any], now: float) -> None:
        """Set the fields to the values given (None, ``""`` or ``[]`` removes one), as decided by the engine."""
        current = tx.value("SELECT fields FROM profiles WHERE scope_id = ?", scope_id)
        fields = json.loads(current) if current else {}
        for key, value in values.items():
            value = value.value if isinstance(value, ExactValue) else value
            if value in (None, "", []):
                fields.pop(key, None)
            else:
                fields[key] = value
        tx.run("UPDATE profiles SET fields = ?, updated_at = ? WHERE scope_id = ?",
               self.dialect.clean(to_json(fields)), now, scope_id)
