"""The memory tiers' own logic. Short-term lives in the store (a bounded queue of pages);
mid-term consolidation and long-term persona updates are the background passes here."""

from .long_term import PersonaUpdater
from .mid_term import Consolidator

__all__ = ["Consolidator", "PersonaUpdater"]
