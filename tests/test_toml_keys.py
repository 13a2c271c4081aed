"""Setting calibrated keys in a user's TOML file: only those keys change, the rest stays byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greencode.config import parse_toml
from greencode.errors import ConfigError
from greencode.toml_keys import UnsafeEdit, block, set_keys, write_keys

TABLE = ("tool", "greencode", "instructions")
VALUES = {"joules_per_instruction": 2.5e-10, "joules_per_ll_miss": 1.2e-8}

PYPROJECT = """\
[project]
name = "demo"  # keep this comment

[tool.greencode]
meter = "auto"

[tool.greencode.instructions]
# calibrated on the lab machine
joules_per_instruction = 1e-10   # old figure
backend = "perf"

[tool.ruff]
line-length = 100
"""


def edit(text: str, table: tuple[str, ...] = TABLE) -> str:
    return set_keys(text, table, VALUES, "pyproject.toml")


def test_replaces_an_existing_key_and_keeps_its_comment() -> None:
    edited = edit(PYPROJECT)
    assert "joules_per_instruction = 2.500000e-10   # old figure\n" in edited
    assert parse_toml(edited, "x")["tool"]["greencode"]["instructions"]["joules_per_instruction"] == 2.5e-10


def test_adds_a_missing_key_at_the_end_of_its_section() -> None:
    edited = edit(PYPROJECT)
    assert 'backend = "perf"\njoules_per_ll_miss = 1.200000e-08\n\n[tool.ruff]' in edited


def test_leaves_every_other_line_untouched() -> None:
    edited = edit(PYPROJECT)
    before = [line for line in PYPROJECT.splitlines() if "joules_per_instruction" not in line]
    after = [line for line in edited.splitlines() if "joules_per_" not in line]
    assert before == after


def test_appends_the_section_when_the_file_has_none() -> None:
    text = '[project]\nname = "demo"\n'
    edited = edit(text)
    assert edited == text + "\n" + block(TABLE, VALUES)


def test_a_file_without_a_final_newline_gets_one_before_the_new_section() -> None:
    assert edit('[project]\nname = "demo"').startswith(
        '[project]\nname = "demo"\n\n[tool.greencode.instructions]'
    )


def test_an_empty_file_gets_only_the_section() -> None:
    assert edit("", ("instructions",)) == block(("instructions",), VALUES)


def test_a_section_at_the_end_without_a_final_newline_is_extended() -> None:
    edited = edit('[tool.greencode.instructions]\nbackend = "perf"')
    assert parse_toml(edited, "x")["tool"]["greencode"]["instructions"] == {"backend": "perf", **VALUES}


def test_an_inline_table_is_refused_and_nothing_is_returned() -> None:
    text = '[tool.greencode]\ninstructions = { backend = "perf" }\n'
    with pytest.raises(UnsafeEdit, match="without rewriting other parts of the file"):
        edit(text)


def test_dotted_keys_are_refused() -> None:
    text = "[tool.greencode]\ninstructions.joules_per_instruction = 1e-10\n"
    with pytest.raises(UnsafeEdit):
        edit(text)


def test_invalid_toml_is_a_config_error_naming_the_file() -> None:
    with pytest.raises(ConfigError, match=r"pyproject\.toml: not valid TOML"):
        edit("[tool.greencode\n")


def test_write_keys_edits_the_file_atomically_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    os.chmod(path, 0o600)
    write_keys(path, TABLE, VALUES)
    assert (
        parse_toml(path.read_text(), "x")["tool"]["greencode"]["instructions"]["joules_per_ll_miss"] == 1.2e-8
    )
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["pyproject.toml"]  # no temporary file left behind


def test_write_keys_leaves_a_file_it_cannot_edit_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "greencode.toml"
    text = 'instructions = { backend = "perf" }\n'
    path.write_text(text)
    with pytest.raises(UnsafeEdit):
        write_keys(path, ("instructions",), VALUES)
    assert path.read_text() == text


def test_write_keys_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "greencode.toml"
    write_keys(path, ("instructions",), VALUES)
    assert parse_toml(path.read_text(), "x") == {"instructions": VALUES}


def test_values_are_written_to_six_significant_digits() -> None:
    edited = set_keys("", ("instructions",), {"joules_per_instruction": 1.23456789e-10}, "greencode.toml")
    assert edited == "[instructions]\njoules_per_instruction = 1.234568e-10\n"
