"""Conversation times: what callers may hand in, and showing what is stored.

Times are epoch seconds (UTC) everywhere inside the library. A caller's time is checked at the
door (finite, within years 1000-9999); reads never trust a stored value to be representable
(a row written before that check, or by another tool), so every conversion here clamps.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Callable

from .errors import InvalidInputError

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The conversation times we accept: years 1000 to 9999, representable on every platform we run on.
EARLIEST = (datetime(1000, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds()
LATEST = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc) - _EPOCH).total_seconds()
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%I:%M %p on %d %B, %Y")


def check_epoch(value: float, what: str = "timestamp") -> float:
    """``value`` as float epoch seconds if it is a finite time in years 1000-9999."""
    if not math.isfinite(value) or not EARLIEST <= value <= LATEST:
        raise InvalidInputError(f"{what} {value!r} is outside the supported range (years 1000 to 9999)")
    return float(value)


def parse_timestamp(value: object, what: str = "timestamp") -> float:
    """Conversation time as epoch seconds (UTC). Accepts datetime, epoch numbers and common strings."""
    if value is None:
        return datetime.now(timezone.utc).timestamp()
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a datetime, epoch seconds or a date string")
    if isinstance(value, (int, float)):
        try:
            return check_epoch(float(value), what)
        except OverflowError as exc:  # an int too large for a float
            raise InvalidInputError(f"{what} {value!r} is outside the supported range (years 1000 to 9999)") from exc
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return check_epoch((dt - _EPOCH).total_seconds(), what)
    if isinstance(value, str):
        text = value.strip()
        for parse in (_iso, *(_strptime(fmt) for fmt in _FORMATS)):
            parsed = parse(text)
            if parsed is not None:
                return check_epoch((parsed - _EPOCH).total_seconds(), what)
    raise InvalidInputError(f"{what} {value!r} is not understood; pass a datetime, epoch seconds or ISO 8601 text")


def _iso(text: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _strptime(fmt: str) -> Callable[[str], datetime | None]:
    def parse(text: str) -> datetime | None:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
    return parse


def to_datetime(epoch: float) -> datetime:
    """A stored time as an aware UTC datetime, clamped to the representable range (never raises)."""
    try:
        seconds = float(epoch)
    except (TypeError, ValueError):
        seconds = 0.0
    if math.isnan(seconds):
        seconds = 0.0
    seconds = min(max(seconds, EARLIEST), LATEST)
    return _EPOCH + timedelta(seconds=seconds)


def format_timestamp(epoch: float) -> str:
    """``YYYY-MM-DD HH:MM`` (UTC) for context lines and prompts."""
    return to_datetime(epoch).strftime("%Y-%m-%d %H:%M")
