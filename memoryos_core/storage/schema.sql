-- MemoryOS schema (migration 1), one text for SQLite and PostgreSQL: {id} is the dialect's identity
-- column, {blob} its byte type (see dialect.py); the other types mean the same on both (SQLite reads
-- BIGINT as INTEGER, DOUBLE PRECISION as REAL, and keeps BOOLEAN as 0/1). One database holds every
-- user: every row carries its scope and every query filters on it.
CREATE TABLE IF NOT EXISTS scopes (
    id            {id},
    user_id       TEXT NOT NULL,                   -- '' marks the tombstone of a deleted user
    assistant_id  TEXT NOT NULL,
    clock         DOUBLE PRECISION NOT NULL DEFAULT 0,  -- latest conversation time seen: "now" for heat recency
    next_seq      BIGINT NOT NULL DEFAULT 0,       -- order of pages within the scope
    vec_counter   BIGINT NOT NULL DEFAULT 0,       -- bumped (under this row's lock) when a vector is written
    vector_epoch  BIGINT NOT NULL DEFAULT 0,       -- bumped when a vector is removed: indexes reload
    UNIQUE (user_id, assistant_id)
);

CREATE TABLE IF NOT EXISTS segments (
    rid            {id},
    id             TEXT NOT NULL UNIQUE,
    scope_id       BIGINT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    summary        TEXT NOT NULL,
    keywords       TEXT NOT NULL DEFAULT '[]',     -- JSON list
    summary_source TEXT NOT NULL DEFAULT 'heuristic',
    vec_sum        {blob} NOT NULL,                -- float32 sum of page vectors; centroid = normalised
    vec_seq        BIGINT NOT NULL,
    page_count     INTEGER NOT NULL DEFAULT 0,
    fresh_pages    INTEGER NOT NULL DEFAULT 0,     -- unanalysed pages (heat's L term)
    visits         INTEGER NOT NULL DEFAULT 0,     -- retrievals since last analysis (heat's N term)
    last_active    DOUBLE PRECISION NOT NULL,      -- conversation time of last page or retrieval
    archived       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     DOUBLE PRECISION NOT NULL,
    updated_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_scope ON segments(scope_id, archived);
CREATE INDEX IF NOT EXISTS segments_vec ON segments(scope_id, vec_seq);
CREATE INDEX IF NOT EXISTS segments_fresh ON segments(scope_id) WHERE fresh_pages > 0;

CREATE TABLE IF NOT EXISTS pages (
    rid            {id},
    id             TEXT NOT NULL UNIQUE,
    scope_id       BIGINT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,                -- next_seq, taken under the scope's write lock
    user_input     TEXT NOT NULL,
    agent_response TEXT NOT NULL,
    ts             DOUBLE PRECISION NOT NULL,      -- conversation time
    created_at     DOUBLE PRECISION NOT NULL,
    meta           TEXT NOT NULL DEFAULT '{}',     -- JSON object, kept as written
    tier           TEXT NOT NULL DEFAULT 'short' CHECK (tier IN ('short', 'mid', 'archived')),
    segment_rid    BIGINT REFERENCES segments(rid) ON DELETE SET NULL,
    analyzed       BOOLEAN NOT NULL DEFAULT FALSE,
    tokens         INTEGER NOT NULL,
    embedding      {blob},                         -- float32, NULL until embedded
    vec_seq        BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS pages_scope_seq ON pages(scope_id, seq);
CREATE INDEX IF NOT EXISTS pages_scope_tier_seq ON pages(scope_id, tier, seq);
CREATE INDEX IF NOT EXISTS pages_segment ON pages(segment_rid);
CREATE INDEX IF NOT EXISTS pages_vec ON pages(scope_id, vec_seq);
CREATE INDEX IF NOT EXISTS pages_unembedded ON pages(scope_id, rid) WHERE embedding IS NULL;

CREATE TABLE IF NOT EXISTS facts (
    rid          {id},
    id           TEXT NOT NULL UNIQUE,
    scope_id     BIGINT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'assistant')),
    text         TEXT NOT NULL,
    slot         TEXT,                             -- exclusive attribute (e.g. location): newer supersedes
    refers_to    DOUBLE PRECISION,                 -- conversation time the fact is about
    source       TEXT NOT NULL,
    source_pages TEXT NOT NULL DEFAULT '[]',       -- JSON list of page ids
    embedding    {blob} NOT NULL,
    vec_seq      BIGINT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_scope ON facts(scope_id, kind, active);
CREATE INDEX IF NOT EXISTS facts_vec ON facts(scope_id, vec_seq);

CREATE TABLE IF NOT EXISTS profiles (
    scope_id   BIGINT PRIMARY KEY REFERENCES scopes(id) ON DELETE CASCADE,
    fields     TEXT NOT NULL DEFAULT '{}',         -- JSON object, merged one field at a time
    updated_at DOUBLE PRECISION
);

CREATE TABLE IF NOT EXISTS history (
    id          {id},
    scope_id    BIGINT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,                     -- page | fact | profile | segment
    target_id   TEXT NOT NULL,
    event       TEXT NOT NULL,                     -- ADD | UPDATE | DELETE | SUPERSEDE | EVICT | ARCHIVE | ...
    old_value   TEXT,
    new_value   TEXT,
    at          DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS history_target ON history(scope_id, target_id);

CREATE TABLE IF NOT EXISTS jobs (
    id          {id},
    scope_id    BIGINT NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('consolidate', 'persona')),
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_until DOUBLE PRECISION,
    owner       TEXT,
    last_error  TEXT,
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL
);
-- At most one open job of each kind per scope: concurrent writers never run the same work twice.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_open ON jobs(scope_id, kind) WHERE status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs(scope_id, status, not_before);
