"""Exercise 2: Fibonacci numbers, recomputed or remembered.

``fib(n) = fib(n - 1) + fib(n - 2)`` written as it reads asks for the same smaller numbers again and again:
fib(25) makes about 240,000 calls. Remembering each answer (memoisation) computes each of the 26 values once.
"""

from __future__ import annotations

from functools import lru_cache


def fib_naive(n: int = 25) -> int:
    """Wasteful: every call recomputes both smaller numbers from scratch."""
    return n if n < 2 else fib_naive(n - 1) + fib_naive(n - 2)


def fib_memoised(n: int = 25) -> int:
    """Green: the same recursion, but each fib(k) is computed once and then looked up.

    The cache is created inside the call, so every call starts from nothing, like the naive one does:
    the comparison is about the work of one computation, not about a cache filled by earlier calls. It
    is bounded to the n + 1 values the computation can need (tactic GT-DS-05: bound your caches).
    """

    @lru_cache(maxsize=n + 1)
    def fib(k: int) -> int:
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    return fib(n)
