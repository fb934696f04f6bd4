"""Sentence splitting for the offline heuristics: lines and sentence punctuation, abbreviations kept whole."""

from __future__ import annotations

import re

_ABBREV_END = re.compile(r"\b(?:st|mr|mrs|ms|dr|mt|jr|sr|prof|ft)\.$", re.IGNORECASE)
_SENT_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def split_sentences(text: str) -> list[str]:
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
