"""Checks on everything that enters the library from a caller."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import InvalidInputError
from .times import format_timestamp, parse_timestamp

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
