"""The ``energy`` fixture: measure a callable with calibrated rounds, in the spirit of pytest-benchmark.

``energy(fn, *args, **kwargs)`` runs ``fn`` in calibrated rounds with the configured meters and returns its
result; ``energy.pedantic(fn, args=..., kwargs=..., setup=..., rounds=..., iterations=...,
warmup_rounds=...)`` fixes the repetition. The test's record is then per call of ``fn``, not per test.
Without ``--greencode`` (or with ``@pytest.mark.greencode(skip=True)``) the function is simply called once, so
tests using the fixture stay valid tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from pytest_greencode.keys import PROFILE_KEY, ROUNDS_KEY

if TYPE_CHECKING:
    from greencode.measurement import Profile


class EnergyFixture:
    """What a test receives as ``energy``. Usable once per test, like pytest-benchmark's ``benchmark``."""

    def __init__(self, node: pytest.Item, enabled: bool) -> None:
        self._node = node
        self._enabled = enabled
        self._used = False
        #: The :class:`greencode.Profile` of the measured function, after the call (None when not measuring).
        self.profile: Profile | None = None

    def _claim(self) -> None:
        if self._used:
            raise RuntimeError(
                f"{self._node.nodeid}: the energy fixture measures one function per test; it was already used"
            )
        self._used = True

    def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Measure ``fn(*args, **kwargs)`` in calibrated rounds; returns its (last) result."""
        self._claim()
        if not self._enabled:
            return fn(*args, **kwargs)
        from greencode.measurement import Profiler

        return self._keep(
            Profiler(rounds=self._node.stash.get(ROUNDS_KEY, None), label=self._node.nodeid).run(
                fn, *args, **kwargs
            )
        )

    def pedantic(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        setup: Callable[[], Any] | None = None,
        rounds: int | None = None,
        iterations: int = 1,
        warmup_rounds: int = 0,
    ) -> Any:
        """Measure with explicit repetition: ``rounds`` rounds of ``iterations`` calls after ``warmup_rounds``
        unmeasured rounds. ``setup`` runs before each round, unmeasured; a tuple it returns replaces
        ``args``. Returns the last result."""
        self._claim()
        for name, value, least in (
            ("rounds", rounds, 1),
            ("iterations", iterations, 1),
            ("warmup_rounds", warmup_rounds, 0),
        ):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
                raise ValueError(f"energy.pedantic: {name} must be a whole number >= {least}, not {value!r}")
        kwargs = dict(kwargs or {})
        if not self._enabled:
            prepared = setup() if setup is not None else None
            return fn(*(prepared if isinstance(prepared, tuple) else args), **kwargs)
        from greencode.measurement import Profiler

        profiler = Profiler(
            rounds=rounds or self._node.stash.get(ROUNDS_KEY, None),
            iterations=iterations,
            warmup=warmup_rounds,
            label=self._node.nodeid,
            setup=setup,
        )
        return self._keep(profiler.run(fn, *args, **kwargs))

    def _keep(self, profile: Profile) -> Any:
        self.profile = profile
        self._node.stash[PROFILE_KEY] = profile
        return profile.value


@pytest.fixture
def energy(request: pytest.FixtureRequest) -> Iterator[EnergyFixture]:
    """Measure a callable's energy per call: ``result = energy(fn, *args)``; see ``docs/pytest.md``."""
    yield EnergyFixture(request.node, ROUNDS_KEY in request.node.stash)
