"""The instruction model's calibration against RAPL, briefly: the same workloads, measurement and fit as
``greencode calibrate --instructions``, reported without writing any configuration."""

from __future__ import annotations

from dataclasses import replace

from greencode.config import Config
from greencode.errors import GreencodeError
from greencode.instruction_calibration import default_workloads, measure_samples, open_meters
from greencode.instruction_fit import fit_instruction_model, fit_table, terms_for
from hwcheck.report import Section, log, table, watts
from hwcheck.settings import Settings


def check(settings: Settings) -> Section:
    config = replace(Config(), powercap_root=settings.powercap())
    syscalls = settings.make(settings.perf_syscalls) if settings.perf_syscalls else None
    try:
        energy, counts = open_meters(config, syscalls)
    except GreencodeError as exc:
        return Section("calibration", "absent", str(exc), (f"Not run: {exc}",))
    try:
        samples, idle_w = measure_samples(
            default_workloads(settings.calibration_mib),
            energy,
            counts,
            seconds=settings.calibration_s,
            idle_s=settings.idle_s,
            progress=log,
        )
    finally:
        counts.close()
        energy.close()
    try:
        fit = fit_instruction_model(samples, terms_for(samples))
    except GreencodeError as exc:
        return Section(
            "calibration", "fail", f"no fit: {exc}", (f"RAPL idle {watts(idle_w)}.", f"No fit: {exc}")
        )
    header, rows = fit_table(fit)
    coefficients = ", ".join(f"{key} = {value:.3g}" for key, value in fit.config_values().items())
    body = [
        f"RAPL idle power {watts(idle_w)} taken off; each workload repeated for {settings.calibration_s:g} s "
        "(the full calibration runs longer).",
        "",
        *table(header, rows),
        "",
        f"Fit: {coefficients}; RMS error {fit.rms_error * 100:.3g} %, largest {fit.max_error * 100:.3g} %.",
        *(f"- {term}: the data would make its coefficient negative; fixed at 0" for term in fit.clamped),
    ]
    return Section(
        "calibration", "info", f"{coefficients}; RMS error {fit.rms_error * 100:.3g} %", tuple(body)
    )
