"""Checks on everything that enters the library from a caller."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any

from .errors import InvalidInputError

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,127}$")


def check_id(value: object, what: str) -> str:
    """Return ``value`` if it is a usable user/assistant id; ids are data, never path parts."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise InvalidInputError(
            f"{what} must be 1-128 characters of letters, digits and _.:@+- "
            f"(starting with a letter or digit), got {value!r}"
        )
    return value


def check_text(value: object, what: str, max_chars: int, *, allow_empty: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_chars:
        raise InvalidInputError(f"{what} has {len(value)} characters; the limit is {max_chars}")
    if "\x00" in value:
        raise InvalidInputError(f"{what} contains a NUL character, which no storage backend keeps")
    if not allow_empty and not value.strip():
        raise InvalidInputError(f"{what} must not be empty")
    return value


def check_meta(value: object, max_bytes: int) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"meta_data must be a dict, got {type(value).__name__}")
    try:
        encoded = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"meta_data must hold JSON values only (convert dates and objects to strings): {exc}") from exc
    if len(encoded.encode()) > max_bytes:
        raise InvalidInputError(f"meta_data is larger than {max_bytes} bytes")
    return json.loads(encoded)


_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%I:%M %p on %d %B, %Y")


def parse_timestamp(value: object) -> float:
    """Conversation time as epoch seconds (UTC). Accepts datetime, epoch numbers and common strings."""
    if value is None:
        return datetime.now(timezone.utc).timestamp()
    if isinstance(value, bool):
        raise InvalidInputError("timestamp must be a datetime, epoch seconds or a date string")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return dt.timestamp()
    if isinstance(value, str):
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()
        except ValueError:
            pass
        for fmt in _FORMATS:
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
            except ValueError:
                continue
    raise InvalidInputError(
        f"timestamp {value!r} is not understood; pass a datetime, epoch seconds or ISO 8601 text"
    )


#: Conversation times accepted, in epoch seconds (UTC): 1900-01-01 up to 3000-01-01 (excluded). Every
#: platform represents and formats these; anything outside is a unit mistake (milliseconds) or garbage.
EARLIEST_TIMESTAMP = -2_208_988_800.0
LATEST_TIMESTAMP = 32_503_680_000.0


def check_epoch(value: object, what: str = "timestamp") -> float:
    """``value`` as epoch seconds if it is a finite number inside the accepted range, else InvalidInputError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{what} must be epoch seconds (a number), got {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or not EARLIEST_TIMESTAMP <= seconds < LATEST_TIMESTAMP:
        shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:12]}...({len(repr(value))} digits)"
        raise InvalidInputError(f"{what} {shown} is out of range: a conversation time must be finite epoch seconds"
                                f" between 1900-01-01 and 2999-12-31 ({EARLIEST_TIMESTAMP:.0f} to {LATEST_TIMESTAMP:.0f})")
    return seconds


def format_timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M")
