"""Other processes for the concurrency tests: writers that start at one moment, a holder of a lock, and a
forked child reporting what it saw."""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import warnings
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


def in_forked_child(body: Callable[[], Any], deadline_s: float = 60) -> Any:
    """What ``body()`` returns (JSON-serialisable) when it runs in a child forked from this process, this
    thread; None when the child gave no answer within ``deadline_s`` (it hung, say on a lock) or died."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of forking a process that has other threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: answer, then leave without running the parent's clean-up
        try:
            os.write(write_end, json.dumps(body()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], deadline_s)
        answer = os.read(read_end, 1 << 20) if ready else b""
    finally:
        os.close(read_end)
        if not answer:
            os.kill(pid, 9)
        os.waitpid(pid, 0)
    return json.loads(answer) if answer else None
