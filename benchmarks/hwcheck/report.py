"""What a part hands back (a Markdown section with a verdict) and the small helpers that format it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

#: ``pass``/``fail``: the part's checks held or did not; ``absent``: this machine lacks the counter (the
#: reason is in the body); ``info``: figures without a verdict; ``error``/``timeout``: the part broke or hung;
#: ``skipped``: the whole check's time ran out before it.
Status = Literal["pass", "fail", "absent", "info", "error", "timeout", "skipped"]


@dataclass(frozen=True)
class Section:
    """One part's result: a verdict, a one-line summary for the report's table, and Markdown lines."""

    name: str
    status: Status
    summary: str
    body: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Section:
        data = json.loads(text)
        return cls(
            data["name"], data["status"], data["summary"], tuple(data["body"]), float(data.get("seconds", 0))
        )


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return lines


def check_line(ok: bool, text: str) -> str:
    """A bullet that states one check and whether it held."""
    return f"- {'PASS' if ok else 'FAIL'}: {text}"


def outcomes(lines: Sequence[str]) -> list[bool]:
    """Whether each check line among ``lines`` held (other lines are ignored)."""
    return [line.startswith("- PASS") for line in lines if line.startswith(("- PASS", "- FAIL"))]


def verdict(checks: Sequence[bool]) -> Status:
    return "pass" if all(checks) else "fail"


def joules(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4g} J"


def watts(value: float | None) -> str:
    return "–" if value is None else f"{value:.4g} W"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.2f} %"


def relative(value: float, reference: float) -> float | None:
    """``value`` relative to ``reference`` (0.02 = 2 % more); ``None`` when the reference is 0."""
    return value / reference - 1 if reference else None


def log(message: str) -> None:
    """Progress on stderr: when a part hits its time limit, the runner shows the last of these lines."""
    print(message, file=sys.stderr, flush=True)
