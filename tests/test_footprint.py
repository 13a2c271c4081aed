"""greencode's own footprint: what measuring added, stated in time and (estimated) energy."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.config import Config, EstimatorConfig
from greencode.footprint import EXTRA_ROUNDS, Footprint, Spent, Stopwatch, added_up, footprint

seconds = st.floats(min_value=0.0, max_value=1e4)


def test_the_line_states_time_share_parts_and_estimated_energy() -> None:
    spent = Footprint(17.3, (Spent(EXTRA_ROUNDS, 3.1, 2.0),), 3.5, "estimated: CPU time x 3.5 W/thread")
    assert spent.tests_s == pytest.approx(14.2)
    assert spent.added_j == pytest.approx(7.0)
    assert spent.line() == (
        "greencode: measuring added 3.1 s to 14.2 s of tests (+21.8%: extra rounds 3.1 s), "
        "about 7 J (estimated)"
    )


def test_without_a_power_figure_the_energy_is_unknown_never_made_up() -> None:
    spent = Footprint(2.0, (Spent(EXTRA_ROUNDS, 1.0, 1.0),), None, "no CPU power figure: unknown model")
    assert spent.added_j is None
    assert spent.line().endswith("energy unknown (no CPU power figure: unknown model)")
    assert spent.to_dict()["added_j"] is None


def test_nothing_timed_names_what_was_not_added() -> None:
    assert Footprint(1.0, (Spent(EXTRA_ROUNDS, 0.0, 0.0),), 3.5, "x").line() == (
        "greencode: measuring added no extra rounds to 1.0 s of tests "
        "(opening and closing each window is not timed)"
    )


def test_parts_timed_in_parallel_workers_are_not_taken_off_the_run() -> None:
    # two workers' extra rounds can add up to more than the run's wall clock
    spent = Footprint(10.0, (Spent(EXTRA_ROUNDS, 12.0, 12.0),), 1.0, "x", workers=2)
    assert spent.tests_s == 10.0
    assert "added 12.0 s over 2 workers to 10.0 s of tests" in spent.line()


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), seconds, seconds), max_size=12))
def test_parts_of_the_same_name_add_up(parts: list[tuple[str, float, float]]) -> None:
    spent = [Spent(*part) for part in parts]
    combined = added_up(spent)
    assert len({p.what for p in combined}) == len(combined)
    for name in {p.what for p in spent}:
        (total,) = [p for p in combined if p.what == name]
        assert total.wall_s == pytest.approx(sum(p.wall_s for p in spent if p.what == name))
        assert total.cpu_s == pytest.approx(sum(p.cpu_s for p in spent if p.what == name))


@given(seconds, st.lists(st.tuples(seconds, seconds), max_size=5), st.floats(0.1, 20.0))
def test_the_energy_is_the_added_cpu_time_at_the_estimators_power(
    run_s: float, parts: list[tuple[float, float]], watts: float
) -> None:
    spent = Footprint(run_s, tuple(Spent(f"p{i}", w, c) for i, (w, c) in enumerate(parts)), watts, "x")
    assert spent.added_j == pytest.approx(sum(c for _, c in parts) * watts)
    assert 0.0 <= spent.tests_s <= run_s
    assert spent.to_dict()["added_j_estimated"] is True


def test_the_power_figure_is_the_estimators_for_this_configuration(tmp_path: Path) -> None:
    config = Config(root=tmp_path, estimator=EstimatorConfig(watts_per_thread=2.5))
    spent = footprint(4.0, [Spent(EXTRA_ROUNDS, 1.0, 2.0), Spent(EXTRA_ROUNDS, 1.0, 2.0)], config)
    assert spent.watts_per_thread == 2.5 and spent.added_j == pytest.approx(10.0)
    assert spent.parts == (Spent(EXTRA_ROUNDS, 2.0, 4.0),)
    assert "watts_per_thread" in spent.power_source


def test_a_stopwatch_adds_up_the_blocks_it_timed() -> None:
    watch = Stopwatch()
    with watch:
        sum(range(10_000))
    first = watch.wall_s
    with watch:
        sum(range(10_000))
    assert watch.wall_s > first > 0
    assert watch.cpu_s >= 0
    assert Spent.from_dict(watch.spent("x").to_dict()) == watch.spent("x")
