"""measure()'s fast path: with the estimator alone and its real clocks (the default where no counter is
readable), ``with measure():`` and a decorated function open and close their windows inline. The figures
must be the general path's for the same clock readings, and any other configuration takes the general path.
"""

from __future__ import annotations

import contextlib
import io
import math
import resource
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import greencode
import greencode.measurement as measurement
from greencode.config import Config
from greencode.meters import estimate
from greencode.meters.estimate import EstimateMeter, create


class ScriptedClocks:
    """Every clock a window reads, each playing back its own readings in order (the same script for both
    paths: they read the same clocks, the same number of times, in the same order)."""

    def __init__(self, readings: dict[str, list[float]], children: list[tuple[float, float]]) -> None:
        self._readings = {name: iter(values) for name, values in readings.items()}
        self._children = iter(children)

    def unread(self, name: str) -> int:
        """How many of a clock's readings were never read."""
        return len(list(self._readings[name]))

    def clock(self, name: str) -> Callable[[], float]:
        return lambda: next(self._readings[name])

    def getrusage(self, who: int) -> resource.struct_rusage:
        user, system = next(self._children)
        return resource.struct_rusage((user, system, *[0] * 14))


def script(cpu: tuple[float, float], children: tuple[float, float]) -> ScriptedClocks:
    return ScriptedClocks(
        {"wall": [1_800_000_000.0], "process": list(cpu), "perf": [50.0, 50.25], "thread": [0.5]},
        [(children[0], 0.0), (children[1], 0.0)],
    )


def threads_running(monkeypatch: pytest.MonkeyPatch, alone: bool) -> None:
    """This thread is the main thread, with no other Python thread (``alone``) or with one."""
    for module, prefix in ((measurement, "_"), (estimate, "")):
        monkeypatch.setattr(module, f"{prefix}main_thread", threading.get_ident())
        monkeypatch.setattr(module, f"{prefix}python_threads", lambda: 0 if alone else 1)


def sole_estimator() -> EstimateMeter:
    meter = greencode.meters_in_use().meters[0]
    assert isinstance(meter, EstimateMeter) and meter.real_clocks
    return meter


def fast_path_figures(
    monkeypatch: pytest.MonkeyPatch, clocks: ScriptedClocks, raises: bool
) -> dict[str, Any]:
    """A ``with measure():`` block, the clocks measurement reads itself scripted."""
    monkeypatch.setattr(measurement, "_wall_clock", clocks.clock("wall"))
    monkeypatch.setattr(measurement, "_process_time", clocks.clock("process"))
    monkeypatch.setattr(measurement, "_perf_counter", clocks.clock("perf"))
    monkeypatch.setattr(measurement, "_thread_time", clocks.clock("thread"))
    monkeypatch.setattr(measurement, "getrusage", clocks.getrusage)
    with pytest.raises(KeyError) if raises else contextlib.nullcontext(), greencode.measure("same") as block:
        if raises:
            raise KeyError("x")
    assert block.result is not None
    return block.result.to_dict()


def general_path_figures(
    monkeypatch: pytest.MonkeyPatch, clocks: ScriptedClocks, raises: bool
) -> dict[str, Any]:
    """A recorder over the same selection, stopped by hand: the estimator's own open_window and
    close_window, the clocks the meter reads scripted."""
    meter = sole_estimator()
    monkeypatch.setattr(measurement, "_wall_clock", clocks.clock("wall"))
    monkeypatch.setattr(measurement, "_process_time", clocks.clock("process"))
    monkeypatch.setattr(measurement, "_perf_counter", clocks.clock("perf"))
    monkeypatch.setattr(meter, "_thread_clock", clocks.clock("thread"))
    monkeypatch.setattr(meter, "_children_usage", clocks.getrusage)
    recorder = greencode.start("same")
    return recorder.stop(KeyError("x") if raises else None).to_dict()


@pytest.fixture
def estimator(tmp_path: Path) -> Iterator[None]:
    greencode.configure(Config(root=tmp_path, meter="estimate", output="none"))
    yield
    greencode.configure(Config(root=tmp_path, output="none"))


@given(
    cpu=st.tuples(st.floats(0.0, 1e4), st.floats(0.0, 1e4)),
    children=st.tuples(st.floats(0.0, 1e4), st.floats(0.0, 1e4)),
    raises=st.booleans(),
    alone=st.booleans(),
)
def test_the_fast_and_the_general_path_give_the_same_figures_for_the_same_clock_readings(
    tmp_path_factory: pytest.TempPathFactory,
    cpu: tuple[float, float],
    children: tuple[float, float],
    raises: bool,
    alone: bool,
) -> None:
    # CPU times that go backwards (a window closed in a forked child) included; ``alone``: the main thread
    # with no other Python thread, where neither path reads the thread's clock
    greencode.configure(Config(root=tmp_path_factory.getbasetemp(), meter="estimate", output="none"))
    sole_estimator()
    with pytest.MonkeyPatch.context() as patch:
        fast_clocks = script(cpu, children)
        threads_running(patch, alone)
        fast = fast_path_figures(patch, fast_clocks, raises)
    with pytest.MonkeyPatch.context() as patch:
        general_clocks = script(cpu, children)
        threads_running(patch, alone)
        general = general_path_figures(patch, general_clocks, raises)
    assert fast == general
    assert fast_clocks.unread("thread") == general_clocks.unread("thread") == int(alone)
    greencode.configure(Config(root=tmp_path_factory.getbasetemp(), output="none"))


class Calls:
    """Counts the estimator's own open_window and close_window calls: the general path's, not the fast's."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = self.closed = 0
        open_window, close_window = EstimateMeter.open_window, EstimateMeter.close_window

        def counted_open(meter: EstimateMeter, window: Any) -> None:
            self.opened += 1
            open_window(meter, window)

        def counted_close(meter: EstimateMeter, window: Any, cpu_now: float) -> Any:
            self.closed += 1
            return close_window(meter, window, cpu_now)

        monkeypatch.setattr(EstimateMeter, "open_window", counted_open)
        monkeypatch.setattr(EstimateMeter, "close_window", counted_close)


def test_with_measure_in_the_default_configuration_takes_the_fast_path(
    estimator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sole_estimator()  # chosen: the first window after configure() chooses the meters (the general path)
    calls = Calls(monkeypatch)
    with greencode.measure("block") as block:
        sum(range(1000))
    assert (calls.opened, calls.closed) == (0, 0)
    assert block.result is not None and block.result.measured and block.result.estimated
    assert greencode.results()[-1] == block.result


def test_a_decorated_function_in_the_default_configuration_takes_the_fast_path(
    estimator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sole_estimator()
    calls = Calls(monkeypatch)

    @greencode.measure
    def work(n: int) -> int:
        return sum(range(n))

    assert work(1000) == sum(range(1000))
    assert (calls.opened, calls.closed) == (0, 0)
    assert greencode.results()[-1].label.endswith("work")


def test_a_decorated_function_called_recursively_closes_each_call_in_its_own_window(estimator: None) -> None:
    # every call shares the decorator's one measure object: nested calls are told apart
    @greencode.measure
    def countdown(n: int) -> int:
        return n if n == 0 else countdown(n - 1)

    greencode.clear_results()
    countdown(3)
    results = greencode.results()
    assert len(results) == 4
    assert [r.wall_s for r in results] == sorted(r.wall_s for r in results)  # innermost first


def fake_thread_clock_estimator(config: Config) -> EstimateMeter:
    """The estimator with a clock of its own (a test's fake): measure() cannot read it inline."""
    real = create(config)
    return EstimateMeter(real.model, thread_clock=lambda: 0.0)


def test_an_estimator_with_its_own_clocks_takes_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    greencode.configure(
        Config(root=tmp_path, meter="test_measure_fast_path:fake_thread_clock_estimator", output="none")
    )
    calls = Calls(monkeypatch)
    with greencode.measure("block") as block:
        pass
    assert (calls.opened, calls.closed) == (1, 1)
    assert block.result is not None and block.result.measured
    greencode.configure(Config(root=tmp_path, output="none"))


def test_a_block_naming_its_meter_is_opened_by_the_general_path(
    estimator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls(monkeypatch)
    with greencode.measure("block", meter="estimate") as block:
        pass
    assert calls.opened == 1
    assert block.result is not None and block.result.measured


def test_a_read_that_fails_on_the_fast_path_is_read_again_by_the_general_path(
    estimator: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(who: int) -> object:
        raise OSError("getrusage failed")

    sole_estimator()
    calls = Calls(monkeypatch)
    with greencode.measure("block") as block:
        monkeypatch.setattr(measurement, "getrusage", unreadable)  # the fast path's end fails to read
    assert calls.closed == 1
    assert block.result is not None and block.result.measured


def test_the_print_summary_counts_every_call_of_the_fast_path_as_the_registry_has_it(tmp_path: Path) -> None:
    from greencode import sinks

    greencode.configure(Config(root=tmp_path, meter="estimate", output="print"))
    sole_estimator()
    greencode.clear_results()
    with contextlib.redirect_stderr(io.StringIO()):
        for _ in range(3 * sinks.LabelSummary.BATCH):  # folded more than once
            with greencode.measure("hot"):
                sum(range(100))
        printer = sinks._sinks.summarising
        assert printer is not None
        summary = printer.labels["hot"]
        summary.fold()
        results = greencode.results()
        assert summary.calls == len(results) == 3 * sinks.LabelSummary.BATCH
        assert summary.energy_j == pytest.approx(math.fsum(r.energy_j for r in results), rel=1e-9)
        assert summary.wall_s == pytest.approx(math.fsum(r.wall_s for r in results), rel=1e-9)
        assert sorted(summary.sample_j) == sorted(r.energy_j for r in results)
        greencode.configure(Config(root=tmp_path, output="none"))
