"""Relative times made absolute for the reader: "I signed up yesterday." said on 3 July 2023
reads "I signed up yesterday. (yesterday = 2 July 2023)".

A reader answering "when did X happen?" from a remembered line must otherwise do calendar
arithmetic against the line's date, which small models get wrong (they answer with the date the
line was said). The words stay exactly as said, with the dates they point to noted after them, so
nothing is lost when the resolution is coarse ("last week = the week before 3 July 2023").
"""

from __future__ import annotations

import re
from functools import lru_cache
from datetime import datetime, timedelta

from .times import to_datetime

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ABBREV = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2}
_DAY_NAME = "|".join(_WEEKDAYS) + "|" + "|".join(sorted(_WEEKDAY_ABBREV, key=len, reverse=True))
_COUNT = r"(\d{1,2}|a couple of|couple of|an?|one|two|three|four|five|six|seven|eight|nine|ten)"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("yesterday", re.compile(r"\b(?:yesterday|last night)\b", re.IGNORECASE)),
    ("tomorrow", re.compile(r"\btomorrow\b", re.IGNORECASE)),
    ("ago", re.compile(rf"\b{_COUNT}\s+(day|week|month|year)s?\s+ago\b", re.IGNORECASE)),
    ("last_weekday", re.compile(rf"\b(?:last|this past|past)\s+({_DAY_NAME})\.?\b", re.IGNORECASE)),
    ("weekend", re.compile(r"\b(last|this past|next|this)\s+weekend\b", re.IGNORECASE)),
    ("week", re.compile(r"\b(last|next)\s+week\b", re.IGNORECASE)),
    ("month", re.compile(r"\b(last|this|next)\s+month\b", re.IGNORECASE)),
    ("year", re.compile(r"\b(last|this|next)\s+year\b", re.IGNORECASE)),
]
#: The note added after a line; a line that already ends with one is left alone.
_NOTE = re.compile(r" \((?:[^()=]+ = [^()]+(?:; )?)+\)$")


def day_text(dt: datetime) -> str:
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}"


def _month_text(dt: datetime, shift: int) -> str:
    index = dt.year * 12 + dt.month - 1 + shift
    return f"{MONTHS[index % 12]} {index // 12}"


def _resolve(kind: str, match: re.Match[str], said: datetime) -> str | None:
    """The absolute time the matched expression points to, as text; None when unsure."""
    if kind == "yesterday":
        return day_text(said - timedelta(days=1))
    if kind == "tomorrow":
        return day_text(said + timedelta(days=1))
    if kind == "ago":
        raw = match.group(1).lower()
        count = int(raw) if raw.isdigit() else _NUMBERS.get(raw)
        unit = match.group(2).lower()
        if not count:
            return None
        if unit == "day":
            return day_text(said - timedelta(days=count))
        if unit == "week":
            return f"around {day_text(said - timedelta(weeks=count))}"
        if unit == "month":
            return f"around {_month_text(said, -count)}"
        return f"around {said.year - count}"
    if kind == "last_weekday":
        name = match.group(1).lower().rstrip(".")
        target = _WEEKDAYS.index(name) if name in _WEEKDAYS else _WEEKDAY_ABBREV[name]
        back = (said.weekday() - target) % 7 or 7
        return day_text(said - timedelta(days=back))
    if kind == "weekend":
        which = match.group(1).lower()
        return f"the weekend {'after' if which == 'next' else 'before' if which != 'this' else 'of'} {day_text(said)}"
    if kind == "week":
        return f"the week {'before' if match.group(1).lower() == 'last' else 'after'} {day_text(said)}"
    if kind == "month":
        return _month_text(said, {"last": -1, "this": 0, "next": 1}[match.group(1).lower()])
    if kind == "year":
        return str(said.year + {"last": -1, "this": 0, "next": 1}[match.group(1).lower()])
    return None


#: Texts up to this length have their notes cached: the same pages are shown query after query.
_CACHED_CHARS = 4000


def annotate_relative_times(text: str, said_at: float | None) -> str:
    """``text`` followed by a note of what its relative time expressions point to, counted from
    ``said_at`` (epoch seconds, UTC): ``"... yesterday ... (yesterday = 2 July 2023)"``. The text
    itself is unchanged; without ``said_at`` or any expression nothing is added."""
    if not text or said_at is None:
        return text
    return _annotated(text, said_at) if len(text) <= _CACHED_CHARS else _annotate(text, said_at)


@lru_cache(maxsize=8192)
def _annotated(text: str, said_at: float) -> str:
    return _annotate(text, said_at)


def _annotate(text: str, said_at: float) -> str:
    if _NOTE.search(text):
        return text
    said = to_datetime(said_at)
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end, _ in spans):
                continue  # "last week" inside a longer expression already taken
            resolved = _resolve(kind, match, said)
            if resolved:
                spans.append((match.start(), match.end(), resolved))
    notes: list[str] = []
    for start, end, resolved in sorted(spans):
        note = f"{text[start:end].lower()} = {resolved}"
        if note not in notes:
            notes.append(note)
    return f"{text} ({'; '.join(notes)})" if notes else text
