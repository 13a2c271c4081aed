"""The recorded judgements behind the precision figures in docs/tactics.md stay well-formed."""

from __future__ import annotations

import csv
from pathlib import Path

from greencode.tactics.rules import RULES_BY_ID

JUDGEMENTS = Path(__file__).parents[1] / "benchmarks" / "scanner_judgements.csv"


def test_every_judgement_names_a_rule_a_location_a_verdict_and_a_reason() -> None:
    with JUDGEMENTS.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    for row in rows:
        path, _, line = row["location"].rpartition(":")
        assert row["rule"] in RULES_BY_ID and path and line.isdigit(), row
        assert row["judgement"] in ("worth", "negligible", "false positive"), row
        assert row["set"] and row["project"] and row["version"] and row["reason"], row
        assert row["output"] in ("plain", "profile", "both"), row  # which default output showed it


def test_each_finding_is_judged_once() -> None:
    with JUDGEMENTS.open(newline="", encoding="utf-8") as handle:
        keys = [(r["project"], r["location"], r["rule"]) for r in csv.DictReader(handle)]
    assert len(keys) == len(set(keys))
