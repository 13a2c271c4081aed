"""Measuring your own code: the decorator, a block, and calibrated rounds for short functions.

Run it from anywhere: ``python examples/decorator.py``. On a machine without readable energy counters the
figures are estimates, and every line says so.
"""

from __future__ import annotations

import json

import greencode
from greencode.units import format_duration, format_energy


@greencode.measure  # every call is measured; one line per call goes to standard error (the "print" sink)
def parse(lines: list[str]) -> list[dict[str, str]]:
    return [dict(zip(("id", "name", "city"), line.split(","), strict=True)) for line in lines]


def main() -> None:
    lines = [f"{n},name{n},city{n % 50}" for n in range(50_000)]
    records = parse(lines)  # the return value comes back unchanged

    with greencode.measure("serialise") as block:  # a block of code
        text = json.dumps(records)
    result = block.result
    assert result is not None
    print(
        f"serialise: {len(text):,} characters, {format_energy(result.energy_j)} {result.kind}, "
        f"{format_duration(result.wall_s)}"
    )
    for domain, source in result.provenance.items():
        print(f"  {domain}: {source}")

    # A function that takes microseconds is below any meter's resolution: profile() repeats it in
    # calibrated rounds and reports energy per call.
    profile = greencode.Profiler(rounds=7).run(sorted, lines)
    kind = "estimated" if profile.estimated else "measured"
    print(
        f"sorted(): {format_energy(profile.energy.median)} per call ({kind}), median of {profile.rounds} "
        f"rounds of {profile.iterations} calls, IQR {format_energy(profile.energy.iqr)}"
    )
    print("meters:")
    for reason in greencode.meters_in_use().reasons:
        print(f"  {reason}")


if __name__ == "__main__":
    main()
