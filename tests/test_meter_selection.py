"""Choosing meters: explicit lists are used as given, but never so that the same energy is counted twice."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from fakes import make_fake_powercap

from greencode.config import Config
from greencode.errors import MeterUnavailable
from greencode.meters import rapl, select_meters


def test_a_meter_named_twice_is_used_once(tmp_path: Path) -> None:
    selection = select_meters(Config(root=tmp_path, meter="estimate,estimate"))
    try:
        assert selection.name == "estimate"
    finally:
        selection.close()


def test_two_meters_of_the_cpu_in_one_list_are_an_error_naming_both(tmp_path: Path) -> None:
    fake = make_fake_powercap(tmp_path / "powercap", packages=1)
    with pytest.raises(MeterUnavailable, match=r"rapl and estimate both measure the CPU.*twice"):
        select_meters(Config(root=tmp_path, meter="rapl,estimate", powercap_root=fake.root))


def test_auto_falls_back_to_the_estimator_when_rapl_is_unreadable_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_fake_powercap(tmp_path / "powercap", packages=1)

    def deny(path: Path) -> str:
        if path.name == "energy_uj":
            raise PermissionError(errno.EACCES, "Permission denied")
        return path.read_text()

    # root ignores file modes, so the denial is injected where the rapl entry point builds its meter
    monkeypatch.setattr(rapl, "create", lambda config: rapl.RaplMeter(fake.root, reader=deny))
    selection = select_meters(Config(root=tmp_path))
    try:
        assert [meter.name for meter in selection.meters] == ["estimate"]
        (rapl_reason,) = [reason for reason in selection.reasons if reason.startswith("rapl")]
        assert "permission denied" in rapl_reason and "/etc/tmpfiles.d/" in rapl_reason
    finally:
        selection.close()
