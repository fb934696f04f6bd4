"""Offline reading of the user's turns for the persona, precision first.

Three passes over each sentence, on top of the rule-based extractors:

- **updates**: phrasings of a change ("we finally moved to Porto", "I started at a clinic", "Go is
  now my favourite language") are restated in the plain form the extractors know ("I live in
  Porto"), so the new value fills its slot and supersedes the old one;
- **stops**: "I'm not vegetarian anymore", "I quit my job at Barclays", "I gave up tennis" retire the
  matching value (profile field, list item, fact) without inventing a replacement;
- **people**: a sentence about a relative or friend ("My sister Maya lives in Berlin") becomes facts
  about them, never about the user; a fact that needs a pronoun is kept only when the pronoun
  resolves to exactly one person ("her" -> "Maya"), else dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..extractors import ExtractedFact, extract_user_facts
from .people import KIN, PRONOUNS, People, Person, RELATIONS

_ADV = r"(?:(?:just|finally|recently|now|also|actually|officially|already|eventually|then|have|'ve)\s+)*"
_I = r"\bi(?:'ve|\s+have)?\s+"
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_ABBREV = re.compile(r"\b(?:St|Dr|Mr|Mrs|Ms|Mt|Prof)\.$")


@dataclass(frozen=True)
class Observation:
    """One thing a turn says: a fact to add (with its slot and profile value) or a value that stopped."""

    op: Literal["add", "stop"]
    text: str = ""
    slot: str | None = None
    field: str | None = None
    #: add: the profile value; stop: words naming what stopped (None: whatever the field holds)
    value: str | None = None
    #: stop: the profile fields (and fact slots) the stop applies to
    targets: tuple[str, ...] = ()


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.replace("\u2019", "'").splitlines():
        for part in _SENT.split(line.strip()):
            if out and _ABBREV.search(out[-1]) and part:
                out[-1] += " " + part
            elif part.strip():
                out.append(part.strip())
    return out


# -- updates restated in the plain form ---------------------------------------------------------

_RESTATE: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.IGNORECASE), r) for p, r in [
    (r"\b(?:i|we)\s+" + _ADV + r"(moved|relocated)\s+(back\s+)?from\s+[^,.;!?]+?\s+to\s+", r"I \1 \2to "),
    (r"\bwe\s+" + _ADV + r"(moved|relocated)\b", r"I \1"),
    (r"\bwe(?:'re|\s+are)\s+" + _ADV + r"(?:living|based)\s+in\b", "I live in"),
    (r"\b(?:now\s+)?we\s+" + _ADV + r"live\s+in\b", "I live in"),
    (r"\bhome\s+is\s+now\s+", "I live in "),
    (_I + _ADV + r"(?:started|began)\s+(?:a\s+new\s+job\s+|(?:a\s+)?new\s+role\s+|working\s+|work\s+)?(at|for)\s+",
     r"I work \1 "),
    (_I + _ADV + r"(?:got|landed|took|accepted|found)\s+(?:a|an|the)\s+(?:new\s+)?(?:job|position|role)\s+"
     r"(as|at|with)\s+", r"I work \1 "),
    (_I + _ADV + r"joined\s+(?P<org>[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*)*)\s+as\s+", r"I work at \g<org> as "),
    (_I + _ADV + r"(?:became|have\s+become|'ve\s+become)\s+(?=(?:an?\s+)?\w)", "I'm "),
    (_I + _ADV + r"(?:got\s+|was\s+)?promoted\s+to\s+(?:an?\s+)?", "I work as a "),
    (_I + _ADV + r"(?:went|have\s+gone|'ve\s+gone)\s+(vegan|vegetarian|pescatarian)\b", r"I'm \1"),
    (r"\b(?:we|(?:my\s+\w+|[A-Z]\w+)\s+and\s+i)\s+" + _ADV + r"got\s+(married|engaged|divorced)\b", r"I got \1"),
    (r"^.*?\b(?:i|we|(?:my\s+\w+|[A-Z]\w+)\s+and\s+i)\s+" + _ADV + r"(?:broke\s+up|split\s+up)\b.*$", "I'm single."),
    (r"\b(?:we|i)\s+" + _ADV + r"adopted\s+(?=an?\s)", "I have "),
    (r"^(?P<x>[A-Z][\w+#.-]*(?:\s+[A-Z][\w+#.-]*)?)\s+is\s+(?:now|currently|officially)\s+my\s+(?P<f>favou?rite\s+\w+)",
     r"My \g<f> is \g<x>"),
]]
_RETIRED = re.compile(_I + _ADV + r"retired\b(?!\s+(?:from\s+)?(?:the|my|our)\s+(?:idea|car|plan))", re.IGNORECASE)


_CARRY = re.compile(r"\band\s+(?:then\s+)?(?=(?:started|began|moved|relocated|joined|became|took|got|quit|left|switched)\b)",
                    re.IGNORECASE)


def _restated(sentence: str) -> list[str]:
    out = []
    if re.match(r"^\W*i\b", sentence, re.IGNORECASE) and _CARRY.search(sentence):
        sentence = _CARRY.sub("and I ", sentence)  # "I left X and started at Y": the subject carries over
        out.append(sentence)
    for pattern, repl in _RESTATE:
        if pattern.search(sentence):
            out.append(pattern.sub(repl, sentence))
    if _RETIRED.search(sentence):
        out.append("I'm retired.")
    return out


# -- stops ---------------------------------------------------------------------------------------

_CUT = re.compile(r"[,.;:!?()]|\s(?:and|but|because|since|so|after|before|when|last|this|in|on|at|two|three|a\s+few|"
                  r"anymore|any\s+more|again|now|ago|for|as|to|which|it|though)\b", re.IGNORECASE)
_JOBWORDS = frozenset("job work company firm office position role".split())


def _phrase(raw: str, cap: int = 4) -> str:
    m = _CUT.search(" " + raw)
    text = (" " + raw)[: m.start()] if m else " " + raw
    words = text.split()[:cap]
    return " ".join(words).strip(" '\"")


def _stop(hint: str | None, *targets: str) -> Observation:
    return Observation(op="stop", value=hint, targets=targets)


_TASTE = ("likes", "hobbies", "dislikes")
_ANY = ("diet", "occupation", "relationship_status", "likes", "hobbies", "studies", "school", "employer", "location")
_STOPS: list[tuple[re.Pattern[str], object]] = []


def _stops(sentence: str) -> tuple[list[Observation], list[str]]:
    """Values that stopped, and plain facts about the change ("User quit smoking.")."""
    s = sentence
    obs: list[Observation] = []
    facts: list[str] = []
    no_more = re.search(r"\b(?:anymore|any\s+more|no\s+longer)\b", s, re.IGNORECASE)
    m = re.search(r"\bi(?:'m|\s+am)\s+(?:not|no\s+longer)\s+(?:an?\s+|into\s+|a\s+(?:big\s+)?fan\s+of\s+|"
                  r"keen\s+on\s+)?(?P<x>.+)", s, re.IGNORECASE)
    if m and no_more:
        hint = _phrase(m.group("x"))
        if hint:
            obs.append(_stop(hint, *_ANY))
    m = re.search(r"\bi\s+(?:don't|do\s+not|no\s+longer)\s+(?P<v>like|love|enjoy|eat|drink|play|live\s+in|work\s+at|"
                  r"work\s+for|work\s+as(?:\s+an?)?)\s+(?P<x>.+)", s, re.IGNORECASE)
    if m and no_more:
        verb, hint = m.group("v").lower(), _phrase(m.group("x"))
        if hint:
            target = {"live in": ("location",), "work at": ("employer",), "work for": ("employer",)}.get(
                verb, ("occupation",) if verb.startswith("work as") else _TASTE)
            obs.append(_stop(hint, *target))
    m = re.search(_I + _ADV + r"(?P<v>quit|gave\s+up|given\s+up|stopped|left|dropped\s+out\s+of)\s+(?P<x>.+)",
                  s, re.IGNORECASE)
    if m:
        verb = re.sub(r"\s+", " ", m.group("v").lower())
        raw = m.group("x")
        hint = _phrase(raw, cap=5)
        words = hint.lower().split()
        if not words:
            return obs, facts
        if words[0] == "being" and len(words) > 1:
            obs.append(_stop(" ".join(words[1:]).removeprefix("a ").removeprefix("an "), *_ANY))
        elif verb == "dropped out of":
            obs.append(_stop(hint.removeprefix("my ").removeprefix("the "), "studies", "school"))
        elif verb in ("quit", "left") and (words[0] in ("my", "the", "our") or hint[:1].isupper()):
            job = re.match(r"(?:my|the|our)\s+(?:job|work|position|role)(?:\s+(?:at|with|in)\s+(?P<x>.+))?$", hint,
                           re.IGNORECASE)
            if job:
                obs.append(_stop(job.group("x"), "employer"))
            else:
                obs.append(_stop(re.sub(r"^(?:my|the|our)\s+", "", hint, flags=re.IGNORECASE), "employer", "location"))
        elif verb in ("quit", "gave up", "given up", "stopped") and words[0] not in ("to", "by", "at", "in", "it", "that"):
            thing = " ".join(w for w in hint.split() if not w.lower().endswith("ing") or len(hint.split()) == 1)
            obs.append(_stop(thing or hint, *_TASTE))
            facts.append(f"User {'gave up' if verb == 'given up' else verb} {hint}.")
    return obs, facts


# -- starts ----------------------------------------------------------------------------------------

_START = re.compile(_I + _ADV + r"(?P<v>took\s+up|taken\s+up|started|begun|began)\s+(?P<x>[a-z]\w*ing\b.*|"
                    r"(?<=up\s)\w.*)", re.IGNORECASE)


def _starts(sentence: str) -> list[Observation]:
    m = _START.search(sentence)
    if not m:
        return []
    what = _phrase(m.group("x"), cap=3)
    words = what.lower().split()
    if not words or words[0] in {"working", "work", "thinking", "feeling", "getting", "going", "to", "using", "talking",
                                 "looking", "wondering", "trying", "asking", "telling", "chatting"}:
        return []
    if any(w in {"you", "it", "this", "that", "me", "them", "her", "him", "there"} for w in words):
        return []  # "I just started using you": an event, not an activity the user took up
    verb = re.sub(r"\s+", " ", m.group("v").lower()).replace("taken", "took").replace("begun", "began")
    return [Observation(op="add", text=f"User {verb} {what}.", field="hobbies", value=what)]


# -- people ------------------------------------------------------------------------------------------

_THIRD_TO_FIRST = {"lives": "live", "works": "work", "is": "am", "has": "have", "loves": "love", "likes": "like",
                   "enjoys": "enjoy", "plays": "play", "studies": "study", "hates": "hate", "prefers": "prefer",
                   "moved": "moved", "relocated": "relocated", "was": "was", "got": "got", "retired": "retired",
                   "teaches": "teach", "runs": "run", "owns": "own"}
_VERB_ALT = "|".join(_THIRD_TO_FIRST)
_SUBJECT_PRED = re.compile(rf"^(?P<pred>(?:(?:just|recently|finally|also|still|now|currently)\s+)*(?:{_VERB_ALT})\b.*)",
                           re.IGNORECASE)


def _first_person(pred: str) -> str:
    """"lives in Berlin and works as a chef" -> "I live in Berlin and I work as a chef"."""
    def verb(m: re.Match[str]) -> str:
        word = m.group(3)
        return f"{m.group(1)}I {m.group(2) or ''}{_THIRD_TO_FIRST.get(word.lower(), word)}"
    text = re.sub(rf"(^|\band\s+)((?:(?:just|recently|finally|also|still|now|currently)\s+)*)({_VERB_ALT})\b", verb,
                  pred.strip(), flags=re.IGNORECASE)
    return text.replace("I am ", "I'm ")


def _about_person(person: Person, pred: str) -> list[Observation]:
    facts = extract_user_facts(_first_person(pred))
    out = []
    for f in facts:
        if not f.text.startswith("User "):
            continue
        text = person.label + f.text[len("User"):]
        slot = f"{person.key}:{f.slot}" if f.slot else None
        out.append(Observation(op="add", text=text, slot=slot))
    return out


def _third_party(sentence: str, people: People, mentioned: list[Person]) -> tuple[list[Observation], bool]:
    """Facts about the sentence's subject when it is someone else; True when the subject is someone else."""
    subject: Person | None = None
    rest = ""
    m = re.match(r"^\W*(?:(?:and|but|so|also|oh|well|btw|actually)\W+)*", sentence, re.IGNORECASE)
    body = sentence[m.end():] if m else sentence
    mention = next((p for p in mentioned), None)
    lead = re.match(r"my\s+[\w\s-]*?(?:" + "|".join(sorted(RELATIONS, key=len, reverse=True)) + r")(?:'s\s+name\s+is|"
                    r"\s*,)?(?:\s+(?-i:[A-Z][a-z]+))?,?\s+", body, re.IGNORECASE)
    if lead and mention is not None:
        subject, rest = mention, body[lead.end():]
        if re.match(r"and\s+(?:i|me)\b", rest, re.IGNORECASE):
            return [], False  # "my girlfriend and I got engaged": the user is in the subject
    else:
        word = re.match(r"(?P<w>[A-Z][a-z]+)\s+", body)
        if word and word.group("w").lower() in ("she", "he"):
            subject, rest = people.resolve(word.group("w")), body[word.end():]
            if subject is None:
                return [], True
        elif word and people.known_name(word.group("w")):
            subject, rest = people.known_name(word.group("w")), body[word.end():]
    if subject is None:
        return [], False
    pred = _SUBJECT_PRED.match(rest)
    return (_about_person(subject, pred.group("pred")) if pred else []), True


# -- pronouns in the user's facts ----------------------------------------------------------------------

_PRONOUN_RE = re.compile(r"\b(she|her|hers|herself|he|him|his|himself|they|them|their|theirs)\b", re.IGNORECASE)
_OBJECT_FOLLOWERS = frozenset("""next last this that in on at to for with from and but or so tomorrow tonight soon
today again too also then""".split())


def _resolve_pronouns(fact: str, sentence: str, people: People) -> str | None:
    """The fact with its pronouns replaced by the person they name, or None when one cannot be resolved."""
    raw = {w.lower() for w in re.findall(r"[A-Za-z]+", sentence)}
    out = fact
    for m in reversed(list(_PRONOUN_RE.finditer(fact))):
        word = m.group(1).lower()
        if word in ("they", "them", "their", "theirs"):
            if word in raw:
                return None  # a plural the user said; "their" from "my" is the user
            continue
        person = people.resolve(word)
        if person is None:
            return None
        after = fact[m.end():].split()
        possessive = word == "his" or (word == "her" and after and after[0].strip(".,").isalpha()
                                       and after[0].lower() not in _OBJECT_FOLLOWERS)
        out = out[:m.start()] + (person.short + "'s" if possessive else person.short) + out[m.end():]
    return out


# -- the reader --------------------------------------------------------------------------------------------

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_WHEN = re.compile(rf"\s+(?:in|during|since|by|last|this|over)\s+(?:the\s+)?(?:early\s+|late\s+)?(?:spring|summer|autumn|fall|"
                   rf"winter|{_MONTHS}|\d{{4}}|week|month|year|weekend)\b.*$", re.IGNORECASE)


def _timeless(value: str) -> str:
    """"Valencia in the spring" -> "Valencia": when a change happened is the page's date, not the value."""
    return _WHEN.sub("", value).strip()


def _from_extracted(f: ExtractedFact, text: str) -> Observation:
    if f.slot in ("location", "employer", "occupation", "school", "studies") and f.profile_value:
        value = _timeless(f.profile_value)
        if value != f.profile_value and value:
            text = text.replace(f.profile_value, value)
            return Observation(op="add", text=text, slot=f.slot, field=f.profile_field, value=value)
    return Observation(op="add", text=text, slot=f.slot, field=f.profile_field, value=f.profile_value)


class TurnReader:
    """Reads a user's turns in order, remembering who was mentioned lately."""

    def __init__(self) -> None:
        self.people = People()

    def new_session(self) -> None:
        self.people = People()

    def read(self, user_text: str) -> list[Observation]:
        self.people.start_turn()
        out: list[Observation] = []
        seen: set[str] = set()

        def put(o: Observation) -> None:
            key = (o.op + o.text + str(o.value) + str(o.targets)).lower()
            if key not in seen:
                seen.add(key)
                out.append(o)

        for sentence in sentences(user_text):
            if sentence.rstrip().endswith("?"):
                continue
            mentioned = self.people.mentions(sentence)
            self.people.add(mentioned)
            third, other_subject = _third_party(sentence, self.people, mentioned)
            for o in third:
                put(o)
            for p in mentioned:
                if p.name and p.relation:
                    kin = p.relation in KIN
                    put(Observation(op="add", text=f"User has a {p.relation} named {p.name}.",
                                    field="family" if kin else None, value=f"{p.relation} named {p.name}" if kin else None))
            stops, change_facts = _stops(sentence)
            for o in stops:
                put(o)
            for text in change_facts:
                put(Observation(op="add", text=text))
            for o in _starts(sentence):
                put(o)
            if other_subject:
                continue  # the first-person rules must not read a sentence about someone else
            for variant in [sentence, *_restated(sentence)]:
                for f in extract_user_facts(variant):
                    if f.text.startswith("User's ") and any(f.text.startswith(f"User's {r} ") for r in RELATIONS):
                        if any(p.name for p in mentioned):
                            continue  # "User's sister is ..." restated with her name above
                    resolved = _resolve_pronouns(f.text, sentence, self.people)
                    if resolved is None:
                        continue
                    put(_from_extracted(f, resolved))
        return out


__all__ = ["Observation", "TurnReader", "sentences", "PRONOUNS"]
