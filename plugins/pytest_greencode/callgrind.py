"""The instruction meter without hardware counters: the same pytest session re-run under Valgrind's
callgrind, before anything is measured."""

from __future__ import annotations

import pytest

from greencode.config import Config
from greencode.errors import GreencodeError
from greencode.meters import wants_instructions
from pytest_greencode import xdist


def rerun_if_needed(config: pytest.Config, settings: Config) -> None:
    """The instruction meter without hardware counters needs callgrind: run this same session under it
    and exit with its status (the process is not under Valgrind yet, so nothing measured is lost)."""
    if not wants_instructions(settings):  # nearly every run: not worth importing the launcher for
        return
    from greencode.meters.instructions_launch import needs_callgrind

    if xdist.is_worker(config) or not needs_callgrind(settings):
        return
    import os
    import sys

    from greencode.meters.instructions_launch import launch_under_callgrind
    from greencode.meters.valgrind import find_valgrind

    try:
        find_valgrind()
    except GreencodeError as exc:
        raise pytest.UsageError(f"greencode: the instructions meter needs Valgrind here: {exc}") from None
    if tuple(config.invocation_params.args) != tuple(sys.argv[1:]):
        # pytest.main() from other code, or pytester: this process's command line is not this session's
        raise pytest.UsageError(
            "greencode: the instructions meter needs Valgrind's callgrind here (no hardware counters); run "
            "the session under it: greencode valgrind -- pytest ARGS"
        )
    follow = bool(getattr(config.option, "numprocesses", None))  # xdist workers measure, so trace them
    from greencode.bytecode import precompile

    if not sys.dont_write_bytecode:  # natively, so that no test's window compiles a lazy import
        precompile(config.rootpath, os.environ)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(launch_under_callgrind([sys.executable, *sys.orig_argv[1:]], settings, follow_children=follow))
