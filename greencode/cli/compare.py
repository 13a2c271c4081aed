"""``greencode compare A B [C ...]``: rank implementations of one task by energy per call.

With no candidates it runs the built-in demo (membership in a list vs a set), the Quickstart's first command.
"""

from __future__ import annotations

import argparse

from greencode.cli import add_json_option, path_argument

ORDER = 30


def positive_int(text: str) -> int:
    """argparse type for counts such as ``--rounds``."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="rank implementations of the same task by energy per call",
        description="Measure two or more functions that do the same job, in interleaved rounds so that "
        "drift hits them alike, and rank them by energy per call with the ratio to the best and an "
        "interval. Each candidate is module:function or path/to/file.py:function and is called with no "
        "arguments. With no candidates, runs a built-in demo (membership in a list vs a set).",
        epilog="Example: greencode compare search.py:linear search.py:bisect --check-equal --plot board.png",
    )
    parser.add_argument(
        "candidates", nargs="*", metavar="CANDIDATE", help="module:function or path/to/file.py:function"
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        metavar="N",
        help="rounds per candidate, rounded up to whole balanced cycles (default: configured rounds)",
    )
    parser.add_argument(
        "--check-equal", action="store_true", help="first check that every candidate returns an equal result"
    )
    parser.add_argument(
        "--plot", type=path_argument, metavar="FILE", help="draw the leaderboard to FILE (.png or .svg)"
    )
    add_json_option(parser, "the results")
    parser.add_argument(
        "--meter", help="meter(s) to use: auto (default), rapl, nvml, estimate or a comma list"
    )
    parser.set_defaults(func=handle)


def _under_callgrind(meter: str) -> int | None:
    """With the instructions meter and no hardware counters, this same command run again under callgrind,
    as ``pytest --greencode-meter instructions`` does: its exit status; None to measure in this process."""
    import dataclasses
    import sys

    from greencode.config import load_config
    from greencode.errors import GreencodeError
    from greencode.meters.instructions_launch import launch_under_callgrind, needs_callgrind

    config = dataclasses.replace(load_config(None), meter=meter)
    if not needs_callgrind(config):
        return None
    if sys.argv[1:2] != ["compare"]:  # called from other code: this process's command line is not ours
        raise GreencodeError(
            "the instructions meter needs callgrind here: greencode valgrind -- greencode compare ..."
        )
    return launch_under_callgrind([sys.executable, "-m", "greencode", *sys.argv[1:]], config)


def handle(args: argparse.Namespace) -> int:
    import json
    import os
    import sys
    from pathlib import Path

    from greencode.compare import load_candidate, rank, render_text
    from greencode.errors import GreencodeError
    from greencode.files import write_output
    from greencode.report.leaderboard import plot, require_plotting

    if len(args.candidates) == 1:
        raise GreencodeError("give two or more candidates to compare, or none for the built-in demo")
    if args.plot:
        require_plotting(Path(args.plot))  # before spending time measuring
    # like `python -m`: modules in the current directory can be named
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())

    title, specs, check = "greencode compare", args.candidates, args.check_equal
    if not specs:
        from greencode.classroom import demo
        from greencode.tactics.catalogue import get_tactic

        title, specs, check = f"{demo.TITLE} ({demo.TACTIC})", list(demo.CANDIDATES), True
        print(
            f"No candidates given: running the built-in demo. {demo.TITLE} "
            f"(tactic {demo.TACTIC}: {get_tactic(demo.TACTIC).name})"
        )
    status = _under_callgrind(args.meter) if args.meter else None
    if status is not None:
        return status
    candidates = [load_candidate(spec) for spec in specs]
    print(f"Measuring {len(candidates)} candidates in interleaved rounds...", file=sys.stderr, flush=True)
    ranking = rank(candidates, rounds=args.rounds, meter=args.meter, check_results=check)
    print(render_text(ranking))
    if not args.candidates:
        print("\nCompare your own: greencode compare mymodule:slow mymodule:fast --check-equal")
    if args.json:
        write_output(args.json, json.dumps(ranking.to_dict(), indent=2) + "\n")
    if args.plot:
        plot(ranking, Path(args.plot), title=title)
    return 0
