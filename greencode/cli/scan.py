"""``greencode scan [PATHS...]``: find code where a green software tactic applies."""

from __future__ import annotations

import argparse
import math

from greencode.cli import add_config_option, path_argument

ORDER = 61


def _rule_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage from 0 to 100 (e.g. 1 for 1 %)")
    return value / 100


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="find code where a green software tactic applies",
        description="Scan Python files for patterns that waste energy (a list searched in a loop, a "
        "string built with +=, polling with sleep, ...). Each finding names its rule, the tactic that fixes "
        "it, what to do instead, and its impact (high/medium/low, from where the code runs) and confidence. "
        "By default only findings that can matter are shown and test files are left out. Exit status: "
        "0 no findings, 1 findings (or malformed suppression comments), 2 usage error, 3 no findings but "
        "some files could not be scanned. Silence a finding with '# greencode: ignore[RULE]' on the line "
        "it names; choose rules and excluded paths in [tool.greencode.scan].",
        epilog="Examples: greencode scan src; greencode scan --all --include-tests .; greencode scan "
        "--profile prof.out src; greencode scan --select GRN001,GT-WT --format sarif --output x.sarif",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="report format")
    parser.add_argument(
        "--output",
        "-o",
        type=path_argument,
        metavar="FILE",
        help="write the report to FILE, not standard output",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        dest="everything",
        help="show every finding, also those of low impact or confidence",
    )
    parser.add_argument(
        "--include-tests",
        action="store_true",
        help="also scan test files and fixtures found in directories (test_*.py, tests/, fixtures/, ...)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        action="append",
        help="rank findings by measured cost: a cProfile/pstats file, a line_profiler file (kernprof -l; "
        "each finding's own line), a greencode results JSON (pytest --greencode-json), a history database, "
        "or a per-function cost JSON (see docs/tactics.md)",
    )
    parser.add_argument(
        "--min-share",
        type=_percent,
        metavar="PERCENT",
        help="with --profile: leave to --all the findings whose measured share is under PERCENT (code "
        "measured idle included; unmeasured code keeps the default rule). For a profile of real use, "
        "not of a test suite (docs/tactics.md)",
    )
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
        help="processes for large scans (default 0: one per CPU; 1: none; at most 64 or one per CPU)",
    )
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    add_config_option(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from greencode.config import load_config
    from greencode.files import write_output
    from greencode.tactics.rules import RULES
    from greencode.tactics.sarif import to_sarif
    from greencode.tactics.scanner import check_jobs, rank, scan_paths

    if args.list_rules:
        for rule in RULES:
            print(f"{rule.id}  {rule.tactic}  {rule.name}: {rule.title}")
        return 0
    if args.min_share is not None and not args.profile:
        print("greencode scan: --min-share needs --profile FILE: a share is measured", file=sys.stderr)
        return 2
    check_jobs(args.jobs)
    config = load_config(args.config)
    select = [s for group in args.select for s in group] if args.select else None
    ignore = [s for group in args.ignore or () for s in group]
    report = scan_paths(
        args.paths or ["."],
        config,
        select=select,
        ignore=ignore,
        jobs=args.jobs,
        include_tests=args.include_tests,
    )
    if args.profile:
        from greencode.tactics.hotness import load_profiles

        report = rank(report, load_profiles([Path(p) for p in args.profile]).cost_of, args.min_share)

    everything = args.everything
    if args.format == "sarif":
        sarif = to_sarif(report, Path.cwd(), everything=everything)
        text = json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "json":
        text = json.dumps(report.to_dict(everything), indent=2, ensure_ascii=False) + "\n"
    else:
        text = "".join(f"{finding}\n" for finding in report.shown(everything))
    if args.output:
        write_output(args.output, text)
    else:
        sys.stdout.write(text)
    for skipped in report.skipped:
        print(f"greencode scan: {skipped}", file=sys.stderr)
    for malformed in report.malformed:
        print(f"greencode scan: {malformed}", file=sys.stderr)
    hint = "; explain a tactic with 'greencode tactics show ID'" if report.shown(everything) else ""
    print(f"greencode scan: {report.summary(everything)}{hint}", file=sys.stderr)
    return report.exit_status(everything)
