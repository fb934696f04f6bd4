"""Context assembly: the chosen memories as a token-budgeted text, section by section.

Sections in order: user profile, knowledge about the user and the assistant, relevant past
conversation, and recent conversation (while the conversation is live). Past pages are grouped by
date in conversation order (one short date line per day instead of a timestamp per page). The best
exchanges are shown whole up to ``WHOLE_SHARE`` of the past-conversation budget; past that, an
exchange is shown by the side the question is about (see ``Focus``). Every count is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Iterator

from ..tokens import TokenCounter
from ..types import Page, Profile, ScoredFact, ScoredPage
from ..validation import format_timestamp
from .focus import NAMED_SIDE, Focus, one_side
from .ranking import RankedPage
from .time_hints import MONTHS

#: Share of the past-conversation budget filled with whole exchanges, best first; past it, an exchange
#: is shown by the side the question is about (see ``Focus``), so twice as many exchanges fit.
WHOLE_SHARE = 0.5

RECENT_TITLE = "## Recent conversation"
TITLES = {"profile": "## User profile", "user": "## What is known about the user",
          "assistant": "## What is known about the assistant", "mid": "## Relevant past conversation",
          "short": RECENT_TITLE}


@dataclass(frozen=True)
class Budget:
    """Shares of the context budget; what a section leaves unused flows to past conversation."""

    profile: float = 0.12
    knowledge: float = 0.2
    short_term: float = 0.25


def short_date(epoch: float) -> str:
    """Compact conversation date for context lines, e.g. ``8 May 2023`` (locale-independent)."""
    dt = datetime.fromtimestamp(epoch, timezone.utc)
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"


def _page_line(page: Page) -> str:
    """A recent page, as the recent-conversation section shows it (timestamped)."""
    return f"[{format_timestamp(page.timestamp)}] {page.text}"


def _date_line(page: Page) -> str:
    return f"[{short_date(page.timestamp)}]"


def _past_text(page: Page) -> str:
    """A past page in the context: each side with its role label, or, when every side already starts
    with its speaker's name ("Caroline: ..."), with the names alone (they say more in fewer tokens)."""
    sides = [(label, side) for label, side in (("User", page.user_input), ("Assistant", page.agent_response)) if side]
    if all(NAMED_SIDE.match(side) for _, side in sides):
        return "\n".join(side for _, side in sides)
    return "\n".join(f"{label}: {side}" for label, side in sides)


def _render_past(chosen: list[ScoredPage]) -> list[str]:
    """Pages in conversation order, one date line per run of pages of the same day."""
    lines: list[str] = []
    current = None
    for sp in sorted(chosen, key=lambda x: (x.page.timestamp, x.page.seq)):
        day = _date_line(sp.page)
        if day != current:
            lines.append(day)
            current = day
        lines.append(_past_text(sp.page))
    return lines


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


class _Fill:
    """One assembly in progress: the section lines taken and the exact tokens they cost."""

    def __init__(self, count: Callable[[str], int]) -> None:
        self.count = count
        self.sections: dict[str, list[str]] = {"profile": [], "user": [], "assistant": [], "mid": [], "short": []}
        self.used = 0
        self.kept: list[RankedPage] = []
        self.days: set[str] = set()

    def take(self, section: str, line: str, cap: float) -> bool:
        cost = self.count(line) + 1
        if self.used + cost > cap:
            return False
        self.sections[section].append(line)
        self.used += cost
        return True

    def take_if_fits(self, page: Page, limit: int) -> bool:
        """Add ``page``'s cost (and its date line's, for a new day) to ``used`` if it fits."""
        day = _date_line(page)
        cost = self.count(_past_text(page)) + 1 + (0 if day in self.days else self.count(day) + 1)
        if self.used + cost > limit:
            return False
        self.used += cost
        self.days.add(day)
        return True

    def render(self) -> str:
        self.sections["mid"] = _render_past([sp for sp, _ in self.kept])
        parts = [f"{TITLES[name]}\n" + "\n".join(lines) for name, lines in self.sections.items() if lines]
        return "\n\n".join(parts)


class ContextAssembler:
    """Fills a token budget with memories, section by section, counted exactly."""

    def __init__(self, tokens: TokenCounter) -> None:
        self._count = lru_cache(maxsize=8192)(tokens.count)  # page texts recur across queries

    def assemble(self, profile: Profile, short: list[Page], mid: list[RankedPage], user_facts: list[ScoredFact],
                 assistant_facts: list[ScoredFact], limit: int, budget: Budget = Budget(),
                 focus: Focus | None = None) -> tuple[str, int, list[RankedPage]]:
        """Fill the budget section by section; returns (text, exact tokens, kept past pages).

        ``short`` is the recent-conversation section (empty when the conversation is not live);
        past pages are taken by score and shown by date, in conversation order. With a ``focus``,
        exchanges past the first ``WHOLE_SHARE`` of the past-conversation budget, and any exchange too
        long for what is left, are shown by the side the question is about.
        """
        fill = _Fill(self._count)
        self._fill_known(fill, profile, user_facts, assistant_facts, limit, budget)
        self._fill_recent(fill, short, limit * budget.short_term)
        count = self._count
        fill.used += sum(count(TITLES[name]) + 2 for name, lines in fill.sections.items() if lines) + count(TITLES["mid"]) + 2
        self._fill_past(fill, mid, limit, focus)
        text = fill.render()
        exact = count(text)
        while exact > limit and fill.kept:  # formatting overhead overshot: drop the weakest page
            fill.kept.pop()
            text = fill.render()
            exact = count(text)
        return text, exact, fill.kept

    @staticmethod
    def _fill_known(fill: _Fill, profile: Profile, user_facts: list[ScoredFact], assistant_facts: list[ScoredFact],
                    limit: int, budget: Budget) -> None:
        """The profile, then the knowledge about both sides, best first, each within its share."""
        if profile.fields:
            for line in profile.render().splitlines():
                if not fill.take("profile", line, limit * budget.profile):
                    break
        knowledge_cap = fill.used + limit * budget.knowledge
        facts = sorted([("user", f) for f in user_facts] + [("assistant", f) for f in assistant_facts],
                       key=lambda x: x[1].score, reverse=True)
        for kind, sf in facts:
            when = f"[{short_date(sf.fact.refers_to)}] " if sf.fact.refers_to else ""
            fill.take(kind, f"- {when}{sf.fact.text}", knowledge_cap)

    def _fill_recent(self, fill: _Fill, short: list[Page], share: float) -> None:
        """The newest recent pages that fit in their share, shown oldest first."""
        short_cap = fill.used + share
        recent: list[str] = []
        for page in reversed(short):  # newest first under pressure
            line = _page_line(page)
            cost = self._count(line) + 1
            if fill.used + cost > short_cap:
                break
            recent.append(line)
            fill.used += cost
        fill.sections["short"] = list(reversed(recent))

    @staticmethod
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
