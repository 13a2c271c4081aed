"""``greencode gate RESULTS... [--fail-on PCT]``: the regression gate on stored results, one or many shards.

The results files (``pytest --greencode-json``) are merged as ``greencode merge`` does, then compared with the
configured baseline exactly as ``pytest --greencode-compare`` would have in one job: exit 1 when the gate or
a budget fails, 0 otherwise. ``greencode report FILE --fail-on PCT`` gives the same verdict with the full
report; this command prints only the decision.
"""

from __future__ import annotations

import argparse

from greencode.cli import add_config_option, with_fail_on

ORDER = 53


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gate",
        help="gate stored results (one file or the shards of a suite) against the baseline",
        description="Merge the given results files (the shards of one suite) and compare them with the "
        "configured baseline; exit 1 on a significant regression or a budget overrun.",
        epilog="Example: greencode gate shard-1.json shard-2.json --fail-on 10%",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="RESULTS", help="results files (pytest --greencode-json)"
    )
    parser.add_argument("--fail-on", metavar="PCT", help="threshold, e.g. 10%% (default: the 'fail_on' key)")
    parser.add_argument(
        "--allow-mixed", action="store_true", help="accept shards of different meters or machines"
    )
    add_config_option(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from greencode.config import load_config
    from greencode.fingerprint import Fingerprint
    from greencode.merge import merge_results
    from greencode.records import TestRecord
    from greencode.report.gating import baseline_note, gate_records, marker_budgets, run_judging
    from greencode.units import plural

    config = with_fail_on(load_config(args.config), args.fail_on)
    merged = merge_results([Path(p) for p in args.inputs], allow_mixed=args.allow_mixed)
    records = [TestRecord.from_dict(t) for t in merged.document["tests"]]
    fingerprint = Fingerprint.from_dict(merged.document["fingerprint"])
    budgets = marker_budgets(Path(args.inputs[0]), merged.document["gate"] or {})
    judged = run_judging(args.inputs[0], merged.document.get("settings"))
    gate = gate_records(records, fingerprint, config, budgets, judged)
    missing = baseline_note(gate)
    if missing:  # else a gate that compared with nothing would read as passed, and nothing more
        print(f"{'note' if config.on_missing_baseline == 'ignore' else 'warning'}: {missing}")
    for note in gate.notes:
        print(f"note: {note}")
    for comparison in gate.regressions:
        print(f"regression: {comparison.node_id}: {comparison.reason}")
    for budget in gate.over_budget:
        over = f"{budget.measured_j:.4g} J > {budget.budget_j:.4g} J per {budget.per}"
        print(f"over budget: {budget.node_id}: {over}")
    for line in gate.suite_lines():
        print(line)
    scope = f"{plural(merged.tests, 'test')} from {plural(len(merged.shards), 'file')}"
    print(f"greencode: gate ({config.fail_on}) on {scope}: {gate.summary()}")
    return gate.exit_code
