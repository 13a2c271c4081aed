"""Check greencode's meters on this machine's real counters and write down what they showed (issue 15).

    PYTHONPATH=. python3 benchmarks/hardware_check.py --output hardware-report.md

Needs nothing beyond the standard library and what the machine has (pynvml, PyTorch or CuPy are used when
installed) and no network. It finds what the machine offers and checks each counter through greencode's own
meter code: RAPL (zones, readability and the fix, busy against idle, update interval, the poller, no double
counting), NVML (GPUs, energy counter, a GPU load by counter and by sampled power, short windows, GPU
selection), perf, the estimator against RAPL on the classroom pairs, and the instruction model's calibration.

Each part runs in its own process with its own time limit, so a counter that hangs costs that part only; the
whole check stops within ``--total-limit`` seconds (default 450, inside the 8 minutes promised). The report is
Markdown, printed and written to ``--output``. ``--quick`` shortens every duration for a first try.
Exit status: 0 when no check failed, 1 when one did (a missing counter is not a failure), 2 on bad options.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from hwcheck.report import Section, table  # noqa: E402
from hwcheck.settings import QUICK, Settings  # noqa: E402


@dataclass(frozen=True)
class Part:
    """One part of the check: ``target`` is ``module:function`` taking Settings and returning a Section."""

    name: str
    title: str
    target: str
    limit_s: float


PARTS = (
    Part("machine", "Machine", "hwcheck.machine:check", 20),
    Part("rapl", "RAPL / powercap", "hwcheck.rapl:check", 60),
    Part("nvml", "NVML", "hwcheck.nvml:check", 150),
    Part("perf", "perf_event_open", "hwcheck.perf:check", 30),
    Part("estimator", "The estimator against RAPL (classroom pairs)", "hwcheck.estimator:check", 120),
    Part("calibration", "Instruction model calibration", "hwcheck.calibration:check", 60),
)
TOTAL_LIMIT_S = 450.0
#: Left for the report after the last part, and the least worth starting a part with.
MARGIN_S = 3.0
TAIL_LINES = 15


def _environment() -> dict[str, str]:
    paths = [str(HERE), str(HERE.parent), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-TAIL_LINES:])


def _fenced(text: str) -> tuple[str, ...]:
    return ("```", text, "```") if text else ()


def run_part(part: Part, settings: Settings, limit_s: float) -> Section:
    """Run one part in a fresh process; a part that overruns ``limit_s`` is killed (its whole process group)
    and reported with the last progress lines it printed."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="greencode-hwcheck-") as scratch:
        result = Path(scratch) / "section.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--run-part", part.target]
        command += ["--settings", settings.to_json(), "--result", str(result)]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_environment(),
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            seconds = time.monotonic() - started
            lines = (
                f"Stopped after its time limit of {limit_s:g} s. Its last output:",
                *_fenced(_tail(output)),
            )
            return Section(part.name, "timeout", f"stopped at its {limit_s:g} s limit", lines, seconds)
        seconds = time.monotonic() - started
        if process.returncode == 0 and result.is_file():
            return replace(Section.from_json(result.read_text(encoding="utf-8")), seconds=seconds)
    lines = (f"The part failed (exit {process.returncode}):", *_fenced(_tail(output)))
    return Section(part.name, "error", f"the part failed (exit {process.returncode})", lines, seconds)


def run_check(
    settings: Settings, parts: Sequence[Part] = PARTS, total_limit_s: float = TOTAL_LIMIT_S
) -> list[Section]:
    deadline = time.monotonic() + total_limit_s
    sections = []
    for part in parts:
        left = deadline - time.monotonic() - MARGIN_S
        if left < MARGIN_S:
            why = f"not run: the check's overall limit of {total_limit_s:g} s was reached"
            sections.append(Section(part.name, "skipped", why, (why + ".",)))
            continue
        print(
            f"hardware check: {part.name} (limit {min(part.limit_s, left):.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        sections.append(run_part(part, settings, min(part.limit_s, left)))
    return sections


def render(sections: Sequence[Section], parts: Sequence[Part], command: str) -> str:
    titles = {part.name: part.title for part in parts}
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# greencode hardware check",
        "",
        f"{now}; `{command}`",
        "",
        *table(
            ["part", "result", "seconds", "summary"],
            [[titles.get(s.name, s.name), s.status, f"{s.seconds:.1f}", s.summary] for s in sections],
        ),
    ]
    for section in sections:
        lines += ["", f"## {titles.get(section.name, section.name)}", "", *section.body]
    return "\n".join(lines) + "\n"


def _run_one(target: str, settings_json: str, result: str) -> int:
    """In the part's own process: run it and write its Section where the runner will look."""
    import importlib

    module, _, function = target.partition(":")
    section = getattr(importlib.import_module(module), function)(Settings.from_json(settings_json))
    Path(result).write_text(section.to_json(), encoding="utf-8")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="hardware-report.md", help="report file (default %(default)s)")
    parser.add_argument(
        "--parts", help=f"comma-separated parts (default all: {','.join(p.name for p in PARTS)})"
    )
    parser.add_argument("--quick", action="store_true", help="short durations, to try the command first")
    parser.add_argument("--powercap-root", help="powercap tree to read (default /sys/class/powercap)")
    parser.add_argument("--gpu", type=int, help="NVML index of the GPU to load (default the first)")
    parser.add_argument("--no-gpu-load", action="store_true", help="measure the GPU idle, without a load")
    parser.add_argument(
        "--total-limit", type=float, default=TOTAL_LIMIT_S, help="seconds for the whole check"
    )
    parser.add_argument("--run-part", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.run_part:
        return _run_one(args.run_part, args.settings, args.result)
    parts = PARTS
    if args.parts:
        wanted = args.parts.split(",")
        unknown = sorted(set(wanted) - {part.name for part in PARTS})
        if unknown:
            parser.error(
                f"--parts: unknown part {unknown[0]!r}; the parts are {', '.join(p.name for p in PARTS)}"
            )
        parts = tuple(part for part in PARTS if part.name in wanted)
    settings = replace(
        Settings(**(QUICK if args.quick else {})),
        powercap_root=args.powercap_root,
        gpu_index=args.gpu,
        gpu_load="none" if args.no_gpu_load else "auto",
    )
    sections = run_check(settings, parts, args.total_limit)
    report = render(sections, parts, " ".join(["hardware_check.py", *(argv or sys.argv[1:])]))
    print(report)
    from greencode.files import atomic_write_text

    atomic_write_text(Path(args.output), report)
    print(f"hardware check: report written to {args.output}", file=sys.stderr)
    return 1 if any(section.status in ("fail", "error", "timeout") for section in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
