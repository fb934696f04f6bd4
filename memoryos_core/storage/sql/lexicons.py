"""What the lexical index reads and keeps: searchable pages by vector number, and its snapshot."""

from __future__ import annotations

import time

from ...types import render_page_text
from ..base import SearchablePage
from .core import SQLCore


class LexiconsSQL(SQLCore):
    def searchable_pages(self, scope_id: int, after_seq: int, upto_seq: int, limit: int) -> list[SearchablePage]:
        """Pages a page vector index holds whose vector number is in (``after_seq``, ``upto_seq``],
        in vector-number order, at most ``limit``."""
        rows = self._db.once(lambda tx: tx.all(
            "SELECT rid, seq, ts, user_input, agent_response, vec_seq FROM pages WHERE scope_id = ?"
            " AND tier <> 'archived' AND embedding IS NOT NULL AND vec_seq > ? AND vec_seq <= ?"
            " ORDER BY vec_seq LIMIT ?", scope_id, after_seq, upto_seq, limit))
        return [SearchablePage(rid=r[0], seq=r[1], timestamp=r[2], text=render_page_text(r[3], r[4]), vec_seq=r[5])
                for r in rows]

    def lexicon_snapshot(self, scope_id: int) -> bytes | None:
        data = self._db.once(lambda tx: tx.value("SELECT data FROM lexicons WHERE scope_id = ?", scope_id))
        return None if data is None else bytes(data)

    def save_lexicon_snapshot(self, scope_id: int, *, watermark: int, epoch: int, data: bytes) -> bool:
        """Keep a lexicon snapshot unless a newer one is stored or something left the indexes since
        ``epoch`` (the snapshot may hold it: a forgotten page's words must not be written back)."""
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            saved = tx.all(
                "INSERT INTO lexicons (scope_id, watermark, data, saved_at) SELECT id, ?, ?, ? FROM scopes"
                " WHERE id = ? AND vector_epoch = ? ON CONFLICT (scope_id) DO UPDATE SET"
                " watermark = excluded.watermark, data = excluded.data, saved_at = excluded.saved_at"
                " WHERE lexicons.watermark <= excluded.watermark RETURNING scope_id",
                watermark, data, time.time(), scope_id, epoch)
        return bool(saved)
