"""``greencode run`` against commands that cannot start, die, or leave processes behind (issues 16.2, 16.11
and the ``run`` items of 16's "Low" list)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from run_cli import run_greencode as greencode

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX exec errors, signals and /proc")


def one_line_error(stderr: str) -> bool:
    return stderr.startswith("greencode: error: ") and stderr.count("\n") == 1 and "Traceback" not in stderr


@posix_only
def test_a_script_without_a_shebang_is_one_line_and_exit_126(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("echo hi\n")
    script.chmod(0o755)
    result = greencode("run", "--", str(script), cwd=tmp_path)
    assert result.returncode == 126 and one_line_error(result.stderr) and "'#!'" in result.stderr


@posix_only
def test_a_path_through_a_file_is_one_line_and_exit_126(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    result = greencode("run", "--", str(tmp_path / "plain" / "x"), cwd=tmp_path)
    assert result.returncode == 126 and one_line_error(result.stderr) and "Not a directory" in result.stderr


@posix_only
def test_a_file_without_execute_permission_is_exit_126(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("")
    result = greencode("run", "--", str(tmp_path / "data.txt"), cwd=tmp_path)
    assert result.returncode == 126 and one_line_error(result.stderr)


@posix_only
def test_too_many_open_files_is_one_line_and_exit_126(tmp_path: Path) -> None:
    # everything greencode run needs is imported first; then all but one descriptor are taken, so
    # starting the command (which needs a pipe) is what fails
    script = (
        "import os, sys\n"
        "from greencode.cli import main, build_parser\n"
        "import greencode.cli.run, greencode.measurement, greencode.meters.estimate, greencode.meters.rapl\n"
        "import greencode.sinks, greencode.files, greencode.carbon, ctypes, json, subprocess\n"
        "build_parser()\n"
        "held = []\n"
        "try:\n"
        "    while True:\n"
        "        held.append(os.open(os.devnull, os.O_RDONLY))\n"
        "except OSError:\n"
        "    os.close(held.pop())\n"
        "sys.exit(main(['run', '--', sys.executable, '-c', 'pass']))\n"
    )
    env = {**os.environ, "GREENCODE_POWERCAP_ROOT": str(tmp_path / "none")}
    env.pop("GREENCODE_METER", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 126 and one_line_error(result.stderr), result.stderr
    assert "Too many open files" in result.stderr


@posix_only
def test_a_command_killed_by_a_signal_still_gets_its_json(tmp_path: Path) -> None:
    script = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    result = greencode("run", "--json", "run.json", "--", sys.executable, "-c", script, cwd=tmp_path)
    assert result.returncode == 128 + signal.SIGKILL
    assert json.loads((tmp_path / "run.json").read_text())["returncode"] == -signal.SIGKILL


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkill_of_greencode_does_not_orphan_the_command(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    child = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    env = {**os.environ, "GREENCODE_POWERCAP_ROOT": str(tmp_path / "none")}
    env.pop("GREENCODE_METER", None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "greencode", "run", "--", sys.executable, "-c", child],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child_pid = int(pid_file.read_text())
        runner.kill()
        runner.wait(timeout=30)
        assert _ends(child_pid), "the command outlived greencode"
    finally:
        runner.kill()
        if pid_file.exists() and pid_file.read_text():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _ends(pid: int) -> bool:
    """Whether process ``pid`` ends (or is a zombie) within a generous while."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_CHILD_SUBREAPER is Linux's")
def test_a_daemonised_grandchild_left_running_is_named_in_a_warning(tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon.pid"
    daemon = (
        "import os, sys, time\n"
        "if os.fork():\n"
        "    sys.exit(0)\n"
        "os.setsid()\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(30)\n"
    )
    try:
        result = greencode("run", "--", sys.executable, "-c", daemon, cwd=tmp_path)
        assert result.returncode == 0
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "left 1 process(es) running" in result.stderr and "not measured" in result.stderr
    finally:
        if pid_file.exists() and pid_file.read_text():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_CHILD_SUBREAPER is Linux's")
def test_a_grandchild_that_ends_in_time_is_not_reported_as_left_behind(tmp_path: Path) -> None:
    script = "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'pass']).wait()"
    result = greencode("run", "--", sys.executable, "-c", script, cwd=tmp_path)
    assert result.returncode == 0 and "left" not in result.stderr
