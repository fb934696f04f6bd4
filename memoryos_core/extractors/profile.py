"""Rules for who the user is: name, age, where they live and come from, work, relationship, diet,
allergies. Most of these fill exclusive profile fields (a new value supersedes the old).
"""

from __future__ import annotations

import re

from ..words import STOPWORDS
from .rules import (
    ADV,
    BAD_OBJ_START,
    Builder,
    ExtractedFact,
    I_,
    IM,
    IVE,
    MONTHS,
    NB,
    REST,
    Rule,
    cut_clause,
    first_word,
    make_fact,
    make_rule,
    object_phrase,
    proper_name,
    with_article,
)
from .vocabulary import is_job, take_name


def _name_rule(need_cap: bool, allow_possessive: bool = True) -> Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        name = take_name(m.group("x"), need_cap, allow_possessive)
        return [make_fact(f"User's name is {name}.", "name", "name", name)] if name else []
    return build


def _call_me(m: re.Match[str]) -> list[ExtractedFact]:
    name = take_name(m.group("x"), need_cap=m.group("intro") is None)
    return [make_fact(f"User's name is {name}.", "name", "name", name)] if name else []


def _age(m: re.Match[str]) -> list[ExtractedFact]:
    years = int(m.group("n"))
    if not 1 <= years <= 120:
        return []
    return [make_fact(f"User is {years} years old.", "age", "age", str(years))]


_PLACE_REJECT_FIRST = frozenset("""
it this that these those there here my your his her their our hope fear denial peace constant harmony
""".split()) | frozenset(MONTHS)
_PLACE_REJECT_LAST = frozenset("""
house apartment flat dorm condo room basement tent van home area place building neighborhood neighbourhood
moment past present future
""".split())
PLACE_CUTS = ("with", "for", "from", "at", "as", "to", "after", "before", "on", "since", "because", "by",
              "until", "but")


def _place(raw: str) -> str | None:
    obj = object_phrase(raw, PLACE_CUTS, cap=6)
    if not obj or obj.replace(" ", "").isdigit():
        return None
    words = obj.lower().split()
    if words[0] in _PLACE_REJECT_FIRST or words[-1] in _PLACE_REJECT_LAST:
        return None
    if len(words) == 1 and words[0] in {"the", "a"}:
        return None
    return proper_name(obj)


def _location(m: re.Match[str]) -> list[ExtractedFact]:
    place = _place(m.group("x"))
    return [make_fact(f"User lives in {place}.", "location", "location", place)] if place else []


def _origin(template: str) -> Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        place = _place(m.group("x"))
        if not place or place.lower() in {"work", "school", "the office", "the gym", "the future", "the past"}:
            return []
        return [make_fact(template.format(place), "origin", "hometown", place)]
    return build


_EMPLOYER_REJECT = frozenset("""
home night nights weekends weekend myself me it this that free fun money hours nighttime least all times
them us you him her themselves their
""".split()) | {"a living", "the moment", "the weekend", "the weekends", "the assistant", "the assistant's"}
_EMPLOYER_CUTS = ("in", "as", "for", "with", "since", "on", "doing", "to", "from", "until", "where")


def employer_value(raw: str) -> str | None:
    obj = object_phrase(raw, _EMPLOYER_CUTS, cap=6)
    if not obj or obj[0].isdigit():
        return None
    first = first_word(obj)
    if obj.lower() in _EMPLOYER_REJECT or first in _EMPLOYER_REJECT or (first in {"a", "an"} and " " not in obj):
        return None
    return proper_name(obj, after_the=False)


def _employer(m: re.Match[str]) -> list[ExtractedFact]:
    prep = "for" if m.group("prep").lower() in {"for", "by"} else "at"
    value = employer_value(m.group("x"))
    if not value:
        return []
    facts = [make_fact(f"User works {prep} {value}.", "employer", "employer", value)]
    role = re.search(r"\s+as\s+(?:(an?|the)\s+)?(?P<x>\S.*)", cut_clause(m.group("x")), re.IGNORECASE)
    if role:  # "I work at Google as a designer"
        job = object_phrase(role.group("x"), OCC_CUTS, cap=5)
        if job and is_job(job):
            art = (role.group(1) or "").lower()
            facts.append(make_fact(f"User works as {art if art in {'a', 'an'} else with_article(job)} {job}.",
                                   "occupation", "occupation", job))
    return facts


OCC_CUTS = ("at", "for", "in", "with", "of", "by", "from", "since", "on", "who", "to", "that", "working",
            "here", "there", "now")


def _occupation_parts(raw: str) -> tuple[str | None, list[ExtractedFact]]:
    """Split "software engineer at Google" into the job and an employer fact."""
    head = cut_clause(raw)
    extra: list[ExtractedFact] = []
    split = re.search(r"\s+(at|for)\s+(?P<x>\S.*)", head, re.IGNORECASE)
    if split:
        value = employer_value(split.group("x"))
        if value:
            extra.append(make_fact(f"User works {split.group(1).lower()} {value}.", "employer", "employer", value))
        head = head[: split.start()]
    job = object_phrase(head, OCC_CUTS, cap=5, strip_time=True)
    return job, extra


def _occupation(need_job_word: bool, verb: str) -> Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        job, extra = _occupation_parts(m.group("x"))
        if not job or (need_job_word and not is_job(job)) or first_word(job) in STOPWORDS - {"a", "an"}:
            return []
        art = (m.groupdict().get("art") or "").lower()
        if art in {"", "the"}:
            art = with_article(job)
        return [make_fact(f"User {verb} {art} {job}.", "occupation", "occupation", job), *extra]
    return build


def _status(m: re.Match[str]) -> list[ExtractedFact]:
    value = re.sub(r"\s+", " ", m.group("x").lower()).replace("self employed", "self-employed")
    return [make_fact(f"User is {value}.", "occupation", "occupation", value)]


def _relationship(m: re.Match[str]) -> list[ExtractedFact]:
    value = re.sub(r"\s+", " ", m.group("x").lower())
    return [make_fact(f"User is {value}.", "relationship_status", "relationship_status", value)]


def _diet(m: re.Match[str]) -> list[ExtractedFact]:
    value = m.group("x").lower().replace("pescetarian", "pescatarian")
    return [make_fact(f"User is {value}.", "diet", "diet", value)]


def _allergy(m: re.Match[str]) -> list[ExtractedFact]:
    obj = object_phrase(m.group("x"), cap=5)
    return [make_fact(f"User is allergic to {obj}.")] if obj and first_word(obj) not in BAD_OBJ_START else []


PROFILE_RULES: list[Rule] = [
    # name
    make_rule(r"\bmy\s+name(?:'s|\s+is)\s+" + REST, _name_rule(need_cap=False)),
    make_rule(r"(?P<intro>\b(?:you\s+can|please|just)\s+)?\bcall\s+me\s+" + REST, _call_me),
    make_rule(IM + r"called\s+" + REST, _name_rule(need_cap=False)),
    make_rule(NB + r"(?:i'm|i\s+am|im)\s+" + REST, _name_rule(need_cap=True, allow_possessive=False)),
    # age
    make_rule(IM + r"(?P<n>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?|\s*y/?o)?"
              r"(?=\s*$|\s*[,.!;)]|\s+(?:and|but|now|today|btw|lol|so|too|this|as|myself)\b)", _age),
    make_rule(I_ + r"(?:just\s+)?turned\s+(?P<n>\d{1,3})\b"
              r"(?!\s*(?:%|percent|minutes?|hours?|days?|weeks?|months?|degrees?))", _age),
    make_rule(r"\bmy\s+age\s+is\s+(?P<n>\d{1,3})\b", _age),
    # location and origin
    make_rule(I_ + r"(?:live|reside)\s+in\s+" + REST, _location),
    make_rule(IM + r"(?:living|residing|based|located)\s+(?:in|out\s+of)\s+" + REST, _location),
    make_rule(IVE + r"(?:been\s+living|lived|been\s+based|been\s+residing)\s+in\s+" + REST, _location),
    make_rule(I_ + r"(?:moved|relocated)\s+(?:back\s+|over\s+)?to\s+" + REST, _location),
    make_rule(IVE + r"(?:moved|relocated)\s+(?:back\s+|over\s+)?to\s+" + REST, _location),
    make_rule(IM + r"(?:originally\s+)?from\s+" + REST, _origin("User is from {}.")),
    make_rule(I_ + r"(?:originally\s+)?come\s+from\s+" + REST, _origin("User is from {}.")),
    make_rule(I_ + r"grew\s+up\s+in\s+" + REST, _origin("User grew up in {}.")),
    make_rule(I_ + r"was\s+born\s+(?:and\s+raised\s+)?in\s+" + REST, _origin("User was born in {}.")),
    make_rule(r"\bmy\s+home\s*town\s+is\s+" + REST, _origin("User is from {}.")),
    # occupation and employer
    make_rule(r"(?:" + I_ + r"work|" + IM + r"(?:working|employed)|" + IVE + r"(?:been\s+)?work(?:ed|ing))\s+as\s+"
              r"(?:(?P<art>an?|the)\s+)?" + REST, _occupation(need_job_word=False, verb="works as")),
    make_rule(r"(?:" + IM + r"|" + IVE + r"been\s+" + ADV + r")(?P<art>an?)\s+" + REST,
              _occupation(need_job_word=True, verb="is")),
    make_rule(r"\bmy\s+(?:job|occupation|profession|job\s+title)\s+is\s+(?:(?P<art>an?)\s+)?" + REST,
              _occupation(need_job_word=True, verb="is")),
    make_rule(IM + r"(?P<x>retired|unemployed|self[-\s]employed|a\s+stay[-\s]at[-\s]home\s+(?:mom|mum|dad|parent))"
              r"(?![\w-])", _status),
    make_rule(r"(?:" + I_ + r"work|" + IM + r"(?:working|employed)|" + IVE + r"been\s+working)\s+"
              r"(?P<prep>at|for|by)\s+" + REST, _employer),
    # relationship, diet, health
    make_rule(IM + r"(?P<x>married|single|engaged|divorced|widowed|separated|in\s+a\s+(?:long[-\s]distance\s+)?"
              r"relationship)(?![\w-])(?!\s+in\b)", _relationship),
    make_rule(I_ + r"got\s+(?P<x>married|engaged|divorced)(?![\w-])", _relationship),
    make_rule(IM + r"(?:an?\s+)?(?P<x>vegan|vegetarian|pescatarian|pescetarian)(?![\w-])"
              r"(?!\s+(?:restaurant|food|recipe|option|place|cafe|dish|meal|friendly)s?\b)", _diet),
    make_rule(IM + r"(?:very\s+|severely\s+|deathly\s+|slightly\s+)?allergic\s+to\s+" + REST, _allergy),
]
