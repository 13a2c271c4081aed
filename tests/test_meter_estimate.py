"""The estimator: CPU-model lookup, the power model's provenance, and energy = CPU time × W/thread."""

from __future__ import annotations

import csv
import gc
import io
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from processes import in_forked_child

import greencode
from greencode.config import Config, EstimatorConfig, load_config
from greencode.errors import ConfigError
from greencode.fingerprint import HostInfo, detect_host, parse_cpuinfo
from greencode.meters import estimate
from greencode.meters.base import Meter
from greencode.meters.estimate import (
    ALONE_AT_START_NOTE,
    GENERAL_DEFAULT_W,
    SERVER_DEFAULT_W,
    SHARED_NOTE,
    THREAD_TIME_NOTE,
    EstimateMeter,
    PowerModel,
    build_power_model,
    children_cpu_s,
    codecarbon_table_path,
    create,
    normalise_cpu_name,
)

TABLE_ROWS = list(csv.DictReader(io.StringIO(files("greencode").joinpath("data/cpu_power.csv").read_text())))
NO_OVERRIDES = EstimatorConfig()
SET_HINT = "set [tool.greencode.estimator] cpu_model or watts_per_thread"


def model_for(name: str, estimator: EstimatorConfig = NO_OVERRIDES, **host: object) -> PowerModel:
    return build_power_model(estimator, HostInfo(name, **host))  # type: ignore[arg-type]


def figures(model: PowerModel) -> tuple[str, float | None, int | None, str]:
    return (model.cpu_model, model.tdp_w, model.threads, model.basis)


class FakeClock:
    """A CPU clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_meter(watts_per_thread: float = 2.0) -> tuple[EstimateMeter, FakeClock, FakeClock]:
    own, children = FakeClock(), FakeClock()
    model = PowerModel("Test CPU", watts_per_thread, None, None, "config", "test")
    return EstimateMeter(model, cpu_clock=own, children_clock=children), own, children


# ---------------------------------------------------------------------------------------------------------
# the packaged table


def test_every_table_row_has_positive_figures_a_source_and_a_year() -> None:
    for row in TABLE_ROWS:
        assert float(row["tdp_w"]) > 0, row
        assert int(row["threads"]) >= 1, row
        assert row["source"].strip(), row
        assert 2010 <= int(row["year"]) <= 2030, row


def test_table_model_names_stay_distinct_after_normalising() -> None:
    names = [normalise_cpu_name(row["model"]) for row in TABLE_ROWS]
    assert len(names) == len(set(names))


def test_table_covers_the_hosted_ci_runners() -> None:
    listed = {normalise_cpu_name(row["model"]) for row in TABLE_ROWS}
    for runner in (
        "AMD EPYC 7763",
        "Intel Xeon Platinum 8272CL",
        "Intel Xeon Platinum 8370C",
        "Intel Xeon Platinum 8171M",
        "Intel Core i7-8700B",
        "Apple M1",
    ):
        assert normalise_cpu_name(runner) in listed


# ---------------------------------------------------------------------------------------------------------
# model lookup


def test_github_runner_cpu_is_epyc_7763_at_280_w_over_128_threads() -> None:
    model = model_for("AMD EPYC 7763 64-Core Processor")
    assert figures(model) == ("AMD EPYC 7763", 280.0, 128, "table")
    assert model.watts_per_thread == pytest.approx(2.1875)
    assert model.provenance == (
        "estimated: CPU time x 2.19 W/thread (AMD EPYC 7763: 280 W TDP / 128 threads, "
        "AMD EPYC 7763 product page, 2021)"
    )


@pytest.mark.parametrize(
    ("detected", "listed"),
    [
        ("Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz", "Intel Xeon Platinum 8272CL"),
        ("Intel(R) Xeon(R) CPU E5-2673 v4 @ 2.30GHz", "Intel Xeon E5-2673 v4"),
        ("12th Gen Intel(R) Core(TM) i7-1255U", "Intel Core i7-1255U"),
        ("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", "Intel Core i7-1165G7"),
        ("Intel(R) Core(TM) i7-8700B CPU @ 3.20GHz", "Intel Core i7-8700B"),
        ("Intel(R) Core(TM) Ultra 7 155H", "Intel Core Ultra 7 155H"),
        ("AMD Ryzen 7 5800U with Radeon Graphics", "AMD Ryzen 7 5800U"),
        ("AMD Ryzen 9 5900X 12-Core Processor", "AMD Ryzen 9 5900X"),
        ("AMD Ryzen™ 7 PRO 4750U", "AMD Ryzen 7 PRO 4750U"),
        ("Apple M1 (Virtual)", "Apple M1"),
        ("Apple M2", "Apple M2"),
    ],
)
def test_vendor_noise_around_a_model_name_is_ignored(detected: str, listed: str) -> None:
    model = model_for(detected)
    assert model.basis == "table"
    assert model.cpu_model == listed
    assert "nearest listed model" not in model.source


@given(
    row=st.sampled_from(TABLE_ROWS),
    trademarks=st.booleans(),
    clock=st.sampled_from(["", " CPU @ 2.60GHz", " @ 3.2 GHz", " 8-Core Processor", " Processor"]),
    generation=st.sampled_from(["", "12th Gen ", "11th Gen "]),
    spacing=st.sampled_from([" ", "  "]),
)
def test_any_listed_model_is_found_through_typical_noise(
    row: dict[str, str], trademarks: bool, clock: str, generation: str, spacing: str
) -> None:
    words = row["model"].split()
    if trademarks:
        words[0] += "(R)"
        words[1] += "(TM)"
    detected = generation + spacing.join(words) + clock
    assert model_for(detected).cpu_model == row["model"]


def test_a_variant_of_a_listed_model_uses_it_and_says_so() -> None:
    model = model_for("Apple M1 Pro")
    assert model.cpu_model == "Apple M1"
    assert "nearest listed model to 'Apple M1 Pro'" in model.source


@pytest.mark.parametrize("detected", ["AMD EPYC 7764", "Intel Core i7-1165G", "AMD Ryzen 7"])
def test_a_different_model_number_is_not_matched(detected: str) -> None:
    assert model_for(detected).basis == "default"


def test_a_vms_bare_amd_epyc_gets_the_server_default_labelled_as_a_default() -> None:
    model = model_for("AMD EPYC")
    assert model.basis == "default"
    assert model.watts_per_thread == SERVER_DEFAULT_W == 280 / 128
    assert model.tdp_w is None and model.threads is None
    assert model.provenance.startswith("estimated: CPU time x 2.19 W/thread (default for unknown 'AMD EPYC'")
    assert model.provenance.endswith(SET_HINT + ")")


@pytest.mark.parametrize("detected", ["Intel Xeon Processor (Icelake)", "AMD EPYC-Rome Processor", "Xeon"])
def test_unnamed_server_cpus_get_the_server_default(detected: str) -> None:
    model = model_for(detected)
    assert (model.basis, model.watts_per_thread) == ("default", SERVER_DEFAULT_W)
    assert f"default for unknown {detected!r}" in model.source


@pytest.mark.parametrize("detected", ["QEMU Virtual CPU version 2.5+", "ARMv8 Processor rev 1 (v8l)"])
def test_other_unknown_cpus_get_cloud_carbon_footprints_average_vcpu(detected: str) -> None:
    model = model_for(detected)
    assert (model.basis, model.watts_per_thread) == ("default", GENERAL_DEFAULT_W)
    assert "Cloud Carbon Footprint's average vCPU at full load" in model.source
    assert SET_HINT in model.source


def test_an_undetected_model_says_so() -> None:
    model = model_for("unknown")
    assert model.watts_per_thread == GENERAL_DEFAULT_W
    assert "default for an undetected CPU model" in model.source


# ---------------------------------------------------------------------------------------------------------
# overrides from [tool.greencode.estimator]


def test_configured_watts_per_thread_wins_over_everything() -> None:
    estimator = EstimatorConfig(cpu_model="AMD EPYC 7763", watts_per_thread=1.5, tdp_w=100.0, threads=10)
    model = model_for("AMD EPYC", estimator)
    assert (model.watts_per_thread, model.basis) == (1.5, "config")
    assert model.provenance == (
        "estimated: CPU time x 1.5 W/thread (set in [tool.greencode.estimator] watts_per_thread)"
    )


def test_configured_tdp_and_threads_replace_the_tables_figures() -> None:
    model = model_for("AMD EPYC", EstimatorConfig(tdp_w=240.0, threads=96))
    assert (model.watts_per_thread, model.tdp_w, model.threads, model.basis) == (2.5, 240.0, 96, "config")
    assert "tdp_w 240 W from [tool.greencode.estimator]" in model.source
    assert "threads 96 from [tool.greencode.estimator]" in model.source


def test_configured_tdp_alone_keeps_the_tables_thread_count() -> None:
    model = model_for("AMD EPYC 7763 64-Core Processor", EstimatorConfig(tdp_w=225.0))
    assert (model.tdp_w, model.threads) == (225.0, 128)
    assert "AMD EPYC 7763 product page" in model.source


def test_configured_threads_for_an_unknown_model_needs_a_tdp_too() -> None:
    with pytest.raises(ConfigError, match=r"tdp_w of CPU 'AMD EPYC' is in none of greencode's CPU tables"):
        model_for("AMD EPYC", EstimatorConfig(threads=64))


def test_incomplete_tdp_and_threads_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.greencode.estimator]\ntdp_w = 100\n")
    with pytest.raises(ConfigError, match="threads of CPU 'AMD EPYC'") as error:
        create(load_config(start=tmp_path, environ={}), host=HostInfo("AMD EPYC"), codecarbon_csv=None)
    assert str(path) in str(error.value) and "estimator.threads" in str(error.value)


def test_a_typo_in_the_configured_cpu_model_says_so_and_suggests_the_nearest(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.greencode.estimator]\ncpu_model = "AMD EPYC 7736"\n')
    with pytest.raises(ConfigError, match="did you mean 'AMD EPYC 7763'") as error:
        create(load_config(start=tmp_path, environ={}), host=HostInfo("unknown"), codecarbon_csv=None)
    assert str(path) in str(error.value) and "cpu_model = 'AMD EPYC 7736'" in str(error.value)


def test_a_configured_cpu_model_unlike_any_listed_one_names_the_ways_out() -> None:
    estimator = EstimatorConfig(cpu_model="Quantum Abacus")
    with pytest.raises(ConfigError, match="in none of greencode's CPU tables; set a listed model") as error:
        model_for("unknown", estimator)
    assert "did you mean" not in str(error.value) and "watts_per_thread" in str(error.value)


def test_configured_cpu_model_replaces_the_detected_name() -> None:
    model = model_for("AMD EPYC", EstimatorConfig(cpu_model="AMD EPYC 7R13"))
    assert figures(model) == ("AMD EPYC 7R13", 225.0, 96, "table")


def test_overrides_are_read_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.greencode.estimator]\ncpu_model = "Apple M2"\n')
    meter = create(load_config(start=tmp_path), host=HostInfo("AMD EPYC"), codecarbon_csv=None)
    assert meter.model.cpu_model == "Apple M2"
    assert meter.model.watts_per_thread == 2.5


# ---------------------------------------------------------------------------------------------------------
# CodeCarbon's table (the `carbon` extra), through a small fake file


@pytest.fixture
def codecarbon_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cpu_power.csv"
    path.write_text("Name,TDP\nIntel Xeon Gold 6248,150\nAMD EPYC 7763,999\nBroken Row,n/a\n")
    return path


def test_codecarbon_tdp_with_this_machines_threads_on_real_hardware(codecarbon_csv: Path) -> None:
    host = HostInfo("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", threads_per_socket=40, virtual=False)
    model = build_power_model(NO_OVERRIDES, host, codecarbon_csv)
    assert figures(model) == ("Intel Xeon Gold 6248", 150.0, 40, "codecarbon")
    assert model.watts_per_thread == pytest.approx(3.75)
    assert "CodeCarbon cpu_power.csv" in model.source
    assert "this machine's logical CPUs per socket" in model.source


def test_greencodes_own_table_comes_before_codecarbons(codecarbon_csv: Path) -> None:
    model = build_power_model(NO_OVERRIDES, HostInfo("AMD EPYC 7763", 128, False), codecarbon_csv)
    assert (model.tdp_w, model.basis) == (280.0, "table")


def test_in_a_vm_codecarbons_tdp_alone_falls_back_to_the_default_and_says_why(codecarbon_csv: Path) -> None:
    model = build_power_model(NO_OVERRIDES, HostInfo("Intel Xeon Gold 6248", 2, virtual=True), codecarbon_csv)
    assert (model.basis, model.watts_per_thread) == ("default", SERVER_DEFAULT_W)
    assert "CodeCarbon lists 150 W TDP but no thread count: set threads" in model.source


def test_configured_threads_complete_codecarbons_tdp(codecarbon_csv: Path) -> None:
    host = HostInfo("Intel Xeon Gold 6248", 2, virtual=True)
    model = build_power_model(EstimatorConfig(threads=40), host, codecarbon_csv)
    assert (model.tdp_w, model.threads, model.basis) == (150.0, 40, "config")
    assert "CodeCarbon cpu_power.csv" in model.source


def test_codecarbons_table_is_found_without_importing_codecarbon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "codecarbon"
    (package / "data" / "hardware").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('codecarbon must not be imported')\n")
    (package / "data" / "hardware" / "cpu_power.csv").write_text("Name,TDP\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "codecarbon", raising=False)
    assert codecarbon_table_path() == package / "data" / "hardware" / "cpu_power.csv"
    assert "codecarbon" not in sys.modules


def test_create_uses_an_injected_codecarbon_table(codecarbon_csv: Path) -> None:
    meter = create(Config(), host=HostInfo("Intel Xeon Gold 6248", 40, False), codecarbon_csv=codecarbon_csv)
    assert meter.model.basis == "codecarbon"


# ---------------------------------------------------------------------------------------------------------
# detection


def test_cpuinfo_gives_model_threads_per_socket_and_virtualisation() -> None:
    cpuinfo = (
        "processor\t: 0\nmodel name\t: AMD EPYC 7763 64-Core Processor\nsiblings\t: 4\n"
        "flags\t\t: fpu vme hypervisor lahf_lm\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 7763 64-Core Processor\n"
    )
    assert parse_cpuinfo(cpuinfo) == HostInfo("AMD EPYC 7763 64-Core Processor", 4, virtual=True)


def test_cpuinfo_without_hypervisor_flag_is_real_hardware() -> None:
    host = parse_cpuinfo("model name : Intel(R) Core(TM) i7-8700 CPU\nsiblings : 12\nflags : fpu vme sse\n")
    assert (host.threads_per_socket, host.virtual) == (12, False)


def test_cpuinfo_without_a_model_name_is_unknown() -> None:
    assert parse_cpuinfo("processor : 0\nCPU part : 0xd0c\n").cpu_model == "unknown"


def test_detection_runs_once_and_names_a_model() -> None:
    host = detect_host()
    assert host is detect_host()
    assert host.cpu_model


# ---------------------------------------------------------------------------------------------------------
# the meter


def test_energy_is_cpu_time_times_watts_per_thread() -> None:
    meter, own, _ = fake_meter(watts_per_thread=2.5)
    window = meter.start()
    own.now += 4.0
    assert window.stop().energy_j == {"cpu": 10.0}


def test_a_window_without_cpu_time_costs_zero_joules() -> None:
    meter, _, _ = fake_meter()
    assert meter.start().stop().energy_j == {"cpu": 0.0}


def test_reaped_childrens_cpu_time_is_counted() -> None:
    meter, own, children = fake_meter(watts_per_thread=2.0)
    window = meter.start()
    own.now += 0.5
    children.now += 1.5
    assert window.stop().energy_j == {"cpu": 4.0}


def test_a_real_child_process_is_counted_once_waited_for() -> None:
    model = PowerModel("Test CPU", 1.0, None, None, "config", "test")
    meter = EstimateMeter(model, cpu_clock=lambda: 0.0)  # only the children's clock is real
    window = meter.start()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(300_000))"], check=True)
    assert window.stop().energy_j["cpu"] > 0


def test_overlapping_and_nested_windows_are_independent() -> None:
    meter, own, _ = fake_meter(watts_per_thread=1.0)
    outer = meter.start()
    own.now += 1.0
    inner = meter.start()
    own.now += 2.0
    assert inner.stop().energy_j["cpu"] == 2.0
    late = meter.start()
    own.now += 4.0
    assert outer.stop().energy_j["cpu"] == 7.0
    own.now += 8.0
    assert late.stop().energy_j["cpu"] == 12.0


class ThreadClocks:
    """A per-thread CPU clock the test moves by hand, one reading per thread; ``reads`` counts its reads."""

    def __init__(self) -> None:
        self.now: dict[int, float] = {}
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now.get(threading.get_ident(), 0.0)

    def add(self, thread: int, seconds: float) -> None:
        self.now[thread] = self.now.get(thread, 0.0) + seconds


def threaded_meter() -> tuple[EstimateMeter, FakeClock, ThreadClocks]:
    own, threads = FakeClock(), ThreadClocks()
    model = PowerModel("Test CPU", 1.0, None, None, "config", "test")
    meter = EstimateMeter(model, cpu_clock=own, children_clock=lambda: 0.0, thread_clock=threads)
    return meter, own, threads


def test_windows_overlapping_in_two_threads_count_their_own_threads_cpu_time() -> None:
    meter, own, threads = threaded_meter()
    with ThreadPoolExecutor(max_workers=1) as worker:
        other = worker.submit(threading.get_ident).result()
        a = worker.submit(meter.start).result()
        b = meter.start()
        own.now += 3.0
        threads.add(other, 1.0)
        threads.add(threading.get_ident(), 2.0)
        first = worker.submit(a.stop).result()
        second = b.stop()
    assert (first.energy_j, second.energy_j) == ({"cpu": 1.0}, {"cpu": 2.0})
    assert first.concurrent and second.concurrent and first.warnings == (THREAD_TIME_NOTE,)


def test_a_window_around_windows_of_other_threads_keeps_the_process_figure() -> None:
    meter, own, threads = threaded_meter()
    with ThreadPoolExecutor(max_workers=1) as worker:
        other = worker.submit(threading.get_ident).result()
        outer = meter.start()
        inner = worker.submit(meter.start).result()
        own.now += 5.0
        threads.add(other, 4.0)
        inside = worker.submit(inner.stop).result()
        own.now += 1.0
        whole = outer.stop()
    assert whole.energy_j == {"cpu": 6.0} and not whole.concurrent and whole.warnings == ()
    assert inside.energy_j == {"cpu": 4.0} and inside.concurrent


def test_a_window_in_a_forked_child_is_not_overlapped_by_windows_the_parents_other_threads_had_open() -> None:
    meter, own, _ = threaded_meter()

    def in_child() -> list[object]:
        window = meter.start()
        own.now += 1.0
        reading = window.stop()
        return [reading.concurrent, list(reading.warnings)]

    with ThreadPoolExecutor(max_workers=1) as worker:
        elsewhere = worker.submit(meter.start).result()  # open in another thread while this one forks
        assert in_forked_child(in_child) == [False, []]
        worker.submit(elsewhere.stop).result()


def test_an_estimator_in_a_forked_child_does_not_wait_for_a_lock_another_thread_held() -> None:
    meter, _, _ = threaded_meter()
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with meter._lock:
            holding.set()
            release.wait(60)

    with ThreadPoolExecutor(max_workers=2) as worker:
        elsewhere = worker.submit(meter.start).result()  # a second thread's table: windows take the lock
        held = worker.submit(hold)
        holding.wait(60)
        try:
            assert in_forked_child(lambda: meter.start().stop().energy_j, deadline_s=30) == {"cpu": 0.0}
        finally:
            release.set()
        held.result()
        worker.submit(elsewhere.stop).result()


def test_an_overlapped_window_closed_in_another_thread_is_flagged_as_shared() -> None:
    meter, own, _ = threaded_meter()
    with ThreadPoolExecutor(max_workers=1) as worker:
        a = meter.start()
        b = worker.submit(meter.start).result()
        own.now += 2.0
        moved = worker.submit(a.stop).result()
        b.stop()
    assert moved.energy_j == {"cpu": 2.0} and moved.concurrent and moved.warnings == (SHARED_NOTE,)


@pytest.fixture
def alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """This thread is the main thread and no other Python thread runs (a test runner's own threads aside)."""
    monkeypatch.setattr(estimate, "main_thread", threading.get_ident())
    monkeypatch.setattr(estimate, "python_threads", lambda: 0)


def test_a_window_in_the_main_thread_with_no_other_python_thread_does_not_read_the_thread_clock(
    alone: None,
) -> None:
    meter, own, threads = threaded_meter()
    window = meter.start()
    own.now += 1.0
    reading = window.stop()
    assert threads.reads == 0 and reading.energy_j == {"cpu": 1.0} and not reading.concurrent


@pytest.mark.parametrize(
    ("other_python_threads", "main_thread_offset"),
    [(1, 0), (0, 1)],
    # not the main thread: a thread a C library started calls into Python, uncounted by python_threads()
    ids=["main-thread-while-another-python-thread-runs", "not-the-main-thread"],
)
def test_a_window_reads_the_thread_clock_unless_the_main_thread_runs_alone(
    alone: None, monkeypatch: pytest.MonkeyPatch, other_python_threads: int, main_thread_offset: int
) -> None:
    monkeypatch.setattr(estimate, "python_threads", lambda: other_python_threads)
    monkeypatch.setattr(estimate, "main_thread", threading.get_ident() + main_thread_offset)
    meter, _, threads = threaded_meter()
    meter.start().stop()
    assert threads.reads == 1


def test_a_window_begun_alone_and_overlapped_by_a_later_threads_window_keeps_the_process_figure_flagged(
    alone: None,
) -> None:
    meter, own, threads = threaded_meter()
    with ThreadPoolExecutor(max_workers=1) as worker:
        first = meter.start()
        other = worker.submit(meter.start).result()  # opened after it, still open when it closes
        own.now += 3.0
        threads.add(threading.get_ident(), 2.0)
        reading = first.stop()
        worker.submit(other.stop).result()
    assert reading.energy_j == {"cpu": 3.0} and reading.concurrent
    assert reading.warnings == (ALONE_AT_START_NOTE,)


def test_a_window_begun_alone_around_a_later_threads_window_keeps_the_process_figure_unflagged(
    alone: None,
) -> None:
    meter, own, _ = threaded_meter()
    with ThreadPoolExecutor(max_workers=1) as worker:
        outer = meter.start()
        worker.submit(lambda: meter.start().stop()).result()
        own.now += 3.0
        reading = outer.stop()
    assert reading.energy_j == {"cpu": 3.0} and not reading.concurrent and reading.warnings == ()


def test_in_a_real_process_a_window_begun_before_any_thread_and_outlived_by_a_threads_window_is_flagged(
    tmp_path: Path,
) -> None:
    # the real count of Python threads, the real clocks and measure()'s own path, in a process of its own
    code = f"""
import threading, greencode
from greencode.config import Config
greencode.configure(Config(root={str(tmp_path)!r}, meter="estimate", output="none"))
with greencode.measure("warm-up"):  # chooses the meters: the windows below take measure()'s fast path
    pass
opened, release = threading.Event(), threading.Event()
def other():
    with greencode.measure("other"):
        opened.set()
        release.wait(60)
with greencode.measure("first") as first:
    thread = threading.Thread(target=other)
    thread.start()
    opened.wait(60)
with greencode.measure("second") as second:  # another Python thread runs: the thread's clock is read
    pass
release.set()
thread.join()
print(repr((first.result.warnings, first.result.concurrent, second.result.warnings)))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == repr(((ALONE_AT_START_NOTE,), True, (THREAD_TIME_NOTE,)))


def test_windows_one_after_another_in_two_threads_are_not_concurrent() -> None:
    meter, _, _ = threaded_meter()
    with ThreadPoolExecutor(max_workers=1) as worker:
        first = worker.submit(lambda: meter.start().stop()).result()
    second = meter.start().stop()
    assert not first.concurrent and not second.concurrent


def test_measurements_in_a_thread_pool_add_up_to_no_more_than_the_whole(tmp_path: Path) -> None:
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    try:

        @greencode.measure("part")
        def part() -> int:
            return sum(i * i for i in range(200_000))

        with greencode.measure("whole") as whole, ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: part(), range(8)))
        parts = [m for m in greencode.results() if m.label == "part"]
        assert whole.result is not None and not whole.result.concurrent
        assert any(m.concurrent for m in parts) and all(
            m.to_dict()["concurrent"] == m.concurrent for m in parts
        )
        resolution = time.get_clock_info("process_time").resolution
        # thread CPU times partition the process's: their sum cannot exceed the whole (clock ticks aside)
        watts = whole.result.energy_j / max(whole.result.cpu_s, resolution)
        assert sum(m.energy_j for m in parts) <= whole.result.energy_j + 8 * 2 * resolution * watts
    finally:
        greencode.configure(Config(root=tmp_path, output="none"))
        greencode.clear_results()


class CountingLock:
    """A lock that counts how often it is taken."""

    def __init__(self) -> None:
        self.taken = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self.taken += 1
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_windows_of_one_thread_take_no_lock() -> None:
    meter, _, _ = threaded_meter()
    lock = meter._lock = CountingLock()  # type: ignore[assignment]
    outer = meter.start()
    meter.start().stop()
    outer.stop()
    assert lock.taken == 0


def test_a_thread_whose_last_window_closed_leaves_the_other_lock_free_again() -> None:
    meter, _, _ = threaded_meter()
    lock = meter._lock = CountingLock()  # type: ignore[assignment]
    first = meter.start()
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(lambda: meter.start().stop()).result()  # compares with this thread's windows
    taken = lock.taken
    first.stop()
    meter.start().stop()
    assert taken > 0 and lock.taken == taken


def test_a_window_stops_once() -> None:
    meter, _, _ = fake_meter()
    window = meter.start()
    window.stop()
    with pytest.raises(RuntimeError, match="already stopped"):
        window.stop()


def test_a_clock_going_backwards_counts_zero_and_warns() -> None:
    meter, own, _ = fake_meter()
    own.now = 5.0
    window = meter.start()
    own.now = 1.0
    reading = window.stop()
    assert reading.energy_j == {"cpu": 0.0}
    assert "went backwards" in reading.warnings[0]


def test_the_single_cpu_domain_is_estimated_and_says_how() -> None:
    meter = create(Config(), host=HostInfo("AMD EPYC"), codecarbon_csv=None)
    (domain,) = meter.domains()
    assert (domain.name, domain.estimated) == ("cpu", True)
    assert domain.source == meter.model.provenance
    assert domain.source.startswith("estimated: CPU time x 2.19 W/thread (default for unknown 'AMD EPYC'")


def test_the_meter_is_a_process_scoped_meter_with_microsecond_resolution_or_coarser() -> None:
    meter = create(Config(), host=HostInfo("AMD EPYC 7763"), codecarbon_csv=None)
    assert isinstance(meter, Meter)
    assert (meter.name, meter.scope) == ("estimate", "process")
    assert meter.resolution_s >= 1e-6


def test_the_meter_is_registered_as_an_entry_point() -> None:
    (entry_point,) = [ep for ep in entry_points(group="greencode.meters") if ep.name == "estimate"]
    assert entry_point.value == "greencode.meters.estimate:create"


def test_the_real_clocks_count_this_processs_work() -> None:
    meter = create(replace(Config(), estimator=EstimatorConfig(watts_per_thread=1.0)))
    window = meter.start()
    sum(i * i for i in range(200_000))
    assert window.stop().energy_j["cpu"] > 0
    assert children_cpu_s() >= 0


def test_a_window_of_another_thread_collected_unstopped_does_not_make_later_windows_concurrent() -> None:
    meter, _, _ = threaded_meter()
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(meter.start).result()  # opened, never stopped, then dropped
    gc.collect()
    assert not meter.start().stop().concurrent


def test_the_estimator_shares_the_recorders_cpu_clock_reading(tmp_path: Path) -> None:
    # with the default clocks the recorder hands its own reading to the estimator: energy and cpu_s then
    # come from the same two reads of the process clock
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    meter = greencode.meters_in_use().meters[0]
    assert isinstance(meter, EstimateMeter) and meter.reads_process_time
    with greencode.measure("work") as m:
        sum(range(20_000))
    assert m.result is not None
    assert m.result.energy_j == m.result.cpu_s * meter.model.watts_per_thread


def test_closing_a_window_gives_the_figures_its_reading_gives() -> None:
    # the recorder takes close_at's figures without a Reading; they must be the Reading's
    meter, own, children = fake_meter()
    first, second = meter.start(), meter.start()
    own.now, children.now = 1.5, 0.25
    reading = first.stop_at(own.now)
    assert second.close_at(own.now) == (reading.energy_j["cpu"], reading.warnings, reading.concurrent)
    assert reading.energy_j == {"cpu": (1.5 + 0.25) * 2.0}


def test_the_estimator_alone_gives_the_selections_domain_and_provenance(tmp_path: Path) -> None:
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    selection = greencode.meters_in_use()
    with greencode.measure("work") as m:
        pass
    result = m.result
    assert result is not None and result.measured and result.estimated
    assert (result.meter, list(result.domains)) == ("estimate", ["cpu"])
    assert result.provenance == selection.provenance == {"cpu": selection.meters[0].model.provenance}
    assert result.energy_j == result.domains["cpu"]
    assert (result.warnings, result.concurrent, result.counts, result.functions) == ((), False, {}, {})


def test_an_estimator_window_that_cannot_be_read_is_recorded_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greencode.meters import estimate

    def unreadable(self: object, window: object, cpu_now: float) -> tuple[float, tuple[str, ...], bool]:
        raise OSError("getrusage failed")

    def unreadable_clock(who: int) -> object:
        raise OSError("getrusage failed")

    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    greencode.meters_in_use()  # chosen, so that the block takes measure()'s fast path
    monkeypatch.setattr(estimate.EstimateMeter, "close_window", unreadable)
    with pytest.warns(RuntimeWarning, match="getrusage failed"), greencode.measure("work") as m:
        # the fast path's read fails, then the general path's (test_measure_fast_path.py)
        monkeypatch.setattr(greencode.measurement, "getrusage", unreadable_clock)
        ran = True
    assert ran and m.result is not None
    assert m.result.meter_error == "meter 'estimate' could not be read (OSError: getrusage failed)"
    assert (dict(m.result.domains), m.result.measured) == ({}, False)
    assert m.result.energy_j != m.result.energy_j  # nan


def test_an_estimator_result_is_the_dataclass_its_fields_build(tmp_path: Path) -> None:
    # results of the estimator alone are built from a copy of the fields they share, not by __init__
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    with greencode.measure("work") as m:
        pass
    result = m.result
    assert result is not None
    rebuilt = greencode.Measurement(**{name: getattr(result, name) for name in result.__dataclass_fields__})
    assert rebuilt == result and rebuilt.to_dict() == result.to_dict()


def test_what_one_estimator_result_says_is_not_carried_into_the_next(tmp_path: Path) -> None:
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    with pytest.raises(ValueError), greencode.measure("fails") as failed:
        raise ValueError
    with greencode.measure("works") as worked:
        pass
    assert failed.result is not None and worked.result is not None
    assert (failed.result.error, worked.result.error) == ("ValueError", None)


def test_an_estimator_windows_kept_figures_are_its_measurements(tmp_path: Path) -> None:
    # the print sink's summary counts calls from the figures a block keeps; they must be the result's
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    with greencode.measure("work") as block:
        sum(range(20_000))
    result = block.measurement()
    kept = ("label", "wall_s", "cpu_s", "energy_j", "warnings", "error", "meter_error", "concurrent")
    assert [getattr(block, name) for name in kept] == [getattr(result, name) for name in kept]
    assert (block.estimated, block.meter) == (result.estimated, result.meter) == (True, "estimate")


def test_recorders_holding_their_estimator_windows_in_two_threads_count_their_threads_cpu_time(
    tmp_path: Path,
) -> None:
    # with the real process clock a recorder of the estimator alone holds its window itself; it must take
    # part in telling overlaps apart as the meter's own windows do
    from greencode.measurement import Recorder
    from greencode.meters import Selection

    threads = ThreadClocks()
    model = PowerModel("Test CPU", 1.0, None, None, "config", "test")
    meter = EstimateMeter(model, children_clock=lambda: 0.0, thread_clock=threads)
    selection, config = Selection((meter,), ()), Config(root=tmp_path)
    assert selection.sole_cpu_time_meter is meter
    with ThreadPoolExecutor(max_workers=1) as worker:
        other = worker.submit(threading.get_ident).result()
        a = worker.submit(Recorder, "a", selection, config).result()
        b = Recorder("b", selection, config)
        threads.add(other, 1.0)
        threads.add(threading.get_ident(), 2.0)
        first = worker.submit(a.stop).result()
        second = b.stop()
    assert (first.energy_j, second.energy_j) == (1.0, 2.0)
    assert first.concurrent and second.concurrent and first.warnings == (THREAD_TIME_NOTE,)


def test_a_child_process_run_inside_a_measured_block_is_counted(tmp_path: Path) -> None:
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    watts = greencode.meters_in_use().meters[0].model.watts_per_thread  # type: ignore[attr-defined]
    with greencode.measure("child") as m:
        subprocess.run([sys.executable, "-c", "sum(i * i for i in range(300_000))"], check=True)
    assert m.result is not None
    # the energy is this process's CPU time plus the child's: a Python start-up alone is milliseconds
    assert m.result.energy_j - m.result.cpu_s * watts > 0.002 * watts


def test_a_recorder_of_another_thread_dropped_unstopped_does_not_make_later_windows_concurrent(
    tmp_path: Path,
) -> None:
    # the meter tracks a recorder that holds its window weakly, as it tracks its own windows
    from greencode.measurement import Recorder
    from greencode.meters import Selection

    model = PowerModel("Test CPU", 1.0, None, None, "config", "test")
    meter = EstimateMeter(model, children_clock=lambda: 0.0, thread_clock=ThreadClocks())
    selection, config = Selection((meter,), ()), Config(root=tmp_path)
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(Recorder, "dropped", selection, config).result()  # opened, never stopped
    gc.collect()
    assert not Recorder("later", selection, config).stop().concurrent
