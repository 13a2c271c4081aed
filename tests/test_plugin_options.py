"""The plugin's command-line options: every path option works written as one word or as two."""

from __future__ import annotations

import pytest
from plugin_helpers import SCRIPTED, run

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

# The project's own pytest settings matter: `pythonpath` makes `mylib` importable, so a dropped pyproject.toml
# (a moved rootdir) fails the test with ModuleNotFoundError.
PYPROJECT = f"""
[tool.pytest.ini_options]
pythonpath = ["src"]

[tool.greencode]
meter = "{SCRIPTED}"
rounds = 1
"""


def _project(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    (pytester.path / "src").mkdir()
    (pytester.path / "src" / "mylib.py").write_text("def answer():\n    return 42\n")
    pytester.makepyfile(test_lib="import mylib\n\ndef test_answer():\n    assert mylib.answer() == 42\n")


@pytest.mark.parametrize("option", ["--greencode-baseline", "--greencode-json", "--greencode-compare"])
def test_a_path_option_as_two_words_outside_the_project_keeps_the_rootdir(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, option: str
) -> None:
    _project(pytester)
    outside = tmp_path_factory.mktemp("elsewhere") / "energy.json"
    # the file must exist for pytest to take it for a test path: make it with the one-word form
    if option == "--greencode-json":
        run(pytester, "--greencode", f"--greencode-json={outside}").assert_outcomes(passed=1)
    else:
        run(pytester, "--greencode-save", f"--greencode-baseline={outside}").assert_outcomes(passed=1)
    extra = ("--greencode-save",) if option == "--greencode-baseline" else ("--greencode",)
    result = run(pytester, *extra, option, str(outside))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"rootdir: {pytester.path}", "configfile: pyproject.toml"])


def test_a_path_option_inside_the_project_as_two_words_changes_nothing(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = run(pytester, "--greencode", "--greencode-json", "results.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"rootdir: {pytester.path}"])
    assert (pytester.path / "results.json").is_file()
