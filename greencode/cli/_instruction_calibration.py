"""``greencode calibrate --instructions``: fit the instruction model's coefficients against RAPL here.

Runs built-in workloads (:mod:`greencode.instruction_calibration`) measured by RAPL and by the perf
instruction counters at once, fits joules per instruction and per DRAM line
(:mod:`greencode.instruction_fit`), prints the fit and its error, and either prints the
``[tool.greencode.instructions]`` block to paste or, with ``--write``, sets exactly those keys in the
configuration file (:mod:`greencode.toml_keys`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from greencode.errors import GreencodeError

PYPROJECT_TABLE = ("tool", "greencode", "instructions")
OWN_FILE_TABLE = ("instructions",)


def config_target(explicit: str | None, start: Path) -> tuple[Path, tuple[str, ...]]:
    """The file ``--write`` edits and the table inside it: ``--config``, else the configuration file in use,
    else this directory's pyproject.toml, else a new greencode.toml here."""
    from greencode.config import find_config_file

    path = Path(explicit) if explicit else find_config_file(start)
    if path is None:
        pyproject = start / "pyproject.toml"
        path = pyproject if pyproject.is_file() else start / "greencode.toml"
    return path, PYPROJECT_TABLE if path.name == "pyproject.toml" else OWN_FILE_TABLE


def handle_instructions(args: argparse.Namespace) -> int:
    import json

    from greencode import instruction_calibration as calibration
    from greencode.config import load_config
    from greencode.files import write_output
    from greencode.instruction_fit import fit_instruction_model, fit_table, terms_for
    from greencode.toml_keys import UnsafeEdit, block, write_keys

    if args.pytest_args or args.save or args.baseline or args.meter:
        raise GreencodeError(
            "--instructions runs its own workloads: it takes no pytest arguments, --save, --baseline or "
            "--meter"
        )
    if not args.seconds > 0:
        raise GreencodeError(f"--seconds {args.seconds:g}: give each workload a positive time, e.g. 1")
    config = load_config(args.config)
    energy, counts = calibration.open_meters(config)
    try:
        samples, idle_w = calibration.measure_samples(
            calibration.default_workloads(),
            energy,
            counts,
            seconds=args.seconds,
            progress=lambda message: print(f"greencode calibrate: {message}", file=sys.stderr),
        )
    finally:
        counts.close()
        energy.close()
    fit = fit_instruction_model(samples, terms_for(samples))

    header, rows = fit_table(fit)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"greencode calibrate --instructions: {len(samples)} workloads, RAPL idle {idle_w:.3g} W taken off")
    for row in [header, *rows]:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    values = fit.config_values()
    fitted = ", ".join(f"{key} = {value:.3g}" for key, value in values.items())
    print(f"  fit: {fitted}; RMS error {fit.rms_error * 100:.3g} %, largest {fit.max_error * 100:.3g} %")
    for term in fit.clamped:
        print(f"  {term}: the workloads would make its coefficient negative; fixed at 0")
    if args.json:
        data = {
            "coefficients": values,
            "rms_error": fit.rms_error,
            "max_error": fit.max_error,
            "idle_w": idle_w,
        }
        data["workloads"] = [{"label": s.label, "energy_j": s.energy_j, **s.counts} for s in fit.samples]
        write_output(args.json, json.dumps(data, indent=2, sort_keys=True) + "\n")

    path, table = config_target(args.config, Path.cwd())
    if not args.write:
        print(f"  paste into {path} (or run again with --write):\n")
        print(block(table, values))
        return 0
    try:
        write_keys(path, table, values)
    except UnsafeEdit as exc:
        print(f"  paste into {path}:\n\n{block(table, values)}")
        raise GreencodeError(str(exc)) from None
    print(f"  wrote {', '.join(values)} under [{'.'.join(table)}] in {path}")
    return 0
