"""``greencode classroom``: list the exercises, or run them all and write a report to project."""

from __future__ import annotations

import argparse
from pathlib import Path

from greencode.cli.compare import positive_int

ORDER = 70
DEFAULT_DIR = "examples/classroom"
DIR_HELP = f"default: {DEFAULT_DIR}, or the exercises shipped with greencode where there is none"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classroom",
        help="run the classroom exercises and write a report for the class",
        description="Classroom exercises pair a wasteful and a green implementation of one task, each tied "
        "to a tactic. 'list' shows them; 'run' measures every exercise and writes one report.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    listing = commands.add_parser("list", help="list the exercises in DIR", description="List the exercises.")
    listing.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR", help=DIR_HELP)
    listing.set_defaults(func=handle_list)

    run = commands.add_parser(
        "run",
        help="run every exercise in DIR and write a Markdown or HTML report",
        description="Compare the wasteful and green implementation of every exercise in DIR (interleaved "
        "rounds, results checked for equality) and write one report with a leaderboard per exercise. "
        "Works offline; plots need matplotlib (pip install 'greencode[plot]').",
        epilog="Example: greencode classroom run examples/classroom --output lesson.html",
    )
    run.add_argument("directory", nargs="?", default=DEFAULT_DIR, metavar="DIR", help=DIR_HELP)
    run.add_argument(
        "--output",
        "-o",
        default="classroom-report.md",
        metavar="FILE",
        help="report to write, .md or .html (default: classroom-report.md)",
    )
    rounds = run.add_mutually_exclusive_group()
    rounds.add_argument("--rounds", type=positive_int, metavar="N", help="rounds per implementation")
    rounds.add_argument(
        "--quick", action="store_true", help="the fewest rounds that still interleave (a test run)"
    )
    run.add_argument("--meter", help="meter(s) to use: auto (default), rapl, nvml, estimate or a comma list")
    run.set_defaults(func=handle_run)
    init = commands.add_parser(
        "init",
        help="copy greencode's exercises into DIR, to run, change or hand out",
        description="Copy the exercises shipped with greencode (each a wasteful and a green implementation "
        "of one task, with its tests) into DIR, which must be new or empty.",
        epilog="Example: greencode classroom init lesson && greencode classroom run lesson",
    )
    init.add_argument("directory", metavar="DIR", help="where to put the exercises (new or empty)")
    init.set_defaults(func=handle_init)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _exercises(directory: str) -> Path:
    """DIR as given; the default, when it is not here, means the exercises shipped with greencode."""
    from greencode.classroom.packaged import exercises_dir

    path = Path(directory)
    if directory == DEFAULT_DIR and not path.is_dir():
        return exercises_dir()
    return path


def handle_init(args: argparse.Namespace) -> int:
    from greencode.classroom.packaged import init

    written = init(Path(args.directory))
    print(f"{len(written)} exercises copied into {args.directory}:")
    for directory in written:
        print(f"  {directory.name}")
    print(f"Run them with: greencode classroom run {args.directory}")
    return 0


def handle_list(args: argparse.Namespace) -> int:
    from greencode.classroom import discover
    from greencode.tactics.catalogue import get_tactic

    for exercise in discover(_exercises(args.directory)):
        print(f"{exercise.name:<20} {exercise.tactic}  {exercise.title}")
        print(f"{'':<20} {'':<8}  tactic: {get_tactic(exercise.tactic).name}")
    return 0


def handle_run(args: argparse.Namespace) -> int:
    import sys

    from greencode.classroom import Exercise, discover
    from greencode.classroom.report import report_kind, write_report
    from greencode.classroom.runner import QUICK_ROUNDS, run_lesson
    from greencode.compare import format_ratio

    output = Path(args.output)
    report_kind(output)  # a report that cannot be written is said before the lesson runs
    exercises = discover(_exercises(args.directory))

    def progress(index: int, exercise: Exercise) -> None:
        print(f"[{index}/{len(exercises)}] {exercise.name}: {exercise.title}", file=sys.stderr, flush=True)

    lesson = run_lesson(
        exercises, rounds=QUICK_ROUNDS if args.quick else args.rounds, meter=args.meter, progress=progress
    )
    write_report(lesson, output)
    for result in lesson.results:
        saving = result.saving
        outcome = (
            f"error: {result.error}"
            if saving is None
            else f"wasteful ÷ green = {format_ratio(saving.estimate)}"
        )
        print(f"{result.exercise.name:<20} {result.exercise.tactic}  {outcome}")
    if any(c.estimated for c in lesson.rankings):
        print("The figures are estimates (no energy counter here); the report says what they are based on.")
    print(f"Report written to {output}")
    return 1 if lesson.failed else 0
