"""``greencode scan [PATHS...]``: find code where a green software tactic applies."""

from __future__ import annotations

import argparse

from greencode.cli import add_config_option

ORDER = 61


def _rule_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="find code where a green software tactic applies",
        description="Scan Python files for patterns that waste energy (a list searched in a loop, a string "
        "built with +=, polling with sleep, ...). Each finding names its rule, the tactic that fixes it and "
        "what to do instead. Exit status: 0 no findings, 1 findings, 2 usage error. Silence a line with "
        "'# greencode: ignore[RULE]'; choose rules and excluded paths in [tool.greencode.scan].",
        epilog="Examples: greencode scan src; greencode scan --select GRN001,GT-WT --format sarif "
        "--output greencode.sarif",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="report format")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE, not standard output")
    parser.add_argument(
        "--select",
        type=_rule_list,
        action="append",
        metavar="RULES",
        help="comma-separated rule IDs, prefixes or tactic IDs to run (replaces scan.select)",
    )
    parser.add_argument(
        "--ignore",
        type=_rule_list,
        action="append",
        metavar="RULES",
        help="comma-separated rule IDs, prefixes or tactic IDs to skip (adds to scan.ignore)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="processes for large scans (default 0: one per CPU; 1: none)",
    )
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    add_config_option(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from greencode.config import load_config
    from greencode.errors import ConfigError
    from greencode.files import write_output
    from greencode.tactics.rules import RULES
    from greencode.tactics.sarif import to_sarif
    from greencode.tactics.scanner import scan_paths

    if args.list_rules:
        for rule in RULES:
            print(f"{rule.id}  {rule.tactic}  {rule.name}: {rule.title}")
        return 0
    if args.jobs < 0:
        raise ConfigError(f"--jobs {args.jobs}: expected 0 (one process per CPU) or a positive number")
    config = load_config(args.config)
    select = [s for group in args.select for s in group] if args.select else None
    ignore = [s for group in args.ignore or () for s in group]
    report = scan_paths(args.paths or ["."], config, select=select, ignore=ignore, jobs=args.jobs)

    if args.format == "sarif":
        text = json.dumps(to_sarif(report, Path.cwd()), indent=2, ensure_ascii=False) + "\n"
    elif args.format == "json":
        text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = "".join(f"{finding}\n" for finding in report.findings)
    if args.output:
        write_output(args.output, text)
    else:
        sys.stdout.write(text)
    for skipped in report.skipped:
        print(f"greencode scan: {skipped}", file=sys.stderr)
    hint = "; explain a tactic with 'greencode tactics show ID'" if report.findings else ""
    print(f"greencode scan: {report.summary()}{hint}", file=sys.stderr)
    return 1 if report.findings else 0
