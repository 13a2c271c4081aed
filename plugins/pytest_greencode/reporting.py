"""What a measuring run shows in pytest: the terminal section, pytest's summary line and JUnit XML
properties, all read from the run's :class:`~greencode.outcome.RunOutcome`. The library renders both the
terminal section (:mod:`greencode.report.terminal`) and the step summary, its Markdown report of that
outcome (:mod:`greencode.report.records`), the same as ``greencode ab`` writes; the JSON results file is
written by :func:`greencode.outcome.conclude`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from greencode.config import CarbonConfig, Config
    from greencode.outcome import RunOutcome
    from greencode.records import TestRecord


class Shown(Protocol):
    """What the plugin's run object offers this module (it is :class:`pytest_greencode.session.GreencodeRun`;
    a protocol, so that the two modules do not import each other)."""

    config: Any
    outcome: RunOutcome | None
    estimated: bool
    workers_reported: int
    warnings: list[str]
    errors: list[str]

    @property
    def records(self) -> Mapping[str, TestRecord]: ...

    @property
    def meter_name(self) -> str: ...


class Described(Protocol):
    """What :func:`header_lines` reads of the run (:class:`pytest_greencode.session.GreencodeRun`)."""

    settings: Config
    estimated: bool
    test_rounds: int
    compare: bool
    save: bool
    baseline_path: Path | str
    machine_wide: list[str]

    @property
    def meter_name(self) -> str: ...


def header_lines(run: Described, *, controller: bool) -> list[str]:
    """pytest's header lines for a measuring run: the meter and rounds, the baseline it compares with or
    saves, and how xdist workers measure (``controller``: this process distributes the tests)."""
    kind = "estimated" if run.estimated else "measured"
    lines = [f"greencode: meter {run.meter_name} ({kind}), rounds {run.test_rounds}"]
    if run.compare:
        lines.append(
            f"greencode: comparing with {run.baseline_path} (fail_on {run.settings.fail_on}, "
            f"alpha {run.settings.alpha})"
        )
    if run.save and isinstance(run.baseline_path, str):
        lines.append(
            f"greencode: baseline {run.baseline_path} is the history's recent runs: this run is saved "
            "by being appended to the history"
        )
    elif run.save:
        lines.append(f"greencode: saving the baseline to {run.baseline_path}")
    if controller:
        if run.machine_wide:
            lines.append(
                f"greencode: meter {', '.join(run.machine_wide)} sees the whole machine, so measured "
                "tests run one at a time across xdist workers (a cross-process lock)"
            )
        else:
            lines.append("greencode: each xdist worker measures its own tests (per-process meter)")
    return lines


def terminal_section(terminalreporter: Any, run: Shown) -> None:
    """The ``greencode`` section of pytest's terminal summary, as :mod:`greencode.report.terminal` lays it
    out."""
    from greencode.report.terminal import Section, section_lines

    writer = terminalreporter
    section = Section(
        tuple(run.records.values()),
        run.outcome,
        meter=run.meter_name,
        estimated=run.estimated,
        workers=run.workers_reported,
        warnings=run.warnings,
        errors=run.errors,
    )
    width = int(getattr(getattr(writer, "_tw", None), "fullwidth", 100))
    writer.write_sep("=", "greencode: energy per test")
    for line, style in section_lines(section, width=width, verbose=writer.config.getoption("verbose") > 0):
        writer.write_line(line, **({style: True} if style else {}))


@dataclass
class Counted:
    """One of greencode's failures as an entry of pytest's ``terminalreporter.stats``. Plugins read those
    entries as report objects (hypothesis reads each one's ``__dict__``), so they are objects, not strings."""

    nodeid: str
    message: str


def mark_summary_line(run: Shown) -> None:
    """Count greencode's failures in pytest's last line: "12 passed, 1 energy regression in 3.1s"."""
    reporter = run.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or run.outcome is None:
        return
    from greencode.report.terminal import budget_line

    gate, errors = run.outcome.gate, run.errors
    regressions = gate.regressions
    # pytest prints each key after its count as it is, so the key carries its own plural
    additions = {
        "energy regression" + "s" * (len(regressions) > 1): [
            Counted(c.node_id, c.reason) for c in regressions
        ],
        "over energy budget": [Counted(b.node_id, budget_line(b)) for b in gate.over_budget],
        # counted when it alone failed the run: with tests regressed, they are the count
        "suite energy regression": (
            [Counted("", gate.suite.reason)]
            if gate.suite and gate.suite_regressed and not regressions
            else []
        ),
        "over total energy budget": (
            [Counted("", gate.total_budget.line())] if gate.total_budget and gate.total_budget.over else []
        ),
        # like pytest-cov's --cov-fail-under: a session failed by a setting says so on its last line
        "without energy baseline (on_missing_baseline = 'fail')": (
            [Counted("", gate.refused or f"no baseline at {gate.baseline}")] if gate.baseline_failure else []
        ),
        "greencode error" + "s" * (len(errors) > 1): [Counted("", error) for error in errors],
    }
    for key, items in additions.items():
        if items:
            reporter.stats.setdefault(key, []).extend(items)


def junit_properties(record: TestRecord) -> list[tuple[str, str]]:
    """A measured test's figures as JUnit XML properties of its test case."""
    return [
        ("greencode_energy_j", f"{record.median_j:.6g}"),
        ("greencode_per", record.per),
        ("greencode_estimated", str(record.estimated).lower()),
        ("greencode_meter", record.meter),
        ("greencode_rounds", str(record.rounds)),
    ]


def publish(config: Any, outcome: RunOutcome, carbon: CarbonConfig) -> str | None:
    """Step summary and JUnit suite properties, when those are in use; a warning when the summary could not
    be written."""
    warning = None
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # the report is built (and its model imported) only when read
        from greencode.report import render
        from greencode.report.records import append_step_summary, outcome_report

        warning = append_step_summary(render(outcome_report(outcome, carbon), "md"))
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without junitxml
        return warning
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property("greencode_gate", outcome.gate.summary())
        xml.add_global_property("greencode_meter", outcome.meter)
        xml.add_global_property("greencode_estimated", str(outcome.estimated).lower())
    return warning
