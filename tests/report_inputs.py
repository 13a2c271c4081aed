"""Stored inputs for the report tests: results files, history databases, baselines and run files.

They are written with greencode's own store functions, so the report tests follow the real formats; only
:func:`sqlite_file` writes what greencode would not (a foreign or damaged database).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from greencode.baselines import save_baseline
from greencode.fingerprint import Fingerprint
from greencode.history import History
from greencode.records import TestRecord
from greencode.results_file import RunInfo, results_document, write_results
from greencode.vcs import VcsState

FINGERPRINT = Fingerprint("AMD EPYC", 2, "estimate", ("cpu",), True)
STARTED = 1_700_000_000.0


def record(node_id: str, joules: float, spread: float = 0.02, per: str = "test") -> TestRecord:
    """Seven samples around ``joules`` (±``spread`` relative)."""
    samples = tuple(joules * (1 + spread * (i - 3) / 3) for i in range(7))
    return TestRecord(
        node_id,
        per,
        samples,
        wall_s=0.05,
        cpu_s=0.04,
        meter="estimate",
        estimated=True,
        provenance={"cpu": "estimated: CPU time x 2 W/thread"},
    )


def run_info(number: int = 0, commit: str = "a" * 40) -> RunInfo:
    started = STARTED + 3600 * number
    return RunInfo(f"run-{number}", started, started + 10, VcsState(commit, "main", False), "estimate", True)


def write_results_file(
    path: Path,
    energies: Mapping[str, float],
    gate: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> Path:
    records = [record(node_id, joules) for node_id, joules in energies.items()]
    document = results_document(run_info(), FINGERPRINT, records, settings={}, gate=gate, warnings=warnings)
    write_results(path, document)
    return path


def write_baseline(path: Path, energies: Mapping[str, float]) -> Path:
    save_baseline(path, [record(n, j) for n, j in energies.items()], FINGERPRINT, None)
    return path


def sqlite_file(path: Path, *statements: str, parameters: Sequence[object] = ()) -> Path:
    """``path`` after ``statements`` ran on it as one committed transaction (``parameters`` go with the
    last one)."""
    connection = sqlite3.connect(path)
    try:
        for statement in statements[:-1]:
            connection.execute(statement)
        connection.execute(statements[-1], parameters)
        connection.commit()
    finally:
        connection.close()
    return path


def write_history(path: Path | str, runs: Sequence[Mapping[str, float]]) -> Path | str:
    with History(path) as history:
        for number, energies in enumerate(runs):
            records = [record(node_id, joules) for node_id, joules in energies.items()]
            verdicts = {node_id: ("unchanged", 0.01) for node_id in energies}
            history.append(run_info(number, commit=f"{number:x}" * 40), FINGERPRINT, records, verdicts)
    return path


def write_run_file(path: Path, joules: float = 0.5, domains: Mapping[str, float] | None = None) -> Path:
    """What ``greencode run --json`` writes."""
    data = {
        "label": "python -m build",
        "energy_j": joules,
        "wall_s": 2.0,
        "cpu_s": 1.5,
        "power_w": joules / 2.0,
        "estimated": True,
        "meter": "estimate",
        "domains": dict(domains or {"cpu": joules}),
        "provenance": {"cpu": "estimated: test"},
        "started_at": STARTED,
        "co2e_g": 0.0,
        "intensity": "irrelevant",
        "warnings": ["a warning from the meter"],
        "error": None,
        "command": ["python", "-m", "build"],
        "returncode": 0,
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
