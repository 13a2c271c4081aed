"""What :mod:`greencode.meters.forks` registers with the interpreter for every fork."""

from __future__ import annotations

import subprocess
import sys

# run in a fresh interpreter: the check drops the module from sys.modules, which this process must keep
_DROPPED_MODULE_IS_COLLECTED = """
import gc, sys, weakref
import greencode.meters, greencode.meters.forks as forks

class Sentinel:
    pass

forks.sentinel = Sentinel()
kept = weakref.ref(forks.sentinel)
del sys.modules["greencode.meters.forks"], greencode.meters.forks, forks
gc.collect()
print("alive" if kept() is not None else "collected")
"""


def test_the_fork_hook_does_not_keep_the_modules_globals_alive() -> None:
    # the interpreter's fork hooks are roots the collector cannot see: a hook holding the module's globals
    # (under pytest, its loader holds the config and so the whole session) would keep all of it alive into
    # the interpreter's shutdown, for one more full collection of everything there
    done = subprocess.run(
        [sys.executable, "-c", _DROPPED_MODULE_IS_COLLECTED], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "collected"
