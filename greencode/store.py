"""The documented library API of stored measurements (``docs/pytest.md``), kept in one import for other
tools: records (:mod:`greencode.records`), the machine fingerprint (:mod:`greencode.fingerprint`),
baselines (:mod:`greencode.baselines`) and results files (:mod:`greencode.results_file`). greencode
itself imports those modules.
"""

from greencode.baselines import (
    Baseline,
    baseline_from_runs,
    load_baseline,
    merge_baseline,
    save_baseline,
    write_baseline,
)
from greencode.fingerprint import Fingerprint, detect_fingerprint
from greencode.records import BaselineEntry, TestRecord
from greencode.results_file import RunInfo, load_results, results_document, write_results

__all__ = [
    "Baseline",
    "BaselineEntry",
    "Fingerprint",
    "RunInfo",
    "TestRecord",
    "baseline_from_runs",
    "detect_fingerprint",
    "load_baseline",
    "load_results",
    "merge_baseline",
    "results_document",
    "save_baseline",
    "write_baseline",
    "write_results",
]
