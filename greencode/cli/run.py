"""``greencode run -- CMD ARGS...``: the energy of a whole command, its children included."""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

from greencode.cli import add_config_option, after_separator

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

ORDER = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="measure the energy of a command and its children",
        description="Run CMD, measure the energy it uses (children included), print energy, time, power, "
        "CO2e and where each figure comes from to standard error, and exit with CMD's own exit code.",
        epilog="Example: greencode run --json run.json -- python -m mypackage.train --epochs 1",
    )
    parser.add_argument(
        "--meter", help="meter(s) to use: auto (default), rapl, nvml, estimate or a comma list"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the measurement as JSON to FILE")
    parser.add_argument("--label", help="label for the measurement (default: the command line)")
    add_config_option(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace
    from pathlib import Path

    from greencode.config import load_config
    from greencode.errors import GreencodeError
    from greencode.files import atomic_write_text
    from greencode.measurement import Recorder
    from greencode.meters import select_meters
    from greencode.meters.estimate import children_cpu_s
    from greencode.sinks import describe

    command = after_separator(args.command)
    if not command:
        raise GreencodeError("no command given; usage: greencode run [options] -- CMD ARGS...")
    config = load_config(args.config, overrides={"meter": args.meter})
    if args.json:
        _check_writable(Path(args.json))
    selection = select_meters(config)
    label = args.label or shlex.join(command)
    try:
        children0 = children_cpu_s()
        recorder = Recorder(label, selection, config)
        returncode = _run(command)
        measurement = recorder.stop()
        # the command's CPU time is what the reader wants next to its energy, not greencode's own
        measurement = replace(measurement, cpu_s=measurement.cpu_s + children_cpu_s() - children0)
    finally:
        selection.close()

    print(f"greencode: {describe(measurement)}", file=sys.stderr)
    for domain, joules in measurement.domains.items():
        print(f"greencode:   {domain}: {joules:.6g} J from {measurement.provenance[domain]}", file=sys.stderr)
    print(f"greencode:   grid intensity: {measurement.intensity}", file=sys.stderr)
    for warning in measurement.warnings:
        print(f"greencode: warning: {warning}", file=sys.stderr)
    if args.json:
        record = measurement.to_dict() | {"command": command, "returncode": returncode}
        atomic_write_text(Path(args.json), json.dumps(record, indent=2, sort_keys=True) + "\n")
    if returncode < 0:  # killed by a signal: report it the way shells do
        return 128 + (-returncode)
    return returncode


def _check_writable(path: Path) -> None:
    """Fail before the command runs, not after a long run, when the JSON cannot be written."""
    import tempfile

    from greencode.errors import GreencodeError

    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise GreencodeError(
            f"--json {path}: cannot write there ({exc.strerror or exc}); choose another path"
        ) from None


def _run(command: list[str]) -> int:
    """Run ``command`` to its end; its exit status, or -N when signal N ended it."""
    from greencode.errors import GreencodeError

    previous: dict[int, Any] = {}
    try:
        # Ctrl-C and Ctrl-\ reach the whole foreground process group: the command decides whether to stop,
        # and greencode waits to report it, as time(1) does. Catching KeyboardInterrupt instead can lose the
        # exit status (CPython may raise it between reaping the child and storing its status). A handler,
        # unlike SIG_IGN, is reset to the default in the command when it starts.
        for name in ("SIGINT", "SIGQUIT"):
            if hasattr(signal, name):
                previous[getattr(signal, name)] = signal.signal(getattr(signal, name), _ignore)
        try:
            process = subprocess.Popen(command)
        except FileNotFoundError:
            raise GreencodeError(f"command not found: {command[0]}") from None
        except PermissionError:
            raise GreencodeError(f"command not executable: {command[0]}") from None

        def forward(signum: int, frame: object) -> None:
            process.send_signal(signum)

        # a request to stop greencode alone (a CI timeout, kill PID) stops the command, which is then reported
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                previous[getattr(signal, name)] = signal.signal(getattr(signal, name), forward)
        return process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _ignore(signum: int, frame: object) -> None:
    """Let the command handle the signal; greencode keeps waiting for it."""
