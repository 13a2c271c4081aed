"""The instruction meter's bookkeeping, energy model, perf backend (fake kernel) and configuration."""

from __future__ import annotations

import errno
import struct
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from processes import in_forked_child

from greencode.config import Config, InstructionsConfig, load_config
from greencode.errors import ConfigError, MeterUnavailable
from greencode.meters import select_meters
from greencode.meters.instructions import InstructionsMeter, PerfBackend, Segment, create
from greencode.meters.instructions_model import (
    HOROWITZ_LL_MISS_J,
    TYPICAL_INSTRUCTIONS_PER_CPU_S,
    InstructionModel,
    build_instruction_model,
)
from greencode.meters.perf import EVENTS, PERF_FLAG_FD_CLOEXEC, open_counters

MODEL = InstructionModel(1e-9, 0.0, 1e-8, "test")


class FakeCallgrind:
    """Counts like callgrind: work counts only in threads whose collection is on; segments between samples."""

    name = "callgrind"
    counts = ("instructions",)
    run_to_run_noise = 0.003

    sample_zeroes = True

    def __init__(self) -> None:
        self.on: set[int] = set()
        self.pending = 0
        self.functions: dict[str, int] = {}
        self.samples = 0
        self.resets = 0

    def work(self, n: int, function: str = "f") -> None:
        if threading.get_ident() in self.on:
            self.pending += n
            self.functions[function] = self.functions.get(function, 0) + n

    def reset(self) -> None:
        self.resets += 1
        self.pending, self.functions = 0, {}

    def collect(self, on: bool) -> None:
        (self.on.add if on else self.on.discard)(threading.get_ident())

    def sample(self) -> Segment:
        self.samples += 1
        segment = Segment({"instructions": self.pending}, self.functions)
        self.pending, self.functions = 0, {}
        return segment

    def close(self) -> None:
        pass


def test_nested_windows_each_count_exactly_their_own_span() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    outer = meter.start()
    backend.work(3)
    inner = meter.start()
    backend.work(5, "g")
    inner_reading = inner.stop()
    backend.work(7)
    outer_reading = outer.stop()
    assert inner_reading.counts == {"instructions": 5}
    assert outer_reading.counts == {"instructions": 15}
    assert inner_reading.functions == {"g": 5}
    assert outer_reading.functions == {"f": 10, "g": 5}


def test_overlapping_windows_each_count_exactly_their_own_span() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    first = meter.start()
    backend.work(2)
    second = meter.start()
    backend.work(4)
    first_reading = first.stop()
    backend.work(8)
    assert first_reading.counts["instructions"] == 6
    assert second.stop().counts["instructions"] == 12


def test_nothing_is_counted_between_windows() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    meter.start().stop()
    backend.work(100)
    window = meter.start()
    backend.work(1)
    assert window.stop().counts["instructions"] == 1


def test_windows_one_after_another_need_no_zeroing_when_a_sample_zeroes() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    for _ in range(3):
        meter.start().stop()
    assert (backend.samples, backend.resets) == (3, 0)


def test_a_window_closed_in_another_thread_is_zeroed_away_before_the_next_window() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    opened = []
    thread = threading.Thread(target=lambda: opened.append(meter.start()))
    thread.start()
    thread.join()
    opened[0].stop()  # here, not in the thread: callgrind keeps collecting there
    backend.pending += 50  # what that thread counted after its window closed
    window = meter.start()
    backend.work(1)
    assert window.stop().counts["instructions"] == 1
    assert backend.resets == 1


def test_a_window_in_another_thread_switches_collection_on_there() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    readings = []

    def in_thread() -> None:
        window = meter.start()
        backend.work(9)
        readings.append(window.stop())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert readings[0].counts["instructions"] == 9
    assert backend.on == set()


def test_a_window_in_a_forked_child_does_not_wait_for_a_lock_another_thread_held() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with meter._lock:
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(60)

    def in_child() -> int:
        window = meter.start()
        backend.work(4)
        return window.stop().counts["instructions"]

    try:
        assert in_forked_child(in_child, deadline_s=30) == 4
    finally:
        release.set()
        thread.join()


def test_a_forked_child_zeroes_what_the_parents_other_threads_counted_before_its_first_window() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    opened, release = threading.Event(), threading.Event()

    def elsewhere() -> None:
        window = meter.start()
        backend.work(50)
        opened.set()
        release.wait(60)
        window.stop()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    opened.wait(60)

    def in_child() -> list[int]:
        window = meter.start()
        backend.work(4)
        return [window.stop().counts["instructions"], meter._open, backend.resets]

    try:
        # the other thread's window never closes in the child: nothing is left open once its own closed
        assert in_forked_child(in_child) == [4, 0, 1]
    finally:
        release.set()
        thread.join()


def test_the_counter_identity_names_the_allocator_the_process_runs_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONMALLOC", "malloc")
    assert InstructionsMeter(FakeCallgrind(), MODEL).counter_identity.endswith(", PYTHONMALLOC=malloc")


def test_energy_is_the_model_applied_to_the_counts() -> None:
    backend = FakeCallgrind()
    meter = InstructionsMeter(backend, MODEL)
    window = meter.start()
    backend.work(1000)
    assert window.stop().energy_j == {"cpu": pytest.approx(1e-6)}


def test_a_window_stops_once() -> None:
    window = InstructionsMeter(FakeCallgrind(), MODEL).start()
    window.stop()
    with pytest.raises(RuntimeError, match="already stopped"):
        window.stop()


def test_the_meter_declares_its_noise_from_the_backend() -> None:
    assert InstructionsMeter(FakeCallgrind(), MODEL).run_to_run_noise == 0.003


def test_figures_are_labelled_estimated_with_model_coefficients_and_counts() -> None:
    (domain,) = InstructionsMeter(FakeCallgrind(), MODEL).domains()
    assert domain.estimated
    assert "instruction model" in domain.source
    assert "instructions x 1e-09 J" in domain.source
    assert "counts from callgrind: instructions; not counted: d1_misses, ll_misses" in domain.source


@given(
    st.integers(0, 10**12),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.floats(1e-12, 1e-8),
    st.floats(0, 1e-9),
    st.floats(0, 1e-7),
)
def test_model_energy_is_linear_in_each_count(
    instructions: int, d1: int, ll: int, per_instruction: float, per_d1: float, per_ll: float
) -> None:
    model = InstructionModel(per_instruction, per_d1, per_ll, "test")
    counts = {"instructions": instructions, "d1_misses": d1, "ll_misses": ll}
    expected = instructions * per_instruction + d1 * per_d1 + ll * per_ll
    assert model.energy_j(counts) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert model.energy_j({"instructions": instructions}) == pytest.approx(instructions * per_instruction)


def test_default_joules_per_instruction_is_the_estimators_watts_over_typical_rate() -> None:
    model = build_instruction_model(None, None, None, 2.0, "table")
    assert model.joules_per_instruction == pytest.approx(2.0 / TYPICAL_INSTRUCTIONS_PER_CPU_S)
    assert model.joules_per_ll_miss == HOROWITZ_LL_MISS_J
    assert "Horowitz ISSCC 2014" in model.basis


def test_configured_coefficients_replace_the_defaults() -> None:
    model = build_instruction_model(3e-10, 1e-10, 2e-8, 2.0, "table")
    assert (model.joules_per_instruction, model.joules_per_d1_miss, model.joules_per_ll_miss) == (
        3e-10,
        1e-10,
        2e-8,
    )
    assert "from [tool.greencode.instructions]" in model.basis


def test_instruction_keys_are_read_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "greencode.toml").write_text(
        "[instructions]\njoules_per_instruction = 2e-10\njoules_per_ll_miss = 1e-8\nbackend = 'perf'\n"
    )
    settings = load_config(start=tmp_path).instructions
    assert settings == InstructionsConfig(
        backend="perf", joules_per_instruction=2e-10, joules_per_ll_miss=1e-8
    )


def test_an_unknown_backend_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "greencode.toml").write_text("[instructions]\nbackend = 'papi'\n")
    with pytest.raises(ConfigError, match=r"instructions\.backend"):
        load_config(start=tmp_path)


# --- perf backend through a fake kernel


class FakeKernel:
    """perf_event_open, read and close as the kernel would answer them, with adjustable counter values."""

    def __init__(self, refuse: Mapping[int, int] | None = None) -> None:
        self.refuse = dict(refuse or {})  # config -> errno
        self.values: dict[int, list[int]] = {}  # fd -> [value, enabled, running]
        self.configs: dict[int, int] = {}
        self.opened: list[tuple[bytes, int, int, int, int]] = []
        self.closed: list[int] = []

    def perf_event_open(self, attr: bytes, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        self.opened.append((attr, pid, cpu, group_fd, flags))
        event_type, _, config = struct.unpack_from("<IIQ", attr)
        if (event_type, config) in self.refuse:
            code = self.refuse[(event_type, config)]
            raise OSError(code, "refused")
        fd = 10 + len(self.values)
        self.values[fd] = [0, 1, 1]
        self.configs[fd] = config
        return fd

    def read(self, fd: int, size: int) -> bytes:
        return struct.pack("<QQQ", *self.values[fd])

    def close(self, fd: int) -> None:
        self.closed.append(fd)

    def add(self, name: str, n: int) -> None:
        config = EVENTS[name][1]
        for fd, value in self.values.items():
            if self.configs[fd] == config and (name != "d1_misses" or len(self.values) > 1):
                value[0] += n
                return


def test_perf_counts_user_space_of_this_thread_and_its_children() -> None:
    kernel = FakeKernel()
    open_counters(kernel)
    attr, pid, cpu, group, flags = kernel.opened[0]
    (bits,) = struct.unpack_from("<Q", attr, 40)
    assert (pid, cpu, group, flags) == (0, -1, -1, PERF_FLAG_FD_CLOEXEC)
    assert bits & (1 << 1), "inherit"
    assert bits & (1 << 5) and bits & (1 << 6), "exclude kernel and hypervisor"


def test_perf_windows_are_differences_of_reads() -> None:
    kernel = FakeKernel()
    meter = InstructionsMeter(PerfBackend(open_counters(kernel)), MODEL)
    kernel.add("instructions", 50)
    window = meter.start()
    kernel.add("instructions", 1234)
    kernel.add("ll_misses", 7)
    reading = window.stop()
    assert reading.counts["instructions"] == 1234
    assert reading.counts["ll_misses"] == 7
    assert reading.energy_j["cpu"] == pytest.approx(1234e-9 + 7e-8)


def test_perf_scales_and_warns_when_the_pmu_is_time_shared() -> None:
    kernel = FakeKernel()
    meter = InstructionsMeter(PerfBackend(open_counters(kernel)), MODEL)
    window = meter.start()
    fd = next(iter(kernel.values))
    kernel.values[fd] = [100, 4, 2]  # counted half of the time it was enabled
    reading = window.stop()
    assert reading.counts["instructions"] == 200
    assert "time-shared" in reading.warnings[0]


def test_perf_without_cache_counters_still_counts_instructions() -> None:
    kernel = FakeKernel(refuse={(EVENTS["ll_misses"]): errno.ENOENT, EVENTS["d1_misses"]: errno.ENOENT})
    backend = PerfBackend(open_counters(kernel))
    assert backend.counts == ("instructions",)


def test_perf_without_a_pmu_is_unavailable_saying_so() -> None:
    kernel = FakeKernel(refuse={EVENTS["instructions"]: errno.ENOENT})
    with pytest.raises(MeterUnavailable, match="no hardware instruction counter"):
        open_counters(kernel)


def test_perf_refused_by_paranoia_names_the_sysctl(tmp_path: Path) -> None:
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/perf_event_paranoid").write_text("3\n")
    kernel = FakeKernel(refuse={EVENTS["instructions"]: errno.EACCES})
    with pytest.raises(MeterUnavailable, match=r"perf_event_paranoid is 3.*2 or lower"):
        open_counters(kernel, tmp_path)


def test_closing_the_perf_meter_closes_every_counter() -> None:
    kernel = FakeKernel()
    InstructionsMeter(PerfBackend(open_counters(kernel)), MODEL).close()
    assert sorted(kernel.closed) == sorted(kernel.values)


def test_create_uses_perf_when_not_under_valgrind() -> None:
    meter = create(replace(Config(), instructions=InstructionsConfig(backend="perf")), syscalls=FakeKernel())
    assert meter.backend.name == "perf"


def test_create_without_valgrind_or_pmu_says_how_to_get_either() -> None:
    kernel = FakeKernel(refuse={EVENTS["instructions"]: errno.ENOENT})
    with pytest.raises(MeterUnavailable, match=r"greencode valgrind -- COMMAND.*PMU: no hardware"):
        create(Config(), syscalls=kernel)


def test_auto_never_picks_the_instruction_meter() -> None:
    assert "instructions" not in select_meters(Config()).name
