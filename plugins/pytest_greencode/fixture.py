"""The ``energy`` fixture: measure a callable with calibrated rounds, in the spirit of pytest-benchmark.

``energy(fn, *args, **kwargs)`` runs ``fn`` in calibrated rounds with the configured meters and returns its
result; ``energy.pedantic(fn, args=..., kwargs=..., setup=..., teardown=..., rounds=..., warmup_rounds=...,
iterations=...)`` fixes the repetition, with pytest-benchmark's signature and meaning. The test's record
is then per call of ``fn``, not per test. Without ``--greencode`` (or with
``@pytest.mark.greencode(skip=True)``) the function is simply called once, so tests using the fixture stay
valid tests.
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
        """Measure ``fn(*args, **kwargs)`` in calibrated rounds; returns its (last) result. An ``async def``
        function runs to completion in an event loop; a generator function's items are consumed."""
        self._claim()
        if not self._enabled:
            return self._once(fn, args, kwargs)
        from greencode.measurement import Profiler

        return self._keep(
            Profiler(rounds=self._node.stash.get(ROUNDS_KEY, None), label=self._node.nodeid).run(
                fn, *args, **kwargs
            )
        )

    def pedantic(
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        setup: Callable[[], Any] | None = None,
        teardown: Callable[..., Any] | None = None,
        rounds: int | None = None,
        warmup_rounds: int = 0,
        iterations: int = 1,
    ) -> Any:
        """pytest-benchmark's ``pedantic``: ``rounds`` measured rounds of ``iterations`` calls each, after
        ``warmup_rounds`` unmeasured rounds. ``setup()`` runs before each round, unmeasured, and may return
        ``(args, kwargs)`` for it; ``teardown(*args, **kwargs)`` runs after each round. ``rounds=None`` uses
        the configured rounds. Returns the last result."""
        self._claim()
        for name, value, least in (
            ("rounds", rounds, 1),
            ("iterations", iterations, 1),
            ("warmup_rounds", warmup_rounds, 0),
        ):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
                raise ValueError(f"energy.pedantic: {name} must be a whole number >= {least}, not {value!r}")
        from greencode.measurement import Profiler

        profiler = Profiler(
            rounds=rounds or self._node.stash.get(ROUNDS_KEY, None),
            iterations=iterations,
            warmup=warmup_rounds,
            label=self._node.nodeid,
            setup=setup,
            teardown=teardown,
        )
        if not self._enabled:  # one round of one call, set up and torn down as when measuring
            call_args, call_kwargs = profiler.arguments(tuple(args), dict(kwargs or {}))
            value = self._once(target, call_args, call_kwargs)
            if teardown is not None:
                teardown(*call_args, **call_kwargs)
            return value
        return self._keep(profiler.run(target, *args, **dict(kwargs or {})))

    def _once(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        from greencode.calls import Runner

        runner = Runner(fn, self._node.nodeid)
        try:
            return runner(args, kwargs, 1)
        finally:
            runner.close()

    def _keep(self, profile: Profile) -> Any:
        self.profile = profile
        self._node.stash[PROFILE_KEY] = profile
        return profile.value


@pytest.fixture
def energy(request: pytest.FixtureRequest) -> Iterator[EnergyFixture]:
    """Measure a callable's energy per call: ``result = energy(fn, *args)``; see ``docs/pytest.md``."""
    yield EnergyFixture(request.node, ROUNDS_KEY in request.node.stash)
