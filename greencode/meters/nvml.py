"""NVIDIA GPU energy through NVML (the ``nvidia-ml-py`` package, imported as ``pynvml``).

Install it with ``pip install 'greencode[nvidia]'``. Each selected GPU (config ``gpus``; NVML's indices, which
``CUDA_VISIBLE_DEVICES`` does not renumber) is one domain ``gpu-N``:

* GPUs with a total-energy counter (Volta and newer) are read with ``nvmlDeviceGetTotalEnergyConsumption``
  (millijoules since the driver loaded) when a window opens and closes. The counter does not wrap, so a drop
  means it was reset (driver reload): the window is then warned and counts only the energy since the reset.
* Older GPUs only report power (``nvmlDeviceGetPowerUsage``, milliwatts); a sampler thread reads it every
  ``sample_interval_s`` while a window is open and integrates it over time with the trapezoid rule.

``pynvml`` is imported only by :func:`create`; :class:`NvmlMeter` takes the library object as a parameter, so
tests pass a fake that behaves like it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from greencode.errors import ConfigError, CounterError, MeterUnavailable
from greencode.meters.base import Domain, Scope
from greencode.meters.counters import CounterMeter

if TYPE_CHECKING:
    from greencode.config import Config

#: NVML's energy counter updates about every 10 ms or slower: shorter windows read 0.
COUNTER_UPDATE_S = 0.01
DEFAULT_SAMPLE_INTERVAL_S = 0.02
_ENERGY_CALL = "nvmlDeviceGetTotalEnergyConsumption"
_POWER_CALL = "nvmlDeviceGetPowerUsage"


def _text(value: str | bytes) -> str:
    # older nvidia-ml-py releases return bytes
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _start_library(library: Any) -> None:
    try:
        library.nvmlInit()
    except library.NVMLError as exc:
        code = getattr(exc, "value", None)
        if code == getattr(library, "NVML_ERROR_LIBRARY_NOT_FOUND", None):
            reason = "NVML's library (libnvidia-ml.so) was not found: no NVIDIA driver is installed here"
        elif code == getattr(library, "NVML_ERROR_DRIVER_NOT_LOADED", None):
            reason = "the NVIDIA driver is not loaded (no NVIDIA GPU here, or its driver failed to start)"
        else:
            reason = f"NVML could not start: {exc}"
        raise MeterUnavailable(reason) from None


class _Gpu:
    __slots__ = ("call", "handle", "index", "label", "reads_energy")

    def __init__(self, index: int, handle: object, label: str, reads_energy: bool) -> None:
        self.index = index
        self.handle = handle
        self.label = label
        self.reads_energy = reads_energy
        self.call = _ENERGY_CALL if reads_energy else _POWER_CALL


class NvmlMeter(CounterMeter):
    """Energy of NVIDIA GPUs, one domain ``gpu-N`` per selected GPU (``gpus=None``: all of them)."""

    name = "nvml"
    scope: Scope = "device"
    covers_cpu = False

    def __init__(
        self,
        library: Any,
        gpus: Sequence[int] | None = None,
        *,
        sample_interval_s: float = DEFAULT_SAMPLE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._library = library
        self._clock = clock
        _start_library(library)
        self._running = True
        try:
            selected, notes = self._probe(gpus)
        except BaseException:
            self._shutdown()
            raise
        #: GPUs left out and why, or how a GPU without an energy counter is read (for ``greencode meters``).
        self.notes: tuple[str, ...] = tuple(notes)
        self._gpus = tuple(selected)
        self._calls = tuple(getattr(library, gpu.call) for gpu in selected)
        self._previous: list[float] = [0] * len(selected)
        self._read_at = 0.0
        sampled = not all(gpu.reads_energy for gpu in selected)
        self.sample_interval_s = sample_interval_s
        self.resolution_s = max(COUNTER_UPDATE_S, sample_interval_s) if sampled else COUNTER_UPDATE_S
        how = f"power sampled every {sample_interval_s * 1000:g} ms"
        domains = tuple(
            Domain(
                f"gpu-{gpu.index}",
                f"nvml: GPU {gpu.index} ({gpu.label}) {'total energy counter' if gpu.reads_energy else how}",
            )
            for gpu in selected
        )
        super().__init__(domains, 1e-3, sample_interval_s if sampled else None)

    def _probe(self, gpus: Sequence[int] | None) -> tuple[list[_Gpu], list[str]]:
        library = self._library
        try:
            count = library.nvmlDeviceGetCount()
        except library.NVMLError as exc:
            raise MeterUnavailable(f"NVML cannot count the GPUs: {exc}") from None
        if count == 0:
            raise MeterUnavailable("NVML found no GPU")
        indices = tuple(range(count)) if gpus is None else tuple(dict.fromkeys(gpus))
        wrong = [index for index in indices if not 0 <= index < count]
        if wrong:
            raise ConfigError(
                f"gpus = {list(indices)}: NVML sees {count} GPU(s), numbered 0 to {count - 1}; "
                "fix the gpus setting (NVML's numbering ignores CUDA_VISIBLE_DEVICES)"
            )
        selected, notes = [], []
        for index in indices:
            try:
                handle = library.nvmlDeviceGetHandleByIndex(index)
                label = _text(library.nvmlDeviceGetName(handle))
            except library.NVMLError as exc:
                notes.append(f"GPU {index}: not measured, NVML cannot open it ({exc})")
                continue
            try:
                library.nvmlDeviceGetTotalEnergyConsumption(handle)
            except library.NVMLError as no_counter:
                try:
                    library.nvmlDeviceGetPowerUsage(handle)
                except library.NVMLError as no_power:
                    notes.append(
                        f"GPU {index} ({label}): not measured, NVML gives neither its energy ({no_counter}) "
                        f"nor its power ({no_power})"
                    )
                    continue
                notes.append(f"GPU {index} ({label}): no energy counter ({no_counter}); its power is sampled")
                selected.append(_Gpu(index, handle, label, reads_energy=False))
            else:
                selected.append(_Gpu(index, handle, label, reads_energy=True))
        if not selected:
            raise MeterUnavailable("NVML can measure none of the GPUs: " + "; ".join(notes))
        return selected, notes

    def _advance(self, accumulate: bool) -> None:
        now = self._clock()
        values = []
        for gpu, call in zip(self._gpus, self._calls, strict=True):
            try:
                values.append(call(gpu.handle))
            except self._library.NVMLError as exc:
                raise CounterError(f"nvml: GPU {gpu.index} ({gpu.label}): {gpu.call} failed: {exc}") from None
        if accumulate:
            elapsed = now - self._read_at
            totals, previous = self._totals, self._previous
            for i, (gpu, value) in enumerate(zip(self._gpus, values, strict=True)):
                before = previous[i]
                if not gpu.reads_energy:
                    totals[i] += (before + value) / 2 * elapsed  # mW × s = mJ
                elif value >= before:
                    totals[i] += value - before
                else:
                    # The counter counts from driver load; after a reset it holds what was used since then.
                    totals[i] += value
                    self._warn(
                        f"nvml: GPU {gpu.index} ({gpu.label}) energy counter went down from {before} to "
                        f"{value} mJ (reset, e.g. a driver reload); only the energy since then is counted"
                    )
        self._previous = values
        self._read_at = now

    def _shutdown(self) -> None:
        if self._running:
            self._running = False
            with contextlib.suppress(self._library.NVMLError):  # closing: nothing useful to do about it
                self._library.nvmlShutdown()

    def close(self) -> None:
        super().close()
        self._shutdown()


def create(config: Config) -> NvmlMeter:
    """Meter factory (entry point ``nvml``): the GPUs in ``config.gpus`` (all when unset)."""
    try:
        import pynvml
    except ImportError:
        raise MeterUnavailable("nvidia-ml-py is not installed (pip install 'greencode[nvidia]')") from None
    return NvmlMeter(pynvml, config.gpus)
