"""Writing an import: the shared SQL of both databases, run inside one store transaction.

The engine validates the document and derives vectors (:mod:`memoryos_core.export_format`), then
hands an :class:`ImportBatch` to the store's ``import_rows``, which takes its write lock and calls
:func:`apply_import`. Any failure rolls the whole import back.

Identity: a record whose id, or its stand-in id for this memory, already belongs to the scope is
*present* and left exactly as it is, so importing the same export twice changes nothing. An id
held by another scope of the store (an export imported under another user id) is replaced by the
stand-in, and every reference to it follows. Profile fields the memory already has keep their
value; history entries already recorded (same target, event, values and time) are not repeated.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import InvalidInputError, StoreError
from .base import blob_to_vec, matrix_to_blob, vec_to_blob
from .dialect import Tx


@dataclass(frozen=True)
class ImportedSegment:
    #: (id in the export, stand-in id used when another memory of the store holds the first)
    ids: tuple[str, str]
    summary: str
    keywords: list[str]
    summary_source: str
    visits: int
    last_active: float
    archived: bool


@dataclass(frozen=True)
class ImportedPage:
    ids: tuple[str, str]
    #: Position in the export (>= 1, increasing); the stored seq is the scope's next_seq plus this.
    seq: int
    user_input: str
    agent_response: str
    timestamp: float
    created_at: float
    meta: dict[str, Any]
    analyzed: bool
    tokens: int
    embedding: np.ndarray
    #: Export id of the page's segment (None: short-term).
    segment: str | None


@dataclass(frozen=True)
class ImportedFact:
    ids: tuple[str, str]
    kind: str
    text: str
    slot: str | None
    refers_to: float | None
    source: str
    source_page_ids: list[str]
    active: bool
    created_at: float
    updated_at: float
    embedding: np.ndarray
    valid_until: float | None = None
    superseded_by: str | None = None


@dataclass(frozen=True)
class ImportedHistory:
    target_kind: str
    target_id: str
    event: str
    old_value: str | None
    new_value: str | None
    at: float


@dataclass(frozen=True)
class ImportedItem:
    """A LangGraph store item (``memoryos_core.items``): present already when the scope holds its
    (namespace, key), and then left as it is."""

    namespace: str
    key: str
    value_json: str
    text: str
    embedding: np.ndarray | None
    created_at: float
    updated_at: float
    ttl_seconds: float | None
    expires_at: float | None


@dataclass(frozen=True)
class ImportBatch:
    pages: list[ImportedPage] = field(default_factory=list)
    segments: list[ImportedSegment] = field(default_factory=list)
    facts: list[ImportedFact] = field(default_factory=list)
    history: list[ImportedHistory] = field(default_factory=list)
    profile_fields: dict[str, Any] = field(default_factory=dict)
    profile_updated_at: float | None = None
    items: list[ImportedItem] = field(default_factory=list)


@dataclass(frozen=True)
class ImportCounts:
    """What an import wrote, and what it found already present."""

    pages: int = 0
    segments: int = 0
    facts: int = 0
    profile_fields: int = 0
    history: int = 0
    pages_present: int = 0
    facts_present: int = 0
    items: int = 0
    items_present: int = 0


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _resolve(db: Tx, table: str, scope_id: int, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, bool]]:
    """(id to use, already present in this scope) for each (export id, stand-in id)."""
    owners: dict[str, int] = {}
    for chunk in _chunks(sorted({i for pair in pairs for i in pair})):
        owners.update((r[0], r[1]) for r in db.all(f"SELECT id, scope_id FROM {table} WHERE id IN (?)", list(chunk)))
    out = []
    for original, stand_in in pairs:
        mine = [i for i in (original, stand_in) if owners.get(i) == scope_id]
        if mine:
            out.append((mine[0], True))
        elif original not in owners:
            out.append((original, False))
        elif stand_in not in owners:
            out.append((stand_in, False))
        else:
            raise InvalidInputError(f"{original} belongs to other memories of this store under both of its ids")
    return out


def _insert_history(db: Tx, scope_id: int, entries: Sequence[ImportedHistory],
                    ids: dict[str, dict[str, str]]) -> int:
    """Entries not recorded yet (a multiset: an entry imported once is not imported again), in order."""
    have = Counter(tuple(r) for r in db.all(
        "SELECT target_kind, target_id, event, old_value, new_value, at FROM history WHERE scope_id = ?", scope_id))
    rows = []
    for h in entries:
        target = ids.get(h.target_kind, {}).get(h.target_id, h.target_id)
        key = (h.target_kind, target, h.event, h.old_value, h.new_value, h.at)
        if have[key] > 0:
            have[key] -= 1
            continue
        rows.append((scope_id, *key))
    db.many("INSERT INTO history (scope_id, target_kind, target_id, event, old_value, new_value, at)"
            " VALUES (?,?,?,?,?,?,?)", rows)
    return len(rows)


def _merge_profile(db: Tx, scope_id: int, fields: dict[str, Any], updated_at: float | None, now: float) -> int:
    """Add the fields this memory lacks; fields it has keep their value. Returns how many were added."""
    row = db.one("SELECT fields, updated_at FROM profiles WHERE scope_id = ?", scope_id)
    current = json.loads(row[0]) if row else {}
    added = {k: v for k, v in fields.items() if k not in current}
    if not added:
        return 0
    stamp = now if updated_at is None else updated_at
    if row is not None and row[1] is not None:
        stamp = max(stamp, row[1])
    encoded = json.dumps({**current, **added}, ensure_ascii=False)
    if row is None:
        db.run("INSERT INTO profiles (scope_id, fields, updated_at) VALUES (?, ?, ?)", scope_id, encoded, stamp)
    else:
        db.run("UPDATE profiles SET fields = ?, updated_at = ? WHERE scope_id = ?", encoded, stamp, scope_id)
    return len(added)


def _insert_items(db: Tx, scope_id: int, items: Sequence[ImportedItem]) -> int:
    """The LangGraph store's documents; a (namespace, key) the scope holds already is left as is."""
    added = 0
    for item in items:
        rows = 0 if item.embedding is None else int(item.embedding.shape[0])
        rid = db.one(
            "INSERT INTO items (scope_id, namespace, key, value, text, embedding, vec_rows, created_at, updated_at,"
            " ttl_seconds, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (scope_id, namespace, key) DO NOTHING RETURNING rid",
            scope_id, item.namespace, item.key, item.value_json, item.text.replace("\x00", ""),
            matrix_to_blob(item.embedding), rows, item.created_at, item.updated_at, item.ttl_seconds, item.expires_at)
        added += rid is not None
    return added


def apply_import(db: Tx, scope_id: int, batch: ImportBatch) -> ImportCounts:
    """Write ``batch`` into the scope; the caller holds the scope's write lock and owns the transaction."""
    now = time.time()
    state = db.one("SELECT next_seq, clock FROM scopes WHERE id = ? AND user_id <> ''", scope_id)
    if state is None:
        raise StoreError("this user's memory was deleted; open it again to start afresh")
    next_seq, clock = state
    seg_ids = _resolve(db, "segments", scope_id, [s.ids for s in batch.segments])
    page_ids = _resolve(db, "pages", scope_id, [p.ids for p in batch.pages])
    fact_ids = _resolve(db, "facts", scope_id, [f.ids for f in batch.facts])
    ids = {"segment": {s.ids[0]: final for s, (final, _) in zip(batch.segments, seg_ids)},
           "page": {p.ids[0]: final for p, (final, _) in zip(batch.pages, page_ids)},
           "fact": {f.ids[0]: final for f, (final, _) in zip(batch.facts, fact_ids)}}
    new_pages = [(p, final) for p, (final, present) in zip(batch.pages, page_ids) if not present]
    new_facts = [(f, final) for f, (final, present) in zip(batch.facts, fact_ids) if not present]
    members: dict[str, list[ImportedPage]] = {}
    for page, _ in new_pages:
        if page.segment is not None:
            members.setdefault(page.segment, []).append(page)
    written = [(s, final, present) for s, (final, present) in zip(batch.segments, seg_ids) if members.get(s.ids[0])]
    top = db.value("UPDATE scopes SET vec_counter = vec_counter + ? WHERE id = ? RETURNING vec_counter",
                   len(written) + len(new_pages) + len(new_facts), scope_id)
    vec_seq = iter(range(top - len(written) - len(new_pages) - len(new_facts) + 1, top + 1))

    # Segments that receive pages: created, or (present already) grown by the pages they lacked.
    placed: dict[str, tuple[int, bool]] = {}
    created = 0
    for segment, final, present in written:
        group = members[segment.ids[0]]
        added_sum = np.sum([p.embedding for p in group], axis=0).astype(np.float32)
        fresh = sum(not p.analyzed for p in group)
        if present:
            rid, archived, vec_sum = db.one("SELECT rid, archived, vec_sum FROM segments WHERE id = ?", final) or ()
            db.run("UPDATE segments SET vec_sum = ?, vec_seq = ?, page_count = page_count + ?,"
                   " fresh_pages = fresh_pages + ?, updated_at = ? WHERE rid = ?",
                   vec_to_blob(blob_to_vec(vec_sum) + added_sum), next(vec_seq), len(group), fresh, now, rid)
            placed[segment.ids[0]] = (rid, bool(archived))
            continue
        rid = db.value(
            "INSERT INTO segments (id, scope_id, summary, keywords, summary_source, vec_sum, vec_seq, page_count,"
            " fresh_pages, visits, last_active, archived, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING rid",
            final, scope_id, segment.summary, json.dumps(segment.keywords, ensure_ascii=False), segment.summary_source,
            vec_to_blob(added_sum), next(vec_seq), len(group), fresh, segment.visits, segment.last_active,
            segment.archived, now, now)
        placed[segment.ids[0]] = (rid, segment.archived)
        created += 1

    page_rows = []
    for page, final in new_pages:
        rid, archived = placed[page.segment] if page.segment is not None else (None, False)
        tier = "short" if rid is None else ("archived" if archived else "mid")
        page_rows.append((final, scope_id, next_seq + page.seq, page.user_input, page.agent_response, page.timestamp,
                          page.created_at, json.dumps(page.meta, ensure_ascii=False), tier, rid, page.analyzed,
                          page.tokens, vec_to_blob(page.embedding), next(vec_seq)))
    db.many("INSERT INTO pages (id, scope_id, seq, user_input, agent_response, ts, created_at, meta, tier, segment_rid,"
            " analyzed, tokens, embedding, vec_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", page_rows)

    fact_rows = [
        (final, scope_id, f.kind, f.text, f.slot, f.refers_to, f.source,
         json.dumps([ids["page"].get(p, p) for p in f.source_page_ids]), vec_to_blob(f.embedding), next(vec_seq),
         f.active, f.created_at, f.updated_at, f.valid_until,
         None if f.superseded_by is None else ids["fact"].get(f.superseded_by, f.superseded_by))
        for f, final in new_facts
    ]
    db.many("INSERT INTO facts (id, scope_id, kind, text, slot, refers_to, source, source_pages, embedding, vec_seq,"
            " active, created_at, updated_at, valid_until, superseded_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            fact_rows)

    items = _insert_items(db, scope_id, batch.items)
    fields = _merge_profile(db, scope_id, batch.profile_fields, batch.profile_updated_at, now)
    history = _insert_history(db, scope_id, batch.history, ids)
    if new_pages:
        next_seq += max(p.seq for p, _ in new_pages)
        clock = max([clock, *(p.timestamp for p, _ in new_pages)])
        db.run("UPDATE scopes SET next_seq = ?, clock = ? WHERE id = ?", next_seq, clock, scope_id)
    return ImportCounts(pages=len(new_pages), segments=created, facts=len(new_facts), profile_fields=fields,
                        history=history, pages_present=len(batch.pages) - len(new_pages),
                        facts_present=len(batch.facts) - len(new_facts), items=items,
                        items_present=len(batch.items) - items)


__all__ = ["ImportBatch", "ImportCounts", "ImportedFact", "ImportedHistory", "ImportedItem", "ImportedPage",
           "ImportedSegment", "apply_import"]
