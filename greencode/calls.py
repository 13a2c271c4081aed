"""Calling a measured function so that its work runs inside the window.

Calling an ``async def`` function only creates a coroutine, and calling a generator function only creates a
generator: measuring that call measures nothing of the work. :func:`runner` returns a callable that runs
``n`` calls of the function to completion: coroutine functions in an event loop of their own, generator
functions (sync and async) consumed to their end, items discarded.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Literal

from greencode.errors import GreencodeError

Kind = Literal["function", "coroutine function", "generator function", "async generator function"]


class NotMeasurable(GreencodeError, TypeError):
    """A function that cannot be measured as asked (a coroutine function inside a running event loop,
    a function that returns a coroutine without running it)."""


def kind_of(fn: Callable[..., Any]) -> Kind:
    """What calling ``fn`` does: run its work (``"function"``) or create something that runs it later."""
    import inspect  # here: inspect is slow to import, and plain measurements never need it

    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.isasyncgenfunction(target):
        return "async generator function"
    if inspect.iscoroutinefunction(target):
        return "coroutine function"
    if inspect.isgeneratorfunction(target):
        return "generator function"
    return "function"


def name_of(fn: Callable[..., Any]) -> str:
    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    return str(getattr(target, "__qualname__", repr(target)))


class Runner:
    """``runner(args, kwargs, n)`` makes ``n`` calls of the function, each run to completion, and returns
    the last result (``None`` for generators: their items are discarded). ``close()`` ends the event loop."""

    def __init__(self, fn: Callable[..., Any], who: str) -> None:
        self.fn = fn
        self.kind = kind_of(fn)
        self._who = who
        self._loop: Any = None

    def __call__(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], n: int) -> Any:
        fn = self.fn
        kind = self.kind
        value = None
        if kind == "function":
            for _ in range(n):
                value = fn(*args, **kwargs)
            if value is not None and _is_coroutine(value):
                value.close()  # never awaited, and now never will be: no "never awaited" warning on top
                raise NotMeasurable(
                    f"{self._who}: {name_of(fn)} returned a coroutine without running it; pass the async "
                    "function itself (greencode runs it to completion) or a function that runs the work"
                )
            return value
        if kind == "generator function":
            for _ in range(n):
                deque(fn(*args, **kwargs), maxlen=0)  # the fastest way to run a generator to its end
            return None
        return self._event_loop().run_until_complete(self._calls(args, kwargs, n))

    async def _calls(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], n: int) -> Any:
        fn = self.fn
        value = None
        if self.kind == "async generator function":
            for _ in range(n):
                async for _item in fn(*args, **kwargs):
                    pass
            return None
        for _ in range(n):
            value = await fn(*args, **kwargs)
        return value

    def _event_loop(self) -> Any:
        if self._loop is None:
            import asyncio

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self._loop = asyncio.new_event_loop()
            else:
                raise NotMeasurable(
                    f"{self._who}: {name_of(self.fn)} is a {self.kind} and an event loop is already running "
                    "here (an async test?); greencode runs coroutines in a loop of its own: call it from "
                    "synchronous code, or measure the awaited part with `async with greencode.measure(...)`"
                )
        return self._loop

    def close(self) -> None:
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def _is_coroutine(value: Any) -> bool:
    # a cheap check first: called once per round on whatever the function returned
    return hasattr(value, "cr_frame") and hasattr(value, "close") and hasattr(value, "send")
