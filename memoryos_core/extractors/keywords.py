"""Keywords of a group of texts: words and two-word phrases ranked by frequency, spread and proper-noun
evidence (RAKE/TF-style), for segment keywords without a model.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from dataclasses import dataclass

from ..words import STOPWORDS, WORD, fold, normalise, stem, strip_roles
from .sentences import split_sentences

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
        for sentence in split_sentences(strip_roles(normalise(text))):
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
