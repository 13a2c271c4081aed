"""``greencode calibrate [-- PYTEST ARGS]``: measure the same code several times (A/A) and say what the gate
can detect on this machine.

Runs ``python -m pytest --greencode`` RUNS times (default 2) in fresh processes, then reports each test's
run-to-run spread, the drift between runs, the smallest regression the gate would flag at the configured
``fail_on`` and ``alpha``, and a recommended ``fail_on``. ``--save`` writes a baseline pooling all the runs,
from which the gate learns this machine's noise. ``--instructions`` fits the instruction model against RAPL
instead (:mod:`greencode.cli._instruction_calibration`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from greencode.cli import (
    add_config_option,
    add_json_option,
    add_pytest_arguments,
    after_separator,
    path_argument,
)

if TYPE_CHECKING:
    from pathlib import Path

#: Each run is a whole pytest session; more than this is a typo, not a calibration.
MAX_RUNS = 1000
ORDER = 40


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="measure the test suite several times and report run-to-run noise and what the gate can detect",
        description="A/A calibration: run the selected tests' energy measurement RUNS times in separate "
        "pytest processes, then report the run-to-run spread, the smallest regression the gate can detect "
        "here, and a recommended fail_on. With --save, write a baseline pooling all runs.",
        epilog="Example: greencode calibrate --runs 3 --save -- tests/perf -k 'not slow'",
    )
    parser.add_argument(
        "--runs", type=int, default=2, metavar="N", help="how many runs (default 2, at least 2)"
    )
    parser.add_argument("--save", action="store_true", help="write a baseline pooling every run")
    parser.add_argument(
        "--baseline",
        type=path_argument,
        metavar="PATH",
        help="baseline file for --save (default: the 'baseline' key)",
    )
    parser.add_argument("--meter", help="meter(s) to use (default: the 'meter' key)")
    add_json_option(parser, "the calibration")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instead: fit the instruction model's joules per instruction and per DRAM line against RAPL "
        "(needs RAPL and perf counters; see docs/instructions.md)",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="with --instructions: set the fitted keys in the configuration file",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        metavar="S",
        help="with --instructions: seconds per workload (1)",
    )
    add_config_option(parser)
    add_pytest_arguments(parser, "arguments for pytest (test paths, -k, -m ...)")
    parser.set_defaults(func=handle)


def _run_pytest(
    index: int, total: int, output: Path, scratch: Path, args: argparse.Namespace, extra: list[str]
) -> None:
    import contextlib
    import sys
    from pathlib import Path

    from greencode.errors import GreencodeError, StoreError
    from greencode.pytest_process import measuring_command, measuring_environment, run_pytest
    from greencode.results_file import load_results

    # as greencode ab's sides: the runs' history goes to the scratch directory and the step summary stays
    # the user's, so calibrating adds no A/A runs to either
    command = measuring_command([*extra, "-q"], output, meter=args.meter)
    env = measuring_environment(scratch, Path(args.config) if args.config else None)
    print(f"greencode calibrate: run {index} of {total}: {' '.join(command[3:])}", file=sys.stderr)
    run = run_pytest(command, output, env=env)
    gate_failed = False
    # no results, or damaged ones: the run failed for another reason than greencode's own check
    with contextlib.suppress(StoreError):
        gate_failed = bool((load_results(output).gate or {}).get("failed"))
    # exit 1 is fine when only greencode's own check (a budget) failed: the measurements are still valid
    if run.exit_code not in (0, 1) or (run.exit_code == 1 and not gate_failed):
        completed = run.completed
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
        raise GreencodeError(
            f"pytest failed in run {index} (exit {run.exit_code}); calibrate needs a passing suite:\n{tail}"
        )


def handle(args: argparse.Namespace) -> int:
    import json
    import sys
    import tempfile
    from pathlib import Path

    from greencode.baselines import baseline_from_runs, write_baseline
    from greencode.calibration import calibrate
    from greencode.config import load_config
    from greencode.errors import GreencodeError
    from greencode.files import write_output
    from greencode.gate import GateSettings
    from greencode.results_file import load_results
    from greencode.units import format_percent, plural
    from greencode.vcs import vcs_state

    if args.instructions:
        from greencode.cli._instruction_calibration import handle_instructions

        return handle_instructions(args)
    if not 2 <= args.runs <= MAX_RUNS:
        raise GreencodeError(
            f"--runs {args.runs}: expected 2 to {MAX_RUNS} runs (each is a whole pytest run)"
        )
    extra = after_separator(args.pytest_args)
    config = load_config(args.config, overrides={"meter": args.meter})
    settings = GateSettings.from_config(config)
    with tempfile.TemporaryDirectory(prefix="greencode-calibrate-") as directory:
        scratch = Path(directory)
        outputs = [scratch / f"run-{i}.json" for i in range(1, args.runs + 1)]
        for index, output in enumerate(outputs, start=1):
            _run_pytest(index, args.runs, output, scratch, args, extra)
        results = [load_results(output) for output in outputs]
    try:
        calibration = calibrate([r.records for r in results], settings)
    except ValueError as exc:
        raise GreencodeError(f"cannot calibrate: {exc}") from None

    fingerprint = results[-1].fingerprint
    pct = lambda value: format_percent(value, signed=False)  # noqa: E731
    worst = max(calibration.tests, key=lambda t: t.cv)
    tests = plural(len(calibration.tests), "test")
    print(f"greencode calibrate: {calibration.runs} runs of {tests} on {fingerprint.describe()}")
    print(
        f"  run-to-run spread: typical {pct(calibration.typical_cv)}, 90th percentile "
        f"{pct(calibration.high_cv)}, largest {pct(worst.cv)} ({worst.node_id})"
    )
    print(f"  drift from the first run to the last: {format_percent(calibration.drift)} (median over tests)")
    print(
        f"  gate at fail_on {pct(settings.fail_on)}, alpha {settings.alpha:g} (Holm over {tests}) flags a "
        "typical test half the time from a true increase of"
    )
    print(
        f"    {format_percent(calibration.detectable_single)} against one saved run, "
        f"{format_percent(calibration.detectable_pooled)} against {calibration.runs} pooled runs (--save)"
    )
    print(
        f'  recommended: fail_on = "{calibration.recommended_fail_on * 100:g}%" (an unchanged test stays '
        "below it 95% of the time; a smaller threshold only adds inconclusive warnings)"
    )
    if args.json:
        write_output(args.json, json.dumps(calibration.to_dict(), indent=2, sort_keys=True) + "\n")
    if args.save:
        baseline = baseline_from_runs([r.records for r in results], fingerprint, vcs_state(config.root))
        from greencode.history.baselines import file_baseline

        path = (
            Path(args.baseline).absolute()
            if args.baseline
            else file_baseline(config, "greencode calibrate --save")
        )
        saved = write_baseline(path, baseline)
        print(f"  {saved.describe()}", file=sys.stdout)
    return 0
