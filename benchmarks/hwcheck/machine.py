"""What the machine is and what it offers, without touching a counter: for the report's header."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
from pathlib import Path

from greencode.fingerprint import detect_host
from hwcheck.report import Section, table
from hwcheck.settings import Settings


def first_line(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[0].strip()
    except (OSError, IndexError):
        return "–"


def check(settings: Settings) -> Section:
    host = detect_host()
    modules = ", ".join(
        f"{name} {'yes' if importlib.util.find_spec(name) else 'no'}" for name in ("pynvml", "torch", "cupy")
    )
    kind = "virtual" if host.virtual else "bare metal"
    rows = [
        ["CPU", f"{host.cpu_model} ({os.cpu_count()} logical CPUs, {kind})"],
        ["system", platform.platform()],
        ["Python", f"{platform.python_implementation()} {sys.version.split()[0]}"],
        ["powercap", str(settings.powercap()) + ("" if settings.powercap().is_dir() else " (absent)")],
        ["perf_event_paranoid", first_line("/proc/sys/kernel/perf_event_paranoid")],
        ["NVIDIA driver", first_line("/proc/driver/nvidia/version")],
        ["installed", modules],
    ]
    summary = f"{host.cpu_model}, {platform.system()} {platform.release()}, Python {sys.version.split()[0]}"
    return Section("machine", "info", summary, tuple(table(["", ""], rows)))
