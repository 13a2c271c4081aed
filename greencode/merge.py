"""Merging the results of a sharded suite: several ``pytest --greencode-json`` files into one.

Parallel CI jobs each measure part of a suite. Gating each part alone is not the same decision as gating the
suite: the gate controls false alarms across all compared tests together (Holm), and each shard would call
the others' tests "missing". :func:`merge_results` combines the shards into one results document, on which
``greencode report all.json --fail-on 10%`` (or ``greencode gate``) decides as if one job had run every
test.

Shards must be comparable: the same meter and the same kind of machine (fingerprint identity), the same
commit, and each test measured in one shard only. Mixed meters or machines are refused unless
``allow_mixed`` is given (the merged document then records each shard's machine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greencode.errors import StoreError
from greencode.results_file import Results, load_results


@dataclass(frozen=True)
class MergedResults:
    """The merged results document and what was merged (for messages)."""

    document: dict[str, Any]
    shards: tuple[Path, ...]
    tests: int


def _describe(results: Results) -> str:
    return results.fingerprint.describe()


def merged_judging(shards: Sequence[tuple[Path, Results]]) -> dict[str, Any] | None:
    """How the merged run is judged: as strictly as its strictest shard (the largest jitter and rounds, the
    smallest level left by its looks); None when a shard does not say (an older results file)."""
    given = [(results.raw.get("settings") or {}).get("judging") for _, results in shards]
    if not all(isinstance(judging, dict) for judging in given):
        return None
    levels = [j["alpha"] for j in given if isinstance(j, dict) and j.get("alpha") is not None]
    return {
        "jitter_s": max(j.get("jitter_s", 0.0) for j in given if isinstance(j, dict)),
        "min_rounds": max(j.get("min_rounds", 1) for j in given if isinstance(j, dict)),
        "alpha": min(levels) if levels else None,
    }


def merge_results(paths: Sequence[Path], *, allow_mixed: bool = False) -> MergedResults:
    """One results document holding every test of the results files at ``paths``; a :class:`StoreError`
    names the file and the reason when they cannot be merged."""
    if len(paths) < 1:
        raise StoreError("merge needs at least one results file (pytest --greencode-json)")
    shards = [(Path(path), load_results(Path(path))) for path in paths]
    first_path, first = shards[0]
    owner: dict[str, Path] = {}
    tests: list[dict[str, Any]] = []
    warnings: list[str] = []
    budgets: list[dict[str, Any]] = []
    for path, results in shards:
        if not allow_mixed:
            if results.fingerprint.meter != first.fingerprint.meter:
                raise StoreError(
                    f"{path}: measured with meter {results.fingerprint.meter!r}, {first_path} with "
                    f"{first.fingerprint.meter!r}; energies of different meters do not add up "
                    "(--allow-mixed merges them anyway)"
                )
            if not results.fingerprint.matches(first.fingerprint):
                differences = "; ".join(results.fingerprint.differences(first.fingerprint))
                raise StoreError(
                    f"{path}: measured on another kind of machine than {first_path} ({differences}); "
                    "run the shards on one runner type, or pass --allow-mixed"
                )
        commit, first_commit = results.run.get("commit"), first.run.get("commit")
        if commit != first_commit:
            raise StoreError(
                f"{path}: measured commit {commit}, {first_path} commit {first_commit}; merge shards of "
                "one commit"
            )
        for test in results.raw.get("tests") or []:
            node_id = test.get("node_id")
            if node_id in owner:
                raise StoreError(
                    f"{path}: {node_id} was measured in {owner[node_id]} too; each test belongs to one "
                    "shard (check the sharding's selection)"
                )
            owner[node_id] = path
            tests.append(test)
        warnings += [f"{path.name}: {w}" for w in results.raw.get("warnings") or []]
        # the limits of @pytest.mark.energy_budget travel with their shard: the merged gate checks them too
        budgets += [
            b
            for b in (results.gate or {}).get("budgets") or []
            if isinstance(b, dict) and b.get("source") == "marker"
        ]
    runs = [results.run for _, results in shards]
    run = dict(first.run)
    run.update(
        id="merged:" + "+".join(str(r.get("id")) for r in runs),
        started=min(str(r.get("started")) for r in runs),
        finished=max(str(r.get("finished")) for r in runs),
        dirty=any(bool(r.get("dirty")) for r in runs),
        meter_reasons=sorted({str(x) for r in runs for x in r.get("meter_reasons") or []}),
    )
    epochs = [float(e) for r in runs if isinstance(e := r.get("started_epoch"), (int, float))]
    if epochs:
        run["started_epoch"] = min(epochs)
    document = dict(first.raw)
    document.update(
        run=run,
        settings={**(first.raw.get("settings") or {}), "judging": merged_judging(shards)},
        tests=sorted(tests, key=lambda t: str(t.get("node_id"))),
        # the shards' own verdicts each saw part of the suite; the merged file is gated anew, with the
        # shards' marker budgets
        gate={"budgets": budgets} if budgets else None,
        baseline_saved=None,
        advice=None,
        warnings=warnings,
        merged_from=[
            {
                "path": str(path),
                "run": results.run.get("id"),
                "tests": len(results.records),
                "machine": _describe(results),
            }
            for path, results in shards
        ],
    )
    return MergedResults(document, tuple(path for path, _ in shards), len(tests))
