"""``greencode run -- CMD ARGS...``: the energy of a whole command, its children included."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

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
    parser.add_argument(
        "--config", metavar="FILE", help="configuration file (default: nearest pyproject.toml)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from greencode.config import load_config
    from greencode.errors import GreencodeError
    from greencode.files import atomic_write_text
    from greencode.measurement import Recorder
    from greencode.meters import select_meters
    from greencode.sinks import describe

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise GreencodeError("no command given; usage: greencode run [options] -- CMD ARGS...")
    config = load_config(args.config, overrides={"meter": args.meter})
    selection = select_meters(config)
    label = args.label or shlex.join(command)
    try:
        recorder = Recorder(label, selection, config)
        try:
            process = subprocess.Popen(command)
        except FileNotFoundError:
            raise GreencodeError(f"command not found: {command[0]}") from None
        except PermissionError:
            raise GreencodeError(f"command not executable: {command[0]}") from None
        while True:
            try:
                returncode = process.wait()
                break
            except KeyboardInterrupt:
                # Ctrl-C reaches the child too; keep waiting so its energy is still reported.
                continue
        measurement = recorder.stop()
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
