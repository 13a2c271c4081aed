"""The one JSON reader and schema-version check every greencode file format goes through
(:mod:`greencode.documents`): whatever a file holds, the answer is a document or one StoreError naming it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.documents import check_schema, check_version, read_document, read_json
from greencode.errors import StoreError

SUPPORTED = 3
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(st.integers(min_value=1, max_value=SUPPORTED))
def test_a_supported_version_is_returned(version: int) -> None:
    assert check_version({"version": version}, SUPPORTED, "f.json", "baseline", "save again") == version


@given(JSON_VALUES.filter(lambda v: not (type(v) is int and v >= 1)))
def test_anything_but_a_whole_number_from_one_is_no_valid_version(version: Any) -> None:
    with pytest.raises(StoreError, match=r"^f\.json: baseline has no valid 'version' .*; save again$"):
        check_version({"version": version}, SUPPORTED, "f.json", "baseline", "save again")


def test_a_missing_version_is_no_valid_version() -> None:
    with pytest.raises(StoreError, match=r"^f\.json: baseline has no valid 'version' \(version None"):
        check_version({}, SUPPORTED, "f.json", "baseline", "save again")


@given(st.integers(min_value=SUPPORTED + 1))
def test_a_newer_version_asks_for_an_upgrade(version: int) -> None:
    with pytest.raises(
        StoreError, match=rf"^f\.json: baseline version {version} is newer.*upgrade greencode$"
    ):
        check_version({"version": version}, SUPPORTED, "f.json", "baseline", "save again")


@given(JSON_VALUES.filter(lambda v: not isinstance(v, dict)))
def test_a_document_that_is_not_an_object_is_refused(data: Any) -> None:
    with pytest.raises(
        StoreError, match=r"^f\.json: not a greencode baseline \(expected a JSON object\); hint$"
    ):
        check_schema(data, "greencode-baseline", "f.json", "baseline", "hint")


@given(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3).filter(lambda d: d.get("schema") != "s"))
def test_a_document_of_another_schema_is_refused_saying_what_it_holds(data: dict[str, Any]) -> None:
    found = f"schema {data['schema']!r}" if "schema" in data else "no 'schema' key"
    with pytest.raises(StoreError) as caught:
        check_schema(data, "s", "f.json", "baseline", "hint")
    assert str(caught.value) == f"f.json: not a greencode baseline ({found}); hint"


@given(st.binary(max_size=64))
def test_whatever_bytes_a_file_holds_the_reader_answers_a_value_or_one_line_naming_the_file(
    content: bytes,
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input.json"
        path.write_bytes(content)
        try:
            read_json(path, "results file", "write it again")
        except StoreError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ")
            assert message.endswith("write it again")
            assert "\n" not in message


@pytest.mark.parametrize("text", ["NaN", '{"a": Infinity}', "[-Infinity]"])
def test_non_json_numbers_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(StoreError, match=r"which is not a number in JSON, so not a valid results file; fix$"):
        read_json(path, "results file", "fix")


def test_a_document_of_the_schema_and_a_supported_version_is_read(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"schema": "s", "version": 2, "x": 1}))
    assert read_document(path, "baseline", "s", SUPPORTED, "fix", "hint") == {
        "schema": "s",
        "version": 2,
        "x": 1,
    }


def test_a_missing_document_passes_file_not_found_to_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_document(tmp_path / "absent.json", "baseline", "s", SUPPORTED, "fix", "hint")
