"""The default output needs evidence that a loop is as long as an input (greencode.tactics.sizes): loops
over parameters, over what was read, over what was derived from those; not over an object's own
attributes, literals or one split string's parts. Also the rules that changed with it (GRN002's stack at
the front, GRN003's `del x[0]`, GRN001's list made from the pass's own data, GRN010 and GRN025's
arguments), and round 5's parameters named for one small item."""

from __future__ import annotations

import ast
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from greencode.tactics.scanner import Finding, scan_source
from greencode.tactics.sizes import (
    SCALAR_WORDS,
    class_hierarchy,
    input_names,
    loop_is_sized,
    scalar_like,
)


def findings(code: str, rule: str) -> list[Finding]:
    return [f for f in scan_source(textwrap.dedent(code), "pkg/module.py") if f.rule == rule]


def shown(code: str, rule: str) -> list[Finding]:
    return [f for f in findings(code, rule) if f.shown_by_default]


def names_of(code: str) -> frozenset[str]:
    function = ast.parse(textwrap.dedent(code)).body[0]
    return input_names(function)


def first_loop(code: str) -> tuple[ast.AST, frozenset[str]]:
    function = ast.parse(textwrap.dedent(code)).body[0]
    loop = next(n for n in ast.walk(function) if isinstance(n, (ast.For, ast.While, ast.ListComp)))
    return loop, input_names(function)


# -- what holds input ----------------------------------------------------------------------------------


def test_parameters_hold_input_but_self_args_and_kwargs_do_not() -> None:
    names = names_of("def f(self, items, *args, data=None, **options):\n    pass\n")
    assert names == {"items", "data"}


def test_a_name_bound_from_a_parameter_holds_input() -> None:
    names = names_of("def f(text):\n    lines = text.splitlines()\n    upper = [w.upper() for w in lines]\n")
    assert {"lines", "upper"} <= names


def test_the_parts_of_one_split_string_are_not_input_sized() -> None:
    names = names_of("def f(line):\n    fields = line.split(',')\n")
    assert "fields" not in names


def test_a_texts_lines_split_at_newlines_are_input_sized() -> None:
    names = names_of("def f(text):\n    lines = text.split('\\n')\n")
    assert "lines" in names


def test_what_a_function_reads_is_input_even_without_parameters() -> None:
    names = names_of("def f():\n    data = open('x').read()\n    rows = data.splitlines()\n")
    assert {"data", "rows"} <= names


def test_a_list_grown_in_a_loop_over_input_holds_input() -> None:
    names = names_of("def f(items):\n    out = []\n    for i in items:\n        out.append(i)\n")
    assert "out" in names


def test_a_list_grown_in_a_loop_over_an_attribute_does_not() -> None:
    code = (
        "def f(self, text):\n    out = []\n    for style in self.styles:\n"
        "        out.append(parse(text, style))\n"
    )
    assert "out" not in names_of(code)


def test_a_name_bound_from_input_after_its_use_is_found_by_the_fixed_point() -> None:
    code = "def f(items):\n    queue = []\n    while queue:\n        queue.pop()\n    queue.extend(items)\n"
    assert "queue" in names_of(code)


# -- which loops are sized -----------------------------------------------------------------------------


def test_a_loop_over_an_attribute_of_self_is_not_sized() -> None:
    loop, names = first_loop("def f(self):\n    for field in self.fields:\n        pass\n")
    assert not loop_is_sized(loop, names)


def test_a_while_loop_whose_condition_reads_a_parameter_is_sized() -> None:
    loop, names = first_loop("def f(n):\n    i = 0\n    while i < n:\n        i += 1\n")
    assert loop_is_sized(loop, names)


def test_a_while_true_loop_that_reads_input_is_sized() -> None:
    loop, names = first_loop(
        "def f(text):\n    while True:\n        m = find(text)\n        if not m:\n            break\n"
    )
    assert loop_is_sized(loop, names)


def test_a_while_true_loop_reading_only_attributes_is_not_sized() -> None:
    loop, names = first_loop("def f(self):\n    while True:\n        if self.done:\n            break\n")
    assert not loop_is_sized(loop, names)


def test_a_worklist_loop_is_sized_whatever_it_started_from() -> None:
    code = (
        "def f(self):\n    todo = [self.root]\n    while todo:\n        n = todo.pop()\n"
        "        todo.extend(n.kids)\n"
    )
    loop, names = first_loop(code)
    assert loop_is_sized(loop, names)


def test_a_while_loop_that_only_drains_an_attribute_list_is_not_sized() -> None:
    code = "def f(self):\n    todo = list(self.pending)\n    while todo:\n        todo.pop()\n"
    loop, names = first_loop(code)
    assert not loop_is_sized(loop, names)


# -- the default output ------------------------------------------------------------------------------


POP_OVER_ATTRIBUTE = """
def bind(self, args):
    for name in self.names:
        self.locals[name] = args.pop(0)
"""


def test_pop_front_per_attribute_item_is_left_to_all() -> None:
    (finding,) = findings(POP_OVER_ATTRIBUTE, "GRN003")
    assert not finding.shown_by_default
    assert "nothing shows to be as long as an input" in finding.why


def test_pop_front_draining_a_parameter_is_shown() -> None:
    code = "def drain(items):\n    queue = list(items)\n    while queue:\n        queue.pop(0)\n"
    assert shown(code, "GRN003")


def test_sleep_polling_needs_no_input_to_matter() -> None:
    code = "import time\ndef wait(self):\n    while not self.ready:\n        time.sleep(0.1)\n"
    assert shown(code, "GRN008")


def test_any_over_a_literal_string_is_left_to_all() -> None:
    code = "def ops(path):\n    return any([o in path for o in '+-/%'])\n"
    (finding,) = findings(code, "GRN010")
    assert not finding.shown_by_default


def test_any_over_a_parameter_is_shown() -> None:
    assert shown("def has(items):\n    return any([i > 0 for i in items])\n", "GRN010")


def test_sorted_for_one_item_of_per_option_results_is_left_to_all() -> None:
    code = """
    def best(self, text):
        results = []
        for style in self.styles:
            results.append(style(text))
        return sorted(results, key=len)[0]
    """
    (finding,) = findings(code, "GRN025")
    assert not finding.shown_by_default


def test_sorted_for_one_item_of_a_parameter_is_shown() -> None:
    assert shown("def smallest(items):\n    return sorted(items)[0]\n", "GRN025")


# -- GRN002: a list grown at the front in a loop over input; a stack kept at the front ------------------


def test_insert_front_in_one_plain_loop_over_a_parameter_is_shown() -> None:
    code = (
        "def backwards(items):\n    out = []\n    for i in items:\n        out.insert(0, i)\n    return out\n"
    )
    assert shown(code, "GRN002")


def test_insert_front_walking_one_chain_stays_left_to_all() -> None:
    code = (
        "def path(node):\n    out = []\n    while node:\n        out.insert(0, node)\n"
        "        node = node.parent\n"
    )
    assert findings(code, "GRN002") and not shown(code, "GRN002")


STACK_AT_FRONT = """
def render(tokens):
    scopes = [{}]
    for tag, key in tokens:
        if tag == "end":
            del scopes[0]
        else:
            scopes.insert(0, key)
"""


def test_a_stack_kept_at_the_front_is_left_to_all() -> None:
    (finding,) = findings(STACK_AT_FRONT, "GRN002")
    assert not finding.shown_by_default


def test_a_list_taken_from_at_the_end_is_no_stack_at_the_front() -> None:
    code = STACK_AT_FRONT.replace("del scopes[0]", "scopes.pop()")
    assert shown(code, "GRN002")


# -- GRN003: del x[0] ----------------------------------------------------------------------------------


def test_del_first_item_in_a_loop_over_input_is_flagged() -> None:
    code = "def consume(text):\n    lines = text.split('\\n')\n    while lines:\n        del lines[0]\n"
    (finding,) = shown(code, "GRN003")
    assert finding.message.startswith("`del x[0]`")


def test_del_first_item_outside_a_loop_is_not_flagged() -> None:
    assert not findings("def drop(items):\n    del items[0]\n", "GRN003")


def test_del_another_item_in_a_loop_is_not_flagged() -> None:
    assert not findings("def drop(items):\n    while items:\n        del items[1]\n", "GRN003")


def test_del_first_item_followed_by_break_runs_once_and_is_not_flagged() -> None:
    code = "def drop(items):\n    for i in range(len(items)):\n        del items[0]\n        break\n"
    assert not findings(code, "GRN003")


# -- GRN001: a list made in the test from this pass's own data ----------------------------------------


def test_membership_in_a_list_made_from_this_pass_is_not_flagged() -> None:
    code = """
    def covered(scope):
        while scope:
            branches = scope.branches
            if id(scope.child) in [id(b) for b in branches]:
                break
            scope = scope.child
    """
    assert not findings(code, "GRN001")


def test_membership_in_a_list_made_from_loop_invariant_data_is_flagged() -> None:
    code = """
    def known(lookups, names):
        for n in lookups:
            if n in [m.lower() for m in names]:
                yield n
    """
    assert findings(code, "GRN001")


# -- round 5: parameters named for one small item ------------------------------------------------------

DIGITS_OF_ONE_NUMBER = """
def to_words(num_str):
    words = []
    for digit in reversed(num_str):
        words.insert(0, DIGITS[int(digit)])
    return words
"""


def test_a_parameter_named_for_one_small_item_is_not_input() -> None:
    assert "num_str" not in names_of("def f(num_str, key, date, doc):\n    pass\n")


def test_insert_front_per_digit_of_one_number_is_left_to_all() -> None:
    (finding,) = findings(DIGITS_OF_ONE_NUMBER, "GRN002")
    assert not finding.shown_by_default
    assert "nothing shows to be as long as an input" in finding.why


def test_insert_front_per_item_of_a_plural_parameter_is_shown() -> None:
    # near miss: ``nums`` names a collection, not one number
    assert shown(DIGITS_OF_ONE_NUMBER.replace("num_str", "nums"), "GRN002")


def test_a_regex_per_line_of_a_text_parameter_is_still_shown() -> None:
    code = "import re\ndef f(text):\n    for line in text.splitlines():\n        re.match('a+', line)\n"
    assert shown(code, "GRN007")


def test_a_scalar_word_inside_another_word_does_not_count() -> None:
    # ``keyword``, ``modpath``, ``strings``: only whole ``_``-separated words mark one item
    assert not any(scalar_like(name) for name in ("keywords", "modpath", "strings", "values", "datestr"))


def test_a_scalar_word_as_any_part_of_a_name_counts() -> None:
    assert all(scalar_like(name) for name in ("num_str", "module_path", "entity", "raw_Value", "sig_"))


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@given(st.lists(_WORD, min_size=1, max_size=4), st.sampled_from(sorted(SCALAR_WORDS)), st.integers(0, 4))
def test_a_name_is_scalar_like_exactly_when_one_of_its_words_is_a_scalar_word(
    words: list[str], scalar: str, at: int
) -> None:
    plain = [w for w in words if w not in SCALAR_WORDS] or ["items"]
    assert not scalar_like("_".join(plain))
    assert scalar_like("_".join([*plain[:at], scalar, *plain[at:]]))


# -- round 6: one class's hierarchy, and tests kept inside a module --------------------------------------

FIND_HANDLER = """
import re
def find_handler(handlers, node):
    classes = [node.__class__]
    while classes:
        cls = classes.pop(0)
        name = re.sub('[A-Z]', '_', cls.__name__)
        if name in handlers:
            return handlers[name]
        for base in cls.__bases__:
            if base not in classes:
                classes.append(base)
"""


def test_a_walk_of_one_class_hierarchy_is_left_to_all() -> None:
    found = [f for f in scan_source(textwrap.dedent(FIND_HANDLER), "pkg/module.py")]
    assert {f.rule for f in found} >= {"GRN001", "GRN003", "GRN007"}
    assert not any(f.shown_by_default for f in found)


def test_a_worklist_grown_from_a_graphs_neighbours_is_still_shown() -> None:
    # near miss: the same walk over a graph's edges, as long as the graph
    code = FIND_HANDLER.replace("[node.__class__]", "[node]").replace("cls.__bases__", "graph[cls]")
    code = code.replace("handlers, node", "handlers, graph, node")
    assert shown(code, "GRN003")


def test_class_hierarchy_expressions_are_one_class_or_its_ancestors() -> None:
    for source in ("type(x)", "x.__class__", "c.__bases__", "c.__mro__", "c.mro()", "c.py__mro__()"):
        assert class_hierarchy(ast.parse(source, mode="eval").body), source
    for source in ("c.bases", "c.classes", "type(x, y, z)", "c.subclasses()"):
        assert not class_hierarchy(ast.parse(source, mode="eval").body), source


def test_membership_in_one_class_mro_is_not_flagged() -> None:
    code = """
    def isinstance_all(objects, types):
        for o in objects:
            mro = list(type(o).__mro__)
            for t in types:
                if t in mro:
                    yield o
    """
    assert not findings(code, "GRN001")


def test_membership_in_a_list_of_the_items_is_still_flagged() -> None:
    # near miss: the list holds the caller's items, not one class's ancestors
    code = """
    def common(objects, types):
        seen = list(objects)
        for o in objects:
            for t in types:
                if t in seen:
                    yield o
    """
    assert shown(code, "GRN001")


TEST_IN_MODULE = """
def parse(text):
    return text
class TestParse:
    def test_lines(self):
        for line in open('sample.txt').readlines():
            assert line in [parse(x) for x in open('other.txt')]
"""


def test_a_test_method_kept_in_a_module_is_low_impact() -> None:
    (finding,) = findings(TEST_IN_MODULE, "GRN001")
    assert finding.impact == "low" and not finding.shown_by_default
    assert "a test kept inside the module" in finding.why


def test_a_test_named_method_of_a_product_class_is_not_a_test() -> None:
    # near miss: pytest collects `test*` only from classes named `Test*`
    (finding,) = findings(TEST_IN_MODULE.replace("class TestParse", "class Parse"), "GRN001")
    assert finding.shown_by_default


def test_a_helper_of_a_test_class_is_not_a_test() -> None:
    # near miss: a method not named `test*` is not collected
    (finding,) = findings(TEST_IN_MODULE.replace("def test_lines", "def lines"), "GRN001")
    assert finding.shown_by_default
