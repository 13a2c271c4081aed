"""benchmarks/hardware_check.py against fake counters: a machine with nothing, a fake powercap tree, a fake
NVML library, and parts that hang or crash. Durations are shrunk to fractions of a second."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import hardware_check  # noqa: E402
from fakes import make_fake_powercap  # noqa: E402
from hardware_check import PARTS, Part, render, run_check  # noqa: E402
from hardware_fakes import LiveTree  # noqa: E402
from hwcheck import calibration, estimator, nvml, perf, rapl  # noqa: E402
from hwcheck.report import Section  # noqa: E402
from hwcheck.settings import Settings  # noqa: E402

from greencode.meters.rapl import read_file  # noqa: E402

FAST = Settings(
    busy_s=0.1,
    idle_s=0.1,
    # long enough that a test process descheduled for a few hundred milliseconds on a loaded runner still
    # sees the fake tree's thread move every zone (at 0.3 s one zone once read as never moving)
    interval_probe_s=1.0,
    poller_interval_s=0.05,
    poller_window_s=0.5,
    gpu_load_s=1.0,
    gpu_settle_s=0.0,
    short_windows=3,
    estimator_round_s=0.001,
    estimator_rounds=1,
)


@pytest.fixture
def parts_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the parts' processes import the fakes in this directory."""
    tests = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])))


def by_name(sections: list[Section]) -> dict[str, Section]:
    return {section.name: section for section in sections}


def text(section: Section) -> str:
    return "\n".join(section.body)


# ---------------------------------------------------------------------------------------------------------
# the runner


def test_a_machine_with_nothing_reports_every_counter_absent(tmp_path: Path, parts_path: None) -> None:
    settings = replace(
        FAST,
        powercap_root=str(tmp_path / "none"),
        nvml_library="hardware_fakes:no_driver",
        perf_syscalls="hardware_fakes:no_pmu",
    )
    sections = by_name(run_check(settings))
    assert [s.status for s in sections.values()] == ["info", "absent", "absent", "absent", "absent", "absent"]
    assert "no powercap tree at" in sections["rapl"].summary
    assert "libnvidia-ml.so" in sections["nvml"].summary
    assert "no hardware instruction counter here" in sections["perf"].summary
    assert "no readable RAPL counter" in sections["estimator"].summary


def test_a_hanging_part_is_stopped_at_its_limit_and_the_next_part_still_runs(parts_path: None) -> None:
    parts = (Part("hang", "Hang", "hardware_fakes:hang", 1.0), PARTS[0])
    started = time.monotonic()
    hung, machine = run_check(FAST, parts)
    assert time.monotonic() - started < 60  # killed, not waited for (a generous bound: the part sleeps 600 s)
    assert hung.status == "timeout"
    assert "time limit of 1 s" in text(hung)
    assert "about to wait on a counter that never answers" in text(hung)
    assert machine.status == "info"


def test_a_crashing_part_is_reported_with_its_error(parts_path: None) -> None:
    (crashed,) = run_check(FAST, (Part("crash", "Crash", "hardware_fakes:crash", 30),))
    assert crashed.status == "error"
    assert "RuntimeError: the counter library crashed" in text(crashed)


def test_parts_past_the_overall_limit_are_skipped_not_run() -> None:
    sections = run_check(FAST, PARTS, total_limit_s=1.0)
    assert {s.status for s in sections} == {"skipped"}
    assert "overall limit of 1 s" in sections[0].summary


def test_report_has_a_summary_table_and_one_section_per_part() -> None:
    sections = [Section("rapl", "pass", "2 domains", ("body line",), 1.5)]
    report = render(sections, PARTS, "hardware_check.py --quick")
    assert report.startswith("# greencode hardware check\n")
    assert "| RAPL / powercap | pass | 1.5 | 2 domains |" in report
    assert "## RAPL / powercap\n\nbody line\n" in report


def test_command_prints_the_report_and_writes_it_to_the_output_file(tmp_path: Path) -> None:
    output = tmp_path / "report.md"
    command = [sys.executable, str(BENCHMARKS / "hardware_check.py"), "--parts", "machine,rapl", "--quick"]
    command += ["--powercap-root", str(tmp_path / "none"), "--output", str(output)]
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert output.read_text().startswith("# greencode hardware check")
    assert "## RAPL / powercap" in completed.stdout


def test_an_unknown_part_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        hardware_check.main(["--parts", "gpu"])
    assert stopped.value.code == 2
    assert "unknown part 'gpu'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# RAPL over a fake powercap tree

ZONES = {"intel-rapl:0": "package-0", "intel-rapl:0:0": "core", "intel-rapl:0:1": "dram"}


def workload(tree: LiveTree, package_w: float, core_w: float, dram_w: float) -> Callable[[float], object]:
    """A stand-in for the busy loop or the sleep: the fake tree's counters move as if it drew this power."""

    def run(seconds: float) -> None:
        # Energy follows the time that really passed: on a busy machine a sleep overruns, and counters
        # charged for the nominal time would show a power the check never asked for.
        started = time.monotonic()
        time.sleep(seconds / 2)
        spent = time.monotonic() - started
        tree.use(
            {
                "intel-rapl:0": package_w * spent,
                "intel-rapl:0:0": core_w * spent,
                "intel-rapl:0:1": dram_w * spent,
            }
        )
        time.sleep(seconds / 2)
        rest = time.monotonic() - started - spent
        tree.use(
            {
                "intel-rapl:0": package_w * rest,
                "intel-rapl:0:0": core_w * rest,
                "intel-rapl:0:1": dram_w * rest,
            }
        )

    return run


def live_tree(tmp_path: Path) -> LiveTree:
    return LiveTree(make_fake_powercap(tmp_path, packages=1, domains=("package", "core", "dram")), ZONES)


def test_rapl_passes_on_a_tree_whose_package_rises_when_busy(tmp_path: Path) -> None:
    with live_tree(tmp_path) as tree:
        section = rapl.check(
            replace(FAST, powercap_root=str(tmp_path)),
            busy=workload(tree, 30, 20, 3),
            idle=workload(tree, 10, 5, 2),
            reader=read_file,
        )
    assert section.status == "pass", text(section)
    body = text(section)
    assert "| intel-rapl:0:0 | core | intel-rapl:0 |" in body
    assert "part of package-0; not summed" in body
    assert "| `dram-0` |" in body  # DRAM is listed on its own
    assert "PASS: `package-0` moved in" in body
    assert "PASS: package power rose from" in body
    assert "PASS: intel-rapl:0:0 (core)" in body and "fits inside intel-rapl:0 (package-0)" in body
    assert "PASS: the poller was active while the window was open" in body


def test_rapl_fails_when_the_package_does_not_rise(tmp_path: Path) -> None:
    with live_tree(tmp_path) as tree:
        section = rapl.check(
            replace(FAST, powercap_root=str(tmp_path)),
            busy=workload(tree, 2, 1, 2),  # less than asleep: the busy loop's energy never showed up
            idle=workload(tree, 10, 5, 2),
            reader=read_file,
        )
    assert section.status == "fail"
    assert "FAIL: package power rose from" in text(section)


def test_rapl_reports_counters_that_never_update(tmp_path: Path) -> None:
    make_fake_powercap(tmp_path, packages=1, domains=("package",))
    section = rapl.check(replace(FAST, powercap_root=str(tmp_path)), busy=time.sleep, idle=time.sleep)
    assert section.status == "fail"
    assert "FAIL: `package-0` moved in 0 windows; no interval seen" in text(section)


def test_rapl_gives_the_exact_fix_when_counters_are_unreadable(tmp_path: Path) -> None:
    make_fake_powercap(tmp_path, packages=1, domains=("package", "dram"))

    def denied(path: Path) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return read_file(path)

    section = rapl.check(replace(FAST, powercap_root=str(tmp_path)), reader=denied)
    assert section.status == "fail"
    body = text(section)
    assert "no: permission denied" in body
    assert f"sudo chmod a+r {tmp_path}/intel-rapl:*/energy_uj" in body
    assert "/etc/tmpfiles.d/greencode-rapl.conf" in body


def test_rapl_shows_psys_and_mmio_zones_as_not_summed(tmp_path: Path) -> None:
    fake = make_fake_powercap(tmp_path, packages=1, domains=("package",), psys=True, mmio=True)
    zones = {"intel-rapl:0": "package-0", "intel-rapl:1": "psys", "intel-rapl-mmio:0": "package-0"}
    with LiveTree(fake, zones) as tree:

        def run(watts: float) -> Callable[[float], object]:
            def work(seconds: float) -> None:
                time.sleep(seconds)
                tree.use({"intel-rapl:0": watts * seconds, "intel-rapl-mmio:0": watts * seconds})
                tree.use({"intel-rapl:1": 2 * watts * seconds})

            return work

        section = rapl.check(
            replace(FAST, powercap_root=str(tmp_path)), busy=run(20), idle=run(5), reader=read_file
        )
    body = text(section)
    assert "covers the whole platform including the packages; not summed" in body
    assert "PASS: intel-rapl:1 (psys)" in body and "so it is summed only without package zones" in body
    assert "a second view of one counter, not summed" in body
    assert "PASS: the meter sums only disjoint domains: package-0" in body


def test_rapl_is_absent_without_a_powercap_tree(tmp_path: Path) -> None:
    section = rapl.check(replace(FAST, powercap_root=str(tmp_path / "none")))
    assert section.status == "absent"
    assert "no powercap tree at" in section.summary


# ---------------------------------------------------------------------------------------------------------
# NVML over a fake library


def test_nvml_counter_and_sampled_power_agree_on_a_steady_gpu() -> None:
    section = nvml.check(replace(FAST, nvml_library="hardware_fakes:running_gpus", gpu_load="none"))
    body = text(section)
    assert section.status == "pass", body
    assert "NVIDIA driver 999.99 (fake); NVML sees 2 GPU(s)." in body
    assert "| 0 | NVIDIA Fake A100 | yes |" in body
    assert "PASS: energy counter" in body and "against power sampled every 20 ms" in body
    assert "GPU load: no GPU load (gpu_load = none)." in body


def test_nvml_short_windows_are_listed_as_greencode_reports_them() -> None:
    section = nvml.check(replace(FAST, nvml_library="hardware_fakes:running_gpus", gpu_load="none"))
    body = text(section)
    for window in ("| 1 ms | 3 |", "| 10 ms | 3 |", "| 100 ms | 3 |"):
        assert window in body
    assert "greencode.profile() makes each round at least 200 ms long" in body


def test_nvml_checks_gpu_index_selection() -> None:
    section = nvml.check(
        replace(FAST, nvml_library="hardware_fakes:running_gpus", gpu_load="none", gpu_index=1)
    )
    body = text(section)
    assert "PASS: gpus = [1] gives the domains ['gpu-1']" in body
    assert "PASS: gpus = [2] is refused: gpus = [2]: NVML sees 2 GPU(s)" in body


def test_nvml_says_when_no_gpu_load_library_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml.importlib.util, "find_spec", lambda name: None)
    load, why = nvml.gpu_load(FAST, 0)
    assert load is None
    assert why == "no GPU load available (torch not installed; cupy not installed)"


def test_nvml_says_when_a_gpu_cannot_be_sampled_for_the_comparison() -> None:
    section = nvml.check(replace(FAST, nvml_library="hardware_fakes:counter_only", gpu_load="none"))
    assert section.status == "fail"
    assert "GPU 0 cannot be measured both ways" in section.summary
    assert "neither its energy" in text(section)


def test_nvml_is_absent_without_a_driver() -> None:
    section = nvml.check(replace(FAST, nvml_library="hardware_fakes:no_driver"))
    assert section.status == "absent"
    assert "libnvidia-ml.so" in section.summary


# ---------------------------------------------------------------------------------------------------------
# perf, through the instructions meter's perf backend over a fake kernel


def test_perf_counts_the_same_loop_twice_and_compares_the_counts() -> None:
    section = perf.check(replace(FAST, perf_syscalls="hardware_fakes:stepping_kernel", perf_loop=1000))
    body = text(section)
    assert section.status == "pass", body
    assert "counts the PMU gives: instructions, d1_misses, ll_misses." in body
    assert "| run 1 | 3,000,000 | 3,000,000 | 3,000,000 |" in body
    assert "PASS: the two counts differ by +0.00 %" in body
    assert "3e+03 instructions per iteration" in body


def test_perf_without_a_pmu_is_absent_and_says_why() -> None:
    section = perf.check(replace(FAST, perf_syscalls="hardware_fakes:no_pmu"))
    assert section.status == "absent"
    assert "no hardware instruction counter here" in section.summary


# ---------------------------------------------------------------------------------------------------------
# the estimator against RAPL

EXERCISE = """\
title = "Membership"
tactic = "GT-DS-01"
wasteful = "pair.py:slow"
green = "pair.py:fast"
"""
PAIR = (
    "def slow():\n    return sum(n in list(range(200)) for n in range(200))\n\ndef fast():\n    return 200\n"
)


def test_estimator_measures_each_classroom_pair_with_both_meters(tmp_path: Path) -> None:
    classroom = tmp_path / "classroom" / "01-pair"
    classroom.mkdir(parents=True)
    (classroom / "exercise.toml").write_text(EXERCISE)
    (classroom / "pair.py").write_text(PAIR)
    make_fake_powercap(tmp_path / "powercap", packages=1, domains=("package",))
    settings = replace(FAST, powercap_root=str(tmp_path / "powercap"), classroom=str(tmp_path / "classroom"))
    section = estimator.check(settings)
    body = text(section)
    assert section.status == "info"
    assert "| exercise | wasteful RAPL | est. | error | green RAPL |" in body
    assert "| 01-pair |" in body
    assert "ranking agrees on" in section.summary


def test_nvml_reports_a_gpu_load_that_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(seconds: float) -> str:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(nvml, "gpu_load", lambda settings, index: (out_of_memory, ""))
    section = nvml.check(replace(FAST, nvml_library="hardware_fakes:running_gpus"))
    assert "Work done: the load failed (RuntimeError: CUDA out of memory)" in text(section)


# ---------------------------------------------------------------------------------------------------------
# the instruction model's calibration


def test_calibration_runs_the_workloads_and_reports_why_a_flat_counter_cannot_be_fitted(
    tmp_path: Path,
) -> None:
    make_fake_powercap(tmp_path, packages=1, domains=("package",))
    settings = replace(
        FAST,
        powercap_root=str(tmp_path),
        perf_syscalls="hardware_fakes:stepping_kernel",
        calibration_s=0.001,
        calibration_mib=1,
        idle_s=0.01,
    )
    section = calibration.check(settings)
    assert section.status == "fail"
    assert "used no energy above idle by RAPL's count" in section.summary


def test_calibration_is_absent_without_instruction_counts(tmp_path: Path) -> None:
    make_fake_powercap(tmp_path, packages=1, domains=("package",))
    section = calibration.check(
        replace(FAST, powercap_root=str(tmp_path), perf_syscalls="hardware_fakes:no_pmu")
    )
    assert section.status == "absent"
    assert "needs hardware instruction counts (perf_event_open)" in section.summary
