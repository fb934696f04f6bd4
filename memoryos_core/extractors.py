"""Offline heuristics used when no LLM is configured.

Keywords, extractive summaries and rule-based facts in pure Python and ``re``: fast, deterministic and
dependency-free, so memory keeps organising itself without a model. Callers label these results as
heuristic; the rules favour precision (miss a fact rather than invent one).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .words import STOPWORDS, WORD, fold, jaccard, normalise, stem, strip_roles, tokenize

__all__ = [
    "STOPWORDS",
    "ExtractedFact",
    "extract_assistant_facts",
    "extract_keywords",
    "extract_user_facts",
    "extractive_summary",
    "jaccard",
    "tokenize",
]

# Words that are real content but rarely the topic of a conversation: kept, ranked lower.
_WEAK = frozenset("""
love loved loves loving enjoy enjoyed hate hated amazing beautiful wonderful lovely excited exciting sounds sound
sounded fun happy sad glad sorry day days time times today tomorrow yesterday tonight week weeks weekend
month months year years next last new old big small little best better worse worst start started help
helps helped idea ideas question questions answer try tried trying need needs needed use used using work
call called sure definitely probably maybe matter matters important interesting different easy hard many
lots maybe morning evening night people person someone everyone anything today's user assistant name
names live lives living lived meet met visit visited nice hear heard wait waiting plan plans planning
""".split())

_LETTER = re.compile(r"[^\W\d_]")

_ABBREV_END = re.compile(r"\b(?:st|mr|mrs|ms|dr|mt|jr|sr|prof|ft)\.$", re.IGNORECASE)
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def _sentences(text: str) -> list[str]:
    """Split on lines and sentence punctuation, keeping "Dr. Smith" and "St. Louis" whole."""
    out: list[str] = []
    for line in text.splitlines():
        merged: list[str] = []
        for part in _SENT_SPLIT.split(line.strip()):
            part = part.strip()
            if not part:
                continue
            if merged and _ABBREV_END.search(merged[-1]):
                merged[-1] += " " + part
            else:
                merged.append(part)
        out.extend(merged)
    return out


# -- keywords --------------------------------------------------------------------------------

@dataclass
class _Term:
    """Counts for one candidate (a stem, or a pair of stems) across the group."""

    first: int                 # reading order of the first occurrence: the deterministic tie-break
    tf: int = 0
    mid: int = 0               # occurrences not at the start of a sentence
    cap_mid: int = 0           # ... of which capitalised: evidence of a proper noun
    texts: set[int] = dataclasses.field(default_factory=set)
    surfaces: Counter[str] = dataclasses.field(default_factory=Counter)


def _bump(table: dict[tuple[str, ...], _Term], key: tuple[str, ...], surface: str, text_id: int, order: int,
          initial: bool, cap: bool) -> None:
    term = table.get(key)
    if term is None:
        term = table[key] = _Term(first=order)
    term.tf += 1
    term.texts.add(text_id)
    term.surfaces[surface] += 1
    if not initial:
        term.mid += 1
        term.cap_mid += int(cap)


def _term_score(term: _Term, n_texts: int, surface: str, words: int) -> float:
    score = (1.0 + math.log(term.tf)) * (0.5 + len(term.texts) / n_texts)
    if term.mid and term.cap_mid * 2 >= term.mid:
        score *= 1.5  # proper nouns name the topic more often than common words do
    if words == 1:
        if surface.isdigit():
            score *= 0.3
        elif len(surface) <= 2:
            score *= 0.5
        elif len(surface) == 3:
            score *= 0.85
        if surface in _WEAK:
            score *= 0.4
    else:
        score *= 1.1  # a phrase is a little more specific than either word alone
        if all(part in _WEAK for part in surface.split()):
            score *= 0.4
    return score


def extract_keywords(texts: list[str], top_n: int = 8) -> list[str]:
    """RAKE/TF-style keywords: words and 2-word phrases ranked by frequency, spread and proper-noun evidence."""
    if top_n <= 0:
        return []
    uni: dict[tuple[str, ...], _Term] = {}
    bi: dict[tuple[str, ...], _Term] = {}
    order = 0
    live = [t for t in texts if t and t.strip()]
    for text_id, text in enumerate(live):
        for sentence in _sentences(strip_roles(normalise(text))):
            prev: tuple[str, str, bool, bool] | None = None  # stem, surface, initial, cap of previous content word
            last_end: int | None = None
            for idx, m in enumerate(WORD.finditer(sentence)):
                raw, low = m.group(), fold(m.group())
                if last_end is not None and re.search(r"[^\s\-]", sentence[last_end:m.start()]):
                    prev = None  # punctuation ends a candidate phrase, as in RAKE
                last_end = m.end()
                if len(low) < 2 or low in STOPWORDS:
                    prev = None
                    continue
                root, initial, cap = stem(low), idx == 0, raw[0].isupper()
                order += 1
                _bump(uni, (root,), low, text_id, order, initial, cap)
                if prev is not None:
                    _bump(bi, (prev[0], root), f"{prev[1]} {low}", text_id, order, prev[2], prev[3] and cap)
                prev = (root, low, initial, cap)
    if not uni:
        return []
    n = len(live)
    ranked: list[tuple[float, int, str, tuple[str, ...]]] = []
    for key, term in uni.items():
        surface = term.surfaces.most_common(1)[0][0]
        ranked.append((_term_score(term, n, surface, 1), term.first, surface, key))
    for key, term in bi.items():
        proper = term.mid > 0 and term.cap_mid * 2 >= term.mid
        if term.tf < 2 and not proper:
            continue
        surface = term.surfaces.most_common(1)[0][0]
        ranked.append((_term_score(term, n, surface, 2), term.first, surface, key))
    # Single words stay even when a phrase covers them: callers compare keywords with query tokens.
    ranked.sort(key=lambda r: (-round(r[0], 9), r[1], r[2]))
    out: list[str] = []
    for _score, _first, surface, _key in ranked:
        if surface in out:
            continue
        out.append(surface)
        if len(out) >= top_n:
            break
    return out


# -- extractive summary ----------------------------------------------------------------------

def _truncate_words(text: str, max_chars: int) -> str:
    """Cut at a word boundary and mark the cut, so a truncated summary never ends mid-word."""
    if len(text) <= max_chars:
        return text
    budget = max_chars - 1  # room for the ellipsis
    if budget <= 0:
        return ""
    cut = text[: budget + 1]
    space = cut.rfind(" ")
    if space <= 0:
        return ""
    head = text[:space].rstrip(" ,;:-\u2013\u2014")
    return head + "\u2026" if head else ""


def extractive_summary(texts: list[str], max_chars: int = 300) -> str:
    """The most central sentences (shared vocabulary with the group), in original order, within max_chars."""
    if max_chars <= 0:
        return ""
    sentences: list[str] = []
    seen: set[str] = set()
    for text in texts:
        if not text:
            continue
        for raw in _sentences(strip_roles(normalise(text))):
            s = re.sub(r"\s+", " ", raw).strip()
            if not s or not WORD.search(s) or s.casefold() in seen:
                continue
            seen.add(s.casefold())
            if s[-1] not in ".!?\"')":
                s += "."
            sentences.append(s)
    if not sentences:
        return ""
    bags = [{stem(t) for t in tokenize(s)} for s in sentences]
    shared = Counter(t for bag in bags for t in bag)
    scores = [sum(shared[t] - 1 for t in bag) / math.sqrt(len(bag)) if bag else 0.0 for bag in bags]
    pool = [i for i, bag in enumerate(bags) if bag and scores[i] > 0]
    if not pool:
        pool = [i for i, bag in enumerate(bags) if bag] or list(range(len(sentences)))
    pool.sort(key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    used = 0
    for i in pool:
        if any(bags[i] and jaccard(bags[i], bags[j]) >= 0.7 for j in chosen):
            continue  # a near-repeat adds length, not information
        extra = len(sentences[i]) + (1 if chosen else 0)
        if used + extra <= max_chars:
            chosen.append(i)
            used += extra
    if not chosen:
        return _truncate_words(sentences[pool[0]], max_chars)
    return " ".join(sentences[i] for i in sorted(chosen))


# -- facts: shared machinery -----------------------------------------------------------------

@dataclass(frozen=True)
class ExtractedFact:
    """One rule-based fact, with the exclusive slot it fills and the profile field it updates."""

    text: str
    slot: str | None
    profile_field: str | None
    profile_value: str | None


_NB = r"(?<![\w'])"
_ADV = (r"(?:(?:really|just|also|actually|currently|recently|now|still|finally|absolutely|totally|truly|"
        r"honestly|definitely|seriously|genuinely|kinda|kind\s+of|sort\s+of|do|literally|so|basically|"
        r"officially|already|always|personally|mostly|mainly|generally|usually|originally|newly|happily|"
        r"proudly|even|only|certainly|particularly|especially|simply|obviously|typically|normally|"
        r"sometimes|often)\s+)*")
_I = _NB + r"i\s+" + _ADV
_IM = _NB + r"(?:i'm|i\s+am|im)\s+" + _ADV
_IVE = _NB + r"(?:i've|i\s+have|ive)\s+" + _ADV
_ILL = _NB + r"(?:i'll|i\s+will|i\s+shall)\s+" + _ADV
_REST = r"(?=(?P<x>\S.{0,240}))"  # the object, by lookahead so later rules still see the clause; bounded

_MONTHS = ("january february march april may june july august september october november december").split()
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()

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
    for whole in _sentences(strip_roles(normalise(text))):
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


def _cut(obj: str, extra: tuple[str, ...] = ()) -> str:
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
_FUTURE = re.compile(
    rf"\b(?:tomorrow|tonight|soon|someday|eventually|one\s+day|next\s+\w+|later\s+(?:today|this\s+\w+|on)|"
    rf"this\s+(?:{_SEASON}|evening|afternoon|morning|{'|'.join(_DAYS)})|"
    rf"in\s+{_NUM}\s+{_PERIOD}|on\s+(?:{'|'.join(_DAYS)})|in\s+(?:{'|'.join(_MONTHS)})|in\s+(?:19|20)\d\d|"
    rf"over\s+the\s+(?:weekend|holidays?|summer|break)|after\s+(?:graduation|work|school|the\s+holidays?))\b",
    re.IGNORECASE)

_SWAP_USER = {"my": "their", "mine": "theirs", "me": "them", "myself": "themselves", "our": "their",
              "ours": "theirs", "you": "the assistant", "your": "the assistant's", "yours": "the assistant's"}
_SWAP_ASSISTANT = {"you": "the user", "your": "the user's", "yours": "the user's", "yourself": "themselves",
                   "u": "the user", "ur": "the user's"}
_SWAP_RE = re.compile(r"\b(?:my|mine|me|myself|our|ours|you|your|yours|yourself|u|ur)\b", re.IGNORECASE)


def _swap(obj: str, table: dict[str, str]) -> str:
    """Rewrite first/second person inside an object so the fact reads in the third person."""
    return _SWAP_RE.sub(lambda m: table.get(m.group().lower(), m.group()), obj)


_PREPS = frozenset("in on at near with for from to of by during around".split())


def _shorten(obj: str, cap: int) -> str | None:
    """Trim an over-long object at a preposition; give up rather than cut a phrase mid-way."""
    words = obj.split()
    if len(words) <= cap:
        return obj
    for i in range(cap, 0, -1):
        if words[i].lower() in _PREPS:
            return " ".join(words[:i])
    return None


def _object(raw: str, extra: tuple[str, ...] = (), cap: int = 6, strip_time: bool = True,
            swap: dict[str, str] | None = None) -> str | None:
    """Cut, tidy, shorten and re-person an object phrase; None when nothing usable remains."""
    obj = _cut(raw, extra)
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
    return _swap(short, _SWAP_USER if swap is None else swap).strip()


def _first_word(obj: str) -> str:
    return obj.split()[0].lower() if obj.split() else ""


_ACRONYMS = {"us": "US", "usa": "USA", "uk": "UK", "uae": "UAE", "nyc": "NYC", "la": "LA", "sf": "SF",
             "dc": "DC", "eu": "EU"}
_LOWER_IN_NAMES = frozenset("of de da do das dos del della di du la le van von der den and y el on upon".split())


def _proper(value: str, after_the: bool = True) -> str:
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


def _article(phrase: str) -> str:
    word = phrase.split()[0].lower() if phrase.split() else ""
    if word.startswith(("uni", "use", "usu", "eu", "one")):
        return "a"
    if word.startswith(("hour", "honest", "honou", "heir")) or word[:1] in "aeiou" or word == "fbi":
        return "an"
    return "a"


def _gerund(verb: str) -> str:
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


def _fact(text: str, slot: str | None = None, field: str | None = None, value: str | None = None) -> ExtractedFact:
    text = re.sub(r"\s+", " ", text).strip()
    if not text.endswith("."):
        text += "."
    return ExtractedFact(text=text, slot=slot, profile_field=field, profile_value=value)


_Builder = Callable[[re.Match[str]], list[ExtractedFact]]


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    build: _Builder


def _rule(pattern: str, build: _Builder) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), build)


def _apply(rules: Iterable[_Rule], text: str) -> list[ExtractedFact]:
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


# -- names -------------------------------------------------------------------------------------

_NATIONALITIES = frozenset("""
american canadian mexican brazilian argentinian argentine chilean colombian peruvian venezuelan cuban
italian german russian indian australian korean nigerian kenyan egyptian iranian norwegian belgian austrian
hungarian ukrainian romanian moroccan syrian african european asian latino latina hispanic pakistani
bangladeshi israeli iraqi saudi thai greek french dutch swiss czech filipino filipina welsh scottish irish
english british spanish polish danish swedish finnish turkish portuguese chinese japanese vietnamese
lebanese nepali persian catholic christian muslim jewish hindu buddhist atheist agnostic mormon
""".split())
_NOT_NAMES = frozenset("""
tired good fine ok okay great well sorry happy sad glad here back home done ready busy hungry thirsty sleepy
sick ill excited bored nervous worried afraid scared sure curious confused lost late early new old young alive
alone married single engaged divorced widowed pregnant vegan vegetarian allergic interested stressed exhausted
alright cool awesome still also just so very really not from in at on with the a an currently actually pretty
kinda literally totally starving fine thrilled grateful thankful honored honoured sure certain positive
afraid aware able unable about into over off out up down around feeling doing going trying looking thinking
working planning studying living moving getting having being coming leaving staying waiting hoping wondering
free available open single afk brb back almost nearly kind sort like dying dead serious kidding joking
retired unemployed employed self gonna wanna fan big huge totally fully sooo soo lucky blessed proud
convinced fascinated obsessed impressed surprised shocked upset angry mad annoyed frustrated disappointed
jealous ashamed embarrassed hopeful optimistic pessimistic anxious depressed lonely homesick jetlagged
hungover broke rich poor famous fluent native bilingual left right honest
""".split()) | _NATIONALITIES | frozenset(_DAYS)
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'-]*")
_TITLES = {"dr": "Dr.", "mr": "Mr.", "mrs": "Mrs.", "ms": "Ms.", "prof": "Prof."}


def _take_name(rest: str, need_cap: bool, allow_possessive: bool = True) -> str | None:
    """Up to three name words from the start of ``rest``; later words must be capitalised."""
    out: list[str] = []
    title = ""
    words = rest.split()[:5]
    if words and words[0].rstrip(".").lower() in _TITLES and (not need_cap or words[0][0].isupper()):
        title, words = _TITLES[words[0].rstrip(".").lower()] + " ", words[1:]
        need_cap = True  # "Dr. Smith": the surname must look like one
    for i, word in enumerate(words[:4]):
        core = word.rstrip(".,!?;:)\"'")
        ends = core != word
        possessive = core.lower().endswith("'s")
        if possessive:
            if not allow_possessive and i == 0:
                return None
            core, ends = core[:-2], True
        low = core.lower()
        if not _NAME_TOKEN.fullmatch(core) or low in STOPWORDS or low in _NOT_NAMES or low in _JOB_WORDS:
            break
        if low in _FAMILY or low in _PETS or (i and low in _MONTHS):
            break
        if i == 0 and need_cap and not core[0].isupper():
            return None
        if i and not core[0].isupper():
            break
        if need_cap and len(core) > 5 and low.endswith(("ing", "ed")) and low not in {"sterling"}:
            return None
        out.append(core)
        if ends or len(out) == 3:
            break
    if not out or len(out[0]) < 2:
        return None
    return title + " ".join(t.capitalize() if (t.islower() or (t.isupper() and len(t) > 2)) else t for t in out)


# -- vocabularies for facts ----------------------------------------------------------------------

_JOB_WORDS = frozenset("""
teacher nurse doctor engineer developer programmer coder designer lawyer attorney accountant manager student
scientist researcher professor lecturer writer author journalist reporter editor artist musician chef cook
waiter waitress barista bartender pilot driver mechanic electrician plumber carpenter architect pharmacist
dentist surgeon therapist psychologist psychiatrist consultant analyst banker farmer firefighter policeman
policewoman cop officer soldier librarian photographer entrepreneur founder cofounder co-founder ceo cto cfo
coo intern freelancer translator interpreter salesperson salesman saleswoman cashier clerk secretary
administrator technician paramedic vet veterinarian physician economist marketer recruiter realtor nanny
caregiver tutor coach trainer instructor actor actress dancer singer composer producer director filmmaker
animator illustrator mathematician physicist chemist biologist housewife homemaker retiree hairdresser
barber stylist baker butcher tailor builder contractor landscaper gardener janitor cleaner housekeeper
receptionist coordinator specialist supervisor executive counselor counsellor operator inspector surveyor
auditor broker trader investor sysadmin tester professor dietitian nutritionist midwife optometrist
physiotherapist radiologist veterinary chiropractor pediatrician paediatrician sailor fisherman miner
welder machinist courier mailman postman firefighter lifeguard florist jeweler jeweller pianist guitarist
violinist drummer novelist poet blogger vlogger youtuber streamer influencer podcaster copywriter
planner strategist advisor adviser paralegal judge politician diplomat priest pastor rabbi imam monk nun
missionary chaplain minister housekeeper babysitter au-pair tradesman handyman roofer painter decorator
""".split())
_JOB_PHRASES = frozenset("""
social worker|construction worker|factory worker|care worker|office worker|health worker|healthcare worker
|aid worker|farm worker|police officer|flight attendant|product manager|software engineer|data scientist
|web developer|real estate agent|travel agent|sales rep|sales representative|stay-at-home mom
|stay-at-home dad|stay-at-home parent|personal trainer|bus driver|truck driver|taxi driver|graphic designer
|ux designer|civil servant|phd student|grad student|graduate student|research assistant|teaching assistant
|dental hygienist|lab technician|customer service|security guard|store manager|shop assistant
""".replace("\n", "").split("|"))


def _is_job(phrase: str) -> bool:
    words = phrase.lower().split()
    if not words or len(words) > 5:
        return False
    last = words[-1]
    return (last in _JOB_WORDS or " ".join(words[-2:]) in _JOB_PHRASES or " ".join(words[-3:]) in _JOB_PHRASES
            or last.endswith(("ologist", "ician", "ographer", "smith")))


_FAMILY = {
    "sister": "sisters", "brother": "brothers", "mom": "moms", "mother": "mothers", "mum": "mums",
    "mommy": "mommies", "dad": "dads", "father": "fathers", "daddy": "daddies", "wife": "wives",
    "husband": "husbands", "partner": "partners", "boyfriend": "boyfriends", "girlfriend": "girlfriends",
    "fiance": "fiances", "fiancee": "fiancees", "fiancé": "fiancés", "fiancée": "fiancées", "son": "sons",
    "daughter": "daughters", "kid": "kids", "child": "children", "baby": "babies", "twin": "twins",
    "grandma": "grandmas", "grandmother": "grandmothers", "grandpa": "grandpas", "grandfather": "grandfathers",
    "granddaughter": "granddaughters", "grandson": "grandsons", "grandchild": "grandchildren",
    "aunt": "aunts", "uncle": "uncles", "cousin": "cousins", "niece": "nieces", "nephew": "nephews",
    "stepson": "stepsons", "stepdaughter": "stepdaughters", "stepmom": "stepmoms", "stepdad": "stepdads",
    "stepmother": "stepmothers", "stepfather": "stepfathers", "sibling": "siblings", "spouse": "spouses",
    "parent": "parents",
}
_PETS = {
    "dog": "dogs", "cat": "cats", "puppy": "puppies", "kitten": "kittens", "parrot": "parrots",
    "bird": "birds", "hamster": "hamsters", "rabbit": "rabbits", "bunny": "bunnies", "fish": "fish",
    "goldfish": "goldfish", "turtle": "turtles", "tortoise": "tortoises", "snake": "snakes",
    "lizard": "lizards", "horse": "horses", "pony": "ponies", "guinea pig": "guinea pigs",
    "ferret": "ferrets", "gecko": "geckos", "budgie": "budgies", "chinchilla": "chinchillas",
    "hedgehog": "hedgehogs", "iguana": "iguanas", "cockatiel": "cockatiels", "canary": "canaries",
    "kitty": "kitties", "doggo": "doggos", "pup": "pups",
}
_SINGULAR = {plural: single for table in (_FAMILY, _PETS) for single, plural in table.items()}
_SINGULAR.update({single: single for table in (_FAMILY, _PETS) for single in table})


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(set(words), key=len, reverse=True))


_KIN = _alt(_FAMILY)
_PET = _alt(_PETS)
_KIN_OR_PET_ANY = _alt(_SINGULAR)
_KIN_ADJ = (r"(?:(?:little|younger|older|big|baby|twin|elder|oldest|youngest|eldest|middle|step|half|"
            r"new|late|lovely|beautiful|wonderful|amazing|adorable|sweet|cute|old)\s+)*")
_COUNT = r"(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})"


def _kin_field(noun: str) -> str:
    single = _SINGULAR.get(re.sub(r"\s+", " ", noun.lower()), noun.lower())
    return "pets" if single in _PETS else "family"


# -- user rules ----------------------------------------------------------------------------------

def _name_rule(need_cap: bool, allow_possessive: bool = True) -> _Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        name = _take_name(m.group("x"), need_cap, allow_possessive)
        return [_fact(f"User's name is {name}.", "name", "name", name)] if name else []
    return build


def _call_me(m: re.Match[str]) -> list[ExtractedFact]:
    name = _take_name(m.group("x"), need_cap=m.group("intro") is None)
    return [_fact(f"User's name is {name}.", "name", "name", name)] if name else []


def _age(m: re.Match[str]) -> list[ExtractedFact]:
    years = int(m.group("n"))
    if not 1 <= years <= 120:
        return []
    return [_fact(f"User is {years} years old.", "age", "age", str(years))]


_PLACE_REJECT_FIRST = frozenset("""
it this that these those there here my your his her their our hope fear denial peace constant harmony
""".split()) | frozenset(_MONTHS)
_PLACE_REJECT_LAST = frozenset("""
house apartment flat dorm condo room basement tent van home area place building neighborhood neighbourhood
moment past present future
""".split())
_PLACE_CUTS = ("with", "for", "from", "at", "as", "to", "after", "before", "on", "since", "because", "by",
               "until", "but")


def _place(raw: str) -> str | None:
    obj = _object(raw, _PLACE_CUTS, cap=6)
    if not obj or obj.replace(" ", "").isdigit():
        return None
    words = obj.lower().split()
    if words[0] in _PLACE_REJECT_FIRST or words[-1] in _PLACE_REJECT_LAST:
        return None
    if len(words) == 1 and words[0] in {"the", "a"}:
        return None
    return _proper(obj)


def _location(m: re.Match[str]) -> list[ExtractedFact]:
    place = _place(m.group("x"))
    return [_fact(f"User lives in {place}.", "location", "location", place)] if place else []


def _origin(template: str) -> _Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        place = _place(m.group("x"))
        if not place or place.lower() in {"work", "school", "the office", "the gym", "the future", "the past"}:
            return []
        return [_fact(template.format(place), "origin", "hometown", place)]
    return build


_EMPLOYER_REJECT = frozenset("""
home night nights weekends weekend myself me it this that free fun money hours nighttime least all times
them us you him her themselves their
""".split()) | {"a living", "the moment", "the weekend", "the weekends", "the assistant", "the assistant's"}
_EMPLOYER_CUTS = ("in", "as", "for", "with", "since", "on", "doing", "to", "from", "until", "where")


def _employer_value(raw: str) -> str | None:
    obj = _object(raw, _EMPLOYER_CUTS, cap=6)
    if not obj or obj[0].isdigit():
        return None
    first = _first_word(obj)
    if obj.lower() in _EMPLOYER_REJECT or first in _EMPLOYER_REJECT or (first in {"a", "an"} and " " not in obj):
        return None
    return _proper(obj, after_the=False)


def _employer(m: re.Match[str]) -> list[ExtractedFact]:
    prep = "for" if m.group("prep").lower() in {"for", "by"} else "at"
    value = _employer_value(m.group("x"))
    if not value:
        return []
    facts = [_fact(f"User works {prep} {value}.", "employer", "employer", value)]
    role = re.search(r"\s+as\s+(?:(an?|the)\s+)?(?P<x>\S.*)", _cut(m.group("x")), re.IGNORECASE)
    if role:  # "I work at Google as a designer"
        job = _object(role.group("x"), _OCC_CUTS, cap=5)
        if job and _is_job(job):
            art = (role.group(1) or "").lower()
            facts.append(_fact(f"User works as {art if art in {'a', 'an'} else _article(job)} {job}.",
                               "occupation", "occupation", job))
    return facts


_OCC_CUTS = ("at", "for", "in", "with", "of", "by", "from", "since", "on", "who", "to", "that", "working",
             "here", "there", "now")


def _occupation_parts(raw: str) -> tuple[str | None, list[ExtractedFact]]:
    """Split "software engineer at Google" into the job and an employer fact."""
    head = _cut(raw)
    extra: list[ExtractedFact] = []
    split = re.search(r"\s+(at|for)\s+(?P<x>\S.*)", head, re.IGNORECASE)
    if split:
        value = _employer_value(split.group("x"))
        if value:
            extra.append(_fact(f"User works {split.group(1).lower()} {value}.", "employer", "employer", value))
        head = head[: split.start()]
    job = _object(head, _OCC_CUTS, cap=5, strip_time=True)
    return job, extra


def _occupation(need_job_word: bool, verb: str) -> _Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        job, extra = _occupation_parts(m.group("x"))
        if not job or (need_job_word and not _is_job(job)) or _first_word(job) in STOPWORDS - {"a", "an"}:
            return []
        art = (m.groupdict().get("art") or "").lower()
        if art in {"", "the"}:
            art = _article(job)
        return [_fact(f"User {verb} {art} {job}.", "occupation", "occupation", job), *extra]
    return build


def _status(m: re.Match[str]) -> list[ExtractedFact]:
    value = re.sub(r"\s+", " ", m.group("x").lower()).replace("self employed", "self-employed")
    return [_fact(f"User is {value}.", "occupation", "occupation", value)]


def _relationship(m: re.Match[str]) -> list[ExtractedFact]:
    value = re.sub(r"\s+", " ", m.group("x").lower())
    return [_fact(f"User is {value}.", "relationship_status", "relationship_status", value)]


def _diet(m: re.Match[str]) -> list[ExtractedFact]:
    value = m.group("x").lower().replace("pescetarian", "pescatarian")
    return [_fact(f"User is {value}.", "diet", "diet", value)]


def _allergy(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _object(m.group("x"), cap=5)
    return [_fact(f"User is allergic to {obj}.")] if obj and _first_word(obj) not in _BAD_OBJ_START else []


_BAD_OBJ_START = frozenset("""
i it it's its that this these those them they you u your yours him her he she his me myself us we what which
how when why where who whom whose there here so too very much anything everything nothing something
someone anyone everyone somebody anybody nobody all both each either neither such if whether because
like as than then well yes no not ok okay one ones
""".split())
_BAD_OBJ_PHRASES = ("the idea", "the way", "the fact", "the thought", "a lot", "the sound of that",
                    "the assistant", "the assistant's")
_ING_NOUNS = frozenset("""
thing something anything everything nothing morning evening spring king ring wing wedding building ceiling
clothing pudding dumpling icing stuffing sibling ending earring string sling swing darling ping bling
""".split())
_LIKE_CUTS = ("more than", "over", "than", "rather")


def _preference_object(raw: str, cap: int = 8) -> str | None:
    obj = _object(raw, _LIKE_CUTS, cap=cap, strip_time=False)
    if not obj:
        return None
    low = obj.lower()
    if _first_word(obj) in _BAD_OBJ_START or low.startswith(_BAD_OBJ_PHRASES) or low.isdigit():
        return None
    return obj


def _is_activity(obj: str) -> bool:
    """True for "hiking", "trail running", "to cook": activities belong in hobbies, things in likes."""
    words = obj.lower().split()
    if words and words[0] == "to":
        return True
    for word in words[:3]:
        if word in _PREPS:
            break
        if word.endswith("ing") and len(word) > 4 and word not in _ING_NOUNS:
            return True
    return False


def _hobby_value(obj: str) -> str:
    words = obj.split()
    if words and words[0].lower() == "to" and len(words) > 1:
        return " ".join([_gerund(words[1]), *words[2:]])
    return obj


_THIRD_PERSON = {"like": "likes", "love": "loves", "enjoy": "enjoys", "adore": "adores", "prefer": "prefers",
                 "hate": "hates", "dislike": "dislikes", "detest": "detests", "loathe": "loathes",
                 "despise": "despises", "play": "plays", "practice": "practices", "practise": "practises",
                 "plan": "plans", "intend": "intends", "hope": "hopes", "aim": "aims", "expect": "expects"}


def _likes(m: re.Match[str]) -> list[ExtractedFact]:
    verb = m.group("v").lower()
    obj = _preference_object(m.group("x"))
    if not obj:
        return []
    words = obj.lower().split()
    if len(words) > 1 and words[0] == "their" and _SINGULAR.get(words[1]):
        return []  # affection for a relative or pet is not a taste; the family rules cover them
    if len(words) > 1 and words[0] == "to" and words[1] in {"be", "say", "think", "know", "see", "hear", "help"}:
        return []  # "I'd love to help", "I like to think": politeness, not a hobby
    if verb == "prefer":
        return [_fact(f"User prefers {obj}.", None, "likes", obj)]
    field = "hobbies" if _is_activity(obj) else "likes"
    value = _hobby_value(obj) if field == "hobbies" else obj
    return [_fact(f"User {_THIRD_PERSON[verb]} {obj}.", None, field, value)]


def _into(m: re.Match[str]) -> list[ExtractedFact]:
    phrase = re.sub(r"\s+", " ", m.group("v").lower())
    obj = _preference_object(m.group("x"))
    if not obj:
        return []
    field = "hobbies" if _is_activity(obj) else "likes"
    return [_fact(f"User is {phrase} {obj}.", None, field, obj)]


def _favorite(m: re.Match[str]) -> list[ExtractedFact]:
    what = _cut(m.group("what")).lower()
    what = re.sub(r"\s+", " ", what).strip()
    if not what or what in {"hobby", "hobbies", "thing", "part", "one", "is", "are"} or what.split()[0] in STOPWORDS:
        return []
    obj = _preference_object(m.group("x"), cap=6)
    if not obj:
        return []
    slot = "favorite_" + re.sub(r"[^a-z0-9]+", "_", what).strip("_")
    return [_fact(f"User's favorite {what} is {obj}.", slot, "likes", obj)]


def _favorite_fronted(m: re.Match[str]) -> list[ExtractedFact]:
    subject = re.sub(r"^(?:(?:oh|well|yeah|yes|honestly|and|but|so|ok|okay|lol|haha)\W+)+", "", m.group("x"),
                     flags=re.IGNORECASE).strip(" ,")
    what = _cut(m.group("what")).lower()
    if not subject or not what or _first_word(subject) in _BAD_OBJ_START or len(subject.split()) > 5:
        return []
    if what.split()[0] in STOPWORDS or what in {"hobby", "hobbies", "thing", "part", "one"}:
        return []
    subject = _swap(subject, _SWAP_USER)
    slot = "favorite_" + re.sub(r"[^a-z0-9]+", "_", what).strip("_")
    return [_fact(f"User's favorite {what} is {subject}.", slot, "likes", subject)]


def _hobbies(m: re.Match[str]) -> list[ExtractedFact]:
    listing = re.split(r"[.;!?]", m.group("x"))[0]
    facts: list[ExtractedFact] = []
    for item in re.split(r",|\s+and\s+|\s+or\s+|\s+&\s+", listing)[:6]:
        obj = _preference_object(item, cap=5)
        if obj:
            facts.append(_fact(f"User's hobbies include {obj}.", None, "hobbies", obj))
    return facts


def _plays(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _preference_object(m.group("x"), cap=5)
    if not obj or _first_word(obj) in _PREPS | {"around", "along", "games", "dumb", "dead", "nice", "fair", "safe"}:
        return []
    verb = _THIRD_PERSON[m.group("v").lower()]
    return [_fact(f"User {verb} {obj}.", None, "hobbies", obj)]


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
    elif raw_verb in _THIRD_PERSON:
        text = f"User {_THIRD_PERSON[raw_verb]} {obj}."
    elif raw_verb.startswith(("don't", "do not", "dont")):
        text = f"User doesn't {raw_verb.split()[-1]} {obj}."
    else:  # "not a fan of", "not into"
        text = f"User is {raw_verb} {obj}."
    return [_fact(text, None, "dislikes", obj)]


def _kin_phrase(adj: str, noun: str) -> str:
    return re.sub(r"\s+", " ", f"{adj} {noun}").strip().lower()


def _kin_named(m: re.Match[str]) -> list[ExtractedFact]:
    marker = (m.group("mk") or "").strip()
    name = _take_name(m.group("x"), need_cap=marker in {"", ","})
    if not name:
        return []
    who = _kin_phrase(m.group("adj") or "", m.group("rel"))
    return [_fact(f"User has {_article(who)} {who} named {name}.", None, _kin_field(m.group("rel")),
                  f"{who} named {name}")]


def _kin_describe(m: re.Match[str]) -> list[ExtractedFact]:
    who = _kin_phrase(m.group("adj") or "", m.group("rel"))
    verb = re.sub(r"\s+", " ", m.group("v").lower())
    proper = verb in {"lives in", "works at", "works for", "is from"}
    obj = _object(m.group("x"), _PLACE_CUTS if proper else _OCC_CUTS, cap=5)
    if not obj or _first_word(obj) in _BAD_OBJ_START:
        return []
    if proper:
        obj = _proper(obj, after_the=verb == "lives in")
    art = m.groupdict().get("art")
    middle = f"{verb} {art.lower()}" if art else verb
    return [_fact(f"User's {who} {middle} {obj}.", None, _kin_field(m.group("rel")), who)]


def _kin_age(m: re.Match[str]) -> list[ExtractedFact]:
    who = _kin_phrase(m.group("adj") or "", m.group("rel"))
    unit = re.sub(r"\s+", " ", (m.group("unit") or "").lower()).strip() or "years old"
    if not unit.endswith("old"):
        unit += " old"
    return [_fact(f"User's {who} is {m.group('n')} {unit}.", None, _kin_field(m.group("rel")), who)]


_HAVE_ITEM = re.compile(
    rf"(?P<count>{_COUNT})\s+(?P<adj>{_KIN_ADJ})(?P<noun>{_KIN_OR_PET_ANY})(?![\w-])"
    rf"(?:\s+(?:named|called)\s+(?P<names>[^\W\d_][\w'-]*(?:(?:\s*,\s*|\s+and\s+|\s*&\s*)"
    rf"(?!(?:{_COUNT})\b)[^\W\d_][\w'-]*)*))?",
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
        if plural and noun in _SINGULAR and _SINGULAR[noun] == noun and noun not in {"fish", "goldfish"}:
            break  # "two sister": not something we can state confidently
        phrase = f"{adj} {noun}".strip()
        names: list[str] = []
        if item.group("names"):
            for raw in re.split(r"\s*,\s*|\s+and\s+|\s*&\s*", item.group("names")):
                name = _take_name(raw, need_cap=False)
                if name:
                    names.append(name)
        named = f" named {' and '.join(names)}" if names else ""
        quantity = count if plural else _article(phrase)
        facts.append(_fact(f"User has {quantity} {phrase}{named}.", None, _kin_field(noun),
                           f"{count + ' ' if plural else ''}{phrase}{named}"))
        sep = _HAVE_SEP.match(rest, item.end())
        if not sep:
            break
        pos = sep.end()
    return facts


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
        school = _employer_value(at.group("x"))
        return [_fact(f"User studies at {school}.", "school", "school", school)] if school else []
    subject = _object(raw, _STUDY_CUTS, cap=5)
    if subject and _first_word(subject) not in _STUDY_REJECT:
        facts.append(_fact(f"User studies {subject}.", "studies", "studies", subject))
        tail = re.search(r"\s+at\s+(?P<x>\S.*)", _cut(raw), re.IGNORECASE)
        if tail:
            school = _employer_value(tail.group("x"))
            if school:
                facts.append(_fact(f"User studies at {school}.", "school", "school", school))
    return facts


_PLAN_ANY = {"planning", "preparing", "saving"}  # "I'm planning a trip" is a plan with or without a date
_PLAN_TO = {"hoping", "intending", "aiming"}
_PLAN_NEVER = {"feeling", "being", "kidding", "joking", "saying", "thinking", "wondering", "asking", "telling",
               "talking", "living", "afraid", "missing", "loving", "enjoying", "hating", "dying", "sorry"}


def _plan_object(raw: str) -> str | None:
    return _object(raw, cap=12, strip_time=False)  # dates stay: "next spring" is part of a plan


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
        if not low.startswith(("to ", "back to ", "abroad", "out ", "in with ")) and not _FUTURE.search(obj):
            return []
    elif not _FUTURE.search(obj):
        return []
    return [_fact(f"User is {gerund} {obj}.")]


def _plan_thinking(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _plan_object(m.group("x"))
    if not obj or not _is_activity(obj):
        return []
    return [_fact(f"User is thinking {m.group('p').lower()} {obj}.")]


def _plan_verb(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _plan_object(m.group("x"))
    if not obj:
        return []
    return [_fact(f"User {_THIRD_PERSON[m.group('v').lower()]} to {obj}.")]


_NOT_PLANS = frozenset("think let try keep consider remember check look get".split())


def _plan_will(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _plan_object(m.group("x"))
    if not obj or not _FUTURE.search(obj) or _first_word(obj) in _BAD_OBJ_START | _NOT_PLANS:
        return []  # "I'll think about it tomorrow" defers; it plans nothing
    going = m.group(0).lower().lstrip().startswith(("i'm", "im", "i am"))
    return [_fact(f"User is going to {obj}." if going else f"User will {obj}.")]


_USER_RULES: list[_Rule] = [
    # name
    _rule(r"\bmy\s+name(?:'s|\s+is)\s+" + _REST, _name_rule(need_cap=False)),
    _rule(r"(?P<intro>\b(?:you\s+can|please|just)\s+)?\bcall\s+me\s+" + _REST, _call_me),
    _rule(_IM + r"called\s+" + _REST, _name_rule(need_cap=False)),
    _rule(_NB + r"(?:i'm|i\s+am|im)\s+" + _REST, _name_rule(need_cap=True, allow_possessive=False)),
    # age
    _rule(_IM + r"(?P<n>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?|\s*y/?o)?"
          r"(?=\s*$|\s*[,.!;)]|\s+(?:and|but|now|today|btw|lol|so|too|this|as|myself)\b)", _age),
    _rule(_I + r"(?:just\s+)?turned\s+(?P<n>\d{1,3})\b"
          r"(?!\s*(?:%|percent|minutes?|hours?|days?|weeks?|months?|degrees?))", _age),
    _rule(r"\bmy\s+age\s+is\s+(?P<n>\d{1,3})\b", _age),
    # location and origin
    _rule(_I + r"(?:live|reside)\s+in\s+" + _REST, _location),
    _rule(_IM + r"(?:living|residing|based|located)\s+(?:in|out\s+of)\s+" + _REST, _location),
    _rule(_IVE + r"(?:been\s+living|lived|been\s+based|been\s+residing)\s+in\s+" + _REST, _location),
    _rule(_I + r"(?:moved|relocated)\s+(?:back\s+|over\s+)?to\s+" + _REST, _location),
    _rule(_IVE + r"(?:moved|relocated)\s+(?:back\s+|over\s+)?to\s+" + _REST, _location),
    _rule(_IM + r"(?:originally\s+)?from\s+" + _REST, _origin("User is from {}.")),
    _rule(_I + r"(?:originally\s+)?come\s+from\s+" + _REST, _origin("User is from {}.")),
    _rule(_I + r"grew\s+up\s+in\s+" + _REST, _origin("User grew up in {}.")),
    _rule(_I + r"was\s+born\s+(?:and\s+raised\s+)?in\s+" + _REST, _origin("User was born in {}.")),
    _rule(r"\bmy\s+home\s*town\s+is\s+" + _REST, _origin("User is from {}.")),
    # occupation and employer
    _rule(r"(?:" + _I + r"work|" + _IM + r"(?:working|employed)|" + _IVE + r"(?:been\s+)?work(?:ed|ing))\s+as\s+"
          r"(?:(?P<art>an?|the)\s+)?" + _REST, _occupation(need_job_word=False, verb="works as")),
    _rule(r"(?:" + _IM + r"|" + _IVE + r"been\s+" + _ADV + r")(?P<art>an?)\s+" + _REST,
          _occupation(need_job_word=True, verb="is")),
    _rule(r"\bmy\s+(?:job|occupation|profession|job\s+title)\s+is\s+(?:(?P<art>an?)\s+)?" + _REST,
          _occupation(need_job_word=True, verb="is")),
    _rule(_IM + r"(?P<x>retired|unemployed|self[-\s]employed|a\s+stay[-\s]at[-\s]home\s+(?:mom|mum|dad|parent))"
          r"(?![\w-])", _status),
    _rule(r"(?:" + _I + r"work|" + _IM + r"(?:working|employed)|" + _IVE + r"been\s+working)\s+"
          r"(?P<prep>at|for|by)\s+" + _REST, _employer),
    # relationship, diet, health
    _rule(_IM + r"(?P<x>married|single|engaged|divorced|widowed|separated|in\s+a\s+(?:long[-\s]distance\s+)?"
          r"relationship)(?![\w-])(?!\s+in\b)", _relationship),
    _rule(_I + r"got\s+(?P<x>married|engaged|divorced)(?![\w-])", _relationship),
    _rule(_IM + r"(?:an?\s+)?(?P<x>vegan|vegetarian|pescatarian|pescetarian)(?![\w-])"
          r"(?!\s+(?:restaurant|food|recipe|option|place|cafe|dish|meal|friendly)s?\b)", _diet),
    _rule(_IM + r"(?:very\s+|severely\s+|deathly\s+|slightly\s+)?allergic\s+to\s+" + _REST, _allergy),
    # likes, hobbies, dislikes
    _rule(_I + r"(?P<v>like|love|enjoy|adore|prefer)\s+" + _REST, _likes),
    _rule(_IM + r"(?P<v>into|a\s+(?:big\s+|huge\s+|massive\s+|great\s+)?fan\s+of|fond\s+of|passionate\s+about|"
          r"interested\s+in|obsessed\s+with|crazy\s+about|keen\s+on)\s+" + _REST, _into),
    _rule(r"\bmy\s+(?:all[-\s]time\s+)?(?:favou?rite|fave|fav)\s+(?P<what>[a-z-]+(?:\s+(?!(?:is|are|has|would)\b)"
          r"[a-z-]+)?)\s+(?:is|are|has\s+to\s+be|would\s+be)\s+" + _REST, _favorite),
    _rule(r"^(?P<x>[^,]{1,40}?)\s+(?:is|are)\s+my\s+(?:all[-\s]time\s+)?(?:favou?rite|fave)\s+"
          r"(?P<what>[a-z-]+(?:\s+[a-z-]+)?)", _favorite_fronted),
    _rule(r"\bmy\s+(?:main\s+|favou?rite\s+)?hobb(?:y\s+is|ies\s+are|ies\s+include)\s+" + _REST, _hobbies),
    _rule(_I + r"(?P<v>play|practice|practise)\s+" + _REST, _plays),
    _rule(_I + r"(?P<v>hate|dislike|detest|loathe|despise|can't\s+stand|cannot\s+stand|can\s+not\s+stand|"
          r"cant\s+stand|(?:don't|do\s+not|dont)\s+(?:really\s+|much\s+|particularly\s+)?(?:like|enjoy|love))\s+"
          + _REST, _dislikes),
    _rule(_NB + r"(?:i'm|i\s+am|im)\s+(?P<v>not\s+(?:a\s+(?:big\s+|huge\s+)?fan\s+of|into|fond\s+of|keen\s+on))\s+"
          + _REST, _dislikes),
    # family and pets
    _rule(r"\bmy\s+(?P<adj>" + _KIN_ADJ + r")(?P<rel>" + _KIN + "|" + _PET + r")"
          r"(?P<mk>'s\s+name\s+is|\s+is\s+(?:called|named)|\s+(?:called|named)|\s*,)?\s+" + _REST, _kin_named),
    _rule(r"\bmy\s+(?P<adj>" + _KIN_ADJ + r")(?P<rel>" + _KIN + "|" + _PET + r")\s+(?P<v>is|was)\s+"
          r"(?P<art>an?)\s+" + _REST, _kin_describe),
    _rule(r"\bmy\s+(?P<adj>" + _KIN_ADJ + r")(?P<rel>" + _KIN + r")\s+(?P<v>lives\s+in|works\s+(?:as|at|for)|"
          r"is\s+from|studies)\s+" + _REST, _kin_describe),
    _rule(r"\bmy\s+(?P<adj>" + _KIN_ADJ + r")(?P<rel>" + _KIN + "|" + _PET + r")\s+is\s+(?P<n>\d{1,3})"
          r"(?P<unit>\s+(?:years?|months?|weeks?)(?:\s+old)?|\s*(?:years?|months?)\b)?"
          r"(?=\s*$|\s*[,.!;]|\s+(?:and|but|now)\b)", _kin_age),
    _rule(r"(?:" + _I + r"(?:have(?:\s+got)?|own|got)|" + _NB + r"i've\s+" + _ADV + r"(?:got\s+)?)\s*"
          r"(?=(?P<x>" + _COUNT + r"\s.*))", _have),
    # studies
    _rule(r"(?:" + _I + r"(?:study|major\s+in)|" + _IM + r"(?:studying|majoring\s+in|doing\s+(?:a|an|my)\s+"
          r"(?:degree|phd|ph\.?d\.?|masters?|master's|bachelor'?s?|ba|bsc|msc|ma|mba|doctorate)(?:\s+degree)?\s+in)"
          r"|\bmy\s+major\s+is)\s+" + _REST, _studies),
    # plans
    _rule(_IM + r"(?P<g>[a-z]+ing)\s+" + _REST, _plan_progressive),
    _rule(_IM + r"thinking\s+(?P<p>of|about)\s+" + _REST, _plan_thinking),
    _rule(_I + r"(?P<v>plan|intend|hope|aim|expect)\s+to\s+" + _REST, _plan_verb),
    _rule(r"(?:" + _ILL + r"|" + _IM + r"gonna\s+)" + _REST, _plan_will),
]


def extract_user_facts(user_text: str) -> list[ExtractedFact]:
    """Rule-based third-person facts from what the user said about themselves; precision over recall."""
    return _apply(_USER_RULES, user_text)


# -- assistant rules -----------------------------------------------------------------------------

def _assistant_name(need_cap: bool) -> _Builder:
    def build(m: re.Match[str]) -> list[ExtractedFact]:
        name = _take_name(m.group("x"), need_cap)
        return [_fact(f"Assistant's name is {name}.", "assistant_name")] if name else []
    return build


def _recommend(m: re.Match[str]) -> list[ExtractedFact]:
    raw = re.sub(r"^that\s+", "", m.group("x"), flags=re.IGNORECASE)
    against = re.match(r"against\s+(?P<x>\S.*)", raw, re.IGNORECASE)
    obj = _object(against.group("x") if against else raw, cap=12, strip_time=False, swap=_SWAP_ASSISTANT)
    if not obj:
        return []
    low = obj.lower()
    if (_first_word(obj) in _BAD_OBJ_START | {"earlier", "before", "above", "previously", "later"}
            or low in {"the user", "the user's"}):
        return []
    if against:
        return [_fact(f"Assistant advised against {obj}.")]
    if low.startswith("the user to "):
        obj = "the user " + obj[len("the user to "):]
    if low.startswith("the user "):
        return [_fact(f"Assistant recommended that {obj}.")]
    return [_fact(f"Assistant recommended {obj}.")]


def _remind(m: re.Match[str]) -> list[ExtractedFact]:
    rest = (m.group("x") or "").strip()
    obj = _object(rest, cap=12, strip_time=False, swap=_SWAP_ASSISTANT) if rest else None
    return [_fact(f"Assistant promised to remind the user {obj}." if obj else "Assistant promised to remind the user.")]


def _promise(m: re.Match[str]) -> list[ExtractedFact]:
    obj = _object(m.group("x"), cap=12, strip_time=False, swap=_SWAP_ASSISTANT)
    if not obj or _first_word(obj) in _BAD_OBJ_START:
        return []
    return [_fact(f"Assistant promised to {obj}.")]


_ASSISTANT_RULES: list[_Rule] = [
    _rule(r"\bmy\s+name(?:'s|\s+is)\s+" + _REST, _assistant_name(need_cap=False)),
    _rule(r"\byou\s+can\s+call\s+me\s+" + _REST, _assistant_name(need_cap=False)),
    _rule(r"(?<!can\s)\bcall\s+me\s+" + _REST, _assistant_name(need_cap=True)),
    _rule(_NB + r"(?:i'm|i\s+am)\s+(?=(?P<x>[^\W\d_][\w'-]*\s*,\s*(?:your|an?)\s+(?:\w+\s+)?(?:assistant|bot|"
          r"companion|helper|guide)))", _assistant_name(need_cap=True)),
    _rule(r"\b(?:assistant|bot|ai|chatbot)\s+(?:called|named)\s+" + _REST, _assistant_name(need_cap=True)),
    _rule(r"(?:" + _NB + r"i(?:'d|\s+would)?\s+" + _ADV + r"(?:strongly\s+|highly\s+|warmly\s+)?"
          r"(?:recommend(?:ed)?|suggest(?:ed)?|advised?)|\bmy\s+(?:top\s+|main\s+|best\s+)?"
          r"(?:recommendation|suggestion|advice)\s+(?:is|would\s+be)|" + _IM + r"(?:recommending|suggesting))\s+"
          + _REST, _recommend),
    _rule(r"(?:" + _ILL + r"(?:make\s+sure\s+to\s+|be\s+sure\s+to\s+)?|" + _I + r"promise\s+to\s+)"
          r"remind\s+you\b(?P<x>.*)", _remind),
    _rule(_I + r"promise\s+(?:to\s+|that\s+i'll\s+|i'll\s+)(?!remind\b)" + _REST, _promise),
]


def extract_assistant_facts(assistant_text: str) -> list[ExtractedFact]:
    """Rule-based facts about the assistant (its name, recommendations, promises); no profile fields."""
    return _apply(_ASSISTANT_RULES, assistant_text)
