"""The text form of the context: ``ContextSections`` rendered as the model reads them.

One title line per non-empty section; the profile one field per line; facts with the date they
refer to; past exchanges grouped under one short date line per day; recent pages with their full
timestamps. The assembler counts tokens with these same functions, so the budget holds exactly.
"""

from __future__ import annotations

from typing import Any

from ..relative_time import annotate_relative_times
from ..times import format_timestamp, to_datetime
from ..types import ContextSections, Page, Profile, Role, ScoredFact, Utterance
from .focus import NAMED_SIDE
from .time_hints import MONTHS

RECENT_TITLE = "## Recent conversation"
TITLES = {"profile": "## User profile", "user": "## What is known about the user",
          "assistant": "## What is known about the assistant", "mid": "## Relevant past conversation",
          "short": RECENT_TITLE}
_LABELS: dict[Role, str] = {"user": "User", "assistant": "Assistant"}


def short_date(epoch: float) -> str:
    """Compact conversation date for context lines, e.g. ``8 May 2023`` (locale-independent)."""
    dt = to_datetime(epoch)
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"


def profile_lines(fields: dict[str, Any]) -> list[str]:
    """Profile fields as the profile section shows them, one ``- field: value`` line each."""
    return Profile(fields=fields, updated_at=None).render().splitlines()


def fact_line(scored: ScoredFact) -> str:
    when = f"[{short_date(scored.fact.refers_to)}] " if scored.fact.refers_to else ""
    return f"- {when}{annotate_relative_times(scored.fact.text, scored.fact.refers_to)}"


def recent_line(page: Page) -> str:
    """A recent page, as the recent-conversation section shows it (timestamped)."""
    return f"[{format_timestamp(page.timestamp)}] {annotate_relative_times(page.text, page.timestamp)}"


def date_line(date: str) -> str:
    return f"[{date}]"


def utterances(page: Page) -> list[Utterance]:
    """The sides of a past page with their speakers: the names the sides start with ("Caroline: ..."),
    when every side starts with one (they say more in fewer tokens), else the role labels. Relative
    times ("yesterday") carry the date they point to, counted from the page's date."""
    both: tuple[tuple[Role, str], ...] = (("user", page.user_input), ("assistant", page.agent_response))
    sides = [(role, annotate_relative_times(side, page.timestamp)) for role, side in both if side]
    spoken: list[Utterance] = []
    for role, side in sides:
        named = NAMED_SIDE.match(side)
        if named is None:
            return [Utterance(role, _LABELS[role], side) for role, side in sides]
        spoken.append(Utterance(role, named.group(0)[:-2], side[named.end():]))
    return spoken


def exchange_text(spoken: list[Utterance]) -> str:
    return "\n".join(f"{u.speaker}: {u.text}" for u in spoken)


def section_lines(sections: ContextSections) -> dict[str, list[str]]:
    """The lines of every section, keyed as ``TITLES``, in the order the context shows them."""
    past: list[str] = []
    current = None
    for exchange in sections.past:
        if exchange.date != current:
            past.append(date_line(exchange.date))
            current = exchange.date
        past.append(exchange_text(exchange.utterances))
    return {"profile": profile_lines(sections.profile),
            "user": [fact_line(f) for f in sections.user_knowledge],
            "assistant": [fact_line(f) for f in sections.assistant_knowledge],
            "mid": past,
            "short": [recent_line(p) for p in sections.recent]}


def render_context(sections: ContextSections) -> str:
    """The context text of ``sections``: titled sections separated by blank lines ("" when all are empty)."""
    parts = [f"{TITLES[name]}\n" + "\n".join(lines) for name, lines in section_lines(sections).items() if lines]
    return "\n\n".join(parts)
