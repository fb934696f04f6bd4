"""Heat from reading, recorded off the read path.

Every retrieval that uses a segment's pages counts a visit on it (heat's N term). Writing that on
each retrieval would put a write transaction (on SQLite, the database's write lock) on every read;
instead visits are held here in memory and written in one transaction by the next pass of the
scope's worker: after the next add, on ``flush()`` / ``close()``, or once ``FLUSH_AT`` retrievals
are waiting. Heat is advisory (it orders persona work and archiving), so the visits of a process
that dies before that pass are lost; that is the whole cost, and ``docs/performance.md`` says so.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Iterable

from ..errors import StoreError
from ..storage.base import HeatParams, Store

log = logging.getLogger("memoryos.retrieval")


class VisitLog:
    """Segment visits waiting to be written, per scope."""

    #: Retrievals with visits held before the log asks for a write.
    FLUSH_AT = 64

    def __init__(self, store: Store, heat: HeatParams) -> None:
        self.store, self.heat = store, heat
        self._lock = threading.Lock()
        self._pending: dict[int, Counter[int]] = {}
        self._retrievals = 0

    def note(self, scope_id: int, segment_rids: Iterable[int]) -> bool:
        """Count one visit on each segment; True when enough are waiting that they should be written."""
        rids = set(segment_rids)
        if not rids:
            return False
        with self._lock:
            self._pending.setdefault(scope_id, Counter()).update(rids)
            self._retrievals += 1
            return self._retrievals >= self.FLUSH_AT

    @property
    def waiting(self) -> int:
        """Visits not yet written."""
        with self._lock:
            return sum(sum(c.values()) for c in self._pending.values())

    def flush(self) -> None:
        """Write the waiting visits: one transaction per scope (the store queues persona work when a
        segment got hot). A deleted user's visits are dropped; on any other failure they are kept for
        the next pass."""
        with self._lock:
            pending, self._pending, self._retrievals = self._pending, {}, 0
        for scope_id, counts in pending.items():
            visits = sorted(counts.elements())
            try:
                self.store.record_visits(scope_id, visits, self.heat)
            except StoreError as exc:  # the user was deleted meanwhile: nothing left to heat
                log.info("%d segment visits not recorded: %s", len(visits), exc)
            except Exception:
                with self._lock:
                    self._pending.setdefault(scope_id, Counter()).update(counts)
                raise

    def forget(self, scope_id: int) -> None:
        with self._lock:
            self._pending.pop(scope_id, None)
