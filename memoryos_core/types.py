"""Typed records that cross the public API: pages, segments, facts, profiles, results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Tier = Literal["short", "mid", "archived"]
FactKind = Literal["user", "assistant"]
Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Page:
    """One exchange: what the user said and what the assistant answered, at a conversation time."""

    id: str
    user_input: str
    agent_response: str
    timestamp: float
    tier: Tier
    segment_id: str | None
    meta: dict[str, Any]
    created_at: float
    seq: int
    analyzed: bool = False

    @property
    def text(self) -> str:
        return render_page_text(self.user_input, self.agent_response)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def render_page_text(user_input: str, agent_response: str) -> str:
    parts = []
    if user_input:
        parts.append(f"User: {user_input}")
    if agent_response:
        parts.append(f"Assistant: {agent_response}")
    return "\n".join(parts)


@dataclass(frozen=True)
class Segment:
    """A topic in mid-term memory, with the heat inputs that decide analysis and eviction."""

    id: str
    summary: str
    keywords: list[str]
    page_count: int
    visits: int
    fresh_pages: int
    last_active: float
    heat: float
    archived: bool
    summary_source: Literal["llm", "heuristic"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fact:
    """A line of long-term knowledge about the user or the assistant."""

    id: str
    kind: FactKind
    text: str
    refers_to: float | None
    created_at: float
    updated_at: float
    source: Literal["llm", "heuristic", "manual"]
    slot: str | None = None
    source_page_ids: list[str] = field(default_factory=list)
    #: Conversation time it stopped being true (set when a newer fact replaced it or a stop ended it);
    #: ``refers_to`` is when it became true. None while current.
    valid_until: float | None = None
    #: The id of the fact that replaced this one, when one did.
    superseded_by: str | None = None

    @property
    def is_past(self) -> bool:
        """Whether this fact was true once and no longer is."""
        return self.valid_until is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Profile:
    """Structured user profile: named fields updated one at a time, never regenerated whole."""

    fields: dict[str, Any]
    updated_at: float | None

    def render(self) -> str:
        if not self.fields:
            return ""
        lines = []
        for key, value in sorted(self.fields.items()):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"- {key.replace('_', ' ')}: {shown}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ForgetResult:
    """What a request to forget removed: ids and counts, never the forgotten text."""

    subject: str
    page_ids: list[str] = field(default_factory=list)
    fact_ids: list[str] = field(default_factory=list)
    profile_fields: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return len(self.page_ids) + len(self.fact_ids) + len(self.profile_fields)

    def summary(self) -> str:
        """A confirmation in words, e.g. "Forgot 1 exchange and 1 fact about 'my passport number'."."""
        parts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in (
            (len(self.page_ids), "exchange"), (len(self.fact_ids), "fact"), (len(self.profile_fields), "profile field")) if n]
        if not parts:
            return f"Nothing matching {self.subject!r} was in memory."
        return f"Forgot {' and '.join([', '.join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)} about {self.subject!r}."

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "removed": self.removed, "summary": self.summary()}


@dataclass(frozen=True)
class HistoryEntry:
    """One change to a page, fact or profile field (mem0-style audit trail)."""

    id: int
    target_kind: str
    target_id: str
    event: str
    old_value: str | None
    new_value: str | None
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScoredPage:
    page: Page
    score: float
    segment_id: str | None
    segment_score: float
    #: The topic summary of the page's segment (the original's ``meta_info``).
    segment_summary: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.page.to_dict(), "score": self.score, "segment_score": self.segment_score}


@dataclass(frozen=True)
class ScoredFact:
    fact: Fact
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.fact.to_dict(), "score": self.score}


@dataclass(frozen=True)
class Utterance:
    """One side of an exchange as the context shows it: who said it and what."""

    role: Role
    #: The name the side starts with ("Caroline: ..."), when every side of the page starts with one;
    #: else the role label, "User" or "Assistant".
    speaker: str
    text: str


@dataclass(frozen=True)
class PastExchange:
    """A past page as the context shows it: the page (with one side blanked when only the side the
    question is about is shown), its conversation date, and its utterances."""

    page: ScoredPage
    date: str
    utterances: list[Utterance]

    def to_dict(self) -> dict[str, Any]:
        return {"page": self.page.to_dict(), "date": self.date, "utterances": [asdict(u) for u in self.utterances]}


@dataclass(frozen=True)
class ContextSections:
    """What the context shows, section by section; ``RetrievalResult.context`` is their rendering
    (``memoryos_core.render_context``). Adapters read these instead of parsing the text."""

    #: Profile fields shown: those bearing on the question (see ``Focus.profile_view``) that fitted the budget.
    profile: dict[str, Any] = field(default_factory=dict)
    user_knowledge: list[ScoredFact] = field(default_factory=list)
    assistant_knowledge: list[ScoredFact] = field(default_factory=list)
    #: Relevant past exchanges in conversation order.
    past: list[PastExchange] = field(default_factory=list)
    #: The recent-conversation section (only while the conversation is live), oldest first.
    recent: list[Page] = field(default_factory=list)
    #: The names the two sides speak under ("user" -> "Caroline") when their pages start with one;
    #: knowledge lines and titles then name the person instead of saying "User".
    speakers: dict[str, str] = field(default_factory=dict)

    def without_recent(self, page_ids: set[str]) -> "ContextSections":
        """These sections without the recent pages of ``page_ids`` (shown elsewhere, e.g. as chat messages)."""
        return replace(self, recent=[p for p in self.recent if p.id not in page_ids])

    def to_dict(self) -> dict[str, Any]:
        return {"profile": dict(self.profile), "user_knowledge": [f.to_dict() for f in self.user_knowledge],
                "assistant_knowledge": [f.to_dict() for f in self.assistant_knowledge],
                "past": [x.to_dict() for x in self.past], "recent": [p.to_dict() for p in self.recent],
                "speakers": dict(self.speakers)}


@dataclass(frozen=True)
class RetrievalResult:
    """Everything memory can tell about a query, plus the budgeted context built from it."""

    query: str
    short_term: list[Page]
    mid_term: list[ScoredPage]
    profile: Profile
    user_knowledge: list[ScoredFact]
    assistant_knowledge: list[ScoredFact]
    context: str
    context_tokens: int
    max_context_tokens: int
    #: Ids of the mid-term pages that fit in ``context`` (``mid_term`` may rank more than fit).
    context_page_ids: list[str] = field(default_factory=list)
    #: What ``context`` shows, as records.
    sections: ContextSections = field(default_factory=ContextSections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "short_term": [p.to_dict() for p in self.short_term],
            "mid_term": [p.to_dict() for p in self.mid_term],
            "profile": self.profile.to_dict(),
            "user_knowledge": [f.to_dict() for f in self.user_knowledge],
            "assistant_knowledge": [f.to_dict() for f in self.assistant_knowledge],
            "context": self.context,
            "context_tokens": self.context_tokens,
            "max_context_tokens": self.max_context_tokens,
            "context_page_ids": list(self.context_page_ids),
            "sections": self.sections.to_dict(),
        }
