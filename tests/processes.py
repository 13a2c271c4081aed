"""Other processes for the concurrency tests: writers that start at one moment, and a holder of a lock."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal


def started_together(target: Callable[..., None], count: int, *args: object) -> list[int | None]:
    """The exit codes of ``count`` spawned processes running ``target(*args, worker, barrier)``: each waits
    at ``barrier`` so that their first writes meet."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    workers = [context.Process(target=target, args=(*args, w, barrier)) for w in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return [w.exitcode for w in workers]


@contextmanager
def held_elsewhere(
    hold: Callable[[str, Any, Any], None], path: str, start: Literal["spawn", "fork"], ready_s: float
) -> Iterator[None]:
    """While the body runs, another process holds ``path``: ``hold(path, ready, release)`` sets ``ready``
    once it holds it (within ``ready_s``) and lets go when ``release`` is set."""
    context = multiprocessing.get_context(start)
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=hold, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(ready_s)
        yield
    finally:
        release.set()
        holder.join(30)
