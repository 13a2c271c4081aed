"""``greencode ab --base REF [--head REF] [options] -- [pytest args]``: gate a change in one CI job.

Measures the selected tests on base and head alternately, in pairs and a balanced order, and fails (exit 1)
on an energy regression, a test over its budget or a test failing on head but not on base — with the pytest
gate's verdicts and thresholds (:mod:`greencode.ab`, ``docs/ci.md``). Exit 2 when it cannot compare.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from greencode.cli import (
    add_config_option,
    add_json_option,
    add_pytest_arguments,
    after_separator,
    path_argument,
    with_fail_on,
)

ORDER = 45
#: The library's defaults (greencode.ab), repeated for the help text so that ``greencode --help`` need not
#: import the measuring code; a test keeps them equal.
HELP_DEFAULTS = {
    "min_pairs": 4,
    "max_pairs": 16,
    "time_budget_s": 900.0,
    "max_cost": 10.0,
    "pairs_per_process": 2,
}


def _whole(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {text!r}")
        return int(text)

    return parse


def _positive(unit: str, suffix: str) -> Callable[[str], float]:
    """A parser of a positive number of ``unit``, the ``suffix`` allowed after it (``90s``, ``8x``)."""

    def parse(text: str) -> float:
        try:
            value = float(text.rstrip(suffix))
        except ValueError:
            value = -1.0
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number of {unit}, got {text!r}")
        return value

    return parse


_seconds = _positive("seconds", "s")
_runs = _positive("runs", "x")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ab",
        help="gate a change: measure base and head in this job, interleaved, and compare per test",
        description="Check out the base in a temporary git worktree and measure the selected tests' energy "
        "on base and head alternately (base-head, head-base, ...), adding pairs only for tests still "
        "undecided. Fails (exit 1) on an energy regression, a test over its budget or a test failing on "
        "head but not on base, with the verdicts, thresholds and Holm control of the pytest gate. Head is "
        "the working tree as it is, uncommitted changes included, unless --head is given. Your working tree "
        "and index are not touched.",
        epilog="Example: greencode ab --fail-on 10% --json ab.json -- tests/perf -k 'not slow'. "
        "See docs/ci.md for GitHub Actions and GitLab CI recipes.",
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        help="the version to compare with (default: the merge base of HEAD and the "
        "default branch: GITHUB_BASE_REF, GitLab's merge-request base, origin/HEAD, main or master)",
    )
    parser.add_argument(
        "--head", metavar="REF", help="measure this commit instead of the working tree (in a second worktree)"
    )
    parser.add_argument(
        "--min-pairs",
        type=_whole(2),
        metavar="N",
        help=f"pairs every test gets (default {HELP_DEFAULTS['min_pairs']})",
    )
    parser.add_argument(
        "--max-pairs",
        type=_whole(2),
        metavar="N",
        help=f"most pairs an undecided test gets (default {HELP_DEFAULTS['max_pairs']}, or --min-pairs if "
        "larger)",
    )
    parser.add_argument(
        "--time-budget",
        type=_seconds,
        metavar="S",
        help="stop adding pairs once this many seconds are spent measuring (default "
        f"{HELP_DEFAULTS['time_budget_s']:g})",
    )
    parser.add_argument(
        "--max-cost",
        type=_runs,
        metavar="N",
        help="stop adding pairs once greencode ab, setting up included, has cost N runs of the tests, a run "
        "being an estimate of one plain pytest run of them (a side's start and collection, then its tests' "
        f"own time, as ab times them; default {HELP_DEFAULTS['max_cost']:g})",
    )
    parser.add_argument(
        "--pairs-per-process",
        type=_whole(0),
        metavar="N",
        help="pairs each process generation of a side measures before a new one, forked from the side's "
        "collected pytest, replaces it, so a bias of one process shows as noise (default "
        f"{HELP_DEFAULTS['pairs_per_process']}; 0: one process per side for every pair)",
    )
    parser.add_argument(
        "--rounds", type=_whole(1), metavar="N", help="calls per test in each run (default: the 'rounds' key)"
    )
    parser.add_argument("--meter", help="meter(s) for both sides (default: the 'meter' key)")
    parser.add_argument(
        "--fail-on",
        metavar="PCT",
        help="relative increase that fails, e.g. 10%% (default: the 'fail_on' key)",
    )
    add_json_option(parser, "the result")
    parser.add_argument(
        "--markdown", type=path_argument, metavar="FILE", help="also write the Markdown summary to FILE"
    )
    parser.add_argument(
        "--setup",
        metavar="CMD",
        help="shell command run in each temporary worktree before measuring, e.g. "
        "'python setup.py build_ext --inplace' for compiled extensions",
    )
    parser.add_argument(
        "--fresh-processes",
        action="store_true",
        help="start a new pytest process for every run of a side instead of one per side serving every "
        "pair as a pass (used by itself with xdist's -n or -p no:greencode)",
    )
    add_config_option(
        parser,
        "configuration file for greencode ab and both sides (default: each reads its nearest pyproject.toml)",
    )
    add_pytest_arguments(parser, "arguments for pytest on both sides (test paths, -k, -m ...)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from greencode.ab import DEFAULT_MAX_PAIRS, AbError, AbOptions, commit_given_as_test, run_ab
    from greencode.config import load_config
    from greencode.files import write_output
    from greencode.report import render
    from greencode.report.records import ab_report, append_step_summary

    config = with_fail_on(load_config(args.config), args.fail_on)
    pytest_args = after_separator(args.pytest_args)
    if args.pytest_args[:1] != ["--"]:
        ref = commit_given_as_test(Path.cwd(), pytest_args)
        if ref is not None:
            raise AbError(
                f"{ref!r} names a commit, not a test path: choose the versions with --base REF and "
                f"--head REF, and pass pytest's arguments after --, e.g. greencode ab --base {ref} -- tests"
            )
    given = {
        "min_pairs": args.min_pairs,
        "time_budget_s": args.time_budget,
        "max_cost": args.max_cost,
        "pairs_per_process": args.pairs_per_process,
    }
    options = AbOptions(
        **{key: value for key, value in given.items() if value is not None},
        base=args.base,
        head=args.head,
        max_pairs=args.max_pairs or max(DEFAULT_MAX_PAIRS, args.min_pairs or 0),
        rounds=args.rounds,
        meter=args.meter,
        setup=args.setup,
        pytest_args=tuple(pytest_args),
        config_file=Path(args.config) if args.config else None,
        fresh_processes=args.fresh_processes,
    )

    def progress(line: str) -> None:
        print(f"greencode ab: {line}", file=sys.stderr, flush=True)

    result = run_ab(options, config, progress=progress)
    report = ab_report(result, config.carbon)
    sys.stdout.write(render(report, "text"))
    markdown = render(report, "md")
    if args.json:
        write_output(args.json, json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    if args.markdown:
        write_output(args.markdown, markdown)
    warning = append_step_summary(markdown)
    if warning:
        print(f"greencode ab: {warning}", file=sys.stderr)
    print(f"greencode ab: {result.summary()}", file=sys.stderr)
    return result.exit_code
