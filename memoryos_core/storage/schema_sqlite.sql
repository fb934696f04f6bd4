-- MemoryOS schema, version 1. One database holds every user; rows are scoped by scopes.id.
CREATE TABLE IF NOT EXISTS scopes (
    id            INTEGER PRIMARY KEY,
    user_id       TEXT NOT NULL,
    assistant_id  TEXT NOT NULL,
    clock         REAL NOT NULL DEFAULT 0,      -- latest conversation time seen: "now" for heat recency
    next_seq      INTEGER NOT NULL DEFAULT 0,   -- order of pages within the scope
    vec_counter   INTEGER NOT NULL DEFAULT 0,   -- bumped when any vector is written
    vector_epoch  INTEGER NOT NULL DEFAULT 0,   -- bumped when a vector is removed: indexes reload
    UNIQUE (user_id, assistant_id)
);

CREATE TABLE IF NOT EXISTS segments (
    rid            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    scope_id       INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    summary        TEXT NOT NULL,
    keywords       TEXT NOT NULL DEFAULT '[]',  -- JSON list
    summary_source TEXT NOT NULL DEFAULT 'heuristic',
    vec_sum        BLOB NOT NULL,               -- float32 sum of page vectors; centroid = normalised
    vec_seq        INTEGER NOT NULL,
    page_count     INTEGER NOT NULL DEFAULT 0,
    fresh_pages    INTEGER NOT NULL DEFAULT 0,  -- unanalysed pages (heat's L term; 0 after persona analysis)
    visits         INTEGER NOT NULL DEFAULT 0,  -- retrievals since last analysis (heat's N term)
    last_active    REAL NOT NULL,               -- conversation time of last page or retrieval
    archived       INTEGER NOT NULL DEFAULT 0,
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_scope ON segments(scope_id, archived);
CREATE INDEX IF NOT EXISTS segments_vec ON segments(scope_id, vec_seq);
CREATE INDEX IF NOT EXISTS segments_fresh ON segments(scope_id) WHERE fresh_pages > 0;

CREATE TABLE IF NOT EXISTS pages (
    rid            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    scope_id       INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    user_input     TEXT NOT NULL,
    agent_response TEXT NOT NULL,
    ts             REAL NOT NULL,               -- conversation time
    created_at     REAL NOT NULL,
    meta           TEXT NOT NULL DEFAULT '{}',
    tier           TEXT NOT NULL DEFAULT 'short' CHECK (tier IN ('short', 'mid', 'archived')),
    segment_rid    INTEGER REFERENCES segments(rid) ON DELETE SET NULL,
    analyzed       INTEGER NOT NULL DEFAULT 0,
    tokens         INTEGER NOT NULL,
    embedding      BLOB,                        -- float32, NULL until embedded
    vec_seq        INTEGER
);
CREATE INDEX IF NOT EXISTS pages_scope_tier_seq ON pages(scope_id, tier, seq);
CREATE INDEX IF NOT EXISTS pages_scope_seq ON pages(scope_id, seq);
CREATE INDEX IF NOT EXISTS pages_segment ON pages(segment_rid);
CREATE INDEX IF NOT EXISTS pages_vec ON pages(scope_id, vec_seq);
CREATE INDEX IF NOT EXISTS pages_unembedded ON pages(scope_id, rid) WHERE embedding IS NULL;

CREATE TABLE IF NOT EXISTS facts (
    rid          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    scope_id     INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'assistant')),
    text         TEXT NOT NULL,
    slot         TEXT,                          -- exclusive attribute (e.g. location): newer supersedes
    refers_to    REAL,                          -- conversation time the fact is about
    source       TEXT NOT NULL,
    source_pages TEXT NOT NULL DEFAULT '[]',
    embedding    BLOB NOT NULL,
    vec_seq      INTEGER NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_scope ON facts(scope_id, kind, active);
CREATE INDEX IF NOT EXISTS facts_vec ON facts(scope_id, vec_seq);

CREATE TABLE IF NOT EXISTS profiles (
    scope_id   INTEGER PRIMARY KEY REFERENCES scopes(id) ON DELETE CASCADE,
    fields     TEXT NOT NULL DEFAULT '{}',
    updated_at REAL
);

CREATE TABLE IF NOT EXISTS history (
    id          INTEGER PRIMARY KEY,
    scope_id    INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,                  -- page | fact | profile | segment
    target_id   TEXT NOT NULL,
    event       TEXT NOT NULL,                  -- ADD | UPDATE | DELETE | SUPERSEDE | EVICT | ARCHIVE
    old_value   TEXT,
    new_value   TEXT,
    at          REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS history_target ON history(scope_id, target_id);

CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY,
    scope_id    INTEGER NOT NULL REFERENCES scopes(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('consolidate', 'persona')),
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL NOT NULL DEFAULT 0,
    lease_until REAL,
    owner       TEXT,
    last_error  TEXT,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
-- At most one open job of each kind per scope: concurrent writers never run the same work twice.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_open ON jobs(scope_id, kind) WHERE status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS jobs_claim ON jobs(scope_id, status, not_before);
