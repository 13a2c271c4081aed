"""``greencode calibrate --instructions``: measuring workloads with two meters, the fit's report, and writing
the coefficients without harming the configuration file. Fake meters stand in for RAPL and perf."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fakes import make_fake_powercap

from greencode import instruction_calibration
from greencode.cli import main
from greencode.config import load_config, parse_toml
from greencode.instruction_calibration import Workload, default_workloads, measure_samples
from greencode.meters import perf
from greencode.meters.base import Domain, Reading

J_INSTRUCTION = 2e-10
J_LINE = 2e-8


class Machine:
    """What the fake meters see: counts and energy that workloads add, and a constant idle power."""

    def __init__(self, idle_w: float = 0.0) -> None:
        self.idle_w = idle_w
        self.counts = {"instructions": 0, "d1_misses": 0, "ll_misses": 0}
        self.energy_j = 0.0

    def work(self, instructions: int, lines: int) -> Workload:
        def run() -> None:
            self.counts["instructions"] += instructions
            self.counts["ll_misses"] += lines
            self.energy_j += instructions * J_INSTRUCTION + lines * J_LINE

        return Workload(f"{instructions} instructions, {lines} lines", run)


class FakeWindow:
    def __init__(self, stop: object) -> None:
        self.stop = stop


class EnergyMeter:
    """RAPL's part: the machine's energy plus idle power over the window's wall time."""

    name, scope, resolution_s = "rapl", "machine", 0.001

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.closed = False

    def domains(self) -> tuple[Domain, ...]:
        return (Domain("package-0", "fake"),)

    def start(self) -> FakeWindow:
        import time

        started, energy = time.perf_counter(), self.machine.energy_j

        def stop() -> Reading:
            idle = self.machine.idle_w * (time.perf_counter() - started)
            return Reading({"package-0": self.machine.energy_j - energy + idle})

        return FakeWindow(stop)

    def close(self) -> None:
        self.closed = True


class CountMeter(EnergyMeter):
    """The instructions meter's part: the counts over the window."""

    name, scope = "instructions", "process"

    def start(self) -> FakeWindow:
        before: Mapping[str, int] = dict(self.machine.counts)
        return FakeWindow(
            lambda: Reading({"cpu": 0.0}, counts={k: v - before[k] for k, v in self.machine.counts.items()})
        )


WORKLOADS = [(5_000_000, 100), (1_000_000, 50_000), (2_000_000, 20_000), (3_000_000, 5_000)]


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """The CLI's meters and workloads replaced by the fake machine's."""
    fake = Machine()
    monkeypatch.setattr(instruction_calibration, "IDLE_S", 0.01)
    monkeypatch.setattr(
        instruction_calibration, "open_meters", lambda config: (EnergyMeter(fake), CountMeter(fake))
    )
    monkeypatch.setattr(
        instruction_calibration, "default_workloads", lambda: [fake.work(n, m) for n, m in WORKLOADS]
    )
    yield fake


def calibrate(*args: str) -> int:
    return main(["calibrate", "--instructions", "--seconds", "0.01", *args])


# ---------------------------------------------------------------------------------------------------------
# measuring


def test_each_workload_is_one_sample_with_idle_power_taken_off() -> None:
    fake = Machine(idle_w=10.0)
    samples, idle_w = measure_samples(
        [fake.work(1_000_000, 0)], EnergyMeter(fake), CountMeter(fake), seconds=0.05, idle_s=0.05
    )
    (sample,) = samples
    assert idle_w == pytest.approx(10.0, rel=0.05)
    runs = sample.counts["instructions"] / 1_000_000
    assert runs >= 1
    assert sample.energy_j == pytest.approx(runs * 1_000_000 * J_INSTRUCTION, abs=5e-3)


def test_the_built_in_workloads_run() -> None:
    workloads = default_workloads(buffer_mib=1)
    assert len(workloads) == 5
    for workload in workloads:
        workload.run()


# ---------------------------------------------------------------------------------------------------------
# the command


def test_prints_the_fit_and_the_block_to_paste(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert calibrate() == 0
    out = capsys.readouterr().out
    assert "greencode calibrate --instructions: 4 workloads" in out
    assert "fit: joules_per_instruction = 2e-10, joules_per_ll_miss = 2e-08; RMS error" in out
    assert "paste into" in out and "[instructions]\njoules_per_instruction = 2.000000e-10\n" in out
    assert list(tmp_path.iterdir()) == []  # nothing written without --write


def test_write_sets_only_the_fitted_keys_in_pyproject(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    original = '[project]\nname = "demo"  # mine\n\n[tool.greencode.instructions]\nbackend = "perf"\n'
    pyproject.write_text(original)
    monkeypatch.chdir(tmp_path)
    assert calibrate("--write") == 0
    text = pyproject.read_text()
    assert text.startswith(
        '[project]\nname = "demo"  # mine\n\n[tool.greencode.instructions]\nbackend = "perf"\n'
    )
    config = load_config(start=tmp_path)
    assert config.instructions.joules_per_instruction == pytest.approx(J_INSTRUCTION, rel=1e-5)
    assert config.instructions.joules_per_ll_miss == pytest.approx(J_LINE, rel=1e-5)
    assert config.instructions.backend == "perf"


def test_write_creates_greencode_toml_when_there_is_no_configuration(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert calibrate("--write") == 0
    written = parse_toml((tmp_path / "greencode.toml").read_text(), "x")
    assert set(written["instructions"]) == {"joules_per_instruction", "joules_per_ll_miss"}


def test_a_file_it_cannot_edit_safely_is_left_alone_and_the_block_printed(
    machine: Machine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "greencode.toml"
    config.write_text('instructions = { backend = "perf" }\n')
    assert calibrate("--write", "--config", str(config)) == 2
    captured = capsys.readouterr()
    assert config.read_text() == 'instructions = { backend = "perf" }\n'
    assert "[instructions]\njoules_per_instruction = " in captured.out
    assert "without rewriting other parts of the file" in captured.err


def test_json_holds_the_coefficients_and_each_workload(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    assert calibrate("--json", "fit.json") == 0
    data = json.loads((tmp_path / "fit.json").read_text())
    assert data["coefficients"]["joules_per_instruction"] == pytest.approx(J_INSTRUCTION, rel=1e-5)
    assert len(data["workloads"]) == 4


def test_without_rapl_it_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GREENCODE_POWERCAP_ROOT", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    assert calibrate() == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "greencode: error: calibrate --instructions needs RAPL energy counters to fit against: "
    )
    assert err.count("\n") == 1


class NoPmu:
    """perf_event_open as in a VM without a virtual PMU."""

    def __init__(self, machine: str | None = None) -> None:
        pass

    def perf_event_open(self, attr: bytes, pid: int, cpu: int, group_fd: int, flags: int) -> int:
        raise OSError(2, "No such file or directory")


def test_without_instruction_counts_it_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_fake_powercap(tmp_path / "powercap", packages=1)
    monkeypatch.setenv("GREENCODE_POWERCAP_ROOT", str(tmp_path / "powercap"))
    monkeypatch.setattr(perf, "LinuxSyscalls", NoPmu)
    monkeypatch.chdir(tmp_path)
    assert calibrate() == 2
    err = capsys.readouterr().err
    assert "needs hardware instruction counts (perf_event_open): no hardware instruction counter here" in err
    assert err.count("\n") == 1


def test_pytest_arguments_do_not_mix_with_instructions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "--instructions", "--", "tests"]) == 2
    assert "takes no pytest arguments" in capsys.readouterr().err
