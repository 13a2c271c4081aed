"""One schema-version check for every greencode file format: a whole number from 1, never ``true`` or 0."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from greencode.baselines import load_baseline
from greencode.errors import StoreError
from greencode.report.loaders import load_report
from greencode.results_file import load_results

READERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "baseline": ("greencode-baseline", load_baseline),
    "results": ("greencode-results", load_results),
    "report": ("greencode-report", load_report),
}


@pytest.mark.parametrize("version", [True, False, 0, -1, 1.0, "1", None])
@pytest.mark.parametrize("kind", sorted(READERS))
def test_a_version_that_is_not_a_whole_number_from_one_is_refused(
    tmp_path: Path, kind: str, version: object
) -> None:
    schema, read = READERS[kind]
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps({"schema": schema, "version": version}))
    with pytest.raises(StoreError, match=r"has no valid 'version' \(version .*, not a whole number from 1\)"):
        read(path)


@pytest.mark.parametrize("kind", sorted(READERS))
def test_a_newer_version_asks_for_a_newer_greencode(tmp_path: Path, kind: str) -> None:
    schema, read = READERS[kind]
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps({"schema": schema, "version": 99}))
    with pytest.raises(StoreError, match=r"version 99 is newer than this greencode reads.*upgrade greencode"):
        read(path)
