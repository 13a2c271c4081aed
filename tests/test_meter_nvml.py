"""The NVML meter over a fake pynvml: energy counter, sampled power, resets, errors, GPU selection."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest
from fakes import GPU_IS_LOST, NOT_SUPPORTED, FakeClock, FakeGpu, FakeNvml

from greencode.config import Config
from greencode.errors import ConfigError, CounterError, MeterUnavailable
from greencode.meters.base import Meter
from greencode.meters.nvml import NvmlMeter, create

MakeMeter = Callable[..., NvmlMeter]


@pytest.fixture
def meter_for() -> Iterator[MakeMeter]:
    meters: list[NvmlMeter] = []

    def make(library: FakeNvml, gpus: tuple[int, ...] | None = None, **options: object) -> NvmlMeter:
        meter = NvmlMeter(library, gpus, **options)  # type: ignore[arg-type]
        meters.append(meter)
        return meter

    yield make
    for meter in meters:
        meter.close()


def power_only(power_mw: int = 100_000) -> FakeGpu:
    return FakeGpu(name="NVIDIA Fake P100", energy_mj=None, power_mw=power_mw)


# ---------------------------------------------------------------------------------------------------------
# the energy counter


def test_energy_counter_gives_joules_per_gpu(meter_for: MakeMeter) -> None:
    gpus = [FakeGpu(energy_mj=1_000), FakeGpu(energy_mj=5_000)]
    meter = meter_for(FakeNvml(gpus))
    window = meter.start()
    gpus[0].energy_mj = 3_500
    gpus[1].energy_mj = 5_250
    reading = window.stop()
    assert reading.energy_j == {"gpu-0": 2.5, "gpu-1": 0.25}
    assert reading.warnings == ()


def test_counter_domains_say_which_gpu_and_counter(meter_for: MakeMeter) -> None:
    meter = meter_for(FakeNvml([FakeGpu(name="NVIDIA A100")]))
    (domain,) = meter.domains()
    assert domain.name == "gpu-0"
    assert domain.source == "nvml: GPU 0 (NVIDIA A100) total energy counter"
    assert not domain.estimated


def test_meter_follows_the_protocol_and_counter_resolution(meter_for: MakeMeter) -> None:
    meter = meter_for(FakeNvml([FakeGpu()]))
    assert isinstance(meter, Meter)
    assert (meter.name, meter.scope, meter.resolution_s) == ("nvml", "device", 0.01)
    assert not meter.polling  # counters need no sampler


def test_nested_windows_are_independent(meter_for: MakeMeter) -> None:
    gpu = FakeGpu(energy_mj=0)
    meter = meter_for(FakeNvml([gpu]))
    outer = meter.start()
    gpu.energy_mj = 1_000
    inner = meter.start()
    gpu.energy_mj = 3_000
    assert inner.stop().energy_j == {"gpu-0": 2.0}
    assert outer.stop().energy_j == {"gpu-0": 3.0}


def test_counter_reset_is_warned_and_only_energy_since_the_reset_counts(meter_for: MakeMeter) -> None:
    gpu = FakeGpu(energy_mj=90_000)
    meter = meter_for(FakeNvml([gpu]))
    window = meter.start()
    gpu.energy_mj = 400  # the driver was reloaded and counted 0.4 J since
    reading = window.stop()
    assert reading.energy_j == {"gpu-0": 0.4}
    (warning,) = reading.warnings
    assert "GPU 0 (NVIDIA Fake A100) energy counter went down from 90000 to 400 mJ" in warning


# ---------------------------------------------------------------------------------------------------------
# sampled power


def test_power_is_integrated_with_the_trapezoid_rule(meter_for: MakeMeter, clock: FakeClock) -> None:
    gpu = power_only(100_000)
    meter = meter_for(FakeNvml([gpu]), sample_interval_s=60.0, clock=clock)
    window = meter.start()
    clock.advance(1.0)
    gpu.power_mw = 200_000
    meter.poll()
    clock.advance(1.0)
    reading = window.stop()
    assert reading.energy_j == {"gpu-0": pytest.approx(150.0 + 200.0)}


def test_sampled_domain_says_so_and_sets_the_resolution(meter_for: MakeMeter) -> None:
    meter = meter_for(FakeNvml([power_only()]), sample_interval_s=0.02)
    (domain,) = meter.domains()
    assert domain.source == "nvml: GPU 0 (NVIDIA Fake P100) power sampled every 20 ms"
    assert not domain.estimated
    assert meter.resolution_s == 0.02
    assert "GPU 0 (NVIDIA Fake P100): no energy counter (Not Supported); its power is sampled" in meter.notes


def test_counter_and_sampled_gpus_mix(meter_for: MakeMeter, clock: FakeClock) -> None:
    counter, sampled = FakeGpu(energy_mj=0), power_only(50_000)
    meter = meter_for(FakeNvml([counter, sampled]), sample_interval_s=60.0, clock=clock)
    window = meter.start()
    clock.advance(2.0)
    counter.energy_mj = 7_000
    assert window.stop().energy_j == {"gpu-0": 7.0, "gpu-1": pytest.approx(100.0)}


def test_sampler_runs_in_the_background_only_while_a_window_is_open() -> None:
    sampled = threading.Event()

    class Watched(FakeNvml):
        def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
            if threading.current_thread().name == "greencode-nvml-poller":
                sampled.set()
            return super().nvmlDeviceGetPowerUsage(handle)

    with NvmlMeter(Watched([power_only()]), sample_interval_s=0.001) as meter:
        assert not meter.polling
        window = meter.start()
        assert meter.polling
        assert sampled.wait(timeout=30)
        reading = window.stop()
        assert not meter.polling
    assert reading.energy_j["gpu-0"] > 0


# ---------------------------------------------------------------------------------------------------------
# selection and errors


def test_selected_gpus_are_the_only_domains(meter_for: MakeMeter) -> None:
    meter = meter_for(FakeNvml([FakeGpu(), FakeGpu(), FakeGpu()]), gpus=(2, 0))
    assert [d.name for d in meter.domains()] == ["gpu-2", "gpu-0"]


def test_selecting_a_gpu_that_does_not_exist_is_a_config_error() -> None:
    library = FakeNvml([FakeGpu(), FakeGpu()])
    with pytest.raises(ConfigError, match=r"gpus = \[3\]: NVML sees 2 GPU\(s\), numbered 0 to 1"):
        NvmlMeter(library, (3,))
    assert library.shutdowns == library.initialised == 1


def test_no_gpu_is_unavailable() -> None:
    with pytest.raises(MeterUnavailable, match=r"^NVML found no GPU$"):
        NvmlMeter(FakeNvml([]))


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (FakeNvml.NVML_ERROR_LIBRARY_NOT_FOUND, "libnvidia-ml.so) was not found: no NVIDIA driver"),
        (FakeNvml.NVML_ERROR_DRIVER_NOT_LOADED, "the NVIDIA driver is not loaded"),
        (4, "NVML could not start: Insufficient Permissions"),
    ],
)
def test_nvml_failing_to_start_is_unavailable_with_the_reason(code: int, reason: str) -> None:
    with pytest.raises(MeterUnavailable, match=reason.replace("(", r"\(").replace(")", r"\)")):
        NvmlMeter(FakeNvml([FakeGpu()], init_error=code))


def test_gpu_with_neither_energy_nor_power_is_left_out(meter_for: MakeMeter) -> None:
    meter = meter_for(FakeNvml([FakeGpu(energy_mj=None, power_mw=None), FakeGpu()]))
    assert [d.name for d in meter.domains()] == ["gpu-1"]
    assert any(
        note.startswith("GPU 0 (NVIDIA Fake A100): not measured, NVML gives neither") for note in meter.notes
    )


def test_no_measurable_gpu_is_unavailable() -> None:
    lost = FakeGpu(errors={"nvmlDeviceGetHandleByIndex": GPU_IS_LOST})
    with pytest.raises(
        MeterUnavailable, match=r"NVML can measure none of the GPUs: GPU 0: .*\(GPU is lost\)"
    ):
        NvmlMeter(FakeNvml([lost]))


def test_a_failing_read_at_stop_is_a_counter_error_and_closes_the_window(meter_for: MakeMeter) -> None:
    gpu = FakeGpu()
    meter = meter_for(FakeNvml([gpu]))
    window = meter.start()
    gpu.errors["nvmlDeviceGetTotalEnergyConsumption"] = GPU_IS_LOST
    with pytest.raises(
        CounterError, match=r"GPU 0 \(NVIDIA Fake A100\): nvmlDeviceGetTotalEnergyConsumption failed"
    ):
        window.stop()
    gpu.errors.clear()
    assert meter.start().stop().energy_j == {"gpu-0": 0.0}


def test_a_failing_sample_in_the_background_becomes_a_warning(meter_for: MakeMeter, clock: FakeClock) -> None:
    gpu = power_only()
    meter = meter_for(FakeNvml([gpu]), sample_interval_s=60.0, clock=clock)
    window = meter.start()
    gpu.errors["nvmlDeviceGetPowerUsage"] = NOT_SUPPORTED
    meter.poll()
    gpu.errors.clear()
    (warning,) = window.stop().warnings
    assert "nvmlDeviceGetPowerUsage failed: Not Supported" in warning


def test_close_shuts_nvml_down_once() -> None:
    library = FakeNvml([FakeGpu()])
    meter = NvmlMeter(library)
    meter.close()
    meter.close()
    assert (library.initialised, library.shutdowns) == (1, 1)


def test_create_without_nvidia_ml_py_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes "import pynvml" fail
    with pytest.raises(
        MeterUnavailable, match=r"^nvidia-ml-py is not installed \(pip install 'greencode\[nvidia\]'\)$"
    ):
        create(Config())


def test_create_passes_the_configured_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([FakeGpu(), FakeGpu()]))
    meter = create(Config(gpus=(1,)))
    try:
        assert [d.name for d in meter.domains()] == ["gpu-1"]
    finally:
        meter.close()


def test_importing_the_module_does_not_import_pynvml() -> None:
    import subprocess

    code = "import greencode.meters.nvml, sys; print('pynvml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
