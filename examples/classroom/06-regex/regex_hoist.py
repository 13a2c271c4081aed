"""Exercise 6: checking log lines with a regular expression.

Each log line should name the user we expect. Building the pattern from the user's name inside the loop
makes a different pattern for every line, so Python compiles a new regular expression every time (its
pattern cache holds only a few hundred). One pattern, compiled once before the loop, can capture the name
instead, and the comparison is done in plain Python.
"""

from __future__ import annotations

import re

LINES = [f"2024-05-01 12:{n // 60 % 60:02d}:{n % 60:02d} user=user{n} action=login" for n in range(2_000)]
#: Who we expect on each line; every third line names somebody else.
EXPECTED = [f"user{n + 1}" if n % 3 == 0 else f"user{n}" for n in range(2_000)]

USER_FIELD = re.compile(r"\buser=(\w+)")  # compiled once, when the module is imported


def compile_per_line(lines: list[str] = LINES, expected: list[str] = EXPECTED) -> int:
    """Wasteful: a new pattern for each line, compiled each time."""
    matches = 0
    for line, user in zip(lines, expected, strict=True):
        if re.search(rf"\buser={re.escape(user)}\b", line):
            matches += 1
    return matches


def compile_once(lines: list[str] = LINES, expected: list[str] = EXPECTED) -> int:
    """Green: one precompiled pattern extracts the user; plain ``==`` compares it."""
    matches = 0
    for line, user in zip(lines, expected, strict=True):
        found = USER_FIELD.search(line)
        if found and found.group(1) == user:
            matches += 1
    return matches
