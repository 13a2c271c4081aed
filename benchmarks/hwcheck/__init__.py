"""The parts of ``benchmarks/hardware_check.py``: one module per counter, each a function ``check(settings)``.

Every part runs in its own process (see ``hardware_check.py``) and returns a :class:`~hwcheck.report.Section`;
the parts read counters only through greencode's own meter code (``greencode.meters.rapl``, ``nvml``,
``estimate``), so the check proves the code users run, not a second implementation of it.
"""
