"""Running the instruction meter: the real command under callgrind, the plugin's re-run, greencode run."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from plugin_helpers import FAST
from run_cli import run_greencode
from trampoline_python import NO_PYTHON_REASON, PYTHON

from greencode.config import Config, InstructionsConfig
from greencode.meters.instructions_launch import LAUNCHED_ENV, CallgrindLaunch, needs_callgrind, real_command
from greencode.meters.valgrind import INSTALL_HINT

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason=INSTALL_HINT)
COUNTING = replace(Config(), meter="instructions", instructions=InstructionsConfig(backend="callgrind"))


def _script(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def test_a_console_script_runs_as_its_python_with_the_script(tmp_path: Path) -> None:
    script = _script(tmp_path / "tool", f"#!{sys.executable}\nprint('hi')\n")
    assert real_command([script, "-q"]) == [sys.executable, script, "-q"]


def test_an_env_shebang_is_resolved_to_the_interpreter(tmp_path: Path) -> None:
    script = _script(tmp_path / "tool", "#!/usr/bin/env python3\nprint('hi')\n")
    command = real_command([script])
    assert Path(command[0]).name.startswith("python") and command[1:] == [script]


def test_a_python_shell_shim_becomes_this_interpreter(tmp_path: Path) -> None:
    shim = _script(tmp_path / "python3", '#!/usr/bin/env bash\nexec pyenv exec python3 "$@"\n')
    assert real_command([shim, "-c", "pass"]) == [sys.executable, "-c", "pass"]


def test_a_binary_is_run_as_it_is() -> None:
    assert real_command([sys.executable, "-V"]) == [sys.executable, "-V"]


@needs_valgrind
def test_a_command_under_callgrind_runs_with_the_system_allocator_unless_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    with CallgrindLaunch(["true"], COUNTING) as launch:
        assert launch.env["PYTHONMALLOC"] == "malloc"
    monkeypatch.setenv("PYTHONMALLOC", "pymalloc")
    with CallgrindLaunch(["true"], COUNTING) as launch:
        assert "PYTHONMALLOC" not in launch.env  # the user's own choice reaches the command as it is


def test_other_meters_never_need_callgrind() -> None:
    assert not needs_callgrind(replace(COUNTING, meter="estimate"))


def test_the_perf_backend_never_needs_callgrind() -> None:
    assert not needs_callgrind(replace(COUNTING, instructions=InstructionsConfig(backend="perf")))


def test_a_process_already_started_under_callgrind_is_not_started_again() -> None:
    assert not needs_callgrind(COUNTING, {LAUNCHED_ENV: "1"})


def test_the_callgrind_backend_outside_valgrind_needs_callgrind() -> None:
    assert needs_callgrind(COUNTING, {})


def test_the_plugin_inside_another_session_says_the_command_to_run(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.greencode.instructions]\nbackend = "callgrind"\n')
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("--greencode", "--greencode-meter", "instructions", *FAST)
    result.stderr.fnmatch_lines(["*greencode valgrind -- pytest ARGS*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


@needs_valgrind
def test_pytest_with_the_instruction_meter_reruns_itself_under_callgrind(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.greencode.instructions]\nbackend = "callgrind"\n')
    pytester.makepyfile(
        "import random\n"
        "def test_loop():\n    assert sum(i * i for i in range(20000))\n"
        "def test_random():\n    assert random.random() < 2\n"
    )
    result = pytester.runpytest_subprocess(
        "--greencode", "--greencode-meter", "instructions", "--greencode-json", "out.json", *FAST, timeout=600
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    document = json.loads((pytester.path / "out.json").read_text())
    tests = {t["node_id"].rpartition("::")[2]: t for t in document["tests"]}
    assert tests["test_loop"]["instructions"] > 1_000_000
    assert tests["test_loop"]["rounds"] == 1
    assert "counts from callgrind" in tests["test_loop"]["provenance"]["cpu"]
    assert document["fingerprint"]["counter"].startswith("callgrind, ")
    assert not list(pytester.path.glob("callgrind.out.*")), "no dump is left behind"


@needs_valgrind
def test_greencode_run_counts_a_whole_command_and_keeps_its_exit_code(tmp_path: Path) -> None:
    program = "import sys; sum(i * i for i in range(50000)); sys.exit(3)"
    env = {"GREENCODE_CONFIG": str(tmp_path / "greencode.toml")}
    (tmp_path / "greencode.toml").write_text('[instructions]\nbackend = "callgrind"\n')
    done = run_greencode(
        "run",
        "--meter",
        "instructions",
        "--json",
        "run.json",
        "--",
        sys.executable,
        "-c",
        program,
        cwd=tmp_path,
        env={**env, "PATH": os.environ["PATH"]},
    )
    assert done.returncode == 3, done.stderr
    assert "counts: instructions " in done.stderr
    assert json.loads((tmp_path / "run.json").read_text())["instructions"] > 10_000_000


@needs_valgrind
@pytest.mark.skipif(PYTHON is None, reason=NO_PYTHON_REASON)
def test_greencode_run_names_the_python_functions_of_a_command_on_cpython_312(tmp_path: Path) -> None:
    assert PYTHON is not None
    (tmp_path / "work.py").write_text(
        "import os\n\ndef squares():\n    return sum(i * i for i in range(30000))\n\n"
        "squares()\nprint(os.getpid())\n"
    )
    (tmp_path / "greencode.toml").write_text('[instructions]\nbackend = "callgrind"\n')
    env = {"GREENCODE_CONFIG": str(tmp_path / "greencode.toml"), "PATH": os.environ["PATH"]}
    done = run_greencode(
        "run", "--meter", "instructions", "--json", "run.json", "--", PYTHON, "work.py", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    functions = json.loads((tmp_path / "run.json").read_text())["functions"]
    assert functions["work.py:squares"] > 0 and functions["work.py:squares.<locals>.<genexpr>"] > 0
    assert "instructions in work.py:" in done.stderr  # Python functions first on the terminal
    assert not Path(f"/tmp/perf-{done.stdout.split()[-1]}.map").exists(), "the command's perf map is removed"
