"""``import greencode`` must stay cheap: it is imported by every pytest run that has the plugin installed."""

from __future__ import annotations

import json
import os
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


CONFTEST = """
import json, os, sys

def pytest_unconfigure(config):
    with open(os.environ["MODULES_OUT"], "w") as out:
        json.dump(sorted(sys.modules), out)
"""


@pytest.fixture(scope="module")
def measuring_run_modules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The modules a whole ``pytest --greencode`` run of one test has imported when it ends, with no other
    plugin loaded (other plugins import what they like: pytest-benchmark imports statistics)."""
    project = tmp_path_factory.mktemp("project")
    (project / "conftest.py").write_text(CONFTEST)
    (project / "test_one.py").write_text("def test_one():\n    assert True\n")
    out = project / "modules.json"
    env = {**os.environ, "MODULES_OUT": str(out), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    plugins = ["-p", "pytest_greencode.plugin", "-p", "no:cacheprovider"]
    command = [sys.executable, "-m", "pytest", "-q", *plugins, "--greencode"]
    subprocess.run(command, cwd=project, env=env, capture_output=True, check=True)
    return set(json.loads(out.read_text()))


#: What a ``pytest --greencode`` run that does not use the instruction meter, compare, save or write a step
#: summary never needs: every run pays for what it imports, and importing these at every run's end was a
#: large part of its fixed cost on small suites.
NOT_IMPORTED_BY_A_PLAIN_RUN = (
    # the instruction meter's launcher, client and call-graph parser
    "greencode.meters.instructions_launch",
    "greencode.meters.instructions",
    "greencode.meters.valgrind",
    "greencode.meters.callgrind",
    # the comparison: the verdicts, the baseline, the grouped gate and its sizing, partial runs, the run's
    # shift, hotspots
    "greencode.verdicts",
    "greencode.baselines",
    "greencode.grouped_gate",
    "greencode.small_tests",
    "greencode.weighing",
    "greencode.partial_runs",
    "greencode.run_shift",
    "greencode.hotspots",
    # statistics (with fractions): a run's medians are greencode.stats.median
    "statistics",
    "fractions",
    # the report model, which only the step summary needs
    "greencode.report.model",
    "greencode.report.records",
    "greencode.report.loaders",
    "greencode.report.gating",
)


@pytest.mark.parametrize("unused", NOT_IMPORTED_BY_A_PLAIN_RUN)
def test_a_measuring_run_does_not_import_what_it_does_not_use(
    measuring_run_modules: set[str], unused: str
) -> None:
    assert unused not in measuring_run_modules
