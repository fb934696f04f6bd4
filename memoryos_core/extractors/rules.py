"""The machinery of rule-based facts: statements of a text, clause boundaries, object phrases cleaned and
put in the third person, and the ``Rule`` type with its runner (``apply_rules``).

The rules favour precision: miss a fact rather than invent one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from ..words import normalise, strip_roles
from .sentences import split_sentences

_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class ExtractedFact:
    """One rule-based fact, with the exclusive slot it fills and the profile field it updates."""

    text: str
    slot: str | None
    profile_field: str | None
    profile_value: str | None


NB = r"(?<![\w'])"
ADV = (r"(?:(?:really|just|also|actually|currently|recently|now|still|finally|absolutely|totally|truly|"
       r"honestly|definitely|seriously|genuinely|kinda|kind\s+of|sort\s+of|do|literally|so|basically|"
       r"officially|already|always|personally|mostly|mainly|generally|usually|originally|newly|happily|"
       r"proudly|even|only|certainly|particularly|especially|simply|obviously|typically|normally|"
       r"sometimes|often)\s+)*")
I_ = NB + r"i\s+" + ADV
IM = NB + r"(?:i'm|i\s+am|im)\s+" + ADV
IVE = NB + r"(?:i've|i\s+have|ive)\s+" + ADV
ILL = NB + r"(?:i'll|i\s+will|i\s+shall)\s+" + ADV
REST = r"(?=(?P<x>\S.{0,240}))"  # the object, by lookahead so later rules still see the clause; bounded

MONTHS = ("january february march april may june july august september october november december").split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()

_QUESTION_START = re.compile(
    r"^\W*(?:(?:so|and|but|ok|okay|well|hey|also|then|oh|um|uh|wait)\W+)*"
    r"(?:(?:what|where|when|why|how|who|whom|which|whose)(?:'s|'re|'d|'ll)?\s+"
    r"(?:do|does|did|is|are|am|was|were|can|could|would|will|should|shall|have|has|had|may|might|must)\b"
    r"|(?:what|where|who|why|how|which)'s\b"
    r"|(?:do|does|did|is|are|am|was|were|can|could|would|will|should|shall|have|has|had|may|might|must|"
    r"isn't|aren't|don't|doesn't|didn't|won't|wouldn't|can't|couldn't|shouldn't)\s+"
    r"(?:i|you|we|they|he|she|it|there|my|your|this|that|u)\b)",
    re.IGNORECASE)
_SCOPE_BREAK = re.compile(r"[,;:]|\b(?:but|and|so|because|although|though|however|yet|anyway)\b", re.IGNORECASE)
_BLOCKERS = re.compile(
    r"n't\b|\b(?:not|never|no\s+longer|nor|neither|hardly|barely|cannot|dont|didnt|doesnt|cant|wont|isnt|"
    r"aint|wasnt|havent|if|unless|whether|wish|imagine|pretend|suppose|supposing|hypothetically|assuming)\b",
    re.IGNORECASE)


_MAX_SENTENCE = 400


def _bounded(sentence: str) -> Iterator[str]:
    """Split run-on text into pieces of bounded length so the rules stay linear on pathological input."""
    while len(sentence) > _MAX_SENTENCE:
        cut = sentence.rfind(",", 0, _MAX_SENTENCE)
        if cut < _MAX_SENTENCE // 2:
            cut = sentence.rfind(" ", 0, _MAX_SENTENCE)
        cut = cut if cut > 0 else _MAX_SENTENCE
        yield sentence[:cut]
        sentence = sentence[cut:].lstrip(" ,")
    if sentence:
        yield sentence


def _statements(text: str) -> Iterator[str]:
    """Declarative sentences only: questions state nothing, except a statement before a tag question."""
    for whole in split_sentences(strip_roles(normalise(text))):
        whole = re.sub(r"\s+", " ", whole)
        if len(whole) > _MAX_SENTENCE:
            if _QUESTION_START.search(whole) or whole.rstrip().endswith("?"):
                continue
            yield from _bounded(whole)
            continue
        sentence = whole
        if _QUESTION_START.search(sentence):
            continue
        if sentence.rstrip().endswith("?"):
            comma = sentence.rfind(",")
            if comma > 0:
                yield sentence[:comma]
            continue
        yield sentence


def _blocked(sentence: str, start: int) -> bool:
    """True when the clause before a match negates or hypothesises it ("I don't think I ...", "if I ...")."""
    prefix = sentence[max(0, start - 160):start]
    scope_start = 0
    for m in _SCOPE_BREAK.finditer(prefix):
        scope_start = m.end()
    return bool(_BLOCKERS.search(prefix[scope_start:]))


_CUT_PUNCT = re.compile(r"[,;:!?()\[\]{}\"]|\s[-\u2013\u2014]+\s|\.{2,}")
_TITLE_ABBREV = frozenset({"st", "mr", "mrs", "ms", "dr", "mt", "jr", "sr", "prof", "ft"})
_BASE_CUTS = ("and", "but", "because", "cause", "cuz", "coz", "since", "so", "although", "though", "while",
              "whereas", "which", "who", "whom", "whose", "where", "when", "or", "unless", "if", "until", "plus",
              "lol", "lmao", "haha", "hahaha", "btw", "tbh", "however", "then")


@lru_cache(maxsize=64)
def _cut_words(extra: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted(set(_BASE_CUTS + extra), key=len, reverse=True)
    return re.compile(r"\s+(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words) + r")\b",
                      re.IGNORECASE)


def cut_clause(obj: str, extra: tuple[str, ...] = ()) -> str:
    """Keep the object phrase short: stop at the first clause boundary."""
    end = len(obj)
    m = _CUT_PUNCT.search(obj)
    if m:
        end = m.start()
    for dot in re.finditer(r"\.(?=\s|$)", obj[:end]):
        before = re.search(r"(\w+)$", obj[: dot.start()])
        if not before or before.group(1).lower() not in _TITLE_ABBREV:
            end = dot.start()
            break
    head = obj[:end]
    m = _cut_words(extra).search(head)
    if m:
        head = head[: m.start()]
    return head.strip()


_NUM = r"(?:a\s+few|a\s+couple\s+of|a|an|\d+|one|two|three|four|five|six|seven|eight|nine|ten|some|many|several)"
_PERIOD = r"(?:years?|months?|weeks?|days?)"
_SEASON = r"(?:year|month|week|weekend|summer|winter|spring|fall|autumn)"
_TRAIL_FILLER = re.compile(
    r"(?:\s+(?:now|currently|these\s+days|nowadays|at\s+the\s+moment|right\s+now|anymore|too|also|as\s+well|"
    r"lol|lmao|haha\w*|though|tho|actually|honestly|tbh|btw|already|anyway|really|very\s+much|so\s+much|originally|"
    r"a\s+lot|a\s+ton|for\s+now|for\s+sure|i\s+guess|i\s+think|in\s+(?:my|their)\s+(?:free|spare)\s+time|"
    r"(?:on|at|during|over)\s+(?:the\s+)?weekends?|every\s+(?:day|week|weekend|morning|evening|night|"
    r"\w+day)|on\s+\w+days|daily|weekly|sometimes|often|here)\s*)+$",
    re.IGNORECASE)
_TRAIL_TIME = re.compile(
    rf"(?:\s+(?:for\s+a\s+while|for\s+{_NUM}\s+{_PERIOD}|{_NUM}\s+{_PERIOD}\s+ago|last\s+{_SEASON}|"
    rf"this\s+{_SEASON}|in\s+\d{{4}}|since\s+\d{{4}}|since\s+(?:last\s+)?{_SEASON}|recently|lately)\s*)+$",
    re.IGNORECASE)
FUTURE = re.compile(
   rf"\b(?:tomorrow|tonight|soon|someday|eventually|one\s+day|next\s+\w+|later\s+(?:today|this\s+\w+|on)|"
   rf"this\s+(?:{_SEASON}|evening|afternoon|morning|{'|'.join(DAYS)})|"
   rf"in\s+{_NUM}\s+{_PERIOD}|on\s+(?:{'|'.join(DAYS)})|in\s+(?:{'|'.join(MONTHS)})|in\s+(?:19|20)\d\d|"
   rf"over\s+the\s+(?:weekend|holidays?|summer|break)|after\s+(?:graduation|work|school|the\s+holidays?))\b",
   re.IGNORECASE)

SWAP_USER = {"my": "their", "mine": "theirs", "me": "them", "myself": "themselves", "our": "their",
             "ours": "theirs", "you": "the assistant", "your": "the assistant's", "yours": "the assistant's"}
SWAP_ASSISTANT = {"you": "the user", "your": "the user's", "yours": "the user's", "yourself": "themselves",
                  "u": "the user", "ur": "the user's"}
_SWAP_RE = re.compile(r"\b(?:my|mine|me|myself|our|ours|you|your|yours|yourself|u|ur)\b", re.IGNORECASE)


def swap_persons(obj: str, table: dict[str, str]) -> str:
    """Rewrite first/second person inside an object so the fact reads in the third person."""
    return _SWAP_RE.sub(lambda m: table.get(m.group().lower(), m.group()), obj)


PREPS = frozenset("in on at near with for from to of by during around".split())


def _shorten(obj: str, cap: int) -> str | None:
    """Trim an over-long object at a preposition; give up rather than cut a phrase mid-way."""
    words = obj.split()
    if len(words) <= cap:
        return obj
    for i in range(cap, 0, -1):
        if words[i].lower() in PREPS:
            return " ".join(words[:i])
    return None


def object_phrase(raw: str, extra: tuple[str, ...] = (), cap: int = 6, strip_time: bool = True,
                  swap: dict[str, str] | None = None) -> str | None:
    """Cut, tidy, shorten and re-person an object phrase; None when nothing usable remains."""
    obj = cut_clause(raw, extra)
    for _ in range(3):
        before = obj
        obj = _TRAIL_FILLER.sub("", obj)
        if strip_time:
            obj = _TRAIL_TIME.sub("", obj)
        if obj == before:
            break
    obj = obj.strip(" '\"-\u2013\u2014.")
    if not obj or not _LETTER.search(obj):
        return None
    short = _shorten(obj, cap)
    if short is None:
        return None
    return swap_persons(short, SWAP_USER if swap is None else swap).strip()


def first_word(obj: str) -> str:
    return obj.split()[0].lower() if obj.split() else ""


_ACRONYMS = {"us": "US", "usa": "USA", "uk": "UK", "uae": "UAE", "nyc": "NYC", "la": "LA", "sf": "SF",
             "dc": "DC", "eu": "EU"}
_LOWER_IN_NAMES = frozenset("of de da do das dos del della di du la le van von der den and y el on upon".split())


def proper_name(value: str, after_the: bool = True) -> str:
    """Capitalise a name typed in lowercase ("new york" -> "New York"); leave typed capitals alone."""
    if any(c.isupper() for c in value):
        return value
    words = value.split()
    lead = ""
    if words and words[0] == "the" and len(words) > 1:
        if not after_the:
            return value
        lead, words = "the ", words[1:]
    elif words and words[0] in {"a", "an", "my", "their", "some", "this", "that"}:
        return value
    joined = " ".join(words)
    if joined in _ACRONYMS:
        return lead + _ACRONYMS[joined]
    titled = [w if (i and w in _LOWER_IN_NAMES) else "-".join(p[:1].upper() + p[1:] for p in w.split("-"))
              for i, w in enumerate(words)]
    return lead + " ".join(titled)


def with_article(phrase: str) -> str:
    word = phrase.split()[0].lower() if phrase.split() else ""
    if word.startswith(("uni", "use", "usu", "eu", "one")):
        return "a"
    if word.startswith(("hour", "honest", "honou", "heir")) or word[:1] in "aeiou" or word == "fbi":
        return "an"
    return "a"


def gerund(verb: str) -> str:
    """hike -> hiking, run -> running, travel -> traveling: turns "likes to X" into a hobby name."""
    v = verb.lower()
    if v.endswith("ing"):
        return v
    if v.endswith("ie"):
        return v[:-2] + "ying"
    if v.endswith("e") and not v.endswith(("ee", "ye", "oe")) and len(v) > 2:
        return v[:-1] + "ing"
    if (len(v) <= 4 and len(v) >= 3 and v[-1] not in "aeiouwxy" and v[-2] in "aeiou"
            and v[-3] not in "aeiou"):
        return v + v[-1] + "ing"
    return v + "ing"


def make_fact(text: str, slot: str | None = None, field: str | None = None, value: str | None = None) -> ExtractedFact:
    text = re.sub(r"\s+", " ", text).strip()
    if not text.endswith("."):
        text += "."
    return ExtractedFact(text=text, slot=slot, profile_field=field, profile_value=value)


Builder = Callable[[re.Match[str]], list[ExtractedFact]]


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    build: Builder


def make_rule(pattern: str, build: Builder) -> Rule:
    return Rule(re.compile(pattern, re.IGNORECASE), build)


def apply_rules(rules: Iterable[Rule], text: str) -> list[ExtractedFact]:
    """Run every rule on every statement; facts come out in reading order, deduplicated."""
    found: list[tuple[int, int, int, int, ExtractedFact]] = []
    rule_list = list(rules)
    for si, sentence in enumerate(_statements(text or "")):
        for ri, rule in enumerate(rule_list):
            for m in rule.pattern.finditer(sentence):
                if _blocked(sentence, m.start()):
                    continue
                for k, fact in enumerate(rule.build(m)):
                    found.append((si, m.start(), ri, k, fact))
    found.sort(key=lambda f: f[:4])
    out: list[ExtractedFact] = []
    seen: set[str] = set()
    for *_, fact in found:
        key = fact.text.casefold()
        if key not in seen:
            seen.add(key)
            out.append(fact)
    return out


BAD_OBJ_START = frozenset("""
i it it's its that this these those them they you u your yours him her he she his me myself us we what which
how when why where who whom whose there here so too very much anything everything nothing something
someone anyone everyone somebody anybody nobody all both each either neither such if whether because
like as than then well yes no not ok okay one ones
""".split())
