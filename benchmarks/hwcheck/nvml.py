"""NVML: GPUs and their energy counters, a GPU load measured by the counter and by power sampling side by
side, short windows, and GPU index selection. Every read goes through ``greencode.meters.nvml.NvmlMeter``."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from greencode.config import Config
from greencode.errors import ConfigError, GreencodeError, MeterUnavailable
from greencode.measurement import MIN_ROUND_S, RESOLUTION_FACTOR, Recorder
from greencode.meters import Selection
from greencode.meters.nvml import NvmlMeter
from hwcheck.report import Section, check_line, joules, log, percent, relative, table, verdict, watts
from hwcheck.settings import Settings

#: Counter and sampled power must agree within this over the load (the issue: "within a few per cent").
AGREEMENT = 0.05
SHORT_WINDOWS_S = (0.001, 0.01, 0.1)


def load_library(settings: Settings) -> Any:
    """``pynvml``, or the fake library a test names; raises MeterUnavailable saying what is missing."""
    if settings.nvml_library:
        return settings.make(settings.nvml_library)
    try:
        import pynvml
    except ImportError:
        raise MeterUnavailable("nvidia-ml-py (module pynvml) is not installed") from None
    return pynvml


class WithoutEnergyCounter:
    """The NVML library as seen by a GPU without a total-energy counter, so that greencode's meter falls back
    to sampling power: the same meter code reads the same GPU both ways."""

    def __init__(self, library: Any) -> None:
        self._library = library

    def __getattr__(self, name: str) -> Any:
        return getattr(self._library, name)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: object) -> int:
        raise self._library.NVMLError(self._library.NVML_ERROR_NOT_SUPPORTED)


# ---------------------------------------------------------------------------------------------------------
# GPU loads: repeated matrix products with whatever GPU library is installed


Load = Callable[[float], str]


def _torch_load(index: int) -> Load:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("PyTorch is installed but sees no CUDA device")
    device = torch.device(f"cuda:{index}")
    matrix = torch.randn(8192, 8192, device=device, dtype=torch.float16)
    (matrix @ matrix).sum().item()  # CUDA start-up and kernel selection happen here, before any window

    def run(seconds: float) -> str:
        products = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(10):
                matrix @ matrix
            torch.cuda.synchronize(device)
            products += 10
        return f"PyTorch {torch.__version__}: {products} fp16 8192² matrix products on cuda:{index}"

    return run


def _cupy_load(index: int) -> Load:
    import cupy

    with cupy.cuda.Device(index):
        matrix = cupy.random.standard_normal((8192, 8192), dtype=cupy.float32).astype(cupy.float16)
        float((matrix @ matrix).sum())

    def run(seconds: float) -> str:
        products = 0
        with cupy.cuda.Device(index) as device:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for _ in range(10):
                    matrix @ matrix
                device.synchronize()
                products += 10
        return f"CuPy {cupy.__version__}: {products} fp16 8192² matrix products on device {index}"

    return run


def gpu_load(settings: Settings, index: int) -> tuple[Load | None, str]:
    """A function loading GPU ``index`` for some seconds, or None and why there is none."""
    if settings.gpu_load == "none":
        return None, "no GPU load (gpu_load = none)"
    # CUDA numbers devices fastest first unless told otherwise; PCI order matches NVML's indices
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    reasons = []
    for name, make in (("torch", _torch_load), ("cupy", _cupy_load)):
        if importlib.util.find_spec(name) is None:
            reasons.append(f"{name} not installed")
            continue
        try:
            return make(index), ""
        except Exception as exc:  # a broken CUDA install must not stop the rest of the check
            reasons.append(f"{name}: {type(exc).__name__}: {exc}")
    return None, "no GPU load available (" + "; ".join(reasons) + ")"


# ---------------------------------------------------------------------------------------------------------
# short windows


def short_windows(meter: NvmlMeter, seconds: float, count: int, power_w: float) -> list[str]:
    """``count`` windows of ``seconds`` through greencode's Recorder: how many read 0, what they report."""
    selection = Selection((meter,), ("hardware check",))
    config = Config()
    energies, walls, warnings = [], [], []
    for _ in range(count):
        recorder = Recorder("short", selection, config)
        time.sleep(seconds)
        measurement = recorder.stop()
        energies.append(measurement.energy_j)
        walls.append(measurement.wall_s)
        warnings.extend(measurement.warnings)
    zeros = sum(1 for e in energies if e == 0)
    expected = power_w * statistics.median(walls)
    ratios = [e / (power_w * w) for e, w in zip(energies, walls, strict=True) if power_w and w]
    return [
        f"{seconds * 1000:g} ms",
        str(count),
        str(zeros),
        joules(statistics.median(energies)),
        joules(expected),
        f"{statistics.median(ratios):.3g}" if ratios else "–",
        "; ".join(dict.fromkeys(warnings)) or "none",
    ]


# ---------------------------------------------------------------------------------------------------------
# the part


def _gpu_rows(library: Any, meter: NvmlMeter) -> list[list[str]]:
    how = {domain.name: domain.source for domain in meter.domains()}
    rows = []
    for index in range(library.nvmlDeviceGetCount()):
        source = how.get(f"gpu-{index}", "")
        note = next((n for n in meter.notes if n.startswith(f"GPU {index} ")), "")
        if "total energy counter" in source:
            counter = "yes"
        elif source:
            counter = "no: power sampled"
        else:
            counter = "no"
        rows.append([str(index), source.partition("(")[2].partition(")")[0] or "?", counter, note or "–"])
    return rows


def _driver(library: Any) -> str:
    call = getattr(library, "nvmlSystemGetDriverVersion", None)
    if call is None:
        return "unknown"
    try:
        version = call()
    except library.NVMLError as exc:
        return f"unknown ({exc})"
    return version.decode() if isinstance(version, bytes) else str(version)


def check_selection(library: Any, count: int) -> list[str]:
    lines = []
    for index in range(count):
        with NvmlMeter(library, [index]) as one:
            names = [domain.name for domain in one.domains()]
        lines.append(check_line(names == [f"gpu-{index}"], f"gpus = [{index}] gives the domains {names}"))
    try:
        NvmlMeter(library, [count]).close()
        lines.append(check_line(False, f"gpus = [{count}] was accepted, but there is no GPU {count}"))
    except ConfigError as exc:
        lines.append(check_line(True, f"gpus = [{count}] is refused: {exc}"))
    if os.environ.get("CUDA_VISIBLE_DEVICES"):
        lines.append(
            f"- note: CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']} is set; NVML ignores it, "
            "so the loaded CUDA device may not be NVML's GPU of the same number"
        )
    return lines


def _run_load(load: Load | None, seconds: float, result: list[str]) -> None:
    if load is None:
        time.sleep(seconds)
        result.append("idle (no load)")
        return
    try:
        result.append(load(seconds))
    except Exception as exc:  # reported in the section; the windows around it still close
        result.append(f"the load failed ({type(exc).__name__}: {exc})")


def check(settings: Settings) -> Section:
    try:
        library = load_library(settings)
        meter = NvmlMeter(library, None)
    except MeterUnavailable as exc:
        return Section("nvml", "absent", f"no NVML: {exc}", (f"Not available: {exc}",))
    checks: list[bool] = []
    with meter:
        count = library.nvmlDeviceGetCount()
        body = [
            f"NVIDIA driver {_driver(library)}; NVML sees {count} GPU(s).",
            "",
            *table(["index", "name", "total-energy counter", "note"], _gpu_rows(library, meter)),
        ]
        measured = [int(domain.name.removeprefix("gpu-")) for domain in meter.domains()]
        index = settings.gpu_index if settings.gpu_index is not None else measured[0]
        body += ["", "GPU index selection:", *check_selection(library, count)]
        with contextlib.ExitStack() as stack:
            try:
                counter_meter = stack.enter_context(NvmlMeter(library, [index]))
                sampled_meter = stack.enter_context(
                    NvmlMeter(
                        WithoutEnergyCounter(library), [index], sample_interval_s=settings.sample_interval_s
                    )
                )
            except GreencodeError as exc:
                body += ["", f"**GPU {index} cannot be measured both ways**: {exc}"]
                return Section("nvml", "fail", f"GPU {index} cannot be measured both ways", tuple(body))
            has_counter = "total energy counter" in counter_meter.domains()[0].source
            log("nvml: preparing the GPU load")
            load, no_load = gpu_load(settings, index)
            body += ["", f"GPU load: {no_load or 'yes'}."]
            done: list[str] = []
            worker = threading.Thread(target=_run_load, args=(load, settings.gpu_load_s, done))
            log("nvml: measuring the load")
            started = time.perf_counter()
            all_gpus, counted, sampled = meter.start(), counter_meter.start(), sampled_meter.start()
            time.sleep(settings.gpu_settle_s)
            worker.start()
            # the short windows run while the load does, so that they have energy to resolve
            time.sleep(min(0.5, settings.gpu_load_s / 10))
            during = time.perf_counter()
            probe = NvmlMeter(library, [index])
            rough = probe.start()
            time.sleep(min(0.2, settings.gpu_load_s / 20))
            rough_j = sum(rough.stop().energy_j.values())
            rough_w = rough_j / (time.perf_counter() - during) if rough_j else 0.0
            rows = [short_windows(probe, s, settings.short_windows, rough_w) for s in SHORT_WINDOWS_S]
            probe.close()
            worker.join()
            time.sleep(settings.gpu_settle_s)
            counted_j = sum(counted.stop().energy_j.values())
            sampled_reading = sampled.stop()
            all_reading = all_gpus.stop()
            seconds = time.perf_counter() - started
        sampled_j = sum(sampled_reading.energy_j.values())
        difference = relative(sampled_j, counted_j)
        body += [
            f"Work done: {done[0]}; window {seconds:.3g} s, "
            f"{settings.gpu_settle_s:g} s of it before and after the load."
        ]
        if has_counter:
            agrees = difference is not None and abs(difference) <= AGREEMENT
            checks.append(agrees)
            body.append(
                check_line(
                    agrees,
                    f"energy counter {joules(counted_j)} ({watts(counted_j / seconds)}) against power "
                    f"sampled every {settings.sample_interval_s * 1000:g} ms {joules(sampled_j)} "
                    f"({watts(sampled_j / seconds)}): difference {percent(difference)} "
                    f"(within {AGREEMENT * 100:g} % expected)",
                )
            )
        else:
            body.append(f"- GPU {index} has no energy counter: only sampled power, {joules(sampled_j)}")
        per_gpu = ", ".join(f"{name} {joules(j)}" for name, j in all_reading.energy_j.items())
        body.append(f"- the same window over every GPU: {per_gpu}")
        if load is not None and len(all_reading.energy_j) > 1:
            loaded = max(all_reading.energy_j, key=lambda name: all_reading.energy_j[name])
            checks.append(loaded == f"gpu-{index}")
            body.append(check_line(loaded == f"gpu-{index}", f"the load shows on {loaded}"))
        body += [f"- warning: {w}" for w in (*sampled_reading.warnings, *all_reading.warnings)]
        round_s = max(MIN_ROUND_S, RESOLUTION_FACTOR * counter_meter.resolution_s)
        body += [
            "",
            f"Short windows during the load (power then about {watts(rough_w)}), as greencode's measure() "
            "reports them:",
            "",
            *table(
                ["window", "windows", "read 0 J", "median", "power × time", "median ratio", "warnings"], rows
            ),
            "",
            f"greencode.profile() makes each round at least {round_s * 1000:g} ms long with this meter "
            f"({RESOLUTION_FACTOR} × its {counter_meter.resolution_s * 1000:g} ms resolution).",
        ]
    status = verdict(checks) if checks else "info"
    summary = f"{count} GPU(s); counter vs sampled {percent(difference)} over {seconds:.3g} s" + (
        "" if load else " (no load)"
    )
    return Section("nvml", status, summary, tuple(body))
