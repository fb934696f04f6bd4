"""What the search indexes sync from, and the management verbs: history, counts, erase."""

from __future__ import annotations

import numpy as np

from ...types import HistoryEntry
from ..base import TierCounts, VectorTable
from .core import SQLCore, history_rows

#: The rows an index of each table holds: (vector column, table and condition after ``scope_id = ?``).
_VECTOR_SOURCES: dict[VectorTable, tuple[str, str]] = {
    "pages": ("embedding", "pages WHERE scope_id = ? AND tier <> 'archived' AND embedding IS NOT NULL"),
    "segments": ("vec_sum", "segments WHERE scope_id = ? AND archived = FALSE"),
    "facts_user": ("embedding", "facts WHERE scope_id = ? AND active = TRUE AND kind = 'user'"),
    "facts_assistant": ("embedding", "facts WHERE scope_id = ? AND active = TRUE AND kind = 'assistant'"),
}

#: Tables holding a scope's rows, children first (pages refer to segments).
_SCOPED_TABLES = ("jobs", "history", "profiles", "facts", "pages", "segments", "items", "lexicons")


class ManagementSQL(SQLCore):
    # -- vectors ----------------------------------------------------------------------------

    def vectors_since(self, scope_id: int, table: VectorTable, since_seq: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows whose vector was written after ``since_seq``: (rids, read-only vectors, max seq).

        Complete by construction: a vector number is taken under the scope's lock held to commit, so
        no transaction can still commit a number at or below one that is already visible."""
        column, source = _VECTOR_SOURCES[table]
        rows = self._db.once(lambda tx: tx.all(f"SELECT rid, {column}, vec_seq FROM {source} AND vec_seq > ?",
                                               scope_id, since_seq))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), since_seq
        rid_list, blobs, seqs = zip(*rows)  # one pass in C: a new process reads every vector here
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), -1)  # read-only
        return np.array(rid_list, dtype=np.int64), vectors, max(seqs)

    def live_vector_ids(self, scope_id: int, table: VectorTable) -> set[int]:
        """Row ids an index of ``table`` should hold now (after removals)."""
        source = _VECTOR_SOURCES[table][1]
        return {r[0] for r in self._db.once(lambda tx: tx.all(f"SELECT rid FROM {source}", scope_id))}

    # -- management -------------------------------------------------------------------------

    def history(self, scope_id: int, target_id: str | None = None, limit: int = 1000) -> list[HistoryEntry]:
        return self._db.once(lambda tx: history_rows(tx, scope_id, target_id, limit))

    def counts(self, scope_id: int) -> TierCounts:
        with self._read() as tx:
            tiers: dict[str, int] = dict(tx.all("SELECT tier, COUNT(*) FROM pages WHERE scope_id = ? GROUP BY tier", scope_id))
            row = tx.one(
                "SELECT (SELECT COUNT(*) FROM segments WHERE scope_id = ? AND archived = FALSE),"
                " (SELECT COUNT(*) FROM facts WHERE scope_id = ? AND kind = 'user' AND active = TRUE),"
                " (SELECT COUNT(*) FROM facts WHERE scope_id = ? AND kind = 'assistant' AND active = TRUE),"
                " (SELECT COUNT(*) FROM pages WHERE scope_id = ? AND embedding IS NULL),"
                " (SELECT COUNT(*) FROM jobs WHERE scope_id = ? AND status <> 'failed'),"
                " (SELECT COUNT(*) FROM jobs WHERE scope_id = ? AND status = 'failed')", *[scope_id] * 6)
        row = row or (0,) * 6  # (a SELECT without FROM always has its row)
        return TierCounts(short_term=int(tiers.get("short", 0)), mid_term=int(tiers.get("mid", 0)),
                          archived=int(tiers.get("archived", 0)), segments=int(row[0]), user_knowledge=int(row[1]),
                          assistant_knowledge=int(row[2]), unembedded=int(row[3]), pending_jobs=int(row[4]),
                          failed_jobs=int(row[5]))

    def delete_user(self, user_id: str) -> int:
        """Erase every row of every scope of ``user_id`` (pages, vectors, segments, facts, profile, history, jobs,
        items).
        The scope row stays as an anonymous tombstone, so a process still holding its id is refused
        (and SQLite never hands that id to a new user)."""
        with self._write() as tx:
            scope_ids = [r[0] for r in tx.all("SELECT id FROM scopes WHERE user_id = ? ORDER BY id FOR UPDATE", user_id)]
            if scope_ids:
                for table in _SCOPED_TABLES:
                    tx.run(f"DELETE FROM {table} WHERE scope_id IN (?)", scope_ids)
                tx.run("UPDATE scopes SET user_id = '', assistant_id = 'deleted:' || id WHERE id IN (?)", scope_ids)
        return len(scope_ids)
