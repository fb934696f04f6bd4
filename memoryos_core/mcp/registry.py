"""The memories of many users: one ``Memoryos`` per (user_id, assistant_id), opened on first use.

Each memory serves one request at a time; beyond ``max_open_memories`` the least recently used idle
ones are closed (their pending jobs stay durable and resume when they are opened again). All of them
share one store, where every row carries its scope, so users never see each other's memories.
"""

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from ..errors import MemoryOSError
from ..memory import Memoryos
from ..usage import UsageTracker
from ..validation import check_id
from .settings import SERVER_NAME, ServerSettings, server_version
from .shapes import jsonable, profile_uri

log = logging.getLogger("memoryos.mcp")


class ServerClosedError(MemoryOSError):
    """A request arrived while the server was shutting down."""


@dataclass
class _Entry:
    memory: Memoryos
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    closed: bool = False


class MemoryRegistry:
    """One :class:`Memoryos` per (user_id, assistant_id): created lazily, cached, one request at a time each.

    Thread-safe. All memories share one :class:`SQLiteStore` (one database, rows scoped by user and
    assistant). Beyond ``max_open_memories`` the least recently used idle memories are closed;
    their pending jobs stay durable in the store and resume when they are opened again.
    """

    def __init__(self, settings: ServerSettings, *, memory_kwargs: Optional[dict[str, Any]] = None) -> None:
        self.settings = settings
        self._extra = dict(memory_kwargs or {})
        self._cond = threading.Condition(threading.Lock())
        self._entries: "OrderedDict[tuple[str, str], _Entry]" = OrderedDict()
        self._forgetting: set[str] = set()
        self._store: Any = None
        self._closing_threads: list[threading.Thread] = []
        self._closed = False
        self._close_lock = threading.Lock()
        self.usage = UsageTracker()  # every LLM and embedding call since start, evicted memories included
        self.started_at = time.time()

    # -- opening -------------------------------------------------------------------------------

    def resolve_ids(self, user_id: Optional[str], assistant_id: Optional[str]) -> tuple[str, str]:
        uid = self.settings.user_id if user_id is None or user_id == "" else user_id
        aid = self.settings.assistant_id if assistant_id is None or assistant_id == "" else assistant_id
        return check_id(uid, "user_id"), check_id(aid, "assistant_id")

    def _shared_store(self) -> Any:
        if self._store is None:
            from ..storage import open_store

            self._store = open_store(self.settings.data_storage_path)  # a folder or a postgresql:// DSN
        return self._store

    def _create(self, key: tuple[str, str]) -> Memoryos:
        kwargs = {**self.settings.memory_kwargs(), **self._extra}
        kwargs.setdefault("background", True)  # add_memory returns once stored; consolidation runs in a thread
        return Memoryos(user_id=key[0], assistant_id=key[1], store=self._shared_store(), on_call=self.usage.record,
                        **kwargs)

    def _checkout(self, key: tuple[str, str]) -> _Entry:
        with self._cond:
            while True:
                if self._closed:
                    raise ServerClosedError("the memory server is shutting down; try again later")
                if key[0] not in self._forgetting:
                    break
                self._cond.wait(timeout=1.0)
            entry = self._entries.get(key)
            if entry is None:
                entry = _Entry(self._create(key))
                self._entries[key] = entry
            self._entries.move_to_end(key)
            entry.users += 1
            evicted = self._pop_idle_beyond_capacity()
        if evicted:
            self._close_later(evicted)
        return entry

    def _release(self, entry: _Entry) -> None:
        with self._cond:
            entry.users -= 1
            evicted = self._pop_idle_beyond_capacity()
        if evicted:
            self._close_later(evicted)

    def _pop_idle_beyond_capacity(self) -> list[_Entry]:
        """Caller holds the lock. Least recently used idle entries past the capacity."""
        out: list[_Entry] = []
        excess = len(self._entries) - self.settings.max_open_memories
        if excess <= 0:
            return out
        for key in list(self._entries):
            if excess <= 0:
                break
            entry = self._entries[key]
            if entry.users == 0:
                del self._entries[key]
                out.append(entry)
                excess -= 1
        return out

    def _close_later(self, entries: list[_Entry]) -> None:
        """Close evicted memories off the request path (stopping a worker can take a moment)."""
        def run() -> None:
            for entry in entries:
                self._close_entry(entry, flush=False, timeout=0)

        thread = threading.Thread(target=run, name="memoryos-mcp-evict", daemon=True)
        with self._cond:
            self._closing_threads = [t for t in self._closing_threads if t.is_alive()] + [thread]
        thread.start()

    @staticmethod
    def _close_entry(entry: _Entry, *, flush: bool, timeout: float, lock_timeout: float = -1) -> None:
        got = entry.lock.acquire(timeout=lock_timeout)
        try:
            if entry.closed:
                return
            entry.closed = True
            try:
                entry.memory.close(flush=flush, timeout=timeout)
            except Exception:  # closing must go on for the others
                log.exception("closing the memory of %s/%s failed", entry.memory.user_id, entry.memory.assistant_id)
        finally:
            if got:
                entry.lock.release()

    @contextlib.contextmanager
    def open(self, user_id: Optional[str] = None, assistant_id: Optional[str] = None) -> Iterator[Memoryos]:
        """The memory of (user_id, assistant_id), held exclusively for the ``with`` block."""
        key = self.resolve_ids(user_id, assistant_id)
        while True:
            entry = self._checkout(key)
            entry.lock.acquire()
            if entry.closed:  # evicted or forgotten between checkout and lock: take the new one
                entry.lock.release()
                self._release(entry)
                continue
            break
        try:
            yield entry.memory
        finally:
            entry.lock.release()
            self._release(entry)

    # -- whole-user operations ---------------------------------------------------------------------

    def forget_user(self, user_id: Optional[str] = None, assistant_id: Optional[str] = None) -> tuple[str, str]:
        """Erase everything of ``user_id`` (every assistant). Open memories of that user are closed first."""
        key = self.resolve_ids(user_id, assistant_id)
        uid = key[0]
        with self._cond:
            while uid in self._forgetting:
                self._cond.wait(timeout=1.0)
            if self._closed:
                raise ServerClosedError("the memory server is shutting down; try again later")
            self._forgetting.add(uid)
            popped = [self._entries.pop(k) for k in [k for k in self._entries if k[0] == uid]]
        try:
            for entry in popped:  # waits for requests in flight on them
                self._close_entry(entry, flush=False, timeout=0)
            with self._cond:
                entry = _Entry(self._create(key))
            with entry.lock:
                entry.memory.delete_all()
            with self._cond:
                self._entries[key] = entry
        finally:
            with self._cond:
                self._forgetting.discard(uid)
                self._cond.notify_all()
        return key

    def status(self) -> dict[str, Any]:
        """Server settings, per-memory stats (tiers, jobs, usage) and totals, as JSON-ready data."""
        with self.open():  # the configured user is always reported
            pass
        with self._cond:
            keys = list(self._entries)
        memories = []
        for uid, aid in keys:
            try:
                with self.open(uid, aid) as memory:
                    memories.append({**jsonable(memory.stats()), "profile_uri": profile_uri(uid, aid)})
            except ServerClosedError:
                raise
            except MemoryOSError as exc:
                memories.append({"user_id": uid, "assistant_id": aid, "error": str(exc)})
        tiers: dict[str, int] = {}
        for stats in memories:
            for name, count in (stats.get("tiers") or {}).items():
                tiers[name] = tiers.get(name, 0) + int(count)
        usage = self.usage.snapshot()
        return {
            "status": "success",
            "server": {"name": SERVER_NAME, "version": server_version(), "uptime_seconds": round(time.time() - self.started_at, 1),
                       "open_memories": len(memories), **self.settings.public()},
            "totals": {"tiers": tiers, "pending_jobs": tiers.get("pending_jobs", 0),
                       "failed_jobs": tiers.get("failed_jobs", 0), "usage": usage["totals"]},
            "usage": usage,
            "memories": memories,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def reopen(self) -> None:
        with self._cond:
            self._closed = False

    def close(self, timeout: Optional[float] = None) -> None:
        """Flush (bounded by ``timeout`` in all) and close every memory, then the shared store. Idempotent."""
        timeout = self.settings.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if not self._close_lock.acquire(timeout=max(0.1, timeout)):
            return  # someone else is closing
        try:
            with self._cond:
                self._closed = True
                entries = list(self._entries.values())
                self._entries.clear()
                closing = list(self._closing_threads)
                self._cond.notify_all()
            for entry in entries:
                left = max(0.0, deadline - time.monotonic())
                self._close_entry(entry, flush=left > 0, timeout=left, lock_timeout=max(0.1, left))
            for thread in closing:
                thread.join(max(0.0, deadline - time.monotonic()))
            if any(thread.is_alive() for thread in closing):
                # evicted memories are still stopping their workers: closing the store now would fail them
                log.warning("background work still running at shutdown; the store is left to close at exit")
                self._store = None
            if self._store is not None:
                try:
                    self._store.close()
                except Exception:
                    log.exception("closing the store failed")
                self._store = None
        finally:
            self._close_lock.release()
