"""Rules for the user's family and pets: names, descriptions, ages, and what the user has."""

from __future__ import annotations

import re

from .profile import OCC_CUTS, PLACE_CUTS
from .rules import (
    ADV,
    BAD_OBJ_START,
    ExtractedFact,
    I_,
    NB,
    REST,
    Rule,
    first_word,
    make_fact,
    make_rule,
    object_phrase,
    proper_name,
    with_article,
)
from .vocabulary import COUNT, KIN, KIN_ADJ, KIN_OR_PET_ANY, PET, SINGULAR, kin_field, take_name


def _kin_phrase(adj: str, noun: str) -> str:
    return re.sub(r"\s+", " ", f"{adj} {noun}").strip().lower()


def _kin_named(m: re.Match[str]) -> list[ExtractedFact]:
    marker = (m.group("mk") or "").strip()
    name = take_name(m.group("x"), need_cap=marker in {"", ","})
    if not name:
        return []
    who = _kin_phrase(m.group("adj") or "", m.group("rel"))
    return [make_fact(f"User has {with_article(who)} {who} named {name}.", None, kin_field(m.group("rel")),
                      f"{who} named {name}")]


def _kin_describe(m: re.Match[str]) -> list[ExtractedFact]:
    who = _kin_phrase(m.group("adj") or "", m.group("rel"))
    verb = re.sub(r"\s+", " ", m.group("v").lower())
    proper = verb in {"lives in", "works at", "works for", "is from"}
    obj = object_phrase(m.group("x"), PLACE_CUTS if proper else OCC_CUTS, cap=5)
    if not obj or first_word(obj) in BAD_OBJ_START:
        return []
    if proper:
        obj = proper_name(obj, after_the=verb == "lives in")
    art = m.groupdict().get("art")
    middle = f"{verb} {art.lower()}" if art else verb
    return [make_fact(f"User's {who} {middle} {obj}.", None, kin_field(m.group("rel")), who)]


def _kin_age(m: re.Match[str]) -> list[ExtractedFact]:
    who = _kin_phrase(m.group("adj") or "", m.group("rel"))
    unit = re.sub(r"\s+", " ", (m.group("unit") or "").lower()).strip() or "years old"
    if not unit.endswith("old"):
        unit += " old"
    return [make_fact(f"User's {who} is {m.group('n')} {unit}.", None, kin_field(m.group("rel")), who)]


_HAVE_ITEM = re.compile(
    rf"(?P<count>{COUNT})\s+(?P<adj>{KIN_ADJ})(?P<noun>{KIN_OR_PET_ANY})(?![\w-])"
    rf"(?:\s+(?:named|called)\s+(?P<names>[^\W\d_][\w'-]*(?:(?:\s*,\s*|\s+and\s+|\s*&\s*)"
    rf"(?!(?:{COUNT})\b)[^\W\d_][\w'-]*)*))?",
    re.IGNORECASE)
_HAVE_SEP = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s+plus\s+)", re.IGNORECASE)


def _have(m: re.Match[str]) -> list[ExtractedFact]:
    rest = re.split(r"\s+(?:but|because|who|which|that|so)\b|[;.!?]", m.group("x"), flags=re.IGNORECASE)[0]
    facts: list[ExtractedFact] = []
    pos = 0
    while True:
        item = _HAVE_ITEM.match(rest, pos)
        if not item:
            break
        count, noun = item.group("count").lower(), re.sub(r"\s+", " ", item.group("noun").lower())
        adj = re.sub(r"\s+", " ", item.group("adj") or "").strip().lower()
        plural = count not in {"a", "an", "one", "1"}
        if plural and noun in SINGULAR and SINGULAR[noun] == noun and noun not in {"fish", "goldfish"}:
            break  # "two sister": not something we can state confidently
        phrase = f"{adj} {noun}".strip()
        names: list[str] = []
        if item.group("names"):
            for raw in re.split(r"\s*,\s*|\s+and\s+|\s*&\s*", item.group("names")):
                name = take_name(raw, need_cap=False)
                if name:
                    names.append(name)
        named = f" named {' and '.join(names)}" if names else ""
        quantity = count if plural else with_article(phrase)
        facts.append(make_fact(f"User has {quantity} {phrase}{named}.", None, kin_field(noun),
                               f"{count + ' ' if plural else ''}{phrase}{named}"))
        sep = _HAVE_SEP.match(rest, item.end())
        if not sep:
            break
        pos = sep.end()
    return facts


FAMILY_RULES: list[Rule] = [
    # family and pets
    make_rule(r"\bmy\s+(?P<adj>" + KIN_ADJ + r")(?P<rel>" + KIN + "|" + PET + r")"
              r"(?P<mk>'s\s+name\s+is|\s+is\s+(?:called|named)|\s+(?:called|named)|\s*,)?\s+" + REST, _kin_named),
    make_rule(r"\bmy\s+(?P<adj>" + KIN_ADJ + r")(?P<rel>" + KIN + "|" + PET + r")\s+(?P<v>is|was)\s+"
              r"(?P<art>an?)\s+" + REST, _kin_describe),
    make_rule(r"\bmy\s+(?P<adj>" + KIN_ADJ + r")(?P<rel>" + KIN + r")\s+(?P<v>lives\s+in|works\s+(?:as|at|for)|"
              r"is\s+from|studies)\s+" + REST, _kin_describe),
    make_rule(r"\bmy\s+(?P<adj>" + KIN_ADJ + r")(?P<rel>" + KIN + "|" + PET + r")\s+is\s+(?P<n>\d{1,3})"
              r"(?P<unit>\s+(?:years?|months?|weeks?)(?:\s+old)?|\s*(?:years?|months?)\b)?"
              r"(?=\s*$|\s*[,.!;]|\s+(?:and|but|now)\b)", _kin_age),
    make_rule(r"(?:" + I_ + r"(?:have(?:\s+got)?|own|got)|" + NB + r"i've\s+" + ADV + r"(?:got\s+)?)\s*"
              r"(?=(?P<x>" + COUNT + r"\s.*))", _have),
]
