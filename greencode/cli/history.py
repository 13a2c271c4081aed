"""``greencode history``: the history database — list runs, copy runs between databases, migrate.

LOCATION is a SQLite path or a ``postgresql://`` URL; without one, the configured ``history``.

- ``greencode history runs [LOCATION] [--limit N]`` lists stored runs, newest last (``+dirty`` marks a run
  on a work tree with uncommitted changes);
- ``greencode history copy SRC DST`` copies every run of SRC into DST (e.g. a local SQLite history into the
  team's PostgreSQL database); runs already in DST are left as they are, so copying again is harmless;
- ``greencode history migrate [LOCATION]`` creates the schema, or brings it to this greencode's version.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from greencode.cli import add_config_option

if TYPE_CHECKING:
    from pathlib import Path

ORDER = 55


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list, copy or migrate the history database (SQLite file or postgresql:// URL)",
        description="Work with the history database. LOCATION is a SQLite path or a postgresql:// URL; "
        "without one, the configured 'history' (GREENCODE_HISTORY).",
        epilog="Example: greencode history copy .greencode/history.sqlite postgresql://ci@db.example/energy",
    )
    commands = parser.add_subparsers(title="actions", metavar="ACTION")

    runs = commands.add_parser("runs", help="list stored runs, newest last")
    runs.add_argument("location", nargs="?", metavar="LOCATION", help="database (default: 'history')")
    runs.add_argument("--limit", type=_positive, default=20, metavar="N", help="newest N runs (default 20)")
    add_config_option(runs)
    runs.set_defaults(func=_runs)

    copy = commands.add_parser("copy", help="copy every run of SRC into DST (runs already there are kept)")
    copy.add_argument("source", metavar="SRC", help="database to read")
    copy.add_argument("target", metavar="DST", help="database to add the runs to (created if need be)")
    copy.set_defaults(func=_copy)

    migrate = commands.add_parser("migrate", help="create the schema or bring it to this version")
    migrate.add_argument("location", nargs="?", metavar="LOCATION", help="database (default: 'history')")
    add_config_option(migrate)
    migrate.set_defaults(func=_migrate)
    parser.set_defaults(func=lambda args: _usage(parser))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    from greencode.cli import EXIT_USAGE

    parser.print_help()
    return EXIT_USAGE


def _location(text: str | None, args: argparse.Namespace) -> Path | str:
    from greencode.config import ConfigError, load_config, parse_history_location

    if text is None:
        return load_config(getattr(args, "config", None)).history_location()
    try:
        return parse_history_location(text)
    except ValueError as exc:
        raise ConfigError(f"{text!r}: {exc}") from None


def _runs(args: argparse.Namespace) -> int:
    import time

    from greencode.history import History

    with History(_location(args.location, args)) as history:
        runs = history.runs(limit=args.limit)
        name = history.name
    if not runs:
        print(f"{name}: no runs stored yet")
        return 0
    for run in runs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started))
        commit = (run.commit or "-")[:12] + (" +dirty" if run.dirty else "")
        verdict = "failed" if run.failed else "ok"
        print(
            f"{run.run_id}  {when}  {run.branch or '-'}  {commit}  {run.meter}  {run.tests} tests  {verdict}"
        )
    return 0


def _copy(args: argparse.Namespace) -> int:
    from greencode.errors import StoreError
    from greencode.history import History

    location = _location(args.source, args)
    if not isinstance(location, str) and not location.exists():
        raise StoreError(f"{location}: no such history database to copy from")
    with History(location) as source, History(_location(args.target, args)) as target:
        copied, kept = source.copy_into(target)
        print(f"greencode: copied {copied} run(s) from {source.name} to {target.name} ({kept} already there)")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from greencode.history import History
    from greencode.history.schema import SCHEMA_VERSION

    with History(_location(args.location, args)) as history:
        before = history.migrate()
        state = (
            "created"
            if before == 0
            else "already current"
            if before == SCHEMA_VERSION
            else f"migrated from version {before}"
        )
        print(f"greencode: {history.name}: schema version {SCHEMA_VERSION} ({state})")
    return 0
