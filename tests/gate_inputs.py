"""What the gate's tests judge on: the machine their baselines and records come from, and the default
settings."""

from __future__ import annotations

from greencode.fingerprint import Fingerprint
from greencode.gate import GateSettings

MACHINE = Fingerprint("AMD EPYC", 2, "scripted", ("scripted",), True, hostname="ci-1")
SETTINGS = GateSettings()
