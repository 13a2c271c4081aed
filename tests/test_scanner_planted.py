"""Recall on planted anti-patterns (issue 13: at least 85 % caught) and silence on their clean twins."""

from __future__ import annotations

import pytest
from scanner_planted.pairs import PAIRS, Planted

from greencode.tactics.scanner import scan_source

RECALL_TARGET = 0.85


def caught(pair: Planted) -> bool:
    return pair.rule in {f.rule for f in scan_source(pair.wasteful, "pkg/module.py")}


def test_at_least_85_percent_of_the_planted_anti_patterns_are_caught() -> None:
    missed = [pair.name for pair in PAIRS if not caught(pair)]
    recall = 1 - len(missed) / len(PAIRS)
    assert recall >= RECALL_TARGET, f"recall {recall:.0%}; missed: {missed}"


def test_the_planted_set_is_broad() -> None:
    assert len(PAIRS) >= 40 and len({p.rule for p in PAIRS}) >= 35


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_clean_twin_has_no_findings(pair: Planted) -> None:
    assert scan_source(pair.clean, "pkg/module.py") == []
