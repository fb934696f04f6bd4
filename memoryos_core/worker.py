"""Runs the durable jobs of one scope: embedding backlog, consolidation, persona updates.

Jobs live in the store, so they survive a crash and are shared by every process that opens the
same memory: a job is claimed with a lease, and a lease that expires (its worker died) is taken
over. A failing job is released with exponential backoff and jitter; its partial work was never
committed. The thread starts when there is work and ends when there is none.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from typing import Callable

from .config import MemoryConfig
from .errors import LLMNotConfiguredError
from .shutdown import register_runner
from .storage.base import ConflictError, Job, Store

log = logging.getLogger("memoryos.worker")

EMBED_BATCH = 64
#: Seconds between looks while another process runs this scope's job.
RUNNING_ELSEWHERE_POLL = 0.5
_HOST = socket.gethostname()


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` names a worker process of this machine that no longer exists."""
    host, _, rest = owner.partition("|")
    pid_text = rest.split("-", 1)[0]
    if host != _HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class JobRunner:
    def __init__(self, store: Store, scope_id: int, config: MemoryConfig, handlers: dict[str, Callable[[int, Job, str], None]],
                 embed_backlog: Callable[[int], int], upkeep: Callable[[], None] | None = None) -> None:
        self.store, self.scope_id, self.config = store, scope_id, config
        self.handlers = handlers
        self.embed_backlog = embed_backlog
        self.upkeep = upkeep  # what readers leave for the worker (heat visits), run before the jobs
        self.owner = f"{_HOST}|{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = False
        self._lock = threading.Lock()
        self.last_error: str | None = None
        register_runner(self)

    # -- one step ------------------------------------------------------------------------

    def run_due(self, max_jobs: int = 1000) -> int:
        """Run due work in the calling thread; returns the number of jobs finished."""
        done = 0
        if self.upkeep is not None:  # never raises
            self.upkeep()
        while not self._stop and self.embed_backlog(EMBED_BATCH):
            pass
        for _ in range(max_jobs):
            if self._stop:  # at exit or close: the jobs left stay durable for the next open
                break
            job = self.store.claim_job(self.scope_id, self.owner, self.config.job_lease_seconds, owner_is_dead)
            if job is None:
                break
            if self._run(job):
                done += 1
        return done

    def _run(self, job: Job) -> bool:
        try:
            self.handlers[job.kind](self.scope_id, job, self.owner)
            if self.last_error is not None:
                log.info("job %s (%s) succeeded after earlier failures", job.id, job.kind)
            self.last_error = None
            return True
        except ConflictError as exc:
            log.info("job %s conflicted (%s); it will run again on fresh data", job.id, exc)
            self.store.release_job(job, self.owner, str(exc), time.time(), give_up=False)
        except Exception as exc:  # LLM down, bad answers twice, ...: nothing was committed
            attempts = job.attempts + 1
            give_up = attempts >= self.config.job_max_attempts and not isinstance(exc, LLMNotConfiguredError)
            delay = min(300.0, 0.5 * 2 ** min(attempts, 10)) * (0.5 + random.random())
            error = f"{type(exc).__name__}: {exc}"
            # An outage fails every attempt the same way: say it once, not once per retry.
            level = logging.WARNING if give_up or error != self.last_error else logging.DEBUG
            self.last_error = error
            log.log(level, "job %s (%s) failed, attempt %d: %s%s", job.id, job.kind, attempts, error,
                    " (parked: retry_failed_jobs() makes it due again)" if give_up else "")
            self.store.release_job(job, self.owner, self.last_error, time.time() + delay, give_up=give_up)
        return False

    # -- background thread ---------------------------------------------------------------

    def wake(self) -> None:
        with self._lock:
            if self._stop:
                return
            self._idle.clear()
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=f"memoryos-worker-{self.scope_id}", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        try:
            while not self._stop:
                self._wake.clear()
                try:
                    self.run_due()
                    delay = self._next_due()
                except Exception:  # store trouble: keep the thread alive, try again shortly
                    log.exception("worker step failed")
                    delay = 1.0
                if delay is None:
                    with self._lock:
                        if not self._wake.is_set():
                            self._idle.set()
                            self._thread = None
                            return
                    continue
                self._wake.wait(timeout=max(0.01, delay))
        finally:
            self._idle.set()

    def _next_due(self) -> float | None:
        """Seconds until the next open job is due; None when there is none."""
        jobs = [j for j in self.store.open_jobs(self.scope_id) if j["status"] in ("pending", "running")]
        if not jobs:
            return None if not self.store.unembedded_pages(self.scope_id, 1) else 0.0
        if any(j["status"] == "pending" for j in jobs):
            return max(0.0, min(j["not_before"] for j in jobs if j["status"] == "pending") - time.time())
        return RUNNING_ELSEWHERE_POLL  # another process holds the job: look again soon

    def wait_idle(self, timeout: float | None) -> bool:
        return self._idle.wait(timeout)

    def request_stop(self) -> None:
        """Ask the thread to end after its current step (an embedding batch or one job)."""
        with self._lock:
            self._stop = True
            self._wake.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the thread; True once it has ended."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the thread; True once it has ended (its job, if any, is finished or released)."""
        self.request_stop()
        return self.join(timeout)
