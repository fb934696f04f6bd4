"""Durable jobs: claimed with a lease, released with backoff, one open job per kind and scope."""

from __future__ import annotations

import time
from typing import Callable

from ..base import Job, JobKind, OpenJob
from .core import SQLCore


class JobsSQL(SQLCore):
    def enqueue(self, scope_id: int, kind: JobKind) -> bool:
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            return self._enqueue(tx, scope_id, kind)

    def claim_job(self, scope_id: int, owner: str, lease_seconds: float,
                  owner_is_dead: Callable[[str], bool] | None = None) -> Job | None:
        """Take the next due job of the scope (consolidation first). A running job is taken over when its
        lease expired or ``owner_is_dead`` says its worker is gone (a crashed process on this machine).
        Jobs another transaction is claiming or applying are skipped (``SKIP LOCKED``), never waited for;
        claims take no scope lock."""
        now = time.time()
        with self._write() as tx:
            if owner_is_dead is not None:
                for job_id, job_owner in tx.all("SELECT id, owner FROM jobs WHERE scope_id = ? AND status = 'running'"
                                                " AND lease_until >= ? FOR UPDATE SKIP LOCKED", scope_id, now):
                    if job_owner and owner_is_dead(job_owner):
                        tx.run("UPDATE jobs SET lease_until = 0 WHERE id = ?", job_id)
            row = tx.one("SELECT id, kind, attempts FROM jobs WHERE scope_id = ? AND ((status = 'pending'"
                         " AND not_before <= ?) OR (status = 'running' AND lease_until < ?))"
                         " ORDER BY kind = 'persona', id LIMIT 1 FOR UPDATE SKIP LOCKED", scope_id, now, now)
            if row is None:
                return None
            tx.run("UPDATE jobs SET status = 'running', owner = ?, lease_until = ?, updated_at = ? WHERE id = ?",
                   owner, now + lease_seconds, now, row[0])
        return Job(id=row[0], scope_id=scope_id, kind=row[1], attempts=row[2])

    def finish_job(self, job: Job, owner: str) -> None:
        with self._write() as tx:
            self._check_lease(tx, job, owner)
            self._finish_job(tx, job)

    def release_job(self, job: Job, owner: str, error: str, retry_at: float, *, give_up: bool) -> None:
        """Record a failed attempt; the job becomes due again at ``retry_at`` (or is parked as failed)."""
        with self._write() as tx:
            tx.run("UPDATE jobs SET status = ?, attempts = attempts + 1, not_before = ?, lease_until = NULL,"
                   " owner = NULL, last_error = ?, updated_at = ? WHERE id = ? AND (owner = ? OR owner IS NULL)",
                   "failed" if give_up else "pending", retry_at, self.dialect.clean(error[:2000]), time.time(), job.id,
                   owner)

    def open_jobs(self, scope_id: int) -> list[OpenJob]:
        rows = self._db.once(lambda tx: tx.all("SELECT id, kind, status, attempts, not_before, last_error FROM jobs"
                                               " WHERE scope_id = ? ORDER BY id", scope_id))
        return [OpenJob(id=r[0], kind=r[1], status=r[2], attempts=r[3], not_before=r[4], last_error=r[5]) for r in rows]

    def retry_failed_jobs(self, scope_id: int) -> int:
        """Make failed jobs due again: per kind, the newest failed one, unless one is already open."""
        with self._write() as tx:
            self._lock_scope(tx, scope_id)
            return len(tx.all(
                "UPDATE jobs SET status = 'pending', not_before = 0, attempts = 0 WHERE id IN ("
                "SELECT MAX(f.id) FROM jobs f WHERE f.scope_id = ? AND f.status = 'failed' AND NOT EXISTS"
                " (SELECT 1 FROM jobs j WHERE j.scope_id = f.scope_id AND j.kind = f.kind"
                " AND j.status IN ('pending', 'running')) GROUP BY f.kind) RETURNING id", scope_id))
