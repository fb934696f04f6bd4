"""Exceptions raised by MemoryOS. Every public failure is one of these, with a message that says what to do."""

from __future__ import annotations


class MemoryOSError(Exception):
    """Base class of every error MemoryOS raises on purpose."""


class InvalidInputError(MemoryOSError, ValueError):
    """An argument is malformed or too large; nothing was written."""


class ExportFormatError(InvalidInputError):
    """An export document (``import_data``, ``memoryos import``) is malformed; ``path`` names the bad
    field, e.g. ``facts[3].slot``. The whole document is checked first: nothing was written."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"invalid export at {path}: {reason}" if path else f"invalid export: {reason}")


class NotFoundError(MemoryOSError, KeyError):
    """The id names nothing in this user's memory (or belongs to another user)."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "not found"


class LLMNotConfiguredError(MemoryOSError):
    """An operation needs a language model and none is configured."""


class LLMError(MemoryOSError):
    """The language model failed after retries, or answered with something unusable."""


class NoAnswerError(LLMError):
    """The model returned no usable answer (empty, refused or cut off by a filter); nothing was stored."""


class StoreError(MemoryOSError):
    """The storage backend refused an operation (schema too new, unreachable server, ...)."""
