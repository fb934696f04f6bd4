"""Rules for facts about the assistant: its name, what it recommended, what it promised."""

from __future__ import annotations

import re

from .rules import (
    ADV,
    BAD_OBJ_START,
    Builder,
    ExtractedFact,
    I_,
    ILL,
    IM,
    NB,
    REST,
    Rule,
    SWAP_ASSISTANT,
    apply_rules,
    first_word,
    make_fact,
    make_rule,
    object_phrase,
)
from .vocabulary import take_name


def _assistant_name(need_cap: bool) -> Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        name = take_name(m.group("x"), need_cap)
        return [make_fact(f"Assistant's name is {name}.", "assistant_name")] if name else []
    return build


def _recommend(m: re.Match[str]) -> list[ExtractedFact]:
    raw = re.sub(r"^that\s+", "", m.group("x"), flags=re.IGNORECASE)
    against = re.match(r"against\s+(?P<x>\S.*)", raw, re.IGNORECASE)
    obj = object_phrase(against.group("x") if against else raw, cap=12, strip_time=False, swap=SWAP_ASSISTANT)
    if not obj:
        return []
    low = obj.lower()
    if (first_word(obj) in BAD_OBJ_START | {"earlier", "before", "above", "previously", "later"}
            or low in {"the user", "the user's"}):
        return []
    if against:
        return [make_fact(f"Assistant advised against {obj}.")]
    if low.startswith("the user to "):
        obj = "the user " + obj[len("the user to "):]
    if low.startswith("the user "):
        return [make_fact(f"Assistant recommended that {obj}.")]
    return [make_fact(f"Assistant recommended {obj}.")]


def _remind(m: re.Match[str]) -> list[ExtractedFact]:
    rest = (m.group("x") or "").strip()
    obj = object_phrase(rest, cap=12, strip_time=False, swap=SWAP_ASSISTANT) if rest else None
    return [make_fact(f"Assistant promised to remind the user {obj}." if obj
                      else "Assistant promised to remind the user.")]


def _promise(m: re.Match[str]) -> list[ExtractedFact]:
    obj = object_phrase(m.group("x"), cap=12, strip_time=False, swap=SWAP_ASSISTANT)
    if not obj or first_word(obj) in BAD_OBJ_START:
        return []
    return [make_fact(f"Assistant promised to {obj}.")]


_ASSISTANT_RULES: list[Rule] = [
    make_rule(r"\bmy\s+name(?:'s|\s+is)\s+" + REST, _assistant_name(need_cap=False)),
    make_rule(r"\byou\s+can\s+call\s+me\s+" + REST, _assistant_name(need_cap=False)),
    make_rule(r"(?<!can\s)\bcall\s+me\s+" + REST, _assistant_name(need_cap=True)),
    make_rule(NB + r"(?:i'm|i\s+am)\s+(?=(?P<x>[^\W\d_][\w'-]*\s*,\s*(?:your|an?)\s+(?:\w+\s+)?(?:assistant|bot|"
              r"companion|helper|guide)))", _assistant_name(need_cap=True)),
    make_rule(r"\b(?:assistant|bot|ai|chatbot)\s+(?:called|named)\s+" + REST, _assistant_name(need_cap=True)),
    make_rule(r"(?:" + NB + r"i(?:'d|\s+would)?\s+" + ADV + r"(?:strongly\s+|highly\s+|warmly\s+)?"
              r"(?:recommend(?:ed)?|suggest(?:ed)?|advised?)|\bmy\s+(?:top\s+|main\s+|best\s+)?"
              r"(?:recommendation|suggestion|advice)\s+(?:is|would\s+be)|" + IM + r"(?:recommending|suggesting))\s+"
              + REST, _recommend),
    make_rule(r"(?:" + ILL + r"(?:make\s+sure\s+to\s+|be\s+sure\s+to\s+)?|" + I_ + r"promise\s+to\s+)"
              r"remind\s+you\b(?P<x>.*)", _remind),
    make_rule(I_ + r"promise\s+(?:to\s+|that\s+i'll\s+|i'll\s+)(?!remind\b)" + REST, _promise),
]


def extract_assistant_facts(assistant_text: str) -> list[ExtractedFact]:
    """Rule-based facts about the assistant (its name, recommendations, promises); no profile fields."""
    return apply_rules(_ASSISTANT_RULES, assistant_text)
