"""The ``greencode`` command line.

Each sub-command lives in its own module in this package (``greencode/cli/<name>.py``) and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a handler ``(args) -> int``.
Commands are found by listing this package, so adding one is adding a file. Modules keep their heavy imports
inside the handler so that ``greencode --help`` stays fast.

Exit codes, the same for every command: 0 success; 1 the check failed (a gate, a budget, scanner findings);
2 a usage or input error, printed as one line; ``greencode run`` passes on the command's own code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from greencode.errors import GreencodeError

if TYPE_CHECKING:
    from greencode.config import Config
from greencode.version import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


CONFIG_HELP = "configuration file (default: nearest pyproject.toml)"


def path_argument(value: str) -> str:
    """An argparse ``type`` for path options: an empty path or one with a NUL character is a usage error
    now (an empty ``--json ""`` would otherwise be ignored without a word)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("empty path; name a file (or - for standard output)")
    if "\0" in value:
        raise argparse.ArgumentTypeError("a path cannot contain a NUL character")
    return value


def add_config_option(parser: argparse.ArgumentParser, help: str = CONFIG_HELP) -> None:
    """The ``--config FILE`` option every command that reads the configuration takes."""
    parser.add_argument("--config", metavar="FILE", type=path_argument, help=help)


def with_fail_on(config: Config, value: str | None) -> Config:
    """``config`` with a ``--fail-on PCT`` option's value as its ``fail_on`` (as it is without one); a value
    that is no percentage is one error line naming the option."""
    if value is None:
        return config
    from dataclasses import replace

    from greencode.config import parse_threshold

    try:
        return replace(config, fail_on=parse_threshold(value))
    except ValueError as exc:
        raise GreencodeError(f"--fail-on {value!r}: {exc}") from None


def after_separator(words: Sequence[str]) -> list[str]:
    """What follows ``--`` in an ``argparse.REMAINDER`` argument (the separator itself is dropped)."""
    return list(words[1:]) if words[:1] == ["--"] else list(words)


def add_command_argument(parser: argparse.ArgumentParser) -> None:
    """The command a command runs, after ``--`` (read it with :func:`command_of`)."""
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")


def add_pytest_arguments(parser: argparse.ArgumentParser, help: str) -> None:
    """The arguments a command passes on to pytest, after ``--`` (read them with :func:`after_separator`)."""
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST ARGS", help=help)


def command_of(args: argparse.Namespace, usage: str) -> list[str]:
    """The command given after ``--``; a usage error showing ``usage`` when there is none."""
    command = after_separator(args.command)
    if not command:
        raise GreencodeError(f"no command given; usage: {usage}")
    return command


def add_json_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--json FILE``: also write ``what`` (the command's result) as JSON to FILE."""
    parser.add_argument(
        "--json", type=path_argument, metavar="FILE", help=f"also write {what} as JSON to FILE"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greencode",
        description="Make the energy use of Python code visible, comparable and enforceable.",
        epilog="Run 'greencode COMMAND --help' for a command's options. Docs: docs/ in the source tree.",
    )
    parser.add_argument("--version", action="version", version=f"greencode {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    modules = sorted(
        (
            importlib.import_module(f"{__name__}.{info.name}")
            for info in pkgutil.iter_modules(__path__)
            if not info.name.startswith("_")
        ),
        key=lambda module: (getattr(module, "ORDER", 50), module.__name__),
    )
    for module in modules:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except GreencodeError as exc:
        print(f"greencode: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # the system refused something no command anticipated (too many open files, no memory for a
        # process): one line that names it, like every other error, rather than a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"greencode: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("greencode: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
