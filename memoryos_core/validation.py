"""Checks on everything that enters the library from a caller."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from .errors import InvalidInputError
from .times import format_timestamp, parse_timestamp

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


def check_count(value: object, what: str, *, minimum: int = 0) -> int:
    """A whole number of at least ``minimum`` (limits, offsets); bools are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{what} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise InvalidInputError(f"{what} must be at least {minimum}, got {value}")
    return value


def check_memory_id(value: object) -> str:
    """A page (``pg_...``) or fact (``ft_...``) id as returned by the library."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"memory_id must be a page or fact id string, got {type(value).__name__}")
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
    except RecursionError as exc:
        raise InvalidInputError("meta_data is nested too deeply to store") from exc
    if len(encoded.encode()) > max_bytes:
        raise InvalidInputError(f"meta_data is larger than {max_bytes} bytes")
    return json.loads(encoded)


# Conversation times live in ``times``; re-exported here for callers that validate input.
__all__ = ["check_id", "check_text", "check_meta", "check_count", "check_memory_id", "parse_timestamp",
           "format_timestamp"]
