"""Persistent side processes for ``greencode ab``: each side's pytest starts once, and every later pair is a
*pass* inside the process already running, so a pair costs the selected tests' own time, not interpreter
start, imports, collection and the end of a run.

The protocol, one JSON object per line over pipes whose descriptors the process finds in
:data:`SERVE_VARIABLE` (``"COMMANDS,REPLIES,SPAWN_COMMANDS,SPAWN_REPLIES"``):

- after collection the process runs pass 0 as a normal pytest run (pytest's outcome is that of pass 0) and
  replies ``{"pass": 0, "collected": N, "records": [...], "failed": [...], "budgets": [...], "machine": ...,
  "meter_noise": ..., "warnings": [...]}``; a process that cannot serve (an xdist controller) replies
  ``{"refused": "why"}`` first, and ``greencode ab`` runs fresh processes instead;
- ``{"pass": K, "only": [node ids]}`` runs those tests again, quietly (pytest reports nothing of it), and
  replies ``{"pass": K, "records": [...], "dropped": [...], "warnings": [...]}``: ``dropped`` are tests that
  failed, errored or skipped on this pass after passing on pass 0;
- the end of the command pipe ends the session as pytest's own end would.

Process generations: a process can carry a bias of its own for a whole life (where its objects landed, how
its interpreter specialised a hot loop), which no number of passes inside it reveals. So after collection,
before pass 0, the process forks a copy of itself that waits on the spawn pipes (the *spawner*). On
``{"generation": G, "warm": [node ids]}`` the spawner forks generation G from that collected state: it runs
the ``warm`` tests once, quietly and not compared (its own first calls, caches and specialisation), replies
``{"generation": G, "dropped": [...], "warnings": [...]}``, then serves passes on the spawn pipes as above
until ``{"retire": true}`` (it replies ``{"retired": G}`` and exits, and the spawner waits for the next
generation) or the end of the spawn pipe. Generation 0 is the process itself, serving on the first pipes.
Forking costs milliseconds where a new pytest process costs its start and collection again.

An idle process blocks reading its pipe and uses no CPU, so it does not disturb the other side's pass.
The plugin's half is :mod:`pytest_greencode.serve`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from greencode.errors import GreencodeError

#: The variable ``greencode ab`` sets in a side process to make it serve: ``"COMMANDS,REPLIES"``.
SERVE_VARIABLE = "GREENCODE_AB_SERVE"
#: Seconds a side process gets to end its session once told to, before it is killed.
FINISH_TIMEOUT_S = 60.0
#: Lines of a dead process's output quoted in its error.
TAIL_LINES = 8


class WorkerError(GreencodeError):
    """A side process ended or answered nonsense while serving."""


def write_message(stream: IO[bytes], message: Mapping[str, Any]) -> None:
    """One message: a JSON object on one line, flushed."""
    stream.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
    stream.flush()


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next message, or None at the end of the stream (the other side is gone) or on a line that is
    not a whole JSON object (it died while writing)."""
    line = stream.readline()
    if not line.endswith(b"\n"):
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


@dataclass(frozen=True)
class Channel:
    """One end of a command pipe and of its reply pipe: the serving process reads the commands and writes
    the replies, ``greencode ab`` the other way round."""

    commands: IO[bytes]
    replies: IO[bytes]

    def close(self) -> None:
        for stream in (self.commands, self.replies):
            with contextlib.suppress(OSError):
                stream.close()


def serving_channels(value: str) -> tuple[Channel, Channel]:
    """The side process's ends of the pipes named by :data:`SERVE_VARIABLE`: its own and the spawner's."""
    try:
        commands, replies, spawn_commands, spawn_replies = (int(part) for part in value.split(","))
    except ValueError:
        raise WorkerError(f"{SERVE_VARIABLE}={value!r}: expected four pipe descriptors") from None
    return (
        Channel(os.fdopen(commands, "rb"), os.fdopen(replies, "wb")),
        Channel(os.fdopen(spawn_commands, "rb"), os.fdopen(spawn_replies, "wb")),
    )


class SideWorker:
    """One side's serving pytest process and its generations. Its output goes to two files in ``logs``, so
    a long-lived process never blocks on a full pipe, and a dead one can be described from them."""

    def __init__(
        self, name: str, command: Sequence[str], *, env: Mapping[str, str], cwd: Path, logs: Path
    ) -> None:
        self.name = name
        self.stdout_path, self.stderr_path = logs / f"{name}.out", logs / f"{name}.err"
        pipes = [os.pipe() for _ in range(4)]  # commands, replies, spawn commands, spawn replies
        # the child reads the commands pipes and writes the replies pipes; we hold the other ends
        child_ends = (pipes[0][0], pipes[1][1], pipes[2][0], pipes[3][1])
        own_ends = (pipes[0][1], pipes[1][0], pipes[2][1], pipes[3][0])
        environment = {**env, SERVE_VARIABLE: ",".join(str(end) for end in child_ends)}
        try:
            with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
                self.process = subprocess.Popen(
                    list(command),
                    cwd=cwd,
                    env=environment,
                    stdout=out,
                    stderr=err,
                    pass_fds=child_ends,
                )
        except BaseException:
            for end in own_ends:
                os.close(end)
            raise
        finally:
            for end in child_ends:
                os.close(end)
        self.first = Channel(os.fdopen(own_ends[0], "wb"), os.fdopen(own_ends[1], "rb"))
        self.spawn = Channel(os.fdopen(own_ends[2], "wb"), os.fdopen(own_ends[3], "rb"))
        #: the generation serving passes now: 0 is the process itself, later ones are forks of its spawner
        self.generation = 0
        self.started = time.monotonic()

    @property
    def _serving(self) -> Channel:
        return self.first if self.generation == 0 else self.spawn

    def first_reply(self) -> dict[str, Any] | None:
        """Pass 0's reply (or a refusal); None when the process ended without one."""
        return read_message(self.first.replies)

    def new_generation(self, index: int, warm: Sequence[str]) -> dict[str, Any] | None:
        """Retire the generation serving now (unless it is the process itself) and fork generation
        ``index``, which runs ``warm`` once before serving; its reply, or None when the process is gone."""
        if index <= self.generation:
            raise WorkerError(
                f"generation {index} of the {self.name} side follows generation {self.generation}"
            )
        if self.generation and self._ask(self.spawn, {"retire": True}, "retired", self.generation) is None:
            return None
        self.generation = index
        return self._ask(self.spawn, {"generation": index, "warm": list(warm)}, "generation", index)

    def run_pass(self, index: int, only: Sequence[str]) -> dict[str, Any] | None:
        """Run pass ``index`` of ``only``; its reply, or None when the process is gone."""
        return self._ask(self._serving, {"pass": index, "only": list(only)}, "pass", index)

    def _ask(
        self, channel: Channel, message: Mapping[str, Any], key: str, index: int
    ) -> dict[str, Any] | None:
        # one message, one reply: nothing else is written until the reply is read, so a process that
        # exits after replying never holds a later command in its read buffer
        try:
            write_message(channel.commands, message)
        except (BrokenPipeError, ValueError):
            return None
        reply = read_message(channel.replies)
        if reply is not None and reply.get(key) != index:
            raise WorkerError(f"the {self.name} side answered {key} {reply.get(key)!r} to {key} {index}")
        return reply

    def end(self) -> None:
        """Tell the process to end: the generations (the spawn pipe closes), then the session (the command
        pipe closes), as pytest's own end would."""
        self.spawn.close()
        with contextlib.suppress(OSError):
            self.first.commands.close()

    def finish(self, timeout_s: float = FINISH_TIMEOUT_S) -> None:
        """:meth:`end`, then wait for the process; killed if it hangs."""
        self.end()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self.first.close()

    def kill(self) -> None:
        """Stop the process now (an interrupt, an error), and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        # the spawner and its generation read the end of their pipe and exit
        self.spawn.close()
        self.first.close()

    def ended(self) -> subprocess.CompletedProcess[str]:
        """The ended process as :func:`subprocess.run` would give it: exit code and output so far."""
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.returncode
        return subprocess.CompletedProcess(
            self.process.args, code, self._text(self.stdout_path), self._text(self.stderr_path)
        )

    def tail(self) -> str:
        """The last lines of the process's output, joined with " | "."""
        lines = [
            " ".join(line.split())  # pytest pads its lines to the terminal's width
            for path in (self.stdout_path, self.stderr_path)
            for line in self._text(path).splitlines()
            if line.strip(" =")
        ]
        return " | ".join(lines[-TAIL_LINES:]) or "no output"

    @staticmethod
    def _text(path: Path) -> str:
        try:
            return path.read_bytes().decode(errors="replace")
        except OSError:
            return ""
