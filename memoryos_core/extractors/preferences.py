"""Rules for what the user likes and dislikes: likes, loves, favourites, hobbies, what they play."""

from __future__ import annotations

import re

from ..words import STOPWORDS
from .rules import (
    BAD_OBJ_START,
    ExtractedFact,
    I_,
    IM,
    NB,
    PREPS,
    REST,
    Rule,
    SWAP_USER,
    cut_clause,
    first_word,
    gerund,
    make_fact,
    make_rule,
    object_phrase,
    swap_persons,
)
from .vocabulary import SINGULAR

_BAD_OBJ_PHRASES = ("the idea", "the way", "the fact", "the thought", "a lot", "the sound of that",
                    "the assistant", "the assistant's")
_ING_NOUNS = frozenset("""
thing something anything everything nothing morning evening spring king ring wing wedding building ceiling
clothing pudding dumpling icing stuffing sibling ending earring string sling swing darling ping bling
""".split())
_LIKE_CUTS = ("more than", "over", "than", "rather")


def _preference_object(raw: str, cap: int = 8) -> str | None:
    obj = object_phrase(raw, _LIKE_CUTS, cap=cap, strip_time=False)
    if not obj:
        return None
    low = obj.lower()
    if first_word(obj) in BAD_OBJ_START or low.startswith(_BAD_OBJ_PHRASES) or low.isdigit():
        return None
    return obj


def is_activity(obj: str) -> bool:
    """True for "hiking", "trail running", "to cook": activities belong in hobbies, things in likes."""
    words = obj.lower().split()
    if words and words[0] == "to":
        return True
    for word in words[:3]:
        if word in PREPS:
            break
        if word.endswith("ing") and len(word) > 4 and word not in _ING_NOUNS:
            return True
    return False


def _hobby_value(obj: str) -> str:
    words = obj.split()
    if words and words[0].lower() == "to" and len(words) > 1:
        return " ".join([gerund(words[1]), *words[2:]])
    return obj


THIRD_PERSON = {"like": "likes", "love": "loves", "enjoy": "enjoys", "adore": "adores", "prefer": "prefers",
                "hate": "hates", "dislike": "dislikes", "detest": "detests", "loathe": "loathes",
                "despise": "despises", "play": "plays", "practice": "practices", "practise": "practises",
                "plan": "plans", "intend": "intends", "hope": "hopes", "aim": "aims", "expect": "expects"}


def _likes(m: re.Match[str]) -> list[ExtractedFact]:
    verb = m.group("v").lower()
    obj = _preference_object(m.group("x"))
    if not obj:
        return []
    words = obj.lower().split()
    if len(words) > 1 and words[0] == "their" and SINGULAR.get(words[1]):
        return []  # affection for a relative or pet is not a taste; the family rules cover them
    if len(words) > 1 and words[0] == "to" and words[1] in {"be", "say", "think", "know", "see", "hear", "help"}:
        return []  # "I'd love to help", "I like to think": politeness, not a hobby
    if verb == "prefer":
        return [make_fact(f"User prefers {obj}.", None, "likes", obj)]
    field = "hobbies" if is_activity(obj) else "likes"
    value = _hobby_value(obj) if field == "hobbies" else obj
    return [make_fact(f"User {THIRD_PERSON[verb]} {obj}.", None, field, value)]


def _into(m: re.Match[str]) -> list[ExtractedFact]:
    phrase = re.sub(r"\s+", " ", m.group("v").lower())
    obj = _preference_object(m.group("x"))
    if not obj:
        return []
    field = "hobbies" if is_activity(obj) else "likes"
    return [make_fact(f"User is {phrase} {obj}.", None, field, obj)]


def _favorite(m: re.Match[str]) -> list[ExtractedFact]:
    what = cut_clause(m.group("what")).lower()
    what = re.sub(r"\s+", " ", what).strip()
    if not what or what in {"hobby", "hobbies", "thing", "part", "one", "is", "are"} or what.split()[0] in STOPWORDS:
        return []
    obj = _preference_object(m.group("x"), cap=6)
    if not obj:
        return []
    slot = "favorite_" + re.sub(r"[^a-z0-9]+", "_", what).strip("_")
    return [make_fact(f"User's favorite {what} is {obj}.", slot, "likes", obj)]


def _favorite_fronted(m: re.Match[str]) -> list[ExtractedFact]:
    subject = re.sub(r"^(?:(?:oh|well|yeah|yes|honestly|and|but|so|ok|okay|lol|haha)\W+)+", "", m.group("x"),
                     flags=re.IGNORECASE).strip(" ,")
    what = cut_clause(m.group("what")).lower()
    if not subject or not what or first_word(subject) in BAD_OBJ_START or len(subject.split()) > 5:
        return []
    if what.split()[0] in STOPWORDS or what in {"hobby", "hobbies", "thing", "part", "one"}:
        return []
    subject = swap_persons(subject, SWAP_USER)
    slot = "favorite_" + re.sub(r"[^a-z0-9]+", "_", what).strip("_")
    return [make_fact(f"User's favorite {what} is {subject}.", slot, "likes", subject)]


def _hobbies(m: re.Match[str]) -> list[ExtractedFact]:
    listing = re.split(r"[.;!?]", m.group("x"))[0]
    facts: list[ExtractedFact] = []
    for item in re.split(r",|\s+and\s+|\s+or\s+|\s+&\s+", listing)[:6]:
        obj = _preference_object(item, cap=5)
        if obj:
            facts.append(make_fact(f"User's hobbies include {obj}.", None, "hobbies", obj))
    return facts


def _plays(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _preference_object(m.group("x"), cap=5)
    if not obj or first_word(obj) in PREPS | {"around", "along", "games", "dumb", "dead", "nice", "fair", "safe"}:
        return []
    verb = THIRD_PERSON[m.group("v").lower()]
    return [make_fact(f"User {verb} {obj}.", None, "hobbies", obj)]


_DISLIKE_TEXT = {"can't stand": "can't stand", "cannot stand": "can't stand", "can not stand": "can't stand",
                 "cant stand": "can't stand"}


def _dislikes(m: re.Match[str]) -> list[ExtractedFact]:
    raw_verb = re.sub(r"\s+", " ", m.group("v").lower())
    obj = _preference_object(m.group("x"))
    if not obj:
        return []
    words = obj.lower().split()
    if words[0] == "to" and len(words) > 1 and words[1] in {"say", "admit", "break", "tell", "ask", "bother",
                                                            "interrupt", "disappoint", "be", "do", "see"}:
        return []
    if raw_verb in _DISLIKE_TEXT:
        text = f"User can't stand {obj}."
    elif raw_verb in THIRD_PERSON:
        text = f"User {THIRD_PERSON[raw_verb]} {obj}."
    elif raw_verb.startswith(("don't", "do not", "dont")):
        text = f"User doesn't {raw_verb.split()[-1]} {obj}."
    else:  # "not a fan of", "not into"
        text = f"User is {raw_verb} {obj}."
    return [make_fact(text, None, "dislikes", obj)]


PREFERENCES_RULES: list[Rule] = [
    # likes, hobbies, dislikes
    make_rule(I_ + r"(?P<v>like|love|enjoy|adore|prefer)\s+" + REST, _likes),
    make_rule(IM + r"(?P<v>into|a\s+(?:big\s+|huge\s+|massive\s+|great\s+)?fan\s+of|fond\s+of|passionate\s+about|"
              r"interested\s+in|obsessed\s+with|crazy\s+about|keen\s+on)\s+" + REST, _into),
    make_rule(r"\bmy\s+(?:all[-\s]time\s+)?(?:favou?rite|fave|fav)\s+(?P<what>[a-z-]+(?:\s+(?!(?:is|are|has|would)\b)"
              r"[a-z-]+)?)\s+(?:is|are|has\s+to\s+be|would\s+be)\s+" + REST, _favorite),
    make_rule(r"^(?P<x>[^,]{1,40}?)\s+(?:is|are)\s+my\s+(?:all[-\s]time\s+)?(?:favou?rite|fave)\s+"
              r"(?P<what>[a-z-]+(?:\s+[a-z-]+)?)", _favorite_fronted),
    make_rule(r"\bmy\s+(?:main\s+|favou?rite\s+)?hobb(?:y\s+is|ies\s+are|ies\s+include)\s+" + REST, _hobbies),
    make_rule(I_ + r"(?P<v>play|practice|practise)\s+" + REST, _plays),
    make_rule(I_ + r"(?P<v>hate|dislike|detest|loathe|despise|can't\s+stand|cannot\s+stand|can\s+not\s+stand|"
              r"cant\s+stand|(?:don't|do\s+not|dont)\s+(?:really\s+|much\s+|particularly\s+)?(?:like|enjoy|love))\s+"
              + REST, _dislikes),
    make_rule(NB + r"(?:i'm|i\s+am|im)\s+(?P<v>not\s+(?:a\s+(?:big\s+|huge\s+)?fan\s+of|into|fond\s+of|keen\s+on))\s+"
              + REST, _dislikes),
]
