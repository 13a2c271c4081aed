"""The measuring run's command-line options read and checked: paths relative to where pytest started, the
settings they override, and what the run compares with, saves and writes (:class:`RunOptions`). A bad value
is a :class:`pytest.UsageError` of one line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from greencode.config import HISTORY_BASELINE_PREFIX, Config
from greencode.errors import GreencodeError, StoreError
from greencode.runs import run_path

if TYPE_CHECKING:
    from greencode.baselines import Baseline
    from greencode.meters import Selection


def option_path(config: pytest.Config, value: str | None, option: str | None = None) -> str | None:
    """Paths on the command line are relative to where pytest was started; ``-`` stays standard output.
    With ``option`` named, an empty path is a usage error rather than silently no path."""
    if option is not None and value is not None and not value.strip():
        raise pytest.UsageError(f"greencode: {option} was given an empty path; name a file")
    if not value or value == "-":
        return value or None
    return str(config.invocation_params.dir / value)


def _baseline_option(config: pytest.Config, value: str | None) -> str | None:
    """A baseline file (relative to where pytest started), or ``history:BRANCH`` as it is."""
    if value and value.startswith(HISTORY_BASELINE_PREFIX):
        return value
    return option_path(config, value, "--greencode-baseline")


def overrides(config: pytest.Config) -> dict[str, Any]:
    """The configuration keys the command line sets (``None`` where an option was not given)."""
    option = config.getoption
    return {
        "rounds": option("greencode_rounds"),
        "repeat_budget": option("greencode_repeat_budget"),
        "meter": option("greencode_meter"),
        "fail_on": option("greencode_fail_on"),
        "min_effect_j": option("greencode_min_effect"),
        "total_budget_j": option("greencode_total_budget"),
        "baseline": _baseline_option(config, option("greencode_baseline")),
        "allow_other_machine": option("greencode_allow_other_machine"),
        "include_setup": option("greencode_include_setup"),
        "otel": option("greencode_otel"),
        "prometheus": option_path(config, option("greencode_prometheus"), "--greencode-prometheus"),
    }


@dataclass(frozen=True)
class RunOptions:
    """What a measuring run compares with, saves and writes, from its options and configuration."""

    #: compare with the baseline (``--greencode-compare``, or a gate asked for with ``--greencode-fail-on``)
    compare: bool
    #: save this run as the baseline (``--greencode-save``)
    save: bool
    #: where ``--greencode-save=NAME`` keeps the named run
    saved_run: Path | None
    #: a file, or ``history:BRANCH``: the recent runs of a branch in the history database
    baseline_path: Path | str
    #: ``--greencode-json``: the results file
    json_path: Path | None


def run_options(config: pytest.Config, settings: Config) -> RunOptions:
    option = config.getoption
    compare_option = option("greencode_compare")
    if compare_option and (
        Path(compare_option).is_dir() or compare_option.endswith(".py") or "::" in compare_option
    ):
        raise pytest.UsageError(
            f"greencode: --greencode-compare {compare_option}: that looks like a test path, not a "
            "baseline; write --greencode-compare=PATH, or put --greencode-compare after the test paths"
        )
    save_option = option("greencode_save")  # False; "" or True for the flag; a name from =NAME
    saved_run = None
    if isinstance(save_option, str) and save_option:
        try:
            saved_run = run_path(settings, save_option)
        except GreencodeError as exc:
            raise pytest.UsageError(f"greencode: --greencode-save={save_option}: {exc}") from None
    json_option = option_path(config, option("greencode_json"), "--greencode-json")
    if json_option:
        from greencode.files import check_output

        try:  # now, not after a long run whose results would then be lost
            check_output(json_option)
        except StoreError as exc:
            raise pytest.UsageError(f"greencode: --greencode-json: {exc}") from None
    return RunOptions(
        compare=compare_option is not None or option("greencode_fail_on") is not None,
        save=save_option not in (None, False),
        saved_run=saved_run,
        baseline_path=(
            Path(option_path(config, compare_option) or "")
            if compare_option
            else settings.baseline
            if isinstance(settings.baseline, str)
            else settings.resolve(settings.baseline)
        ),
        json_path=Path(json_option) if json_option else None,
    )


def read_baseline(baseline_path: Path | str, settings: Config, selection: Selection) -> Baseline | None:
    """The baseline the run compares with or saves over: a file, or the history's recent runs of a branch
    measured like ``selection``; None when there is none yet."""
    from greencode.baselines import load_baseline
    from greencode.fingerprint import detect_fingerprint
    from greencode.history.baselines import load_configured_baseline

    try:
        if isinstance(baseline_path, Path):
            return load_baseline(baseline_path)
        return load_configured_baseline(
            settings, detect_fingerprint(selection.name, sorted(selection.domains))
        )
    except StoreError as exc:
        raise pytest.UsageError(f"greencode: {exc}") from None
