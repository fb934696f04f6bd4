"""Time hints: the dates and months a query names, as windows that favour pages of that time.

"What did Maria do on 3 June, 2023?", "in July 2023", "in June": people ask about a time, and the
pages written then are likelier to hold the answer (ranking adds a bonus for them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..times import to_datetime

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")

_MONTH_NUMBER = {m.lower(): i + 1 for i, m in enumerate(MONTHS)}
_MONTH_NUMBER.update({m.lower()[:3]: i + 1 for i, m in enumerate(MONTHS)})
_MONTH_NUMBER["sept"] = 9
_MN = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_DATE_PATTERNS = (
    ("dmy", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MN},?\s+(\d{{4}})\b", re.IGNORECASE)),
    ("mdy", re.compile(rf"\b{_MN}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)),
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("my", re.compile(rf"\b{_MN},?\s+(\d{{4}})\b", re.IGNORECASE)),
    ("m", re.compile(rf"\b(?:in|during|since|until|by|of|last|this|early|late|mid)[\s-]+{_MN}(?!\w)", re.IGNORECASE)),
)
#: Slack after a named day or month: people report an event in the days after it happened.
_DAY_SLACK = timedelta(days=2)
_MONTH_SLACK = timedelta(days=10)


@dataclass(frozen=True)
class TimeHint:
    """A window the query names: an absolute range, or a month of any year (``month`` set)."""

    start: float = 0.0
    end: float = 0.0
    month: int = 0

    def matches(self, ts: float) -> bool:
        if not self.month:
            return self.start <= ts < self.end
        dt = to_datetime(ts)
        slack = _MONTH_SLACK.days
        return dt.month == self.month or (dt.month == self.month % 12 + 1 and dt.day <= slack)


def time_hints(query: str) -> list[TimeHint]:
    """Dates and months named in a query, as windows (a day, a month, or a month of any year)."""
    hints: list[TimeHint] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(query):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            g = m.groups()
            try:
                if kind in ("dmy", "mdy", "iso"):
                    if kind == "dmy":
                        day = datetime(int(g[2]), _MONTH_NUMBER[g[1].lower()], int(g[0]), tzinfo=timezone.utc)
                    elif kind == "mdy":
                        day = datetime(int(g[2]), _MONTH_NUMBER[g[0].lower()], int(g[1]), tzinfo=timezone.utc)
                    else:
                        day = datetime(int(g[0]), int(g[1]), int(g[2]), tzinfo=timezone.utc)
                    hints.append(TimeHint((day - timedelta(days=1)).timestamp(), (day + timedelta(days=1) + _DAY_SLACK).timestamp()))
                elif kind == "my":
                    month, year = _MONTH_NUMBER[g[0].lower()], int(g[1])
                    first = datetime(year, month, 1, tzinfo=timezone.utc)
                    nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
                    hints.append(TimeHint(first.timestamp(), (nxt + _MONTH_SLACK).timestamp()))
                else:
                    word = g[0].lower()
                    if word == "may" and not re.match(r"(?i)(in|during|since|until|by|of|last|this)\s", m.group(0)):
                        continue  # "may" is mostly the verb
                    hints.append(TimeHint(month=_MONTH_NUMBER[word]))
            except (KeyError, ValueError, OverflowError):
                continue
            taken.append((m.start(), m.end()))
    return hints
