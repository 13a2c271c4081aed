"""The built-in demo that ``greencode compare`` runs when given no candidates.

Membership tests: the same question ("how many of these numbers are known?") asked of a list, which is
searched item by item, and of a set, which hashes. Tactic GT-DS-01. Sized like the catalogue's evidence
(10,000 items, 1,000 lookups) and small enough to finish in about a second.
"""

from __future__ import annotations

TACTIC = "GT-DS-01"
TITLE = "Membership test: a list or a set?"

KNOWN_LIST = list(range(10_000))
KNOWN_SET = set(KNOWN_LIST)
#: Half of the lookups hit, half miss (a miss costs a list its full length).
LOOKUPS = list(range(0, 20_000, 20))


def count_known_in_list() -> int:
    """Wasteful: each ``in`` walks the list."""
    return sum(1 for n in LOOKUPS if n in KNOWN_LIST)  # greencode: ignore[GRN001] wasteful on purpose


def count_known_in_set() -> int:
    """Green: each ``in`` is one hash lookup."""
    return sum(1 for n in LOOKUPS if n in KNOWN_SET)


#: ``module:function`` specs, wasteful first, as ``greencode compare`` takes them.
CANDIDATES = (f"{__name__}:count_known_in_list", f"{__name__}:count_known_in_set")
