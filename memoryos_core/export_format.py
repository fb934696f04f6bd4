"""The export format ``memoryos-export/1``: what ``Memoryos.export`` writes and ``import_data`` reads.

A document is one JSON object::

    {"format": "memoryos-export/1", "user_id": "...", "assistant_id": "...",
     "pages": [...], "segments": [...], "facts": [...],
     "profile": {"fields": {...}, "updated_at": ...}, "history": [...], "items": [...]}

The pydantic models below define it. :func:`parse_export` checks a whole document (types, the size
limits of :mod:`.validation`, timestamps, references between records) before anything is written,
and raises :class:`~.errors.ExportFormatError` naming the bad field (``facts[3].slot``).
:func:`plan_import` turns a valid document into the rows one store transaction writes
(:mod:`.storage.importer`), with vectors and token counts derived again.

Only ``format`` is required, so a hand-written document of pages or facts imports too: a record
without an ``id`` gets one derived from its content and position (re-importing it is a no-op),
times default to now, a page without a segment goes to short-term.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Annotated, Any, Callable, Literal, Sequence

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from .config import MemoryConfig
from .errors import ExportFormatError
from .items import DEFAULT_INDEX_FIELDS, MAX_TEXTS_PER_ITEM, check_key, check_namespace, check_ttl, check_value, item_texts
from .storage.base import namespace_path
from .storage.importer import ImportBatch, ImportedFact, ImportedHistory, ImportedItem, ImportedPage, ImportedSegment
from .types import render_page_text
from .validation import check_id, check_meta, check_text, parse_timestamp

EXPORT_FORMAT = "memoryos-export/1"

#: Longest label: a fact's slot, a keyword, a profile field name, a history target.
LABEL_CHARS = 200
_DEFAULTS = MemoryConfig()


def _limit(info: ValidationInfo, name: str) -> int:
    """A size limit of the importing memory's config (passed as validation context), else the default."""
    context = info.context if isinstance(info.context, dict) else {}
    return int(context.get(name, getattr(_DEFAULTS, name)))


def _epoch(value: object, info: ValidationInfo) -> float:
    """Epoch seconds or ISO 8601 text, finite and in the range every conversation time must be in."""
    what = info.field_name or "timestamp"
    if value is None:
        raise ValueError(f"{what} is required")
    if isinstance(value, str) and len(value) > 64:  # keep a megabyte of junk out of the error message
        raise ValueError(f"{what} is not a time: {len(value)} characters of text")
    return parse_timestamp(value, what)


def _optional_epoch(value: object, info: ValidationInfo) -> float | None:
    return None if value is None else _epoch(value, info)


def _text(value: str, info: ValidationInfo) -> str:
    return check_text(value, info.field_name or "text", _limit(info, "max_text_chars"))


def _required_text(value: str, info: ValidationInfo) -> str:
    return check_text(value, info.field_name or "text", _limit(info, "max_text_chars"), allow_empty=False)


def _label(value: str, info: ValidationInfo) -> str:
    return check_text(value, info.field_name or "label", LABEL_CHARS, allow_empty=False)


def _history_text(value: str, info: ValidationInfo) -> str:
    # An entry holds at most a page's two sides as JSON, where escaping can make a character six.
    return check_text(value, info.field_name or "value", 12 * _limit(info, "max_text_chars") + 64)


def _meta(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    try:
        return check_meta(value, _limit(info, "max_meta_bytes"))
    except RecursionError:
        raise ValueError("meta is nested too deeply to be stored as JSON") from None


def _identifier(value: str, info: ValidationInfo) -> str:
    return check_id(value, info.field_name or "id")


def _profile_value(value: Any, info: ValidationInfo) -> Any:
    """A profile field holds JSON (text, numbers, lists, objects) up to the text limit, without NULs."""
    if value is None:
        raise ValueError("a profile field cannot be null (leave the field out)")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise ValueError("the value is nested too deeply") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the value must be JSON (finite numbers, text, lists, objects): {exc}") from None
    limit = _limit(info, "max_text_chars")
    if len(encoded) > limit:
        raise ValueError(f"the value has {len(encoded)} characters as JSON; the limit is {limit}")
    if "\x00" in encoded or "\\u0000" in encoded:
        raise ValueError("the value contains a NUL character, which no storage backend keeps")
    return json.loads(encoded)


Epoch = Annotated[float, BeforeValidator(_epoch)]
OptionalEpoch = Annotated[float | None, BeforeValidator(_optional_epoch)]
Text = Annotated[str, AfterValidator(_text)]
RequiredText = Annotated[str, AfterValidator(_required_text)]
Label = Annotated[str, AfterValidator(_label)]
HistoryText = Annotated[str, AfterValidator(_history_text)]
Identifier = Annotated[str, AfterValidator(_identifier)]
PageId = Annotated[str, StringConstraints(pattern=r"^pg_[A-Za-z0-9_-]{1,64}$")]
SegmentId = Annotated[str, StringConstraints(pattern=r"^sg_[A-Za-z0-9_-]{1,64}$")]
FactId = Annotated[str, StringConstraints(pattern=r"^ft_[A-Za-z0-9_-]{1,64}$")]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Record(BaseModel):
    """Strict: no coercion ("5" is not 5), no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PageRecord(_Record):
    """One exchange. ``tier`` follows from ``segment_id`` (and the segment's ``archived``); ``seq``
    orders pages (strictly increasing; missing means "after the previous page")."""

    id: PageId | None = None
    user_input: Text = ""
    agent_response: Text = ""
    timestamp: OptionalEpoch = None
    tier: Literal["short", "mid", "archived"] | None = None
    segment_id: SegmentId | None = None
    meta: Annotated[dict[str, Any], AfterValidator(_meta)] = Field(default_factory=dict)
    created_at: OptionalEpoch = None
    seq: PositiveInt | None = None
    analyzed: bool = False

    @model_validator(mode="after")
    def _not_empty(self) -> "PageRecord":
        if not self.user_input.strip() and not self.agent_response.strip():
            raise ValueError("user_input and agent_response are both empty: there is nothing to remember")
        return self


class SegmentRecord(_Record):
    """A mid-term topic. ``page_count``, ``fresh_pages`` and ``heat`` are derived: recomputed on import."""

    id: SegmentId
    summary: Text = ""
    keywords: list[Label] = Field(default_factory=list, max_length=100)
    summary_source: Literal["llm", "heuristic"] = "heuristic"
    visits: NonNegativeInt = 0
    last_active: OptionalEpoch = None
    archived: bool = False
    page_count: NonNegativeInt | None = None
    fresh_pages: NonNegativeInt | None = None
    heat: FiniteFloat | None = None


class FactRecord(_Record):
    """A line of knowledge; ``active: false`` marks one superseded, retired or evicted; ``valid_until``
    (with ``superseded_by``, the fact that replaced it) one that was true until then."""

    id: FactId | None = None
    kind: Literal["user", "assistant"]
    text: RequiredText
    slot: Label | None = None
    refers_to: OptionalEpoch = None
    created_at: OptionalEpoch = None
    updated_at: OptionalEpoch = None
    source: Literal["llm", "heuristic", "manual"] = "manual"
    source_page_ids: list[PageId] = Field(default_factory=list, max_length=10_000)
    active: bool = True
    valid_until: OptionalEpoch = None
    superseded_by: FactId | None = None


class ProfileRecord(_Record):
    fields: dict[Label, Annotated[Any, AfterValidator(_profile_value)]] = Field(default_factory=dict)
    updated_at: OptionalEpoch = None


class HistoryRecord(_Record):
    """One audit entry; ``id`` is the source store's row number (ignored: entries keep their order)."""

    id: NonNegativeInt | None = None
    target_kind: Literal["page", "fact", "profile", "segment"]
    target_id: Label
    event: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z_]{0,31}$")]
    old_value: HistoryText | None = None
    new_value: HistoryText | None = None
    at: Epoch


def _item_namespace(value: list[str]) -> list[str]:
    return list(check_namespace(value))


def _item_ttl(value: float | None) -> float | None:
    return check_ttl(value)


class ItemRecord(_Record):
    """A document of the LangGraph store (``memoryos_core.items``): vectors are derived again from its
    value, by the default index fields (``indexed: false``: none); a TTL restarts at the import."""

    namespace: Annotated[list[str], AfterValidator(_item_namespace)]
    key: Annotated[str, AfterValidator(check_key)]
    value: Annotated[dict[str, Any], AfterValidator(check_value)]
    created_at: OptionalEpoch = None
    updated_at: OptionalEpoch = None
    ttl_minutes: Annotated[FiniteFloat | None, AfterValidator(_item_ttl)] = None
    indexed: bool = True

    @model_validator(mode="after")
    def _not_too_many_texts(self) -> "ItemRecord":
        if self.indexed and len(item_texts(self.value, DEFAULT_INDEX_FIELDS)) > MAX_TEXTS_PER_ITEM:
            raise ValueError(f"the value would be indexed by more than {MAX_TEXTS_PER_ITEM} texts")
        return self


class ExportDocument(_Record):
    format: Literal["memoryos-export/1"]
    user_id: Identifier | None = None
    assistant_id: Identifier | None = None
    pages: list[PageRecord] = Field(default_factory=list)
    segments: list[SegmentRecord] = Field(default_factory=list)
    facts: list[FactRecord] = Field(default_factory=list)
    profile: ProfileRecord | None = None
    history: list[HistoryRecord] = Field(default_factory=list)
    items: list[ItemRecord] = Field(default_factory=list)


# -- validation --------------------------------------------------------------------------------


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_export(data: Any, config: MemoryConfig | None = None) -> ExportDocument:
    """Validate a whole export document (limits from ``config``); ExportFormatError names the bad field."""
    if not isinstance(data, dict):
        raise ExportFormatError("", f"an export must be a JSON object, got {type(data).__name__}")
    cfg = config or _DEFAULTS
    context = {"max_text_chars": cfg.max_text_chars, "max_meta_bytes": cfg.max_meta_bytes}
    try:
        doc = ExportDocument.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        first = errors[0]
        error = (first.get("ctx") or {}).get("error")
        reason = str(error) if isinstance(error, Exception) else first["msg"]
        if len(errors) > 1:
            reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise ExportFormatError(_path(first["loc"]), reason) from None
    _check_references(doc)
    return doc


def _page_seqs(pages: Sequence[PageRecord]) -> list[int]:
    """Each page's position in the export's order: its ``seq``, or one after the previous page."""
    seqs, last = [], 0
    for page in pages:
        last = page.seq if page.seq is not None else last + 1
        seqs.append(last)
    return seqs


def _check_references(doc: ExportDocument) -> None:
    """What one record cannot check alone: unique ids, page order, segments and tiers agreeing."""
    where: set[tuple[str, ...]] = set()
    for i, item in enumerate(doc.items):
        place = (*item.namespace, "\x00", item.key)
        if place in where:
            raise ExportFormatError(f"items[{i}].key", f"{item.key!r} appears twice in namespace {item.namespace}")
        where.add(place)
    for table in ("pages", "segments", "facts"):
        seen: set[str] = set()
        for i, record in enumerate(getattr(doc, table)):
            if record.id is not None and record.id in seen:
                raise ExportFormatError(f"{table}[{i}].id", f"{record.id} appears twice in this export")
            seen.add(record.id)
    last = 0
    for i, (page, seq) in enumerate(zip(doc.pages, _page_seqs(doc.pages))):
        if seq <= last:
            raise ExportFormatError(f"pages[{i}].seq", f"{seq} does not follow the previous page's {last}: pages must be in order")
        last = seq
    segments = {s.id: s for s in doc.segments}
    used: set[str] = set()
    for i, page in enumerate(doc.pages):
        if page.segment_id is None:
            tier = "short"
        elif page.segment_id not in segments:
            raise ExportFormatError(f"pages[{i}].segment_id", f"{page.segment_id} names no segment of this export")
        else:
            used.add(page.segment_id)
            tier = "archived" if segments[page.segment_id].archived else "mid"
        if page.tier is not None and page.tier != tier:
            raise ExportFormatError(f"pages[{i}].tier", f"{page.tier!r} contradicts its segment: this page is {tier!r}")
    for i, segment in enumerate(doc.segments):
        if segment.id not in used:
            raise ExportFormatError(f"segments[{i}]", f"{segment.id} holds no page of this export")


# -- planning the write ------------------------------------------------------------------------


def stand_in_id(original: str, user_id: str, assistant_id: str) -> str:
    """The id a record takes in this memory when another memory of the same store holds ``original``
    (ids are unique per store): derived, so importing the same export again finds it."""
    prefix = original.split("_", 1)[0]
    digest = hashlib.sha256(f"{user_id}\x1f{assistant_id}\x1f{original}".encode()).hexdigest()
    return f"{prefix}_{digest[:24]}"


def _content_id(prefix: str, index: int, record: BaseModel) -> str:
    """An id for a record written without one: the same document always yields the same ids."""
    canonical = json.dumps([index, record.model_dump(mode="json")], sort_keys=True, ensure_ascii=False)
    return f"{prefix}_{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


def _embed_all(embed: Callable[[list[str]], np.ndarray], texts: list[str], batch: int = 256) -> list[np.ndarray]:
    vectors: list[np.ndarray] = []
    for start in range(0, len(texts), batch):
        vectors.extend(np.asarray(embed(texts[start:start + batch]), dtype=np.float32))
    return vectors


def plan_import(doc: ExportDocument, *, user_id: str, assistant_id: str,
                embed_pages: Callable[[list[str]], np.ndarray], embed_facts: Callable[[list[str]], np.ndarray],
                count_tokens: Callable[[str], int], embed_items: Callable[[list[str]], np.ndarray] | None = None,
                now: float | None = None) -> ImportBatch:
    """The rows of a validated document for this memory, with vectors and token counts re-derived."""
    now = time.time() if now is None else now

    def ids(record: BaseModel, prefix: str, index: int) -> tuple[str, str]:
        original = getattr(record, "id", None) or _content_id(prefix, index, record)
        return original, stand_in_id(original, user_id, assistant_id)

    page_texts = [render_page_text(p.user_input, p.agent_response) for p in doc.pages]
    page_vectors = _embed_all(embed_pages, page_texts)
    fact_vectors = _embed_all(embed_facts, [f.text for f in doc.facts])
    pages = [
        ImportedPage(ids=ids(p, "pg", i), seq=seq, user_input=p.user_input, agent_response=p.agent_response,
                     timestamp=now if p.timestamp is None else p.timestamp,
                     created_at=now if p.created_at is None else p.created_at, meta=p.meta, analyzed=p.analyzed,
                     tokens=count_tokens(text), embedding=vector, segment=p.segment_id)
        for i, (p, seq, text, vector) in enumerate(zip(doc.pages, _page_seqs(doc.pages), page_texts, page_vectors))
    ]
    latest: dict[str, float] = {}
    for page in pages:
        if page.segment is not None:
            latest[page.segment] = max(latest.get(page.segment, page.timestamp), page.timestamp)
    segments = [
        ImportedSegment(ids=ids(s, "sg", i), summary=s.summary, keywords=list(s.keywords),
                        summary_source=s.summary_source, visits=s.visits,
                        last_active=latest[s.id] if s.last_active is None else s.last_active, archived=s.archived)
        for i, s in enumerate(doc.segments)
    ]
    facts = []
    for i, (f, vector) in enumerate(zip(doc.facts, fact_vectors)):
        created = now if f.created_at is None else f.created_at
        facts.append(ImportedFact(ids=ids(f, "ft", i), kind=f.kind, text=f.text, slot=f.slot, refers_to=f.refers_to,
                                  source=f.source, source_page_ids=list(f.source_page_ids), active=f.active,
                                  valid_until=f.valid_until, superseded_by=f.superseded_by,
                                  created_at=created, updated_at=created if f.updated_at is None else f.updated_at,
                                  embedding=vector))
    history = [ImportedHistory(target_kind=h.target_kind, target_id=h.target_id, event=h.event,
                               old_value=h.old_value, new_value=h.new_value, at=h.at) for h in doc.history]
    profile = doc.profile or ProfileRecord()
    return ImportBatch(pages=pages, segments=segments, facts=facts, history=history,
                       profile_fields=dict(profile.fields), profile_updated_at=profile.updated_at,
                       items=_plan_items(doc.items, embed_items or embed_facts, now))


def _plan_items(records: Sequence[ItemRecord], embed: Callable[[list[str]], np.ndarray], now: float) -> list[ImportedItem]:
    texts = [item_texts(r.value, DEFAULT_INDEX_FIELDS) if r.indexed else [] for r in records]
    vectors = _embed_all(embed, [t for group in texts for t in group])
    out, start = [], 0
    for record, group in zip(records, texts):
        matrix = np.stack(vectors[start:start + len(group)]) if group else None
        start += len(group)
        created = now if record.created_at is None else record.created_at
        ttl = None if record.ttl_minutes is None else record.ttl_minutes * 60.0
        out.append(ImportedItem(namespace=namespace_path(record.namespace), key=record.key,
                                value_json=json.dumps(record.value, ensure_ascii=False), text="\n".join(group),
                                embedding=matrix, created_at=created,
                                updated_at=created if record.updated_at is None else record.updated_at,
                                ttl_seconds=ttl, expires_at=None if ttl is None else now + ttl))
    return out


__all__ = [
    "EXPORT_FORMAT",
    "ExportDocument",
    "FactRecord",
    "HistoryRecord",
    "ItemRecord",
    "PageRecord",
    "ProfileRecord",
    "SegmentRecord",
    "parse_export",
    "plan_import",
    "stand_in_id",
]
