-- Migration 3: items, the documents of the LangGraph store (memoryos_core.items), for SQLite and
-- PostgreSQL alike ({id}, {blob}, {bytewise}: see dialect.py). One row per (scope, namespace path,
-- key); `embedding` holds `vec_rows` float32 vectors (one per indexed text); `text` is what BM25
-- reads; `expires_at` (epoch seconds) is NULL without a TTL. `namespace` compares byte by byte, so
-- a prefix is a range its index serves.
CREATE TABLE IF NOT EXISTS items (
    rid         {id},
    scope_id    BIGINT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    namespace   TEXT {bytewise} NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    embedding   {blob},
    vec_rows    INTEGER NOT NULL DEFAULT 0,
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    ttl_seconds DOUBLE PRECISION,
    expires_at  DOUBLE PRECISION,
    UNIQUE (scope_id, namespace, key)
);
CREATE INDEX IF NOT EXISTS items_namespace ON items(namespace, rid, expires_at);
CREATE INDEX IF NOT EXISTS items_expiry ON items(expires_at) WHERE expires_at IS NOT NULL;
