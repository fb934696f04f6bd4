"""The side of an exchange a question is about, so a tight context can show that side alone.

Evidence of a question mostly sits in what one person said; showing only that side of an exchange
fits about twice as many exchanges in the same budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from ..types import Page
from ..words import search_terms

#: A side that starts with a speaker's name ("Caroline: ...", "Dr. Ann Lee: ...").
NAMED_SIDE = re.compile(r"[A-Z][\w'.-]*(?: [A-Z][\w'.-]*){0,2}: ")
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "user"})
_SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "assistant"})
_WORD = re.compile(r"[\w']+")


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


def one_side(page: Page, role: str) -> Page:
    """``page`` with only its ``role`` side (the other blanked), for showing half an exchange."""
    return replace(page, agent_response="") if role == "user" else replace(page, user_input="")
