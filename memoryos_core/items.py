"""Items: JSON documents an agent files under a namespace path, kept in the user's memory store.

This is what a LangGraph ``BaseStore`` needs (``memoryos_langchain.MemoryOSStore`` translates):
put / get / delete by (namespace, key), search under a namespace prefix by structured filter and by
meaning, namespace listing, and time-to-live. Every rule lives here; the storage backends run the
writes and reads they are handed (``Store.write_items``, ``item_candidates``, ...).

* **Ownership.** Every item belongs to an *owner*, a ``(user_id, assistant_id)`` pair (a MemoryOS
  scope). Deleting a user (``Memoryos.delete_all``) deletes their items. Two owners may use the same
  namespace without meeting: (owner, namespace, key) is unique. Reads name an owner, or (for a
  multi-user application's own store) ``owner=None``: every owner's items under the prefix.
* **Text.** An item is indexed by the texts at its index fields (``"$"``, the whole value, by
  default; ``"a.b"``, ``"list[*].text"``, ``"list[0]"``, ``"list[-1]"``, ``"*"`` and ``"{a,b}"`` like
  LangGraph). Each text gets a vector from the memory's embedder; all of them together are the text
  BM25 reads. ``index=False`` stores the item unindexed: found by filters, never by a query.
* **Ranking.** A query ranks the candidate items the way MemoryOS ranks pages: standardised cosine
  (the best of an item's vectors) plus standardised BM25 over the candidates, mapped to (0, 1)
  (:func:`memoryos_core.retrieval.ranking.rank_texts`). Unindexed items follow the ranked ones,
  without a score. Without a query, items come in listing order: namespaces by their oldest item,
  items by first insertion; an upsert keeps an item's place and ``created_at`` (``updated_at`` moves).
* **Filters.** ``{"field": value}`` matches equal values (nested mappings match field by field,
  lists element by element); ``{"field": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte": value}}``
  compares (order operators compare numbers; a missing or non-numeric value does not match).
* **Time to live.** ``ttl_minutes`` on a put makes the item expire that long after it was last
  written, or last read when reads refresh (the default). An expired item is never returned nor
  listed; :meth:`ItemCatalog.purge_expired` deletes expired rows for good.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np

from .errors import InvalidInputError, StoreError
from .providers.base import Embedder
from .providers.metered import MeteredEmbedder
from .retrieval.ranking import rank_texts
from .storage.base import NAMESPACE_SEPARATOR, ItemRow, ItemWrite, namespace_path
from .text_limits import QUERY_CHARS, PiecewiseEmbedder, clip_query
from .usage import UsageTracker
from .validation import check_id

Namespace = tuple[str, ...]
Owner = tuple[str, str]
HitKind = Literal["item", "page", "user_knowledge", "assistant_knowledge"]

#: Largest item value accepted, as UTF-8 JSON.
MAX_ITEM_BYTES = 1_000_000
#: Longest key and longest namespace path (labels joined by ".").
MAX_KEY_CHARS = 1024
MAX_NAMESPACE_CHARS = 1024
#: Most texts (hence vectors) one item may be indexed by.
MAX_TEXTS_PER_ITEM = 256
DEFAULT_INDEX_FIELDS: tuple[str, ...] = ("$",)
_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


@dataclass(frozen=True)
class StoredItem:
    """One item as read back. Times are epoch seconds; ``expires_at`` is None without a TTL."""

    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at: float
    updated_at: float
    ttl_minutes: float | None = None
    expires_at: float | None = None


@dataclass(frozen=True)
class ItemHit:
    """A search result: a stored item (``kind="item"``), or, in a search that includes the user's
    memory, a conversation page or a knowledge entry shown as an item (``value["content"]`` holds its
    text). ``score`` is in (0, 1) for ranked results and None for unindexed items."""

    item: StoredItem
    score: float | None
    kind: HitKind = "item"
    rid: int | None = field(default=None, repr=False, compare=False)  # the stored row (refreshing its TTL)


@dataclass(frozen=True)
class MemoryText:
    """A conversation page or knowledge entry offered to an item search (``Memoryos.search_items``
    with ``include_memory``): ranked together with the items, on one scale, by its text and vector."""

    item: StoredItem
    kind: HitKind
    text: str
    vector: np.ndarray


@dataclass(frozen=True)
class ItemChange:
    """One requested write for :meth:`ItemCatalog.write`: an upsert, or a delete (``value`` None)."""

    owner: Owner
    namespace: Namespace
    key: str
    value: Mapping[str, Any] | None
    index: Sequence[str] | Literal[False] | None = None
    ttl_minutes: float | None = None


# -- checks -------------------------------------------------------------------------------------

def check_namespace(namespace: object, what: str = "namespace", *, allow_empty: bool = False,
                    wildcards: bool = False) -> Namespace:
    """A namespace as a tuple of labels: non-empty strings without ``.`` or NUL (``*`` allowed where
    ``wildcards``)."""
    if isinstance(namespace, str) or not isinstance(namespace, (tuple, list)):
        raise InvalidInputError(f"{what} must be a tuple of strings, got {type(namespace).__name__}")
    labels = tuple(namespace)
    if not labels and not allow_empty:
        raise InvalidInputError(f"{what} must have at least one label")
    for label in labels:
        if not isinstance(label, str) or not label:
            raise InvalidInputError(f"{what} labels must be non-empty strings, got {label!r} in {labels!r}")
        if NAMESPACE_SEPARATOR in label or "\x00" in label:
            raise InvalidInputError(f"{what} labels cannot contain '.' or NUL, got {label!r} in {labels!r}")
        if label == "*" and not wildcards:
            raise InvalidInputError(f"'*' is a wildcard, only allowed in namespace listing conditions: {labels!r}")
    if len(namespace_path(labels)) > MAX_NAMESPACE_CHARS:
        raise InvalidInputError(f"{what} is longer than {MAX_NAMESPACE_CHARS} characters")
    return labels


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise InvalidInputError(f"an item key must be a string, got {type(key).__name__}")
    if "\x00" in key or len(key) > MAX_KEY_CHARS:
        raise InvalidInputError(f"an item key must be at most {MAX_KEY_CHARS} characters without NUL")
    return key


def check_value(value: object) -> dict[str, Any]:
    """A JSON object (string keys, JSON values) within ``MAX_ITEM_BYTES``, as a plain dict."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"an item value must be a mapping (a JSON object), got {type(value).__name__}")
    try:
        encoded = json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"an item value must hold JSON values only (convert dates and objects): {exc}") from exc
    if len(encoded.encode()) > MAX_ITEM_BYTES:
        raise InvalidInputError(f"an item value is larger than {MAX_ITEM_BYTES} bytes as JSON")
    decoded = json.loads(encoded)
    if any(not isinstance(k, str) for k in value):
        raise InvalidInputError("an item value's keys must be strings")
    return decoded


def check_ttl(ttl_minutes: object) -> float | None:
    if ttl_minutes is None:
        return None
    if isinstance(ttl_minutes, bool) or not isinstance(ttl_minutes, (int, float)) or not math.isfinite(ttl_minutes) \
            or ttl_minutes <= 0:
        raise InvalidInputError(f"ttl must be a positive number of minutes or None, got {ttl_minutes!r}")
    return float(ttl_minutes)


def check_fields(fields: object) -> tuple[str, ...]:
    if isinstance(fields, str) or not isinstance(fields, (list, tuple)) or \
            not all(isinstance(f, str) and f for f in fields):
        raise InvalidInputError(f"index fields must be a list of non-empty path strings, got {fields!r}")
    return tuple(fields)


def check_page(limit: object, offset: object) -> tuple[int, int]:
    for name, value in (("limit", limit), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError(f"{name} must be a non-negative integer, got {value!r}")
    return int(limit), int(offset)  # type: ignore[call-overload]


def check_filter(filter: object) -> dict[str, Any] | None:
    if filter is None:
        return None
    if not isinstance(filter, Mapping) or not all(isinstance(k, str) for k in filter):
        raise InvalidInputError(f"filter must be a mapping of field names to values, got {filter!r}")

    def walk(condition: Any) -> None:
        if isinstance(condition, Mapping):
            if any(str(k).startswith("$") for k in condition):
                unknown = [k for k in condition if k not in _OPERATORS]
                if unknown:
                    raise InvalidInputError(f"unsupported filter operator {unknown[0]!r}; use one of "
                                            f"{', '.join(sorted(_OPERATORS))}")
            else:
                for sub in condition.values():
                    walk(sub)
        elif isinstance(condition, (list, tuple)):
            for sub in condition:
                walk(sub)

    for condition in filter.values():
        walk(condition)
    return dict(filter)


# -- text at paths ----------------------------------------------------------------------------

_TOKEN = re.compile(r"\{[^}]*\}|\[[^\]]*\]|[^.\[{]+")


def _path_tokens(path: str) -> list[str]:
    return _TOKEN.findall(path)


def _leaves(value: Any) -> list[str]:
    """The scalar values inside ``value`` as text, in document order."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (bool, int, float)):
        return [str(value)]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _leaves(v)]
    return []


def _at(value: Any, tokens: list[str]) -> list[Any]:
    if not tokens:
        return [value]
    token, rest = tokens[0], tokens[1:]
    if token.startswith("[") and token.endswith("]"):
        if not isinstance(value, list):
            return []
        index = token[1:-1].strip()
        if index == "*":
            return [found for element in value for found in _at(element, rest)]
        try:
            position = int(index)
        except ValueError:
            return []
        return _at(value[position], rest) if -len(value) <= position < len(value) else []
    if token.startswith("{") and token.endswith("}"):
        return [found for alternative in token[1:-1].split(",") if alternative.strip()
                for found in _at(value, _path_tokens(alternative.strip()) + rest)]
    if token == "*":
        children = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else []
        return [found for child in children for found in _at(child, rest)]
    if isinstance(value, Mapping) and token in value:
        return _at(value[token], rest)
    return []


def item_texts(value: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """The texts an item is indexed by: one per value found at each field path (``"$"``: the whole
    value as one text). A value that is an object or a list becomes the text of its scalars."""
    texts: list[str] = []
    for path in fields:
        found = [value] if path == "$" else _at(value, _path_tokens(path))
        for part in found:
            text = "\n".join(_leaves(part))
            if text:
                texts.append(text)
    return texts


# -- filters ------------------------------------------------------------------------------------

def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _operator(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$ne":
        return bool(value != operand)
    left, right = _number(value), _number(operand)
    if left is None or right is None:
        return False
    return {"$gt": left > right, "$gte": left >= right, "$lt": left < right, "$lte": left <= right}[operator]


def _matches(value: Any, condition: Any) -> bool:
    if isinstance(condition, Mapping):
        if any(str(k).startswith("$") for k in condition):
            return all(_operator(value, op, operand) for op, operand in condition.items())
        return isinstance(value, Mapping) and all(_matches(value.get(k), v) for k, v in condition.items())
    if isinstance(condition, (list, tuple)):
        return isinstance(value, (list, tuple)) and len(value) == len(condition) and all(
            _matches(v, c) for v, c in zip(value, condition))
    return bool(value == condition)


def matches_filter(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """True when ``value`` satisfies every condition of ``filter`` (see the module docstring)."""
    return not filter or all(_matches(value.get(k), c) for k, c in filter.items())


# -- namespaces -----------------------------------------------------------------------------------

def _fits(namespace: Namespace, pattern: Namespace, suffix: bool) -> bool:
    if len(namespace) < len(pattern):
        return False
    labels = namespace[len(namespace) - len(pattern):] if suffix else namespace[:len(pattern)]
    return all(p == "*" or p == label for label, p in zip(labels, pattern))


def select_namespaces(namespaces: Sequence[Namespace], *, prefix: Namespace | None = None,
                      suffix: Namespace | None = None, max_depth: int | None = None, limit: int = 100,
                      offset: int = 0) -> list[Namespace]:
    """Namespaces matching a prefix and a suffix (``*`` matches any one label), cut to ``max_depth``
    labels and deduplicated, sorted, then paged."""
    chosen = [ns for ns in namespaces
              if (not prefix or _fits(ns, prefix, False)) and (not suffix or _fits(ns, suffix, True))]
    if max_depth is not None:
        chosen = [ns[:max_depth] for ns in chosen]
    return sorted(set(chosen))[offset:offset + limit]


# -- the catalog ----------------------------------------------------------------------------------

class ItemCatalog:
    """Items of every owner in one store: validation, indexing, TTL, filtering, ranking, paging.

    ``index_fields`` are the default field paths texts are taken from (a put's ``index`` list
    overrides them; ``index=False`` leaves an item unindexed). ``clock`` gives "now" in epoch
    seconds (tests advance it to exercise TTLs). Thread-safe: it holds no mutable state of its own.
    """

    def __init__(self, store: Any, embedder: Embedder | MeteredEmbedder, *, usage: UsageTracker | None = None,
                 index_fields: Sequence[str] = DEFAULT_INDEX_FIELDS, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.embedder = embedder if isinstance(embedder, MeteredEmbedder) else \
            PiecewiseEmbedder(embedder, usage or UsageTracker())  # long texts in pieces, like the memory's
        self.index_fields = check_fields(index_fields)
        self.clock = clock

    # -- owners -------------------------------------------------------------------------------

    def _scope(self, owner: Owner, *, create: bool) -> int | None:
        user_id, assistant_id = owner
        return self.store.scope(check_id(user_id, "user_id"), check_id(assistant_id, "assistant_id"), create=create)

    # -- writing ------------------------------------------------------------------------------

    def put(self, owner: Owner, namespace: Namespace, key: str, value: Mapping[str, Any], *,
            index: Sequence[str] | Literal[False] | None = None, ttl_minutes: float | None = None) -> None:
        """Insert or replace one item (the whole value is replaced)."""
        self.write([ItemChange(owner, namespace, key, value, index, ttl_minutes)])

    def delete(self, owner: Owner, namespace: Namespace, key: str) -> None:
        """Delete one item (nothing happens if there is none)."""
        self.write([ItemChange(owner, namespace, key, None)])

    def write(self, changes: Sequence[ItemChange]) -> None:
        """Apply puts and deletes in one transaction, after checking all of them (one bad change
        writes nothing). When a key appears twice, the last change wins."""
        latest: dict[tuple[Owner, Namespace, str], tuple[ItemChange, dict[str, Any] | None, list[str]]] = {}
        for change in changes:
            namespace = check_namespace(change.namespace)
            key = check_key(change.key)
            value = None if change.value is None else check_value(change.value)
            check_ttl(change.ttl_minutes)
            texts: list[str] = []
            if value is not None and change.index is not False:
                fields = self.index_fields if change.index is None else check_fields(change.index)
                texts = item_texts(value, fields)
                if len(texts) > MAX_TEXTS_PER_ITEM:
                    raise InvalidInputError(f"an item may be indexed by at most {MAX_TEXTS_PER_ITEM} texts; "
                                            f"{key!r} has {len(texts)} (index fewer fields)")
            latest[(change.owner, namespace, key)] = (change, value, texts)  # the last wins, in the first's place
        if not latest:
            return
        all_texts = [t for _, _, texts in latest.values() for t in texts]
        vectors = self.embedder.embed(all_texts, purpose="items") if all_texts else np.zeros((0, 0), np.float32)
        now = self.clock()
        for attempt in (1, 2):
            scopes: dict[Owner, int] = {}
            writes: list[ItemWrite] = []
            start = 0
            for (owner, namespace, key), (change, value, texts) in latest.items():
                if owner not in scopes:
                    scope = self._scope(owner, create=value is not None)
                    if scope is None:  # deleting from an owner that has nothing
                        continue
                    scopes[owner] = scope
                matrix = vectors[start:start + len(texts)] if texts else None
                start += len(texts)
                ttl = None if value is None else check_ttl(change.ttl_minutes)
                writes.append(ItemWrite(scope_id=scopes[owner], namespace=namespace_path(namespace), key=key,
                                        value=value, text="\n".join(texts), embedding=matrix,
                                        ttl_seconds=None if ttl is None else ttl * 60.0,
                                        expires_at=None if ttl is None else now + ttl * 60.0))
            try:
                self.store.write_items(writes, now)
                return
            except StoreError:
                if attempt == 2:  # an owner was deleted between resolving and writing: resolve again once
                    raise

    # -- reading ------------------------------------------------------------------------------

    @staticmethod
    def _stored(row: ItemRow) -> StoredItem:
        return StoredItem(namespace=tuple(row.namespace.split(NAMESPACE_SEPARATOR)), key=row.key, value=row.value,
                          created_at=row.created_at, updated_at=row.updated_at,
                          ttl_minutes=None if row.ttl_seconds is None else row.ttl_seconds / 60.0,
                          expires_at=row.expires_at)

    def _refresh(self, refreshed: Sequence[tuple[int | None, StoredItem]], now: float) -> list[StoredItem]:
        """Push the expiry of TTL items to ``now + ttl``; returns the items as refreshed."""
        updates: list[tuple[int, float]] = []
        out: list[StoredItem] = []
        for rid, item in refreshed:
            if rid is not None and item.ttl_minutes is not None:
                expires = now + item.ttl_minutes * 60.0
                updates.append((rid, expires))
                item = StoredItem(item.namespace, item.key, item.value, item.created_at, item.updated_at,
                                  item.ttl_minutes, expires)
            out.append(item)
        self.store.refresh_item_expiry(updates)
        return out

    def get(self, owner: Owner, namespace: Namespace, key: str, *, refresh_ttl: bool = True) -> StoredItem | None:
        """The item, or None (also when it expired). Reading refreshes its TTL unless ``refresh_ttl`` is False."""
        namespace, key = check_namespace(namespace), check_key(key)
        scope = self._scope(owner, create=False)
        if scope is None:
            return None
        now = self.clock()
        row = self.store.get_item(scope, namespace_path(namespace), key, now)
        if row is None:
            return None
        item = self._stored(row)
        return self._refresh([(row.rid, item)], now)[0] if refresh_ttl else item

    def search(self, namespace_prefix: Namespace = (), *, owner: Owner | None = None, query: str | None = None,
               filter: Mapping[str, Any] | None = None, limit: int = 10, offset: int = 0, refresh_ttl: bool = True,
               memory: Sequence[MemoryText] = ()) -> list[ItemHit]:
        """Items under ``namespace_prefix`` (of ``owner``, or of every owner), filtered, ranked by
        ``query`` (listing order without one), then paged. ``memory`` texts (a user's pages and facts
        for this query) pass the same filter and are ranked together with the items. Returned items'
        TTLs are refreshed unless ``refresh_ttl`` is False."""
        prefix = check_namespace(namespace_prefix, "namespace_prefix", allow_empty=True)
        conditions = check_filter(filter)
        limit, offset = check_page(limit, offset)
        if query is not None and not isinstance(query, str):
            raise InvalidInputError(f"query must be a string or None, got {type(query).__name__}")
        query = clip_query(query, QUERY_CHARS) if query and query.strip() else None  # a long query: head and tail
        scope = None
        if owner is not None:
            scope = self._scope(owner, create=False)
            if scope is None and not memory:
                return []
        now = self.clock()
        rows: list[ItemRow] = []
        if owner is None or scope is not None:
            if query is None and conditions is None:  # a plain page: read only its rows
                rows = self.store.item_page(namespace_path(prefix), now, limit=limit, offset=offset, scope_id=scope)
                return self._finish([ItemHit(self._stored(r), None, rid=r.rid) for r in rows], refresh_ttl, now)
            rows = self.store.item_candidates(namespace_path(prefix), now, scope_id=scope, with_vectors=query is not None)
        if conditions:
            rows = [r for r in rows if matches_filter(r.value, conditions)]
        if query is None:
            return self._finish([ItemHit(self._stored(r), None, rid=r.rid) for r in rows[offset:offset + limit]],
                                refresh_ttl, now)
        qvec = self.embedder.embed([query], purpose="query")[0]
        dim = qvec.shape[0]
        ranked = [r for r in rows if r.embedding is not None and r.embedding.shape[1] == dim]
        unranked = [r for r in rows if r.embedding is None or r.embedding.shape[1] != dim]
        offered = [m for m in memory if matches_filter(m.item.value, conditions) and m.vector.shape[-1] == dim]
        vectors = [r.embedding for r in ranked if r.embedding is not None] + [m.vector for m in offered]
        scores = rank_texts(query, qvec, [r.text for r in ranked] + [m.text for m in offered], vectors)
        order = np.argsort(-scores, kind="stable").tolist()  # ties keep listing order
        chosen = (order + [None] * len(unranked))[offset:offset + limit]  # unranked items follow, unscored
        hits: list[ItemHit] = []
        for position, index in enumerate(chosen, start=offset):
            if index is None:
                row = unranked[position - len(order)]
                hits.append(ItemHit(self._stored(row), None, rid=row.rid))
            elif index < len(ranked):
                hits.append(ItemHit(self._stored(ranked[index]), float(scores[index]), rid=ranked[index].rid))
            else:
                text = offered[index - len(ranked)]
                hits.append(ItemHit(text.item, float(scores[index]), text.kind))
        return self._finish(hits, refresh_ttl, now)

    def _finish(self, hits: list[ItemHit], refresh_ttl: bool, now: float) -> list[ItemHit]:
        if not refresh_ttl:
            return hits
        stored = [(h.rid, h.item) for h in hits if h.kind == "item"]
        fresh = iter(self._refresh(stored, now))
        return [ItemHit(next(fresh), h.score, h.kind, h.rid) if h.kind == "item" else h for h in hits]

    def list_namespaces(self, *, owner: Owner | None = None, prefix: Sequence[str] | None = None,
                        suffix: Sequence[str] | None = None, max_depth: int | None = None, limit: int = 100,
                        offset: int = 0) -> list[Namespace]:
        """Namespaces holding live items (of ``owner``, or of every owner), matching ``prefix`` and
        ``suffix`` (``*`` matches any label), cut to ``max_depth`` labels, sorted, paged."""
        head = check_namespace(prefix or (), "prefix", allow_empty=True, wildcards=True)
        tail = check_namespace(suffix or (), "suffix", allow_empty=True, wildcards=True)
        limit, offset = check_page(limit, offset)
        if max_depth is not None and (isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1):
            raise InvalidInputError(f"max_depth must be a positive integer or None, got {max_depth!r}")
        scope = None
        if owner is not None:
            scope = self._scope(owner, create=False)
            if scope is None:
                return []
        literal: list[str] = []
        for label in head:  # the part before the first wildcard narrows the read
            if label == "*":
                break
            literal.append(label)
        paths = self.store.item_namespaces(namespace_path(literal), self.clock(), scope_id=scope)
        namespaces = [tuple(p.split(NAMESPACE_SEPARATOR)) for p in paths]
        return select_namespaces(namespaces, prefix=head or None, suffix=tail or None, max_depth=max_depth,
                                 limit=limit, offset=offset)

    def dump(self, owner: Owner) -> list[dict[str, Any]]:
        """An owner's live items as export records (``export_format.ItemRecord``; vectors are derived again)."""
        scope = self._scope(owner, create=False)
        if scope is None:
            return []
        return [{"namespace": r.namespace.split(NAMESPACE_SEPARATOR), "key": r.key, "value": r.value,
                 "created_at": r.created_at, "updated_at": r.updated_at,
                 "ttl_minutes": None if r.ttl_seconds is None else r.ttl_seconds / 60.0, "indexed": bool(r.text)}
                for r in self.store.item_candidates("", self.clock(), scope_id=scope)]

    def purge_expired(self) -> int:
        """Delete every item whose TTL ran out; returns how many."""
        return int(self.store.purge_expired_items(self.clock()))


__all__ = [
    "DEFAULT_INDEX_FIELDS",
    "ItemCatalog",
    "ItemChange",
    "ItemHit",
    "MemoryText",
    "Namespace",
    "Owner",
    "StoredItem",
    "item_texts",
    "matches_filter",
    "select_namespaces",
]
