"""``import greencode`` must stay cheap: it is imported by every pytest run that has the plugin installed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "pytest",
    "matplotlib",
    "codecarbon",
    "pynvml",
    "numpy",
    "importlib.metadata",
    "sqlite3",
    "statistics",
    "psycopg",
    "opentelemetry",
    "google.protobuf",
)


def modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; import json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("heavy", HEAVY)
def test_import_greencode_does_not_import(heavy: str) -> None:
    assert heavy not in modules_after("import greencode")


@pytest.mark.parametrize(
    "heavy", ["matplotlib", "codecarbon", "pynvml", "numpy", "sqlite3", "psycopg", "opentelemetry"]
)
def test_plugin_module_import_does_not_import(heavy: str) -> None:
    assert heavy not in modules_after("import pytest_greencode.plugin")


def test_every_public_name_resolves_on_first_use() -> None:
    import greencode

    for name in greencode.__all__:
        assert getattr(greencode, name) is not None, name
