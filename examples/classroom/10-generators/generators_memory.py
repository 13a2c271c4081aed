"""Exercise 10: a list that is only summed, or a generator.

``sum([k * k for k in ...])`` first builds a list of 200,000 numbers in memory, then adds them up.
``sum(k * k for k in ...)`` produces each number when ``sum`` asks for it, so only one exists at a time. The
processor does about the same work either way; the memory is what changes.

Run this file to see the peak memory of each: ``python generators_memory.py``.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

COUNT = 200_000


def sum_of_squares_list(count: int = COUNT) -> int:
    """Wasteful (in memory): the whole list exists before the first addition."""
    return sum([k * k for k in range(count)])


def sum_of_squares_generator(count: int = COUNT) -> int:
    """Green (in memory): one square at a time."""
    return sum(k * k for k in range(count))


def peak_memory_bytes(function: Callable[[], object]) -> int:
    """The most memory Python allocated at any moment while ``function`` ran (tracemalloc)."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


if __name__ == "__main__":
    for function in (sum_of_squares_list, sum_of_squares_generator):
        print(f"{function.__name__:>26}: peak {peak_memory_bytes(function) / 2**20:.2f} MiB")
