"""pytest as a measuring subprocess: for commands that run a test suite several times and compare the runs
(``greencode ab``'s sides, ``greencode calibrate``'s A/A runs).

Each run is ``python -m pytest --greencode`` writing a results file (:func:`measuring_command`), in an
environment that keeps its history out of the user's ``.greencode/`` and leaves the step summary to the
command (:func:`measuring_environment`). :func:`run_pytest` runs it and keeps what is needed to tell why a
run failed: the failing tests from pytest's short summary (:func:`failing_tests`) and the most telling line
of a pytest that did not run at all (:func:`problem`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Variables the measuring processes must not see: the step summary is the command's own to write, once.
_HIDDEN_VARIABLES = ("GITHUB_STEP_SUMMARY",)
#: pytest's exit code when it collected no tests.
NO_TESTS_COLLECTED = 5


def import_paths(root: Path) -> tuple[Path, ...]:
    """Where a tree's own code is imported from: ``src/`` in a src layout, else the tree's top (flat layout).
    Other layouts can name their directory with pytest's ``pythonpath`` ini option, which is relative to
    each tree's rootdir and so also follows the tree."""
    src = root / "src"
    return (src,) if src.is_dir() else (root,)


def measuring_environment(scratch: Path, config_file: Path | None = None) -> dict[str, str]:
    """The environment of a pytest process that greencode starts to measure: its history goes to a database
    in ``scratch``, not into the user's ``.greencode/``, and ``$GITHUB_STEP_SUMMARY`` is hidden, since the
    command writes the summary itself, once. ``config_file``, else ``$GREENCODE_CONFIG``, is the greencode
    configuration the process reads: made absolute, so that a process running in another directory (a
    worktree) reads the same file."""
    env = {k: v for k, v in os.environ.items() if k not in _HIDDEN_VARIABLES}
    env["GREENCODE_HISTORY"] = str(scratch / "history.sqlite")
    config = config_file or env.get("GREENCODE_CONFIG")
    if config:
        env["GREENCODE_CONFIG"] = str(Path(config).resolve())
    return env


def measuring_command(
    pytest_args: Sequence[str],
    output: Path,
    *,
    rounds: int | None = None,
    meter: str | None = None,
    include_setup: bool = False,
) -> list[str]:
    """``python -m pytest`` with ``pytest_args``, measuring with greencode into the results file ``output``
    (read it with :func:`greencode.results_file.load_results`), with pytest's short summary of failures and
    without touching its cache. The plugin is loaded explicitly when pytest's plugin autoloading is off."""
    command = [sys.executable, "-m", "pytest", *pytest_args]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and not any(
        "pytest_greencode" in a for a in pytest_args
    ):
        command += ["-p", "pytest_greencode.plugin"]
    command += ["--greencode", f"--greencode-json={output}", "-p", "no:cacheprovider", "-rfE"]
    if rounds is not None:
        command.append(f"--greencode-rounds={rounds}")
    if meter:
        command.append(f"--greencode-meter={meter}")
    if include_setup:
        command.append("--greencode-include-setup")
    return command


def failing_tests(output: str) -> tuple[str, ...]:
    """Node ids from pytest's short test summary (``-rfE``): ``FAILED id - message`` and ``ERROR id``."""
    found = []
    for line in output.splitlines():
        for prefix in ("FAILED ", "ERROR "):
            if line.startswith(prefix):
                found.append(line[len(prefix) :].split(" - ", 1)[0].strip())
    return tuple(dict.fromkeys(found))


def problem(completed: subprocess.CompletedProcess[str]) -> str:
    """The most telling line of a process that did not run: a collection error from pytest's short summary,
    the exception of a traceback, a usage error, else its last line."""
    out, err = completed.stdout.splitlines(), completed.stderr.splitlines()
    where = [line.split(" - ", 1)[0] for line in out if line.startswith("ERROR ")][:1]
    exception = [line[1:].strip() for line in out + err if line.startswith("E   ")][:1]
    if where or exception:
        return ": ".join(where + exception)
    lines = [line[line.index("error:") :] for line in err if "error:" in line]
    lines += [line for line in err if line.strip()][-1:] + [line for line in out if line.strip()][-1:]
    return lines[0].strip() if lines else "no output"


@dataclass(frozen=True)
class PytestRun:
    """One finished measuring process: how it ended, how long it took, where it wrote its results."""

    completed: subprocess.CompletedProcess[str]
    duration_s: float
    output: Path

    @property
    def exit_code(self) -> int:
        return self.completed.returncode

    @property
    def failed(self) -> tuple[str, ...]:
        return failing_tests(self.completed.stdout)

    def problem(self) -> str:
        return problem(self.completed)


def run_pytest(
    command: Sequence[str], output: Path, *, env: Mapping[str, str], cwd: Path | None = None
) -> PytestRun:
    """Run ``command`` (from :func:`measuring_command`, writing ``output``) to its end, output captured."""
    started = time.monotonic()
    completed = subprocess.run(
        list(command), cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )
    return PytestRun(completed, time.monotonic() - started, output)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI cancelling the job) unwinds like Ctrl-C, so every ``finally`` runs and the pytest
    process started inside is stopped with it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
