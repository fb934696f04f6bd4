"""Words of a text: the one tokenizer and normaliser of the core.

Search (BM25, query focus), keywords, summaries and rule-based facts all read text through these
functions, so "Anna's", "anna" and "ANNA" are one word everywhere and a stopword is one everywhere.
Pure Python and ``re``, deterministic, memoised per word where text recurs (page indexing).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "STOPWORDS",
    "WORD",
    "fold",
    "jaccard",
    "normalise",
    "search_terms",
    "stem",
    "strip_roles",
    "tokenize",
]

# -- vocabulary ------------------------------------------------------------------------------

_ENGLISH = """
a about above after again against all almost along already also although always am among an and another
any anybody anyone anything anyway anywhere are aren't around as at away be became because become been
before being below beside besides between beyond both but by can cannot can't could couldn't did didn't do
does doesn't doing done don't down during each either else enough etc even ever every everybody everyone
everything except few for from further had hadn't has hasn't have haven't having he he'd he'll her here
here's hers herself he's him himself his how however how's i i'd if i'll i'm in into is isn't it its it's
itself i've just least less let let's may maybe me might mine more most much must mustn't my myself neither
never no nobody none nor not nothing now of off often on once one only onto or other others otherwise ought
our ours ourselves out over own per perhaps quite rather same shall shan't she she'd she'll she's should
shouldn't since so some somebody someone something sometime sometimes somewhat still such than that that's
the their theirs them themselves then there therefore there's these they they'd they'll they're they've this
those though through thus to too toward towards under unless until up upon us very via was wasn't we we'd
we'll were we're weren't we've what whatever what's when whenever when's where wherever where's whether which
while who whoever whole whom who's whose why why's will with within without won't would wouldn't yet you
you'd you'll your you're yours yourself yourselves you've
"""

_CHAT_FILLER = """
yeah yea yep yup yes yess nope nah no ok okay okey k kk oh ooh ah aha ahh hey hi hello hiya howdy bye goodbye
thanks thank thx ty cheers please pls plz sure well um umm uh uhh hmm hmmm mm mhm er erm lol lmao rofl haha
hahaha hehe wow whoa omg btw tbh imo imho idk fyi ya yo really just actually basically literally totally
honestly seriously kinda sorta gonna wanna gotta lemme dunno guess like likes liked stuff thing things lot
lots bit kind sort way ways pretty super cool nice great good awesome fine alright right get gets got getting
go goes going went gone know knows knew think thinks thought want wants wanted say says said tell told
make makes made let see saw seen look looks mean means meant feel also dont doesnt didnt cant wont isnt im
ive youre thats whats theres hes shes its' near across behind inside outside beneath alongside throughout
amongst beyond ago etc
"""

STOPWORDS: frozenset[str] = frozenset((_ENGLISH + _CHAT_FILLER).split())
"""English stopwords plus chat filler: tokens that carry no topic, so similarity and keywords ignore them."""

_ROLE_PREFIX = re.compile(r"^\s*(?:user|assistant|human|ai|bot|system)\s*:\s*", re.IGNORECASE | re.MULTILINE)
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def normalise(text: str) -> str:
    """Straighten quotes and spaces so one set of patterns covers chat text from any keyboard."""
    return (text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'").replace("`", "'")
            .replace("\u201c", '"').replace("\u201d", '"').replace("\u2026", "...").replace("\u00a0", " "))


def strip_roles(text: str) -> str:
    return _ROLE_PREFIX.sub("", text)


def fold(token: str) -> str:
    """Lowercase token with the possessive dropped, so "Anna's" and "anna" count as one word."""
    low = token.lower()
    if low.endswith("'s") and len(low) > 3 and low not in STOPWORDS:
        low = low[:-2]
    return low


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens (letters/digits/apostrophes), no stopwords, len>=2."""
    out: list[str] = []
    for m in WORD.finditer(normalise(text)):
        tok = fold(m.group())
        if len(tok) >= 2 and tok not in STOPWORDS:
            out.append(tok)
    return out


@lru_cache(maxsize=1 << 17)
def _search_term(token: str) -> str:
    """The search term of one raw word: folded and stemmed, '' for a stopword or a one-letter word."""
    tok = fold(token)
    return stem(tok) if len(tok) >= 2 and tok not in STOPWORDS else ""


def search_terms(text: str) -> list[str]:
    """``stem`` of every ``tokenize`` token, memoised per word: a store's pages share a vocabulary,
    so indexing 100k pages costs a regex pass and dictionary look-ups."""
    return [term for term in map(_search_term, WORD.findall(normalise(text))) if term]


def jaccard(a: list[str] | set[str], b: list[str] | set[str]) -> float:
    """Overlap of two word sets; 0.0 when both are empty so "no evidence" never looks like a match."""
    sa, sb = set(a), set(b)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 0.0


def stem(word: str) -> str:
    """Crude suffix folding (hike/hikes/hiking -> hik) used only to group counts, never shown."""
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    elif w.endswith("es") and len(w) >= 5 and (w[-3] in "sxz" or w.endswith(("ches", "shes"))):
        return w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) >= 4:
        w = w[:-1]
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # running -> runn -> run
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return w
