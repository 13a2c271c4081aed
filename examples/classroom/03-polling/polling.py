"""Exercise 3: waiting for something to happen, by asking over and over or by being told.

A timer thread sets an event after 50 ms. Each function waits for it and returns whether it was set. They
take the same time; the question is what the processor does meanwhile.
"""

from __future__ import annotations

import threading
import time

WAIT_S = 0.05


def _event_set_after(delay_s: float) -> tuple[threading.Event, threading.Timer]:
    event = threading.Event()
    timer = threading.Timer(delay_s, event.set)
    timer.start()
    return event, timer


def busy_wait(delay_s: float = WAIT_S) -> bool:
    """Wasteful: check the event in a tight loop, keeping a processor core busy doing nothing useful."""
    event, timer = _event_set_after(delay_s)
    while not event.is_set():
        pass
    timer.join()
    return event.is_set()


def polite_poll(delay_s: float = WAIT_S) -> bool:
    """In between: check, then sleep a millisecond, and check again."""
    event, timer = _event_set_after(delay_s)
    while not event.is_set():
        time.sleep(0.001)
    timer.join()
    return event.is_set()


def blocking_wait(delay_s: float = WAIT_S) -> bool:
    """Green: block until the event is set; the operating system wakes the thread up."""
    event, timer = _event_set_after(delay_s)
    event.wait()
    timer.join()
    return event.is_set()
