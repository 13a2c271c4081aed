"""pytest-xdist: workers measure, the controller merges, gates and writes once — never a silent no-op."""

from __future__ import annotations

import itertools
import json

import pytest
from plugin_helpers import make_project, results, run, script

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_work(n):
    pass

@pytest.mark.energy_budget(joules=10)
def test_budgeted():
    pass
"""


def test_workers_records_are_merged_and_stored_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0)
    make_project(pytester, SUITE, rounds=1)
    result = run(pytester, "-n", "2", "--greencode-save", "--greencode-json=results.json")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["greencode: each xdist worker measures its own tests (per-process meter)"])
    data = results(pytester)
    assert len(data["tests"]) == 7 and data["run"]["xdist_workers"] == 2
    baseline = json.loads((pytester.path / ".greencode" / "baseline.json").read_text())
    assert len(baseline["entries"]) == 7


TIMED = """
import os, pathlib, time, pytest

@pytest.mark.parametrize("n", range(6))
def test_timed(n):
    start = time.monotonic()
    time.sleep(0.05)
    with open(pathlib.Path(__file__).parent / "intervals.txt", "a") as handle:
        handle.write(f"{start} {time.monotonic()} {os.getpid()}\\n")
"""


def test_a_machine_wide_meter_lets_one_measured_test_run_at_a_time(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0, scope="machine")
    make_project(pytester, TIMED, rounds=1)
    run(pytester, "-n", "2", "--greencode").assert_outcomes(passed=6)
    intervals = sorted(
        tuple(map(float, line.split()[:2])) for line in (pytester.path / "intervals.txt").open()
    )
    pids = {line.split()[2] for line in (pytester.path / "intervals.txt").open()}
    assert len(intervals) == 6 and len(pids) == 2
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(intervals))


def test_under_a_machine_wide_meter_the_gate_still_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(monkeypatch, energy_j=1.0, scope="machine")
    make_project(pytester, SUITE, rounds=1)
    run(pytester, "-n", "2", "--greencode-save").assert_outcomes(passed=7)
    # three of the seven tests cost 20 times as much: fewer than half, so not the whole run's shift
    script(monkeypatch, energy_j=1.0, scale={"*::test_work[[]0[]]": 20.0, "*::test_work[[]1[]]": 20.0,
           "*::test_budgeted": 20.0}, scope="machine")  # fmt: skip
    result = run(pytester, "-n", "2", "--greencode-compare")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "greencode: meter scripted sees the whole machine, so measured tests run one at a time across "
            "xdist workers (a cross-process lock)",
            "*7 tests measured with scripted (estimates); by 2 xdist workers*",
            "gate: FAILED: 3 energy regressions, 1 over energy budget*",
            "*7 passed, 3 energy regressions, 1 over energy budget in*",
        ]
    )


def test_a_bad_marker_under_xdist_is_a_usage_error_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(
        pytester, "import pytest\n\n@pytest.mark.energy_budget(joules='2 JJ')\ndef test_marked():\n    pass\n"
    )
    result = run(pytester, "-n", "2", "--greencode")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        ["error: test_energy.py::test_marked: @pytest.mark.energy_budget: joules='2 JJ'*"]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
