"""The measuring run: everything ``pytest --greencode`` does, registered only when greencode is switched on.

Per test it measures the call phase (optionally setup and teardown too, :mod:`pytest_greencode.setup_energy`),
repeating the call for the configured rounds, or takes the ``energy`` fixture's or pytest-benchmark's
per-call figures (:mod:`pytest_greencode.rounds`; markers are read by :mod:`pytest_greencode.markers`,
records made by :mod:`pytest_greencode.records`). After the last test the library ends the run
(:func:`greencode.outcome.conclude`: budgets, baseline, history, results file, advice) and
:mod:`pytest_greencode.reporting` shows its :class:`~greencode.outcome.RunOutcome`. A
failing gate fails the session the way pytest-cov does: one more failure counted in ``session.testsfailed``
from a ``pytest_runtestloop`` wrapper, so pytest's own summary and exit code 1 follow; greencode's errors
become one line each, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Generator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from greencode.config import Config, load_config
from greencode.errors import GreencodeError
from greencode.footprint import EXTRA_ROUNDS, Spent, Stopwatch
from greencode.gate import Budget, GateSettings, declared_noise
from greencode.measurement import Recorder, configure, current_config, meters_in_use
from greencode.outcome import RunOutcome, ab_side_run, conclude
from greencode.records import TestRecord
from greencode.side_workers import SERVE_VARIABLE
from greencode.units import plural
from pytest_greencode import callgrind, markers, rounds, xdist
from pytest_greencode.keys import PLAN_KEY, ROUNDS_KEY
from pytest_greencode.options import overrides, read_baseline, run_options
from pytest_greencode.records import keep_record
from pytest_greencode.repeats import Repeats
from pytest_greencode.setup_energy import SetupEnergy, add_setup_energy, measures_setup

if TYPE_CHECKING:
    from greencode.baselines import Baseline
    from greencode.vcs import VcsProbe
    from pytest_greencode.serve import Server


def start(config: pytest.Config, requested: bool) -> None:
    """Read greencode's configuration and, when measuring is switched on, register the measuring run."""
    try:
        settings = load_config(start=config.invocation_params.dir, overrides=overrides(config))
    except GreencodeError as exc:
        raise pytest.UsageError(f"greencode: {exc}") from None
    if not requested and not settings.enabled:
        return
    callgrind.rerun_if_needed(config, settings)
    run = GreencodeRun(config, settings)
    config.pluginmanager.register(run, "greencode-run")
    # hooks that only some sessions need are separate plugins, so the others do not pay for them per test
    if run.settings.include_setup:
        config.pluginmanager.register(SetupEnergy(run), "greencode-setup-energy")
    if run.lock_path is not None:
        config.pluginmanager.register(xdist.OneAtATime(run.lock_path), "greencode-one-at-a-time")
    # greencode ab's side process: taken out of the environment, so no pytest the tests start inherits it
    channel = os.environ.pop(SERVE_VARIABLE, None)
    if channel and not run.is_worker:
        from pytest_greencode.serve import Server

        run.server = Server(run, channel)
        config.pluginmanager.register(run.server, "greencode-serve")


class GreencodeRun:
    """The plugin object of a measuring session (one per pytest process; workers have their own)."""

    def __init__(self, config: pytest.Config, settings: Config) -> None:
        self.config = config
        self.settings = settings
        options = run_options(config, settings)
        self.compare, self.save, self.saved_run = options.compare, options.save, options.saved_run
        self.baseline_path, self.json_path = options.baseline_path, options.json_path
        self.is_worker = xdist.is_worker(config)
        self.junit = bool(getattr(config.option, "xmlpath", None))
        # measure() and profile() inside the tests use this run's configuration; the process's own comes back
        # at the end (pytester runs sessions inside a session)
        self._previous: Config | None
        try:
            self._previous = current_config()
        except GreencodeError:
            self._previous = None
        try:
            configure(settings)
            self.selection = meters_in_use()
        except GreencodeError as exc:
            self._restore()
            raise pytest.UsageError(f"greencode: {exc}") from None
        #: how often a test's call runs (:func:`pytest_greencode.rounds.first_rounds`)
        self.settings, self.test_rounds, deterministic = rounds.first_rounds(settings, self.selection.meters)
        self.repeats = Repeats(
            self.settings, self.selection.meters, self.compare, deterministic, save=self.save
        )
        #: counts depend on the code path only: fix the inputs that vary between runs before each call
        self.pin_variation = any(getattr(m, "counter_identity", "") for m in self.selection.meters)
        self.machine_wide = [m.name for m in self.selection.meters if m.scope != "process"]
        self.estimated = any(d.estimated for m in self.selection.meters for d in m.domains())
        self.lock_path = xdist.worker_lock_path(config) if self.is_worker else None
        self._controller_lock: Path | None = None
        self.started = time.time()
        self.records: dict[str, TestRecord] = {}
        self.marker_budgets: dict[str, Budget] = {}
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.marker_errors: list[str] = []
        self.workers_reported = 0
        #: what measuring added: this process's extra rounds, and (on the controller) the workers' parts
        self.extra_rounds = Stopwatch()
        self.measuring: list[Spent] = []
        self.baseline: Baseline | None = None
        self.outcome: RunOutcome | None = None
        self.concluded = False
        self.interrupted = False
        #: a side process of greencode ab serving later passes (:mod:`pytest_greencode.serve`)
        self.server: Server | None = None
        #: the version state the end of the run records, begun now so that git works beside the tests
        self.vcs_probe: VcsProbe | None = None
        if not (self.is_worker or ab_side_run() or config.option.collectonly):
            from greencode.vcs import VcsProbe

            self.vcs_probe = VcsProbe(settings.root)

    @property
    def meter_name(self) -> str:
        return self.selection.name

    # ----------------------------------------------------------------------------------------------------
    # start and end of the session

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        from pytest_greencode.reporting import header_lines

        return header_lines(self, controller=xdist.is_controller(config))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.is_worker:
            if self.repeats.adaptive or self.repeats.saving:  # each worker plans its own rounds
                # a baseline that cannot be read is the controller's usage error
                with contextlib.suppress(pytest.UsageError):
                    self.repeats.plan(
                        read_baseline(self.baseline_path, self.settings, self.selection), self.gate_settings
                    )
            return
        if self.machine_wide and xdist.is_controller(self.config):
            self._controller_lock = xdist.new_lock_path()
        if self.compare or self.save:
            self.baseline = read_baseline(self.baseline_path, self.settings, self.selection)
            self.repeats.plan(self.baseline, self.gate_settings)

    @cached_property
    def gate_settings(self) -> GateSettings:
        # asked for after each measured test's call: the settings and meters are fixed once the run starts
        return GateSettings.from_config(self.settings, declared_noise(self.selection.meters))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self._controller_lock is not None:
            node.workerinput[xdist.LOCK_KEY] = str(self._controller_lock)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        data = getattr(node, "workeroutput", {}).get(xdist.OUTPUT_KEY)
        if data is None:
            self.warnings.append(f"xdist worker {getattr(node, 'gateway', node)} sent no measurements")
            return
        records, budgets, warnings, marker_errors = xdist.read_payload(data)
        self.records.update((r.node_id, r) for r in records)
        self.marker_budgets.update((b.pattern, b) for b in budgets)
        self.warnings.extend(warnings)
        # every worker collects every test, so each reports the same bad markers
        self.marker_errors.extend(e for e in marker_errors if e not in self.marker_errors)
        self.measuring.extend(xdist.read_measuring(data))
        self.workers_reported += 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker:
            workeroutput = getattr(self.config, "workeroutput", {})
            workeroutput[xdist.OUTPUT_KEY] = xdist.payload(
                self.records.values(),
                self.marker_budgets.values(),
                self.warnings,
                self.marker_errors,
                measuring=[self.extra_rounds.spent(EXTRA_ROUNDS)],
            )
        elif self.marker_errors:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def _restore(self) -> None:
        if self._previous is not None:
            configure(self._previous)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._restore()
        # every output is written by now: dropped here, what the run kept (a record per test, the outcome, the
        # baseline and the repeat plan made from it) is freed at once, not walked first by each full
        # collection of the interpreter's shutdown (pytest's config, holding this plugin, lives until then)
        self.records, self.marker_budgets, self.outcome, self.baseline = {}, {}, None, None
        self.repeats.release()
        if self.vcs_probe is not None:  # a run that did not conclude (interrupted, serving greencode ab)
            self.vcs_probe.close()
        if self._controller_lock is not None:
            self._controller_lock.unlink(missing_ok=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            result = yield
        except (KeyboardInterrupt, pytest.exit.Exception):
            # a partial run is no baseline and no comparison: nothing is saved, judged or written
            self.interrupted = True
            raise
        if self.is_worker or session.config.option.collectonly:
            return result
        if self.server is not None and self.server.serving:
            # greencode ab reads each pass's records from the pipe and judges them itself: no end of run
            self.server.serve(session)
            return result
        from pytest_greencode import reporting

        self.errors.extend(self.marker_errors)
        try:
            self._conclude()
        except GreencodeError as exc:
            self.errors.append(str(exc))
        except Exception as exc:  # never a traceback from greencode at the end of a run
            self.errors.append(f"internal error ({type(exc).__name__}: {exc}); please report it")
        self.concluded = True
        reporting.mark_summary_line(self)
        if self.errors or (self.outcome is not None and self.outcome.gate.failed):
            session.testsfailed += 1
        return result

    def _conclude(self) -> None:
        from pytest_greencode import reporting

        self.outcome = outcome = conclude(
            self.records.values(),
            self.settings,
            selection=self.selection,
            started=self.started,
            compare_with=self.baseline_path if self.compare else None,
            baseline=self.baseline,
            save_to=self.baseline_path if self.save and isinstance(self.baseline_path, Path) else None,
            json_path=self.json_path,
            saved_run=self.saved_run,
            budgets=self.marker_budgets.values(),
            workers=self.workers_reported,
            warnings=self.warnings,
            measuring=[*self.measuring, self.extra_rounds.spent(EXTRA_ROUNDS)],
            judging=self.repeats.judging(self.records.values()),
            rounds_run=self.repeats.measuring(self.records.values(), self.test_rounds),
            side_run=ab_side_run(),
            vcs_probe=self.vcs_probe,
        )
        self.warnings[:] = outcome.warnings
        self.errors.extend(outcome.errors)
        warning = reporting.publish(self.config, outcome, self.settings.carbon)
        if warning:
            self.warnings.append(warning)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.concluded or (self.interrupted and not self.is_worker):
            from pytest_greencode import reporting

            if self.interrupted:
                # under xdist the workers' measurements arrive only with their end, which an interrupt skips
                measured = (
                    f"{plural(len(self.records), 'test')} measured before it stopped (shown above)"
                    if self.records
                    else "no measurement reached greencode before it stopped"
                )
                self.warnings.append(
                    f"the run was interrupted: {measured}; nothing was saved, compared or written"
                )
            reporting.terminal_section(terminalreporter, self)

    # ----------------------------------------------------------------------------------------------------
    # per test

    @pytest.hookimpl(trylast=True)  # after -k and -m deselected what will not run
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        benchmark_plugin = self.config.pluginmanager.hasplugin("benchmark")
        planner = markers.Planner(self.settings.rounds, benchmark_plugin, self.test_rounds)
        for item in items:
            plan = planner.plan(item)
            item.stash[PLAN_KEY] = plan
            if plan.error:
                self.marker_errors.append(plan.error)
            elif plan.measure:  # what tells the energy fixture to measure
                item.stash[ROUNDS_KEY] = plan.rounds
        self.repeats.expect(items, int(getattr(self.config, "workerinput", {}).get("workercount", 1)))
        # a bad marker is a usage error like a bad configuration value; xdist workers cannot stop the session
        # (it would crash), so there the test errors and the controller exits with the usage error's code
        if self.marker_errors and not self.is_worker:
            raise pytest.UsageError(*(f"greencode: {error}" for error in self.marker_errors))
        if self.marker_errors and not self.config.pluginmanager.has_plugin("greencode-bad-markers"):
            # registered only here, so the setup of every test in a run without bad markers pays nothing
            self.config.pluginmanager.register(markers.FailBadMarkers(), "greencode-bad-markers")

    def open_window(self, label: str) -> Recorder:
        """A window on the run's meters, open until the returned recorder stops."""
        return Recorder(label, self.selection, self.settings)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        plan = item.stash.get(PLAN_KEY, None)
        if plan is None or not plan.measure:
            return (yield)
        if plan.mode == "energy":
            return (yield from rounds.fixture_call(self, item, plan))
        return (yield from rounds.measured_call(self, item, plan))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        recorder = self.open_window(item.nodeid) if measures_setup(self, item) else None
        result = yield
        if recorder is not None:
            add_setup_energy(item, recorder)
        keep_record(self, item)
        return result
