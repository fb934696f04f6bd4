"""Items: the key-value documents of the LangGraph store (:mod:`memoryos_core.items`), filed under
namespace paths and owned by a scope."""

from __future__ import annotations

import json
from typing import Any, Sequence

from ...errors import StoreError
from ..base import ItemRow, ItemWrite, blob_to_matrix, in_listing_order, matrix_to_blob, namespace_bounds, page_plan
from ..dialect import Row
from .core import DELETED, SQLCore

ITEM_COLUMNS = "rid, scope_id, namespace, key, value, text, created_at, updated_at, ttl_seconds, expires_at, vec_rows"


def item_row(r: Row, with_vectors: bool) -> ItemRow:
    """A row of ``SELECT {ITEM_COLUMNS}, <embedding or NULL>`` as a record."""
    blob = r[11]
    return ItemRow(rid=r[0], scope_id=r[1], namespace=r[2], key=r[3], value_json=r[4], text=r[5],
                   embedding=blob_to_matrix(bytes(blob), r[10]) if with_vectors and blob is not None else None,
                   created_at=r[6], updated_at=r[7], ttl_seconds=r[8], expires_at=r[9])


def live_items(prefix: str, now: float, scope_id: int | None) -> tuple[str, list[Any]]:
    """(condition, parameters) of the items unexpired at ``now`` at or below namespace ``prefix``."""
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


class ItemsSQL(SQLCore):
    def write_items(self, writes: Sequence[ItemWrite], now: float) -> None:
        """Upserts and deletes in one transaction, holding the rows of the scopes written to (a
        concurrent ``delete_user`` either ran first, and the write fails whole, or waits for it).
        An upsert keeps the row: its ``created_at`` and its place in listing order."""
        if not writes:
            return
        for w in writes:
            self.dialect.storable(w.namespace, w.key)
        with self._write() as tx:
            owners = sorted({w.scope_id for w in writes if w.value is not None})
            if owners and len(tx.all("SELECT id FROM scopes WHERE id IN (?) AND user_id <> ''"
                                     " ORDER BY id FOR NO KEY UPDATE", owners)) != len(owners):
                raise StoreError(DELETED)
            for w in writes:
                if w.value is None:
                    tx.run("DELETE FROM items WHERE scope_id = ? AND namespace = ? AND key = ?",
                           w.scope_id, w.namespace, w.key)
                    continue
                tx.run("INSERT INTO items (scope_id, namespace, key, value, text, embedding, vec_rows, created_at,"
                       " updated_at, ttl_seconds, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT (scope_id, namespace, key) DO UPDATE SET value = excluded.value,"
                       " text = excluded.text, embedding = excluded.embedding, vec_rows = excluded.vec_rows,"
                       " updated_at = excluded.updated_at, ttl_seconds = excluded.ttl_seconds,"
                       " expires_at = excluded.expires_at",
                       w.scope_id, w.namespace, w.key, json.dumps(w.value, ensure_ascii=False),
                       self.dialect.clean(w.text) or "", matrix_to_blob(w.embedding),
                       0 if w.embedding is None else int(w.embedding.shape[0]), now, now, w.ttl_seconds, w.expires_at)

    def get_item(self, scope_id: int, namespace: str, key: str, now: float) -> ItemRow | None:
        row = self._db.once(lambda tx: tx.one(
            f"SELECT {ITEM_COLUMNS}, NULL FROM items WHERE scope_id = ? AND namespace = ? AND key = ?"
            " AND (expires_at IS NULL OR expires_at > ?)", scope_id, namespace, key, now))
        return None if row is None else item_row(row, False)

    def item_candidates(self, prefix: str, now: float, *, scope_id: int | None = None,
                        with_vectors: bool = False) -> list[ItemRow]:
        where, params = live_items(prefix, now, scope_id)
        vectors = "embedding" if with_vectors else "NULL"
        rows = self._db.once(lambda tx: tx.all(f"SELECT {ITEM_COLUMNS}, {vectors} FROM items WHERE {where}", *params))
        return in_listing_order([item_row(r, with_vectors) for r in rows])

    def item_page(self, prefix: str, now: float, *, limit: int, offset: int = 0,
                  scope_id: int | None = None) -> list[ItemRow]:
        where, params = live_items(prefix, now, scope_id)
        out: list[ItemRow] = []
        with self._read() as tx:
            stats = tx.all(f"SELECT namespace, MIN(rid), COUNT(*) FROM items WHERE {where} GROUP BY namespace", *params)
            for namespace, take, skip in page_plan(stats, limit, offset):
                rows = tx.all(f"SELECT {ITEM_COLUMNS}, NULL FROM items WHERE {where} AND namespace = ?"
                              " ORDER BY rid LIMIT ? OFFSET ?", *params, namespace, take, skip)
                out += [item_row(r, False) for r in rows]
        return out

    def item_namespaces(self, prefix: str, now: float, *, scope_id: int | None = None) -> list[str]:
        where, params = live_items(prefix, now, scope_id)
        return [r[0] for r in self._db.once(lambda tx: tx.all(f"SELECT DISTINCT namespace FROM items WHERE {where}",
                                                              *params))]

    def refresh_item_expiry(self, updates: Sequence[tuple[int, float]]) -> None:
        """New ``expires_at`` values, given as (rid, expires_at), in one transaction (items without a TTL keep none)."""
        if updates:
            self._db.write_batch([("UPDATE items SET expires_at = ? WHERE rid = ? AND expires_at IS NOT NULL",
                                   (expires, rid)) for rid, expires in updates], retry_safe=True)

    def purge_expired_items(self, now: float) -> int:
        with self._write() as tx:
            return tx.run("DELETE FROM items WHERE expires_at <= ?", now)
