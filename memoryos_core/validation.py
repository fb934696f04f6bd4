"""Checks on everything that enters the library from a caller."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timezone
from typing import Any

from .errors import InvalidInputError

MAX_ID_CHARS = 128
_ID_PUNCTUATION = frozenset("_.:@+-")


def _id_problem(value: str) -> str | None:
    """Why ``value`` is not a usable id, or None. Letters, digits and combining marks of any script,
    inner spaces and ``_.:@+-``; it starts with a letter or digit and ends with no space."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_CHARS:
        return f"has {len(value)} characters; the limit is {MAX_ID_CHARS}"
    if value != value.strip():
        return "must not start or end with whitespace"
    if not (value[0].isalpha() or value[0].isdigit()):
        return "must start with a letter or digit"
    for char in value:
        if char.isalnum() or char == " " or char in _ID_PUNCTUATION or unicodedata.category(char).startswith("M"):
            continue
        if unicodedata.category(char).startswith("C"):
            return f"contains the control or format character U+{ord(char):04X}"
        return f"contains {char!r} (U+{ord(char):04X}); use letters, digits, inner spaces and _.:@+-"
    return None


def check_id(value: object, what: str) -> str:
    """``value`` (NFC-normalised) if it is a usable user/assistant id. Ids are data, never path parts:
    they only ever travel as bound query parameters and JSON values."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    value = unicodedata.normalize("NFC", value)
    problem = _id_problem(value)
    if problem is not None:
        raise InvalidInputError(f"{what} {value!r} {problem}")
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


def format_timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M")
