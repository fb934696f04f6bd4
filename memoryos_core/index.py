"""In-process vector indexes, kept current incrementally from the store.

Each (scope, table) has one index. A search first asks the store for the scope's counters (one
indexed row): vectors written since the last sync are added (a replaced vector retires its old
entry), and only when something was removed (``vector_epoch`` moved) does the index compare its
ids with the store's, retiring the missing ones. Nothing is rebuilt per query, and writes by other
processes are seen at the next search.

Small tables use exact inner-product search. A table that grows past ``HNSW_THRESHOLD`` vectors
switches to an HNSW graph (sub-millisecond at 100k pages, recall ~0.99 at these settings).
Retired entries are skipped at search time and compacted away once they pass a quarter of the
index.

Building a graph takes seconds to tens of seconds (about 30 s for 100k vectors on 2 cores), so it
happens on a background thread from a snapshot of the live vectors while the current index keeps
answering (exactly, before the first graph). The next operation after the build adopts the new
graph and replays what changed since the snapshot: vectors added or replaced are added to it,
vectors removed are retired.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field

import faiss
import numpy as np

from .shutdown import register_native
from .storage.base import ScopeState, Store, VectorTable

log = logging.getLogger("memoryos.index")

TABLES: tuple[VectorTable, ...] = ("pages", "segments", "facts_user", "facts_assistant")
HNSW_THRESHOLD = 20_000
HNSW_M = 32
HNSW_EF_SEARCH = 96
#: Added to the niceness of a background graph build's thread (it yields the CPU to queries).
BUILD_NICENESS = 10
#: Generation numbers: every FAISS index an entry serves from gets a new one (see ``VectorIndex.generation``).
_GENERATIONS = itertools.count(1)


@dataclass
class VectorIndex:
    """Vectors under store row ids; labels are positions in the FAISS index."""

    dim: int
    hnsw: bool = False
    index: faiss.Index = None  # type: ignore[assignment]
    label_of: dict[int, int] = field(default_factory=dict)
    rid_of: list[int] = field(default_factory=list)
    retired: set[int] = field(default_factory=set)
    seq: int = 0
    #: True: build graphs on a background thread (the default); False: build them in the caller.
    background_builds: bool = True
    _build: "_GraphBuild | None" = field(default=None, repr=False)
    #: Changes whenever the index is replaced (a rebuild adopted), so followers know positions restarted.
    generation: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = self._empty(self.hnsw)
        self.generation = next(_GENERATIONS)

    def _empty(self, hnsw: bool) -> faiss.Index:
        if hnsw:
            index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
            return index
        return faiss.IndexFlatIP(self.dim)

    @property
    def live(self) -> int:
        return len(self.label_of)

    @property
    def positions(self) -> int:
        """Entries ever added to this generation of the index, live and retired."""
        return len(self.rid_of)

    def ids(self) -> list[int]:
        """Row ids of the live entries, in the order their entries were added."""
        return list(self.label_of)

    def holds(self, rid: int) -> bool:
        return rid in self.label_of

    def ids_added_since(self, position: int) -> list[int]:
        """Row ids of the entries added at ``position`` or later that are still live, in order."""
        return [rid for rid in self.rid_of[position:] if rid in self.label_of]

    def add(self, rids: np.ndarray, vectors: np.ndarray) -> None:
        self.adopt_build()
        ids: list[int] = np.asarray(rids, dtype=np.int64).tolist()
        first = not self.rid_of  # a new index (a process's first sync): nothing to retire
        if not first:  # replaced vectors retire their old entries
            for rid in ids:
                self.remove(rid)
        start = len(self.rid_of)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index.add(vectors)
        self.label_of.update(zip(ids, range(start, start + len(ids))))
        self.rid_of.extend(ids)
        if not self.hnsw and self.live > HNSW_THRESHOLD:
            self._rebuild(hnsw=True, live_vectors=vectors if first and self.live == len(ids) else None)

    def remove(self, rid: int) -> None:
        label = self.label_of.pop(rid, None)
        if label is not None:
            self.retired.add(label)
            if len(self.retired) > max(64, len(self.rid_of) // 4):
                self._rebuild(self.hnsw)

    def keep_only(self, rids: set[int]) -> None:
        for rid in [r for r in self.label_of if r not in rids]:
            self.remove(rid)

    def _rebuild(self, hnsw: bool, live_vectors: np.ndarray | None = None) -> None:
        """A fresh index of the live vectors (compacting retired entries, or switching to a graph).
        ``live_vectors``: those vectors in label order, when the caller holds them (a new index just
        filled; copying 100k vectors back out of FAISS costs half a second)."""
        if self._build is not None:  # one build at a time; its adoption replays what changed meanwhile
            return
        labels = sorted(self.label_of.values())
        if live_vectors is not None:
            vectors = live_vectors
        else:
            vectors = (self.index.reconstruct_batch(np.asarray(labels, dtype=np.int64)) if labels
                       else np.zeros((0, self.dim), dtype=np.float32))
        snapshot = {self.rid_of[label]: label for label in labels}
        build = _GraphBuild(self._empty(hnsw), hnsw, np.ascontiguousarray(vectors, dtype=np.float32), snapshot)
        if hnsw and self.background_builds and len(labels) > 0:
            self._build = build
            build.start()
        else:
            build.run()
            if build.error is not None:
                raise build.error
            self._build = build
            self.adopt_build()

    def adopt_build(self) -> None:
        """Switch to a finished background build, replaying the changes made since its snapshot."""
        build = self._build
        if build is None or not build.done.is_set():
            return
        self._build = None
        if build.error is not None:  # keep serving from the current index; a later change retries
            log.warning("vector index build failed, still serving the previous index: %r", build.error)
            return
        old_index, old_label_of = self.index, self.label_of
        rids = list(build.snapshot)  # label i of the new index holds rids[i]
        self.index, self.hnsw, self.rid_of = build.index, build.hnsw, rids
        self.generation = next(_GENERATIONS)
        self.label_of, self.retired = {}, set()
        for label, rid in enumerate(rids):
            if old_label_of.get(rid) == build.snapshot[rid]:
                self.label_of[rid] = label
            else:  # removed or replaced since the snapshot
                self.retired.add(label)
        fresh = [rid for rid in old_label_of if rid not in self.label_of]  # added or replaced since
        if fresh:
            vectors = old_index.reconstruct_batch(np.asarray([old_label_of[r] for r in fresh], dtype=np.int64))
            start = len(self.rid_of)
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            for offset, rid in enumerate(fresh):
                self.label_of[rid] = start + offset
                self.rid_of.append(rid)

    def build_finished(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` for a background build; True when none is left running."""
        build = self._build
        return build is None or build.done.wait(timeout)

    @property
    def building(self) -> bool:
        return self._build is not None and not self._build.done.is_set()

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        self.adopt_build()
        if k <= 0 or self.live == 0:
            return []
        want = min(k + len(self.retired), self.index.ntotal)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # one query: OpenMP start-up costs more than it saves (20x at 12k vectors)
        try:
            scores, labels = self.index.search(query.reshape(1, -1).astype(np.float32), want)
        finally:
            faiss.omp_set_num_threads(threads)
        out: list[tuple[int, float]] = []
        for label, score in zip(labels[0], scores[0]):
            if label < 0 or label in self.retired:
                continue
            out.append((self.rid_of[label], float(score)))
            if len(out) == k:
                break
        return out

    def vector(self, rid: int) -> np.ndarray | None:
        label = self.label_of.get(rid)
        return None if label is None else self.index.reconstruct(label)

    def vectors(self, rids: list[int]) -> list[np.ndarray | None]:
        """Stored vectors of several rows at once (None for a row not in the index)."""
        labels = [self.label_of.get(rid, -1) for rid in rids]
        known = [label for label in labels if label >= 0]
        if not known:
            return [None] * len(rids)
        try:
            block = self.index.reconstruct_batch(np.asarray(known, dtype=np.int64))
        except RuntimeError:  # an index type without batch reconstruction
            block = np.vstack([self.index.reconstruct(label) for label in known])
        it = iter(block)
        return [next(it) if label >= 0 else None for label in labels]


class _GraphBuild:
    """A new index filled from a snapshot of live vectors, on a thread of its own or in the caller."""

    def __init__(self, index: faiss.Index, hnsw: bool, vectors: np.ndarray, snapshot: dict[int, int]) -> None:
        self.index, self.hnsw, self.vectors = index, hnsw, vectors
        self.snapshot = snapshot  # rid -> its label in the index the snapshot was taken from
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if len(self.vectors):
                self.index.add(self.vectors)
        except BaseException as exc:  # noqa: BLE001 - reported through ``error``; the old index keeps serving
            self.error = exc
        finally:
            self.vectors = np.zeros((0, 0), dtype=np.float32)
            self.done.set()

    def start(self) -> None:
        threading.Thread(target=self._run_yielding, name="memoryos-index-build", daemon=True).start()

    def _run_yielding(self) -> None:
        """``run`` at a lower CPU priority, so queries answered meanwhile (the first one of a new
        process above all) are not slowed by the build. Linux sets niceness per thread (the build's
        OpenMP workers, started from this thread, inherit it); elsewhere it runs as is."""
        if sys.platform.startswith("linux"):
            try:
                tid = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + BUILD_NICENESS))
            except OSError:
                pass
        self.run()


class IndexCache:
    """The vector indexes of the scopes this process has touched.

    ``lock`` guards every index; hold it while reading an ``entry`` so a concurrent ``sync`` cannot
    change the index under you.
    """

    def __init__(self, store: Store, dim: int) -> None:
        self._store = store
        self.dim = dim
        self.lock = threading.RLock()
        self._indexes: dict[tuple[int, VectorTable], VectorIndex] = {}
        self._epochs: dict[int, int] = {}
        self._counters: dict[int, int] = {}
        register_native(self)

    def quiesce(self, deadline: float) -> bool:
        """At exit: wait for graph builds and calls in flight, then keep other threads out of FAISS
        (every FAISS call but a graph build runs under ``lock``)."""
        builds_done = self.wait_for_builds(None, max(0.0, deadline - time.monotonic()))
        return self.lock.acquire(timeout=max(0.0, deadline - time.monotonic())) and builds_done

    def sync(self, scope_id: int, state: ScopeState | None = None) -> None:
        """Bring the scope's indexes up to date with the store."""
        state = state or self._store.scope_state(scope_id)
        with self.lock:
            if self._counters.get(scope_id) == state.vec_counter and self._epochs.get(scope_id) == state.vector_epoch:
                return
            removed = scope_id in self._epochs and self._epochs[scope_id] != state.vector_epoch
            for table in TABLES:
                entry = self._indexes.setdefault((scope_id, table), VectorIndex(self.dim))
                if removed:
                    entry.keep_only(self._store.live_vector_ids(scope_id, table))
                self._pull(scope_id, table, entry)
            self._epochs[scope_id] = state.vector_epoch
            self._counters[scope_id] = state.vec_counter

    def _pull(self, scope_id: int, table: VectorTable, entry: VectorIndex) -> None:
        rids, vectors, max_seq = self._store.vectors_since(scope_id, table, entry.seq)
        if len(rids) == 0:
            return
        if vectors.shape[1] != self.dim:
            raise ValueError(
                f"stored vectors have {vectors.shape[1]} dimensions but the embedder makes {self.dim}: "
                "open this store with the embedder it was built with"
            )
        if table == "segments":  # stored as sums; search on centroids
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1, norms)
        entry.add(rids, vectors)
        entry.seq = max_seq

    def search(self, scope_id: int, table: VectorTable, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self.lock:
            entry = self._indexes.get((scope_id, table))
            return [] if entry is None else entry.search(query, k)

    def vector(self, scope_id: int, table: VectorTable, rid: int) -> np.ndarray | None:
        with self.lock:
            entry = self._indexes.get((scope_id, table))
            return None if entry is None else entry.vector(rid)

    def vectors(self, scope_id: int, table: VectorTable, rids: list[int]) -> list[np.ndarray | None]:
        with self.lock:
            entry = self._indexes.get((scope_id, table))
            return [None] * len(rids) if entry is None else entry.vectors(rids)

    def wait_for_builds(self, scope_id: int | None = None, timeout: float | None = None) -> bool:
        """Wait for the background graph builds (of one scope, or all) and adopt them; False if
        ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.lock:
            entries = [e for (scope, _), e in self._indexes.items() if scope_id is None or scope == scope_id]
        finished = True
        for entry in entries:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            finished = entry.build_finished(left) and finished  # outside the lock: searches go on
            with self.lock:
                entry.adopt_build()
        return finished

    def entry(self, scope_id: int, table: VectorTable) -> VectorIndex | None:
        """The scope's index for ``table`` (None before its first ``sync``); read it holding ``lock``."""
        return self._indexes.get((scope_id, table))

    def epoch(self, scope_id: int) -> int | None:
        """The scope's ``vector_epoch`` as of its last ``sync`` (removals up to it are applied)."""
        return self._epochs.get(scope_id)

    def size(self, scope_id: int, table: VectorTable) -> int:
        entry = self._indexes.get((scope_id, table))
        return 0 if entry is None else entry.live

    def forget(self, scope_id: int) -> None:
        with self.lock:
            for table in TABLES:
                self._indexes.pop((scope_id, table), None)
            self._epochs.pop(scope_id, None)
            self._counters.pop(scope_id, None)
