"""PostgreSQL schema management: versioned migrations applied once, atomically, under a lock;
the server-side write functions of migration 2 behave like the client-side code they replace."""

from __future__ import annotations

import threading
import time
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


def test_add_page_is_idempotent_by_page_id(pg_dsn: str) -> None:
    """A call lost with its connection is retried: the second attempt must not add a second page."""
    s = PostgresStore(pg_dsn)
    try:
        sid = s.scope("u", "a")
        call = "SELECT o_seq, o_enqueued FROM memoryos_add_page(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        params = (sid, "pg_retried", "hello", "hi", 1.0, time.time(), "{}", 2, None, 0, 1)
        first = s._call(call, params)
        second = s._call(call, params)
        assert first == (1, True) and second == (1, False)
        assert [p.id for p in s.list_pages(sid, tier=None, limit=10, offset=0)] == ["pg_retried"]
        assert s.scope_state(sid).clock == 1.0 and [j["kind"] for j in s.open_jobs(sid)] == ["consolidate"]
        with pytest.raises(StoreError, match="deleted"):
            s._call(call, (sid + 1000, "pg_other", "x", "y", 1.0, time.time(), "{}", 2, None, 10, 8))
    finally:
        s.close()
