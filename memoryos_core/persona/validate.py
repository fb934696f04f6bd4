"""Checks on a model's persona answer against the pages it was shown.

A small model copies a sister's city into the user's profile, or "updates" a fact with something
no page said. Both are rejected here, by rules over the pages' user turns: a profile value every
mention of which has someone else as its subject, a junk value ("User", "none"), and an update whose
new words the pages do not contain.
"""

from __future__ import annotations

import re

from ..words import search_terms
from .observe import sentences
from .people import MENTION

_JUNK = frozenset({"user", "the user", "none", "unknown", "n/a", "na", "null", "nothing", "not specified", "-"})
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|we|we're|we've|me|my)\b", re.IGNORECASE)
_THIRD = re.compile(r"^\W*(?:she|he|they)\b", re.IGNORECASE)


def junk_value(value: str) -> bool:
    return value.strip().lower().strip(".") in _JUNK


def about_someone_else(value: str, user_turns: list[str]) -> bool:
    """True when the pages mention ``value`` only in sentences about another person ("My sister Maya
    lives in Berlin"); a value the pages do not mention, or mention of the user, is not rejected here."""
    needle = value.strip().lower()
    if len(needle) < 2:
        return False
    mentions = [s for turn in user_turns for s in sentences(turn) if needle in s.lower()]
    if not mentions:
        return False
    for sentence in mentions:
        head = sentence[: sentence.lower().index(needle)]
        other = MENTION.search(head) or _THIRD.search(head)
        if not other:
            return False
        if _FIRST_PERSON.search(head[other.end():] if other else head) and not MENTION.search(head[other.end():]):
            return False  # "my sister and I moved to Berlin"
    return True


def grounded(text: str, pages_text: str) -> bool:
    """Whether the new words of an updated fact appear in the pages (at least half of them)."""
    words = {t for t in search_terms(text) if t not in {"user", "assistant"}}
    if not words:
        return False
    present = words & set(search_terms(pages_text))
    return len(present) * 2 >= len(words)


_ATTRIBUTE = re.compile(r"^(?:the\s+)?user(?:'s)?\s+(?:\w+\s+)?(?:lives\s+in|moved\s+to|is\s+based\s+in|works\s+(?:as|at|for)|"
                        r"is)\s+(?:an?\s+|the\s+)?(?P<v>[^.,;]+)", re.IGNORECASE)


def copied_from_someone_else(fact_text: str, user_turns: list[str]) -> bool:
    """A user fact whose value the pages give only to another person ("The user lives in Berlin.")."""
    m = _ATTRIBUTE.match(fact_text.strip())
    return m is not None and about_someone_else(m.group("v").strip(), user_turns)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_I_FORMS = [(re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\bi'm\b", "User is"), (r"\bi am\b", "User is"), (r"\bi've\b", "User has"), (r"\bi'd\b", "User would"),
    (r"\bi'll\b", "User will"), (r"\bi\b", "User"), (r"\bmy\b", "User's"), (r"\bmine\b", "User's"),
    (r"\bmyself\b", "User"), (r"\bme\b", "User"))]
_WE = re.compile(r"\b(?:we|we're|we've|our|us)\b", re.IGNORECASE)


def third_person(fact_text: str) -> str | None:
    """A model's fact in the third person: a copied user sentence ("I moved to Porto last week. The
    flat is nice.") becomes its first sentence about the user ("User moved to Porto last week.");
    None when it cannot be said of the user alone ("we", "our": who else is unknown)."""
    text = _SENTENCE_END.split(fact_text.strip())[0].strip()
    if not _FIRST_PERSON.search(text):
        return text
    if _WE.search(text):
        return None
    for pattern, replacement in _I_FORMS:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\bUser (am|was)\b", lambda m: "User " + ("is" if m.group(1) == "am" else "was"), text)
    return text


_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*")


def list_items(value: str) -> list[str]:
    """The items of a list field's value a model wrote as one string ("trail running, beagle and
    Japanese cuisine" -> three items)."""
    return [item.strip(" .") for item in _LIST_SPLIT.split(value) if item.strip(" .")]


_SLOT_PATTERNS = [(re.compile(p, re.IGNORECASE), slot) for p, slot in (
    (r"^(?:the\s+)?user\s+(?:now\s+)?(?:lives|is\s+living|is\s+based|resides|moved|has\s+moved|relocated)\s+(?:in|to)\b",
     "location"),
    (r"^(?:the\s+)?user\s+(?:now\s+)?(?:works|is\s+working|is\s+employed|started\s+(?:working\s+)?)\s+(?:at|for)\b",
     "employer"),
    (r"^(?:the\s+)?user\s+(?:now\s+)?(?:works|is\s+working)\s+as\b", "occupation"),
)]


def fact_slot(fact_text: str) -> str | None:
    """The exclusive attribute a model's user fact states ("User lives in Porto" -> location), so a
    newer value supersedes it as the rules' facts do; None when it states none of them."""
    for pattern, slot in _SLOT_PATTERNS:
        if pattern.search(fact_text.strip()):
            return slot
    return None
