"""Exercise 1: is a word in the vocabulary? Ask a list, or ask a set.

Both functions count how many words of a text appear in a vocabulary of 10,000 words. The only difference is
the container the vocabulary lives in.
"""

from __future__ import annotations

VOCABULARY = [f"word{n:05d}" for n in range(10_000)]
VOCABULARY_SET = frozenset(VOCABULARY)  # built once, when the module is imported
#: 500 words of "text"; every second one is not in the vocabulary.
TEXT = [f"word{n:05d}" for n in range(0, 20_000, 40)]


def count_known_list(text: list[str] = TEXT, vocabulary: list[str] = VOCABULARY) -> int:
    """Wasteful: ``word in list`` compares the word with the items one by one until it finds it."""
    return sum(1 for word in text if word in vocabulary)


def count_known_set(text: list[str] = TEXT, vocabulary: frozenset[str] = VOCABULARY_SET) -> int:
    """Green: ``word in set`` hashes the word and looks in one place."""
    return sum(1 for word in text if word in vocabulary)
