"""Fitting the instruction model to measured energy: joules per instruction and per DRAM line, least squares.

Each sample is one workload: the energy a RAPL counter saw above idle, and the instruction and last-level miss
counts over the same window. The model has no constant term (a window that runs nothing costs nothing, as in
:mod:`greencode.meters.instructions_model`), so the fit solves

    energy_j ≈ instructions × joules_per_instruction + ll_misses × joules_per_ll_miss  (+ d1_misses × ...)

for non-negative coefficients, minimising the *relative* residuals (each sample's equation divided by its
energy): workloads of a millijoule and of a joule then count alike, and the fit error reads as a percentage.
A coefficient the data would make negative is fixed at 0 instead (the best fit over the remaining terms), and
the result says so. Pure arithmetic: no meter, no file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from greencode.errors import GreencodeError

__all__ = [
    "COEFFICIENTS",
    "TERMS",
    "FitError",
    "InstructionFit",
    "Sample",
    "fit_instruction_model",
    "fit_table",
    "terms_for",
]

#: count name -> the configuration key of its coefficient under ``[tool.greencode.instructions]``
COEFFICIENTS: Mapping[str, str] = {
    "instructions": "joules_per_instruction",
    "d1_misses": "joules_per_d1_miss",
    "ll_misses": "joules_per_ll_miss",
}
#: What the fit uses by default: instructions and DRAM lines (last-level misses). D1 misses that hit the
#: last level cost too little against an instruction for RAPL to separate them on a few workloads.
TERMS = ("instructions", "ll_misses")


class FitError(GreencodeError):
    """The samples cannot determine the coefficients (too few, or the counts are all zero)."""


@dataclass(frozen=True)
class Sample:
    """One workload: RAPL energy above idle over a window, and the counts over the same window."""

    label: str
    energy_j: float
    counts: Mapping[str, float]


@dataclass(frozen=True)
class InstructionFit:
    """The fitted coefficients (J per event, by count name) and how well they reproduce the samples."""

    coefficients: Mapping[str, float]
    samples: tuple[Sample, ...]
    predicted_j: tuple[float, ...]
    #: terms the unconstrained fit would have made negative, fixed at 0
    clamped: tuple[str, ...] = ()

    @property
    def relative_errors(self) -> tuple[float, ...]:
        """(predicted − measured) / measured, per sample."""
        return tuple(p / s.energy_j - 1 for p, s in zip(self.predicted_j, self.samples, strict=True))

    @property
    def rms_error(self) -> float:
        errors = self.relative_errors
        return math.sqrt(math.fsum(e * e for e in errors) / len(errors))

    @property
    def max_error(self) -> float:
        return max(abs(e) for e in self.relative_errors)

    def config_values(self) -> dict[str, float]:
        """The coefficients under their configuration keys."""
        return {COEFFICIENTS[name]: value for name, value in self.coefficients.items()}


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None when the system is singular."""
    size = len(vector)
    rows = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        scale = max(abs(value) for row in rows for value in row[:size]) or 1.0
        if abs(rows[pivot][column]) <= 1e-12 * scale:
            return None
        rows[column], rows[pivot] = rows[pivot], rows[column]
        for r in range(size):
            if r != column:
                factor = rows[r][column] / rows[column][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column], strict=True)]
    return [rows[i][size] / rows[i][i] for i in range(size)]


def _least_squares(design: list[list[float]], target: list[float]) -> list[float] | None:
    """Unconstrained least squares through the normal equations (columns scaled to 1 for conditioning)."""
    width = len(design[0])
    norms = [math.sqrt(math.fsum(row[j] ** 2 for row in design)) for j in range(width)]
    if any(norm == 0 for norm in norms):
        return None
    scaled = [[row[j] / norms[j] for j in range(width)] for row in design]
    normal = [[math.fsum(r[i] * r[j] for r in scaled) for j in range(width)] for i in range(width)]
    right = [math.fsum(r[i] * t for r, t in zip(scaled, target, strict=True)) for i in range(width)]
    solution = _solve(normal, right)
    return None if solution is None else [value / norm for value, norm in zip(solution, norms, strict=True)]


def fit_instruction_model(samples: Sequence[Sample], terms: Sequence[str] = TERMS) -> InstructionFit:
    """Non-negative coefficients for ``terms`` that best reproduce the samples' energy, in relative terms.

    Raises :class:`FitError` when there are fewer samples than terms, a sample has no energy above idle, or no
    subset of the terms can be determined (every count zero).
    """
    samples = tuple(samples)
    unknown = [term for term in terms if term not in COEFFICIENTS]
    if unknown:
        raise FitError(f"unknown count {unknown[0]!r}; the model's counts are {', '.join(COEFFICIENTS)}")
    if len(samples) < len(terms):
        raise FitError(f"{len(samples)} workload(s) cannot determine {len(terms)} coefficients; measure more")
    flat = [s.label for s in samples if not s.energy_j > 0]
    if flat:
        raise FitError(
            f"workload {flat[0]!r} used no energy above idle by RAPL's count; run it longer or on a "
            "quieter machine"
        )
    # each equation divided by its energy: the residuals are relative errors
    design = [[s.counts.get(term, 0) / s.energy_j for term in terms] for s in samples]
    target = [1.0] * len(samples)
    best: tuple[float, dict[str, float]] | None = None
    # every subset of the terms, the largest first: the best feasible (non-negative) fit wins
    for size in range(len(terms), 0, -1):
        for subset in itertools.combinations(range(len(terms)), size):
            solution = _least_squares([[row[j] for j in subset] for row in design], target)
            if solution is None or any(value < 0 for value in solution):
                continue
            coefficients = {terms[j]: value for j, value in zip(subset, solution, strict=True)}
            residual = math.fsum(
                (math.fsum(row[j] * coefficients[terms[j]] for j in subset) - 1) ** 2 for row in design
            )
            if best is None or residual < best[0] * (1 - 1e-9):
                best = (residual, coefficients)
    if best is None:
        raise FitError(f"the counts ({', '.join(terms)}) were zero in every workload: nothing to fit")
    coefficients = {term: best[1].get(term, 0.0) for term in terms}
    predicted = tuple(
        math.fsum(s.counts.get(term, 0) * coefficients[term] for term in terms) for s in samples
    )
    clamped = tuple(term for term in terms if term not in best[1])
    return InstructionFit(coefficients, samples, predicted, clamped)


def terms_for(samples: Sequence[Sample]) -> tuple[str, ...]:
    """The default terms that every sample has counts for (a PMU without a cache-miss event gives only
    instructions, and then only joules per instruction can be fitted)."""
    return tuple(term for term in TERMS if all(term in s.counts for s in samples))


def fit_table(fit: InstructionFit) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each workload's energy above idle, its counts, the model's figure and the error."""
    header = ["workload", "energy above idle", *fit.coefficients, "model", "error"]
    rows = [
        [
            sample.label,
            f"{sample.energy_j:.4g} J",
            *(f"{sample.counts.get(term, 0):.4g}" for term in fit.coefficients),
            f"{predicted:.4g} J",
            f"{error * 100:+.1f} %",
        ]
        for sample, predicted, error in zip(fit.samples, fit.predicted_j, fit.relative_errors, strict=True)
    ]
    return header, rows
