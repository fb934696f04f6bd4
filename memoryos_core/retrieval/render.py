"""The text form of the context: ``ContextSections`` rendered as the model reads them.

The conversation comes first (readers answer from it), then what is known, then the recent
conversation, nearest the question. One title line per non-empty section; past exchanges grouped
under one short date line per day; knowledge lines name the person ("Caroline", not "User") when
the pages do, and say when they were noted after the statement, so their dates are not mistaken
for conversation dates; the profile one field per line; recent pages with their full timestamps.
The assembler counts tokens with these same functions, so the budget holds exactly.
"""

from __future__ import annotations

import re

from typing import Any

from ..relative_time import annotate_relative_times
from ..times import format_timestamp, to_datetime
from ..types import ContextSections, Page, Profile, Role, ScoredFact, Utterance
from .focus import NAMED_SIDE
from .time_hints import MONTHS

RECENT_TITLE = "## Recent conversation"
#: Section titles, in the order the context shows the sections.
TITLES = {"mid": "## Relevant past conversation", "user": "## What is known about the user",
          "assistant": "## What is known about the assistant", "profile": "## User profile",
          "short": RECENT_TITLE}
_LABELS: dict[Role, str] = {"user": "User", "assistant": "Assistant"}
_ROLE_WORD = {"user": re.compile(r"\b(?:[Tt]he )?[Uu]ser\b"), "assistant": re.compile(r"\b(?:[Tt]he )?[Aa]ssistant\b")}


def short_date(epoch: float) -> str:
    """Compact conversation date for context lines, e.g. ``8 May 2023`` (locale-independent)."""
    dt = to_datetime(epoch)
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"


def profile_lines(fields: dict[str, Any]) -> list[str]:
    """Profile fields as the profile section shows them, one ``- field: value`` line each."""
    return Profile(fields=fields, updated_at=None).render().splitlines()


def title(name: str, speakers: dict[str, str]) -> str:
    """A section's title line, naming the person when known ("## What is known about Caroline")."""
    if name in ("user", "assistant") and name in speakers:
        return f"## What is known about {speakers[name]}"
    if name == "profile" and "user" in speakers:
        return f"## Profile of {speakers['user']}"
    return TITLES[name]


#: Present-tense verbs of knowledge lines and their past forms, for facts no longer true.
_PAST_FORMS = {"is": "was", "are": "were", "has": "had", "lives": "lived", "works": "worked", "loves": "loved",
               "likes": "liked", "enjoys": "enjoyed", "owns": "owned", "plays": "played", "studies": "studied",
               "teaches": "taught", "prefers": "preferred", "hates": "hated", "dislikes": "disliked", "eats": "ate",
               "drives": "drove", "runs": "ran", "goes": "went", "does": "did", "wants": "wanted", "uses": "used",
               "attends": "attended", "volunteers": "volunteered", "keeps": "kept", "speaks": "spoke",
               "writes": "wrote", "follows": "followed", "belongs": "belonged", "rents": "rented"}
_VERB = re.compile(r"\b(" + "|".join(_PAST_FORMS) + r")\b")


def past_statement(statement: str) -> str:
    """``statement`` as something no longer true: its first present-tense verb in the past tense
    ("Alex lives in Lisbon" -> "Alex lived in Lisbon"), else prefixed with "Formerly:"."""
    verb = _VERB.search(statement)
    if verb is None or len(statement[:verb.start()].split()) > 3:  # past the subject: not the main verb
        return f"Formerly: {statement}"
    return statement[:verb.start()] + _PAST_FORMS[verb.group(1)] + statement[verb.end():]


def fact_line(scored: ScoredFact, speakers: dict[str, str] | None = None) -> str:
    """A knowledge line: the statement (its role words replaced by the speakers' names when known),
    then when it was noted and what its relative times point to: ``- Caroline is going to a
    conference this month (noted 3 July 2023; this month = July 2023)``; a fact no longer true in
    the past tense with when it ended: ``- Alex lived in Lisbon (until 10 April 2025)``."""
    text = scored.fact.text.rstrip()
    for role, name in (speakers or {}).items():
        if scored.fact.slot != "name":  # "User's name is Alex", not "Alex's name is Alex"
            text = _ROLE_WORD[role].sub(name, text)
    when = scored.fact.refers_to
    if scored.fact.valid_until is not None:  # no longer true: said as past, with when it ended
        return f"- {past_statement(text.rstrip('.'))} (until {short_date(scored.fact.valid_until)})"
    if when is None:
        return f"- {text}"
    statement = text.rstrip(".")
    annotated = annotate_relative_times(statement, when)
    notes = [f"noted {short_date(when)}"]
    if annotated != statement:  # "<statement> (this month = July 2023)"
        notes.append(annotated[len(statement) + 2:-1])
    return f"- {statement} ({'; '.join(notes)})"


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
    speakers = sections.speakers
    return {"mid": past,
            "user": [fact_line(f, speakers) for f in sections.user_knowledge],
            "assistant": [fact_line(f, speakers) for f in sections.assistant_knowledge],
            "profile": profile_lines(sections.profile),
            "short": [recent_line(p) for p in sections.recent]}


def render_context(sections: ContextSections) -> str:
    """The context text of ``sections``: titled sections separated by blank lines ("" when all are empty)."""
    parts = [f"{title(name, sections.speakers)}\n" + "\n".join(lines)
             for name, lines in section_lines(sections).items() if lines]
    return "\n\n".join(parts)
