"""Requests to forget, made in conversation, and what they match.

"Please forget my passport number", "forget what I said about my therapist", "delete my bank PIN
from your memory": recognised by rules (a question about forgetting is no request). The subject
("passport number") is matched against pages and facts by shared words, with the embedding
similarity as a second opinion, precision first: a page must carry every content word of the
subject, or most of them and be close in meaning.
"""

from __future__ import annotations

import re

from ..words import search_terms

_VERB = r"(?:forget|delete|erase|remove|wipe|drop|clear|scrub|unlearn)"
_REQUEST = re.compile(
    rf"(?:^|[.!?,;]\s*|\b(?:please|pls|can\s+you|could\s+you|would\s+you|will\s+you|i\s+want\s+you\s+to|"
    rf"i'd\s+like\s+you\s+to|you\s+should|just|actually|now|and|so|also|ok|okay)\s+)"
    rf"{_VERB}\s+(?P<x>[^.!?]+)", re.IGNORECASE)
_ABOUT = re.compile(r"^(?:(?:everything|all|anything)\s+)?(?:(?:what|that|things?)\s+)?(?:i\s+(?:said|told\s+you|"
                    r"mentioned|shared|wrote)\s+)?(?:about|regarding|on)\s+", re.IGNORECASE)
_TAIL = re.compile(r"\s+(?:from\s+(?:your|the)\s+(?:memory|records?|notes?)|for\s+good|forever|completely|entirely|"
                   r"please|now|right\s+away|,.*)$", re.IGNORECASE)
_QUESTIONISH = re.compile(r"^\W*(?:do|does|did|is|are|have|has)\s+(?:you|i|it|we)\b",
                          re.IGNORECASE)
_NOT_A_SUBJECT = frozenset({"it", "that", "this", "them", "about it", "it all", "everything", "all", "me"})


def forget_subject(text: str) -> str | None:
    """What a user asks to forget ("my passport number"), or None when the text is no such request."""
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if sentence.rstrip().endswith("?") and _QUESTIONISH.search(sentence):
            continue  # "Do you ever forget things?" asks, it does not request
        m = _REQUEST.search(sentence)
        if not m:
            continue
        subject = _ABOUT.sub("", m.group("x").strip())
        for _ in range(2):
            subject = _TAIL.sub("", subject).strip(" ?!.,")
        if not subject or subject.lower() in _NOT_A_SUBJECT or not terms(subject):
            continue
        if re.match(r"(?:to|about\s+it|the\s+(?:milk|keys|umbrella))\b", subject, re.IGNORECASE):
            continue  # "don't forget to call mum" is a reminder
        if re.search(r"\b(?:don't|do\s+not|never)\s+" + _VERB, sentence, re.IGNORECASE):
            continue
        return subject
    return None


def is_forget_request(text: str) -> bool:
    return forget_subject(text) is not None


_GENERIC = frozenset("my mine me i you your said told tell say everything about what that thing things stuff info information detail "
                     "details".split())


def terms(subject: str) -> set[str]:
    """Content terms of a subject, stemmed as the search index stems them."""
    return {t for t in search_terms(subject) if t not in _GENERIC}


def matches(subject_terms: set[str], text: str, similarity: float | None = None) -> bool:
    """Every content term of the subject in ``text``; or all but one, when the meaning is close too."""
    if not subject_terms:
        return False
    found = subject_terms & set(search_terms(text))
    if found == subject_terms:
        return True
    return (similarity is not None and similarity >= 0.5 and len(subject_terms) >= 2
            and len(found) >= len(subject_terms) - 1)


def without_requests(text: str) -> str:
    """``text`` without its requests to forget: the request names the secret's kind, not the secret."""
    kept = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if forget_subject(s) is None]
    return " ".join(kept)


def scrub_summary(summary: str, keywords: list[str], subject_terms: set[str], secret_terms: set[str]) -> tuple[str, list[str]]:
    """A segment's summary and keywords without the sentences and words that held forgotten text."""
    def tainted(text: str) -> bool:
        found = set(search_terms(text))
        return bool(found & secret_terms) or (bool(subject_terms) and subject_terms <= found)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", summary.strip()) if s and not tainted(s)]
    return " ".join(sentences), [k for k in keywords if not tainted(k) and not (set(search_terms(k)) & subject_terms)]
