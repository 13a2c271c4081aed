"""What a forked child must not inherit from a meter: other threads' open windows, and per-process handles.

After ``os.fork()`` only the forking thread runs in the child. Windows that other threads had open stay in
a meter's bookkeeping there, never to close: the estimator would then mark every window of the child as
overlapped by them, and the instruction meter would take them for windows still open. A lock another thread
held at that moment stays held in the child for ever. And what names the process (its pid, its dump files,
a helper process it talks to through pipes) is the parent's. An object holding such state registers here;
its ``after_fork_in_child()`` then runs in every forked child, before the child's own code.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "register"]


class ForkAware(Protocol):
    def after_fork_in_child(self) -> None:
        """Forget what belongs to the parent (called in the child, in the thread that forked)."""


# weak: a meter that is closed and dropped needs nothing done in later children
_registered: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def register(holder: ForkAware) -> None:
    """Have ``holder.after_fork_in_child()`` run in each child this process forks from now on."""
    _registered.add(holder)


def _in_child() -> None:
    for holder in list(_registered):
        holder.after_fork_in_child()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    # through a weak proxy: what the interpreter holds for fork is a root the collector cannot see, and this
    # module's globals (its loader: pytest's assertion rewriter, holding the config) would keep a whole pytest
    # session alive into the interpreter's shutdown, for one more full collection of all of it there
    os.register_at_fork(after_in_child=weakref.proxy(_in_child))
