"""Optional packages' data, found without importing them (``import codecarbon`` alone takes ~0.1 s)."""

from __future__ import annotations

from pathlib import Path


def codecarbon_data_file(*parts: str) -> Path | None:
    """A file packaged with CodeCarbon (e.g. ``"data", "hardware", "cpu_power.csv"``), or ``None``.

    The package is located with ``importlib.util.find_spec``, which does not import it.
    """
    from importlib.util import find_spec

    try:
        spec = find_spec("codecarbon")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location).joinpath(*parts)
        if candidate.is_file():
            return candidate
    return None
