"""Pure rules that turn observations into profile changes and decide which facts a stop retires."""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..policy import ExactValue
from .observe import Observation

LIST_FIELDS = frozenset({"likes", "dislikes", "family", "pets", "hobbies", "goals"})
_FILLER = frozenset("the a an my our of at in to job work and for with".split())
_NEGATED = re.compile(r"\b(?:doesn't|does\s+not|no\s+longer|not|hates?|dislikes?|gave\s+up|stopped|quit|can't\s+stand)\b",
                      re.IGNORECASE)


def _words(text: str) -> set[str]:
    out = set()
    for w in re.findall(r"[\w'-]+", text.lower()):
        w = w.removesuffix("'s")
        if w not in _FILLER and len(w) > 1:
            out.add(w.rstrip("s") if len(w) > 3 else w)
    return out


def mentions(hint: str | None, text: str) -> bool:
    """True when ``text`` names what ``hint`` names (at least half of its words); any text for no hint."""
    if hint is None:
        return True
    want = _words(hint)
    if not want:
        return False
    return len(want & _words(text)) * 2 >= len(want)


def retires(stop: Observation, fact_text: str, fact_slot: str | None) -> bool:
    """Whether a stop ("not vegetarian anymore", "gave up tennis") retires this active user fact."""
    if fact_slot is not None and fact_slot in stop.targets:
        return mentions(stop.value, fact_text)
    if fact_slot is not None or stop.value is None:
        return False
    about_user = fact_text.startswith(("User ", "User's favorite", "User's hobbies"))
    taste = any(t in stop.targets for t in ("likes", "hobbies"))
    return about_user and taste and not _NEGATED.search(fact_text) and mentions(stop.value, fact_text)


def profile_changes(current: dict[str, Any], ops: Iterable[Observation]) -> dict[str, Any]:
    """Apply adds and stops in order to a copy of the profile; return the changed fields (None removes a
    field, a list of new items merges, :class:`ExactValue` replaces a list that lost items)."""
    work: dict[str, Any] = {k: (list(v) if isinstance(v, list) else v) for k, v in current.items()}
    for op in ops:
        if op.op == "add" and op.field and op.value:
            if op.field in LIST_FIELDS:
                items = work.setdefault(op.field, [])
                if not isinstance(items, list):
                    items = work[op.field] = [str(items)]
                if op.value not in items:
                    items.append(op.value)
            else:
                work[op.field] = op.value
        elif op.op == "stop":
            for key in op.targets:
                value = work.get(key)
                if isinstance(value, list):
                    work[key] = [v for v in value if not mentions(op.value, str(v))] if op.value else value
                elif value is not None and mentions(op.value, str(value)):
                    work[key] = None
    changes: dict[str, Any] = {}
    for key in set(work) | set(current):
        old, new = current.get(key), work.get(key)
        if new == old or (new in (None, []) and old in (None, [])):
            continue
        if isinstance(new, list) and isinstance(old, list):
            if all(v in new for v in old):
                changes[key] = [v for v in new if v not in old]
            else:
                changes[key] = ExactValue(new) if new else None
        else:
            changes[key] = new if new not in ([], "") else None
    return changes


def favorite_value(fact_text: str) -> str | None:
    """"User's favorite language is Python." -> "Python"."""
    m = re.match(r"User's favou?rite .+? (?:is|are) (?P<v>.+?)\.?$", fact_text)
    return m.group("v") if m else None
