"""Rule-based facts about the user, from what the user said about themselves.

The rules run in this order (who the user is, what they like, their family, their plans); facts come
out in reading order, deduplicated.
"""

from __future__ import annotations

from .family import FAMILY_RULES
from .plans import PLANS_RULES
from .preferences import PREFERENCES_RULES
from .profile import PROFILE_RULES
from .rules import ExtractedFact, Rule, apply_rules

USER_RULES: list[Rule] = [*PROFILE_RULES, *PREFERENCES_RULES, *FAMILY_RULES, *PLANS_RULES]


def extract_user_facts(user_text: str) -> list[ExtractedFact]:
    """Rule-based third-person facts from what the user said about themselves; precision over recall."""
    return apply_rules(USER_RULES, user_text)
