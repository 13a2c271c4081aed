"""Arrows point down (docs/architecture.md): no import cycles in the library, and no layer imports one above.

The imports are read from the source (every ``import`` anywhere in a module, lazy ones included; only those
under ``if TYPE_CHECKING:`` are left out, since they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

#: Layers from the bottom up; a module may import from its own layer and those below. The front ends sit
#: above all of them; a module not named here yet is not checked (add it: docs/architecture.md).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("greencode.errors", "greencode.units", "greencode.names", "greencode.config_files", "greencode.grid",
     "greencode.extras", "greencode.files", "greencode.locks", "greencode.stats", "greencode.version",
     "greencode.datadir", "greencode.escaping", "greencode.instruction_fit", "greencode.export.points",
     "greencode.variation", "greencode.run_shift", "greencode.judging",
     "greencode.documents"),
    ("greencode.config", "greencode.carbon", "greencode.sci", "greencode.toml_keys",
     "greencode.fingerprint"),
    ("greencode.meters", "greencode.testing"),
    ("greencode.calls", "greencode.sinks", "greencode.measurement", "greencode.footprint"),
    ("greencode.vcs", "greencode.store", "greencode.records", "greencode.baselines", "greencode.results_file",
     "greencode.runs", "greencode.history", "greencode.pytest_process", "greencode.side_workers",
     "greencode.merge",
     "greencode.export", "greencode.tactics"),
    ("greencode.gate", "greencode.verdicts", "greencode.small_tests", "greencode.grouped_gate",
     "greencode.repeat_plan",
     "greencode.partial_runs",
     "greencode.calibration", "greencode.outcome", "greencode.ab", "greencode.compare",
     "greencode.instruction_calibration", "greencode.hotspots", "greencode.weighing",
     "greencode.futility"),
    ("greencode.report",),
    ("greencode.classroom", "greencode.compat"),
)  # fmt: skip
#: Known arrows pointing up, each with the reason it is tolerated for now.
TOLERATED = {
    # ranking scanner findings by measured energy reads any greencode output through the report loaders
    ("greencode.tactics.hotness", "greencode.report.loaders"),
}
FRONT_ENDS = ("greencode.cli", "greencode.__main__", "pytest_greencode")


def module_names() -> dict[str, Path]:
    names = {}
    for base in (ROOT / "greencode", ROOT / "plugins" / "pytest_greencode"):
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names[".".join(parts)] = path
    return names


MODULES = module_names()


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str) -> set[str]:
    """The library and plugin modules ``name`` imports at run time."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & MODULES.keys()
            # `from package import submodule` imports the submodule, not the package's own code
            found.update(submodules or {node.module})
            if len(submodules) < len(node.names):
                found.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(MODULES[name].read_text(encoding="utf-8")))
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int | None:
    """The layer of the most specific entry of :data:`LAYERS` that holds ``name``."""
    matches = [
        (len(top), index)
        for index, layer in enumerate(LAYERS)
        for top in layer
        if name == top or name.startswith(top + ".")
    ]
    return max(matches)[1] if matches else None


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in GRAPH[node]:
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            strong(node)
    return found


def test_the_library_has_no_import_cycles() -> None:
    assert cycles() == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer_of(n) is not None))
def test_a_module_imports_nothing_from_a_layer_above_its_own(name: str) -> None:
    own = layer_of(name)
    assert own is not None
    above = sorted(
        other for other in GRAPH[name] if (name, other) not in TOLERATED and (layer_of(other) or 0) > own
    )
    assert above == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith(FRONT_ENDS)))
def test_the_library_never_imports_a_front_end(name: str) -> None:
    assert sorted(other for other in GRAPH[name] if other.startswith(FRONT_ENDS)) == []
