"""Inputs that vary from run to run fixed before a counted call, so that an instruction count depends on
the code path only."""

from __future__ import annotations


def pin_variation(label: str) -> None:
    """``random`` seeded from ``label`` (a test's id), and the garbage collector run, so that neither an
    earlier call's garbage nor the clock-seeded random state changes the next call's count."""
    import gc
    import random
    import zlib

    random.seed(zlib.crc32(label.encode("utf-8")))
    gc.collect()
