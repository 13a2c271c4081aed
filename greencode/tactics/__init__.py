"""Green software tactics: the sourced catalogue, the static scanner and advice tied to measurements.

::

    from greencode import tactics

    tactics.get_tactic("GT-WT-01").name          # 'Block on events instead of polling'
    tactics.search_tactics("polling")
    report = tactics.scan_paths(["src"])          # ScanReport: findings, skipped files, counts
    tactics.scan_source("for x in xs: s += 'a'")  # list[Finding]

Submodules load on first use, so importing this package costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greencode.tactics.advice import advice_for_changes, changed_python_files, energy_hint
    from greencode.tactics.catalogue import (
        CATEGORIES,
        Catalogue,
        CatalogueError,
        SourceRef,
        Tactic,
        get_tactic,
        list_tactics,
        load_catalogue,
        search_tactics,
    )
    from greencode.tactics.rules import RULES, Rule
    from greencode.tactics.sarif import to_sarif
    from greencode.tactics.scanner import Finding, ScanReport, SkippedFile, scan_paths, scan_source

_EXPORTS = {
    "advice": ("advice_for_changes", "changed_python_files", "energy_hint"),
    "catalogue": (
        "CATEGORIES",
        "Catalogue",
        "CatalogueError",
        "SourceRef",
        "Tactic",
        "get_tactic",
        "list_tactics",
        "load_catalogue",
        "search_tactics",
    ),
    "rules": ("RULES", "Rule"),
    "sarif": ("to_sarif",),
    "scanner": ("Finding", "ScanReport", "SkippedFile", "scan_paths", "scan_source"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "CATEGORIES",
    "RULES",
    "Catalogue",
    "CatalogueError",
    "Finding",
    "Rule",
    "ScanReport",
    "SkippedFile",
    "SourceRef",
    "Tactic",
    "advice_for_changes",
    "changed_python_files",
    "energy_hint",
    "get_tactic",
    "list_tactics",
    "load_catalogue",
    "scan_paths",
    "scan_source",
    "search_tactics",
    "to_sarif",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'greencode.tactics' has no attribute {name!r}")
    return getattr(importlib.import_module(f"greencode.tactics.{module}"), name)
