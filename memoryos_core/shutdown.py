"""A clean interpreter exit while memory threads are busy.

Background threads (the job worker, graph builds, server worker threads) call native libraries
(onnxruntime, FAISS) with the GIL released. If the interpreter tears those libraries down while a
thread is inside one, the C++ runtime aborts the process ("terminate called without an active
exception", exit code 134). Every native call of the library runs under a lock of its owner (the
embedder's run lock, the index cache's lock), so at exit we:

1. ask every job runner to stop at its next safe point and give it a moment to finish its step;
2. take each registered native lock and keep it: a call in flight finishes first, a thread that
   arrives later waits on the lock until the process is gone (daemon threads simply vanish).

Work a stopped runner did not finish is durable (jobs live in the store) and resumes at the next
open. The main thread may still use the library from later exit hooks: the locks are reentrant.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Protocol

log = logging.getLogger("memoryos.shutdown")

#: Longest time the exit waits for runners to finish their current step.
RUNNER_GRACE_SECONDS = 2.0
#: Longest time the exit waits for native calls in flight (an embedding batch, a graph build).
NATIVE_WAIT_SECONDS = 30.0


class Stoppable(Protocol):
    def request_stop(self) -> None: ...

    def join(self, timeout: float) -> bool: ...


class Quiescable(Protocol):
    def quiesce(self, deadline: float) -> bool:
        """Wait (until ``deadline`` on the monotonic clock) for native work in flight, then keep
        every other thread out of native code for good. True if nothing was left running."""
        ...


_runners: "weakref.WeakSet[Stoppable]" = weakref.WeakSet()
_native: "weakref.WeakSet[Quiescable]" = weakref.WeakSet()
_registry_lock = threading.Lock()
_exiting = False


def register_runner(runner: Stoppable) -> None:
    with _registry_lock:
        _runners.add(runner)


def register_native(owner: Quiescable) -> None:
    with _registry_lock:
        _native.add(owner)


def exiting() -> bool:
    """True once the interpreter has started to exit (threads should wind down)."""
    return _exiting


def quiesce_all(runner_grace: float = RUNNER_GRACE_SECONDS, native_wait: float = NATIVE_WAIT_SECONDS) -> bool:
    """Stop runners and close native code to other threads; True if everything was idle in time."""
    global _exiting
    _exiting = True
    with _registry_lock:
        runners, owners = list(_runners), list(_native)
    for runner in runners:
        runner.request_stop()
    deadline = time.monotonic() + runner_grace
    for runner in runners:
        runner.join(max(0.0, deadline - time.monotonic()))
    deadline = time.monotonic() + native_wait
    clean = True
    for owner in owners:
        clean = owner.quiesce(deadline) and clean
    if not clean:
        log.warning("memoryos: native work was still running at exit")
    return clean


atexit.register(quiesce_all)
