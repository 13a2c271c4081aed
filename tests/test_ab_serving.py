"""A serving side process of ``greencode ab`` (greencode.side_workers, pytest_greencode.serve), driven through
its real pipes: later passes re-run tests in the same process and pytest reports nothing of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from plugin_helpers import make_project

from greencode.ab import AbOptions, serving_blocked
from greencode.pytest_process import measuring_command
from greencode.side_workers import SERVE_VARIABLE, SideWorker, read_message, write_message

TESTS = """
import warnings

import pytest

RUNS = []


def test_prints_and_warns():
    print("a line of output")
    warnings.warn(UserWarning("a warning"))


def test_with_subtests(subtests):
    for i in range(3):
        with subtests.test(i=i):
            assert i >= 0


@pytest.mark.skip(reason="never runs")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known to fail")
def test_known_to_fail():
    assert False


def test_once():
    # passes on pass 0 only: what its first run left behind breaks it
    RUNS.append(1)
    assert len(RUNS) == 1
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("GREENCODE_HISTORY", str(pytester.path / "history.sqlite"))
    make_project(pytester, TESTS)
    return pytester.path


def start(project: Path, *args: str) -> SideWorker:
    command = measuring_command(["-p", "no:cacheprovider", *args], project / "unused.json")
    return SideWorker("head", command, env=dict(os.environ), cwd=project, logs=project)


def summary_line(output: str) -> str:
    """pytest's last line without its timing: '2 passed, 1 skipped, ...'."""
    line = [line for line in output.splitlines() if line.startswith("=")][-1]
    return re.sub(r" in [0-9.]+s.*", "", line.strip("= "))


def ids(reply: dict[str, Any]) -> list[str]:
    return sorted(record["node_id"] for record in reply["records"])


def plain_run(project: Path) -> subprocess.CompletedProcess[str]:
    """The project's tests as ``pytest --greencode`` runs them, without serving."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "pytest_greencode.plugin"]
    return subprocess.run([*command, "--greencode"], cwd=project, capture_output=True, text=True, check=False)


def test_later_passes_change_nothing_pytest_reports(project: Path) -> None:
    plain = plain_run(project)
    worker = start(project)
    first = worker.first_reply()
    assert first is not None
    for index in (1, 2, 3):
        assert worker.run_pass(index, ids(first)) is not None
    worker.finish()

    assert worker.process.returncode == plain.returncode == 0
    assert summary_line(worker.ended().stdout) == summary_line(plain.stdout)
    assert "a line of output" not in worker.ended().stdout


def test_a_later_pass_measures_the_tests_it_is_given_again(project: Path) -> None:
    worker = start(project)
    first = worker.first_reply()
    assert first is not None and first["collected"] == 5
    only = ["test_energy.py::test_prints_and_warns"]

    later = worker.run_pass(1, only)
    worker.finish()

    assert later is not None and ids(later) == only and later["dropped"] == []
    assert ids(first) == [
        "test_energy.py::test_once",
        "test_energy.py::test_prints_and_warns",
        "test_energy.py::test_with_subtests",
    ]


def test_a_test_failing_on_a_later_pass_is_dropped_not_failed(project: Path) -> None:
    worker = start(project)
    first = worker.first_reply()
    assert first is not None

    later = worker.run_pass(1, ids(first))
    worker.finish()

    assert later is not None and later["dropped"] == ["test_energy.py::test_once"]
    assert "test_energy.py::test_once" not in ids(later)
    assert first["failed"] == [] and "1 failed" not in worker.ended().stdout


def test_a_doctest_passes_every_later_pass_with_its_modules_names(project: Path) -> None:
    # doctest clears a doctest's globals after each run, so a later pass would fail on SIZE
    (project / "test_energy.py").unlink()
    (project / "tables.py").write_text(
        'SIZE = 3\n\n\ndef triple(x):\n    """\n    >>> triple(SIZE)\n    9\n    """\n    return x * SIZE\n'
    )
    worker = start(project, "--doctest-modules", "tables.py")
    first = worker.first_reply()
    assert first is not None and ids(first) == ["tables.py::tables.triple"]

    later = [worker.run_pass(index, ids(first)) for index in (1, 2)]
    worker.finish()

    assert [(reply["dropped"], ids(reply)) for reply in later if reply is not None] == [
        ([], ["tables.py::tables.triple"])
    ] * 2


def test_the_first_reply_names_the_tests_that_failed(project: Path) -> None:
    (project / "test_energy.py").write_text("def test_fails():\n    assert False\n")
    worker = start(project)
    first = worker.first_reply()
    worker.finish()

    assert first is not None and first["failed"] == ["test_energy.py::test_fails"]
    assert worker.process.returncode == 1


def test_a_process_that_dies_ends_the_replies(project: Path) -> None:
    (project / "test_energy.py").write_text(
        "import os\nRUNS = []\n\ndef test_exits_on_its_second_run():\n"
        "    RUNS.append(1)\n    if len(RUNS) > 1:\n        os._exit(3)\n"
    )
    worker = start(project)
    first = worker.first_reply()
    assert first is not None

    assert worker.run_pass(1, ids(first)) is None
    assert worker.ended().returncode == 3


def test_an_xdist_controller_refuses_to_serve(project: Path) -> None:
    worker = start(project, "-p", "xdist", "-n", "1")
    reply = worker.first_reply()
    worker.kill()

    assert reply is not None and "xdist" in reply["refused"]


def test_the_tests_pytest_starts_do_not_inherit_the_channel(project: Path) -> None:
    (project / "test_energy.py").write_text(
        f"import os\n\ndef test_environment():\n    assert {SERVE_VARIABLE!r} not in os.environ\n"
    )
    worker = start(project)
    first = worker.first_reply()
    worker.finish()

    assert first is not None and first["failed"] == []


def test_messages_are_whole_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "pipe"
    with path.open("wb") as stream:
        write_message(stream, {"pass": 2, "only": ["a::b"]})
        stream.write(b'{"pass": 3')  # a writer that died mid-line
    with path.open("rb") as stream:
        assert read_message(stream) == {"pass": 2, "only": ["a::b"]}
        assert read_message(stream) is None


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("-n", "2"), "pytest-xdist's -n"),
        (("-n2",), "pytest-xdist's -n"),
        (("--numprocesses=auto",), "pytest-xdist's --numprocesses"),
        (("-p", "no:greencode"), "-p no:greencode"),
        (("-pno:greencode",), "-p no:greencode"),
    ],
)
def test_arguments_a_serving_process_cannot_honour_mean_fresh_processes(
    args: tuple[str, ...], why: str
) -> None:
    assert serving_blocked(AbOptions(pytest_args=args), "estimate") == why


def test_fresh_processes_when_asked_or_counting_instructions() -> None:
    assert serving_blocked(AbOptions(fresh_processes=True), "estimate") == "--fresh-processes"
    assert "instructions" in (serving_blocked(AbOptions(), "instructions") or "")
    assert serving_blocked(AbOptions(pytest_args=("tests", "-k", "not slow")), "estimate") is None


def test_a_serving_side_keeps_bytecode_where_it_is_and_hashes_strings_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greencode.ab import Side, _Runner, _Served
    from greencode.config import Config

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    served = _Served(_Runner(AbOptions(), Config(root=tmp_path), tmp_path, tmp_path / "scratch"))

    env = served.environment(Side("base", "main", "a" * 40, tmp_path, tmp_path))

    assert "PYTHONPYCACHEPREFIX" not in env
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONHASHSEED"] == "0"


def test_each_pass_gets_its_own_padding_and_the_tests_random_numbers_are_untouched() -> None:
    import random

    from pytest_greencode.serve import layout_padding

    state = random.getstate()
    draw = random.Random(7)

    sizes = {len(layout_padding(draw)) for _ in range(5)}

    assert len(sizes) > 1
    assert random.getstate() == state


GENERATIONS = """
import os
from pathlib import Path

RUNS = []


def test_twice_per_process():
    # what a process's earlier runs left behind breaks its third run
    RUNS.append(1)
    assert len(RUNS) <= 2


def test_pid():
    with Path(os.environ["PID_FILE"]).open("a") as pids:
        pids.write(f"{os.getpid()}\\n")
"""


@pytest.fixture
def generations(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (project / "test_energy.py").write_text(GENERATIONS)
    monkeypatch.setenv("PID_FILE", str(project / "pids"))
    return project


def pids(project: Path) -> list[int]:
    return [int(line) for line in (project / "pids").read_text().split()]


def test_a_generation_is_forked_from_the_collected_state_before_any_test_ran(generations: Path) -> None:
    worker = start(generations)
    first = worker.first_reply()
    assert first is not None
    own = worker.run_pass(1, ids(first))  # the process itself: its second run of each test
    warmed = worker.new_generation(1, ids(first))  # a fork's first run: the warm-up
    forked = worker.run_pass(2, ids(first))  # its second run: it passes, as the process's second did
    worker.finish()

    assert own is not None and own["dropped"] == []
    assert warmed is not None and warmed["dropped"] == [] and "records" not in warmed
    assert forked is not None and forked["dropped"] == [] and ids(forked) == ids(first)


def test_each_generation_is_a_process_of_its_own(generations: Path) -> None:
    worker = start(generations)
    first = worker.first_reply()
    assert first is not None
    only = ["test_energy.py::test_pid"]
    for generation in (1, 2):
        assert worker.new_generation(generation, only) is not None
        assert worker.run_pass(generation + 1, only) is not None
    worker.finish()

    # pass 0, then each generation's warm-up and pass
    process, one, one_again, two, two_again = pids(generations)
    assert one == one_again and two == two_again
    assert len({process, one, two}) == 3 and worker.process.pid == process


def test_generations_change_nothing_pytest_reports(generations: Path) -> None:
    plain = plain_run(generations)
    worker = start(generations)
    first = worker.first_reply()
    assert first is not None
    for generation in (1, 2, 3):
        assert worker.new_generation(generation, ids(first)) is not None
        assert worker.run_pass(generation, ids(first)) is not None
    worker.finish()

    assert worker.process.returncode == plain.returncode == 0
    assert summary_line(worker.ended().stdout) == summary_line(plain.stdout)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_no_generation_outlives_the_session(generations: Path) -> None:
    worker = start(generations)
    first = worker.first_reply()
    assert first is not None
    assert worker.new_generation(1, ["test_energy.py::test_pid"]) is not None
    worker.finish()

    (process, forked) = pids(generations)
    for _ in range(100):  # the spawner and its generation read the end of their pipe and exit
        if not alive(forked):
            break
        time.sleep(0.05)
    assert not alive(forked) and not alive(process)


def test_a_process_that_cannot_serve_has_no_generation_to_give(project: Path) -> None:
    worker = start(project, "-p", "xdist", "-n", "1")
    assert worker.first_reply() is not None

    assert worker.new_generation(1, []) is None
    worker.kill()


THREADED_CONFTEST = """
import threading

STOP = threading.Event()
threading.Thread(target=STOP.wait, name="left running by collection", daemon=True).start()
"""


def test_a_process_whose_collection_left_a_thread_running_forks_no_generation(
    generations: Path,
) -> None:
    (generations / "conftest.py").write_text(THREADED_CONFTEST)
    worker = start(generations)
    first = worker.first_reply()
    assert first is not None
    assert first["unforkable"] == "collection left 1 other thread running, and forking it could hang"

    assert worker.new_generation(1, ids(first)) is None
    worker.kill()


def test_a_process_with_only_a_parked_meter_poller_still_forks_generations(generations: Path) -> None:
    (generations / "conftest.py").write_text(
        "from greencode.meters.counters import Poller\n"
        "POLLER = Poller(lambda: None, 60.0, 'parked poller')\n"
        "POLLER.activate()\n"
        "POLLER.deactivate()\n"
    )
    worker = start(generations)
    first = worker.first_reply()
    assert first is not None and first["unforkable"] is None

    assert worker.new_generation(1, ["test_energy.py::test_pid"]) is not None
    worker.finish()
