"""The side of an exchange a question is about, so a tight context can show that side alone.

Evidence of a question mostly sits in what one person said; showing only that side of an exchange
fits about twice as many exchanges in the same budget.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ..types import Page, ScoredFact
from ..words import search_terms

#: A side that starts with a speaker's name ("Caroline: ...", "Dr. Ann Lee: ...").
NAMED_SIDE = re.compile(r"[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}: ")
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "user"})
_SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "assistant"})
_WORD = re.compile(r"[\w']+")
#: A knowledge line this close to the question (cosine) is shown even without a word in common.
STRONG_FACT = 0.5
_ROLE_WORDS = frozenset({"user", "assistant"})


@dataclass(frozen=True)
class Focus:
    """Who and what a question is about, to pick the telling side of an exchange.

    A question that names a speaker ("What did Caroline research?") is answered by what that speaker
    said; one in the first person ("what did I say about...") by the user's side, one in the second
    person by the assistant's; otherwise the side sharing more of the question's words wins.
    """

    text: str
    terms: frozenset[str]
    role: str | None  # "user" or "assistant" when the question speaks of one role only

    @classmethod
    def of(cls, query: str) -> "Focus":
        words = {w.lower() for w in _WORD.findall(query)}
        first, second = bool(words & _FIRST_PERSON), bool(words & _SECOND_PERSON)
        role = "user" if first and not second else "assistant" if second and not first else None
        return cls(query, frozenset(search_terms(query)), role)

    def mentions(self, name: str) -> bool:
        """Whether the question names ``name`` (a speaker's name, e.g. "Caroline")."""
        return re.search(rf"\b{re.escape(name)}\b", self.text) is not None

    def about_only(self, role: str, speakers: dict[str, str]) -> bool:
        """Whether the question is about the other role's speaker and not ``role``'s: it names the
        other side's person and not this side's. Only between two named people: a user asking an
        assistant "can you suggest a recipe?" says "you" but needs what is known about the user."""
        other = "assistant" if role == "user" else "user"
        mine, theirs = speakers.get(role), speakers.get(other)
        if not (mine and theirs):
            return False
        return self.mentions(theirs) and not self.mentions(mine)

    def speaks_to(self, scored: ScoredFact, speakers: dict[str, str]) -> bool:
        """Whether a knowledge line bears on the question: it shares a content word with it (the
        speakers' names and role words aside), or is very close in meaning (``STRONG_FACT``)."""
        if scored.score >= STRONG_FACT:
            return True
        names = {term for name in speakers.values() for term in search_terms(name)}
        return bool((self.terms - names - _ROLE_WORDS) & _side_terms(scored.fact.text))

    def profile_view(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The profile as the question needs it: single-valued fields (name, location, occupation...)
        always, being short and what personalisation rests on; of a list field (hobbies, likes...) the
        items sharing a word with the question, or all of them when the question names the field."""
        view: dict[str, Any] = {}
        for key, value in fields.items():
            if not isinstance(value, list) or self.terms & _side_terms(key):
                view[key] = value
                continue
            items = [item for item in value if self.terms & _side_terms(str(item))]
            if items:
                view[key] = items
        return view

    def _names(self, side: str) -> bool:
        m = NAMED_SIDE.match(side)
        return m is not None and re.search(rf"\b{re.escape(m.group(0)[:-2])}\b", self.text) is not None

    def side(self, page: Page) -> str | None:
        """``"user"`` or ``"assistant"``: the side of ``page`` the question is about; None when neither
        stands out (or the page has one side)."""
        if not (page.user_input and page.agent_response):
            return None
        marks = []
        for role, side in (("user", page.user_input), ("assistant", page.agent_response)):
            named = NAMED_SIDE.match(side) is not None
            speaker = self._names(side) if named else role == self.role
            marks.append((speaker, len(self.terms.intersection(_side_terms(side)))))
        if marks[0] == marks[1]:
            return None
        return "user" if marks[0] > marks[1] else "assistant"


@lru_cache(maxsize=16384)
def _side_terms(text: str) -> frozenset[str]:
    """Content words of one side of an exchange (sides recur from query to query)."""
    return frozenset(search_terms(text))


def speaker_names(pages: Iterable[Page]) -> dict[str, str]:
    """The name each role's sides start with most often ("Caroline: ..."), for the roles that have one."""
    counts: dict[str, Counter[str]] = {"user": Counter(), "assistant": Counter()}
    for page in pages:
        for role, side in (("user", page.user_input), ("assistant", page.agent_response)):
            named = NAMED_SIDE.match(side) if side else None
            if named is not None:
                counts[role][named.group(0)[:-2]] += 1
    names = {role: c.most_common(1)[0][0] for role, c in counts.items() if c}
    if len(set(names.values())) < len(names):  # both sides under one name: it names neither
        return {}
    return names


def one_side(page: Page, role: str) -> Page:
    """``page`` with only its ``role`` side (the other blanked), for showing half an exchange."""
    return replace(page, agent_response="") if role == "user" else replace(page, user_input="")
