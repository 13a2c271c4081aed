"""The instruction energy model: joules from instruction and cache-miss counts.

    energy = instructions × J/instruction + D1 misses × J/D1 miss + LL misses × J/LL miss

* J/LL miss: a last-level miss fetches one 64-byte line from DRAM. Horowitz (ISSCC 2014, "Computing's
  energy problem", 45 nm) gives 1.3–2.6 nJ per 64-bit DRAM access; a line is eight such words, and a burst
  shares one row activation, so the low end: 8 × 1.3 nJ = 10.4 nJ.
* J/D1 miss: a first-level data miss is served by the next cache level. Horowitz: a 64-bit read of a 1 MB
  SRAM costs about 100 pJ. (A miss that also misses the last level pays the DRAM term on top.)
* J/instruction: Horowitz's ~70 pJ per instruction is the overhead of a simple in-order 45 nm core; a
  modern out-of-order server core spends far more per instruction (wide fetch, renaming, speculation,
  its share of the uncore). The default is therefore derived from the estimator's CPU table, so that on
  typical code both meters agree: the estimator charges ``W`` watts per busy hardware thread, and a busy
  thread of CPython code retires about :data:`TYPICAL_INSTRUCTIONS_PER_CPU_S` instructions per CPU-second
  (measured, see ``docs/instructions.md``), so one instruction costs ``W / TYPICAL_INSTRUCTIONS_PER_CPU_S``
  joules: 2.19 W/thread (AMD EPYC 7763) gives about 0.17 nJ, 2.4 times Horowitz's simple core.

Every coefficient can be set under ``[tool.greencode.instructions]``; the figures stay labelled estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "HOROWITZ_D1_MISS_J",
    "HOROWITZ_LL_MISS_J",
    "TYPICAL_INSTRUCTIONS_PER_CPU_S",
    "InstructionModel",
    "build_instruction_model",
]

#: Horowitz 2014: 64-bit read of a 1 MB SRAM cache, ~100 pJ.
HOROWITZ_D1_MISS_J = 100e-12
#: Horowitz 2014: DRAM 1.3–2.6 nJ per 64-bit access; one 64-byte line = 8 accesses at the low end.
HOROWITZ_LL_MISS_J = 8 * 1.3e-9
#: Instructions a busy thread retires per CPU-second running CPython code: callgrind's instruction count of
#: a mixed workload (JSON, regular expressions, sorting, integer loops, small objects; 461.8 million
#: instructions) divided by its median CPU time without Valgrind (35.4–37.4 ms), CPython 3.11 on an AMD
#: EPYC (Zen 4) VM, 2026-12-01 (docs/instructions.md, "Where the default comes from").
TYPICAL_INSTRUCTIONS_PER_CPU_S = 1.3e10

_SECTION = "[tool.greencode.instructions]"


@dataclass(frozen=True)
class InstructionModel:
    """The three coefficients (joules per event) and, in words, where each came from."""

    joules_per_instruction: float
    joules_per_d1_miss: float
    joules_per_ll_miss: float
    basis: str

    def energy_j(self, counts: Mapping[str, int]) -> float:
        """Energy of a window from its counts; a count the backend does not have contributes nothing."""
        return (
            counts.get("instructions", 0) * self.joules_per_instruction
            + counts.get("d1_misses", 0) * self.joules_per_d1_miss
            + counts.get("ll_misses", 0) * self.joules_per_ll_miss
        )

    def provenance(self, backend: str, counts: tuple[str, ...]) -> str:
        """The domain source shown next to every figure: the model, its coefficients and the counts used."""
        terms = [f"instructions x {self.joules_per_instruction:.3g} J"]
        if "d1_misses" in counts:
            terms.append(f"D1 misses x {self.joules_per_d1_miss:.3g} J")
        if "ll_misses" in counts:
            terms.append(f"LL misses x {self.joules_per_ll_miss:.3g} J")
        missing = [name for name in ("d1_misses", "ll_misses") if name not in counts]
        unseen = f"; not counted: {', '.join(missing)}" if missing else ""
        return (
            f"estimated: instruction model, {' + '.join(terms)} ({self.basis}); "
            f"counts from {backend}: {', '.join(counts)}{unseen}"
        )


def build_instruction_model(
    joules_per_instruction: float | None,
    joules_per_d1_miss: float | None,
    joules_per_ll_miss: float | None,
    watts_per_thread: float,
    watts_source: str,
) -> InstructionModel:
    """The model from configured coefficients, falling back to the sourced defaults above.

    ``watts_per_thread`` and ``watts_source`` are the estimator's figure for this CPU (see
    :func:`greencode.meters.estimate.build_power_model`), from which the per-instruction default is derived.
    """
    parts = []
    if joules_per_instruction is None:
        joules_per_instruction = watts_per_thread / TYPICAL_INSTRUCTIONS_PER_CPU_S
        parts.append(
            f"J/instruction = {watts_per_thread:.3g} W/thread / {TYPICAL_INSTRUCTIONS_PER_CPU_S:.2g} "
            f"instructions per CPU-second; W/thread: {watts_source}"
        )
    else:
        parts.append(f"J/instruction from {_SECTION}")
    if joules_per_d1_miss is None:
        joules_per_d1_miss = HOROWITZ_D1_MISS_J
        parts.append("J/D1 miss: 1 MB SRAM read, Horowitz ISSCC 2014")
    else:
        parts.append(f"J/D1 miss from {_SECTION}")
    if joules_per_ll_miss is None:
        joules_per_ll_miss = HOROWITZ_LL_MISS_J
        parts.append("J/LL miss: 64-byte DRAM line, 8 x 1.3 nJ, Horowitz ISSCC 2014")
    else:
        parts.append(f"J/LL miss from {_SECTION}")
    return InstructionModel(joules_per_instruction, joules_per_d1_miss, joules_per_ll_miss, "; ".join(parts))
