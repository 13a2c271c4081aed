"""``greencode valgrind -- CMD ARGS...``: run a command under callgrind for the ``instructions`` meter."""

from __future__ import annotations

import argparse

from greencode.cli import add_command_argument, add_config_option, command_of

ORDER = 25


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "valgrind",
        help="run a command under callgrind, so that the instructions meter counts inside it",
        description="Run CMD under valgrind --tool=callgrind --collect-atstart=no, with PYTHONHASHSEED=0 "
        "and PYTHONMALLOC=malloc (unless set), address-space randomisation off where setarch allows, and a "
        "private directory for callgrind's "
        "dumps (removed afterwards). Inside CMD, measure() windows and pytest --greencode-meter instructions "
        "count instructions exactly. Exits with CMD's exit code.",
        epilog="Example: greencode valgrind -- pytest --greencode --greencode-meter instructions",
    )
    parser.add_argument(
        "--children",
        action="store_true",
        help="run the processes CMD starts under callgrind too (pytest -n N workers need it)",
    )
    add_config_option(parser)
    add_command_argument(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from greencode.config import load_config
    from greencode.meters.instructions_launch import launch_under_callgrind

    command = command_of(args, "greencode valgrind [--children] -- CMD ARGS...")
    config = load_config(args.config)
    return launch_under_callgrind(command, config, follow_children=args.children)
