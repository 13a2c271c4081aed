"""Output paths a hostile or unlucky user names (issue 16.1): devices, FIFOs, /dev/stdout, symlinks, ``-``,
missing directories; and what atomic writes of stored data replace (only regular files of ours)."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
from pathlib import Path

import pytest
from run_cli import run_greencode as greencode

from greencode.errors import StoreError
from greencode.files import ORPHAN_AFTER_S, atomic_write_text, check_output, write_output

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices, FIFOs and symlinks")
TRUE = (sys.executable, "-c", "pass")


@posix_only
def test_run_json_to_a_character_device_writes_through_and_keeps_the_device(tmp_path: Path) -> None:
    result = greencode("run", "--json", "/dev/null", "--", *TRUE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@posix_only
def test_writing_to_a_full_device_is_one_error_and_the_device_stays_a_device() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with pytest.raises(StoreError, match="No space left"):
        write_output("/dev/full", "{}\n")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@posix_only
def test_run_json_to_dev_stdout_goes_to_standard_output(tmp_path: Path) -> None:
    result = greencode("run", "--json", "/dev/stdout", "--", *TRUE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["returncode"] == 0


def test_dash_means_standard_output_for_run_json(tmp_path: Path) -> None:
    result = greencode("run", "--json", "-", "--", *TRUE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["command"] == list(TRUE)
    assert not (tmp_path / "-").exists()


def test_dash_means_standard_output_for_report_output(tmp_path: Path) -> None:
    greencode("run", "--json", "run.json", "--", *TRUE, cwd=tmp_path)
    result = greencode("report", "run.json", "--format", "json", "--output", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"] and not (tmp_path / "-").exists()


@posix_only
def test_a_fifo_is_written_through_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_output(fifo, "through the pipe\n")
    reader.join(timeout=30)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_a_symlinked_output_replaces_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_output(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"


@posix_only
def test_a_dangling_symlink_output_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "made.json")
    write_output(link, "made\n")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "made\n"


def test_a_directory_as_output_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        write_output(tmp_path, "x")


def test_a_missing_directory_inside_the_project_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_output(Path("reports/energy/out.md"), "x\n")
    assert (tmp_path / "reports/energy/out.md").read_text() == "x\n"


@pytest.mark.usefixtures("inner_project")
def test_a_missing_directory_outside_the_project_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist and is outside the project"):
        write_output(tmp_path / "typo" / "out.json", "x")
    assert not (tmp_path / "typo").exists()


def test_run_refuses_a_missing_directory_outside_the_project_before_running(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    marker = tmp_path / "ran"
    script = f"open({str(marker)!r}, 'w')"
    result = greencode(
        "run", "--json", str(tmp_path / "nope" / "r.json"), "--", sys.executable, "-c", script, cwd=project
    )
    assert result.returncode == 2 and "outside the project" in result.stderr and not marker.exists()


def test_a_nul_character_in_an_output_path_is_one_error() -> None:
    with pytest.raises(StoreError, match="NUL"):
        check_output("out\0.json")


@posix_only
def test_stored_data_refuses_to_replace_a_device(tmp_path: Path) -> None:
    link = tmp_path / "baseline.json"
    link.symlink_to("/dev/null")
    with pytest.raises(StoreError, match="not a regular file"):
        atomic_write_text(link, "{}")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@posix_only
def test_a_symlinked_baseline_stays_a_symlink_when_saved(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "baseline.json"
    shared.parent.mkdir()
    shared.write_text("{}")
    link = tmp_path / "baseline.json"
    link.symlink_to(shared)
    atomic_write_text(link, '{"saved": true}')
    assert link.is_symlink() and json.loads(shared.read_text()) == {"saved": True}


def test_orphan_temporary_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    orphan = tmp_path / ".baseline.json.abc123.tmp"
    orphan.write_text("half")
    old = time.time() - ORPHAN_AFTER_S - 60
    os.utime(orphan, (old, old))
    atomic_write_text(target, "{}")
    assert not orphan.exists() and target.read_text() == "{}"


def test_a_fresh_temporary_file_of_a_concurrent_writer_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "baseline.json"
    fresh = tmp_path / ".baseline.json.xyz789.tmp"
    fresh.write_text("being written")
    atomic_write_text(target, "{}")
    assert fresh.exists()
