"""The callgrind dump parser: headers, name compression, call costs, summaries, perf maps."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.errors import CounterError
from greencode.meters.callgrind import (
    counts_from_events,
    dump_files,
    function_costs,
    parse_dump,
    parse_perf_map,
    python_functions,
    read_summary,
    serve,
    short_function_name,
)

DUMP = """\
# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 42
cmd:  /usr/bin/python3.11 t.py
part: 1

desc: I1 cache: 32768 B, 64 B, 8-way associative
desc: Trigger: Client Request: greencode-3

positions: line
events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
summary: 1000 300 200 4 10 5 1 2 3

ob=(1) /usr/bin/python3.11
fl=(1) Python/ceval.c
fn=(1) _PyEval_EvalFrameDefault
16 600 200 100 2 5 2 1 1 1
+2 100
cfl=(2) Objects/obmalloc.c
cfn=(2) PyObject_Free
calls=3 739
0 250 80 90 2 5 3 0 1 2

fl=(2)
fn=(2)
739 250 80 90 2 5 3 0 1 2
fn=(3) f'2
* 50 20 10

totals: 1000 300 200 4 10 5 1 2 3
"""


def test_events_and_totals_come_from_the_header() -> None:
    dump = parse_dump(DUMP)
    assert dump.events[:3] == ("Ir", "Dr", "Dw")
    assert dump.total("Ir") == 1000
    assert dump.trigger == "Client Request: greencode-3"


def test_self_costs_exclude_the_inclusive_cost_of_calls() -> None:
    dump = parse_dump(DUMP)
    assert dump.self_costs["Python/ceval.c:_PyEval_EvalFrameDefault"][0] == 700
    assert dump.self_costs["Objects/obmalloc.c:PyObject_Free"][0] == 250


def test_call_costs_are_credited_to_the_called_function() -> None:
    assert parse_dump(DUMP).call_costs["Objects/obmalloc.c:PyObject_Free"][0] == 250


def test_recursion_levels_are_one_function() -> None:
    assert parse_dump(DUMP).self_costs["Objects/obmalloc.c:f"][0] == 50


def test_named_counts_sum_callgrind_events() -> None:
    dump = parse_dump(DUMP)
    assert counts_from_events(dump.events, dump.totals) == {
        "instructions": 1000,
        "d1_misses": 15,
        "ll_misses": 6,
    }


def test_counts_without_cache_simulation_leave_misses_out() -> None:
    assert counts_from_events(("Ir",), (77,)) == {"instructions": 77}


def test_a_name_used_before_its_definition_is_an_error() -> None:
    with pytest.raises(CounterError, match=r"name \(9\) is used before it is defined"):
        parse_dump("events: Ir\nfn=(9)\n1 5\n")


def test_a_file_that_is_not_a_dump_is_an_error_naming_it() -> None:
    with pytest.raises(CounterError, match=r"notes\.txt:1: not callgrind's format"):
        parse_dump("hello\n", "notes.txt")


def test_more_costs_than_events_is_an_error() -> None:
    with pytest.raises(CounterError, match="more costs than events"):
        parse_dump("events: Ir\nfn=(1) f\n1 5 6\n", "d")


def test_missing_totals_are_the_sum_of_the_functions() -> None:
    assert parse_dump("events: Ir\nfn=(1) f\n1 5\nfn=(2) g\n1 6\n").totals == (11,)


def test_read_summary_reads_only_the_header(tmp_path: Path) -> None:
    path = tmp_path / "callgrind.out.42.1"
    path.write_text(DUMP.replace("fn=(3) f'2", "this line would not parse"))
    events, totals = read_summary(path)
    assert (events[0], totals[0]) == ("Ir", 1000)


def test_dump_files_lists_numbered_dumps_of_one_process_in_order(tmp_path: Path) -> None:
    for name in ("out.42.10", "out.42.2", "out.42", "out.43.1", "out.42.x"):
        (tmp_path / name).write_text("")
    assert [n for n, _ in dump_files(tmp_path / "out.%p", 42)] == [2, 10]


def test_perf_map_names_trampoline_addresses_as_python_functions() -> None:
    perf_map = parse_perf_map("1000 10 py::factor:/src/recipes.py\n2000 8 py::<module>:t.py\nbad line\n")
    calls = {"???:0x0000000000001004": (70,), "???:0x0000000000002000": (5,), "a.c:g": (9,)}
    assert python_functions(calls, perf_map) == {"/src/recipes.py:factor": (70,), "t.py:<module>": (5,)}


def test_function_costs_keep_the_largest() -> None:
    assert list(function_costs(parse_dump(DUMP), None, top=1)) == ["Python/ceval.c:_PyEval_EvalFrameDefault"]


def test_short_function_name_keeps_the_last_path_parts() -> None:
    assert short_function_name("/tmp/build/Python-3.11/Objects/obmalloc.c:PyObject_Free") == (
        "Objects/obmalloc.c:PyObject_Free"
    )


def test_the_helper_answers_with_functions_and_deletes_the_dump(tmp_path: Path) -> None:
    dump = tmp_path / "callgrind.out.1.1"
    dump.write_text(DUMP)
    answers: list[str] = []
    serve([f'{{"dump": "{dump}", "perf_map": null, "top": 5}}\n'], answers.append)
    assert '"Objects/obmalloc.c:PyObject_Free": 250' in answers[0]
    assert not dump.exists()


def test_the_helper_reports_a_bad_dump_as_an_error(tmp_path: Path) -> None:
    dump = tmp_path / "callgrind.out.1.1"
    dump.write_text("nonsense\n")
    answers: list[str] = []
    serve([f'{{"dump": "{dump}", "perf_map": null, "top": 5}}\n'], answers.append)
    assert '"error"' in answers[0]


# --- round trip: any costs written in callgrind's compressed format parse back to the same numbers

_names = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)


@given(
    st.dictionaries(
        st.tuples(_names, _names),
        st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10**9)), min_size=1, max_size=4),
        min_size=1,
        max_size=8,
    ),
    st.booleans(),
)
def test_costs_written_in_callgrind_format_parse_back(
    functions: dict[tuple[str, str], list[tuple[int, int]]], with_totals: bool
) -> None:
    lines = ["# callgrind format", "events: Ir", "positions: line"]
    files: dict[str, int] = {}
    names: dict[str, int] = {}
    expected: dict[str, int] = {}
    for (file, function), costs in functions.items():
        for kind, name, table in (("fl", file, files), ("fn", function, names)):
            if name in table:
                lines.append(f"{kind}=({table[name]})")
            else:
                table[name] = len(table) + 1
                lines.append(f"{kind}=({table[name]}) {name}")
        for line_number, cost in costs:
            lines.append(f"{line_number} {cost}")
        key = f"{file}:{function}"
        expected[key] = expected.get(key, 0) + sum(cost for _, cost in costs)
    if with_totals:
        lines.append(f"totals: {sum(expected.values())}")
    dump = parse_dump("\n".join(lines) + "\n")
    assert {key: costs[0] for key, costs in dump.self_costs.items()} == expected
    assert dump.totals == (sum(expected.values()),)
