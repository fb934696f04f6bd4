"""Storage backends behind one contract (see :mod:`.base`). SQLite is the embedded default."""

from .base import ConflictError, HeatParams, Store
from .sqlite import SQLiteStore

__all__ = ["ConflictError", "HeatParams", "SQLiteStore", "Store"]
