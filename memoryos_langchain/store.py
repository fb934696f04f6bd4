"""MemoryOS as a LangGraph ``BaseStore``: the long-term memory of LangChain 1.x agents.

    store = MemoryOSStore("./memory")                      # or "postgresql://..."
    agent = create_agent(model, tools=[create_manage_memory_tool(("memories", "{langgraph_user_id}")),
                                       create_search_memory_tool(("memories", "{langgraph_user_id}"))],
                         store=store)

This module only translates: namespaces to MemoryOS owners (:class:`NamespaceMapping`) and
LangGraph operations and records to the core's item verbs (``memoryos_core.items``), where
validation, indexing, ranking, filters and TTL live.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

from memoryos_core import Embedder, InvalidInputError, Memoryos, StoreError, default_embedder
from memoryos_core.items import ItemCatalog, ItemChange, ItemHit, MemoryText, Namespace, Owner, StoredItem
from memoryos_core.storage import open_store
from memoryos_core.validation import check_id

DEFAULT_ASSISTANT = "default_assistant"
SHARED_USER = "store:shared"


@dataclass(frozen=True)
class NamespaceMapping:
    """Which MemoryOS user (and assistant) owns the items of a namespace.

    * ``user``: position of the user id in a namespace. The default, 1, reads LangMem's convention
      ``("memories", "<user id>", ...)``; use 0 for ``("<user id>", "memories")``.
    * ``assistant``: position of an assistant id, or None: every item goes to ``assistant_id``.
    * ``shared_user``: owner of namespaces too short to hold a user id (``("docs",)`` when
      ``user=1``): items every user of the application shares.

    The remaining labels name a collection of the owner's items; namespaces are stored whole, so
    listing and prefix searches see them exactly as written. A label at the user (or assistant)
    position must be a valid MemoryOS id (letters, digits, ``_.:@+-``; LangGraph already forbids
    ``.``).
    """

    user: int = 1
    assistant: int | None = None
    assistant_id: str = DEFAULT_ASSISTANT
    shared_user: str = SHARED_USER

    def __post_init__(self) -> None:
        for name, position in (("user", self.user), ("assistant", self.assistant)):
            if position is not None and (isinstance(position, bool) or not isinstance(position, int) or position < 0):
                raise ValueError(f"NamespaceMapping.{name} must be a non-negative position, got {position!r}")
        if self.assistant is not None and self.assistant == self.user:
            raise ValueError("the user and the assistant cannot sit at the same namespace position")
        check_id(self.assistant_id, "assistant_id")
        check_id(self.shared_user, "shared_user")

    def owner_of(self, namespace: Sequence[str]) -> Owner:
        """(user_id, assistant_id) owning the items of ``namespace``."""
        if len(namespace) <= self.user:
            return (self.shared_user, self.assistant_id)
        user = check_id(namespace[self.user], f"the user id at position {self.user} of namespace {tuple(namespace)!r}")
        assistant = self.assistant_id
        if self.assistant is not None and len(namespace) > self.assistant:
            assistant = check_id(namespace[self.assistant],
                                 f"the assistant id at position {self.assistant} of namespace {tuple(namespace)!r}")
        return (user, assistant)

    def pinned_owner(self, prefix: Sequence[str]) -> Owner | None:
        """The one owner of everything under ``prefix``, or None when the prefix spans several."""
        deepest = max(self.user, self.assistant if self.assistant is not None else -1)
        return self.owner_of(prefix) if len(prefix) > deepest else None


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _item(stored: StoredItem) -> Item:
    return Item(value=stored.value, key=stored.key, namespace=stored.namespace, created_at=_when(stored.created_at),
                updated_at=_when(stored.updated_at))


def _search_item(hit: ItemHit) -> SearchItem:
    stored = hit.item
    return SearchItem(namespace=stored.namespace, key=stored.key, value=stored.value,
                      created_at=_when(stored.created_at), updated_at=_when(stored.updated_at), score=hit.score)


class MemoryOSStore(BaseStore):
    """A LangGraph ``BaseStore`` whose items live in MemoryOS, next to each user's memory.

    Args:
        data_storage_path: a folder or ``.db`` file (SQLite), or a ``postgresql://`` DSN; any
            number of processes may open the same one.
        mapping: how namespaces map to MemoryOS users and assistants (:class:`NamespaceMapping`).
        include_memory: a search with a query under a prefix that names one user also ranks that
            user's conversation pages and knowledge with the items, so the agent's ``search`` sees
            everything MemoryOS knows about the user. They come back as items in the searched
            namespace keyed by their page or fact id, with value ``{"content": ..., "kind": "page" |
            "user_knowledge" | "assistant_knowledge", ...}``.
        index_fields: field paths whose text is indexed by default (LangGraph's ``index["fields"]``);
            ``put(..., index=[...])`` overrides per item and ``index=False`` leaves an item unindexed.
        embedder: vectors for items and queries (default: MemoryOS's local embedder). Keep one
            embedder per store; memories opened by the store use it as well.
        ttl: LangGraph's ``TTLConfig``: ``default_ttl`` (minutes), ``refresh_on_read`` (default
            True), ``sweep_interval_minutes`` (for :meth:`start_ttl_sweeper`). Expired items are
            never returned; ``put(..., ttl=minutes)`` works without a config too.
        memory_kwargs: extra ``Memoryos`` arguments for the memories the store opens (``include_memory``,
            :meth:`memory`, :meth:`forget_user`).
        max_open_memories: how many of those stay open (least recently used ones are closed).
        clock: "now" in epoch seconds (tests move it to exercise TTLs).
    """

    supports_ttl: bool = True

    def __init__(self, data_storage_path: str | os.PathLike[str] = "./memoryos_data", *,
                 mapping: NamespaceMapping | None = None, include_memory: bool = False,
                 index_fields: Sequence[str] = ("$",), embedder: Embedder | None = None, ttl: TTLConfig | None = None,
                 memory_kwargs: dict[str, Any] | None = None, max_open_memories: int = 32,
                 clock: Callable[[], float] = time.time) -> None:
        self.mapping = mapping or NamespaceMapping()
        self.include_memory = include_memory
        self.ttl_config = dict(ttl) if ttl else None  # type: ignore[assignment]
        if max_open_memories < 1:
            raise ValueError("max_open_memories must be at least 1")
        self.max_open_memories = max_open_memories
        self.embedder = embedder or default_embedder()
        self._memory_kwargs = dict(memory_kwargs or {})
        self._core_store = open_store(data_storage_path)
        self.catalog = ItemCatalog(self._core_store, self.embedder, index_fields=index_fields, clock=clock)
        self._memories: OrderedDict[Owner, Memoryos] = OrderedDict()
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._stop_sweeping = threading.Event()
        self._closed = False

    # -- the contract ---------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations as LangGraph's ``InMemoryStore`` does: reads see the store as it was before
        the batch; then every put and delete is applied in one transaction (last write of a key wins)."""
        ops = list(ops)
        results: list[Result] = []
        changes: list[ItemChange] = []
        for op in ops:
            if isinstance(op, GetOp):
                stored = self.catalog.get(self.mapping.owner_of(op.namespace), op.namespace, op.key,
                                          refresh_ttl=op.refresh_ttl)
                results.append(None if stored is None else _item(stored))
            elif isinstance(op, SearchOp):
                results.append([_search_item(hit) for hit in self._search(op)])
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list(op))
            elif isinstance(op, PutOp):
                changes.append(ItemChange(self.mapping.owner_of(op.namespace), op.namespace, op.key, op.value,
                                          op.index, op.ttl))
                results.append(None)
            else:
                raise InvalidInputError(f"unknown store operation {type(op).__name__}")
        if changes:
            self.catalog.write(changes)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def _search(self, op: SearchOp) -> list[ItemHit]:
        owner = self.mapping.pinned_owner(op.namespace_prefix)
        memory: list[MemoryText] = []
        if self.include_memory and owner is not None and op.query:
            memory = self.memory(*owner).memory_texts(op.namespace_prefix, op.query, op.limit, op.offset)
        return self.catalog.search(op.namespace_prefix, owner=owner, query=op.query, filter=op.filter, limit=op.limit,
                                   offset=op.offset, refresh_ttl=op.refresh_ttl, memory=memory)

    def _list(self, op: ListNamespacesOp) -> list[Namespace]:
        prefix = suffix = None
        for condition in op.match_conditions or ():
            if condition.match_type == "prefix":
                prefix = condition.path
            elif condition.match_type == "suffix":
                suffix = condition.path
            else:
                raise InvalidInputError(f"unsupported namespace match type {condition.match_type!r}")
        return self.catalog.list_namespaces(prefix=prefix, suffix=suffix, max_depth=op.max_depth, limit=op.limit,
                                            offset=op.offset)

    # -- users ----------------------------------------------------------------------------------

    def memory(self, user_id: str, assistant_id: str | None = None) -> Memoryos:
        """The ``Memoryos`` of a user on this store's database and embedder (opened once, kept among
        the ``max_open_memories`` most recently used)."""
        owner = (check_id(user_id, "user_id"), check_id(assistant_id or self.mapping.assistant_id, "assistant_id"))
        evicted: list[Memoryos] = []
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            memory = self._memories.get(owner)
            if memory is None:
                memory = Memoryos(user_id=owner[0], assistant_id=owner[1], store=self._core_store,
                                  embedder=self.embedder, **self._memory_kwargs)
                self._memories[owner] = memory
            self._memories.move_to_end(owner)
            while len(self._memories) > self.max_open_memories:
                evicted.append(self._memories.popitem(last=False)[1])
        for old in evicted:
            old.close(flush=False)
        return memory

    def forget_user(self, user_id: str) -> None:
        """Erase everything MemoryOS holds about ``user_id`` (every assistant): the store's items,
        conversation pages, knowledge, profile, history."""
        memory = self.memory(user_id)
        memory.delete_all()
        with self._lock:  # memories of the user's other assistants point at deleted scopes
            stale = [owner for owner in self._memories if owner[0] == user_id and self._memories[owner] is not memory]
            closing = [self._memories.pop(owner) for owner in stale]
        for old in closing:
            old.close(flush=False)

    # -- time to live ---------------------------------------------------------------------------

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many (expired items are never returned anyway)."""
        return self.catalog.purge_expired()

    async def asweep_ttl(self) -> int:
        return await asyncio.to_thread(self.sweep_ttl)

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> threading.Thread:
        """Sweep expired items every ``sweep_interval_minutes`` (default: the TTL config's, else 5)
        on a daemon thread, until :meth:`stop_ttl_sweeper` or :meth:`close`."""
        interval = sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return self._sweeper
            self._stop_sweeping.clear()

            def sweep() -> None:
                while not self._stop_sweeping.wait(float(interval) * 60.0):
                    self.sweep_ttl()

            self._sweeper = threading.Thread(target=sweep, name="memoryos-ttl-sweeper", daemon=True)
            self._sweeper.start()
            return self._sweeper

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; False if it was still running after ``timeout`` seconds."""
        self._stop_sweeping.set()
        sweeper = self._sweeper
        if sweeper is None:
            return True
        sweeper.join(timeout)
        return not sweeper.is_alive()

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the sweeper, close the memories the store opened, then the database connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            memories, self._memories = list(self._memories.values()), OrderedDict()
        self.stop_ttl_sweeper()
        for memory in memories:
            memory.close()
        self._core_store.close()

    def __enter__(self) -> MemoryOSStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryOSStore({self._core_store!r}, mapping={self.mapping!r})"


__all__ = ["MemoryOSStore", "NamespaceMapping"]
