"""Evidence that a loop is as long as the input a function was given, not a handful of fixed items.

Syntax cannot see how long a loop runs, but it can see where its iterable comes from. A loop over what a
function was passed (a parameter other than ``self``/``cls``, ``*args`` or ``**kwargs``), over what it
read (``f.read()``, ``text.splitlines()``, ``re.finditer(...)``, a file), or over anything bound from
those in the same function (``words = re.split(r"\\s+", text)``, ``for line in lines: for char in line``,
``out.append(item)``), can be as long as the caller's data. A loop over an object's own attributes (set
once, when it was made), a literal, configuration or one split string's parts shows no such thing.

``input_names`` follows those bindings through one function (a cheap forward propagation, run to a fixed
point, no types); ``loop_is_sized`` asks it about one loop's iterable or ``while`` condition.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from collections.abc import Set as AbstractSet

#: Parameters that name the object or class a method runs on, not data passed in.
_RECEIVERS = frozenset({"self", "cls", "mcs", "metacls"})
#: Calls whose result is what a program read: a text's lines, a file's contents, a pattern's matches.
_READING_CALLS = frozenset({"read", "readlines", "readline", "splitlines", "finditer", "open", "input"})
#: Methods that put an item into a collection: the collection then holds input when the item does.
_GROWING = frozenset({"append", "extend", "insert", "add", "update", "appendleft", "extendleft"})
_SHRINKING = frozenset({"pop", "popleft", "remove"})
_SPLITS = frozenset({"split", "rsplit", "partition", "rpartition"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


#: Words that, as one ``_``-separated part of a parameter's name, say it holds one small thing: one
#: number's digits, one name, key, word, character, entity, date or value, one path, one docstring or
#: signature, one string. A loop over such a parameter is as long as that thing, a handful of items in
#: practice, not as long as a document. Plurals (``names``, ``keys``, ``paths``) are collections and do
#: not match.
SCALAR_WORDS = frozenset(
    {
        "num", "number", "digit", "digits", "name", "key", "word", "char", "entity", "date", "value",
        "path", "doc", "docstring", "sig", "signature", "string", "str",
    }
)  # fmt: skip


def scalar_like(name: str) -> bool:
    """Whether a parameter's name marks one small item (``num_str``, ``modpath``'s ``path`` part does not
    count: only whole ``_``-separated words do, e.g. ``module_path``)."""
    return any(word in SCALAR_WORDS for word in name.lower().split("_"))


def parameters(args: ast.arguments) -> set[str]:
    """The parameters that carry a caller's data: not ``self``/``cls``, not ``*args`` or ``**kwargs``
    (a call's few extra arguments or options), and not one whose name marks one small item (see
    ``scalar_like``)."""
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    return {a.arg for a in every if a.arg not in _RECEIVERS and not scalar_like(a.arg)}


def splits_one_string(node: ast.AST) -> bool:
    """``s.split(",")``, ``re.split(...)``, ``s.partition(" ")``: the parts of one string, usually few
    (``split("\\n")`` is a text's lines and does not count)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr not in _SPLITS:
        return False
    texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return not any("\n" in text for text in texts)


def _reads_input(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name in _READING_CALLS
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "stdin"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def opens_file(node: ast.AST) -> bool:
    """``open(p)``, ``io.open``, ``codecs.open``, ``gzip.open``, ``Path(p).open()``, ``path.open()`` (any
    call named ``open``), or ``fileinput.input(...)``: a file object, whose items are the file's lines."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "open"
    return isinstance(func, ast.Attribute) and (
        func.attr == "open"
        or (func.attr == "input" and isinstance(func.value, ast.Name) and func.value.id == "fileinput")
    )


def file_objects(function: ast.AST) -> frozenset[str]:
    """Names that ``function`` binds to an open file, by ``with open(...) as f`` or ``f = open(...)`` (see
    ``opens_file``): a loop over one walks a file's lines, as many as the file has."""
    names: set[str] = set()
    for node in _own_nodes(function):
        if isinstance(node, ast.withitem) and node.optional_vars is not None:
            source, targets = node.context_expr, [node.optional_vars]
        elif isinstance(node, ast.Assign):
            source, targets = node.value, node.targets
        else:
            continue
        if opens_file(source):
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return frozenset(names)


#: Attributes that give one class, or one class's bases or method resolution order: a class hierarchy is
#: as deep as its definitions, a handful of classes, however large the object that leads to it.
_HIERARCHY = frozenset({"__class__", "__bases__", "__mro__", "mro"})


def class_hierarchy(node: ast.AST) -> bool:
    """``x.__class__``, ``type(x)``, ``cls.__bases__``, ``cls.__mro__``, ``cls.mro()`` and look-alikes named
    ``..._mro__``/``..._bases__`` (``py__mro__()``): one class or its ancestors, not an input's items."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) == 1:
            return True
        node = node.func
    return isinstance(node, ast.Attribute) and (
        node.attr in _HIERARCHY or node.attr.endswith(("_mro__", "_bases__"))
    )


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node``, not descending into nested functions, lambdas or classes."""
    pending = list(ast.iter_child_nodes(node))
    while pending:
        child = pending.pop()
        yield child
        if not isinstance(child, _SCOPES):
            pending.extend(ast.iter_child_nodes(child))


def derives(expression: ast.AST, names: AbstractSet[str]) -> bool:
    """Whether ``expression`` reads one of ``names`` or reads input, other than as the parts of one split
    string (a field list)."""
    if splits_one_string(expression) or class_hierarchy(expression):
        return False
    pending = [expression]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and node.id in names:
            return True
        if _reads_input(node):
            return True
        if node is expression or not isinstance(node, _SCOPES):
            # what leads to one class's hierarchy is not input: ``[node.__class__]`` holds one class
            pending.extend(child for child in ast.iter_child_nodes(node) if not class_hierarchy(child))
    return False


def _bound_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound_names(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)


#: Methods that add all the items of their argument (``out.extend(lines)`` is as long as ``lines``).
_ADDING_ALL = frozenset({"extend", "update", "extendleft"})
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)


def _flows(node: ast.AST, loops: list[ast.AST]) -> Iterator[tuple[ast.AST, ast.AST]]:
    """(source, target) pairs of one node: what an assignment, loop or ``with`` binds from what. A
    collection grown with one item per pass (``out.append(x)``) is as long as the loops around the call
    (each such loop is a source); ``out.extend(y)`` also as long as ``y``."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield node.value, target
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
        yield node.value, node.target
    elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        yield node.iter, node.target
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        yield node.context_expr, node.optional_vars
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _GROWING
        and isinstance(node.func.value, ast.Name)
    ):
        for loop in loops:
            yield loop, node.func.value
        if node.func.attr in _ADDING_ALL:
            for argument in node.args:
                yield argument, node.func.value


def _walk_flows(node: ast.AST, loops: list[ast.AST], flows: list[tuple[ast.AST, ast.AST]]) -> None:
    """Collect ``_flows`` under ``node`` (not in nested scopes), with the loops around each node."""
    for child in ast.iter_child_nodes(node):
        flows.extend(_flows(child, loops))
        if isinstance(child, _SCOPES):
            continue
        if isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            _walk_flows(child, [*loops, *child.generators], flows)
        elif isinstance(child, _LOOPS[:3]):
            _walk_flows(child, [*loops, child], flows)
        else:
            _walk_flows(child, loops, flows)


def input_names(function: ast.AST, inherited: frozenset[str] = frozenset()) -> frozenset[str]:
    """The names in ``function`` that hold input-sized data: its parameters (see ``parameters``), names
    of the enclosing function's that it reads (``inherited``), and every name bound from one of those or
    from reading input, or grown in a loop over one, followed to a fixed point."""
    names = set(inherited)
    arguments = getattr(function, "args", None)
    if isinstance(arguments, ast.arguments):
        names |= parameters(arguments)
    flows: list[tuple[ast.AST, ast.AST]] = []
    _walk_flows(function, [], flows)
    changed = True
    while changed:
        changed = False
        for source, target in flows:
            grows = isinstance(source, _LOOPS)
            if loop_is_sized(source, names) if grows else derives(source, names):
                for name in _bound_names(target):
                    if name not in names:
                        names.add(name)
                        changed = True
    return frozenset(names)


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in [node, *_own_nodes(node)] if isinstance(n, ast.Name)}


def _is_worklist(loop: ast.While) -> bool:
    """``while queue: ... queue.pop() ... queue.append(...)``: a loop that takes items from the list its
    condition tests and adds new ones, a walk of a graph or a fixed-point iteration."""
    tested = _names_in(loop.test)
    grown, shrunk = set(), set()
    # ``for base in cls.__bases__: todo.append(base)`` walks one class hierarchy: a few classes
    ancestors = {
        name
        for node in _own_nodes(loop)
        if isinstance(node, (ast.For, ast.comprehension)) and class_hierarchy(node.iter)
        for name in _bound_names(node.target)
    }
    for node in _own_nodes(loop):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if isinstance(receiver, ast.Name) and receiver.id in tested:
                if node.func.attr in _GROWING and not all(
                    class_hierarchy(a) or (isinstance(a, ast.Name) and a.id in ancestors) for a in node.args
                ):
                    grown.add(receiver.id)
                elif node.func.attr in _SHRINKING:
                    shrunk.add(receiver.id)
    return bool(grown & shrunk)


def loop_is_sized(loop: ast.AST, names: AbstractSet[str]) -> bool:
    """Whether a loop's length comes from input (``names``: see ``input_names``): a ``for`` loop or
    comprehension whose iterable derives from them (not one split string's parts); a ``while`` loop whose
    condition reads one of them, that runs until it breaks (``while True``) and reads one in its body, or
    that works through a list it also grows (a worklist)."""
    if isinstance(loop, ast.While):
        if isinstance(loop.test, ast.Constant):
            return bool(loop.test.value) and any(
                isinstance(n, ast.Name) and n.id in names for n in _own_nodes(loop)
            )
        return derives(loop.test, names) or _is_worklist(loop)
    if isinstance(loop, (ast.For, ast.AsyncFor, ast.comprehension)):
        return derives(loop.iter, names)
    if isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return any(derives(generator.iter, names) for generator in loop.generators)
    return False
