"""Exercise 8: building a long string backwards.

Strings cannot be changed in place, so ``text = word + text`` makes a brand-new string and copies everything
built so far, for every word: the copying grows with the square of the length. Collecting the pieces and
joining them once copies each character once.
"""

from __future__ import annotations

WORDS = [f"w{n} " for n in range(20_000)]


def prepend_each_word(words: list[str] = WORDS) -> str:
    """Wasteful: a new, ever longer string per word."""
    text = ""
    for word in words:
        text = word + text
    return text


def join_once(words: list[str] = WORDS) -> str:
    """Green: one join over the words in reverse order."""
    return "".join(reversed(words))
