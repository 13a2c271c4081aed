"""Baselines drawn from the history: ``baseline = "history:main"``.

Instead of a committed ``baseline.json`` (or a CI artifact that expires), the gate compares with the recent
runs of a branch stored in the history database: the newest :data:`POOLED_RUNS` runs of that branch, on a
clean work tree, measured on the same kind of machine with the same meter (fingerprint identity). Each test's
entry pools one median per run, as a baseline saved from several runs does, so the gate learns the
run-to-run spread from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from greencode.config import HISTORY_BASELINE_PREFIX as PREFIX
from greencode.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from greencode.baselines import Baseline
    from greencode.config import Config
    from greencode.fingerprint import Fingerprint
    from greencode.history.model import HistoryRun

#: How many recent runs of the branch are pooled.
POOLED_RUNS = 10
#: How many of the branch's newest runs are looked through for ones of this machine and meter.
_SCANNED_RUNS = 500


def baseline_from_history(
    location: Path | str, branch: str, fingerprint: Fingerprint, runs: int = POOLED_RUNS
) -> Baseline | None:
    """A baseline pooling the newest ``runs`` clean runs of ``branch`` measured like ``fingerprint`` in the
    history at ``location``; None when there is none."""
    from greencode.baselines import baseline_from_runs
    from greencode.fingerprint import Fingerprint
    from greencode.history import History
    from greencode.records import record_from_point

    with History(location) as history:
        chosen: list[HistoryRun] = []
        for run in reversed(history.runs(limit=_SCANNED_RUNS, branch=branch)):
            if run.dirty or len(chosen) == runs:
                continue
            try:
                same_machine = Fingerprint.from_dict(run.fingerprint).matches(fingerprint)
            except (TypeError, ValueError):
                same_machine = False  # a run of an unreadable machine is not this machine's
            if same_machine:
                chosen.append(run)
        pooled = [
            [record_from_point(p) for p in history.run_results(run.run_id)]
            for run in reversed(chosen)  # oldest first: the newest run's figure is the entry's latest
        ]
    if not pooled:
        return None
    return baseline_from_runs(pooled, fingerprint, None, now=chosen[0].started)


def load_configured_baseline(config: Config, fingerprint: Fingerprint) -> Baseline | None:
    """The baseline ``config`` names: a file, or a branch of the history (``history:BRANCH``)."""
    from greencode.baselines import load_baseline

    if isinstance(config.baseline, Path):
        return load_baseline(config.resolve(config.baseline))
    branch = config.baseline[len(PREFIX) :]
    try:
        return baseline_from_history(config.history_location(), branch, fingerprint)
    except StoreError as exc:
        raise StoreError(f"baseline = {config.baseline!r}: {exc}") from None


def describe(config: Config) -> str:
    """The configured baseline, for messages."""
    if isinstance(config.baseline, Path):
        return str(config.resolve(config.baseline))
    return f"{config.baseline} (recent runs in the history)"


def file_baseline(config: Config, what: str) -> Path:
    """The configured baseline file, for commands that write one; a :class:`ConfigError` for a history one."""
    if isinstance(config.baseline, Path):
        return config.resolve(config.baseline)
    raise ConfigError(
        f"baseline = {config.baseline!r} is read from the history, not written: {what} needs a baseline file "
        "(pass --baseline PATH)"
    )
