"""Exercise 5: keeping the newest item first.

A history where each new event goes in front. A list stores its items side by side in one block of memory,
so inserting at the front shifts every item along by one. A deque is built for adding at both ends.
"""

from __future__ import annotations

from collections import deque

EVENTS = 20_000


def newest_first_list(events: int = EVENTS) -> list[int]:
    """Wasteful: ``insert(0, ...)`` moves the whole list each time."""
    history: list[int] = []
    for event in range(events):
        history.insert(0, event)
    return history


def newest_first_deque(events: int = EVENTS) -> list[int]:
    """Green: ``appendleft`` adds at the front without moving anything (converted to a list at the end)."""
    history: deque[int] = deque()
    for event in range(events):
        history.appendleft(event)
    return list(history)
