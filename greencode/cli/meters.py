"""``greencode meters``: every known meter, whether it works here and why, and what ``auto`` picks."""

from __future__ import annotations

import argparse
import json

from greencode.cli import add_config_option

ORDER = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "meters",
        help="list energy meters, whether they work on this machine and why",
        description="List every known energy meter (built-in and third-party), whether it works on this "
        "machine and why not, and which meters a measurement uses with the current configuration.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_config_option(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from greencode.config import load_config
    from greencode.errors import MeterUnavailable
    from greencode.meters import meter_status, select_meters

    config = load_config(args.config)
    statuses = meter_status(config)
    try:
        selection = select_meters(config)
        in_use, reasons = selection.name, list(selection.reasons)
        selection.close()
    except MeterUnavailable as exc:
        in_use, reasons = None, [str(exc)]
    if args.json:
        print(
            json.dumps(
                {
                    "meters": [
                        {
                            "name": status.name,
                            "available": status.available,
                            "reason": status.reason,
                            "notes": list(status.notes),
                            "domains": [
                                {"name": d.name, "source": d.source, "estimated": d.estimated}
                                for d in status.domains
                            ],
                        }
                        for status in statuses
                    ],
                    "configured": config.meter,
                    "in_use": in_use,
                    "reasons": reasons,
                },
                indent=2,
            )
        )
        return 0 if in_use else 2
    width = max(len(status.name) for status in statuses) if statuses else 5
    for status in statuses:
        mark = "available  " if status.available else "unavailable"
        print(f"{status.name:<{width}}  {mark}  ", end="")
        if status.available:
            print(
                ("\n" + " " * (width + 15)).join(f"{d.name}: {d.source}" for d in status.domains)
                or "(no domains)"
            )
        else:
            print(status.reason)
        for note in status.notes:
            print(" " * (width + 15) + f"note: {note}")
    print()
    if in_use:
        print(f"meter = {config.meter!r} ({config.origin('meter')}) uses: {in_use}")
    for reason in reasons:
        print(f"  {reason}")
    return 0 if in_use else 2
