"""Shortened node ids: the terminal table's column and plot labels share one shortener."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from greencode.names import shorten, shorten_distinct, shorten_names


@example(node_id=":[:[:[:[:[:[/", width=12)  # a path ending in "/" has no file name to keep
@given(
    node_id=st.text(alphabet="abc_/.:[]-", min_size=1, max_size=150),
    width=st.integers(min_value=12, max_value=120),
)
def test_a_shortened_node_id_fits_its_column_and_keeps_its_end(node_id: str, width: int) -> None:
    short = shorten(node_id, width)
    assert len(short) <= width
    if len(node_id) <= width:
        assert short == node_id
    else:
        assert "…" in short and short[-3:] == node_id[-3:]


def test_directories_go_before_the_test_names_middle() -> None:
    node_id = "tests/unit/test_io.py::test_reading_a_large_file_in_chunks[utf-8]"
    assert shorten(node_id, 40) == "…/test_io.py::test_reading_…hunks[utf-8]"


def test_long_names_lose_directories_then_modules_then_their_middle() -> None:
    names = ["tests/unit/test_io.py::test_read", "tests/unit/test_db.py::test_read", "a" * 60]
    short = shorten_names(names, width=20)
    assert short[0] == "test_io.py…test_read"
    assert len(short[2]) == 20 and short[2].count("…") == 1
    assert len(set(short)) == 3


def test_names_are_shortened_alike_when_one_is_too_long() -> None:
    names = ["tests/test_a.py::test_short", "tests/test_a.py::test_" + "x" * 50]
    short = shorten_names(names, width=30)
    assert short[0] == "test_short"
    assert short[1].startswith("test_x") and len(short[1]) == 30


def test_a_name_keeps_its_module_when_another_test_has_the_same_function_name() -> None:
    names = ["tests/test_a.py::test_read", "tests/test_b.py::test_read", "tests/test_a.py::test_" + "x" * 40]
    assert shorten_names(names, width=30)[:2] == ["test_a.py::test_read", "test_b.py::test_read"]


def test_short_names_are_left_alone() -> None:
    assert shorten_names(["tests/test_a.py::test_x"], width=40) == ["tests/test_a.py::test_x"]


def test_module_is_dropped_when_the_rest_is_unique() -> None:
    assert shorten_names(["tests/test_a.py::TestLong::test_x"], width=20) == ["TestLong::test_x"]


@example(node_ids=["a" * 30 + "x #1", "a" * 30 + "y", "a" * 30 + "z"], width=12)
@given(
    node_ids=st.lists(st.text(alphabet="ab/:[]# 1-", min_size=1, max_size=80), unique=True, max_size=30),
    width=st.integers(min_value=12, max_value=60),
)
def test_distinct_node_ids_keep_distinct_labels_within_the_width(node_ids: list[str], width: int) -> None:
    labels = shorten_distinct(node_ids, width)
    assert len(set(labels)) == len(node_ids)
    assert all(len(label) <= width for label in labels)


def test_ids_that_shorten_alike_keep_their_ends_where_they_differ() -> None:
    node_ids = [
        f"tests/test_spec.py::test_valid_decode[qa-scalar-{kind}-multiline-40kb1]" for kind in ("a", "b")
    ]
    assert shorten(node_ids[0], 40) == shorten(node_ids[1], 40)
    assert shorten_distinct(node_ids, 40) == [
        "…lid_decode[qa-scalar-a-multiline-40kb1]",
        "…lid_decode[qa-scalar-b-multiline-40kb1]",
    ]


def test_ids_that_shorten_alike_even_by_their_ends_are_numbered() -> None:
    node_ids = ["x" * 50 + "::test_a" + "y" * 50, "x" * 50 + "::test_b" + "y" * 50]
    labels = shorten_distinct(node_ids, 20)
    assert [label[-3:] for label in labels] == [" #1", " #2"]
    assert labels[0][:-3] == labels[1][:-3] and len(labels[0]) == 20
