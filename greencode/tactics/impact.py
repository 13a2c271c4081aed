"""How much a finding can matter, judged from where the code is.

The same pattern costs nothing in code that runs once and a lot in a loop over a large input. Without
running the code, the scanner estimates that from the code's place:

- ``high``: inside a function, in a loop whose size is unknown (a parameter, a file, a query result) or a
  ``while`` loop: the work repeats as often as the data allows. Some rules (``Rule.heavy_loops_only``) count
  only *heavy* loops as high: nested loops of unknown size, a ``while`` loop that does more than walk one
  chain (``loop_walks_chain``: ``node = node.parent``, as long as one path), or a loop over an input's
  elements (a text's lines, words or tokens, a stream, a document's nodes: ``loop_over_input``); in one plain
  loop their findings are mostly short in practice, so there they are of medium impact. No loop is heavy
  when one of them ends its body by leaving (``loop_scans_prefix``: it walks a prefix, such as a header's
  comment lines) or when the function runs once per object made (``__init__`` and friends: its loops walk
  one object's arguments). Loops of unknown size count only when one of them shows it is as long as an
  input (``place``'s ``sized``, :mod:`greencode.tactics.sizes`: its iterable or condition derives from a
  parameter or from what the function read); without that evidence the finding is of medium impact and
  ``unsized``;
- ``medium``: inside a function but not in such a loop (the cost is paid per call), in a loop over the
  parts of one split string (``s.split(",")``: a field list, usually short), in a loop that prints on every
  pass (bound by its output), or in a module-level loop over unknown data (paid once per import, but once
  per item);
- ``low``: code that runs once (module and class bodies, ``if __name__ == "__main__":``), loops over a
  handful of literal items or a small ``range()``, ``__repr__``/``__str__`` and friends, command-line entry
  points, setup scripts and version tooling, examples, docs and benchmarks, and vendored code (under
  ``_vendor/``, ``third_party/``...: a change belongs upstream).

Only loops that repeat the code count: a block that leaves the loop after one pass (``break``, ``return``,
``raise``) runs once per loop (``Context.repeating_loops``).

Tests and fixtures are a separate role: they are skipped unless asked for (``--include-tests``), because
their code measures or checks the product rather than being it (a formatter's fixtures never even run).

Each rule also caps the impact at what its tactic can save (squaring with ``x * x`` saves a few
nanoseconds, however hot) and carries a confidence: how often its pattern is what it looks like.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from greencode.tactics.sizes import opens_file

Level = Literal["high", "medium", "low"]
_RANK = {"high": 0, "medium": 1, "low": 2}

Role = Literal["code", "test", "script", "vendored"]

#: A ``range()`` up to this many steps, or a literal display up to this many items, is a small loop.
SMALL_LOOP_MAX = 32

#: Functions that run rarely or once: when an object is printed, or when a program starts.
_RARE_FUNCTIONS = frozenset(
    {
        "__repr__",
        "__str__",
        "__format__",
        "__rich_repr__",
        "_repr_html_",
        "_repr_pretty_",
        "main",
        "_main",
        "cli",
        "parse_args",
        "build_parser",
        "setup",
    }
)
_TEST_DIRS = frozenset({"test", "tests", "testing", "fixtures", "testdata", "test_data", "conftest"})
_SCRIPT_DIRS = frozenset(
    {"examples", "example", "docs", "doc", "scripts", "tools", "bin", "benchmarks", "bench", "cli"}
)
#: Directories of code copied in from another project: a change belongs upstream, not in the copy.
_VENDORED_DIRS = frozenset({"_vendor", "vendor", "vendored", "third_party", "thirdparty", "_vendored"})
#: Methods that run once per object made: their loops walk that one object's arguments or class body.
_SETUP_FUNCTIONS = frozenset({"__init__", "__post_init__", "__new__", "__init_subclass__", "__set_name__"})
_SCRIPT_FILES = frozenset(
    {
        "setup.py",
        "__main__.py",
        "cli.py",
        "manage.py",
        "noxfile.py",
        "fabfile.py",
        # version tooling (versioneer and the `_version.py` it writes): runs once per build or import
        "versioneer.py",
        "_version.py",
    }
)


def lower(a: Level, b: Level) -> Level:
    """The lower of two levels."""
    return a if _RANK[a] >= _RANK[b] else b


#: A function measured at this share of a profile's total or more is hot: medium-impact findings in it
#: show by default even at medium confidence (the measurement says its loops are not short in practice).
HOT_SHARE = 0.05


def worth_showing(impact: Level, confidence: Level, share: float | None = None) -> bool:
    """What the default output shows: high impact unless the rule is unsure, or medium impact when it is
    sure, or medium impact at medium confidence in code measured hot (``share`` of a profile's total at
    least ``HOT_SHARE``). Everything else (low impact; low confidence) needs --all."""
    score = {"high": 3, "medium": 2, "low": 1}
    if impact == "low" or confidence == "low":
        return False
    return score[impact] * score[confidence] >= 6 or (share is not None and share >= HOT_SHARE)


def in_test_class(qualname: str | None, function: str | None) -> bool:
    """Whether the code is a test method kept in a product module (``class TestTLS: def test_record()``),
    by pytest's default names: a function named ``test*`` in a class named ``Test*``. Such tests check the
    code rather than being it, like the test files the scanner leaves out."""
    if not qualname or not function or not function.startswith("test"):
        return False
    return any(part.startswith("Test") for part in qualname.split(".")[:-1])


def file_role(path: str) -> tuple[Role, str]:
    """Whether a file is product code, a test or fixture, or a script/example, and why (from its path)."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    name = parts[-1] if parts else path
    directories = {p.lower() for p in parts[:-1]}
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return "test", "a test file"
    if directories & _TEST_DIRS:
        return "test", f"under {min(directories & _TEST_DIRS)}/"
    if directories & _VENDORED_DIRS:
        return "vendored", f"under {min(directories & _VENDORED_DIRS)}/ (vendored code: change it upstream)"
    if name in _SCRIPT_FILES:
        return "script", f"in {name}, which runs once per command"
    if directories & _SCRIPT_DIRS:
        return "script", f"under {min(directories & _SCRIPT_DIRS)}/ (examples, scripts, docs)"
    return "code", ""


def small_display(node: ast.AST) -> bool:
    """A tuple, list, set or dict display of at most ``SMALL_LOOP_MAX`` items, none of them unpacked."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return len(node.elts) <= SMALL_LOOP_MAX and not any(isinstance(e, ast.Starred) for e in node.elts)
    if isinstance(node, ast.Dict):
        return len(node.keys) <= SMALL_LOOP_MAX and None not in node.keys
    return False


def _small_iterable(node: ast.AST) -> bool:
    """A literal display of few items, a short string, or ``range()``/``enumerate()`` of those."""
    if small_display(node):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, bytes)) and len(node.value) <= SMALL_LOOP_MAX
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id == "range" and node.args:
            bounds = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, int)]
            if len(bounds) != len(node.args):
                return False
            start, stop = (0, bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
            return stop - start <= SMALL_LOOP_MAX
        if node.func.id in ("enumerate", "reversed", "sorted", "zip") and node.args:
            return all(_small_iterable(a) for a in node.args)
    return False


_SPLITS = frozenset({"split", "rsplit", "partition", "rpartition"})


def _splits_text(node: ast.AST) -> bool:
    """A call that splits one string: ``s.split(",")``, ``re.split(...)``, ``s.partition(" ")``."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SPLITS


def _splits_lines(call: ast.Call) -> bool:
    """``split("\\n")``: the parts are a text's lines, which can be many."""
    texts = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return any("\n" in text for text in texts)


def loop_over_split(loop: ast.AST) -> bool:
    """A loop over the parts of one split string (``s.split(",")``, ``re.split(...)``): a field list,
    usually short. (``splitlines()`` and ``split("\\n")`` are not: a text's lines can be many.)"""
    iterable = getattr(loop, "iter", None)
    if isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        iterable = loop.generators[0].iter
    if (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Name)
        and iterable.func.id == "enumerate"
    ):
        iterable = iterable.args[0] if iterable.args else None
    return isinstance(iterable, ast.Call) and _splits_text(iterable) and not _splits_lines(iterable)


#: Plural nouns for the elements of an input (a name, attribute or call naming one of them, or ending in one
#: such as ``txtnodes``, is walked per element of a text, stream or document), and names of whole inputs.
_INPUT_ELEMENTS = (
    "lines",
    "tokens",
    "words",
    "chars",
    "characters",
    "strings",
    "nodes",
    "rows",
    "records",
    "cells",
    "chunks",
)
_INPUTS = frozenset({"text", "stream", "stdin", "file", "fh", "fp"})
#: Calls whose result is an input's lines or matches: ``splitlines()``, ``readlines()``, ``re.finditer``.
_INPUT_CALLS = frozenset({"splitlines", "readlines", "finditer", "open"})
_WRAPPERS = frozenset({"enumerate", "reversed", "sorted", "zip", "list", "tuple", "iter"})


def _names_input(identifier: str) -> bool:
    parts = [part for part in identifier.lower().split("_") if part]
    return any(part in _INPUTS or part.endswith(_INPUT_ELEMENTS) for part in parts)


def _input_iterable(node: ast.AST, files: AbstractSet[str]) -> bool:
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in _WRAPPERS and isinstance(func, ast.Name):
            return any(_input_iterable(a, files) for a in node.args)
        if name in _INPUT_CALLS or opens_file(node):
            return True
        if _splits_text(node):
            return _splits_lines(node)
        return name is not None and _names_input(name)
    if isinstance(node, ast.Subscript):
        return _input_iterable(node.value, files)
    if isinstance(node, ast.Attribute):
        return _names_input(node.attr)
    if isinstance(node, ast.Name):
        return node.id in files or _names_input(node.id)
    return False


def loop_over_input(loop: ast.AST, files: AbstractSet[str] = frozenset()) -> bool:
    """Whether a loop walks the elements of an input: a text's lines (``text.splitlines()``, a file), words,
    characters or tokens, a stream, a document's nodes, a table's rows or cells, as the iterable's name or
    call says (``for line in lines``, ``for token in stream``, ``get_tokens(...)``), or a file object of
    ``files`` (names the function bound to an open file: ``with open(p) as reader: for line in reader``,
    see ``sizes.file_objects``). Such loops run once per element of what the program reads, which is
    where a per-item cost adds up."""
    return any(_input_iterable(iterable, files) for iterable in _iterables(loop))


def _iterables(loop: ast.AST) -> list[ast.expr]:
    """What a ``for`` loop or a comprehension walks (each of its generators); nothing for a ``while``."""
    if isinstance(loop, (ast.For, ast.AsyncFor, ast.comprehension)):
        return [loop.iter]
    if isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return [g.iter for g in loop.generators]
    return []


def _step_from(value: ast.expr, name: str) -> bool:
    """Whether ``value`` is one step along a chain from ``name``: ``name.parent``, ``pred[name]``,
    ``name.get_parent()``, ``divmod(name, 26)``, ``name // 10``, ``name >> 1``."""
    if isinstance(value, ast.Attribute):
        return isinstance(value.value, ast.Name) and value.value.id == name
    if isinstance(value, ast.Subscript):  # pred[w], not w[1:] (that copies the rest of a sequence)
        return isinstance(value.slice, ast.Name) and value.slice.id == name
    if isinstance(value, ast.Call):
        func = value.func
        if isinstance(func, ast.Attribute):
            return isinstance(func.value, ast.Name) and func.value.id == name
        return (
            isinstance(func, ast.Name)
            and func.id == "divmod"
            and bool(value.args)
            and isinstance(value.args[0], ast.Name)
            and value.args[0].id == name
        )
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.FloorDiv, ast.RShift)):
        return isinstance(value.left, ast.Name) and value.left.id == name
    return False


def loop_walks_chain(loop: ast.AST) -> bool:
    """Whether a ``while`` loop walks one chain: its condition reads a name that a statement of its body
    moves one step along (``node = node.parent``, ``w = pred[w]``, ``die = die.get_parent()``,
    ``n, digit = divmod(n, 26)``, ``n //= 10``). It runs as long as one path (a tree's depth, a number's
    digits), not once per item of the data around it."""
    if not isinstance(loop, ast.While):
        return False
    tested = {n.id for n in ast.walk(loop.test) if isinstance(n, ast.Name)}
    for statement in loop.body:
        if isinstance(statement, ast.AugAssign):
            stepped_name = getattr(statement.target, "id", None)
            if isinstance(statement.op, (ast.FloorDiv, ast.RShift)) and stepped_name in tested:
                return True
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0]
        names = target.elts[:1] if isinstance(target, ast.Tuple) else [target]  # n, digit = divmod(n, b)
        stepped = [n.id for n in names if isinstance(n, ast.Name) and n.id in tested]
        if any(_step_from(statement.value, name) for name in stepped):
            return True
    return False


_FOR_LOOPS = (ast.For, ast.AsyncFor)
_LEAVES = (ast.Break, ast.Return, ast.Raise)
_OUTPUT_CALLS = frozenset({"print", "sys.stdout.write", "sys.stderr.write"})


def loop_prints(loop: ast.AST, qualname: Callable[[ast.AST], str | None]) -> bool:
    """Whether every pass of a loop writes output for a person: a ``print()`` or ``sys.stdout.write()``
    directly in its body, or in both branches of an ``if``/``else`` there (not under an ``if`` alone, as a
    verbose or debug print would be). Such a loop runs as long as someone reads what it prints, and its
    output costs more than the work around it."""
    return _block_prints(getattr(loop, "body", []), qualname)


def _block_prints(block: list[ast.stmt], qualname: Callable[[ast.AST], str | None]) -> bool:
    for statement in block:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and qualname(call.func) in _OUTPUT_CALLS:
            return True
        if (
            isinstance(statement, ast.If)
            and statement.orelse
            and _block_prints(statement.body, qualname)
            and _block_prints(statement.orelse, qualname)
        ):
            return True
    return False


def loop_scans_prefix(loop: ast.AST) -> bool:
    """Whether a loop's body ends by leaving it (``break``, ``return``, ``raise`` as its last statement), so
    that only a ``continue`` starts another pass: it walks the leading items that a condition skips (a
    header's blank and comment lines) and stops at the first other one, not the whole sequence."""
    return isinstance(loop, (*_FOR_LOOPS, ast.While)) and isinstance(loop.body[-1], _LEAVES)


def loop_is_small(loop: ast.AST) -> bool:
    """Whether a loop (or comprehension) visibly runs only a few times (a while loop runs until its
    condition says so)."""
    iterables = _iterables(loop)
    return bool(iterables) and all(_small_iterable(iterable) for iterable in iterables)


@dataclass(frozen=True)
class Place:
    """Where a finding's code runs, as the scanner sees it."""

    impact: Level
    why: str
    function: str | None
    # in a heavy loop: nested loops of unknown size, a while loop, or a loop over an input's elements
    heavy: bool = False
    # in loops of unknown size none of which shows that it is as long as an input (see ``sizes``)
    unsized: bool = False
    # in one plain loop of unknown size (not nested, not a while loop, not over an input's elements by name)
    plain: bool = False


def place(
    loops: list[ast.AST],
    qualname: str | None,
    function: str | None,
    in_main_block: bool,
    role: tuple[Role, str],
    prints: bool = False,
    sized: Callable[[ast.AST], bool] | None = None,
    files: AbstractSet[str] = frozenset(),
) -> Place:
    """The impact of code inside ``loops`` (those of the current function or body, outermost first).

    ``qualname`` names the enclosing definitions (``Parser.parse``); ``function`` is the innermost
    enclosing function's own name, None at module or class level; ``prints``: the innermost loop prints on
    every pass (see ``loop_prints``), so it is bound by its output and at most of medium impact. ``sized``
    says whether a loop is as long as an input (``Context.loop_is_sized``); given, a function's loops of
    unknown size none of which is (nor walks an input's elements by name) are of medium impact and
    ``unsized``: nothing shows that they are long. ``files``: the function's names bound to an open file
    (``sizes.file_objects``); a loop over one walks an input's lines.
    """
    shown = f"{qualname}()" if function else "module level"
    if role[0] in ("script", "vendored"):
        return Place("low", role[1], qualname)
    if in_main_block:
        return Place("low", "under `if __name__ == '__main__':`, which runs once", qualname)
    if function in _RARE_FUNCTIONS:
        return Place("low", f"in {function}(), which runs rarely (printing, start-up)", qualname)
    if in_test_class(qualname, function):
        return Place("low", f"in {qualname}(), a test kept inside the module (pytest collects it)", qualname)
    unknown = [loop for loop in loops if not loop_is_small(loop)]
    if loops and not unknown:
        return Place("low", f"in a loop over a few literal items in {shown}", qualname)
    if unknown and all(loop_over_split(loop) for loop in unknown):
        if function is None:
            return Place("low", "in a module-level loop over the parts of a split string", qualname)
        return Place(
            "medium", f"in a loop over the parts of a split string (usually few) in {shown}", qualname
        )
    if unknown:
        if function is None:
            return Place("medium", "in a module-level loop, which runs once per import", qualname)
        if prints:
            return Place("medium", f"in a loop that prints on every pass in {shown}", qualname)
        if sized is not None and not any(sized(loop) or loop_over_input(loop, files) for loop in unknown):
            why = (
                f"in a loop in {shown} over data that nothing shows to be as long as an input "
                "(not a parameter, nor read, nor derived from one)"
            )
            return Place("medium", why, qualname, unsized=True)
        heavy = True
        if any(loop_scans_prefix(loop) for loop in unknown):
            what, heavy = "a loop that stops at the first item it does not skip with `continue`", False
        elif len(unknown) > 1:
            what = "nested loops"
        elif loop_walks_chain(unknown[0]):
            what, heavy = "a while loop that walks one chain (as long as a path)", False
        elif isinstance(unknown[0], ast.While):
            what = "a while loop"
        elif loop_over_input(unknown[0], files):
            what = "a loop over an input's elements (lines, tokens, nodes...)"
        else:
            what, heavy = "a loop over data of unknown size", False
        if function in _SETUP_FUNCTIONS:
            return Place("high", f"in {what} in {shown}, which runs once per object made", qualname)
        return Place("high", f"in {what} in {shown}", qualname, heavy, plain=what.endswith("unknown size"))
    if function is not None:
        return Place("medium", f"once per call of {shown}", qualname)
    return Place("low", "at module or class level, which runs once", qualname)
