"""Context assembly: the chosen memories as token-budgeted sections, and their text.

Sections in order: relevant past conversation, knowledge about the user and the assistant, user
profile, and recent conversation (while the conversation is live). Knowledge and profile are shown
only where they bear on the question (``Focus.about_only``, ``Focus.profile_view``, and between two
named people ``Focus.speaks_to``): a line about someone else, or sharing nothing with a question
about a transcript, would only crowd out the conversation and mislead the reader. Past pages are
shown in conversation order under one date line per day. The best exchanges are shown whole up to
``WHOLE_SHARE`` of the past-conversation budget; past that, an exchange is shown by the side the
question is about (see ``Focus``). Every count is exact, on the text ``render`` makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable, Iterator, Sequence

from ..text_limits import clip_page_to_tokens
from ..tokens import TokenCounter
from ..types import ContextSections, Page, PastExchange, Profile, ScoredFact
from .focus import Focus, one_side, speaker_names
from .ranking import RankedPage
from .render import (
    TITLES,
    date_line,
    exchange_text,
    fact_line,
    profile_lines,
    recent_line,
    render_context,
    short_date,
    title,
    utterances,
)

#: Share of the past-conversation budget filled with whole exchanges, best first; past it, an exchange
#: is shown by the side the question is about (see ``Focus``), so twice as many exchanges fit.
WHOLE_SHARE = 0.5
#: Facts no longer true shown at most per context ("lived in Lisbon until April 2025"), when they
#: bear on the question: enough for "where did I live before?", few enough not to crowd the present.
MAX_PAST_FACTS = 3


@dataclass(frozen=True)
class Budget:
    """Shares of the context budget; what a section leaves unused flows to past conversation."""

    profile: float = 0.12
    knowledge: float = 0.2
    short_term: float = 0.25


@dataclass(frozen=True)
class Assembly:
    """An assembled context: its sections, their text, the text's exact tokens, and the past pages
    shown (best first, with their segment rids for heat)."""

    sections: ContextSections
    text: str
    tokens: int
    kept: list[RankedPage]


def _shown_as(page: Page, role: str | None, may_be_whole: bool) -> Iterator[Page]:
    """Ways to show an exchange past the best ones, in order: the side the question is about when
    there is one; else the whole exchange (when it may still be shown whole), then either side."""
    if role is not None:
        yield one_side(page, role)
        return
    if may_be_whole:
        yield page
    if page.user_input and page.agent_response:
        yield one_side(page, "user")
        yield one_side(page, "assistant")


@dataclass
class _Fill:
    """One assembly in progress: what each section took and the exact tokens spent so far."""

    count: Callable[[str], int]
    speakers: dict[str, str] = field(default_factory=dict)
    used: int = 0
    profile: dict[str, object] = field(default_factory=dict)
    facts: dict[str, list[ScoredFact]] = field(default_factory=lambda: {"user": [], "assistant": []})
    recent: list[Page] = field(default_factory=list)
    kept: list[RankedPage] = field(default_factory=list)
    days: set[str] = field(default_factory=set)

    def cost(self, lines: list[str]) -> int:
        return sum(self.count(line) + 1 for line in lines)

    def take_if_fits(self, page: Page, limit: float) -> bool:
        """Add ``page``'s cost (and its date line's, for a new day) to ``used`` if it fits."""
        day = short_date(page.timestamp)
        new_day = 0 if day in self.days else self.count(date_line(day)) + 1
        cost = self.count(exchange_text(utterances(page))) + 1 + new_day
        if self.used + cost > limit:
            return False
        self.used += cost
        self.days.add(day)
        return True

    def titles_cost(self) -> int:
        """The title lines of the sections taken so far, and of the past-conversation section."""
        taken = {"profile": self.profile, "user": self.facts["user"], "assistant": self.facts["assistant"],
                 "short": self.recent}
        titles = sum(self.count(title(name, self.speakers)) + 2 for name, items in taken.items() if items)
        return titles + self.count(TITLES["mid"]) + 2

    def sections(self) -> ContextSections:
        chosen = sorted((sp for sp, _ in self.kept), key=lambda x: (x.page.timestamp, x.page.seq))
        past = [PastExchange(sp, short_date(sp.page.timestamp), utterances(sp.page)) for sp in chosen]
        return ContextSections(profile=dict(self.profile), user_knowledge=list(self.facts["user"]),
                               assistant_knowledge=list(self.facts["assistant"]), past=past, recent=list(self.recent),
                               speakers=dict(self.speakers))


class ContextAssembler:
    """Fills a token budget with memories, section by section, counted exactly."""

    def __init__(self, tokens: TokenCounter) -> None:
        self._tokens = tokens
        self._count = lru_cache(maxsize=8192)(tokens.count)  # page texts recur across queries

    def assemble(self, profile: Profile, short: list[Page], mid: list[RankedPage], user_facts: list[ScoredFact],
                 assistant_facts: list[ScoredFact], limit: int, budget: Budget = Budget(),
                 focus: Focus | None = None, past_facts: Sequence[ScoredFact] = ()) -> Assembly:
        """Fill the budget section by section.

        ``short`` is the recent-conversation section (empty when the conversation is not live);
        past pages are taken by score and shown by date, in conversation order. With a ``focus``,
        exchanges past the first ``WHOLE_SHARE`` of the past-conversation budget, and any exchange too
        long for what is left, are shown by the side the question is about, and ``past_facts`` (facts
        no longer true) that bear on the question follow the current knowledge, shown as past.
        """
        fill = _Fill(self._count, _speakers(profile, short, mid))
        _fill_known(fill, profile, user_facts, assistant_facts, limit, budget, focus, past_facts)
        _fill_recent(fill, short, limit * budget.short_term, self._tokens)
        fill.used += fill.titles_cost()
        _fill_past(fill, mid, limit, focus)
        sections = fill.sections()
        text = render_context(sections)
        exact = self._count(text)
        while exact > limit and fill.kept:  # formatting overhead overshot: drop the weakest page
            fill.kept.pop()
            sections = fill.sections()
            text = render_context(sections)
            exact = self._count(text)
        return Assembly(sections, text, exact, fill.kept)


def _speakers(profile: Profile, short: list[Page], mid: list[RankedPage]) -> dict[str, str]:
    """The names the sides speak under; the user's from the profile when the pages give none."""
    speakers = speaker_names([*short, *(sp.page for sp, _ in mid)])
    name = profile.fields.get("name")
    if "user" not in speakers and isinstance(name, str) and name.strip() and name != speakers.get("assistant"):
        speakers["user"] = name.strip()
    return speakers


def _fill_known(fill: _Fill, profile: Profile, user_facts: list[ScoredFact], assistant_facts: list[ScoredFact],
                limit: int, budget: Budget, focus: Focus | None, past_facts: Sequence[ScoredFact] = ()) -> None:
    """The profile, field by field, then the knowledge about both sides, best first, each within its
    share; with a ``focus``, only what bears on the question, then the past facts that do (at most
    ``MAX_PAST_FACTS``), after every current one. Between two named people (a transcript), a knowledge
    line must match the question; with an assistant, all of the user's knowledge above the minimum
    score may personalise the answer (a peanut allergy matters to "suggest a recipe")."""
    past: list[ScoredFact] = []
    if focus is not None:
        speakers = fill.speakers
        hidden = {role for role in ("user", "assistant") if focus.about_only(role, speakers)}
        if "user" in hidden:
            profile, user_facts = Profile(fields={}, updated_at=None), []
        if "assistant" in hidden:
            assistant_facts = []
        profile = Profile(fields=focus.profile_view(profile.fields), updated_at=profile.updated_at)
        if len(speakers) == 2:  # a conversation between two named people: only lines that match the question
            user_facts = [f for f in user_facts if focus.speaks_to(f, speakers)]
            assistant_facts = [f for f in assistant_facts if focus.speaks_to(f, speakers)]
        past = [f for f in past_facts if f.fact.kind not in hidden and focus.speaks_to(f, speakers)][:MAX_PAST_FACTS]
    for name in sorted(profile.fields):
        cost = fill.cost(profile_lines({name: profile.fields[name]}))
        if fill.used + cost > limit * budget.profile:
            break
        fill.profile[name] = profile.fields[name]
        fill.used += cost
    knowledge_cap = fill.used + limit * budget.knowledge
    facts = sorted([("user", f) for f in user_facts] + [("assistant", f) for f in assistant_facts],
                   key=lambda x: x[1].score, reverse=True) + [(f.fact.kind, f) for f in past]
    for kind, scored in facts:
        cost = fill.cost([fact_line(scored, fill.speakers)])
        if fill.used + cost <= knowledge_cap:
            fill.facts[kind].append(scored)
            fill.used += cost


def _fill_recent(fill: _Fill, short: list[Page], share: float, tokens: TokenCounter) -> None:
    """The newest recent pages that fit in their share, shown oldest first. A page longer than half
    the share (a pasted document) shows its head and the clip marker rather than crowding out the rest."""
    cap = fill.used + share
    longest = max(32, int(share / 2) - 16)  # 16: the timestamp and speaker labels of the line
    recent: list[Page] = []
    for page in reversed(short):  # newest first under pressure
        page = clip_page_to_tokens(page, longest, tokens)
        cost = fill.cost([recent_line(page)])
        if fill.used + cost > cap:
            break
        recent.append(page)
        fill.used += cost
    fill.recent = list(reversed(recent))


def _fill_past(fill: _Fill, mid: list[RankedPage], limit: int, focus: Focus | None) -> None:
    """Past pages by rank: whole up to ``WHOLE_SHARE`` of what is left, then by their telling side."""
    whole_until = fill.used + WHOLE_SHARE * (limit - fill.used)
    for sp, seg_rid in mid:
        if limit - fill.used < 8:  # nothing fits in what is left
            break
        whole = sp.page
        if fill.used < whole_until and fill.take_if_fits(whole, limit):
            fill.kept.append((sp, seg_rid))
            continue
        # past the best exchanges, or too long for what is left: the side the question is about
        role = focus.side(whole) if focus is not None else None
        page = next((option for option in _shown_as(whole, role, may_be_whole=fill.used >= whole_until)
                     if fill.take_if_fits(option, limit)), None)
        if page is not None:
            fill.kept.append((sp if page is whole else replace(sp, page=page), seg_rid))
