"""pyJoules' call shapes on greencode's meters: same calls, µJ throughout, no crash without RAPL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakePowercap, make_fake_powercap

import greencode
from greencode.compat.pyjoules import (
    CSVHandler,
    DeviceFactory,
    EnergyContext,
    EnergyHandler,
    EnergyMeter,
    EnergyMeterNotStartedError,
    EnergyMeterNotStoppedError,
    EnergySample,
    EnergyTrace,
    NoSuchDomainError,
    NvidiaGPUDomain,
    PandasHandler,
    RaplCoreDomain,
    RaplDevice,
    RaplDramDomain,
    RaplPackageDomain,
    RaplUncoreDomain,
    measure_energy,
)
from greencode.config import Config


@pytest.fixture
def rapl(tmp_path: Path) -> Iterator[FakePowercap]:
    """greencode measuring a fake RAPL tree with one package and its DRAM."""
    fake = make_fake_powercap(tmp_path / "powercap", packages=1, domains=("package", "dram"))
    greencode.configure(Config(root=tmp_path, meter="rapl", powercap_root=fake.root, output="none"))
    yield fake
    greencode.configure(Config(root=tmp_path, output="none"))


@pytest.fixture
def no_rapl(tmp_path: Path) -> Iterator[None]:
    """RAPL requested, but this machine has none (as on a VM or a hosted CI runner)."""
    greencode.configure(
        Config(root=tmp_path, meter="rapl", powercap_root=tmp_path / "nowhere", output="none")
    )
    yield
    greencode.configure(Config(root=tmp_path, output="none"))


def test_domains_have_pyjoules_names_and_greencode_counterparts() -> None:
    assert (str(RaplPackageDomain(0)), RaplPackageDomain(0).greencode_domain) == ("package_0", "package-0")
    assert (str(RaplDramDomain(1)), RaplDramDomain(1).greencode_domain) == ("dram_1", "dram-1")
    assert (str(NvidiaGPUDomain(2)), NvidiaGPUDomain(2).greencode_domain) == ("nvidia_gpu_2", "gpu-2")
    assert RaplCoreDomain(0).greencode_domain is None and str(RaplUncoreDomain(0)) == "uncore_0"


def test_domain_classes_compare_by_kind_and_socket() -> None:
    assert RaplPackageDomain(0) == RaplPackageDomain(0)
    assert RaplPackageDomain(0) != RaplDramDomain(0)


def test_decorator_with_handler_reports_microjoules_per_domain(rapl: FakePowercap) -> None:
    handler = EnergyHandler()

    @measure_energy(handler=handler, domains=[RaplPackageDomain(0), RaplDramDomain(0)])
    def work() -> str:
        rapl.add("intel-rapl:0", 5_000_000)  # 5 J
        rapl.add("intel-rapl:0:0", 250_000)  # 0.25 J
        return "done"

    assert work() == "done"
    (sample,) = handler.samples()
    assert sample.energy == {"package_0": pytest.approx(5_000_000), "dram_0": pytest.approx(250_000)}
    assert sample.tag == "work" and not sample.estimated and sample.missing == ()
    assert sample.sources["package_0"].startswith("rapl:")


def test_requested_domains_only_are_reported(rapl: FakePowercap) -> None:
    handler = EnergyHandler()

    @measure_energy(handler=handler, domains=[RaplDramDomain(0)])
    def work() -> None:
        rapl.add("intel-rapl:0", 1_000)

    work()
    assert list(handler.samples()[0].energy) == ["dram_0"]


def test_bare_decorator_prints_one_line_with_the_unit(
    rapl: FakePowercap, capsys: pytest.CaptureFixture[str]
) -> None:
    @measure_energy
    def work(x: int) -> int:
        rapl.add("intel-rapl:0", 2_000_000)
        return x * 2

    assert work(21) == 42
    out = capsys.readouterr().out
    assert "tag : work" in out and "package_0 : 2e+06" in out and "[uJ]" in out
    assert "estimated" not in out


def test_exception_propagates_and_the_sample_is_still_handled(rapl: FakePowercap) -> None:
    handler = EnergyHandler()

    @measure_energy(handler=handler)
    def fails() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        fails()
    assert len(handler.samples()) == 1


def test_without_rapl_nothing_crashes_and_the_estimate_is_labelled(no_rapl: None) -> None:
    handler = EnergyHandler()

    @measure_energy(handler=handler, domains=[RaplPackageDomain(0)])
    def work() -> int:
        return sum(range(10_000))

    with pytest.warns(RuntimeWarning) as caught:
        assert work() == sum(range(10_000))
    messages = " ".join(str(w.message) for w in caught)
    assert "using the estimator" in messages and "package_0 cannot be measured here" in messages
    (sample,) = handler.samples()
    assert sample.estimated and sample.missing == ("package_0",)
    assert list(sample.energy) == ["cpu_estimated"]
    assert sample.sources["cpu_estimated"].startswith("estimated")


def test_core_domain_is_reported_missing_because_it_is_part_of_the_package(rapl: FakePowercap) -> None:
    handler = EnergyHandler()
    with pytest.warns(RuntimeWarning, match="core_0 cannot be measured here"):
        measure_energy(handler=handler, domains=[RaplCoreDomain(0), RaplPackageDomain(0)])(lambda: None)()
    assert handler.samples()[0].missing == ("core_0",)
    assert list(handler.samples()[0].energy) == ["package_0"]


def test_a_failing_measurement_never_loses_the_return_value(
    rapl: FakePowercap, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: EnergyMeter) -> None:
        raise OSError("counter vanished")

    monkeypatch.setattr(EnergyMeter, "stop", broken)
    with pytest.warns(RuntimeWarning, match="counter vanished"):
        assert measure_energy(handler=EnergyHandler())(lambda: "value")() == "value"


def test_context_records_one_sample_per_tagged_part(rapl: FakePowercap) -> None:
    handler = EnergyHandler()
    with EnergyContext(handler=handler, domains=[RaplPackageDomain(0)], start_tag="foo") as ctx:
        rapl.add("intel-rapl:0", 1_000_000)
        ctx.record(tag="bar")
        rapl.add("intel-rapl:0", 3_000_000)
    (trace,) = handler.traces
    assert [sample.tag for sample in trace] == ["foo", "bar"]
    assert trace["bar"].energy["package_0"] == pytest.approx(3_000_000)
    assert trace[0].energy["package_0"] == pytest.approx(1_000_000)


def test_context_default_tag_is_start_and_exceptions_propagate(rapl: FakePowercap) -> None:
    handler = EnergyHandler()
    with pytest.raises(ValueError), EnergyContext(handler=handler):
        raise ValueError
    assert [s.tag for s in handler.samples()] == ["start"]


def test_trace_lookup_by_unknown_tag_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        EnergyTrace([EnergySample(0.0, "a", 1.0, {})])["b"]


def test_csv_handler_writes_a_header_then_appends_rows(rapl: FakePowercap, tmp_path: Path) -> None:
    path = tmp_path / "result.csv"
    handler = CSVHandler(path)
    work = measure_energy(handler=handler, domains=[RaplPackageDomain(0)])(
        lambda: rapl.add("intel-rapl:0", 1_000)
    )
    work()
    handler.save_data()
    work()
    work()
    handler.save_data()
    lines = path.read_text().splitlines()
    assert lines[0] == "timestamp;tag;duration;package_0"
    assert len(lines) == 4
    assert all(line.split(";")[1] == "<lambda>" and float(line.split(";")[3]) == 1000.0 for line in lines[1:])


def test_pandas_handler_without_pandas_gives_a_small_table(
    rapl: FakePowercap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    handler = PandasHandler()
    with EnergyContext(handler=handler, domains=[RaplPackageDomain(0)], start_tag="a") as ctx:
        rapl.add("intel-rapl:0", 7)
        ctx.record(tag="b")
    frame = handler.get_dataframe()
    assert len(frame) == 2
    assert frame.columns == ["timestamp", "tag", "duration", "package_0"]
    assert frame["tag"] == ["a", "b"] and frame["package_0"] == [pytest.approx(7), 0]
    assert frame.to_dict("records")[0]["tag"] == "a"


def test_missing_domain_warnings_point_at_the_users_code(no_rapl: None) -> None:
    work = measure_energy(handler=EnergyHandler(), domains=[RaplPackageDomain(0)])(lambda: None)
    with pytest.warns(RuntimeWarning) as caught:
        work()
    assert {w.filename for w in caught} == {__file__}


def test_context_warnings_point_at_the_users_code(no_rapl: None) -> None:
    context = EnergyContext(handler=EnergyHandler(), domains=[RaplPackageDomain(0)])
    with pytest.warns(RuntimeWarning) as caught, context as ctx:
        ctx.record(tag="second")
    assert {w.filename for w in caught} == {__file__}


def _sample(tag: str, **energy: float) -> EnergySample:
    return EnergySample(0.0, tag, 1.0, dict(energy))


def test_a_tag_is_in_a_trace_that_has_it() -> None:
    trace = EnergyTrace([_sample("foo"), _sample("bar")])
    assert "bar" in trace and "baz" not in trace


def test_traces_append_and_add_like_pyjoules() -> None:
    trace = EnergyTrace([_sample("a")])
    trace.append(_sample("b"))
    joined = trace + EnergyTrace([_sample("c")])
    assert [s.tag for s in joined] == ["a", "b", "c"] and len(trace) == 2
    same = trace
    trace += EnergyTrace([_sample("d")])
    assert trace is same and [s.tag for s in trace] == ["a", "b", "d"]


def test_trace_remove_idle_and_clean_data() -> None:
    trace = EnergyTrace([_sample("a", package_0=10.0), _sample("b", package_0=3.0)])
    trace.remove_idle([{"package_0": 4.0}, {"package_0": 4.0}])
    assert [s.energy["package_0"] for s in trace] == [6.0, -1.0]
    trace.clean_data()
    assert [s.tag for s in trace] == ["a"]
    with pytest.raises(ValueError, match="1 idle figures for 2 samples"):
        EnergyTrace([_sample("a"), _sample("b")]).remove_idle([{}])


def test_stop_or_record_before_start_raises_not_started() -> None:
    with pytest.raises(EnergyMeterNotStartedError, match=r"stop\(\) before start"):
        EnergyMeter().stop()
    with pytest.raises(EnergyMeterNotStartedError):
        EnergyMeter().record("x")
    assert isinstance(EnergyMeterNotStartedError("x"), greencode.GreencodeError)


def test_get_trace_while_measuring_raises_not_stopped(rapl: FakePowercap) -> None:
    meter = EnergyMeter()
    assert len(meter.get_trace()) == 0  # never started: an empty trace, as in pyJoules
    meter.start("a")
    with pytest.raises(EnergyMeterNotStoppedError):
        meter.get_trace()


def test_resume_continues_a_stopped_trace(rapl: FakePowercap) -> None:
    meter = EnergyMeter([RaplPackageDomain(0)])
    meter.start("first")
    rapl.add("intel-rapl:0", 1_000_000)
    meter.stop()
    rapl.add("intel-rapl:0", 7_000_000)  # between stop and resume: not measured
    meter.resume("second")
    rapl.add("intel-rapl:0", 2_000_000)
    with pytest.raises(EnergyMeterNotStoppedError):
        meter.resume("third")
    meter.stop()
    trace = meter.get_trace()
    assert [s.tag for s in trace] == ["first", "second"]
    assert trace["second"].energy["package_0"] == pytest.approx(2_000_000)


def test_resume_without_start_starts(rapl: FakePowercap) -> None:
    meter = EnergyMeter(default_tag="default")
    meter.resume()
    meter.stop()
    assert [s.tag for s in meter.get_trace()] == ["default"]


def test_pyjoules_manual_recipe_runs_with_device_factory(rapl: FakePowercap) -> None:
    devices = DeviceFactory.create_devices([RaplPackageDomain(0), RaplDramDomain(0)])
    assert [type(d) for d in devices] == [RaplDevice]
    meter = EnergyMeter(devices)
    meter.start(tag="foo")
    rapl.add("intel-rapl:0", 1_000_000)
    meter.record(tag="bar")
    rapl.add("intel-rapl:0:0", 500_000)
    meter.stop()
    trace = meter.get_trace()
    assert trace["foo"].energy["package_0"] == pytest.approx(1_000_000)
    assert trace["bar"].energy == {"package_0": pytest.approx(0), "dram_0": pytest.approx(500_000)}


def test_device_factory_without_domains_finds_what_is_measured_here(rapl: FakePowercap) -> None:
    (device,) = DeviceFactory.create_devices()
    assert device.get_configured_domains() == [RaplPackageDomain(0), RaplDramDomain(0)]


def test_device_factory_without_counters_gives_no_device_and_the_meter_estimates(no_rapl: None) -> None:
    assert DeviceFactory.create_devices() == []
    meter = EnergyMeter(DeviceFactory.create_devices())
    with pytest.warns(RuntimeWarning, match="using the estimator"):
        meter.start("work")
    meter.stop()
    (sample,) = meter.get_trace()
    assert sample.estimated and list(sample.energy) == ["cpu_estimated"]


def test_a_device_refuses_a_domain_of_another_kind() -> None:
    with pytest.raises(NoSuchDomainError, match="nvidia_gpu_0 is not a domain of this device"):
        RaplDevice().configure([NvidiaGPUDomain(0)])


def test_core_and_uncore_together_are_both_reported_missing(rapl: FakePowercap) -> None:
    handler = EnergyHandler()
    with pytest.warns(RuntimeWarning, match="core_0, uncore_0 cannot be measured here"):
        measure_energy(handler=handler, domains=[RaplCoreDomain(0), RaplUncoreDomain(0)])(lambda: None)()
    assert handler.samples()[0].missing == ("core_0", "uncore_0")
