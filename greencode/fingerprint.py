"""The machine a set of measurements came from: its :class:`Fingerprint` and the probes that read it.

- :func:`detect_host` — the CPU model, threads per socket and the hypervisor flag (``/proc/cpuinfo``,
  ``sysctl``, the registry); the estimator looks the model up in its power table.
- :func:`detect_fingerprint` — this machine's :class:`Fingerprint` for a meter: the host above, DMI and
  ``/sys/hypervisor`` for hypervisors that hide the flag, the CPU frequency, the Python version. Nothing is
  executed on Linux.
- :class:`Fingerprint` — the identity that decides whether two sets of measurements are comparable; a
  baseline from another machine is not compared without being told to.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from greencode.documents import REQUIRED, count_of, typed

__all__ = ["Fingerprint", "HostInfo", "detect_fingerprint", "detect_host", "parse_cpuinfo"]


@dataclass(frozen=True)
class HostInfo:
    """What the estimator needs to know about this machine's CPU.

    ``threads_per_socket`` is the logical CPU count of one physical package as the OS shows it; ``virtual``
    is true inside a VM, where that count is the guest's vCPUs rather than the host chip's threads.
    """

    cpu_model: str
    threads_per_socket: int | None = None
    virtual: bool = True


def parse_cpuinfo(cpuinfo: str) -> HostInfo:
    """Model name, logical CPUs per package (``siblings``) and the ``hypervisor`` flag of Linux's cpuinfo."""
    model = ""
    siblings: int | None = None
    flags = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "siblings" and siblings is None and value.strip().isdigit():
            siblings = int(value)  # logical CPUs in this physical package
        elif key == "flags" and not flags:
            flags = value
    return HostInfo(model or "unknown", siblings, virtual="hypervisor" in flags.split())


def _darwin_host() -> HostInfo:
    import subprocess

    try:
        output = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string", "hw.logicalcpu", "kern.hv_vmm_present"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return HostInfo("unknown")
    model = output[0].strip() if output else "unknown"
    threads = int(output[1]) if len(output) > 1 and output[1].strip().isdigit() else None
    virtual = (len(output) > 2 and output[2].strip() == "1") or "virtual" in model.lower()
    return HostInfo(model or "unknown", threads, virtual)


@cache
def detect_host() -> HostInfo:
    """This machine's CPU model, threads per socket and whether it is virtual; read once per process.

    Linux reads ``/proc/cpuinfo``; macOS asks ``sysctl``; Windows reads the processor name from the registry;
    elsewhere ``platform.processor()`` names the CPU. Where a VM cannot be told from real hardware, the
    machine is assumed virtual, so this machine's CPU count is never mistaken for the chip's thread count.
    """
    if sys.platform.startswith("linux"):
        try:
            return parse_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return HostInfo("unknown")
    if sys.platform == "darwin":
        return _darwin_host()
    if sys.platform == "win32":  # pragma: no cover - platform.processor() there gives a family, not a model
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
            ) as key:
                return HostInfo(str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip() or "unknown")
        except OSError:
            pass
    import platform

    return HostInfo(platform.processor().strip() or "unknown")


@dataclass(frozen=True)
class Fingerprint:
    """The machine and meters that produced a set of measurements.

    The identity — CPU model, logical CPUs, meters, domains and whether the machine is virtual — decides
    whether two sets are comparable. Python version, CPU frequency, host name and platform are recorded for
    people reading the file, but a new Python or a different host of the same kind does not make a
    baseline foreign (CI runners change host names every job).
    """

    cpu_model: str
    logical_cpus: int
    meter: str
    domains: tuple[str, ...]
    virtualised: bool
    python: str = ""
    frequency_mhz: float | None = None
    hostname: str = ""
    platform: str = ""
    #: a counting meter's counter and interpreter (``callgrind, CPython 3.11.7``): instruction counts change
    #: with both, so they are part of the identity; empty for energy meters
    counter: str = ""

    @property
    def identity(self) -> tuple[object, ...]:
        return (
            self.cpu_model,
            self.logical_cpus,
            self.meter,
            tuple(sorted(self.domains)),
            self.virtualised,
            self.counter,
        )

    def matches(self, other: Fingerprint) -> bool:
        return self.identity == other.identity

    def differences(self, other: Fingerprint) -> tuple[str, ...]:
        """What differs between ``other`` (e.g. the baseline's) and this machine, one phrase each."""
        found = []
        if self.cpu_model != other.cpu_model:
            found.append(f"CPU {other.cpu_model!r} vs {self.cpu_model!r}")
        if self.logical_cpus != other.logical_cpus:
            found.append(f"{other.logical_cpus} vs {self.logical_cpus} logical CPUs")
        if self.meter != other.meter:
            found.append(f"meter {other.meter!r} vs {self.meter!r}")
        elif sorted(self.domains) != sorted(other.domains):
            found.append(f"domains {', '.join(other.domains)} vs {', '.join(self.domains)}")
        if self.virtualised != other.virtualised:
            kinds = ("physical", "virtual")
            found.append(f"{kinds[other.virtualised]} vs {kinds[self.virtualised]} machine")
        if self.counter != other.counter:
            found.append(
                f"counted with {other.counter or 'no counter'!r} vs {self.counter or 'no counter'!r} "
                "(instruction counts change with the counter, the Python version, implementation and "
                "allocator)"
            )
        return tuple(found)

    def describe(self) -> str:
        kind = "VM" if self.virtualised else "physical"
        return f"{self.cpu_model}, {self.logical_cpus} CPUs, {kind}, meter {self.meter}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu_model": self.cpu_model,
            "logical_cpus": self.logical_cpus,
            "meter": self.meter,
            "domains": sorted(self.domains),
            "virtualised": self.virtualised,
            "python": self.python,
            "frequency_mhz": self.frequency_mhz,
            "hostname": self.hostname,
            "platform": self.platform,
            **({"counter": self.counter} if self.counter else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        # strict: a fingerprint read wrongly would not match this machine, and the next save would then
        # replace the whole baseline as if it came from another one
        domains = typed(data, "domains", list)
        if not all(isinstance(d, str) and d for d in domains):
            raise ValueError("'domains' should be a list of domain names")
        if not typed(data, "cpu_model", str) or not typed(data, "meter", str):
            raise ValueError("'cpu_model' and 'meter' should not be empty")
        return cls(
            cpu_model=typed(data, "cpu_model", str),
            logical_cpus=count_of(data, "logical_cpus", REQUIRED),
            meter=typed(data, "meter", str),
            domains=tuple(domains),
            virtualised=typed(data, "virtualised", bool),
            python=typed(data, "python", str, ""),
            frequency_mhz=typed(data, "frequency_mhz", float, None),
            hostname=typed(data, "hostname", str, ""),
            platform=typed(data, "platform", str, ""),
            counter=typed(data, "counter", str, ""),
        )


#: DMI vendor and product strings of common hypervisors (what systemd-detect-virt reads, without running it).
_VM_VENDORS = (
    "qemu",
    "kvm",
    "vmware",
    "virtualbox",
    "innotek",
    "xen",
    "bochs",
    "parallels",
    "amazon ec2",
    "google compute engine",
    "microsoft corporation virtual machine",
    "openstack",
    "hetzner vserver",
)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _virtual_by_firmware() -> bool:
    if _read("/sys/hypervisor/type").strip():
        return True
    dmi = " ".join(
        _read(f"/sys/class/dmi/id/{name}").strip().lower() for name in ("sys_vendor", "product_name")
    )
    return any(vendor in dmi for vendor in _VM_VENDORS)


def _frequency_mhz() -> float | None:
    for line in _read("/proc/cpuinfo").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "cpu MHz":
            try:
                return round(float(value), 1)
            except ValueError:
                return None
    return None


def detect_fingerprint(meter: str, domains: Iterable[str], counter: str = "") -> Fingerprint:
    """This machine's fingerprint for measurements taken with ``meter`` over ``domains`` (``counter``: a
    counting meter's :func:`~greencode.meters.counting_identity`).

    The CPU model and the hypervisor flag come from :func:`detect_host` (``/proc/cpuinfo`` on Linux); DMI
    and ``/sys/hypervisor`` files catch hypervisors that hide the flag. Nothing is executed.
    """
    import platform

    host = detect_host()
    return Fingerprint(
        cpu_model=host.cpu_model,
        logical_cpus=os.cpu_count() or 1,
        meter=meter,
        domains=tuple(sorted(domains)),
        virtualised=bool(host.virtual) or (sys.platform.startswith("linux") and _virtual_by_firmware()),
        python=platform.python_version(),
        frequency_mhz=_frequency_mhz(),
        hostname=socket.gethostname(),
        platform=platform.platform(terse=True),
        counter=counter,
    )
