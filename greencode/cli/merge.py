"""``greencode merge A.json B.json ... -o all.json``: combine the results of a sharded suite into one file.

Each parallel job writes ``pytest --greencode --greencode-json shard-N.json``; the merged file gates the whole
suite with ``greencode report all.json --fail-on 10%`` (or ``greencode gate``), with the same verdict as one
job running every test. Shards of different meters or kinds of machine are refused unless
``--allow-mixed``; shards of different commits, or a test in two shards, always are.
"""

from __future__ import annotations

import argparse

ORDER = 52


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="combine the results JSON files of a sharded suite into one",
        description="Combine results files written by pytest --greencode-json in parallel jobs into one "
        "results file, to report or gate the whole suite at once.",
        epilog="Example: greencode merge shard-*.json -o all.json; greencode report all.json --fail-on 10%",
    )
    parser.add_argument("inputs", nargs="+", metavar="RESULTS", help="results files of the shards")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="where to write the merged file"
    )
    parser.add_argument(
        "--allow-mixed",
        action="store_true",
        help="merge shards measured with different meters or on different kinds of machine",
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from greencode.merge import merge_results
    from greencode.results_file import write_results

    merged = merge_results([Path(p) for p in args.inputs], allow_mixed=args.allow_mixed)
    write_results(Path(args.output), merged.document)
    print(
        f"greencode: merged {merged.tests} tests from {len(merged.shards)} file(s) into {args.output}",
        file=sys.stderr,
    )
    return 0
