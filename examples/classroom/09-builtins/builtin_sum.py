"""Exercise 9: adding up numbers with a Python loop or with ``sum``.

The hand-written loop runs several bytecode instructions per number in the interpreter; ``sum`` runs the
same loop in C inside the interpreter itself.
"""

from __future__ import annotations

NUMBERS = list(range(200_000))


def total_by_hand(numbers: list[int] = NUMBERS) -> int:
    """Wasteful: a ``for`` loop with ``+=``."""
    total = 0
    for number in numbers:
        total += number
    return total


def total_builtin(numbers: list[int] = NUMBERS) -> int:
    """Green: the built-in ``sum``."""
    return sum(numbers)
