"""Recording a finished run in the history without ever failing the run.

The configured history may be a shared PostgreSQL database on another machine. When it cannot be written
(down, unreachable, refused), the run goes to the local SQLite history instead and a warning says so and how
to copy it over later; the test run's outcome never depends on the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from greencode.config import is_history_url
from greencode.errors import StoreError

if TYPE_CHECKING:
    from greencode.fingerprint import Fingerprint
    from greencode.kinds import Status
    from greencode.records import TestRecord
    from greencode.results_file import RunInfo


def record_run(
    location: Path | str,
    local: Path,
    run: RunInfo,
    fingerprint: Fingerprint,
    records: Iterable[TestRecord],
    verdicts: Mapping[str, tuple[Status, float | None]],
    failed: bool,
) -> list[str]:
    """Append ``run`` to the history at ``location`` (``local``, a SQLite path, when a remote one cannot be
    written); returns the warnings to show, empty when all went well."""
    from greencode.history import History

    records = list(records)
    try:
        with History(location) as history:
            history.append(run, fingerprint, records, verdicts, failed)
        return []
    except StoreError as exc:
        if not is_history_url(location):
            return [f"history not updated: {exc}"]
        problem = str(exc)
    except Exception as exc:  # a database driver's own failure must not fail the test run either
        if not is_history_url(location):
            raise
        first_line = (str(exc).strip().splitlines() or [""])[0]
        problem = f"{History(location).name}: {type(exc).__name__}: {first_line}"
    try:
        with History(local) as history:
            history.append(run, fingerprint, records, verdicts, failed)
    except StoreError as local_exc:
        return [f"history not updated: {problem}", f"local history not updated either: {local_exc}"]
    return [
        f"history not updated: {problem}; this run was kept in {local} instead: "
        f"greencode history copy {local} {History(location).name}"
    ]
