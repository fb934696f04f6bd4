"""PostgreSQL schema management: versioned migrations applied once, atomically, under a lock;
a store from before the shared SQL layer is upgraded in place."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from memoryos_core import StoreError
from memoryos_core.storage import postgres
from memoryos_core.storage.base import Migration
from memoryos_core.storage.postgres import PostgresStore

pytest_plugins = ["pg_server"]
pytestmark = pytest.mark.postgres


def versions(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def test_first_opens_race_and_migrate_once(pg_dsn: str) -> None:
    barrier = threading.Barrier(6)

    def open_one(_: int) -> PostgresStore:
        barrier.wait(10)
        return PostgresStore(pg_dsn, max_size=1)

    with ThreadPoolExecutor(6) as pool:
        stores = list(pool.map(open_one, range(6)))
    for s in stores:
        s.close()
    assert versions(pg_dsn) == [m.version for m in postgres.MIGRATIONS]


def test_a_failing_migration_changes_nothing(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    PostgresStore(pg_dsn).close()
    broken = Migration(len(postgres.MIGRATIONS) + 1, "broken", lambda: [
        "CREATE TABLE half_done (x INTEGER)", "SELECT no_such_function()"])
    monkeypatch.setattr(postgres, "MIGRATIONS", (*postgres.MIGRATIONS, broken))
    with pytest.raises(StoreError, match="could not prepare the MemoryOS schema"):
        PostgresStore(pg_dsn)
    monkeypatch.undo()
    with psycopg.connect(pg_dsn) as conn:  # DDL is transactional: the half-done table is gone too
        assert conn.execute("SELECT to_regclass('half_done')").fetchone()[0] is None
    assert versions(pg_dsn) == [m.version for m in postgres.MIGRATIONS]
    PostgresStore(pg_dsn).close()  # and the store still opens


def test_a_missing_schema_is_a_clear_error(pg_server: Any) -> None:
    with pytest.raises(StoreError, match="could not prepare the MemoryOS schema"):
        PostgresStore(pg_server.dsn(search_path="no_such_schema"))


def test_a_version_2_store_loses_its_server_side_functions(pg_dsn: str) -> None:
    """Migration 2 once created write functions holding a copy of the overflow rule; migration 4
    drops them, and the shared SQL does those writes."""
    PostgresStore(pg_dsn).close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # back to what a version-2 store looked like
        conn.execute("DELETE FROM schema_migrations WHERE version > 2")
        conn.execute("DROP TABLE items")
        conn.execute("DROP TABLE lexicons")
        conn.execute("ALTER TABLE facts DROP COLUMN valid_until")
        conn.execute("ALTER TABLE facts DROP COLUMN superseded_by")
        conn.execute("CREATE FUNCTION memoryos_add_page(p_scope BIGINT) RETURNS BIGINT LANGUAGE sql AS 'SELECT 1'")
        conn.execute("CREATE FUNCTION memoryos_set_page_embeddings(p_scope BIGINT) RETURNS INTEGER LANGUAGE sql"
                     " AS 'SELECT 1'")
    s = PostgresStore(pg_dsn)
    try:
        with psycopg.connect(pg_dsn) as conn:
            left = conn.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'memoryos%'").fetchall()
            lexicons = conn.execute("SELECT to_regclass('lexicons')").fetchone()[0]
        assert left == [] and versions(pg_dsn) == [1, 2, 3, 4, 5, 6] and lexicons is not None
        sid = s.scope("u", "a")
        page, queued = s.add_page(sid, user_input="hello", agent_response="hi", timestamp=1.0, meta={}, tokens=2,
                                  embedding=None, consolidate_at=1)
        assert (page.seq, queued) == (1, True) and s.scope_state(sid).clock == 1.0
    finally:
        s.close()
