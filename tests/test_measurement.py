from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import greencode
from greencode import measurement, testing
from greencode.config import CarbonConfig, Config

pytestmark = pytest.mark.usefixtures("scripted")


def test_context_manager_gives_the_result_after_the_block() -> None:
    testing.script([2.5])
    with greencode.measure("parse") as m:
        sum(range(100))
    assert m.result is not None
    assert m.result.label == "parse"
    assert m.result.energy_j == 2.5
    assert m.result.domains == {"scripted": 2.5}


def test_result_is_labelled_estimated_when_a_domain_is_estimated() -> None:
    with greencode.measure() as m:
        pass
    assert m.result is not None and m.result.estimated and m.result.kind == "estimated"
    assert "not a real measurement" in m.result.provenance["scripted"]


def test_bare_decorator_keeps_the_return_value_and_labels_with_the_qualname() -> None:
    @greencode.measure
    def answer() -> int:
        return 42

    assert answer() == 42
    assert greencode.results()[-1].label.endswith("answer")


def test_decorator_with_label_and_meter() -> None:
    @greencode.measure("labelled", meter="greencode.testing:scripted")
    def work(x: int) -> int:
        return x * 2

    assert work(4) == 8
    assert greencode.results()[-1].label == "labelled"


def test_decorated_function_keeps_its_name_and_doc() -> None:
    @greencode.measure
    def documented() -> None:
        """Docs."""

    assert documented.__name__ == "documented" and documented.__doc__ == "Docs."


def test_async_function_is_measured_and_returns_its_value() -> None:
    testing.script([0.75])

    @greencode.measure("coro")
    async def fetch() -> str:
        await asyncio.sleep(0)
        return "done"

    assert asyncio.run(fetch()) == "done"
    assert greencode.results()[-1].label == "coro"
    assert greencode.results()[-1].energy_j == 0.75


def test_exception_in_block_is_recorded_and_propagates_unchanged() -> None:
    error = ValueError("boom")
    with pytest.raises(ValueError) as raised, greencode.measure("failing"):
        raise error
    assert raised.value is error
    assert greencode.results()[-1].error == "ValueError"


def test_exception_in_decorated_function_is_recorded_and_propagates() -> None:
    @greencode.measure
    def fails() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        fails()
    assert greencode.results()[-1].error == "KeyError"


def test_a_base_exception_in_a_decorated_function_is_recorded_and_propagates_with_its_traceback() -> None:
    # the wrapper closes its window by hand rather than in a with statement: it must do what a with does
    error = SystemExit(3)

    @greencode.measure
    def exits() -> None:
        raise error

    greencode.clear_results()
    with pytest.raises(SystemExit) as raised:
        exits()
    assert raised.value is error
    assert raised.traceback[-1].name == "exits"
    assert [r.error for r in greencode.results()] == ["SystemExit"]


def test_nested_windows_are_independent() -> None:
    testing.script([1.0, 3.0])  # the inner window stops first
    with greencode.measure("outer") as outer, greencode.measure("inner") as inner:
        pass
    assert inner.result is not None and outer.result is not None
    assert (inner.result.energy_j, outer.result.energy_j) == (1.0, 3.0)


def test_one_measure_object_used_in_threads_closes_each_threads_own_block() -> None:
    shared = greencode.measure("shared")
    labels: list[str] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with shared as block:
            barrier.wait()
        assert block.result is not None
        labels.append(block.result.label)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert labels == ["shared"] * 4
    assert shared.result is not None


def test_concurrent_asyncio_tasks_keep_their_own_windows() -> None:
    shared = greencode.measure("task")

    async def task(delay: float) -> float:
        async with shared as block:
            await asyncio.sleep(delay)
        assert block.result is not None
        return block.result.wall_s

    async def main() -> list[float]:
        return await asyncio.gather(task(0.02), task(0.0))

    long, short = asyncio.run(main())
    assert long > short  # each task closed its own window, not the other's


def test_measurement_reports_power_and_co2e_with_its_intensity() -> None:
    testing.script([3.6e6])  # one kWh
    with greencode.measure() as m:
        pass
    assert m.result is not None
    assert m.result.co2e_g == pytest.approx(475.0)
    assert "world average, default" in m.result.intensity


def test_to_dict_is_json_ready() -> None:
    import json

    with greencode.measure("x") as m:
        pass
    assert m.result is not None
    record = json.loads(json.dumps(m.result.to_dict()))
    assert record["label"] == "x" and record["estimated"] is True and "scripted" in record["domains"]


def test_registry_keeps_recent_results_in_order() -> None:
    for label in ("a", "b", "c"):
        with greencode.measure(label):
            pass
    assert [r.label for r in greencode.results()] == ["a", "b", "c"]


def fail_when_windows_close() -> None:
    """Script a meter whose counter vanishes while a window is open."""

    def broken() -> float:
        raise OSError("counter vanished")

    testing.script(broken)


def test_failing_meter_at_stop_keeps_the_return_value_and_warns() -> None:
    fail_when_windows_close()

    @greencode.measure
    def work() -> str:
        return "kept"

    with pytest.warns(RuntimeWarning, match="counter vanished"):
        assert work() == "kept"


def test_measure_rejects_a_non_string_label() -> None:
    with pytest.raises(TypeError):
        greencode.measure(3)  # type: ignore[call-overload]


def test_profile_reports_per_call_energy_over_rounds() -> None:
    testing.script([10.0])
    profile = greencode.Profiler(rounds=4, iterations=5, warmup=0).run(lambda: None)
    assert profile.rounds == 4 and profile.iterations == 5
    assert profile.samples_j == (2.0, 2.0, 2.0, 2.0)
    assert profile.energy.median == 2.0
    assert profile.estimated


def test_profile_returns_the_last_value_and_passes_arguments() -> None:
    profile = greencode.Profiler(rounds=2, iterations=3).run(pow, 2, 10)
    assert profile.value == 1024


def test_profile_calibrates_until_a_round_is_long_enough() -> None:
    calls = []
    profile = greencode.Profiler(rounds=2, min_round_s=0.002, warmup=0).run(lambda: calls.append(1))
    assert profile.iterations > 1  # an empty call is far shorter than 2 ms
    assert profile.wall.median * profile.iterations >= 0.002 * 0.5


def test_profile_setup_runs_before_each_round_and_can_return_args_and_kwargs() -> None:
    seen = []
    profile = greencode.Profiler(
        rounds=3, iterations=1, warmup=0, setup=lambda: (([1, 2, 3],), {"start": 10})
    ).run(lambda xs, start: seen.append(sum(xs, start)))
    assert seen == [16, 16, 16] and profile.rounds == 3


def test_profile_setup_that_returns_nothing_keeps_the_given_arguments() -> None:
    seen = []
    greencode.Profiler(rounds=2, iterations=1, warmup=0, setup=lambda: None).run(seen.append, 5)
    assert seen == [5, 5]


def test_profile_setup_returning_arguments_beside_given_ones_is_refused() -> None:
    with pytest.raises(TypeError, match="args and kwargs cannot be given too"):
        greencode.Profiler(rounds=1, iterations=1, warmup=0, setup=lambda: ((1,), {})).run(print, 2)


def test_profile_setup_returning_something_else_says_what_it_expects() -> None:
    with pytest.raises(TypeError, match=r"returns None or \(args, kwargs\)"):
        greencode.Profiler(rounds=1, iterations=1, warmup=0, setup=lambda: [1, 2, 3]).run(print)


def test_profile_teardown_runs_after_each_round_with_the_rounds_arguments() -> None:
    torn = []
    greencode.Profiler(
        rounds=2, iterations=3, warmup=1, setup=lambda: ((4,), {}), teardown=lambda x: torn.append(x)
    ).run(abs)
    assert torn == [4, 4, 4]  # one warm-up round and two measured rounds


def test_profile_runs_a_coroutine_function_to_completion() -> None:
    done = []

    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        done.append(n)
        return n * 2

    profile = greencode.Profiler(rounds=2, iterations=3, warmup=0).run(fetch, 21)
    assert done == [21] * 6 and profile.value == 42


def test_profile_consumes_a_generator_function() -> None:
    produced = []

    def numbers(n: int) -> Iterator[int]:
        for i in range(n):
            produced.append(i)
            yield i

    profile = greencode.Profiler(rounds=2, iterations=1, warmup=0).run(numbers, 3)
    assert produced == [0, 1, 2, 0, 1, 2] and profile.value is None


def test_profile_consumes_an_async_generator_function() -> None:
    produced = []

    async def numbers(n: int) -> AsyncIterator[int]:
        for i in range(n):
            produced.append(i)
            yield i

    greencode.Profiler(rounds=1, iterations=2, warmup=0).run(numbers, 2)
    assert produced == [0, 1, 0, 1]


def test_profile_refuses_a_function_that_returns_a_coroutine_unrun() -> None:
    async def fetch() -> None:
        pass

    with pytest.raises(greencode.GreencodeError, match="returned a coroutine without running it"):
        greencode.Profiler(rounds=1, iterations=1, warmup=0).run(lambda: fetch())


def test_profile_of_a_coroutine_function_inside_a_running_loop_says_why_not() -> None:
    async def fetch() -> None:
        pass

    async def main() -> None:
        greencode.Profiler(rounds=1, iterations=1, warmup=0).run(fetch)

    with pytest.raises(greencode.GreencodeError, match="an event loop is already running"):
        asyncio.run(main())


def test_profile_default_uses_configured_rounds() -> None:
    assert greencode.profile(len, "abc").rounds == greencode.current_config().rounds


def test_profile_subtracts_idle_power_for_a_whole_machine_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import idle_power_meter
    from fakes import FakeClock
    from idle_power_meter import IDLE_W, work

    # One fake clock for the windows' wall time, the idle wait and the meter's idle draw: with real time, a
    # preemption between a window's clock read and its meter's made this test fail on a busy machine.
    clock = FakeClock()
    monkeypatch.setattr(greencode.measurement, "_perf_counter", clock)
    monkeypatch.setattr(greencode.measurement, "time", types.SimpleNamespace(sleep=clock.advance))
    monkeypatch.setattr(idle_power_meter, "clock", clock)

    def busy_while_waiting() -> None:
        clock.advance(0.02)  # the machine draws its idle power meanwhile: 0.2 J at 10 W
        work(0.5)

    profile = greencode.Profiler(
        rounds=2, iterations=2, warmup=0, subtract_idle=True, meter="idle_power_meter:create"
    ).run(busy_while_waiting)
    assert profile.idle_power_w == pytest.approx(IDLE_W, rel=1e-9)
    assert profile.samples_j == pytest.approx((0.5, 0.5), rel=1e-9)
    assert profile.total_samples_j == pytest.approx((0.7, 0.7), rel=1e-9)


def test_profile_does_not_subtract_idle_for_a_process_meter() -> None:
    profile = greencode.Profiler(rounds=2, iterations=1, warmup=0, subtract_idle=True).run(len, "x")
    assert profile.idle_power_w is None
    assert profile.samples_j == profile.total_samples_j


def test_generator_function_is_measured_from_first_item_to_exhaustion() -> None:
    @greencode.measure("numbers")
    def numbers() -> Iterator[int]:
        yield 1
        yield 2

    items = numbers()
    assert greencode.results() == []  # creating the generator runs none of its code
    assert next(items) == 1
    assert greencode.results() == []  # still running
    assert list(items) == [2]
    (result,) = greencode.results()
    assert result.label == "numbers" and result.error is None


def test_generator_closed_early_is_recorded_without_an_error() -> None:
    @greencode.measure
    def endless() -> Iterator[int]:
        while True:
            yield 0

    items = endless()
    next(items)
    items.close()
    (result,) = greencode.results()
    assert result.error is None


def test_generator_gets_values_sent_to_it() -> None:
    @greencode.measure
    def echo() -> Generator[str, str, None]:
        received = yield "ready"
        yield f"got {received}"

    items = echo()
    assert next(items) == "ready"
    assert items.send("x") == "got x"


def test_async_generator_function_is_measured_until_exhausted() -> None:
    @greencode.measure("stream")
    async def stream() -> AsyncIterator[int]:
        yield 1
        await asyncio.sleep(0)
        yield 2

    async def consume() -> tuple[list[int], int]:
        items = []
        async for item in stream():
            items.append(item)
            published_while_running = len(greencode.results())
        return items, published_while_running

    items, published_while_running = asyncio.run(consume())
    assert items == [1, 2] and published_while_running == 0
    assert [r.label for r in greencode.results()] == ["stream"]


def test_async_generator_gets_values_sent_to_it() -> None:
    @greencode.measure
    async def echo() -> AsyncGenerator[str, str]:
        received = yield "ready"
        yield f"got {received}"

    async def talk() -> list[str]:
        items = echo()
        return [await items.__anext__(), await items.asend("x")]

    assert asyncio.run(talk()) == ["ready", "got x"]


def test_decorator_above_classmethod_keeps_it_a_classmethod() -> None:
    class Parser:
        @greencode.measure
        @classmethod
        def name(cls) -> str:
            return cls.__name__

    assert Parser.name() == "Parser" and Parser().name() == "Parser"
    assert greencode.results()[-1].label.endswith("Parser.name")


def test_decorator_above_staticmethod_keeps_it_a_staticmethod() -> None:
    class Maths:
        @greencode.measure("double")
        @staticmethod
        def double(x: int) -> int:
            return 2 * x

    assert Maths.double(2) == 4 and Maths().double(3) == 6
    assert greencode.results()[-1].label == "double"


def test_profile_of_a_call_longer_than_a_round_needs_one_confirming_call_not_a_calibration() -> None:
    calls = []
    profile = greencode.Profiler(rounds=3, warmup=1, min_round_s=1e-9).run(lambda: calls.append(1))
    assert profile.iterations == 1
    assert len(calls) == 1 + 1 + 3  # the warm-up reading, one confirming call, the rounds


def _rounds_of(per_call_s: float, preempted_s: float | None = None) -> Callable[[int], tuple[Any, None]]:
    """A round runner for a function of ``per_call_s``, whose first round may have been preempted."""
    walls = [] if preempted_s is None else [preempted_s]

    def call_round(iterations: int) -> tuple[Any, None]:
        wall = walls.pop() if walls else per_call_s * iterations
        return SimpleNamespace(wall_s=wall), None

    return call_round


def test_calibration_is_not_fooled_by_one_preempted_call() -> None:
    iterations = measurement._calibrate(_rounds_of(1e-6, preempted_s=0.5), target_s=0.01)
    assert iterations >= 10_000


def test_calibration_is_not_fooled_by_a_preempted_warm_up() -> None:
    warm = SimpleNamespace(wall_s=0.5)
    iterations = measurement._calibrate(_rounds_of(1e-6), target_s=0.01, first=warm)
    assert iterations >= 10_000


def test_async_generator_receives_exceptions_thrown_in() -> None:
    @greencode.measure
    async def guarded() -> AsyncGenerator[str, None]:
        try:
            yield "first"
        except KeyError:
            yield "caught"

    async def talk() -> list[str]:
        items = guarded()
        return [await items.__anext__(), await items.athrow(KeyError("k"))]

    assert asyncio.run(talk()) == ["first", "caught"]


def test_warning_of_a_failed_measurement_points_at_the_callers_code() -> None:
    fail_when_windows_close()

    @greencode.measure
    def work() -> None:
        pass

    with pytest.warns(RuntimeWarning) as caught:
        work()
    assert caught[0].filename == __file__


def test_blocks_of_one_object_in_two_contexts_each_close_their_own_when_the_first_leaves_early() -> None:
    # The object's own slot is free again while another context still has a block open on it; a block
    # opened after that in the other context must still be closed before the older one.
    shared = greencode.measure("shared")
    first, second = contextvars.copy_context(), contextvars.copy_context()
    testing.script([1.0, 2.0, 3.0])  # energies in the order the windows close
    first.run(shared.__enter__)
    outer = second.run(shared.__enter__)
    first.run(shared.__exit__, None, None, None)
    inner = second.run(shared.__enter__)
    second.run(shared.__exit__, None, None, None)
    second.run(shared.__exit__, None, None, None)
    assert inner.result is not None and outer.result is not None
    assert (inner.result.energy_j, outer.result.energy_j) == (2.0, 3.0)


def test_fast_measurement_constructor_builds_what_the_dataclass_builds() -> None:
    carbon = CarbonConfig()
    energies = ({"cpu": 2.0}, {"cpu": "x"})
    counts = ({"instructions": 7}, {"f.py:g": 7})
    values = ("l", 1.0, 0.5, 2.0, *energies, True, "est", 10.0, carbon, ("w",), "E", "M", True, *counts)
    built = measurement._new_measurement(*values)
    expected = greencode.Measurement(*values)  # type: ignore[arg-type]
    assert built == expected and built.carbon == expected.carbon
    assert [getattr(built, f.name) for f in dataclasses.fields(built)] == list(values)


def test_co2e_is_derived_from_the_energy_and_the_intensity_at_the_start_of_the_window(tmp_path: Path) -> None:
    greencode.configure(
        Config(
            root=tmp_path,
            meter="greencode.testing:scripted",
            output="none",
            carbon=CarbonConfig(grid_intensity=100),
        )
    )
    testing.script([3.6e6])  # one kWh
    with greencode.measure() as m:
        pass
    assert m.result is not None
    assert m.result.co2e_g == pytest.approx(100.0)
    assert m.result.intensity == "100 gCO2e/kWh (location-based: carbon.grid_intensity)"
    assert m.result.to_dict()["co2e_g"] == pytest.approx(100.0)


def test_one_measure_object_entered_inside_itself_closes_the_inner_block_first() -> None:
    testing.script([1.0, 3.0])  # the inner window stops first
    shared = greencode.measure("shared")
    with shared as outer, shared as inner:
        pass
    assert inner.result is not None and outer.result is not None
    assert (inner.result.energy_j, outer.result.energy_j) == (1.0, 3.0)
    assert shared.result is outer.result


def test_leaving_a_measure_block_that_was_never_entered_says_so() -> None:
    with pytest.raises(RuntimeError, match="exited without being entered"):
        greencode.measure("never").__exit__(None, None, None)


def test_a_blocks_measurement_is_built_only_when_something_reads_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[str] = []
    build = measurement._new_measurement

    def counted(*fields: Any) -> greencode.Measurement:
        built.append(fields[0])
        return build(*fields)

    monkeypatch.setattr(measurement, "_new_measurement", counted)
    greencode.set_output("print")  # prints the first call of a label; counts the others from their figures
    for _ in range(10):
        with greencode.measure("hot"):
            pass
    assert built == ["hot"]
    assert len(greencode.results()) == 10 and built == ["hot"] * 10


def test_the_registry_and_the_block_give_the_same_measurement() -> None:
    with greencode.measure("once") as m:
        pass
    assert m.result is not None
    assert greencode.results()[-1] is m.result and m.result is m.result


def test_a_block_that_has_not_ended_has_no_result() -> None:
    shared = greencode.measure("open")
    with shared as block:
        assert block.result is None and shared.result is None
    assert block.result is not None and shared.result is block.result
