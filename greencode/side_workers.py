"""Persistent side processes for ``greencode ab``: each side's pytest starts once, and every later pair is a
*pass* inside the process already running, so a pair costs the selected tests' own time, not interpreter
start, imports, collection and the end of a run.

The protocol, one JSON object per line over two pipes whose descriptors the process finds in
:data:`SERVE_VARIABLE` (``"COMMANDS,REPLIES"``):

- after collection the process runs pass 0 as a normal pytest run (pytest's outcome is that of pass 0) and
  replies ``{"pass": 0, "collected": N, "records": [...], "failed": [...], "budgets": [...], "machine": ...,
  "meter_noise": ..., "warnings": [...]}``; a process that cannot serve (an xdist controller) replies
  ``{"refused": "why"}`` first, and ``greencode ab`` runs fresh processes instead;
- ``{"pass": K, "only": [node ids]}`` runs those tests again, quietly (pytest reports nothing of it), and
  replies ``{"pass": K, "records": [...], "dropped": [...], "warnings": [...]}``: ``dropped`` are tests that
  failed, errored or skipped on this pass after passing on pass 0;
- the end of the command pipe ends the session as pytest's own end would.

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


def serving_channel(value: str) -> tuple[IO[bytes], IO[bytes]]:
    """The side process's ends of the pipes named by :data:`SERVE_VARIABLE`: (commands, replies)."""
    commands, replies = (int(part) for part in value.split(","))
    return os.fdopen(commands, "rb"), os.fdopen(replies, "wb")


class SideWorker:
    """One side's serving pytest process. Its output goes to two files in ``logs``, so a long-lived
    process never blocks on a full pipe, and a dead one can be described from them."""

    def __init__(
        self, name: str, command: Sequence[str], *, env: Mapping[str, str], cwd: Path, logs: Path
    ) -> None:
        self.name = name
        self.stdout_path, self.stderr_path = logs / f"{name}.out", logs / f"{name}.err"
        child_commands, self._commands_end = os.pipe()
        self._replies_end, child_replies = os.pipe()
        environment = {**env, SERVE_VARIABLE: f"{child_commands},{child_replies}"}
        try:
            with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
                self.process = subprocess.Popen(
                    list(command),
                    cwd=cwd,
                    env=environment,
                    stdout=out,
                    stderr=err,
                    pass_fds=(child_commands, child_replies),
                )
        except BaseException:
            for end in (self._commands_end, self._replies_end):
                os.close(end)
            raise
        finally:
            os.close(child_commands)
            os.close(child_replies)
        self.commands = os.fdopen(self._commands_end, "wb")
        self.replies = os.fdopen(self._replies_end, "rb")
        self.started = time.monotonic()

    def first_reply(self) -> dict[str, Any] | None:
        """Pass 0's reply (or a refusal); None when the process ended without one."""
        return read_message(self.replies)

    def run_pass(self, index: int, only: Sequence[str]) -> dict[str, Any] | None:
        """Run pass ``index`` of ``only``; its reply, or None when the process is gone."""
        try:
            write_message(self.commands, {"pass": index, "only": list(only)})
        except (BrokenPipeError, ValueError):
            return None
        reply = read_message(self.replies)
        if reply is not None and reply.get("pass") != index:
            raise WorkerError(f"the {self.name} side answered pass {reply.get('pass')!r} to pass {index}")
        return reply

    def finish(self, timeout_s: float = FINISH_TIMEOUT_S) -> None:
        """End the session (the command pipe closes), waiting for the process; killed if it hangs."""
        with contextlib.suppress(OSError):
            self.commands.close()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self.replies.close()

    def kill(self) -> None:
        """Stop the process now (an interrupt, an error), and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        for stream in (self.commands, self.replies):
            with contextlib.suppress(OSError):
                stream.close()

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
