"""Stored data under attack or bad luck (issues 16.5, 16.9 and the stored-data items of 16's "Low" list):
locks held by others, planted symlinks, damaged baselines and results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from greencode.errors import ConfigError, StoreError
from greencode.locks import announce_wait, file_lock, store_lock_timeout

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="flock and symlinks")

HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def held_lock(tmp_path: Path):  # type: ignore[no-untyped-def]
    lock = tmp_path / ".baseline.json.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    yield lock
    holder.kill()
    holder.wait()


@posix_only
def test_waiting_for_a_held_lock_says_so_once(held_lock: Path) -> None:
    calls: list[tuple[Path, float | None]] = []
    with pytest.raises(StoreError), file_lock(held_lock, 0.1, lambda p, t: calls.append((p, t))):
        pass
    assert calls == [(held_lock, 0.1)]


@posix_only
def test_a_held_lock_gives_up_after_the_timeout_naming_the_lock_and_the_variable(held_lock: Path) -> None:
    with pytest.raises(StoreError) as caught, file_lock(held_lock, 0.1):
        pass
    assert str(held_lock) in str(caught.value) and "GREENCODE_LOCK_TIMEOUT" in str(caught.value)


def test_the_wait_message_names_the_lock_and_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    announce_wait(tmp_path / ".b.lock", 120.0)
    err = capsys.readouterr().err
    assert "waiting for" in err and ".b.lock" in err and "120 s" in err


def test_an_uncontended_lock_does_not_announce_a_wait(tmp_path: Path) -> None:
    calls: list[object] = []
    with file_lock(tmp_path / ".x.lock", 1.0, lambda p, t: calls.append(p)):
        pass
    assert calls == []


def test_the_lock_timeout_comes_from_the_environment() -> None:
    assert store_lock_timeout({"GREENCODE_LOCK_TIMEOUT": "5"}) == 5.0
    assert store_lock_timeout({}) == 120.0


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "1e20"])
def test_a_bad_lock_timeout_is_a_configuration_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="GREENCODE_LOCK_TIMEOUT"):
        store_lock_timeout({"GREENCODE_LOCK_TIMEOUT": value})


@posix_only
def test_a_planted_lock_file_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    lock = tmp_path / ".baseline.json.lock"
    lock.symlink_to(victim)
    with pytest.raises(StoreError, match="symbolic link"), file_lock(lock):
        pass
    assert not victim.exists()


@posix_only
def test_save_waits_then_gives_up_with_a_message_while_another_process_holds_the_baseline_lock(
    tmp_path: Path, held_lock: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from greencode.baselines import save_baseline
    from greencode.fingerprint import detect_fingerprint

    monkeypatch.setenv("GREENCODE_LOCK_TIMEOUT", "0.2")
    with pytest.raises(StoreError, match="still locked"):  # it gives up rather than waiting forever
        save_baseline(tmp_path / "baseline.json", [], detect_fingerprint("estimate", ["cpu"]), None)
    assert "waiting for" in capsys.readouterr().err
    assert not (tmp_path / "baseline.json").exists()
