"""Rules for what the user studies and plans to do."""

from __future__ import annotations

import re

from .preferences import THIRD_PERSON, is_activity
from .profile import employer_value
from .rules import (
    BAD_OBJ_START,
    ExtractedFact,
    FUTURE,
    I_,
    ILL,
    IM,
    REST,
    Rule,
    cut_clause,
    first_word,
    make_fact,
    make_rule,
    object_phrase,
)

_STUDY_REJECT = frozenset("""
a an for with to on in hard all every late tonight today now right up abroad online together alone there
here it this that them so too much more really very lot
""".split())
_STUDY_CUTS = ("at", "in", "for", "with", "since", "to", "on", "every", "because")


def _studies(m: re.Match[str]) -> list[ExtractedFact]:
    raw = m.group("x")
    facts: list[ExtractedFact] = []
    at = re.match(r"at\s+(?P<x>\S.*)", raw, re.IGNORECASE)
    if at:
        school = employer_value(at.group("x"))
        return [make_fact(f"User studies at {school}.", "school", "school", school)] if school else []
    subject = object_phrase(raw, _STUDY_CUTS, cap=5)
    if subject and first_word(subject) not in _STUDY_REJECT:
        facts.append(make_fact(f"User studies {subject}.", "studies", "studies", subject))
        tail = re.search(r"\s+at\s+(?P<x>\S.*)", cut_clause(raw), re.IGNORECASE)
        if tail:
            school = employer_value(tail.group("x"))
            if school:
                facts.append(make_fact(f"User studies at {school}.", "school", "school", school))
    return facts


_PLAN_ANY = {"planning", "preparing", "saving"}  # "I'm planning a trip" is a plan with or without a date
_PLAN_TO = {"hoping", "intending", "aiming"}
_PLAN_NEVER = {"feeling", "being", "kidding", "joking", "saying", "thinking", "wondering", "asking", "telling",
               "talking", "living", "afraid", "missing", "loving", "enjoying", "hating", "dying", "sorry"}


def _plan_object(raw: str) -> str | None:
    return object_phrase(raw, cap=12, strip_time=False)  # dates stay: "next spring" is part of a plan


def _plan_progressive(m: re.Match[str]) -> list[ExtractedFact]:
    gerund = m.group("g").lower()
    obj = _plan_object(m.group("x"))
    if not obj or gerund in _PLAN_NEVER:
        return []
    low = obj.lower()
    if gerund in _PLAN_ANY:
        pass
    elif gerund in _PLAN_TO:
        if not low.startswith("to "):
            return []
    elif gerund in {"moving", "relocating"}:
        if not low.startswith(("to ", "back to ", "abroad", "out ", "in with ")) and not FUTURE.search(obj):
            return []
    elif not FUTURE.search(obj):
        return []
    return [make_fact(f"User is {gerund} {obj}.")]


def _plan_thinking(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _plan_object(m.group("x"))
    if not obj or not is_activity(obj):
        return []
    return [make_fact(f"User is thinking {m.group('p').lower()} {obj}.")]


def _plan_verb(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _plan_object(m.group("x"))
    if not obj:
        return []
    return [make_fact(f"User {THIRD_PERSON[m.group('v').lower()]} to {obj}.")]


_NOT_PLANS = frozenset("think let try keep consider remember check look get".split())


def _plan_will(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _plan_object(m.group("x"))
    if not obj or not FUTURE.search(obj) or first_word(obj) in BAD_OBJ_START | _NOT_PLANS:
        return []  # "I'll think about it tomorrow" defers; it plans nothing
    going = m.group(0).lower().lstrip().startswith(("i'm", "im", "i am"))
    return [make_fact(f"User is going to {obj}." if going else f"User will {obj}.")]


PLANS_RULES: list[Rule] = [
    # studies
    make_rule(r"(?:" + I_ + r"(?:study|major\s+in)|" + IM + r"(?:studying|majoring\s+in|doing\s+(?:a|an|my)\s+"
              r"(?:degree|phd|ph\.?d\.?|masters?|master's|bachelor'?s?|ba|bsc|msc|ma|mba|doctorate)(?:\s+degree)?\s+in)"
              r"|\bmy\s+major\s+is)\s+" + REST, _studies),
    # plans
    make_rule(IM + r"(?P<g>[a-z]+ing)\s+" + REST, _plan_progressive),
    make_rule(IM + r"thinking\s+(?P<p>of|about)\s+" + REST, _plan_thinking),
    make_rule(I_ + r"(?P<v>plan|intend|hope|aim|expect)\s+to\s+" + REST, _plan_verb),
    make_rule(r"(?:" + ILL + r"|" + IM + r"gonna\s+)" + REST, _plan_will),
]
