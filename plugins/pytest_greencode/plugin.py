"""pytest plugin entry point (registered through ``pytest11``).

This module only registers options, ini keys, markers and the ``energy`` fixture, and decides whether
greencode is switched on. Everything that measures lives in :mod:`pytest_greencode.session`, imported and
registered only when it is: a session without greencode pays for nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_greencode.fixture import energy
from pytest_greencode.keys import PATH_OPTIONS

__all__ = ["energy"]

#: Options that ask for something only a measuring run can do, and so switch measuring on by themselves.
ENABLING_OPTIONS = (
    "greencode_save",
    "greencode_compare",
    "greencode_json",
    "greencode_fail_on",
    "greencode_total_budget",
    "greencode_otel",
    "greencode_prometheus",
)
#: Options that only change how measuring works: not a reason to measure, but their values are still checked.
SETTING_OPTIONS = (
    "greencode_rounds",
    "greencode_repeat_budget",
    "greencode_meter",
    "greencode_min_effect",
    "greencode_baseline",
    "greencode_allow_other_machine",
    "greencode_include_setup",
)

MARKERS = (
    "greencode(rounds=None, skip=False): greencode measurement settings for this test: rounds=N repeats its "
    "call N times (rounds=1 for a test that must not run twice); skip=True leaves it unmeasured.",
    "energy_budget(joules, per=None): fail the session when this test's median energy exceeds joules "
    "(a number or '2 J', '500 mJ'); per='call' for tests using the energy or benchmark fixture, else 'test'.",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "greencode", "greencode: energy per test, baselines, budgets and the regression gate"
    )
    group.addoption(
        "--greencode",
        action="store_true",
        default=False,
        help="measure the energy of each test's call phase (also: 'greencode = true' in the pytest ini, or "
        "'enabled = true' under [tool.greencode])",
    )
    group.addoption(
        "--greencode-rounds",
        metavar="N",
        default=None,
        help="run each test's call N times for a distribution (default: the 'rounds' key if set, else once; "
        "a comparing run repeats only tests whose verdict is open); extra rounds report nothing to pytest",
    )
    group.addoption(
        "--greencode-repeat-budget",
        metavar="SHARE",
        default=None,
        help="extra rounds of a comparing run take at most this share of the first pass's time (default "
        "0.5; 0 never repeats; the 'repeat_budget' key)",
    )
    group.addoption(
        "--greencode-save",
        metavar="NAME",
        nargs="?",
        const=True,
        default=False,
        help="write this run into the baseline file (the 'baseline' key, default .greencode/baseline.json); "
        "with --greencode-save=NAME (one word) also keep the run's results as .greencode/runs/NAME.json, "
        "for 'greencode report --compare A B'",
    )
    group.addoption(
        "--greencode-compare",
        metavar="PATH",
        nargs="?",
        const="",
        default=None,
        help="compare with the baseline (the 'baseline' key, or PATH given as --greencode-compare=PATH) and "
        "fail the session on a regression",
    )
    group.addoption("--greencode-baseline", metavar="PATH", default=None, help="the baseline file to use")
    group.addoption(
        "--greencode-fail-on",
        metavar="PERCENT",
        default=None,
        help="relative increase that counts as a regression, e.g. 10%% (implies --greencode-compare)",
    )
    group.addoption(
        "--greencode-min-effect",
        metavar="ENERGY",
        default=None,
        help="absolute increase a regression must also exceed, e.g. '5 mJ' (the 'min_effect_j' key)",
    )
    group.addoption(
        "--greencode-total-budget",
        metavar="ENERGY",
        default=None,
        help="fail the session when the tests together use more than ENERGY, e.g. '50 J' (the "
        "'total_budget_j' key; implies --greencode)",
    )
    group.addoption(
        "--greencode-json", metavar="PATH", default=None, help="write the results as JSON to PATH"
    )
    group.addoption(
        "--greencode-meter",
        metavar="NAME",
        default=None,
        help="meter(s): auto, rapl, nvml, estimate, a comma list or package.module:factory",
    )
    group.addoption(
        "--greencode-allow-other-machine",
        action="store_true",
        default=None,
        help="compare with a baseline from another machine, or estimates with measurements",
    )
    group.addoption(
        "--greencode-include-setup",
        action="store_true",
        default=None,
        help="include each test's setup and teardown in its energy",
    )
    group.addoption(
        "--greencode-otel",
        action="store_true",
        default=None,
        help="export per-test metrics over OTLP (OTEL_EXPORTER_OTLP_* variables; extra 'otel')",
    )
    group.addoption(
        "--greencode-prometheus",
        metavar="PATH",
        default=None,
        help="write per-test metrics to PATH in Prometheus text format (node-exporter textfile collector)",
    )
    parser.addini("greencode", type="bool", default=False, help="measure energy per test (as --greencode)")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    # a run's name is taken only as --greencode-save=NAME: written alone, the option must not swallow the
    # test path after it (`--greencode-save tests/`); pytest parses this same list once more after the hook
    args[:] = ["--greencode-save=" if arg == "--greencode-save" else arg for arg in args]
    # pytest chose the rootdir before this plugin's options existed, so `--greencode-json PATH` may have moved
    # it; the check is a scan of the arguments, the rest is imported only when a path option was written so
    if any(arg in PATH_OPTIONS for arg in args):
        from pytest_greencode import rootdir

        rootdir.restore(early_config, args)


def _config_file_mentions_greencode(start: Path) -> bool:
    # a cheap look before importing the configuration code: the library's own search, a leaf module
    from greencode.config_files import find_config_file

    return bool(os.environ.get("GREENCODE_CONFIG")) or find_config_file(start) is not None


def _ini_flag(config: pytest.Config, name: str) -> bool:
    """A boolean ini value; one that is not true or false is a usage error naming the key."""
    try:
        return bool(config.getini(name))
    except (ValueError, pytest.UsageError) as exc:  # pytest's message names the value, not the key
        where = config.inipath or "the pytest configuration"
        raise pytest.UsageError(f"greencode: {where}: ini key {name!r}: {exc}; use true or false") from None


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    requested = (
        config.getoption("greencode")
        or any(config.getoption(name) not in (None, False) for name in ENABLING_OPTIONS)
        or _ini_flag(config, "greencode")
    )
    given = any(config.getoption(name) is not None for name in SETTING_OPTIONS)
    if not requested and not given and not _config_file_mentions_greencode(config.invocation_params.dir):
        return
    from pytest_greencode.session import start

    start(config, requested)
