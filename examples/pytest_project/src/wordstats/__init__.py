"""wordstats: a tiny library whose tests carry energy budgets and a regression gate (a greencode example)."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased."""
    return _WORD.findall(text.lower())


def top_words(text: str, count: int = 10) -> list[tuple[str, int]]:
    """The ``count`` most frequent words with their frequencies, most frequent first."""
    return Counter(words(text)).most_common(count)


def unique_ratio(text: str) -> float:
    """Distinct words divided by all words (0 for a text without words)."""
    found = words(text)
    return len(set(found)) / len(found) if found else 0.0
