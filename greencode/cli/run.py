"""``greencode run -- CMD ARGS...``: the energy of a whole command, its children included."""

from __future__ import annotations

import argparse
import functools
import os
import shlex
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from greencode.cli import add_command_argument, add_config_option, add_json_option, command_of
from greencode.errors import GreencodeError

if TYPE_CHECKING:
    from typing import Any

    from greencode.config import Config
    from greencode.measurement import Measurement
    from greencode.meters import Selection
    from greencode.meters.instructions_launch import CallgrindLaunch

ORDER = 20
#: functions named on the terminal after a counted command (all of them in --json)
TOP_FUNCTIONS = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="measure the energy of a command and its children",
        description="Run CMD, measure the energy it uses (children included), print energy, time, power, "
        "CO2e and where each figure comes from to standard error, and exit with CMD's own exit code.",
        epilog="Example: greencode run --json run.json -- python -m mypackage.train --epochs 1",
    )
    parser.add_argument(
        "--meter",
        help="meter(s) to use: auto (default), rapl, nvml, estimate, instructions (runs CMD under callgrind "
        "where there are no hardware counters) or a comma list",
    )
    add_json_option(parser, "the measurement")
    parser.add_argument(
        "--otel",
        action="store_true",
        default=None,
        help="export the measurement over OTLP (OTEL_EXPORTER_OTLP_* variables; extra 'otel')",
    )
    parser.add_argument("--label", help="label for the measurement (default: the command line)")
    add_config_option(parser)
    add_command_argument(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace

    from greencode.config import load_config
    from greencode.files import check_output, write_output
    from greencode.measurement import Recorder
    from greencode.meters import select_meters
    from greencode.meters.estimate import children_cpu_s
    from greencode.sinks import describe

    command = command_of(args, "greencode run [options] -- CMD ARGS...")
    config = load_config(args.config, overrides={"meter": args.meter, "otel": args.otel})
    if args.json:
        check_output(args.json)  # before the command runs, not after a long run
    label = args.label or shlex.join(command)
    launch = _callgrind_launch(command, config)
    # an explicitly requested meter that cannot work stops us here, before anything has run
    selection = select_meters(config) if launch is None else launch.selection(config)
    try:
        children0 = children_cpu_s()
        recorder = Recorder(label, selection, config)  # never raises for a meter's sake
        try:
            outcome = _run(command if launch is None else launch.command)
        except CommandNotStarted as exc:
            print(f"greencode: error: {exc}", file=sys.stderr)
            return exc.status
        if launch is not None:
            launch.finish()
        measurement = recorder.stop()
        # the command's CPU time is what the reader wants next to its energy, not greencode's own
        measurement = replace(
            measurement,
            cpu_s=measurement.cpu_s + children_cpu_s() - children0,
            warnings=(*measurement.warnings, *outcome.warnings),
        )
    finally:
        selection.close()
        if launch is not None:
            launch.close()

    print(f"greencode: {describe(measurement)}", file=sys.stderr)
    for domain, joules in measurement.domains.items():
        print(f"greencode:   {domain}: {joules:.6g} J from {measurement.provenance[domain]}", file=sys.stderr)
    if measurement.counts:
        counted = ", ".join(f"{name} {value:,}" for name, value in measurement.counts.items())
        print(f"greencode:   counts: {counted}", file=sys.stderr)
    for function, count in list(measurement.functions.items())[:TOP_FUNCTIONS]:
        print(f"greencode:   {count:,} instructions in {function}", file=sys.stderr)
    print(f"greencode:   grid intensity: {measurement.intensity}", file=sys.stderr)
    for warning in measurement.warnings:
        print(f"greencode: warning: {warning}", file=sys.stderr)
    returncode = outcome.returncode
    for warning in _export(config, label, measurement, selection):
        print(f"greencode: warning: {warning}", file=sys.stderr)
    if args.json:
        record = measurement.to_dict() | {
            "command": command,
            "returncode": returncode,
            "functions": dict(measurement.functions),
        }
        try:
            write_output(args.json, json.dumps(record, indent=2, sort_keys=True) + "\n")
        except GreencodeError as exc:
            # the command's own exit code matters more than our file: say what was lost, keep the code
            print(f"greencode: error: --json not written: {exc}", file=sys.stderr)
    if returncode < 0:  # killed by a signal: report it the way shells do
        return 128 + (-returncode)
    return returncode


def _callgrind_launch(command: list[str], config: Config) -> CallgrindLaunch | None:
    """With the instruction meter and no hardware counters: the command, prepared to run under callgrind."""
    from greencode.meters.instructions_launch import CallgrindLaunch, needs_callgrind

    if not needs_callgrind(config):
        return None
    launch = CallgrindLaunch(command, config, collect_all=True)
    os.environ.update(launch.env)  # the command inherits them; this process ends with it
    return launch


def _export(config: Config, label: str, measurement: Measurement, selection: Selection) -> list[str]:
    """The command as one exported point (``otel``, ``prometheus``); nothing when its energy is unknown."""
    if (not config.otel and config.prometheus is None) or not measurement.measured:
        return []
    from greencode.export.points import Point, vcs_labels
    from greencode.export.send import export_points
    from greencode.fingerprint import detect_fingerprint
    from greencode.vcs import vcs_state

    commit, branch = vcs_labels(vcs_state(config.root))
    point = Point(
        test_id=label,
        per="run",
        energy_j=measurement.energy_j,
        co2e_g=measurement.co2e_g,
        instructions=measurement.counts.get("instructions"),
        meter=selection.name,
        estimated=measurement.estimated,
        commit=commit,
        branch=branch,
        machine=detect_fingerprint(selection.name, sorted(selection.domains)).describe(),
    )
    return export_points(config, [point], time.time())


class CommandNotStarted(GreencodeError):
    """The command could not be started; ``status`` is the shell's code for why (126 or 127)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Outcome:
    """How the command ended, and what greencode saw that the measurement leaves out."""

    def __init__(self, returncode: int, warnings: tuple[str, ...]) -> None:
        self.returncode = returncode
        self.warnings = warnings


def _run(command: list[str]) -> Outcome:
    """Run ``command`` to its end; its exit status (-N when signal N ended it) and warnings."""
    previous: dict[int, Any] = {}
    reaper = _Subreaper()
    try:
        # Ctrl-C and Ctrl-\ reach the whole foreground process group: the command decides whether to stop,
        # and greencode waits to report it, as time(1) does. Catching KeyboardInterrupt instead can lose the
        # exit status (CPython may raise it between reaping the child and storing its status). A handler,
        # unlike SIG_IGN, is reset to the default in the command when it starts.
        for name in ("SIGINT", "SIGQUIT"):
            if hasattr(signal, name):
                previous[getattr(signal, name)] = signal.signal(getattr(signal, name), _ignore)
        process = _start(command)

        def forward(signum: int, frame: object) -> None:
            process.send_signal(signum)

        # a request to stop greencode alone (a CI timeout, kill PID) stops the command, which is then reported
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                previous[getattr(signal, name)] = signal.signal(getattr(signal, name), forward)
        returncode = process.wait()
        return Outcome(returncode, reaper.leftovers())
    finally:
        reaper.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    """Start ``command``; a :class:`CommandNotStarted` with the shell's status when it cannot be."""
    import errno

    try:
        return subprocess.Popen(command, preexec_fn=_die_with_parent if _prctl() is not None else None)
    except FileNotFoundError:
        raise CommandNotStarted(f"{command[0]}: command not found", 127) from None
    except PermissionError:
        raise CommandNotStarted(f"{command[0]}: permission denied (not executable)", 126) from None
    except OSError as exc:
        if exc.errno == errno.ENOEXEC:
            reason = "not an executable format (a script needs a '#!' line, or run it with its interpreter)"
        else:
            reason = exc.strerror or str(exc)
        raise CommandNotStarted(f"{command[0]}: cannot run it ({reason})", 126) from None


@functools.lru_cache(maxsize=1)
def _prctl() -> Any:
    """libc's ``prctl`` on Linux, else None (looked up on first use: ctypes is slow to import)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None


_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when greencode dies, even by SIGKILL, so no command is orphaned."""
    parent = os.getppid()
    _prctl()(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # greencode died before the request took effect
        os._exit(128 + signal.SIGTERM)


class _Subreaper:
    """While the command runs, greencode adopts the processes it orphans (daemons, double forks): those that
    end in time are reaped, so their CPU time counts; those still running when the command ends are named,
    because their energy from then on is not measured."""

    def __init__(self) -> None:
        prctl = _prctl()
        self.active = prctl is not None and prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0

    def leftovers(self) -> tuple[str, ...]:
        if not self.active:
            return ()
        _reap_finished()
        running = _children_of(os.getpid())
        if not running:
            return ()
        pids = ", ".join(str(pid) for pid in running[:5]) + (" ..." if len(running) > 5 else "")
        return (
            f"the command left {len(running)} process(es) running in the background (pid {pids}); their "
            "energy after the command ended is not measured",
        )

    def close(self) -> None:
        if self.active:
            _prctl()(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _reap_finished() -> None:
    """Wait for adopted processes that have already ended (their CPU time then counts as children's)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _children_of(parent: int) -> list[int]:
    """Live processes whose parent is ``parent``, from /proc."""
    children = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rpartition(b")")[2].split()
        except OSError:
            continue
        # after the command name: state, ppid, ...
        if len(fields) > 1 and fields[1] == str(parent).encode() and fields[0] != b"Z":
            children.append(int(entry))
    return sorted(children)


def _ignore(signum: int, frame: object) -> None:
    """Let the command handle the signal; greencode keeps waiting for it."""
