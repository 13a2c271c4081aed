"""Classroom exercises: discovery, worksheets, running a lesson, the teacher's report, the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from run_cli import run_greencode

from greencode.classroom import Exercise, discover, load_exercise
from greencode.classroom.report import write_report
from greencode.classroom.runner import Lesson, run_lesson
from greencode.cli import main
from greencode.errors import ConfigError, GreencodeError
from greencode.tactics.catalogue import get_tactic

EXAMPLES = Path(__file__).parents[1] / "examples" / "classroom"
EXERCISES = discover(EXAMPLES)
WORKSHEET_SECTIONS = (
    "## Learning goal",
    "## Run it",
    "## What to look at",
    "## Questions",
    "## Estimate or measurement?",
)

SLOW = "def run():\n    return sum(range(20_000))\n"
FAST = "def run():\n    return 199990000\n"


def make_exercise(root: Path, name: str, wasteful: str, green: str, tactic: str = "GT-LP-02") -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "wasteful.py").write_text(wasteful, encoding="utf-8")
    (directory / "green.py").write_text(green, encoding="utf-8")
    metadata = f'title = "Exercise {name}"\ntactic = "{tactic}"\n'
    metadata += 'wasteful = "wasteful.py:run"\ngreen = "green.py:run"\n'
    (directory / "exercise.toml").write_text(metadata, encoding="utf-8")
    return directory


# ---------------------------------------------------------------------------------------------------------
# the exercises in examples/classroom


def test_there_are_at_least_eight_exercises_each_on_its_own_tactic() -> None:
    assert len(EXERCISES) >= 8
    assert len({exercise.tactic for exercise in EXERCISES}) == len(EXERCISES)


def test_exercises_are_found_in_directory_order() -> None:
    assert [e.name for e in EXERCISES] == sorted(e.name for e in EXERCISES)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_exercise_names_a_catalogued_tactic(exercise: Exercise) -> None:
    assert get_tactic(exercise.tactic).id == exercise.tactic


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_exercise_has_its_equivalence_test(exercise: Exercise) -> None:
    assert list(exercise.directory.glob("test_*.py"))


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_worksheet_has_the_sections_and_its_tactic(exercise: Exercise) -> None:
    assert exercise.worksheet is not None
    text = exercise.worksheet.read_text(encoding="utf-8")
    for section in WORKSHEET_SECTIONS:
        assert section in text
    assert f"greencode tactics show {exercise.tactic}" in text


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_worksheet_shows_the_command_comparing_its_two_implementations(exercise: Exercise) -> None:
    assert exercise.worksheet is not None
    text = exercise.worksheet.read_text(encoding="utf-8")
    where = f"examples/classroom/{exercise.name}"
    expected = f"greencode compare {where}/{exercise.wasteful} {where}/{exercise.green} --check-equal"
    assert expected in text


def test_the_generators_exercise_says_energy_barely_moves() -> None:
    exercise = next(e for e in EXERCISES if e.tactic == "GT-LP-03")
    assert "Energy barely moves" in exercise.note
    assert exercise.worksheet is not None and "Energy barely moves" in exercise.worksheet.read_text()


# ---------------------------------------------------------------------------------------------------------
# exercise files


def test_a_missing_key_is_named_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "exercise.toml").write_text('title = "x"\ntactic = "GT-DS-01"\nwasteful = "a.py:f"\n')
    with pytest.raises(ConfigError, match=r"exercise\.toml: missing key 'green'"):
        load_exercise(tmp_path)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    make_exercise(tmp_path, "one", SLOW, FAST)
    with (tmp_path / "one" / "exercise.toml").open("a") as handle:
        handle.write('speed = "fast"\n')
    with pytest.raises(ConfigError, match="unknown key 'speed'"):
        load_exercise(tmp_path / "one")


def test_an_unknown_tactic_is_refused_with_suggestions(tmp_path: Path) -> None:
    make_exercise(tmp_path, "one", SLOW, FAST, tactic="GT-DS-99")
    with pytest.raises(ConfigError, match=r"tactic: unknown tactic 'GT-DS-99'"):
        load_exercise(tmp_path / "one")


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "exercise.toml").write_text("title = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_exercise(tmp_path)


def test_a_directory_without_exercises_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no exercises found"):
        discover(tmp_path)


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        discover(tmp_path / "nowhere")


# ---------------------------------------------------------------------------------------------------------
# running a lesson and writing the report (scripted meter: 1 J per round, so faster code costs less per call)


@pytest.fixture
def lesson(scripted: None, tmp_path: Path) -> Lesson:
    make_exercise(tmp_path / "lesson", "01-works", SLOW, FAST)
    make_exercise(tmp_path / "lesson", "02-differs", SLOW, "def run():\n    return 0\n")
    return run_lesson(discover(tmp_path / "lesson"), rounds=2)


def test_a_failing_exercise_is_recorded_and_the_lesson_goes_on(lesson: Lesson) -> None:
    works, differs = lesson.results
    assert works.ranking is not None and works.error is None
    assert differs.ranking is None
    assert differs.error is not None and "different results" in differs.error
    assert lesson.failed == (differs,)


def test_implementations_are_labelled_wasteful_and_green(lesson: Lesson) -> None:
    ranking = lesson.results[0].ranking
    assert ranking is not None
    assert [r.label for r in ranking.results] == ["green (run)", "wasteful (run)"]


def test_saving_is_wasteful_energy_over_green_energy(lesson: Lesson) -> None:
    saving = lesson.results[0].saving
    assert saving is not None and saving.estimate > 1 and saving.low <= saving.estimate <= saving.high


def test_saving_is_below_one_when_the_wasteful_version_wins(scripted: None, tmp_path: Path) -> None:
    make_exercise(tmp_path, "upside-down", FAST, SLOW)
    result = run_lesson(discover(tmp_path), rounds=2).results[0]
    assert result.saving is not None and result.saving.estimate < 1


def test_markdown_report_has_a_summary_a_section_per_exercise_and_the_basis(
    lesson: Lesson, tmp_path: Path
) -> None:
    path = write_report(lesson, tmp_path / "out" / "lesson.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Wasteful or green?")
    assert "## Summary" in text and "## 1. Exercise 01-works" in text and "## 2. Exercise 02-differs" in text
    assert "**Did not run**: " in text
    assert "These figures are estimates, not measurements" in text
    assert "## How these figures were taken" in text and "scripted: greencode.testing" in text


def test_markdown_report_links_its_plots_beside_it(lesson: Lesson, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    text = write_report(lesson, tmp_path / "lesson.md").read_text(encoding="utf-8")
    assert "![Exercise 01-works: energy per call](lesson-plots/01-works.png)" in text
    assert (tmp_path / "lesson-plots" / "01-works.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "lesson-plots" / "02-differs.png").exists()


def test_html_report_is_one_file_with_embedded_plots(lesson: Lesson, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    text = write_report(lesson, tmp_path / "lesson.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert text.count('src="data:image/png;base64,') == 1
    assert "<strong>These figures are estimates, not measurements</strong>" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "lesson",
        "lesson.html",
    ]  # nothing written beside it


def test_without_matplotlib_the_report_says_how_to_get_plots(
    lesson: Lesson, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a)
    )
    text = write_report(lesson, tmp_path / "lesson.md").read_text(encoding="utf-8")
    assert "pip install 'greencode[plot]'" in text and "![" not in text
    assert not (tmp_path / "lesson-plots").exists()


def test_a_report_must_be_markdown_or_html(lesson: Lesson, tmp_path: Path) -> None:
    with pytest.raises(GreencodeError, match=r"must end in \.md or \.html"):
        write_report(lesson, tmp_path / "lesson.pdf")


# ---------------------------------------------------------------------------------------------------------
# the command line


def test_classroom_list_shows_each_exercise_with_its_tactic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classroom", "list", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    for exercise in EXERCISES:
        assert re.search(rf"^{re.escape(exercise.name)}\s+{exercise.tactic}\s+", out, re.MULTILINE)


def test_classroom_run_exits_1_when_an_exercise_fails(
    lesson: Lesson, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.md"
    assert main(["classroom", "run", str(tmp_path / "lesson"), "--quick", "--output", str(report)]) == 1
    out = capsys.readouterr().out
    assert "02-differs" in out and "error: the candidates return different results" in out
    assert report.is_file()


def test_classroom_run_quick_over_the_examples_writes_an_honest_html_report(tmp_path: Path) -> None:
    result = run_greencode("classroom", "run", str(EXAMPLES), "--quick", "--output", "out.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "The figures are estimates" in result.stdout
    text = (tmp_path / "out.html").read_text(encoding="utf-8")
    for exercise in EXERCISES:
        assert exercise.title.replace("&", "&amp;") in text
    assert "These figures are estimates, not measurements" in text


def test_tactic_links_open_the_catalogue_of_the_checkout_offline(scripted: None, tmp_path: Path) -> None:
    checkout = tmp_path / "greencode"
    (checkout / "docs").mkdir(parents=True)
    (checkout / "docs" / "tactics.md").write_text("# Tactics\n", encoding="utf-8")
    make_exercise(checkout / "examples" / "classroom", "01-sum", SLOW, FAST)
    lesson = run_lesson(discover(checkout / "examples" / "classroom"), rounds=2)
    text = write_report(lesson, tmp_path / "out" / "lesson.md").read_text(encoding="utf-8")
    assert "](../greencode/docs/tactics.md#gt-lp-02)" in text and "https://" not in text


def test_classroom_run_refuses_an_unknown_report_suffix_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_exercise(tmp_path / "lesson", "01-sum", SLOW, FAST)
    assert main(["classroom", "run", str(tmp_path / "lesson"), "--output", str(tmp_path / "x.pdf")]) == 2
    err = capsys.readouterr().err
    assert "the report must end in .md or .html" in err and "[1/1]" not in err


# ---------------------------------------------------------------------------------------------------------
# the exercises shipped in the wheel, and `greencode classroom init`


def test_classroom_init_copies_the_shipped_exercises_into_a_new_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "lesson"
    assert main(["classroom", "init", str(target)]) == 0
    copied = discover(target)
    assert [e.name for e in copied] == [e.name for e in discover(EXAMPLES)]
    assert f"greencode classroom run {target}" in capsys.readouterr().out


def test_classroom_init_refuses_a_directory_that_holds_something(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["classroom", "init", str(tmp_path)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_classroom_list_without_a_checkout_lists_the_shipped_exercises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no examples/classroom here
    assert main(["classroom", "list"]) == 0
    assert "01-membership" in capsys.readouterr().out


def test_the_wheel_carries_the_exercises_where_the_package_looks_for_them(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    from greencode.classroom.packaged import PACKAGED

    root = Path(__file__).parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("greencode-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    inside = PACKAGED.relative_to(root / "greencode").as_posix()
    for exercise in discover(EXAMPLES):
        assert f"greencode/{inside}/{exercise.name}/exercise.toml" in names
