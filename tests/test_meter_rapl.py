"""The RAPL meter over fake powercap trees: discovery, disjoint domains, wraps, the poller, permissions."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import FakeClock, FakePowercap, make_fake_powercap
from hypothesis import given
from hypothesis import strategies as st

from greencode.config import Config, load_config
from greencode.errors import CounterError, CounterPermissionError, MeterUnavailable
from greencode.meters.base import Meter
from greencode.meters.rapl import RaplMeter, create, judge_step, poll_interval, wrap_delta, wrap_seconds

#: Deterministic tests use a 1 kJ counter range and a 1 W power bound: a wrap takes 1000 s of the fake clock,
#: and the real poller thread waits 250 s between reads, so it never interferes with a test.
RANGE_UJ = 1_000_000_000
BOUND_W = 1.0


class Reader:
    """A file reader whose failures a test chooses (root ignores file modes, so chmod cannot do this)."""

    def __init__(self) -> None:
        self.failures: dict[Path, OSError] = {}
        self.poller_reads = 0
        self.poller_read = threading.Event()
        self.threads: set[threading.Thread] = set()

    def __call__(self, path: Path) -> str:
        if path in self.failures:
            raise self.failures[path]
        if threading.current_thread().name == "greencode-rapl-poller":
            self.threads.add(threading.current_thread())
            self.poller_reads += 1
            self.poller_read.set()
        return path.read_text()


MakeMeter = Callable[..., RaplMeter]


@pytest.fixture
def meter_for() -> Iterator[MakeMeter]:
    meters: list[RaplMeter] = []

    def make(fake: FakePowercap, **options: object) -> RaplMeter:
        meter = RaplMeter(fake.root, **options)  # type: ignore[arg-type]
        meters.append(meter)
        return meter

    yield make
    for meter in meters:
        meter.close()


def names(meter: RaplMeter) -> list[str]:
    return [domain.name for domain in meter.domains()]


# ---------------------------------------------------------------------------------------------------------
# discovery: which zones are summed


def test_reports_package_and_dram_of_every_socket(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = make_fake_powercap(tmp_path, packages=2, domains=("package", "dram"))
    assert names(meter_for(fake)) == ["package-0", "dram-0", "package-1", "dram-1"]


def test_domain_sources_name_the_counter_files(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = make_fake_powercap(tmp_path, packages=1)
    domains = meter_for(fake).domains()
    assert [d.source for d in domains] == [
        f"rapl: {fake.energy_file('intel-rapl:0')}",
        f"rapl: {fake.energy_file('intel-rapl:0:0')}",
    ]
    assert not any(d.estimated for d in domains)


def test_core_and_uncore_are_not_summed_because_they_are_part_of_the_package(
    tmp_path: Path, meter_for: MakeMeter
) -> None:
    fake = make_fake_powercap(tmp_path, packages=2, domains=("package", "core", "uncore", "dram"))
    meter = meter_for(fake)
    assert names(meter) == ["package-0", "dram-0", "package-1", "dram-1"]
    assert "intel-rapl:0:0 (core): part of package-0; not summed" in meter.notes
    assert "intel-rapl:1:1 (uncore): part of package-1; not summed" in meter.notes


def test_psys_is_not_summed_next_to_packages(tmp_path: Path, meter_for: MakeMeter) -> None:
    meter = meter_for(make_fake_powercap(tmp_path, packages=1, psys=True))
    assert names(meter) == ["package-0", "dram-0"]
    assert any(note.startswith("intel-rapl:1 (psys): covers the whole platform") for note in meter.notes)


def test_psys_stands_in_when_there_is_no_package_zone(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = FakePowercap(tmp_path)
    fake.add_zone("intel-rapl:0", "psys")
    fake.add_zone("intel-rapl:1", "dram")  # not a package: ignored
    meter = meter_for(fake)
    assert names(meter) == ["psys"]


def test_a_package_seen_only_through_mmio_still_rules_out_psys(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = FakePowercap(tmp_path)
    fake.add_zone("intel-rapl:0", "psys")
    fake.add_zone("intel-rapl-mmio:0", "package-0")
    assert names(meter_for(fake)) == ["package-0"]


def test_mmio_zone_duplicating_the_package_is_not_summed(tmp_path: Path, meter_for: MakeMeter) -> None:
    meter = meter_for(make_fake_powercap(tmp_path, packages=1, mmio=True))
    assert names(meter) == ["package-0", "dram-0"]
    assert "intel-rapl-mmio:0 (package-0): same counter as intel-rapl:0; not summed" in meter.notes


@pytest.mark.parametrize(
    "failure", [OSError(errno.EIO, "Input/output error"), PermissionError(errno.EACCES, "Permission denied")]
)
def test_mmio_zone_is_read_when_the_package_zone_is_unreadable(
    tmp_path: Path, meter_for: MakeMeter, failure: OSError
) -> None:
    fake = make_fake_powercap(tmp_path, packages=1, mmio=True)
    reader = Reader()
    reader.failures[fake.energy_file("intel-rapl:0")] = failure
    meter = meter_for(fake, reader=reader)
    assert meter.domains()[0].source == f"rapl: {fake.energy_file('intel-rapl-mmio:0')}"
    assert any(note.startswith("intel-rapl:0 (package-0): unreadable") for note in meter.notes)


def test_mmio_zone_stands_in_when_the_package_zone_is_missing(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = FakePowercap(tmp_path)
    fake.add_zone("intel-rapl-mmio:0", "package-0")
    assert names(meter_for(fake)) == ["package-0"]


def test_nested_layout_of_sys_devices_is_discovered(tmp_path: Path, meter_for: MakeMeter) -> None:
    # /sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0
    fake = FakePowercap(tmp_path)
    fake.add_zone("intel-rapl/intel-rapl:0", "package-0")
    fake.add_zone("intel-rapl/intel-rapl:0/intel-rapl:0:0", "dram")
    meter = meter_for(fake)
    assert names(meter) == ["package-0", "dram-0"]


def test_each_die_of_a_multi_die_package_is_its_own_domain(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = FakePowercap(tmp_path)
    fake.add_zone("intel-rapl:0", "package-0-die-0")
    fake.add_zone("intel-rapl:1", "package-0-die-1")
    fake.add_zone("intel-rapl:1:0", "dram")
    assert names(meter_for(fake)) == ["package-0-die-0", "package-0-die-1", "dram-0-die-1"]


def test_missing_powercap_tree_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(MeterUnavailable, match=r"no powercap tree at .*nowhere \(no RAPL on this machine"):
        RaplMeter(tmp_path / "nowhere")


def test_tree_without_rapl_zones_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dtpm").mkdir()
    with pytest.raises(MeterUnavailable, match=r"no RAPL zones \(intel-rapl:\*\) under"):
        RaplMeter(tmp_path)


def test_tree_with_only_core_zones_is_unavailable_and_says_why(tmp_path: Path) -> None:
    fake = FakePowercap(tmp_path)
    fake.add_zone("intel-rapl:0", "core")
    with pytest.raises(MeterUnavailable, match=r"no usable RAPL package counter.*not a package or psys zone"):
        RaplMeter(tmp_path)


def test_zone_with_an_unreadable_name_is_skipped_with_a_note(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = make_fake_powercap(tmp_path, packages=2, domains=("package",))
    reader = Reader()
    reader.failures[tmp_path / "intel-rapl:1" / "name"] = OSError(errno.EIO, "Input/output error")
    meter = meter_for(fake, reader=reader)
    assert names(meter) == ["package-0"]
    assert any(note.startswith("intel-rapl:1: skipped") for note in meter.notes)


def test_create_uses_the_configured_root_and_power_bound(tmp_path: Path) -> None:
    make_fake_powercap(tmp_path / "pc", packages=1)
    meter = create(Config(root=tmp_path, powercap_root=Path("pc"), power_bound_w=50.0))
    try:
        assert meter.root == tmp_path / "pc"
        assert meter.power_bound_w == 50.0
    finally:
        meter.close()


def test_environment_variable_points_at_a_mounted_tree(tmp_path: Path) -> None:
    make_fake_powercap(tmp_path / "mounted", packages=1)
    config = load_config(start=tmp_path, environ={"GREENCODE_POWERCAP_ROOT": str(tmp_path / "mounted")})
    meter = create(config)
    try:
        assert names(meter) == ["package-0", "dram-0"]
    finally:
        meter.close()


def test_meter_follows_the_protocol(tmp_path: Path, meter_for: MakeMeter) -> None:
    meter = meter_for(make_fake_powercap(tmp_path))
    assert isinstance(meter, Meter)
    assert (meter.name, meter.scope, meter.resolution_s) == ("rapl", "machine", 0.001)


def test_close_releases_the_counter_files(tmp_path: Path) -> None:
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc")
    before = len(os.listdir(fds))
    meter = RaplMeter(make_fake_powercap(tmp_path).root)
    assert len(os.listdir(fds)) > before
    meter.close()
    assert len(os.listdir(fds)) == before


# ---------------------------------------------------------------------------------------------------------
# windows


def test_window_reports_joules_per_domain(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = make_fake_powercap(tmp_path)
    meter = meter_for(fake)
    window = meter.start()
    fake.add("intel-rapl:0", 3_000_000)
    fake.add("intel-rapl:1:0", 250_000)
    reading = window.stop()
    assert reading.energy_j == {"package-0": 3.0, "dram-0": 0.0, "package-1": 0.0, "dram-1": 0.25}
    assert reading.warnings == ()


def test_overlapping_and_nested_windows_are_independent(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = make_fake_powercap(tmp_path, packages=1, domains=("package",))
    meter = meter_for(fake)
    outer = meter.start()
    fake.add("intel-rapl:0", 1_000_000)
    inner = meter.start()
    fake.add("intel-rapl:0", 2_000_000)
    overlapping = meter.start()
    assert inner.stop().energy_j == {"package-0": 2.0}
    fake.add("intel-rapl:0", 4_000_000)
    assert outer.stop().energy_j == {"package-0": 7.0}
    assert overlapping.stop().energy_j == {"package-0": 4.0}


def test_windows_from_many_threads_all_close(tmp_path: Path, meter_for: MakeMeter) -> None:
    meter = meter_for(make_fake_powercap(tmp_path))
    readings = []

    def work() -> None:
        for _ in range(50):
            readings.append(meter.start().stop())

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(readings) == 300
    assert all(set(r.energy_j.values()) == {0.0} and not r.warnings for r in readings)
    assert not meter.polling


@pytest.fixture
def fake_package(tmp_path: Path) -> FakePowercap:
    """A powercap tree of one package counter with a RANGE_UJ (1 kJ) range."""
    return make_fake_powercap(tmp_path, packages=1, domains=("package",), range_uj=RANGE_UJ)


@pytest.fixture
def meter(fake_package: FakePowercap, meter_for: MakeMeter, clock: FakeClock) -> RaplMeter:
    """The meter over ``fake_package``, bounded at BOUND_W (1 W), on the test's clock."""
    return meter_for(fake_package, power_bound_w=BOUND_W, clock=clock)


def test_a_wrap_between_start_and_stop_is_unwrapped(
    fake_package: FakePowercap, meter_for: MakeMeter, clock: FakeClock
) -> None:
    fake_package.set("intel-rapl:0", RANGE_UJ - 100_000)
    meter = meter_for(fake_package, power_bound_w=BOUND_W, clock=clock)
    window = meter.start()
    clock.advance(10)
    fake_package.add("intel-rapl:0", 5_000_000)
    assert fake_package.get("intel-rapl:0") < RANGE_UJ - 100_000  # it wrapped
    reading = window.stop()
    assert reading.energy_j == {"package-0": 5.0}
    assert reading.warnings == ()


def test_window_spanning_several_wraps_is_exact_thanks_to_polling(
    fake_package: FakePowercap, meter: RaplMeter, clock: FakeClock
) -> None:
    window = meter.start()
    for _ in range(40):  # 40 × 150 J = 6 kJ: six wraps of a 1 kJ counter
        clock.advance(meter.poll_interval_s)
        fake_package.add("intel-rapl:0", 150_000_000)
        meter.poll()
    reading = window.stop()
    assert reading.energy_j == {"package-0": 6000.0}
    assert reading.warnings == ()


def test_reads_further_apart_than_a_wrap_are_warned(
    fake_package: FakePowercap, meter: RaplMeter, clock: FakeClock
) -> None:
    window = meter.start()
    clock.advance(1500)  # the poller never ran: e.g. the machine was suspended
    (warning,) = window.stop().warnings
    assert "longer than it takes to wrap at power_bound_w = 1 W" in warning
    assert "whole wraps may be missing" in warning


def test_counter_going_backwards_is_warned_and_not_counted(
    tmp_path: Path, meter_for: MakeMeter, clock: FakeClock
) -> None:
    fake = make_fake_powercap(tmp_path, packages=2, domains=("package",), range_uj=RANGE_UJ)
    fake.set("intel-rapl:0", 500_000_000)
    meter = meter_for(fake, power_bound_w=BOUND_W, clock=clock)
    window = meter.start()
    clock.advance(1)
    fake.set("intel-rapl:0", 499_000_000)
    fake.add("intel-rapl:1", 300_000)
    reading = window.stop()
    assert reading.energy_j == {"package-0": 0.0, "package-1": 0.3}
    (warning,) = reading.warnings
    assert f"{fake.energy_file('intel-rapl:0')} went backwards from 500000000 to 499000000 µJ" in warning


def test_a_warning_goes_only_to_windows_open_when_it_happened(
    fake_package: FakePowercap, meter_for: MakeMeter, clock: FakeClock
) -> None:
    fake_package.set("intel-rapl:0", 500_000_000)
    meter = meter_for(fake_package, power_bound_w=BOUND_W, clock=clock)
    before = meter.start()
    clock.advance(1)
    fake_package.set("intel-rapl:0", 400_000_000)
    after = meter.start()  # this read sees the drop
    clock.advance(1)
    fake_package.add("intel-rapl:0", 200_000)
    assert len(before.stop().warnings) == 1
    assert after.stop().warnings == ()
    clock.advance(1)
    assert meter.start().stop().warnings == ()


def test_value_above_the_counter_range_is_warned(
    fake_package: FakePowercap, meter: RaplMeter, clock: FakeClock
) -> None:
    window = meter.start()
    clock.advance(1)
    fake_package.set("intel-rapl:0", RANGE_UJ + 7)
    reading = window.stop()
    assert reading.energy_j == {"package-0": 0.0}
    assert "outside its range 0..1000000000 µJ" in reading.warnings[0]


def test_rise_faster_than_the_power_bound_is_counted_and_warned(
    fake_package: FakePowercap, meter: RaplMeter, clock: FakeClock
) -> None:
    window = meter.start()
    clock.advance(1)
    fake_package.add("intel-rapl:0", 5_000_000)  # 5 J in 1 s at a 1 W bound
    reading = window.stop()
    assert reading.energy_j == {"package-0": 5.0}
    assert "more than power_bound_w = 1 W allows; raise power_bound_w" in reading.warnings[0]


def test_stopping_a_window_twice_is_an_error(tmp_path: Path, meter_for: MakeMeter) -> None:
    window = meter_for(make_fake_powercap(tmp_path)).start()
    window.stop()
    with pytest.raises(RuntimeError, match="already stopped"):
        window.stop()


# ---------------------------------------------------------------------------------------------------------
# unreadable counters


def test_unreadable_counter_raises_a_permission_error_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    fake = make_fake_powercap(tmp_path, packages=1)
    reader = Reader()
    denied = PermissionError(errno.EACCES, "Permission denied")
    reader.failures = {fake.energy_file("intel-rapl:0"): denied, fake.energy_file("intel-rapl:0:0"): denied}
    with pytest.raises(CounterPermissionError) as caught:
        RaplMeter(tmp_path, reader=reader)
    message = str(caught.value)
    assert f"cannot read {fake.energy_file('intel-rapl:0')}: permission denied" in message
    assert f"sudo chmod a+r {tmp_path}/intel-rapl:*/energy_uj" in message
    assert f"'z {tmp_path}/intel-rapl:*/energy_uj 0444 root root -'" in message
    assert "/etc/tmpfiles.d/" in message
    assert "\n" not in message
    assert isinstance(caught.value, PermissionError)


def test_counter_becoming_unreadable_fails_the_stop_and_closes_the_window(
    tmp_path: Path, meter_for: MakeMeter
) -> None:
    fake = make_fake_powercap(tmp_path, packages=1)
    reader = Reader()
    meter = meter_for(fake, reader=reader)
    window = meter.start()
    reader.failures[fake.energy_file("intel-rapl:0:0")] = PermissionError(errno.EACCES, "Permission denied")
    with pytest.raises(CounterPermissionError, match="intel-rapl:0:0/energy_uj: permission denied"):
        window.stop()
    assert not meter.polling
    reader.failures.clear()
    assert meter.start().stop().warnings == ()


def test_garbage_in_a_counter_is_a_counter_error(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = make_fake_powercap(tmp_path, packages=1)
    window = meter_for(fake).start()
    fake.energy_file("intel-rapl:0").write_text("not a number\n")
    with pytest.raises(CounterError, match=r"cannot read the RAPL counter .*intel-rapl:0/energy_uj"):
        window.stop()


def test_a_failed_background_read_becomes_a_warning(tmp_path: Path, meter_for: MakeMeter) -> None:
    fake = make_fake_powercap(tmp_path, packages=1)
    reader = Reader()
    meter = meter_for(fake, reader=reader)
    window = meter.start()
    reader.failures[fake.energy_file("intel-rapl:0")] = OSError(errno.EIO, "Input/output error")
    meter.poll()
    reader.failures.clear()
    (warning,) = window.stop().warnings
    assert "a background read failed, so energy may be missing" in warning


# ---------------------------------------------------------------------------------------------------------
# the poller


def test_poll_interval_keeps_reads_well_within_a_wrap_at_the_power_bound(
    tmp_path: Path, meter_for: MakeMeter
) -> None:
    fake = make_fake_powercap(tmp_path, packages=1, range_uj=RANGE_UJ)
    fake.add_zone("intel-rapl:0:0", "dram", range_uj=RANGE_UJ // 10)
    meter = meter_for(fake, power_bound_w=200.0)
    wrap_s = (RANGE_UJ // 10 + 1) / 1e6 / 200.0  # the shortest counter decides
    assert meter.poll_interval_s == pytest.approx(wrap_s / 4)


def test_poll_interval_is_never_shorter_than_the_counter_update() -> None:
    assert poll_interval(wrap_seconds(1000, power_bound_w=1000.0)) == 0.001


def fast_polling_meter(tmp_path: Path, reader: Reader) -> RaplMeter:
    # a 4 J range at 1000 W wraps every 4 ms: the poller reads every millisecond
    return RaplMeter(
        make_fake_powercap(tmp_path, range_uj=4_000_000).root, power_bound_w=1000.0, reader=reader
    )


def test_poller_reads_in_the_background_while_a_window_is_open(tmp_path: Path) -> None:
    reader = Reader()
    with fast_polling_meter(tmp_path, reader) as meter:
        window = meter.start()
        assert meter.polling
        assert reader.poller_read.wait(timeout=30)
        window.stop()


def test_poller_is_parked_when_no_window_is_open(tmp_path: Path) -> None:
    reader = Reader()
    with fast_polling_meter(tmp_path, reader) as meter:
        meter.start().stop()
        assert not meter.polling
        reads = reader.poller_reads
        time.sleep(0.005)  # five poll intervals
        assert reader.poller_reads == reads


def test_close_ends_the_poller_thread(tmp_path: Path) -> None:
    reader = Reader()
    meter = fast_polling_meter(tmp_path, reader)
    window = meter.start()
    assert reader.poller_read.wait(timeout=30)
    window.stop()
    meter.close()
    (thread,) = reader.threads
    assert not thread.is_alive()


# ---------------------------------------------------------------------------------------------------------
# wrap arithmetic

ranges = st.integers(min_value=1, max_value=2**64)


@given(data=st.data(), range_uj=ranges)
def test_wrap_delta_recovers_any_energy_below_one_wrap(data: st.DataObject, range_uj: int) -> None:
    previous = data.draw(st.integers(0, range_uj))
    energy = data.draw(st.integers(0, range_uj))
    current = (previous + energy) % (range_uj + 1)
    assert wrap_delta(previous, current, range_uj) == energy


@given(data=st.data(), range_uj=st.integers(min_value=1, max_value=10**12))
def test_summed_steps_are_exact_over_many_wraps(data: st.DataObject, range_uj: int) -> None:
    steps = data.draw(st.lists(st.integers(0, range_uj), min_size=1, max_size=50))
    counter = data.draw(st.integers(0, range_uj))
    total = 0
    for step in steps:
        current = (counter + step) % (range_uj + 1)
        total += wrap_delta(counter, current, range_uj)
        counter = current
    assert total == sum(steps)


@given(data=st.data(), range_uj=ranges, max_step=st.integers(0, 2**65))
def test_judged_steps_are_never_negative_nor_above_the_range(
    data: st.DataObject, range_uj: int, max_step: int
) -> None:
    previous = data.draw(st.integers(0, range_uj))
    current = data.draw(st.integers(-10, range_uj + 10))
    counted, _ = judge_step(previous, current, range_uj, max_step)
    assert 0 <= counted <= range_uj


@given(data=st.data(), range_uj=ranges)
def test_a_drop_that_a_wrap_cannot_explain_is_flagged_and_not_counted(
    data: st.DataObject, range_uj: int
) -> None:
    previous = data.draw(st.integers(1, range_uj))
    current = data.draw(st.integers(0, previous - 1))
    implied = wrap_delta(previous, current, range_uj)
    max_step = data.draw(st.integers(0, implied - 1))
    assert judge_step(previous, current, range_uj, max_step) == (0, "backwards")


@given(data=st.data(), range_uj=ranges)
def test_a_possible_step_is_counted_exactly(data: st.DataObject, range_uj: int) -> None:
    previous = data.draw(st.integers(0, range_uj))
    energy = data.draw(st.integers(0, range_uj))
    current = (previous + energy) % (range_uj + 1)
    assert judge_step(previous, current, range_uj, max_step_uj=energy) == (energy, "ok")


@given(range_uj=ranges)
def test_a_value_outside_the_range_is_flagged(range_uj: int) -> None:
    assert judge_step(0, range_uj + 1, range_uj, 2**70) == (0, "outside-range")
    assert judge_step(0, -1, range_uj, 2**70) == (0, "outside-range")
