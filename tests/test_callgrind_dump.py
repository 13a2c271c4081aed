"""The callgrind dump parser: headers, name compression, call costs, summaries, perf maps."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greencode.errors import CounterError
from greencode.meters.callgrind import (
    Dump,
    PerfMaps,
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
    dump = Dump(("Ir",), (84,), call_costs=calls)
    assert python_functions(dump, perf_map) == {"/src/recipes.py:factor": (70,), "t.py:<module>": (5,)}


# --- Python functions through CPython 3.12's perf trampoline, callers separated (--separate-callers)

PERF_MAP = "1000 b py::test_factor:/t/test_r.py\n2000 b py::factor:/t/r.py\n3000 b py::fib:/t/r.py\n"
F, G, R = "0x0000000000001000", "0x0000000000002000", "0x0000000000003000"
EVAL = "'py_trampoline_evaluator'_PyEval_Vector'_PyEval_EvalFrameDefault'"


def trampoline_dump(*calls: tuple[str, str, int]) -> str:
    """A dump whose ``calls`` are (caller, callee with its caller chain, inclusive cost)."""
    lines = ["events: Ir", "ob=(1) /usr/bin/python3.12", "fl=(1) ???"]
    for caller, callee, cost in calls:
        lines += [f"fn={caller}", "0 1", f"cfn={callee}", "calls=1 0", f"0 {cost}"]
    return "\n".join(lines) + "\n"


def own_costs(text: str) -> dict[str, int]:
    found = python_functions(parse_dump(text), parse_perf_map(PERF_MAP))
    return {key: costs[0] for key, costs in found.items()}


def test_a_python_functions_own_cost_leaves_out_the_python_functions_it_called() -> None:
    text = trampoline_dump(
        ("pytest_pyfunc_call", F, 1000),
        ("py_trampoline_evaluator", f"{G}{EVAL}{F}", 700),
    )
    assert own_costs(text) == {"/t/test_r.py:test_factor": 300, "/t/r.py:factor": 700}


def test_a_recursive_function_counts_its_own_work_once() -> None:
    text = trampoline_dump(
        ("pytest_pyfunc_call", R, 1000),
        ("py_trampoline_evaluator", f"{R}'2{EVAL}{R}", 600),
        ("py_trampoline_evaluator", f"{R}'3{EVAL}{R}'2", 250),
    )
    assert own_costs(text) == {"/t/r.py:fib": 1000}


def test_a_call_whose_caller_chain_reaches_no_trampoline_stays_in_its_caller() -> None:
    text = trampoline_dump(
        ("pytest_pyfunc_call", F, 1000),
        ("list_sort", f"{G}'py_trampoline_evaluator'list_sort'cfunction_call", 700),
    )
    assert own_costs(text)["/t/test_r.py:test_factor"] == 1000


def test_a_caller_without_a_call_line_of_its_own_is_never_negative() -> None:
    text = trampoline_dump(("py_trampoline_evaluator", f"{G}{EVAL}{F}", 700))
    assert own_costs(text) == {"/t/r.py:factor": 700}


def test_function_costs_list_python_functions_first_and_trampolines_not_as_c_functions() -> None:
    text = trampoline_dump(("pytest_pyfunc_call", F, 10)) + "fn=(9) _PyEval_EvalFrameDefault\n0 5000\n"
    functions = function_costs(parse_dump(text), parse_perf_map(PERF_MAP), top=5)
    assert list(functions) == [
        "/t/test_r.py:test_factor",
        "python3.12:_PyEval_EvalFrameDefault",
        "python3.12:pytest_pyfunc_call",
    ]


def test_python_files_under_the_project_root_are_named_relative_to_it() -> None:
    text = trampoline_dump(("pytest_pyfunc_call", G, 10))
    assert python_functions(parse_dump(text), parse_perf_map(PERF_MAP), Path("/t")) == {"r.py:factor": (10,)}


def test_a_callers_context_is_one_function_in_the_self_costs() -> None:
    dump = parse_dump(f"events: Ir\nfn=(1) {G}{EVAL}{F}\n0 5\nfn=(2) {G}'other'caller\n0 6\n")
    assert dump.self_costs == {f"???:{G}": (11,)}


def test_a_perf_map_is_read_again_only_where_it_grew(tmp_path: Path) -> None:
    path = tmp_path / "perf-1.map"
    path.write_text("1000 b py::f:/a.py\n2000 b py::g:/a")  # the last line is still being written
    maps = PerfMaps()
    assert maps.read(path) == [(0x1000, 0xB, "py::f:/a.py")]
    with path.open("a") as handle:
        handle.write(".py\n")
    assert maps.read(path) == [(0x1000, 0xB, "py::f:/a.py"), (0x2000, 0xB, "py::g:/a.py")]


def test_a_perf_map_is_read_from_where_this_process_lines_begin(tmp_path: Path) -> None:
    path = tmp_path / "perf-1.map"
    dead = "1000 b py::stale:/dead.py\n"  # left by a process that had this pid before
    path.write_text(dead + "1000 b py::f:/a.py\n")
    assert PerfMaps().read(path, len(dead)) == [(0x1000, 0xB, "py::f:/a.py")]


def test_a_missing_perf_map_reads_as_none(tmp_path: Path) -> None:
    assert PerfMaps().read(tmp_path / "perf-1.map") is None


_map_names = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1)


@given(
    st.lists(st.tuples(st.integers(0, 2**48), st.integers(0, 2**16), _map_names), max_size=20),
    st.lists(st.sampled_from(["", "junk", "12 zz name", "1 2", "g 1 name"]), max_size=5),
)
def test_perf_map_lines_parse_back_and_other_lines_are_skipped(
    entries: list[tuple[int, int, str]], junk: list[str]
) -> None:
    lines = [f"{start:x} {size:x} {name}" for start, size, name in entries] + junk
    assert parse_perf_map("\n".join(lines)) == sorted(entries)


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
