"""Who a sentence is about: relatives and friends the user names, and what "she" or "him" refers to.

The rules keep a short window of the people mentioned in the last few user turns. A pronoun is
resolved only when exactly one person of the matching gender is in the window; otherwise the fact
that needs it is dropped (the dated pages still hold the words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FEMALE = frozenset("""sister mother mom mum mommy wife girlfriend daughter aunt niece grandma grandmother
fiancee fiancée stepmother stepmom stepdaughter granddaughter stepsister""".split())
MALE = frozenset("""brother father dad daddy husband boyfriend son uncle nephew grandpa grandfather fiance
fiancé stepfather stepdad stepson grandson stepbrother""".split())
NEUTRAL = frozenset("""friend colleague coworker co-worker boss manager neighbor neighbour roommate flatmate
housemate partner cousin kid child baby teacher doctor therapist mentor classmate teammate sibling twin
landlord landlady ex""".split())
RELATIONS = FEMALE | MALE | NEUTRAL
#: Relations that belong in the profile's family list (a friend or a colleague does not).
KIN = FEMALE | MALE | frozenset("cousin partner twin sibling kid child baby".split())
_ADJ = r"(?:(?:little|younger|older|big|baby|twin|elder|oldest|youngest|eldest|middle|best|old|new|close|good)\s+)*"
_REL_ALT = "|".join(sorted((re.escape(r) for r in RELATIONS), key=len, reverse=True))
#: "my sister Maya", "my best friend, Sam,", "my sister's name is Maya"
MENTION = re.compile(
    rf"\bmy\s+(?P<adj>{_ADJ})(?P<rel>{_REL_ALT})(?![\w-])"
    rf"(?:(?:'s\s+name\s+is|\s+(?:called|named)|\s*,)?\s+(?P<name>(?-i:[A-Z][a-z]+(?:-[A-Z][a-z]+)?))(?![\w-]))?",
    re.IGNORECASE)
_NOT_NAMES = frozenset("""I I'm Im And But So The A An My We Our He She They It This That Is Was Lives Works
Moved Just Has Had Will Would Can Could Loves Likes Says Said Told Came Went Always Never Also Still Now""".split())
PRONOUNS = {"she": "f", "her": "f", "hers": "f", "herself": "f", "he": "m", "him": "m", "his": "m", "himself": "m"}


@dataclass
class Person:
    relation: str | None
    name: str | None
    gender: str | None  # "f", "m" or None

    @property
    def label(self) -> str:
        """How a fact names them: "User's sister Maya", "User's friend", "Maya"."""
        if self.relation and self.name:
            return f"User's {self.relation} {self.name}"
        if self.relation:
            return f"User's {self.relation}"
        return self.name or "someone"

    @property
    def short(self) -> str:
        """The name, or "the user's sister" when unnamed: what replaces a pronoun."""
        return self.name or f"the user's {self.relation}"

    @property
    def key(self) -> str:
        return (self.name or self.relation or "someone").lower()


def _gender(relation: str | None) -> str | None:
    if relation in FEMALE:
        return "f"
    if relation in MALE:
        return "m"
    return None


@dataclass
class People:
    """The people of the recent conversation, newest last."""

    window: list[list[Person]] = field(default_factory=list)
    size: int = 3

    def mentions(self, sentence: str) -> list[Person]:
        found: list[Person] = []
        for m in MENTION.finditer(sentence):
            rel = m.group("rel").lower()
            name = m.group("name")
            if name and (name in _NOT_NAMES or name.lower() in RELATIONS):
                name = None
            found.append(self._merge(Person(rel, name, _gender(rel)), found))
        return found

    def _merge(self, person: Person, current: list[Person]) -> Person:
        """An unnamed "my sister" is the named sister of the window when there is exactly one."""
        if person.name:
            return person
        known = {p.name: p for turn in self.window + [current] for p in turn if p.name and p.relation == person.relation}
        return next(iter(known.values())) if len(known) == 1 else person

    def start_turn(self) -> None:
        self.window.append([])
        del self.window[:-self.size]

    def add(self, people: list[Person]) -> None:
        if not self.window:
            self.start_turn()
        self.window[-1].extend(people)

    def known_name(self, name: str) -> Person | None:
        for turn in reversed(self.window):
            for p in turn:
                if p.name == name:
                    return p
        return None

    def resolve(self, pronoun: str) -> Person | None:
        """The one person of the pronoun's gender in the window, else None (ambiguous or unknown)."""
        gender = PRONOUNS.get(pronoun.lower())
        if gender is None:
            return None
        candidates = {p.key: p for turn in self.window for p in turn if p.gender == gender}
        return next(iter(candidates.values())) if len(candidates) == 1 else None
