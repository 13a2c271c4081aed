"""Starting a command under callgrind for the ``instructions`` meter, with the causes of variation fixed.

``greencode valgrind -- COMMAND`` and ``pytest --greencode-meter instructions`` (which re-runs its own
session this way when the process is not under Valgrind and has no hardware counters) both come here. The
command runs under ``valgrind --tool=callgrind --collect-atstart=no``; dumps go to a private temporary
directory that is removed afterwards. What can be fixed is fixed:

* ``PYTHONHASHSEED=0`` unless the user set one (string hashing changes set and dict layouts);
* ``PYTHONMALLOC=malloc`` unless the user set it: with pymalloc, what freeing an object costs depends on
  the heap's history, so a test's count moved by over 1 % with the directory pytest ran from;
* address-space randomisation off with ``setarch -R`` where it is installed and allowed;
* the real interpreter instead of a shell shim (pyenv's ``python3`` is a script: under it callgrind would
  count the shell and the Python behind it would run natively, uncounted).

A whole command counted from outside (``greencode run``) also gets ``PYTHONPERFSUPPORT=1``: CPython 3.12+
then runs with its perf trampoline from the start, as the in-process meter turns it on, so that the
command's Python functions are named (:func:`greencode.meters.callgrind.function_costs`); other programs and
older Pythons ignore it.

What cannot be fixed here is listed in ``docs/instructions.md`` (unseeded randomness in the tests
themselves, time-dependent code paths, the environment and file system the code reads).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from greencode.config import Config
from greencode.errors import MeterUnavailable
from greencode.meters import wants_instructions
from greencode.meters.instructions import CALLGRIND_NOISE, Segment
from greencode.meters.valgrind import CALLGRIND_OUT_ENV, callgrind_command, find_valgrind, running_on_valgrind

if TYPE_CHECKING:
    from greencode.meters import Selection

__all__ = [
    "LAUNCHED_ENV",
    "PINNED",
    "CallgrindLaunch",
    "WholeCommand",
    "launch_under_callgrind",
    "needs_callgrind",
    "real_command",
]

#: Set in the environment of a command greencode started under callgrind: a second start would loop.
LAUNCHED_ENV = "GREENCODE_UNDER_CALLGRIND"
#: callgrind must not follow greencode's own dump-parser helper (it parses natively, on purpose)
_SKIP_BY_ARG = "--trace-children-skip-by-arg=*greencode.meters.callgrind*"
#: CPython 3.12+'s ``-X perf`` as an environment variable: it reaches every Python process of a command
PERF_SUPPORT_ENV = "PYTHONPERFSUPPORT"
#: What a command under callgrind runs with unless the user set it (see the module docstring)
PINNED = {
    # string hashing changes set and dict layouts
    "PYTHONHASHSEED": "0",
    # pymalloc's cost of freeing a block depends on how full its pool and arena happen to be, which
    # depends on every earlier allocation (path and environment lengths included): the same loop of
    # test_checksum counted 1.25 % more when pytest ran from one directory than from another (docs/
    # performance.md). glibc's malloc recycles small blocks through its per-thread cache at a flat cost.
    "PYTHONMALLOC": "malloc",
}


def needs_callgrind(config: Config, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the instruction meter can only work once this process is restarted under callgrind."""
    environ = os.environ if environ is None else environ
    if not wants_instructions(config) or config.instructions.backend == "perf" or running_on_valgrind():
        return False
    if environ.get(LAUNCHED_ENV):
        return False  # started under callgrind already and still not on it: say so instead of looping
    if config.instructions.backend == "callgrind":
        return True
    from greencode.meters.perf import open_counters

    try:
        open_counters().close()
    except MeterUnavailable:
        return True
    return False


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def _shebang(path: str) -> list[str]:
    with open(path, "rb") as handle:
        line = handle.readline(512).decode("utf-8", "replace")
    return line[2:].split()


def real_command(argv: Sequence[str]) -> list[str]:
    """``argv`` with its program replaced by the real executable callgrind should run.

    A console script whose first line names Python (``pytest``) runs as ``python SCRIPT``; a Python shim
    (``python3`` as a shell script, or an interpreter line naming one) becomes this interpreter.
    """
    if not argv:
        return []
    program = shutil.which(argv[0]) or argv[0]
    if not _is_script(program):
        return [program, *argv[1:]]
    words = _shebang(program)
    if words and Path(words[0]).name == "env":  # "#!/usr/bin/env python3"
        words = words[1:]
    if words and "python" in Path(words[0]).name:  # a Python console script
        interpreter = shutil.which(words[0]) or words[0]
        if _is_script(interpreter):
            interpreter = sys.executable
        return [interpreter, *words[1:], program, *argv[1:]]
    if Path(argv[0]).name.startswith("python"):  # a shell script standing in for Python (pyenv, asdf)
        return [sys.executable, *argv[1:]]
    return [program, *argv[1:]]


@cache
def _setarch() -> list[str]:
    """``setarch ARCH -R`` where it exists and the kernel allows it (containers may forbid personality)."""
    path = shutil.which("setarch")
    if path is None:
        return []
    command = [path, platform.machine(), "-R"]
    try:
        done = subprocess.run([*command, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return command if done.returncode == 0 else []


class CallgrindLaunch:
    """A command prepared to run under callgrind, with its private dump directory (removed by :meth:`close`).

    ``follow_children`` traces the processes it starts (xdist workers need it: each measures its own
    tests); ``collect_all`` counts the whole command from its first instruction, children included
    (``greencode run``): :meth:`finish` then reads every process's dumps into :attr:`backend`.
    """

    def __init__(
        self, argv: Sequence[str], config: Config, *, follow_children: bool = False, collect_all: bool = False
    ) -> None:
        valgrind = find_valgrind()
        self._directory = tempfile.TemporaryDirectory(prefix="greencode-callgrind-")
        self.pattern = Path(self._directory.name) / "callgrind.out.%p"
        command = callgrind_command(
            real_command(argv),
            self.pattern,
            cache_sim=config.instructions.cache_sim,
            collect_at_start=collect_all,
            trace_children=follow_children or collect_all,
            valgrind=valgrind,
        )
        if follow_children or collect_all:
            command.insert(1, _SKIP_BY_ARG)
        self.command = [*_setarch(), *command]
        self.env = {CALLGRIND_OUT_ENV: str(self.pattern), LAUNCHED_ENV: "1"}
        self.env.update({name: value for name, value in PINNED.items() if name not in os.environ})
        self._root = config.root
        #: whether the perf maps of the command's processes are ours to delete (we asked for them)
        self._own_perf_maps = collect_all and PERF_SUPPORT_ENV not in os.environ
        if self._own_perf_maps:
            # the in-process meter turns the trampoline on itself; a command counted whole needs it from
            # its start (see the module docstring)
            self.env[PERF_SUPPORT_ENV] = "1"
        names = (
            ("instructions", "d1_misses", "ll_misses") if config.instructions.cache_sim else ("instructions",)
        )
        self.backend = WholeCommand(names)

    def run(self) -> int:
        """Run the command in the foreground; its exit status (130 when interrupted)."""
        try:
            return subprocess.run(self.command, env={**os.environ, **self.env}, check=False).returncode
        except KeyboardInterrupt:
            return 130

    def selection(self, config: Config) -> Selection:
        """The meter selection for counting this command from outside (``greencode run``)."""
        from greencode.meters import Selection
        from greencode.meters.instructions import InstructionsMeter, model_for

        meter = InstructionsMeter(self.backend, model_for(config))
        return Selection((meter,), ("instructions: the command runs under callgrind, counted whole",))

    def finish(self) -> None:
        """Read every dump the command's processes left (each process writes one when it exits)."""
        from greencode.meters import callgrind

        counts: dict[str, int] = {}
        functions: dict[str, int] = {}
        for path in sorted(Path(self._directory.name).iterdir()):
            dump = callgrind.parse_dump(path.read_text(encoding="utf-8", errors="replace"), str(path))
            for name, value in callgrind.counts_from_events(dump.events, dump.totals).items():
                counts[name] = counts.get(name, 0) + value
            perf_map = self._perf_map(path)
            for key, value in callgrind.function_costs(dump, perf_map, 200, self._root).items():
                functions[key] = functions.get(key, 0) + value
        self.backend.found = Segment(counts, functions)

    def _perf_map(self, dump: Path) -> list[tuple[int, int, str]] | None:
        """The perf map of the process that wrote ``dump`` (``callgrind.out.<pid>``), deleted once read when
        this launch asked for it; None for a process that wrote none (not CPython 3.12+)."""
        from greencode.meters import callgrind

        pid = dump.name.removeprefix("callgrind.out.").partition(".")[0]
        path = Path(f"/tmp/perf-{pid}.map")
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        if self._own_perf_maps:
            path.unlink(missing_ok=True)
        return callgrind.parse_perf_map(text)

    def close(self) -> None:
        self._directory.cleanup()

    def __enter__(self) -> CallgrindLaunch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WholeCommand:
    """An instruction-meter backend for a command counted from outside: its counts arrive after it ended."""

    name = "callgrind"
    run_to_run_noise = CALLGRIND_NOISE
    sample_zeroes = False

    def __init__(self, counts: tuple[str, ...]) -> None:
        self.counts = counts
        self.found = Segment({})

    def reset(self) -> None:
        self.found = Segment({})

    def collect(self, on: bool) -> None:
        """The command's own processes collect; this one has nothing to switch."""

    def sample(self) -> Segment:
        found, self.found = self.found, Segment({})
        return found

    def close(self) -> None:
        """Nothing is held: the dump directory belongs to :class:`CallgrindLaunch`."""


def launch_under_callgrind(argv: Sequence[str], config: Config, *, follow_children: bool = False) -> int:
    """Run ``argv`` under callgrind with windows opened by the meter inside it; its exit status."""
    with CallgrindLaunch(argv, config, follow_children=follow_children) as launch:
        return launch.run()
