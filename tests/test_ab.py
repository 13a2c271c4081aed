"""``greencode ab``: base and head measured in the same job, in interleaved pairs, judged by the pytest gate.

The end-to-end tests build a small git repository in ``tmp_path`` (a package, ``tinypkg``, whose ``WORK``
constant scales the work it does, and a test file) and run the real command on it. Most use the scripted
meter, driven by the repository's own ``conftest.py``: each side's energy is proportional to the ``WORK``
of the ``tinypkg`` that side imported — so a base side importing head's code could not pass — with seeded
run-to-run noise and a 4 % penalty for the second run of every pair, as measured on shared machines. One
test uses the real estimator on real CPU work. pytest's plugin autoloading is off in the side processes
(greencode ab then loads its plugin explicitly) so that each starts in a fraction of a second.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greencode import cli
from greencode.ab import (
    TOTAL_ROW,
    UNDECIDED_NAMED,
    AbError,
    AbOptions,
    AbResult,
    PairedTest,
    Side,
    _Runner,
    _Served,
    commit_given_as_test,
    decide,
    failing_by_side,
    generation_of,
    measure_adaptively,
    needs_more_pairs,
    one_run_s,
    pair_order,
    run_ab,
    still_undecided,
    undecided_note,
)
from greencode.config import Config, load_config
from greencode.errors import VcsError
from greencode.gate import GateReport, GateSettings
from greencode.pytest_process import failing_tests, import_paths, measuring_environment
from greencode.records import TestRecord
from greencode.stats import look_alpha, paired_change, planned_looks
from greencode.vcs import default_base
from greencode.verdicts import Comparison

PACKAGE = """\
WORK = {work}


def work(n: int) -> int:
    total = 0
    for i in range(int(n * WORK)):
        total += i * i
    return total
"""

TESTS = """\
import pytest

import tinypkg


# each window lasts milliseconds, above the meter's resolution, so each test is judged alone
@pytest.mark.parametrize("size", [{sizes}])
def test_work(size):
    assert tinypkg.work(100 * size) >= 0
"""

CONFTEST = """\
# Test scaffolding for greencode's own tests of `greencode ab` (see tests/test_ab.py there).
import json
import os
import pathlib
import time

import pytest

import tinypkg

if os.environ.get("AB_TEST_PIDS"):  # one file per pytest process
    (pathlib.Path(os.environ["AB_TEST_PIDS"]) / str(os.getpid())).touch()
if os.environ.get("AB_TEST_PIDFILE"):
    pathlib.Path(os.environ["AB_TEST_PIDFILE"]).write_text(str(os.getpid()))
    time.sleep(60)


# a run of the suite sets up its session fixtures once: a fresh process's run, or a pass of a serving one
@pytest.fixture(scope="session", autouse=True)
def scripted_run():
    counter = pathlib.Path(os.environ["AB_TEST_COUNTER"])
    run = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(run + 1))
    # the scripted meter's energy follows the imported package's work; the second run of a pair pays 4 %
    second = run % 2 == 1
    os.environ["GREENCODE_SCRIPTED"] = json.dumps({
        "energy_j": 0.05 * tinypkg.WORK * (1.04 if second else 1.0),
        "cv": 0.02,
        "run_cv": 0.06,
        "seed": int(os.environ.get("AB_TEST_SEED", "0")) * 1000 + run,
        # as the instructions meter would count them: work() grows with WORK, the test's own code does not
        "functions": {"*": {"tinypkg.py:work": int(1e6 * tinypkg.WORK), "test_work.py:test_work": 2_000_000}}
        if os.environ.get("AB_TEST_FUNCTIONS") else {},
    })
"""

SCRIPTED = '[tool.greencode]\nmeter = "greencode.testing:scripted"\nrounds = 3\n'


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Fast side processes, a predictable git, no CI variables, and temporary files we can inspect."""
    for name in (
        "GITHUB_BASE_REF",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA",
        "GITHUB_STEP_SUMMARY",
        "GREENCODE_CONFIG",
        "GREENCODE_METER",
        "PYTEST_ADDOPTS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "tester")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tester@example.com")
    monkeypatch.setenv("AB_TEST_COUNTER", str(tmp_path / "runs.txt"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_repo(
    tmp_path: Path, *, work: float = 1.0, src: bool = False, sizes: str = "1000, 2000", config: str = SCRIPTED
) -> Path:
    """A repository with one commit on ``main``: tinypkg (src or flat layout), its tests and conftest."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    package = "src/tinypkg/__init__.py" if src else "tinypkg/__init__.py"
    write(
        repo,
        {
            package: PACKAGE.format(work=work),
            "tests/test_work.py": TESTS.format(sizes=sizes),
            "conftest.py": CONFTEST,
            "pyproject.toml": config,
        },
    )
    commit(repo, "base")
    return repo


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def set_work(repo: Path, work: float) -> None:
    package = next(repo.glob("**/tinypkg/__init__.py"))
    package.write_text(PACKAGE.format(work=work))


def snapshot(repo: Path) -> tuple[str, bytes, dict[str, bytes], str]:
    """What the user owns: status, index, every file outside .git, and the worktree list."""
    files = {
        str(p.relative_to(repo)): p.read_bytes()
        for p in repo.rglob("*")
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
    }
    return (
        git(repo, "status", "--porcelain"),
        (repo / ".git" / "index").read_bytes(),
        files,
        git(repo, "worktree", "list"),
    )


def measure(repo: Path, **options: object) -> AbResult:
    return run_ab(AbOptions(**options), load_config(start=repo), cwd=repo)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# the order and the statistics


def test_pairs_alternate_so_each_side_runs_second_equally_often() -> None:
    orders = [pair_order(i) for i in range(8)]
    assert orders[:4] == [("base", "head"), ("head", "base"), ("base", "head"), ("head", "base")]
    for even in range(2, 9, 2):
        assert sum(order[1] == "head" for order in orders[:even]) == even // 2


def test_paired_change_is_the_mean_log_ratio_and_a_balanced_order_effect_cancels() -> None:
    base = [1.0, 1.04 * 2.0, 0.9, 1.04 * 1.1]  # base ran second in pairs 2 and 4: 4 % more
    head = [1.2 * 1.04, 1.2 * 2.0, 1.2 * 0.9 * 1.04, 1.2 * 1.1]
    change = paired_change(base, head, [True, False, True, False])
    assert change is not None
    assert change.log_change == pytest.approx(math.log(1.2))
    assert change.order_effect == pytest.approx(math.log(1.04))
    assert change.df == 3
    assert change.error == pytest.approx(change.spread / 2)


def test_a_pair_that_hit_a_busy_spell_is_trimmed_off() -> None:
    ratios = [1.31, 1.28, 1.30, 1.33, 1.29, 1.27, 1.32, 1.30, 1.31, 2.1]  # one head run 60 % slow
    change = paired_change([1.0] * 10, ratios, [i % 2 == 0 for i in range(10)])
    assert change is not None
    assert math.expm1(change.log_change) == pytest.approx(0.30, abs=0.01)
    assert change.df == 10 - 2 * 2 - 1
    assert change.spread < 0.05


def test_paired_change_needs_two_pairs_of_positive_energies() -> None:
    assert paired_change([1.0], [1.1], [True]) is None
    assert paired_change([1.0, 0.0], [1.1, 1.2], [True, False]) is None
    with pytest.raises(ValueError, match="one entry per pair"):
        paired_change([1.0, 1.0], [1.0], [True, False])


def record(node_id: str, joules: float) -> TestRecord:
    return TestRecord(node_id, "test", (joules,), 0.01, 0.01, "estimate", True)


class Machine:
    """Synthetic pairs for the real measuring loop, drawn like a shared machine's: each run has a factor all
    its tests share (``shared``) and one of each test's own (``own``), both log-normal, and the second run of
    a pair is ``order`` slower. Head does ``ratio`` times base's work."""

    def __init__(self, seed: int, tests: int, ratio: float, shared: float, own: float, order: float = 0.04):
        self.rng = random.Random(seed)
        self.ratio, self.shared, self.own, self.order = ratio, shared, own, order
        self.runs: dict[str, tuple[list[TestRecord], list[TestRecord], list[bool]]] = {
            f"t{i}": ([], [], []) for i in range(tests)
        }

    def run_pair(self, index: int, active: frozenset[str] | None) -> float:
        head_second = pair_order(index)[1] == "head"
        base_run, head_run = self.rng.gauss(0, self.shared), self.rng.gauss(0, self.shared)
        for node_id, (base, head, second) in self.runs.items():
            if active is None or node_id in active:
                b = math.exp(base_run + self.rng.gauss(0, self.own)) * (1 + self.order * (not head_second))
                h = (
                    self.ratio
                    * math.exp(head_run + self.rng.gauss(0, self.own))
                    * (1 + self.order * head_second)
                )
                base.append(record(node_id, 0.05 * b))
                head.append(record(node_id, 0.05 * h))
                second.append(head_second)
        return 0.0

    def judged(self, alpha: float) -> GateReport:
        tests = {n: PairedTest(n, tuple(b), tuple(h), tuple(s)) for n, (b, h, s) in self.runs.items()}
        return decide(tests, GateSettings(fail_on=0.10, alpha=alpha))


def flagged(seeds: int, tests: int, ratio: float, shared: float, own: float) -> float:
    """The share of tests the adaptive loop (4 to 16 pairs) calls a regression, over ``seeds`` runs."""
    found = 0
    for seed in range(seeds):
        machine = Machine(seed, tests, ratio, shared, own)
        outcome = measure_adaptively(
            machine.run_pair, machine.judged, GateSettings(fail_on=0.10), AbOptions()
        )
        found += len(outcome.report.regressions)
    return found / (seeds * tests)


@pytest.mark.parametrize(("shared", "own"), [(0.06, 0.03), (0.15, 0.05)])
def test_unchanged_code_is_never_called_a_regression_over_many_seeds(shared: float, own: float) -> None:
    assert flagged(60, 5, 1.0, shared, own) == 0


def test_a_change_right_at_the_threshold_is_flagged_at_most_alpha_of_the_time() -> None:
    # looking again after each batch would flag about 15 % here; spending alpha over the looks keeps it low
    assert flagged(200, 1, 1.10, 0.15, 0.05) <= 0.05


def test_a_30_percent_regression_is_found_in_most_seeds() -> None:
    assert flagged(100, 3, 1.3, 0.06, 0.03) >= 0.95


def test_the_looks_share_alpha_and_the_last_one_takes_what_is_left() -> None:
    looks = planned_looks(4, 16)
    assert looks == 7
    levels = [look_alpha(0.05, look, looks) for look in range(1, looks + 1)]
    assert levels == sorted(levels) and levels[-1] == 0.025
    assert sum(levels) < 0.05
    assert look_alpha(0.05, 3, looks, last=True) == pytest.approx(0.05 - sum(levels[:2]))
    assert look_alpha(0.05, 1, planned_looks(4, 4), last=True) == 0.05


def comparison(
    verdict: str, ci_high: float | None, baseline_j: float = 1.0, node_id: str = "t"
) -> Comparison:
    return Comparison(node_id, verdict, "", "test", baseline_j=baseline_j, ci_low=-0.2, ci_high=ci_high)


def test_tests_not_clear_of_the_threshold_get_more_pairs() -> None:
    settings = GateSettings(fail_on=0.10, min_effect_j=0.05)
    assert needs_more_pairs(comparison("inconclusive", 0.4), settings)
    assert needs_more_pairs(comparison("unchanged", 0.15), settings)  # a regression is not ruled out yet
    assert not needs_more_pairs(comparison("unchanged", 0.08), settings)
    assert not needs_more_pairs(comparison("unchanged", 0.15, baseline_j=0.1), settings)  # below the floor
    assert not needs_more_pairs(comparison("regression", 0.6), settings)
    assert not needs_more_pairs(comparison("inconclusive", None), settings)  # no interval: pairs cannot help


def test_a_regression_only_at_full_alpha_waits_for_more_pairs() -> None:
    settings = GateSettings(fail_on=0.10)
    full = GateReport(settings, (comparison("regression", 0.6), comparison("unchanged", 0.05, node_id="u")))
    spent = GateReport(
        settings, (comparison("inconclusive", 0.9), comparison("unchanged", 0.08, node_id="u"))
    )
    assert still_undecided(full, spent, settings) == {"t"}
    spent = GateReport(settings, (comparison("regression", 0.7),))
    assert still_undecided(full, spent, settings) == set()


def test_the_look_that_ends_the_run_spends_what_is_left() -> None:
    def judged(alpha: float) -> GateReport:  # significant at 0.03, not at the last look's own 0.025
        verdict = "regression" if alpha >= 0.03 else "inconclusive"
        return GateReport(GateSettings(alpha=alpha), (comparison(verdict, 0.6),))

    outcome = measure_adaptively(lambda index, active: 0.0, judged, GateSettings(), AbOptions(max_pairs=6))

    assert (outcome.pairs, outcome.looks, outcome.stopped) == (6, 2, "--max-pairs 6 reached")
    assert outcome.report.settings.alpha == pytest.approx(0.05 - 0.05 / 4)
    assert [c.node_id for c in outcome.report.regressions] == ["t"]
    assert outcome.undecided == frozenset()


def test_pairs_stop_at_the_first_look_that_decides_a_regression_the_rest_inconclusive() -> None:
    def judged(alpha: float) -> GateReport:  # "t" is a clear regression; "u" could still go either way
        return GateReport(
            GateSettings(alpha=alpha),
            (comparison("regression", 0.9), comparison("inconclusive", 0.6, node_id="u")),
        )

    outcome = measure_adaptively(lambda index, active: 0.0, judged, GateSettings(), AbOptions())

    assert (outcome.pairs, outcome.looks) == (4, 1)
    assert outcome.stopped == "a regression is decided, so ab fails whatever more pairs show"
    assert [c.node_id for c in outcome.report.regressions] == ["t"]
    assert outcome.undecided == frozenset({"u"}) and outcome.report.failed


def test_a_test_still_undecided_when_measuring_stops_is_inconclusive_not_unchanged() -> None:
    def judged(alpha: float) -> GateReport:  # -10 % .. +24 %: not a regression, not clear of fail_on
        return GateReport(GateSettings(alpha=alpha), (comparison("unchanged", 0.24),))

    outcome = measure_adaptively(lambda index, active: 0.0, judged, GateSettings(), AbOptions(max_pairs=6))

    assert outcome.undecided == frozenset({"t"})
    (only,) = outcome.report.comparisons
    assert only.verdict == "inconclusive" and only.reason.endswith("reaches above fail_on 10.0%: undecided")
    assert outcome.report.counts()["unchanged"] == 0 and not outcome.report.failed


def test_the_undecided_note_names_the_suite_total_and_a_few_tests_then_counts_the_rest() -> None:
    tests = [f"t.py::test_{i:03}" for i in range(UNDECIDED_NAMED + 276)]
    note = undecided_note({TOTAL_ROW, *tests}, "the budget")
    assert note.startswith("still undecided (the budget): suite total, t.py::test_000, t.py::test_001, ")
    assert note.count("t.py::") == UNDECIDED_NAMED - 1
    assert note.endswith(", and 277 more tests (the JSON result's 'undecided' lists every one)")


def test_the_undecided_note_names_every_one_of_a_few() -> None:
    assert (
        undecided_note({"t.py::b", "t.py::a"}, "the budget")
        == "still undecided (the budget): t.py::a, t.py::b"
    )


def test_pairs_stop_once_they_would_cost_more_than_max_cost_runs_of_the_tests() -> None:
    def judged(alpha: float) -> GateReport:
        return GateReport(GateSettings(alpha=alpha), (comparison("inconclusive", 0.6),))

    # the first pair holds each side's first run (5 s each); a later pair costs 2 s
    outcome = measure_adaptively(
        lambda index, active: 10.0 if index == 0 else 2.0,
        judged,
        GateSettings(),
        AbOptions(max_pairs=16, max_cost=4),
    )

    # 4 pairs cost 16 s, 2 more make 20 s = 4 runs; 2 more again would make 24 s
    assert outcome.pairs == 6
    assert outcome.stopped == "--max-cost 4 reached (ab had spent 4.0 runs of the tests)"
    assert outcome.undecided == frozenset({"t"})


def test_max_cost_counts_setting_up_and_runs_in_the_unit_it_is_given() -> None:
    def judged(alpha: float) -> GateReport:
        return GateReport(GateSettings(alpha=alpha), (comparison("inconclusive", 0.6),))

    # a run is 4 s (say, a side's start and first run); setting up took 6 s, each pair costs 2 s
    outcome = measure_adaptively(
        lambda index, active: 2.0,
        judged,
        GateSettings(),
        AbOptions(max_pairs=16, max_cost=4),
        run_s=lambda: 4.0,
        spent_before_s=6.0,
    )

    # 6 s + 4 pairs (8 s) = 14 s; 2 more would make 18 s, over 4 runs of 4 s
    assert outcome.pairs == 4
    assert outcome.stopped == "--max-cost 4 reached (ab had spent 3.5 runs of the tests)"


def test_max_cost_must_be_positive() -> None:
    with pytest.raises(AbError, match="--max-cost 0: expected a positive number"):
        AbOptions(max_cost=0)


def test_progress_speaks_of_one_undecided_test_in_the_singular() -> None:
    def judged(alpha: float) -> GateReport:
        return GateReport(GateSettings(alpha=alpha), (comparison("inconclusive", 0.6),))

    lines: list[str] = []
    measure_adaptively(
        lambda index, active: 0.0, judged, GateSettings(), AbOptions(max_pairs=6), lines.append
    )

    assert lines == ["1 test undecided after 4 pairs: adding 2 pairs"]


def test_tests_measured_on_one_side_only_are_new_or_missing() -> None:
    report = decide(
        {}, GateSettings(), base_only={"gone": record("gone", 1.0)}, head_only={"added": record("added", 2.0)}
    )
    assert {c.node_id: c.verdict for c in report.comparisons} == {"added": "new", "gone": "missing"}
    assert not report.failed


def test_failing_tests_are_read_from_pytest_short_summary() -> None:
    output = textwrap.dedent("""\
        ..F
        =========================== short test summary info ============================
        FAILED tests/test_a.py::test_x[a - b] - AssertionError: assert 1 == 2
        ERROR tests/test_a.py::test_y - RuntimeError: boom
        FAILED tests/test_a.py::test_z
        1 failed, 2 passed in 0.10s
        """)
    assert failing_tests(output) == (
        "tests/test_a.py::test_x[a",
        "tests/test_a.py::test_y",
        "tests/test_a.py::test_z",
    )


def test_code_is_imported_from_src_in_a_src_layout_else_from_the_top(tmp_path: Path) -> None:
    assert import_paths(tmp_path) == (tmp_path,)
    (tmp_path / "src").mkdir()
    assert import_paths(tmp_path) == (tmp_path / "src",)


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(AbError, match="--min-pairs 1"):
        AbOptions(min_pairs=1)
    with pytest.raises(AbError, match="--max-pairs 3 is below --min-pairs 4"):
        AbOptions(max_pairs=3)


# ---------------------------------------------------------------------------------------------------------
# refusing clearly


def test_outside_a_git_repository_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(VcsError, match="not inside a git working tree"):
        run_ab(AbOptions(), Config(root=tmp_path), cwd=tmp_path)


def test_an_unknown_base_is_named(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with pytest.raises(VcsError, match="unknown REF 'no-such-branch'"):
        measure(repo, base="no-such-branch")


def test_without_a_default_branch_it_asks_for_base(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "branch", "-m", "main", "trunk")
    with pytest.raises(VcsError, match="pass --base REF"):
        measure(repo)


def test_unresolved_merge_conflicts_are_refused_and_left_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "checkout", "-q", "-b", "other")
    set_work(repo, 2.0)
    commit(repo, "other")
    git(repo, "checkout", "-q", "main")
    set_work(repo, 3.0)
    commit(repo, "main")
    subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True, check=False)
    before = snapshot(repo)
    with pytest.raises(AbError, match=r"unresolved merge conflicts .*tinypkg/__init__\.py.*--head REF"):
        measure(repo)
    assert snapshot(repo) == before


def test_the_default_base_is_the_merge_base_with_the_pull_requests_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    fork = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "develop")
    set_work(repo, 1.1)
    develop = commit(repo, "develop moves on")
    git(repo, "checkout", "-q", "-b", "feature", fork)
    set_work(repo, 1.2)
    feature = commit(repo, "feature")
    git(repo, "update-ref", "refs/remotes/origin/develop", develop)
    assert default_base(repo, feature) == (fork, "merge base with main")
    monkeypatch.setenv("GITHUB_BASE_REF", "develop")
    assert default_base(repo, feature) == (fork, "merge base with origin/develop")
    monkeypatch.setenv("CI_MERGE_REQUEST_DIFF_BASE_SHA", develop)
    assert default_base(repo, feature)[0] == develop


# ---------------------------------------------------------------------------------------------------------
# end to end


def test_thirty_percent_more_work_fails_the_check_with_every_report(
    tmp_path: Path, environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, src=True)
    set_work(repo, 1.3)  # head: the working tree, uncommitted
    # as if the project were installed from head: the base side must still import the base's tinypkg
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo / "src"), os.environ.get("PYTHONPATH", "")]))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo)
    before = snapshot(repo)

    code = cli.main(
        [
            "ab",
            "--max-pairs",
            "8",
            "--json",
            str(tmp_path / "ab.json"),
            "--markdown",
            str(tmp_path / "ab.md"),
            "--",
            "tests",
        ]
    )

    assert code == 1
    result = json.loads((tmp_path / "ab.json").read_text())
    verdicts = {c["node_id"]: c["verdict"] for c in result["gate"]["comparisons"]}
    assert verdicts == {
        "tests/test_work.py::test_work[1000]": "regression",
        "tests/test_work.py::test_work[2000]": "regression",
    }
    assert all(t["change"] == pytest.approx(0.3, abs=0.08) for t in result["tests"])
    assert result["gate"]["suite"]["verdict"] == "regression" and result["gate"]["suite"]["compared"] == 2
    footprint = result["footprint"]
    assert [p["what"] for p in footprint["parts"]] == ["setting up both sides", "pairs after the first"]
    assert footprint["added_j_estimated"] is True and footprint["run_s"] == pytest.approx(
        result["elapsed_s"], abs=0.001
    )
    assert result["head"]["working_tree"] and result["head"]["dirty"]
    assert result["base"]["description"].endswith("(merge base with main)")
    markdown = (tmp_path / "ab.md").read_text()
    assert "| tests/test_work.py::test_work\\[1000\\] |" in markdown and "regression" in markdown
    assert summary.read_text() == markdown + "\n"
    captured = capsys.readouterr()
    assert "regression" in captured.out
    assert "suite total: regression over 2 tests" in captured.out
    assert "greencode: measuring added" in captured.out and "pairs after the first" in captured.out
    assert captured.err.strip().endswith("greencode ab: FAILED: 2 energy regressions")
    assert snapshot(repo) == before
    assert not (repo / ".greencode").exists()  # the side runs kept their history out of the user's tree
    assert list(environment.iterdir()) == []


def test_a_regression_names_the_function_whose_instructions_grew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, sizes="1000")
    set_work(repo, 1.5)
    monkeypatch.setenv("AB_TEST_FUNCTIONS", "1")
    monkeypatch.chdir(repo)

    code = cli.main(["ab", "--max-pairs", "4", "--json", str(tmp_path / "ab.json"), "--", "tests"])

    assert code == 1
    (spot,) = json.loads((tmp_path / "ab.json").read_text())["hotspots"]
    assert [row["function"] for row in spot["functions"]] == ["tinypkg.py:work"]
    assert spot["functions"][0]["relative"] == pytest.approx(0.5)
    assert "the regression is in `tinypkg.py:work`, +50 % instructions" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equal_work_stays_quiet_over_repeated_tries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: Path, seed: int
) -> None:
    repo = make_repo(tmp_path, sizes="1000, 2000, 3000")
    (repo / "tinypkg" / "notes.py").write_text('"""Same work, other code."""\n')
    commit(repo, "a change that costs nothing")
    monkeypatch.setenv("AB_TEST_SEED", str(seed))

    result = measure(repo, base="HEAD~1", max_pairs=4)

    assert result.exit_code == 0
    assert result.gate.regressions == ()
    assert len(result.gate.comparisons) == 3
    assert {test.pairs for test in (t.change() for t in result.tests.values()) if test} == {4}
    assert git(repo, "worktree", "list").count("\n") == 0
    assert list(environment.iterdir()) == []


def test_head_can_be_a_commit_leaving_the_working_tree_out(tmp_path: Path, environment: Path) -> None:
    # the project's own configuration is unusable: the sides must read the one given instead
    repo = make_repo(tmp_path, sizes="1000", config="[tool.greencode]\nrounds = 0\n")
    set_work(repo, 1.3)
    commit(repo, "30 % more work")
    set_work(repo, 5.0)  # uncommitted, and not what --head names
    config = tmp_path / "greencode.toml"
    config.write_text('meter = "greencode.testing:scripted"\nrounds = 3\n')

    options = AbOptions(base="HEAD~1", head="HEAD", min_pairs=2, max_pairs=2, config_file=config)
    result = run_ab(options, load_config(config), cwd=repo)

    assert not result.head.working_tree and result.head.describe().endswith("(HEAD)")
    (test,) = result.tests.values()
    change = test.change()
    assert change is not None and math.expm1(change.log_change) == pytest.approx(0.3, abs=0.1)
    assert git(repo, "worktree", "list").count("\n") == 0
    assert list(environment.iterdir()) == []


def test_what_stays_undecided_when_the_time_is_up_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, sizes="1000")
    set_work(repo, 1.05)

    result = measure(repo, min_pairs=2, max_pairs=10, time_budget_s=0.01)

    assert result.pairs == 2
    assert result.undecided == ("tests/test_work.py::test_work[1000]",)
    assert result.stopped == "--time-budget 0.01 s spent"
    assert "1 undecided after 2 pairs (--time-budget 0.01 s spent)" in result.summary()
    assert result.exit_code == 0


def test_failing_tests_are_reported_as_failures_not_energy_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, sizes="1000")
    write(
        repo,
        {
            "tests/test_flags.py": textwrap.dedent("""\
        import tinypkg


        def test_needs_little_work():
            assert tinypkg.WORK < 1.2


        def test_needs_much_work():
            assert tinypkg.WORK > 1.2
        """)
        },
    )
    commit(repo, "tests that fail on one side each")
    set_work(repo, 1.3)

    result = measure(repo, base="HEAD", min_pairs=2, max_pairs=2)

    assert result.failed == {
        "base": ("tests/test_flags.py::test_needs_much_work",),
        "head": ("tests/test_flags.py::test_needs_little_work",),
    }
    assert {c.node_id for c in result.gate.comparisons} == {"tests/test_work.py::test_work[1000]"}
    assert result.exit_code == 1
    assert "1 test failing on head" in result.summary() and "1 test failing on base" in result.summary()
    assert any("tests failing on head (this fails the check)" in note for note in result.notes)


def test_a_test_failing_on_both_sides_is_listed_but_does_not_fail_the_check(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, sizes="1000")
    write(repo, {"tests/test_flags.py": "def test_always_fails():\n    assert False\n"})
    commit(repo, "a test that fails on every commit")

    result = measure(repo, base="HEAD", min_pairs=2, max_pairs=2)

    always = ("tests/test_flags.py::test_always_fails",)
    assert result.failed == {"base": always, "head": always}
    assert result.exit_code == 0
    assert "1 test failing on both sides (not compared)" in result.summary()
    assert "failing on head" not in result.summary()
    assert any(
        note.startswith("tests failing on both sides (failing before the change too") for note in result.notes
    )


def test_failing_tests_are_split_by_where_they_fail() -> None:
    failed = {"base": ("a", "b"), "head": ("b", "c")}

    assert failing_by_side(failed) == {"head": ["c"], "both sides": ["b"], "base": ["a"]}


def test_a_base_that_cannot_be_imported_is_named_with_the_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "tinypkg" / "__init__.py").write_text("import tinypkg._speedups  # a compiled extension\n")
    commit(repo, "needs a compiled extension")
    set_work(repo, 1.0)

    with pytest.raises(AbError, match=r"pytest did not run on the base side .*ModuleNotFoundError.*--setup"):
        measure(repo, base="HEAD")


def test_the_real_estimator_flags_a_commit_doing_twice_the_work(tmp_path: Path) -> None:
    # ~20 ms of pure-Python CPU work per call on base, twice that on the feature branch
    repo = make_repo(tmp_path, sizes="3_000", config='[tool.greencode]\nmeter = "estimate"\nrounds = 3\n')
    (repo / "conftest.py").unlink()
    commit(repo, "measured by the estimator")
    git(repo, "checkout", "-q", "-b", "feature")
    set_work(repo, 2.0)
    commit(repo, "twice the work")

    result = measure(repo, max_pairs=8)

    (comparison,) = result.gate.comparisons
    assert comparison.verdict == "regression"
    assert result.estimated and result.meter == "estimate"
    assert result.base.describe().endswith("(merge base with main)")


def test_interrupting_removes_the_worktree_and_leaves_the_tree_alone(
    tmp_path: Path, environment: Path
) -> None:
    repo = make_repo(tmp_path)
    set_work(repo, 1.5)
    before = snapshot(repo)

    def interrupt(line: str) -> None:
        if line.startswith("pair 1"):
            assert git(repo, "worktree", "list").count("\n") == 1  # the base is checked out now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ab(AbOptions(), load_config(start=repo), cwd=repo, progress=interrupt)

    assert snapshot(repo) == before
    assert list(environment.iterdir()) == []


def test_sigterm_removes_the_worktree_and_stops_the_side_process(tmp_path: Path, environment: Path) -> None:
    repo = make_repo(tmp_path)
    pidfile = tmp_path / "side.pid"
    env = {**os.environ, "AB_TEST_PIDFILE": str(pidfile)}
    command = [sys.executable, "-m", "greencode", "ab", "--", "tests"]
    process = subprocess.Popen(
        command, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() and time.monotonic() < deadline:  # the base side is running its tests
            time.sleep(0.05)
        assert pidfile.exists()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.strip().endswith("greencode: interrupted")
    assert git(repo, "worktree", "list").count("\n") == 0
    assert list(environment.iterdir()) == []
    side = int(pidfile.read_text())
    # a killed side process may stay a zombie until init reaps it, so give that a moment
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(side):
        time.sleep(0.05)
    assert not _alive(side)


@pytest.fixture
def pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory where each pytest process of the repository's tests leaves a file named by its pid."""
    directory = tmp_path / "pids"
    directory.mkdir()
    monkeypatch.setenv("AB_TEST_PIDS", str(directory))
    return directory


def test_each_side_runs_in_one_process_serving_every_pair(tmp_path: Path, pids: Path) -> None:
    repo = make_repo(tmp_path)

    result = measure(repo, min_pairs=4, max_pairs=4)

    assert result.pairs == 4 and len(list(pids.iterdir())) == 2
    assert (
        "one pytest process per side, started once; its pairs served by 2 process generations of up to 2 "
        "pairs, each forked from the side's collected session"
    ) in result.notes


def test_fresh_processes_start_a_process_for_every_run(tmp_path: Path, pids: Path) -> None:
    repo = make_repo(tmp_path)

    result = measure(repo, min_pairs=2, max_pairs=2, fresh_processes=True)

    assert len(list(pids.iterdir())) == 4
    assert "a fresh pytest process for every run (--fresh-processes)" in result.notes


def test_a_side_that_cannot_serve_runs_fresh_processes_and_says_so(tmp_path: Path) -> None:
    xdist = SCRIPTED + '[tool.pytest.ini_options]\naddopts = "-p xdist -n 1"\n'
    repo = make_repo(tmp_path, sizes="1000", config=xdist)
    lines: list[str] = []

    result = run_ab(
        AbOptions(min_pairs=2, max_pairs=2), load_config(start=repo), cwd=repo, progress=lines.append
    )

    why = (
        "a fresh pytest process for every run (a side could not serve: pytest distributes the tests to xdist"
    )
    assert any(line.startswith(why) for line in lines)
    assert any(note.startswith(why) for note in result.notes)
    assert result.pairs == 2 and result.exit_code == 0


SECOND_RUN = """\
import os

import pytest

import tinypkg

RUNS = []


@pytest.mark.greencode(rounds=1)
def {name}():
    RUNS.append(1)
    assert tinypkg.work(100_000) >= 0
    if len(RUNS) > 1:
        {second_run}
"""


def with_a_test_run_again(tmp_path: Path, name: str, second_run: str) -> Path:
    """A repository whose ``tests/{name}.py`` has one test, ``name``, doing ``second_run`` when its process
    runs it again."""
    repo = make_repo(tmp_path, sizes="1000")
    write(repo, {f"tests/{name}.py": SECOND_RUN.format(name=name, second_run=second_run)})
    commit(repo, f"{name}: behaves differently when run again")
    return repo


def test_a_test_failing_when_run_again_is_measured_no_more_with_a_warning(tmp_path: Path) -> None:
    repo = with_a_test_run_again(tmp_path, "test_once", "assert False, 'only once per process'")

    result = measure(repo, base="HEAD", min_pairs=2, max_pairs=2)

    assert result.exit_code == 0 and not result.failed
    assert "tests/test_once.py::test_once" not in result.tests
    warning = (
        "warning: tests/test_once.py::test_once: failed or skipped on pair 1 of the base side after passing "
        "before, so it is not stateless"
    )
    assert any(note.startswith(warning) for note in result.notes)


PID_TEST = """\
import os
import pathlib


def test_pid():
    with pathlib.Path(os.environ["AB_TEST_PID_LOG"]).open("a") as log:
        log.write(f"{os.environ['GREENCODE_AB_SIDE']} {os.getpid()}\\n")
"""


def processes_of_each_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: object
) -> tuple[AbResult, dict[str, list[str]]]:
    """Six pairs of a repository (``repo``, else a new one) with a test logging its process: the result and,
    per side, the process of each run."""
    repo = options.pop("repo", None) or make_repo(tmp_path, sizes="1000")
    assert isinstance(repo, Path)
    write(repo, {"tests/test_pid.py": PID_TEST})
    commit(repo, "a test that logs its process")
    log = tmp_path / "pids.log"
    monkeypatch.setenv("AB_TEST_PID_LOG", str(log))
    result = measure(repo, base="HEAD", min_pairs=6, max_pairs=6, **options)
    lines = [line.split() for line in log.read_text().splitlines()]
    return result, {side: [pid for name, pid in lines if name == side] for side in ("base", "head")}


def test_each_side_measures_its_pairs_in_a_new_process_generation_every_two_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, processes = processes_of_each_run(tmp_path, monkeypatch)

    # the generations' pairs are pooled: every test has all six
    assert {len(test.base) for test in result.tests.values()} == {6}
    for runs in processes.values():
        # pass 0 and pairs 1-2 in the process itself; each later generation: a warm-up and two pairs (each
        # run of the test is 3 rounds)
        assert len(runs) == (3 + 3 + 3) * 3
        assert len(set(runs)) == 3 and len(set(runs[: 3 * 3])) == 1
    assert any(
        note.startswith("one pytest process per side, started once; its pairs served by 3")
        for note in result.notes
    )


def test_with_no_pairs_per_process_one_process_serves_every_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, processes = processes_of_each_run(tmp_path, monkeypatch, pairs_per_process=0)
    assert len(processes["base"]) == 7 * 3 and len(set(processes["base"])) == 1
    assert "one pytest process per side, each serving every later pair as a pass" in result.notes


def test_a_side_that_cannot_fork_makes_one_process_per_side_serve_every_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, sizes="1000")
    conftest = "import threading\nthreading.Thread(target=threading.Event().wait, daemon=True).start()\n"
    write(repo, {"tests/conftest.py": conftest})
    commit(repo, "collection leaves a thread running")
    result, processes = processes_of_each_run(repo.parent, monkeypatch, repo=repo)

    assert {len(set(runs)) for runs in processes.values()} == {1}
    assert {len(test.base) for test in result.tests.values()} == {6}
    assert any(
        note.startswith("no process generations, one process per side served every pair (base: collection")
        for note in result.notes
    )


def test_the_unit_of_cost_is_a_serving_sides_plain_run_estimate_else_half_the_first_pair(
    tmp_path: Path,
) -> None:
    fresh = _Runner(AbOptions(), Config(root=tmp_path), tmp_path, tmp_path)
    served = _Served(fresh)
    served.first_run_s.update(base=3.0, head=5.0)
    assert one_run_s(served, 20.0) == 4.0  # the start was not timed: the whole first run
    served.plain_s.update(base=2.0, head=2.5)

    assert one_run_s(served, 20.0) == 2.25
    assert one_run_s(fresh, 20.0) == 10.0


def test_a_serving_sides_plain_run_estimate_is_its_start_and_its_tests_own_time(tmp_path: Path) -> None:
    result = measure(make_repo(tmp_path), base="HEAD")

    # what the side's start took is timed from the serving process's own clock reading
    assert result.run_s is not None and result.measured_run_s is not None
    assert 0 < result.run_s < result.measured_run_s


def test_what_ab_took_is_stated_in_runs_of_the_tests(tmp_path: Path) -> None:
    result = measure(make_repo(tmp_path), base="HEAD")

    assert result.run_s is not None and result.run_s > 0
    assert result.to_dict()["cost_runs"] == round(result.elapsed_s / result.run_s, 2)
    assert any(note.startswith("ab took ") and "runs of the tests" in note for note in result.notes)


def test_a_generation_serves_both_orders_of_a_batch() -> None:
    assert [generation_of(pair, 2) for pair in range(6)] == [0, 0, 1, 1, 2, 2]
    assert {generation_of(pair, 0) for pair in range(6)} == {0}
    with pytest.raises(AbError, match="--pairs-per-process -1: expected a whole number >= 0"):
        AbOptions(pairs_per_process=-1)


def test_a_side_process_that_dies_is_named_with_its_last_lines(tmp_path: Path) -> None:
    repo = with_a_test_run_again(tmp_path, "test_dies", "os._exit(3)")

    dead = (
        r"pytest on the base side .* ended during pair 1 \(exit 3\); its last lines: .*tests/test_dies.py \."
    )
    with pytest.raises(AbError, match=dead):
        measure(repo, base="HEAD", min_pairs=2, max_pairs=2)


def test_interrupting_a_later_pair_stops_both_side_processes(
    tmp_path: Path, environment: Path, pids: Path
) -> None:
    repo = make_repo(tmp_path)

    def interrupt(line: str) -> None:
        if line.startswith("pair 3"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ab(AbOptions(), load_config(start=repo), cwd=repo, progress=interrupt)

    sides = [int(path.name) for path in pids.iterdir()]
    assert len(sides) == 2 and not any(_alive(pid) for pid in sides)
    assert git(repo, "worktree", "list").count("\n") == 0
    assert list(environment.iterdir()) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_bad_threshold_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(make_repo(tmp_path))
    assert cli.main(["ab", "--fail-on", "ten"]) == 2
    assert capsys.readouterr().err.startswith("greencode: error: --fail-on 'ten': expected a percentage")


def test_commits_given_where_test_paths_go_are_refused_before_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(make_repo(tmp_path))
    assert cli.main(["ab", "HEAD~0", "HEAD"]) == 2
    assert capsys.readouterr().err.startswith(
        "greencode: error: 'HEAD~0' names a commit, not a test path: choose the versions with --base REF"
    )


def test_a_test_path_that_is_also_a_branch_name_is_a_test_path(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "branch", "tests")
    assert commit_given_as_test(repo, ["tests"]) is None
    assert commit_given_as_test(repo, ["tests::test_work"]) is None


def test_a_commit_after_an_option_is_its_value_not_a_misplaced_ref(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert commit_given_as_test(repo, ["-k", "main"]) is None
    assert commit_given_as_test(repo, ["main"]) == "main"


@pytest.mark.parametrize(
    ("option", "value", "unit"), [("--max-cost", "0", "runs"), ("--time-budget", "soon", "seconds")]
)
def test_a_budget_that_is_not_a_positive_number_is_a_usage_error(
    option: str, value: str, unit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["ab", option, value])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: expected a positive number of {unit}, got {value!r}" in error


def test_the_help_states_the_librarys_defaults() -> None:
    from greencode.cli.ab import HELP_DEFAULTS

    assert {
        "min_pairs": AbOptions.min_pairs,
        "max_pairs": AbOptions.max_pairs,
        "time_budget_s": AbOptions.time_budget_s,
        "max_cost": AbOptions.max_cost,
        "pairs_per_process": AbOptions.pairs_per_process,
    } == HELP_DEFAULTS


def test_a_relative_greencode_config_names_the_same_file_for_both_sides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GREENCODE_CONFIG", "ci/greencode.toml")  # the base side runs in another directory
    environment = measuring_environment(tmp_path / "scratch")
    assert environment["GREENCODE_CONFIG"] == str((tmp_path / "ci" / "greencode.toml").resolve())


def test_sides_describe_what_was_measured(tmp_path: Path) -> None:
    base = Side("base", "origin/main", "a" * 40, tmp_path, tmp_path)
    head = Side("head", "HEAD", "b" * 40, tmp_path, tmp_path, working_tree=True, dirty=True)
    assert base.describe() == "aaaaaaaaaaaa (origin/main)"
    assert head.describe() == "working tree at bbbbbbbbbbbb with uncommitted changes"
