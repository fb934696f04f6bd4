-- Lexicon snapshots (SQLite migration 5, PostgreSQL migration 6), for SQLite and PostgreSQL alike
-- ({blob}: see dialect.py). One row per scope: the BM25 lexicon of its searchable pages as the
-- engine serialised it (memoryos_core.retrieval.snapshot), covering every page whose vector number
-- (pages.vec_seq) is at most `watermark`. A cache: a new process loads it and reads only the pages
-- written after `watermark`; it can always be rebuilt from page text, and it goes with a forget.
CREATE TABLE IF NOT EXISTS lexicons (
    scope_id   BIGINT PRIMARY KEY REFERENCES scopes(id) ON DELETE CASCADE,
    watermark  BIGINT NOT NULL,
    data       {blob} NOT NULL,
    saved_at   DOUBLE PRECISION NOT NULL
);
