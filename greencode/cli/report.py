"""``greencode report INPUT``: render stored results as text, Markdown, JSON, CSV or HTML, plot them, gate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from greencode.cli import add_config_option, path_argument, with_fail_on

if TYPE_CHECKING:
    from greencode.report import Report

ORDER = 50
_SUFFIX_FORMATS = {
    ".txt": "text",
    ".md": "md",
    ".markdown": "md",
    ".json": "json",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
}
PLOT_KINDS = ("tests", "domains", "history")
#: Other names users give the formats (``--format markdown``), each taken for the format it names.
FORMAT_ALIASES = {"markdown": "md", "txt": "text", "htm": "html"}


def format_argument(value: str) -> str:
    """An argparse ``type`` for ``--format``: the format's name in any case, or one of its aliases."""
    name = value.strip().lower()
    return FORMAT_ALIASES.get(name, name)


def register(subparsers: argparse._SubParsersAction) -> None:
    from greencode.report import FORMATS

    parser = subparsers.add_parser(
        "report",
        help="report stored results with CO2e and SCI, as text, Markdown, JSON, CSV or HTML",
        description="Read a results file (pytest --greencode-json, greencode run --json, a report JSON) or "
        "the history database and report energy with CO2e and SCI next to it. With --fail-on, exit 1 when a "
        "test regressed by more than the threshold against its baseline. --compare A B puts two saved runs "
        "side by side.",
        epilog="Examples: greencode report results.json --format md >> $GITHUB_STEP_SUMMARY; "
        "greencode report .greencode/history.sqlite --format html --output energy.html; "
        "greencode report --compare before-cache after-cache --fail-on 5%",
    )
    parser.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="results JSON or history database (default: the configured history, .greencode/history.sqlite)",
    )
    parser.add_argument(
        "--format",
        type=format_argument,
        choices=FORMATS,
        help="output format: text, md (or markdown), json, csv or html (default: from the --output suffix, "
        "else text)",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=path_argument,
        metavar="PATH",
        help="write the report to PATH instead of stdout",
    )
    parser.add_argument(
        "--plot", type=path_argument, metavar="PATH", help="also draw a plot to PATH (.png or .svg)"
    )
    parser.add_argument(
        "--plot-kind",
        choices=PLOT_KINDS,
        default="tests",
        help="what --plot draws: per-test bars vs baseline (default), energy by domain, or the history trend",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="compare run B with run A (each a saved run's name, from --greencode-save=NAME, or a results "
        "file): B's report with each test's change against A",
    )
    parser.add_argument(
        "--fail-on",
        metavar="PCT",
        help="exit 1 when a result regressed by more than PCT (e.g. 10%%) against its baseline",
    )
    add_config_option(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys

    from greencode.config import is_history_url, load_config
    from greencode.errors import GreencodeError
    from greencode.files import is_stdout, write_output
    from greencode.report import load_report, render

    config = with_fail_on(load_config(args.config), args.fail_on)
    gating = args.fail_on is not None
    source: Path | str = config.history_location()
    if args.input:
        source = args.input if is_history_url(args.input) else Path(args.input)
    gate = None
    if args.compare:
        from greencode.report.gating import gate_runs, with_gate
        from greencode.runs import find_run

        if args.input:
            raise GreencodeError("give either INPUT or --compare A B, not both")
        base, source = (find_run(config, name) for name in args.compare)
        report = load_report(source, config.carbon)
        gate = gate_runs(base, source, config)
        report = with_gate(report, gate)
        if not gating:  # without --fail-on the comparison informs; it fails nothing
            gate = None
    else:
        report = load_report(source, config.carbon)
    if gating and not args.compare:
        from greencode.report.gating import gate_input, with_gate

        gate = gate_input(source, config)
        report = with_gate(report, gate)

    fmt = args.format or (
        _SUFFIX_FORMATS.get(Path(args.output).suffix.lower(), "text") if args.output else "text"
    )
    text = render(report, fmt)
    if args.plot:  # first: a plot that cannot be drawn stops the command before it writes anything else
        _plot(report, args.plot_kind, Path(args.plot))
        print(f"greencode: wrote {args.plot_kind} plot to {args.plot}", file=sys.stderr)
    if args.output and not is_stdout(args.output):
        write_output(args.output, text)
        print(f"greencode: wrote {fmt} report to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if gate is not None:
        print(f"greencode: gate ({config.fail_on}): {gate.summary()}", file=sys.stderr)
        return gate.exit_code
    return 0


def _plot(report: Report, kind: str, path: Path) -> None:
    from greencode.errors import GreencodeError
    from greencode.report import plots

    plots.image_format(path)
    if kind == "history":
        if not report.history:
            raise GreencodeError(
                f"{report.source}: no history to plot; --plot-kind history needs the history database"
            )
        plots.plot_history(report.history, path)
    elif kind == "domains":
        try:
            plots.plot_domains(report.tests, path)
        except GreencodeError as exc:
            raise GreencodeError(f"{report.source}: {exc}") from None
    else:
        intensity = report.tests[0].intensity if len(report.intensities) == 1 else None
        plots.plot_comparison(report.tests, path, intensity=intensity, pue=report.carbon.pue)
