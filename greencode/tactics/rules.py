"""The scanner's rules: each finds one wasteful pattern and points at the tactic that fixes it.

A rule is a small function registered with :func:`rule`. It declares the node types it inspects (for calls,
optionally the callee names), so the scanner can dispatch every node of its single walk to just the rules
that care. The function gets the node and the :class:`~greencode.tactics.context.Context` and returns
``False`` (no finding), ``True`` (a finding with the rule's message), a string (a finding with that more
specific message) or a :class:`Verdict` (a message and a lower impact cap for this case).

Rules prefer precision over recall: most only fire inside loops, check what the receiver is when they can,
and leave idiomatic code alone. Each documents its heuristic and the false positives it is known to have;
``docs/tactics.md`` is generated from these fields. Ideas that measure as negligible on CPython (creedengo's
getters/setters) have no rule; those that matter only in some places (global lookups, wildcard imports,
try/except as control flow) have rules capped at low impact or low confidence, so they show only with
``greencode scan --all``. Each rule's ``max_impact`` is what its tactic can save at best and its
``confidence`` how often its pattern is what it looks like (:mod:`greencode.tactics.impact`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from greencode.tactics.context import (
    CALL,
    COMPREHENSIONS,
    LIST,
    LOGGER,
    LOOPS,
    NUMBER,
    OTHER,
    PARAM,
    SMALL_LIST,
    STR,
    Context,
)
from greencode.tactics.impact import Level, loop_is_small, loop_over_input, small_display

Check = Callable[[Any, Context], "bool | str | Verdict"]


@dataclass(frozen=True)
class Verdict:
    """A finding whose message or impact cap depends on what the rule saw (else the rule's own apply)."""

    message: str | None = None
    max_impact: Level | None = None
    confidence: Level | None = None
    # count only the loops nested inside this one: what the finding is about is made afresh on each of its
    # passes, so the loops around it repeat the work but do not make it bigger
    within: ast.AST | None = None
    # the finding's own data is as long as an input (a list built from one, searched or grown per pass of a
    # loop over one): quadratic in the input, so one plain loop counts as heavy for ``heavy_loops_only``
    heavy: bool = False


_FOR = (ast.For, ast.AsyncFor)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Rule:
    """A scanner rule and its documentation."""

    id: str
    name: str
    tactic: str
    title: str
    message: str
    heuristic: str
    false_positives: str
    nodes: tuple[type[ast.AST], ...]
    check: Check = field(repr=False, compare=False)
    # for ast.Call: only calls whose callee's last name (``f`` in ``f()`` or ``x.f()``) is one of these
    calls: tuple[str, ...] = ()
    # for function definitions: check after the body was walked (the scope's facts are complete)
    after_body: bool = False
    # the most a finding can matter, however hot its code (what the tactic can save at best)
    max_impact: Level = "high"
    # how often the pattern is what it looks like: high (nearly always), medium, low (often intended)
    confidence: Level = "high"
    # where a suppression comment may go besides the finding's own line: its enclosing loop's header
    suppress_on_loop: bool = False
    # high impact only in heavy loops (nested, ``while``, over an input's elements): in one plain loop of
    # unknown size this rule's findings were mostly short in practice (see docs/tactics.md), so there they are
    # of medium impact and at most medium confidence, shown with --all
    heavy_loops_only: bool = False
    # high impact only in loops that show they are as long as an input (greencode.tactics.sizes): false
    # for rules whose loops are bound by time, not data (a polling loop runs as long as it waits)
    sized_by_input: bool = True


_REGISTRY: list[Rule] = []


def rule(
    id: str,
    name: str,
    tactic: str,
    title: str,
    message: str,
    heuristic: str,
    false_positives: str,
    nodes: tuple[type[ast.AST], ...],
    calls: tuple[str, ...] = (),
    after_body: bool = False,
    max_impact: Level = "high",
    confidence: Level = "high",
    suppress_on_loop: bool = False,
    heavy_loops_only: bool = False,
    sized_by_input: bool = True,
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        _REGISTRY.append(
            Rule(
                id,
                name,
                tactic,
                title,
                message,
                " ".join(heuristic.split()),
                " ".join(false_positives.split()),
                nodes,
                check,
                calls,
                after_body,
                max_impact,
                confidence,
                suppress_on_loop,
                heavy_loops_only,
                sized_by_input,
            )
        )
        return check

    return register


# ---------------------------------------------------------------------------------------------------------
# small syntax helpers


def _const(node: ast.AST | None, kind: type | tuple[type, ...]) -> Any:
    """The value of a constant of the given Python type, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, kind) and not isinstance(node.value, bool):
        return node.value
    return None


def _is_text(node: ast.AST) -> bool:
    return _const(node, str) is not None or isinstance(node, ast.JoinedStr)


def _leading_text(node: ast.AST) -> str | None:
    """The literal text an expression starts with: a string, f-string, ``"..." % x`` or ``"...".format()``."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return _leading_text(node.values[0]) if node.values else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _leading_text(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _leading_text(node.func.value)
    return None


def _keyword(call: ast.Call, *names: str) -> ast.keyword | None:
    return next((kw for kw in call.keywords if kw.arg in names), None)


def _has_star_kwargs(call: ast.Call) -> bool:
    return any(kw.arg is None for kw in call.keywords)


def _argument(call: ast.Call, position: int, *names: str) -> ast.AST | None:
    if len(call.args) > position:
        return call.args[position]
    keyword = _keyword(call, *names)
    return keyword.value if keyword else None


def _builtin(call: ast.Call, ctx: Context, *names: str) -> bool:
    """A call of a built-in by its bare name, not shadowed by an import or a local binding."""
    func = call.func
    return (
        isinstance(func, ast.Name)
        and func.id in names
        and func.id not in ctx.imports
        and ctx.kind(func.id) is None
    )


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)}


def _names_used(nodes: list[ast.stmt]) -> set[str]:
    return {name for stmt in nodes for name in _names_in(stmt)}


def _bound_each_iteration(name: str, ctx: Context, statement: ast.AST) -> bool:
    """Whether the innermost loop binds ``name`` afresh (other than by ``statement``) on every iteration.

    Such a name is a per-iteration temporary, not an accumulator that grows across iterations.
    """
    loop = ctx.innermost_loop()
    if not isinstance(loop, (*_FOR, ast.While)):
        return True
    if isinstance(loop, _FOR) and name in {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}:
        return True
    for stmt in loop.body:
        for node in ast.walk(stmt):
            if node is statement:
                continue
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                if node.value is None or name in _names_in(node.value):
                    continue  # `s = f(s)` carries the old value forward: still an accumulator
                targets: list[ast.expr] = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, _FOR):
                targets = [node.target]
            else:
                continue
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                return True
    return False


def _bound_in_loop(loop: ast.AST) -> set[str]:
    """Names the loop binds on each iteration: its target and every name assigned in its body.

    An object held by such a name is made (or picked) per iteration, so work on it cannot be hoisted out of
    the loop or batched across iterations.
    """
    targets: list[ast.AST] = [loop.target] if isinstance(loop, _FOR) else []
    targets += getattr(loop, "body", [])
    return {
        n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


#: Methods that change a list in ways a parallel set cannot follow cheaply (append is not one of them).
_REORDERING = frozenset({"remove", "pop", "insert", "clear", "sort", "reverse", "__setitem__", "__delitem__"})
_MUTATING = _REORDERING | {"append", "extend", "add", "discard", "update", "setdefault"}


def _mutated(statements: list[ast.stmt], name: str, methods: frozenset[str]) -> bool:
    """Whether ``statements`` call one of ``methods`` on ``name``, delete from it or assign into it."""
    for stmt in statements:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in methods and _names_in(node.func.value) == {name}:
                    return True
            elif isinstance(node, (ast.Delete, ast.Assign, ast.AugAssign, ast.For)):
                targets = node.targets if isinstance(node, (ast.Delete, ast.Assign)) else [node.target]
                for target in targets:
                    for part in ast.walk(target):  # also `a[i], b[j] = ...` and `for a[i] in ...`
                        if isinstance(part, ast.Subscript) and _names_in(part.value) == {name}:
                            return True
    return False


def _walks_input(comprehension: ast.AST, ctx: Context) -> bool:
    """Whether a comprehension walks input-sized data (greencode.tactics.sizes), not a literal or an
    object's own attributes."""
    return not loop_is_small(comprehension) and (
        ctx.loop_is_sized(comprehension) or loop_over_input(comprehension, ctx.file_objects())
    )


def _catching(ctx: Context, exception: str) -> bool:
    """Whether the node is inside an ``except`` clause of this scope that catches ``exception``."""
    handler = ctx.enclosing((ast.ExceptHandler,))
    if not isinstance(handler, ast.ExceptHandler) or handler.type is None:
        return False
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(c, ast.Name) and c.id == exception for c in caught)


def _then_leaves_loop(ctx: Context, statement: ast.stmt | None = None) -> bool:
    """Whether the statement holding the node (or ``statement``, the node itself) is followed, in its
    block, by ``break`` or ``return``: the operation then runs once per loop, not once per iteration."""
    owner: ast.AST | None
    if statement is None:
        statement = cast(ast.stmt | None, ctx.enclosing((ast.stmt,)))
        if statement is None:
            return False
        owner = ctx.ancestors[ctx.ancestors.index(statement) - 1]
    else:
        owner = ctx.ancestors[-1] if ctx.ancestors else None
    if owner is None:
        return False
    for _, value in ast.iter_fields(owner):
        if isinstance(value, list) and statement in value:
            after = value[value.index(statement) + 1 :]
            return any(isinstance(s, (ast.Break, ast.Return, ast.Raise)) for s in after)
    return False


def _first_in_loop(ctx: Context, rule_id: str, loop: ast.AST | None, name: str) -> bool:
    """True the first time a rule meets ``name`` in ``loop``: one finding per name and loop."""
    seen = ctx.scope.notes.setdefault(rule_id, set())
    key = f"{id(loop)}:{name}"
    if key in seen:
        return False
    seen.add(key)
    return True


def _all_text(node: ast.AST) -> str:
    """Every literal piece of a string expression joined (f-string parts, ``+`` and ``%`` operands)."""
    return "".join(
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _might_be_list(receiver: ast.AST, ctx: Context) -> bool:
    """False when the receiver is known to be something other than a list (a deque, a widget, a string)."""
    if not isinstance(receiver, ast.Name):
        return isinstance(receiver, ast.Attribute)
    kind = ctx.kind(receiver.id)
    return kind in (None, PARAM, LIST, SMALL_LIST, OTHER) or _list_call(kind)


# ---------------------------------------------------------------------------------------------------------
# data structures


@rule(
    id="GRN001",
    name="list-membership-in-loop",
    tactic="GT-DS-01",
    title="Membership test on a list inside a loop",
    message="`in` scans a list element by element on every iteration; build a set (or dict) once before the "
    "loop and test against that (measured on CPython 3.11: 2.2× for 10 items, 245× for 1,000)",
    heuristic="""A comparison `x in y` or `x not in y` inside a loop, where `y` is a name last bound to a list
    that can be long (a long list display, a list comprehension, `list(...)`, `sorted(...)`, or an empty or
    short display that a loop grows: appended to, extended or `+=`), or where `y` is itself a list
    comprehension, `list(...)` or `sorted(...)`. Short list displays (up to 8 items) are left alone, also
    when appended to once outside any loop (`types = [A, B]; if flag: types.append(C)`): scanning them
    costs about as much as hashing. One finding per list and loop, however many tests it holds. A list that
    the innermost loop around the test re-binds on every pass (`ids = [...]; if x in ids`) is left alone:
    it is searched only in the pass that built it, and a set would cost as much to build. A list that an
    outer loop empties on every pass (`for message in messages: locs = []; for loc in message.locations:
    if loc not in locs: locs.append(loc)`) holds one outer item's parts: only the loops inside that outer
    loop count for its impact, so one inner loop is one plain loop. A list made in the test itself from a
    name the loop binds on each pass (`if id(c) in [id(b) for b in branches]`, `branches` re-bound per
    pass) is left alone for the same reason.""",
    false_positives="""Lists that stay short at run time; a name re-bound to a set further down the loop body;
    loops that only run a few times; a list much longer than the loop (building a set costs one pass over
    it, so a loop of a few iterations gains nothing). Skipped on purpose: tests inside `except TypeError:`
    (the usual fallback for unhashable items, which a set cannot hold) and lists the loop also reorders or
    shrinks (`remove`, `pop`, `insert`, `del`, item assignment), which a set could not mirror. In one plain
    loop (not nested, not `while`, not over an input's lines, tokens or nodes) a finding is of medium impact
    and confidence and needs `--all`: judged on real projects, 4 of 16 such findings were worth acting on
    (dedupes of cookie domains, of one import line's comments, of a few paths), against 7 of 13 in nested
    or `while` loops. That also hides real ones (a graph's neighbour lists searched per neighbour);
    `--profile` shows which of them run hot. Known false positive (held-out sample 3): a list rebuilt from
    the loop variable on every pass and searched once (`ids = [id(x) for x in child]; if id(t) in ids`),
    where a set would cost the same (skipped since). Judged negligible and left to `--all` since: dedupes of
    one message's locations and of one period's dates, each emptied per outer pass (Babel, dateutil).
    Round 4: like every rule sized by its data, high impact needs a loop that is as long as an input (see
    *Impact and confidence*). Letting a list built from an input count as heavy in one plain loop was tried
    and left out: on the judged sets it would have added 4 findings worth acting on and 7 negligible
    ones. Round 6: a list made from one class's hierarchy (`list(type(o).__mro__)`) is a handful of
    classes, so searching it is no finding (two negligible findings in jedi).""",
    nodes=(ast.Compare,),
    heavy_loops_only=True,
)
def _list_membership(node: ast.Compare, ctx: Context) -> bool | Verdict:
    if not ctx.in_loop or _catching(ctx, "TypeError"):
        return False
    loop = ctx.innermost_loop()
    body = getattr(loop, "body", [])
    for op, right in zip(node.ops, node.comparators, strict=True):
        if not isinstance(op, (ast.In, ast.NotIn)):
            continue
        if isinstance(right, ast.Name):
            kind = ctx.kind(right.id)
            grown = kind == SMALL_LIST and _grown_in_loop(right.id, ctx)
            if grown:
                kind = LIST  # `seen = []` ... `if x not in seen: seen.append(x)`: it grows per iteration
            if kind != LIST or _mutated(body, right.id, _REORDERING):
                return False
            if isinstance(loop, LOOPS) and right.id in _bound_in_loop(loop):
                return False  # rebuilt on every pass and searched in that pass: a set costs as much to build
            # one finding per list and loop: making that list a set is one change
            if not _first_in_loop(ctx, "GRN001", loop, right.id):
                return False
            # `for message in messages: locs = []; for loc in message.locations: if loc not in locs: ...`:
            # the list starts empty per message and holds one message's items, so only the loops inside
            # the one that empties it make it long
            emptied_by = [outer for outer in ctx.repeating_loops()[:-1] if right.id in _bound_in_loop(outer)]
            return Verdict(within=emptied_by[-1]) if grown and emptied_by else True
        if isinstance(right, ast.ListComp) or (
            isinstance(right, ast.Call) and _builtin(right, ctx, "list", "sorted")
        ):
            # `if id(c) in [id(b) for b in branches]` with `branches` bound in this pass: the list is
            # made from this pass's data, so a set made there would cost as much
            made_from = _names_in(right) - {
                n.id
                for c in ast.walk(right)
                if isinstance(c, ast.comprehension)
                for n in ast.walk(c.target)
                if isinstance(n, ast.Name)
            }
            return not (isinstance(loop, LOOPS) and made_from & _bound_in_loop(loop))
    return False


_GROWING = frozenset({"append", "extend", "insert"})


def _grown_in_loop(name: str, ctx: Context) -> bool:
    """Whether a loop around the node appends to, extends or ``+=``-grows the list ``name``."""
    for loop in ctx.repeating_loops():
        statements = getattr(loop, "body", [])
        if _mutated(statements, name, _GROWING):
            return True
        if any(
            isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name
            for stmt in statements
            for n in ast.walk(stmt)
        ):
            return True
    return False


def _front_operation(node: ast.Call, ctx: Context, arity: int) -> bool:
    func = node.func
    return (
        ctx.in_loop
        and isinstance(func, ast.Attribute)
        and len(node.args) == arity
        and not node.keywords
        and _const(node.args[0], int) == 0
        and _might_be_list(func.value, ctx)
        and not _then_leaves_loop(ctx)
    )


@rule(
    id="GRN002",
    name="list-insert-front",
    tactic="GT-DS-02",
    title="list.insert(0, x) inside a loop",
    message="`insert(0, x)` moves every element of a list, so a loop of them is quadratic; use a "
    "collections.deque and appendleft(), or append() and reverse once at the end",
    heuristic="""A call `y.insert(0, x)` inside a loop, unless `y` is known to be something other than a list
    (bound to a deque, a string, or the result of calling a class such as a GUI widget). `sys.path.insert(0,
    ...)` is left alone: the front of `sys.path` is where a directory takes priority, and the list is
    short.""",
    false_positives="""Receivers that are not lists but have an `insert(index, value)` method and were not
    created in view of the scanner (e.g. a widget passed in as a parameter); short lists. An insert followed
    by `break` or `return` runs once per loop and is left alone. Confidence is high only when the list is
    bound in the same function; a list passed in or held on an object (often short, or not a list: an XML
    element) gets low confidence and shows only with `--all`. Like GRN005 (prepending builds a path), it
    is of high impact only in heavy loops (nested, over an input's elements, or a `while` loop that does not
    just walk one chain): a `while` loop whose condition reads a name its body moves one step along
    (`parent = parent.get_parent()`, `w = pred[w]`, `n, digit = divmod(n, 26)`) runs as long as one path,
    and one plain `for` loop gets medium impact and confidence (`--all`). Judged on real projects, such
    findings were negligible in all 7 cases (a column name's letters, a type's modifiers and enclosing
    scopes, one shortest path, one class's inherited attributes); the 3 worth acting on drain an
    input-sized list in a `while` loop. Round 4: one plain `for` loop over an input (a parameter, what was
    read, or derived from those) is quadratic in the input, since each pass inserts at the front of a list
    that grows with the loop: high impact again (none of the judged findings is of that shape). A list the
    same loop also takes from the front of (`pop(0)`, `del y[0]`) is a stack kept at the front, as deep
    as what is open (a template's nested sections), not as long as the input: medium impact and
    confidence (`--all`; three negligible findings in chevron). A list an outer loop binds afresh holds
    one outer item's worth: only the loops inside that one count (one dotted name's parts in a lexer), and
    since round 5 such a finding is of at most medium impact and confidence (`--all`).""",
    nodes=(ast.Call,),
    calls=("insert",),
    heavy_loops_only=True,
)
def _insert_front(node: ast.Call, ctx: Context) -> bool | Verdict:
    receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
    if not _front_operation(node, ctx, arity=2) or ctx.qualname(receiver or node.func) == "sys.path":
        return False
    return _front_verdict(receiver, ctx)


#: Calls whose result is always a new list: ``str.split`` and friends.
_LIST_CALLS = (".split", ".rsplit", ".splitlines", ".readlines")


def _list_call(kind: str | None) -> bool:
    """Whether a name's kind is the result of ``x.split(...)`` or another call that returns a list."""
    return kind is not None and kind.startswith(CALL) and kind.endswith(_LIST_CALLS)


def _front_verdict(receiver: ast.AST | None, ctx: Context, message: str | None = None) -> bool | Verdict:
    """Sure when the list was built in view (a list bound in this function, or the result of
    ``split()``) and lives across iterations; unsure otherwise, since a list passed in or held on an object
    is often short (command-line arguments, a split line) or not a list at all (an XML element). A list
    made afresh in the loop's body does not grow across iterations: no finding. A list an outer loop
    binds afresh holds one outer item's worth: only the loops inside that one count, at most medium
    impact and confidence (see ``Scanner._hit``). A list the loop also
    takes from the front of as it puts in at the front is a stack kept at the front, as deep as what is
    open (a template's nested sections), not as long as the input: medium confidence."""
    loop = ctx.innermost_loop()
    if not isinstance(receiver, ast.Name):
        return Verdict(message, confidence="low")
    if isinstance(loop, (*_FOR, ast.While)) and _bound_each_iteration(
        receiver.id, ctx, ctx.ancestors[-1] if ctx.ancestors else loop
    ):
        return False
    kind = ctx.scope.kinds.get(receiver.id)
    if kind not in (LIST, SMALL_LIST) and not _list_call(kind):
        return Verdict(message, confidence="low")
    loops = ctx.repeating_loops()
    bound_by = [outer for outer in loops[:-1] if receiver.id in _bound_in_loop(outer)]
    within = bound_by[-1] if bound_by else None
    outermost = loops[0] if loops else None
    if (
        outermost is not None
        and _front_calls(outermost, receiver.id, "insert")
        and (_front_calls(outermost, receiver.id, "pop") or _front_deletes(outermost, receiver.id))
    ):
        return Verdict(message, max_impact="medium", confidence="medium", within=within)
    # a list grown in a loop over an input (or built from one) is as long as the input
    return Verdict(message, within=within, heavy=ctx.derives_from_input(receiver))


def _front_calls(loop: ast.AST, name: str, method: str) -> list[ast.AST]:
    """The calls ``name.insert(0, ...)`` or ``name.pop(0)`` (``method``) anywhere in ``loop``."""
    return [
        n
        for n in ast.walk(loop)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == method
        and _names_in(n.func.value) == {name}
        and n.args
        and _const(n.args[0], int) == 0
    ]


def _front_deletes(loop: ast.AST, name: str) -> list[ast.AST]:
    """The statements ``del name[0]`` anywhere in ``loop``."""
    return [n for n in ast.walk(loop) if isinstance(n, ast.Delete) and _deletes_front(n) == name]


def _deletes_front(node: ast.Delete) -> str | None:
    """``name`` when ``node`` is ``del name[0]``."""
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Subscript):
        return None
    target = node.targets[0]
    if isinstance(target.value, ast.Name) and _const(target.slice, int) == 0:
        return target.value.id
    return None


@rule(
    id="GRN003",
    name="list-pop-front",
    tactic="GT-DS-02",
    title="list.pop(0) inside a loop",
    message="`pop(0)` moves every remaining element of a list; for a queue use collections.deque and "
    "popleft() (draining 20,000 items: 24× faster on CPython 3.11), or iterate instead of consuming from "
    "the front",
    heuristic="""A call `y.pop(0)` or a statement `del y[0]` inside a loop (typically `while queue: item =
    queue.pop(0)`, or `while lines: ...; del lines[0]`), with the same receiver checks as GRN002 (a list
    bound in the function, or the result of `split()`, `splitlines()` or `readlines()`), including its
    stack at the front and its lists bound afresh by an outer loop.""",
    false_positives="""Objects other than lists whose `pop` takes an index or key and were not created in
    view of the scanner (e.g. a dict keyed by integers passed in as a parameter); short lists (a split
    line, command-line arguments). As for GRN002, confidence is low unless the list is bound in the same
    function. Round 4: high impact only in a loop as long as an input; draining the leading items that a
    condition picks (`while lines and not lines[0].strip(): del lines[0]`) walks a prefix, which the
    scanner cannot tell from a whole drain (two negligible findings: a text's header lines, a traceback's
    bottom frames). Known negligible in loops over input: the names of one from-import drained per module
    (isort), a queue of a few pending tokens (Pygments); both lists are bound afresh by an outer loop, so
    since round 5 they need `--all` (which also hides one worth acting on: networkx's degree list
    rebuilt per round of a graph's peeling).""",
    nodes=(ast.Call, ast.Delete),
    calls=("pop",),
)
def _pop_front(node: ast.Call | ast.Delete, ctx: Context) -> bool | Verdict:
    if isinstance(node, ast.Delete):
        target = node.targets[0]
        if _deletes_front(node) is None or not isinstance(target, ast.Subscript) or not ctx.in_loop:
            return False
        if not _might_be_list(target.value, ctx) or _then_leaves_loop(ctx, node):
            return False
        message = (
            "`del x[0]` moves every remaining element of a list, so a loop of them is quadratic; for a "
            "queue use collections.deque and popleft(), or walk an index instead of deleting from the front"
        )
        return _front_verdict(target.value, ctx, message)
    if not _front_operation(node, ctx, arity=1):
        return False
    return _front_verdict(node.func.value if isinstance(node.func, ast.Attribute) else None, ctx)


@rule(
    id="GRN004",
    max_impact="low",
    name="str-concat-in-loop",
    tactic="GT-DS-03",
    title="String built with += inside a loop",
    message="building a string with += in a loop; collecting the pieces in a list and ''.join()ing them "
    "once is faster, but only modestly on CPython, which grows an unshared string in place (measured on "
    "3.11: 1.4× for 100 pieces, 1.8× for 10,000; more on other Pythons)",
    heuristic="""An augmented assignment `s += ...` (or `s = s + ...`) inside a loop where `s` is a plain
    name that was last bound to a string (a literal, an f-string, `str(...)`), or where the added value is a
    string literal
    or f-string, and the innermost loop does not otherwise assign `s` (then `s` is a per-iteration
    temporary, not an accumulator).""",
    false_positives="""Loops with very few iterations. CPython grows a string that nothing else refers to in
    place, so appending is much cheaper than its reputation: per-character `+=` measured 1.5× slower than
    `join` on CPython 3.11 (7× in the classroom pair with longer pieces). Findings are therefore capped at
    low impact; prepending (GRN005) is the quadratic case.""",
    nodes=(ast.AugAssign, ast.Assign),
)
def _str_concat(node: ast.AugAssign | ast.Assign, ctx: Context) -> bool:
    if not ctx.in_loop:
        return False
    if isinstance(node, ast.Assign):
        # `s = s + x`, the same accumulation spelled out
        value = node.value
        if not (
            len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(value, ast.BinOp)
            and isinstance(value.op, ast.Add)
            and isinstance(value.left, ast.Name)
            and value.left.id == node.targets[0].id
        ):
            return False
        target, added = node.targets[0], value.right
    elif isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
        target, added = node.target, node.value
    else:
        return False
    return (ctx.kind(target.id) == STR or _is_text(added)) and not _bound_each_iteration(target.id, ctx, node)


@rule(
    id="GRN005",
    name="str-prepend-in-loop",
    tactic="GT-DS-03",
    title="String prepended to inside a loop",
    message="`s = x + s` rebuilds the whole string every time; collect the pieces in a list and "
    "''.join(reversed(pieces)) once after the loop (2,000 pieces: 14× on CPython 3.11)",
    heuristic="""An assignment `s = <expr> + s` inside a loop where `s` was last bound to a string or the
    added expression is a string literal or f-string, and the innermost loop does not otherwise assign `s`
    (such as `name = prefix + name` on a fresh `name` each iteration).""",
    false_positives="""Loops with very few iterations, which is what prepending loops usually are: they walk a
    chain upwards (a token type's parents, a declarator's pointer levels, a number's digit groups), and
    the quadratic copy only shows from hundreds of pieces. On real projects none of the findings judged
    (4 in 22 projects, 2026-12-01) was worth acting on, so the rule has low confidence and shows only with
    `--all`.""",
    nodes=(ast.Assign,),
    confidence="low",
)
def _str_prepend(node: ast.Assign, ctx: Context) -> bool:
    if not ctx.in_loop or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
        return False
    name = node.targets[0].id
    value = node.value
    return (
        isinstance(value, ast.BinOp)
        and isinstance(value.op, ast.Add)
        and isinstance(value.right, ast.Name)
        and value.right.id == name
        and not (isinstance(value.left, ast.Name) and value.left.id == name)
        and (ctx.kind(name) == STR or _is_text(value.left))
        and not _bound_each_iteration(name, ctx, node)
    )


@rule(
    id="GRN013",
    max_impact="low",
    name="dict-items-partly-unused",
    tactic="GT-DS-04",
    title="Looping over .items() but using only keys or only values",
    message="the loop never uses one half of each `.items()` pair; iterate the mapping itself for keys, or "
    "`.values()` for values",
    heuristic="""A `for k, v in y.items():` loop where the body and `else` clause never read `k` (suggest
    `.values()`) or never read `v` (suggest iterating `y`). Loops that use neither are left alone.""",
    false_positives="""Loop variables read after the loop has ended; objects whose `items()` is not a dict
    view and is cheaper than iterating them.""",
    nodes=_FOR,
)
def _items_partly_unused(node: ast.For, ctx: Context) -> bool | str:
    it, target = node.iter, node.target
    if not (
        isinstance(it, ast.Call)
        and isinstance(it.func, ast.Attribute)
        and it.func.attr == "items"
        and not it.args
        and not it.keywords
    ):
        return False
    if not (
        isinstance(target, ast.Tuple)
        and len(target.elts) == 2
        and all(isinstance(e, ast.Name) for e in target.elts)
    ):
        return False
    key, value = [e.id for e in target.elts if isinstance(e, ast.Name)]
    used = _names_used(node.body + node.orelse)
    if key in used and value not in used:
        return (
            f"`{value}` is never used; iterate the mapping itself (`for {key} in ...:`) instead of .items()"
        )
    if value in used and key not in used:
        return f"`{key}` is never used; iterate `.values()` instead of .items()"
    return False


def _bounded_signature(node: ast.FunctionDef, ctx: Context) -> bool:
    """Every parameter (but self/cls) can take only a few values, as its annotation or default says."""
    args = node.args
    if args.vararg or args.kwarg:
        return False
    params = [a for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.arg not in ("self", "cls")]
    positional = [*args.posonlyargs, *args.args]
    with_defaults = [a.arg for a in positional][len(positional) - len(args.defaults) :]
    defaults = dict(zip(with_defaults, args.defaults, strict=True))
    defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
    enums = ctx.module.notes.get("enums", set())

    def bounded(arg: ast.arg) -> bool:
        note = arg.annotation
        if isinstance(note, ast.Subscript) and (ctx.qualname(note.value) or "").endswith("Literal"):
            return True
        if isinstance(note, ast.Name) and (note.id == "bool" or note.id in enums):
            return True
        default = defaults.get(arg.arg)
        return note is None and isinstance(default, ast.Constant) and isinstance(default.value, bool)

    return bool(params) and all(bounded(a) for a in params)


@rule(
    id="GRN021",
    name="unbounded-cache",
    tactic="GT-DS-05",
    title="Memoisation cache without a size limit",
    message="an unbounded cache keeps every result for the life of the process; give it a bound, e.g. "
    "@functools.lru_cache(maxsize=1024)",
    heuristic="""A function with at least one parameter decorated with `functools.cache` or
    `functools.lru_cache(maxsize=None)`. Parameterless functions are skipped: their cache holds one value; so
    are methods whose only parameter is `cls` (a cached `__new__` or class method: one value per class).""",
    false_positives="""Functions whose arguments come from a small, fixed set that the signature does not
    show (a handful of configuration keys), where the cache cannot grow far. Skipped on purpose: functions
    whose every parameter is annotated `bool`, `Literal[...]` or an `Enum` class defined in the file, or
    defaults to `True`/`False`: their cache is bounded by construction.""",
    nodes=_FUNCTIONS,
    max_impact="medium",
    confidence="medium",
)
def _unbounded_cache(node: ast.FunctionDef, ctx: Context) -> bool:
    args = node.args
    if not (args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg):
        return False
    if _bounded_signature(node, ctx):
        return False
    only = [*args.posonlyargs, *args.args]
    one_per_class = (
        isinstance(ctx.scope.node, ast.ClassDef)
        and len(only) == 1
        and only[0].arg == "cls"
        and not (args.kwonlyargs or args.vararg or args.kwarg)
    )
    if one_per_class:
        return False
    for decorator in node.decorator_list:
        name = ctx.callee(decorator)
        if name == "functools.cache":
            return True
        if name == "functools.lru_cache" and isinstance(decorator, ast.Call):
            maxsize = _argument(decorator, 0, "maxsize")
            if isinstance(maxsize, ast.Constant) and maxsize.value is None:
                return True
    return False


# ---------------------------------------------------------------------------------------------------------
# loops and computation


#: Position of the ``flags`` argument of each ``re`` function.
_REGEX_FLAGS_AT = {"compile": 1, "split": 3, "sub": 4, "subn": 4}


@rule(
    id="GRN007",
    name="regex-in-loop",
    tactic="GT-LP-01",
    title="Constant regular expression compiled or looked up inside a loop",
    message="the pattern is the same on every iteration; compile it once outside the loop (e.g. "
    "PATTERN = re.compile(...) at module level) and call PATTERN.search() etc. in the loop (about 2.3× "
    "on the call on CPython 3.11 while re's own cache holds the pattern, far more when it does not)",
    heuristic="""A call of `re.compile`, `re.match`, `re.search`, `re.fullmatch`, `re.findall`,
    `re.finditer`, `re.sub`, `re.subn` or `re.split` inside a loop whose pattern argument is a string
    literal, unless its `flags` argument uses a name the loop binds (then each iteration compiles a different
    expression).""",
    false_positives="""Loops that run a few times. `re` keeps its own cache of recently used patterns, so the
    saving is modest (measured about 2.3×) unless many different patterns are in use (about 120× when its
    cache is defeated); hence medium confidence: findings show by default only in heavy loops of unknown
    size: nested, `while`, or over an input's elements (named lines, tokens, words, nodes, rows, a stream,
    a text; `splitlines()`, `readlines()`, `finditer()`, a file, or since round 7 a name bound to one by
    `with open(p) as f` or `f = open(p)`). Loops over other things (the fields of one
    format string, a document's metadata, a lexer's token table) were negligible in all 5 judged cases and
    need `--all`; so does a loop over lines that stops at the first line of code (its body ends with
    `break`: it reads only the leading comment lines).""",
    confidence="medium",
    heavy_loops_only=True,
    nodes=(ast.Call,),
    calls=("compile", "match", "search", "fullmatch", "findall", "finditer", "sub", "subn", "split"),
)
def _regex_in_loop(node: ast.Call, ctx: Context) -> bool:
    if not ctx.in_loop:
        return False
    name = ctx.qualname(node.func)
    if (
        name is None
        or not name.startswith("re.")
        or name.count(".") != 1
        or _const(_argument(node, 0, "pattern"), (str, bytes)) is None
    ):
        return False
    flags = _argument(node, _REGEX_FLAGS_AT.get(name[3:], 2), "flags")
    loop = ctx.innermost_loop()
    return flags is None or loop is None or not (_names_in(flags) & _bound_in_loop(loop))


@rule(
    id="GRN010",
    name="list-into-reducer",
    tactic="GT-LP-03",
    title="List comprehension passed to sum/any/all/min/max",
    message="drop the square brackets: a generator expression feeds the function without building a list "
    "(and lets any()/all() stop at the first decisive item)",
    heuristic="""A call of the built-in `sum`, `any`, `all`, `min` or `max` whose first argument is a list
    comprehension. For `any`/`all` the gain is stopping early, so comprehensions that call anything are
    left alone: their list forces every call's side effects, and a generator would change behaviour. For
    `sum`/`min`/`max` the gain is memory only (on CPython 3.11 `sum` over a generator measured 1.15×
    slower than over a list, at 10 and at 10,000 items), so those findings are capped at low impact.""",
    false_positives="""Comprehensions whose element is an attribute or subscript with side effects
    (properties, `__getitem__`), which a generator would stop evaluating early. Round 4: an `any`/`all`
    over a comprehension that walks no input (a literal such as `'+-/%'`, an object's own attributes, a
    dict built in the function from fixed keys) stops early after a few items at best: medium confidence,
    `--all` (five negligible findings: a spec's operators, one ASN.1 type's components, a dozen time
    units).""",
    nodes=(ast.Call,),
    calls=("sum", "any", "all", "min", "max"),
    max_impact="medium",
)
def _list_into_reducer(node: ast.Call, ctx: Context) -> bool | Verdict:
    if not (
        node.args
        and isinstance(node.args[0], ast.ListComp)
        and _builtin(node, ctx, "sum", "any", "all", "min", "max")
    ):
        return False
    function = node.func.id if isinstance(node.func, ast.Name) else ""
    if function in ("any", "all"):
        element = node.args[0].elt
        if any(isinstance(n, ast.Call) for n in ast.walk(element)):
            return False
        if not _walks_input(node.args[0], ctx):
            # `any([o in path for o in "+-/"])`, `any([... for t in self.types])`: a few items, and the
            # early stop saves a few steps
            return Verdict(confidence="medium")
        return True
    return Verdict(
        "drop the square brackets only to save the list's memory on large inputs: a generator is not "
        "faster (sum over a generator measured 1.15× slower than over a list, at 10 and 10,000 items, on "
        "CPython 3.11)",
        max_impact="low",
    )


@rule(
    id="GRN011",
    name="loop-over-list-comprehension",
    tactic="GT-LP-03",
    title="Loop over a list comprehension",
    message="the loop builds the whole list before its first iteration; iterate a generator expression "
    "(parentheses instead of brackets)",
    heuristic="""A `for` loop or comprehension clause whose iterable is a list comprehension, unless the loop
    body changes a collection the comprehension reads (then the list is a snapshot on purpose). The gain
    is the list's memory, so findings are capped at low impact.""",
    false_positives="""Loops that change the collection through another name or a method call the scanner
    does not see.""",
    nodes=(*_FOR, ast.comprehension),
    max_impact="low",
)
def _loop_over_listcomp(node: ast.For | ast.comprehension, ctx: Context) -> bool:
    if not isinstance(node.iter, ast.ListComp):
        return False
    body = node.body if isinstance(node, _FOR) else []
    sources = _names_in(node.iter) - {
        n.id for g in node.iter.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
    }
    return not any(_mutated(body, name, _MUTATING) for name in sources)


@rule(
    id="GRN028",
    max_impact="medium",
    name="loop-over-readlines",
    tactic="GT-LP-03",
    title="Loop over file.readlines()",
    message="readlines() reads the whole file into a list first; iterate the file object directly "
    "(`for line in f:`)",
    heuristic="""A `for` loop or comprehension clause whose iterable is a call `x.readlines()` without
    arguments.""",
    false_positives="""Objects other than files whose `readlines()` returns a list they already hold.
    Of medium confidence (`--all`): the list costs memory for the file's size, the lines are read either
    way, and every such finding judged on real projects (3 of 3) read one small file once.""",
    confidence="medium",
    nodes=(*_FOR, ast.comprehension),
)
def _loop_over_readlines(node: ast.For | ast.comprehension, ctx: Context) -> bool:
    it = node.iter
    if ctx.scope.name == "readlines":
        return False  # a wrapper's own readlines() must return a list
    return (
        isinstance(it, ast.Call)
        and isinstance(it.func, ast.Attribute)
        and it.func.attr == "readlines"
        and not it.args
        and not it.keywords
    )


@rule(
    id="GRN012",
    max_impact="medium",
    name="manual-sum",
    tactic="GT-LP-02",
    title="Hand-written accumulation loop",
    message="the loop only adds up its items; sum(xs) (math.fsum for floats) runs the loop in C (10,000 "
    "items: 4.8× on CPython 3.11)",
    heuristic="""A `for` loop without `else` whose body is a single `acc += expr` (or `acc = acc + expr`),
    where `acc` was last bound to a number literal and `expr` does not read `acc` and calls nothing: the
    gain is the interpreter's loop overhead. Only loops that add their own variable (`t += x`) are
    reported: `sum(xs)` then runs entirely in C (measured 4.8×); for an expression (`t += x * 2`),
    `sum(x * 2 for x in xs)` measured 1.12× slower than the loop on CPython 3.11: nothing to gain.""",
    false_positives="""Accumulators later re-bound to a non-number that the scanner cannot see (e.g. a
    Decimal or a NumPy array added to the integer 0).""",
    nodes=_FOR,
)
def _manual_sum(node: ast.For, ctx: Context) -> bool:
    if node.orelse or len(node.body) != 1:
        return False
    stmt = node.body[0]
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and isinstance(stmt.target, ast.Name):
        acc, value = stmt.target.id, stmt.value
    elif (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.BinOp)
        and isinstance(stmt.value.op, ast.Add)
        and isinstance(stmt.value.left, ast.Name)
        and stmt.value.left.id == stmt.targets[0].id
    ):
        acc, value = stmt.targets[0].id, stmt.value.right
    else:
        return False
    if ctx.kind(acc) != NUMBER:
        return False
    if any(isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.NamedExpr)) for n in ast.walk(value)):
        return False  # the body's own work dominates; the loop's overhead is not what costs
    if any(isinstance(n, ast.Name) and n.id == acc for n in ast.walk(value)):
        return False
    # `for x in xs: t += x` is sum(xs), which runs entirely in C; `t += f(x)` is not worth changing:
    # sum(f(x) for x in xs) still evaluates f per item and measured 1.12x slower than the loop (3.11)
    return isinstance(value, ast.Name) and any(
        isinstance(n, ast.Name) and n.id == value.id for n in ast.walk(node.target)
    )


@rule(
    id="GRN014",
    max_impact="low",
    name="square-with-pow",
    tactic="GT-LP-06",
    title="Squaring with ** 2 or pow() inside a loop",
    message="`x * x` is cheaper than the general power routine behind `x ** 2` and pow(x, 2) (2× on the "
    "squaring itself on CPython 3.11; it matters only in hot numeric loops)",
    heuristic="""Inside a loop, `name ** 2` or `pow(name, 2)` / `math.pow(name, 2)` where the base is a plain
    name or attribute. Files that import NumPy, pandas, PyTorch or JAX are skipped, because there `**2` is
    usually array arithmetic that is already specialised.""",
    false_positives="""Bases that are arrays or other objects with their own fast squaring in files that do
    not import those libraries directly; loops that run a few times. The saving per operation is small:
    it matters in hot numeric loops only.""",
    nodes=(ast.BinOp, ast.Call),
    calls=("pow",),
)
def _square_with_pow(node: ast.BinOp | ast.Call, ctx: Context) -> bool:
    if not ctx.in_loop or any(ctx.imports_module(m) for m in ("numpy", "pandas", "torch", "jax")):
        return False
    if isinstance(node, ast.BinOp):
        base, exponent = node.left, node.right
        if not isinstance(node.op, ast.Pow):
            return False
    else:
        if ctx.qualname(node.func) not in ("pow", "math.pow") or len(node.args) != 2 or node.keywords:
            return False
        base, exponent = node.args
    return _const(exponent, int) == 2 and isinstance(base, (ast.Name, ast.Attribute))


@rule(
    id="GRN024",
    name="uncached-recursion",
    tactic="GT-LP-05",
    title="Recursive function with overlapping calls and no cache",
    message="the function calls itself more than once with smaller arguments, so it recomputes the same "
    "sub-problems; memoise it with @functools.lru_cache or compute bottom-up",
    heuristic="""A function, not decorated with anything whose name contains `cache` or `memo`, whose body
    calls the function itself by name at least twice with an argument of the form `param - constant` and
    uses the results (the shape of Fibonacci-like recurrences). Recursive calls made as statements, for
    their side effects (Towers of Hanoi, drawing), are not counted, and a function that keeps its own memo
    (it reads and stores one container keyed by its parameters: `if n in _cache: return _cache[n]` ...
    `_cache[n] = result`) is already cached.""",
    false_positives="""Functions with side effects or unhashable arguments, which cannot be memoised as they
    are; recursions whose calls never repeat an argument.""",
    nodes=_FUNCTIONS,
    after_body=True,
)
def _uncached_recursion(node: ast.FunctionDef, ctx: Context) -> bool:
    if any(word in (ctx.callee(d) or "").lower() for d in node.decorator_list for word in ("cache", "memo")):
        return False
    params = {a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)}

    def shrinks(call: ast.Call) -> bool:
        return any(
            isinstance(a, ast.BinOp)
            and isinstance(a.op, ast.Sub)
            and isinstance(a.left, ast.Name)
            and a.left.id in params
            and _const(a.right, int) is not None
            for a in call.args
        )

    return sum(1 for call in ctx.scope.self_calls if shrinks(call)) >= 2 and not _hand_memoised(node, params)


def _hand_memoised(function: ast.FunctionDef, params: set[str]) -> bool:
    """Whether ``function`` keeps its own memo: it stores into and reads from one container keyed by its
    parameters (`if n in _cache: return _cache[n]` ... `_cache[n] = result`)."""

    def keyed_by_params(key: ast.expr) -> bool:
        names = _names_in(key)
        return bool(names) and names <= params

    stored: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and keyed_by_params(node.slice):
            (stored if isinstance(node.ctx, ast.Store) else read).add(ast.dump(node.value))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and keyed_by_params(node.args[0])
        ):
            read.add(ast.dump(node.func.value))
    return bool(stored & read)


@rule(
    id="GRN025",
    name="sort-for-extreme",
    tactic="GT-LP-04",
    title="Sorting to take the smallest or largest item",
    message="sorting everything to pick one item is O(n log n); min() and max() find it in one pass",
    heuristic="""A subscript `sorted(...)[0]` or `sorted(...)[-1]`. Sorting a literal display of a few
    items (`sorted((LF, CRLF, CR), key=counts.get)[0]`, up to 32) costs about what one pass does, so such
    findings are of low impact (`--all`). Sorting something that derives from no input (one result per
    style or option the code tries) is of medium confidence (`--all`).""",
    false_positives="""With ties, `sorted(xs)[-1]` returns the last of the equal largest items while `max`
    returns the first; it matters only when equal items are distinguishable. Judged negligible: one parse
    result per docstring style (five), sorted to keep the fullest.""",
    nodes=(ast.Subscript,),
)
def _sort_for_extreme(node: ast.Subscript, ctx: Context) -> bool | str | Verdict:
    call = node.value
    if not (isinstance(call, ast.Call) and _builtin(call, ctx, "sorted")):
        return False
    index = node.slice
    if _const(index, int) == 0:
        first = True
    elif (
        isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) and _const(index.operand, int) == 1
    ):
        first = False
    else:
        return False
    reverse = _keyword(call, "reverse")
    if reverse is not None:
        if not isinstance(reverse.value, ast.Constant):
            return False
        first = first != bool(reverse.value.value)
    function = "min" if first else "max"
    message = (
        f"sorting everything to pick one item is O(n log n); use {function}(...) (same key=), which is O(n)"
    )
    if call.args and small_display(call.args[0]):
        # `sorted((LF, CRLF, CR), key=counts.get)[0]`: sorting three items costs what one pass does
        return Verdict(f"{message}; with a literal of a few items only for clarity", max_impact="low")
    if call.args and not ctx.derives_from_input(call.args[0]):
        # `sorted(results)[0]` over one result per style or option: a few items
        return Verdict(message, confidence="medium")
    return message


@rule(
    id="GRN027",
    name="dataframe-iterrows",
    tactic="GT-LP-07",
    title="Loop over DataFrame.iterrows()",
    message="iterrows() builds a Series for every row; express the work as column operations "
    "(df['a'] * df['b'], numpy.where, groupby), or use itertuples() if a loop is unavoidable",
    heuristic="""A `for` loop or comprehension clause whose iterable is a call `x.iterrows()`.""",
    false_positives="""Small frames where clarity matters more than speed; row logic that cannot be
    vectorised.""",
    nodes=(*_FOR, ast.comprehension),
)
def _iterrows(node: ast.For | ast.comprehension, ctx: Context) -> bool:
    it = node.iter
    return isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr == "iterrows"


# ---------------------------------------------------------------------------------------------------------
# waiting

#: Sleeping for at most this long between checks is polling, not a periodic job.
POLL_MAX_S = 1.0
_PROBES = frozenset(
    {
        "is_set",
        "isSet",
        "done",
        "is_alive",
        "isAlive",
        "empty",
        "full",
        "locked",
        "poll",
        "ready",
        "running",
        "cancelled",
        "qsize",
        "exists",
        "is_file",
        "is_dir",
        "len",
    }
)
_CLOCKS = frozenset(
    {
        "time.time",
        "time.monotonic",
        "time.perf_counter",
        "time.time_ns",
        "time.monotonic_ns",
        "time.perf_counter_ns",
    }
)


@rule(
    id="GRN008",
    name="sleep-polling",
    tactic="GT-WT-01",
    title="Polling with a short sleep in a while loop",
    message="a while loop that sleeps briefly and checks again is polling; block on the event instead "
    "(threading.Event.wait(timeout), Condition.wait, queue.get(timeout=...), Popen.wait, selectors, "
    "or an asyncio Event/future)",
    heuristic=f"""A call of `time.sleep` or `asyncio.sleep` with a constant of at most {POLL_MAX_S:g} s whose
    nearest enclosing loop is a `while` loop. Sleeps in `except` blocks (retry with delay), in `for` loops
    (a fixed number of attempts), with longer or computed durations (periodic jobs, back-off) are left
    alone, and so are loops that wait for nothing outside themselves: a condition whose names the body
    rebinds (`while n < 10: ...; n += 1`, a count), or `while True` whose body works unconditionally and never
    tests anything (a heartbeat or monitor).""",
    false_positives="""Polling of something that offers no way to wait for it (some hardware, files on
    network file systems, third-party APIs); rate limiting written as a while loop.""",
    nodes=(ast.Call,),
    calls=("sleep",),
    sized_by_input=False,
    suppress_on_loop=True,
)
def _sleep_polling(node: ast.Call, ctx: Context) -> bool:
    if ctx.qualname(node.func) not in ("time.sleep", "asyncio.sleep"):
        return False
    seconds = _const(_argument(node, 0, "seconds", "delay"), (int, float))
    if seconds is None or seconds > POLL_MAX_S:
        return False
    nearest = ctx.enclosing((ast.While, *_FOR, ast.ExceptHandler, *COMPREHENSIONS))
    if not isinstance(nearest, ast.While):
        return False
    tested = _names_in(nearest.test)
    if tested and tested <= _bound_in_loop(nearest):
        return False  # the loop counts its own steps
    if isinstance(nearest.test, ast.Constant) and nearest.test.value:
        decisions = (ast.If, ast.IfExp, ast.Break, ast.Return, ast.Raise, ast.Try, ast.Match, ast.While)
        checks = any(isinstance(n, decisions) for s in nearest.body for n in ast.walk(s))
        return checks or len(nearest.body) == 1  # only sleeping is still waiting, for nothing
    return True


def _only_probes(test: ast.AST, ctx: Context) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else None
            )
            if name not in _PROBES and ctx.qualname(func) not in _CLOCKS:
                return False
    return True


@rule(
    id="GRN009",
    name="busy-wait",
    tactic="GT-WT-01",
    title="Empty loop spinning on a condition",
    message="an empty loop re-checking a condition keeps a core at full power while it waits; wait on a "
    "threading.Event or Condition, join() the thread, or Popen.wait() instead",
    heuristic="""A `while` loop whose body is only `pass`, `...` or `continue`, and whose condition calls
    nothing but status probes (`is_set()`, `done()`, `is_alive()`, `empty()`, `poll()`, `exists()`, ...)
    or clocks (`time.monotonic()`, ...). A condition that calls anything else may be doing the work
    itself (`while step(): pass`) and is left alone.""",
    false_positives="""Very short spins in low-level code that deliberately avoids a context switch.""",
    nodes=(ast.While,),
    sized_by_input=False,
)
def _busy_wait(node: ast.While, ctx: Context) -> bool:
    if isinstance(node.test, ast.Constant) and not node.test.value:
        return False  # `while 0: pass` never runs
    empty = all(
        isinstance(s, (ast.Pass, ast.Continue))
        or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in node.body
    )
    return empty and _only_probes(node.test, ctx)


# ---------------------------------------------------------------------------------------------------------
# logging

_LOGGER_NAME = re.compile(r"^_*(log|logger|\w*_log|\w*_logger)$", re.IGNORECASE)
_LAZY_LEVELS = frozenset({"DEBUG", "INFO"})


def _is_logger(receiver: ast.AST, ctx: Context) -> bool:
    if isinstance(receiver, ast.Call):
        return (ctx.qualname(receiver.func) or "").endswith("getLogger")
    name = ctx.qualname(receiver)
    if name is None:
        return False
    if name == "logging":
        return True
    if isinstance(receiver, ast.Name):
        kind = ctx.kind(receiver.id)
        if kind == LOGGER:
            return True
        if kind not in (None, PARAM):
            return False
    return bool(_LOGGER_NAME.match(name.rpartition(".")[2]))


def _formats_eagerly(message: ast.AST | None) -> bool:
    if isinstance(message, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in message.values)
    if isinstance(message, ast.BinOp):
        if isinstance(message.op, ast.Mod):
            return _is_text(message.left)
        if isinstance(message.op, ast.Add):
            return _is_text(message.left) != _is_text(message.right) or isinstance(
                message.left, ast.JoinedStr
            )
    return (
        isinstance(message, ast.Call)
        and isinstance(message.func, ast.Attribute)
        and message.func.attr == "format"
        and _is_text(message.func.value)
    )


@rule(
    id="GRN006",
    name="eager-log-formatting",
    tactic="GT-LG-01",
    title="Log message formatted before the level check",
    message="the message is formatted even when the level is disabled; pass a %-template and the values "
    "separately, e.g. log.debug('loaded %s rows from %s', n, path)",
    heuristic="""A `debug()` or `info()` call (or `log(logging.DEBUG/INFO, ...)`) on a logger - the `logging`
    module, a name bound to `logging.getLogger(...)`, or a name or attribute called `log`, `logger`,
    `_log`, `*_logger`, ... - whose message is an f-string with placeholders, a `%` expression, a
    `.format()` call or a concatenation. Warnings and errors are left alone: those levels are normally
    enabled, so deferring the formatting saves nothing.""",
    false_positives="""Objects named like loggers that are not `logging` loggers (loguru and structlog
    loggers format differently but still pay for an f-string); code where DEBUG/INFO is always enabled.
    Skipped on purpose: a concatenation that only builds the template while the values are passed
    separately (`log.debug(prefix + "%s", value)`), which keeps the values lazy.""",
    max_impact="medium",
    nodes=(ast.Call,),
    calls=("debug", "info", "log"),
    confidence="medium",
)
def _eager_log(node: ast.Call, ctx: Context) -> bool:
    func = node.func
    if not isinstance(func, ast.Attribute) or not _is_logger(func.value, ctx):
        return False
    if func.attr == "log":
        level = node.args[0] if node.args else None
        level_name = ctx.qualname(level) if level is not None else None
        if level_name is None or level_name.rpartition(".")[2] not in _LAZY_LEVELS:
            return False
        position = 1
    else:
        position = 0
    message = _argument(node, position, "msg")
    if isinstance(message, ast.BinOp) and isinstance(message.op, ast.Add) and len(node.args) > position + 1:
        return False  # `"%s " + template, args`: only the template is joined, the arguments stay lazy
    return _formats_eagerly(message)


# ---------------------------------------------------------------------------------------------------------
# I/O and network


def _is_stream(receiver: ast.AST, ctx: Context) -> bool:
    """A file-like object: ``sys.stdout``/``stderr``, a name bound to ``open(...)``, or a name or attribute
    named like a stream (``f``, ``fh``, ``out``, ``stream``, ``*_file``, ...). An ORM session's or a
    compressor's ``flush`` is something else."""
    name = ctx.qualname(receiver)
    if name is None:
        return False
    if name in ("sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"):
        return True
    if isinstance(receiver, ast.Name):
        kind = ctx.kind(receiver.id) or ""
        if kind in (CALL + "open", CALL + "io.open") or kind.startswith(CALL + "io."):
            return True
    return bool(_STREAM_NAME.match(name.rpartition(".")[2]))


_STREAM_NAME = re.compile(
    r"^_*(f|fh|fp|fd|fo|file|out|outfile|output|stream|stdout|stderr|wfile|\w+_(file|stream|out))$"
)


@rule(
    id="GRN022",
    confidence="medium",
    name="unbuffered-write-in-loop",
    tactic="GT-IO-01",
    title="Unbuffered write or flush inside a loop",
    message="each os.write()/flush() is a system call; collect the output and write it once after the loop, "
    "or let a buffered file object batch it",
    heuristic="""Directly inside a `for` loop (one write per item): a call of `os.write`, a `.flush()` call
    without arguments whose result is not used on something that looks like a stream (`sys.stdout`, a
    name bound to `open(...)`, or named `f`, `fh`, `out`, `stream`, `*_file`, ...: an ORM session's
    `flush()` sends pending changes to the database and is not I/O buffering), or `print(...,
    flush=True)`. Writes to a stream or
    descriptor the loop binds (its variable, or an object made in its body: one per item) are left alone,
    and so are `flush()` calls whose result is used (a compressor's flush returns data, it is not I/O) and
    `while` loops: they are usually event loops or chunked transfers that must write what has arrived.""",
    false_positives="""Progress output or logs that must appear immediately (an interactive terminal, a
    file tailed by another process, a pipe protocol); a loop that writes once and exits on success.""",
    nodes=(ast.Call,),
    calls=("write", "flush", "print"),
)
def _unbuffered_write(node: ast.Call, ctx: Context) -> bool:
    loop = ctx.innermost_loop()
    if not isinstance(loop, _FOR):
        return False
    per_item = _bound_in_loop(loop)  # a different stream or descriptor per item cannot be batched
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "flush":
        statement = isinstance(ctx.ancestors[-1], ast.Expr) if ctx.ancestors else True
        return (
            statement
            and not node.args
            and not node.keywords
            and not (_names_in(func.value) & per_item)
            and _is_stream(func.value, ctx)
        )
    if _builtin(node, ctx, "print"):
        flush = _keyword(node, "flush")
        return flush is not None and isinstance(flush.value, ast.Constant) and flush.value.value is True
    return ctx.qualname(func) == "os.write" and bool(node.args) and not (_names_in(node.args[0]) & per_item)


@rule(
    id="GRN023",
    name="open-in-loop",
    tactic="GT-IO-01",
    title="Same file opened on every iteration",
    message="the loop opens the same path on every iteration; open it once before the loop and reuse the "
    "file object",
    heuristic="""Inside a loop, a call of `open`, `io.open` or `codecs.open` with a string literal path.""",
    false_positives="""Files that other processes replace between iterations, which must be re-opened.""",
    nodes=(ast.Call,),
    calls=("open",),
)
def _open_in_loop(node: ast.Call, ctx: Context) -> bool:
    return (
        ctx.in_loop
        and ctx.qualname(node.func) in ("open", "io.open", "codecs.open")
        and ctx.kind("open") is None
        and _const(_argument(node, 0, "file", "filename"), str) is not None
    )


_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")


@rule(
    id="GRN026",
    name="http-without-session",
    tactic="GT-NW-01",
    title="Module-level HTTP call inside a loop",
    message="each requests.get()/httpx.get() opens a new connection (TCP and TLS handshakes); create one "
    "requests.Session() / httpx.Client() before the loop and reuse it, and batch requests if the API allows",
    heuristic="""Inside a loop, a call of a module-level helper of `requests` or `httpx` (`get`, `post`,
    `put`, `patch`, `delete`, `head`, `options`, `request`).""",
    false_positives="""Loops that contact a different host on every iteration, where a session cannot reuse
    connections (it still reuses TLS configuration and is rarely slower).""",
    nodes=(ast.Call,),
    calls=_HTTP_VERBS,
)
def _http_without_session(node: ast.Call, ctx: Context) -> bool:
    name = ctx.qualname(node.func)
    return ctx.in_loop and name in {f"{m}.{v}" for m in ("requests", "httpx") for v in _HTTP_VERBS}


# ---------------------------------------------------------------------------------------------------------
# data: queries and files

_SQL_STATEMENT = re.compile(r"^\s*(select|insert|update|delete|replace|upsert)\b", re.IGNORECASE)
_SELECT_STAR = re.compile(r"^\s*select\s+\*\s+from\b", re.IGNORECASE)
_SCHEMA_PROBE = re.compile(r"\blimit\s+[01]\b|\bwhere\s+(1\s*=\s*0|0|false)\b", re.IGNORECASE)


def _sql_argument(node: ast.AST, ctx: Context) -> ast.AST:
    """The SQL text expression behind ``text("...")`` (SQLAlchemy) or a name bound to SQL text earlier."""
    if isinstance(node, ast.Name):
        node = ctx.text_of(node.id) or node
    if isinstance(node, ast.Call) and (ctx.qualname(node.func) or "").rpartition(".")[2] == "text":
        return node.args[0] if node.args else node
    return node


@rule(
    id="GRN015",
    name="sql-in-loop",
    tactic="GT-DB-02",
    title="SQL statement executed once per loop iteration",
    message="one query per iteration pays a round trip and a parse each time; batch it: executemany() for "
    "writes, one query with IN (...) or a JOIN for reads",
    heuristic="""Inside a loop, a call `x.execute(sql, ...)` whose SQL text (a literal, f-string, `%` or
    `.format()` expression, SQLAlchemy's `text(...)`, or a name bound to one of those earlier in the
    function or module) starts with SELECT, INSERT, UPDATE, DELETE, REPLACE or UPSERT.""",
    false_positives="""Statements that genuinely differ per iteration, or depend on the previous one's result;
    loops over a handful of items.""",
    nodes=(ast.Call,),
    calls=("execute",),
)
def _sql_in_loop(node: ast.Call, ctx: Context) -> bool:
    if not ctx.in_loop or not node.args or not isinstance(node.func, ast.Attribute):
        return False
    text = _leading_text(_sql_argument(node.args[0], ctx))
    return text is not None and bool(_SQL_STATEMENT.match(text))


@rule(
    id="GRN016",
    name="select-star",
    tactic="GT-DB-01",
    title="SELECT * query",
    message="name the columns you need instead of SELECT *: less data is read, transferred and decoded",
    heuristic="""A call whose first argument is SQL text (literal, f-string, `%` or `.format()`) starting with
    `SELECT * FROM`.""",
    false_positives="""Queries that really need every column (a generic export). Skipped on purpose: queries
    that read at most one row or none (`LIMIT 0`, `LIMIT 1`, `WHERE 1 = 0`), the usual way to read a
    table's columns.""",
    nodes=(ast.Call,),
    max_impact="medium",
)
def _select_star(node: ast.Call, ctx: Context) -> bool:
    if not node.args:
        return False
    text = _leading_text(_sql_argument(node.args[0], ctx))
    if text is None or not _SELECT_STAR.match(text):
        return False
    return not _SCHEMA_PROBE.search(_all_text(node.args[0]))


_READERS = {
    "read_csv": ("usecols", "columns"),
    "read_table": ("usecols",),
    "read_fwf": ("usecols",),
    "read_excel": ("usecols",),
    "read_parquet": ("columns",),
    "read_feather": ("columns",),
    "read_orc": ("columns",),
}


@rule(
    id="GRN017",
    max_impact="medium",
    name="read-all-columns",
    tactic="GT-IO-02",
    title="Data file read without choosing columns",
    message="the reader parses every column; pass usecols= (CSV, Excel) or columns= (Parquet, Feather, ORC, "
    "polars) with the columns the code uses",
    heuristic="""A call of `pandas.read_csv`, `read_table`, `read_fwf`, `read_excel`, `read_parquet`,
    `read_feather`, `read_orc` or the polars equivalents (resolved through imports) without a `usecols=` or
    `columns=` argument and without `**kwargs`.""",
    false_positives="""Code that really uses every column, or files with only a few columns.""",
    nodes=(ast.Call,),
    calls=tuple(_READERS),
)
def _read_all_columns(node: ast.Call, ctx: Context) -> bool:
    name = ctx.qualname(node.func) or ""
    module, _, reader = name.rpartition(".")
    if module not in ("pandas", "polars") or reader not in _READERS or _has_star_kwargs(node):
        return False
    return _keyword(node, "usecols", "columns") is None


_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")


@rule(
    id="GRN018",
    max_impact="medium",
    confidence="medium",
    name="uncompressed-csv-output",
    tactic="GT-DB-03",
    title="Dataframe written as uncompressed CSV",
    message="CSV is large and slow to parse back; store data in a columnar format (to_parquet()) or at least "
    "compressed (to_csv(..., compression='gzip') or a .gz file name)",
    heuristic="""In a file that imports pandas or polars, a `.to_csv(path)` or `.write_csv(path)` call whose
    path is a string literal or f-string not ending in a compressed extension (.gz, .bz2, .zip, .xz, .zst,
    .tar), without a `compression=` argument.""",
    false_positives="""CSV written for people or spreadsheets, or for a consumer that only reads CSV; small
    files.""",
    nodes=(ast.Call,),
    calls=("to_csv", "write_csv"),
)
def _uncompressed_csv(node: ast.Call, ctx: Context) -> bool:
    if not isinstance(node.func, ast.Attribute) or _keyword(node, "compression") or _has_star_kwargs(node):
        return False
    if not (ctx.imports_module("pandas") or ctx.imports_module("polars")):
        return False
    path = _argument(node, 0, "path_or_buf", "file")
    if isinstance(path, ast.JoinedStr):
        path = path.values[-1] if path.values else None
        tail = _const(path, str)
        return tail is None or not tail.endswith(_COMPRESSED)
    text = _const(path, str)
    return text is not None and not text.endswith(_COMPRESSED)


# ---------------------------------------------------------------------------------------------------------
# machine learning

_NO_GRAD = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.set_grad_enabled",
        "torch.autograd.no_grad",
        "torch.autograd.grad_mode.no_grad",
        "torch.autograd.grad_mode.inference_mode",
    }
)


@rule(
    id="GRN019",
    name="inference-with-autograd",
    tactic="GT-ML-01",
    title="Model called after .eval() without disabling autograd",
    message="autograd still records the graph and keeps activations during inference; wrap it in "
    "`with torch.inference_mode():` (or torch.no_grad())",
    heuristic="""In a file that imports torch: `m.eval()` followed, in the same function (or at module level),
    by a call `m(...)` or `m.forward(...)` that is not inside `with torch.no_grad()`,
    `torch.inference_mode()` or `torch.set_grad_enabled(...)`, in a function not decorated with one of
    them.""",
    false_positives="""Callers that already disable autograd around the whole function; evaluation code that
    needs gradients on purpose (saliency maps, adversarial examples).""",
    nodes=(ast.Call,),
)
def _inference_with_autograd(node: ast.Call, ctx: Context) -> bool:
    if not ctx.imports_module("torch"):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "eval" and not node.args and not node.keywords:
        model = ctx.qualname(func.value)
        if model is not None:
            ctx.scope.notes.setdefault("GRN019", set()).add(model)
        return False
    target = func.value if isinstance(func, ast.Attribute) and func.attr == "forward" else func
    model = ctx.qualname(target)
    if model is None:
        return False
    evaluated = ctx.scope.notes.get("GRN019", set()) | ctx.module.notes.get("GRN019", set())
    return model in evaluated and not ctx.guarded_by(_NO_GRAD)


def _is_numpy_value(node: ast.AST, ctx: Context) -> bool:
    if isinstance(node, ast.Call):
        name = ctx.qualname(node.func) or ""
        if name.startswith("numpy."):
            return True
        return isinstance(node.func, ast.Attribute) and node.func.attr in ("to_numpy", "numpy")
    if isinstance(node, ast.Attribute):
        return node.attr == "values"
    return isinstance(node, ast.Name) and (ctx.kind(node.id) or "").startswith(CALL + "numpy.")


@rule(
    id="GRN020",
    max_impact="medium",
    name="tensor-copy-from-numpy",
    tactic="GT-ML-02",
    title="torch.tensor() copying a NumPy array",
    message="torch.tensor() always copies; for an existing NumPy array use torch.from_numpy() (shares "
    "memory) or torch.as_tensor() (copies only when needed)",
    heuristic="""A call `torch.tensor(x)` where `x` is a NumPy call (`np.array(...)`, ...), a name bound to
    one, `.to_numpy()`, `.numpy()` or `.values`; or where `x` is a list comprehension or a name bound to a
    list that can be long (element-by-element conversion).""",
    false_positives="""Code that needs an independent copy so that later changes to the array do not show in
    the tensor (then say so with .clone() or a comment).""",
    nodes=(ast.Call,),
    calls=("tensor",),
)
def _tensor_copy(node: ast.Call, ctx: Context) -> bool | str:
    if ctx.qualname(node.func) != "torch.tensor" or not node.args:
        return False
    data = node.args[0]
    if _is_numpy_value(data, ctx):
        return True
    if isinstance(data, ast.ListComp) or (isinstance(data, ast.Name) and ctx.kind(data.id) == LIST):
        return (
            "torch.tensor() converts a Python list element by element (very slowly for a list of arrays or "
            "tensors); build the data as one NumPy array (np.asarray, np.stack) and use torch.from_numpy(), "
            "or torch.stack() a list of tensors"
        )
    return False


# ---------------------------------------------------------------------------------------------------------
# loop-invariant work and repeated lookups

#: Built-ins whose cost grows with their argument: calling one on the same collection every iteration makes
#: the loop quadratic. (len() is O(1) and left to GRN034; list(), tuple() and dict() copies are left out
#: because a copy per iteration is usually a snapshot of something that changes through another name.)
_LINEAR_BUILTINS = ("sum", "max", "min", "sorted", "set", "frozenset", "any", "all")


def _loop_changes(loop: ast.AST, name: str) -> bool:
    """Whether the loop binds ``name`` or changes the object it holds (a method or item assignment)."""
    if isinstance(loop, COMPREHENSIONS):
        return name in {n.id for g in loop.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    return name in _bound_in_loop(loop) or _mutated(getattr(loop, "body", []), name, _MUTATING)


def _working_copy(call: ast.Call, ctx: Context, loop: ast.AST) -> bool:
    """Whether ``call`` (a set() or sorted() copy) is bound to a name that the loop then changes.

    `nodes = set(G)` at the top of each pass of a loop that drains `nodes` needs a fresh copy every time:
    computing it once before the loop would hand the second pass an empty set.
    """
    statement = ctx.enclosing((ast.stmt,))
    if not isinstance(statement, ast.Assign) or statement.value is not call or len(statement.targets) != 1:
        return False
    target = statement.targets[0]
    return isinstance(target, ast.Name) and _mutated(getattr(loop, "body", []), target.id, _MUTATING)


@rule(
    id="GRN038",
    name="loop-invariant-call",
    tactic="GT-LP-01",
    title="The same collection summed, sorted or copied on every iteration",
    message="this call gives the same result on every iteration but walks the whole collection each time, "
    "which makes the loop quadratic; compute it once before the loop (300 items: 38× on CPython 3.11)",
    heuristic="""Inside a loop, a call of the built-in `sum`, `max`, `min`, `sorted`, `set`, `frozenset`,
    `any` or `all` whose only argument is a plain name that the loop neither
    re-binds nor changes (no `append`, `remove`, item assignment, ... on it in the loop body). Calls in a
    `raise` or `return` statement, or followed by `break`, run once per loop and are left alone, and so is
    a copy the loop then changes (`nodes = set(G)` before an inner loop that removes from `nodes`): each
    pass needs a fresh one.""",
    false_positives="""Collections changed through another name (an alias, a callee) inside the loop;
    loops that run a few times. Like GRN001 (a walk of a whole collection per pass), findings in one plain
    loop (not nested, not `while`, not over an input's lines, tokens or nodes) are of medium impact and
    need `--all`: both judged ones there were negligible (the few nodes of a k-cut, a module's built-in
    expressions once per configuration change).""",
    nodes=(ast.Call,),
    calls=_LINEAR_BUILTINS,
    confidence="medium",
    heavy_loops_only=True,
)
def _loop_invariant_call(node: ast.Call, ctx: Context) -> bool | str:
    loop = ctx.innermost_loop()
    if loop is None or len(node.args) != 1 or node.keywords:
        return False
    argument = node.args[0]
    if not isinstance(argument, ast.Name) or not _builtin(node, ctx, *_LINEAR_BUILTINS):
        return False
    if any(_loop_changes(outer, argument.id) for outer in ctx.scope.loops):
        return False
    leaving = isinstance(ctx.enclosing((ast.stmt,)), (ast.Raise, ast.Return)) or _then_leaves_loop(ctx)
    if leaving and not isinstance(loop, COMPREHENSIONS):
        return False  # runs once, on the way out of the loop
    if isinstance(loop, ast.While) and argument.id in _names_in(loop.test):
        return False
    if _working_copy(node, ctx, loop):
        return False
    function = node.func.id if isinstance(node.func, ast.Name) else "it"
    return (
        f"`{function}({argument.id})` gives the same result on every iteration but walks all of "
        f"`{argument.id}` each time, which makes the loop quadratic; compute it once before the loop"
    )


@rule(
    id="GRN034",
    name="len-in-while-condition",
    tactic="GT-LP-01",
    title="len() re-evaluated in a while condition over an unchanged collection",
    message="the collection does not change in the loop, so its length is the same every time; iterate it "
    "directly (`for item in items:` or enumerate()) instead of indexing with a counter",
    heuristic="""A `while` loop whose condition calls the built-in `len(name)` where the loop body neither
    re-binds nor changes `name`: an index-counting loop that a `for` loop expresses directly. The saving is
    the interpreted counter and indexing, a few tens of nanoseconds per iteration, so findings are capped
    at low impact.""",
    false_positives="""Loops that change the collection through another name.""",
    nodes=(ast.While,),
    max_impact="low",
)
def _len_in_while(node: ast.While, ctx: Context) -> bool:
    for call in ast.walk(node.test):
        if (
            isinstance(call, ast.Call)
            and _builtin(call, ctx, "len")
            and len(call.args) == 1
            and isinstance(call.args[0], ast.Name)
            and not _loop_changes(node, call.args[0].id)
        ):
            return True
    return False


def _module_constant(name: str, ctx: Context) -> bool:
    """A name bound at module level to data (a number, string or container), not a function, class or import,
    and not bound in the current function."""
    if len(ctx.scopes) < 2 or name in ctx.scope.kinds or name in ctx.imports:
        return False
    kind = ctx.module.kinds.get(name)
    return kind in (NUMBER, STR, LIST, SMALL_LIST)


@rule(
    id="GRN033",
    name="global-read-in-loop",
    tactic="GT-LP-01",
    title="Module-level constant read on every iteration of a loop",
    message="each read of a module global is a dictionary lookup; bind it to a local name before the loop "
    "(on CPython 3.11+ global reads are specialised and the saving is small)",
    heuristic="""Inside a loop in a function, a read of a name that the module binds to a number, a
    string or a list and the function does not bind. Reported once per name and loop. CPython 3.11
    caches global lookups in the bytecode, so the measured saving is small; findings are capped at low
    impact.""",
    false_positives="""Globals that other code re-binds while the loop runs (then a local copy would be
    stale).""",
    nodes=(ast.Name,),
    max_impact="low",
)
def _global_read_in_loop(node: ast.Name, ctx: Context) -> bool:
    loop = ctx.innermost_loop()
    if loop is None or not isinstance(node.ctx, ast.Load) or not _module_constant(node.id, ctx):
        return False
    return _first_in_loop(ctx, "GRN033", loop, node.id)


def _chain(node: ast.AST) -> str | None:
    """``a.b.c`` for an attribute chain of depth at least 2 rooted in a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or len(parts) < 2:
        return None
    return ".".join([node.id, *reversed(parts)])


@rule(
    id="GRN036",
    name="repeated-attribute-chain",
    tactic="GT-LP-01",
    title="The same attribute chain looked up again and again in a loop",
    message="the loop looks up the same attribute chain several times per iteration; bind it to a local "
    "name before the loop",
    heuristic="""A `for` or `while` loop whose body reads the same attribute chain of depth two or more
    (`self.config.limits`) at least three times, where the loop neither assigns the chain nor re-binds its
    root name. Each lookup is a few tens of nanoseconds, so findings are capped at low impact.""",
    false_positives="""Properties that compute a fresh value on each access, or objects changed by calls
    inside the loop (then the lookups are needed).""",
    nodes=(*_FOR, ast.While),
    max_impact="low",
)
def _repeated_attribute_chain(node: ast.For | ast.While, ctx: Context) -> bool | str:
    bound = _bound_in_loop(node)
    counts: dict[str, int] = {}
    stored = set()
    for stmt in node.body:
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Attribute) and (chain := _chain(sub)) is not None:
                if isinstance(sub.ctx, ast.Store):
                    stored.add(chain)
                else:
                    counts[chain] = counts.get(chain, 0) + 1
    for chain, count in counts.items():
        longer = any(other.startswith(chain + ".") and n >= 3 for other, n in counts.items())
        if count >= 3 and not longer and chain.split(".")[0] not in bound and chain not in stored:
            return (
                f"`{chain}` is looked up {count} times per iteration; bind it to a local name before the loop"
            )
    return False


def _matches_across(inner: ast.For, ctx: Context) -> bool:
    """Whether the inner loop's body tests an outer loop variable's value for equality with its own:
    a search for matching items, which an index (dict or set) answers without the inner loop."""
    mine = {n.id for n in ast.walk(inner.target) if isinstance(n, ast.Name)}
    outer = {
        n.id
        for loop in ctx.scope.loops
        if isinstance(loop, _FOR)
        for n in ast.walk(loop.target)
        if isinstance(n, ast.Name)
    }
    for stmt in inner.body:
        for test in (n.test for n in ast.walk(stmt) if isinstance(n, (ast.If, ast.IfExp))):
            for compare in (c for c in ast.walk(test) if isinstance(c, ast.Compare)):
                if not any(isinstance(op, (ast.Eq, ast.Is)) for op in compare.ops):
                    continue
                operands = [compare.left, *compare.comparators]
                if any(isinstance(o, ast.Name) for o in operands):
                    continue  # `a == b` or `a is b` skips the item itself; it does not look for a match
                sides = [_names_in(o) for o in operands]
                if any(s & outer and not s & mine for s in sides) and any(
                    s & mine and not s & outer for s in sides
                ):
                    return True
    return False


@rule(
    id="GRN035",
    name="nested-loop-same-collection",
    tactic="GT-LP-04",
    title="Nested loops over the same collection",
    message="looping over a collection inside a loop over the same collection is quadratic; when looking "
    "for matches, index the items in a dict or set first, and for pairs use itertools.combinations",
    heuristic="""A `for` loop whose iterable is a plain name (or `name.items()`, `.values()`, `.keys()`)
    nested directly or indirectly inside another `for` loop of the same function over the same name, whose
    body tests an outer item for equality with an inner one (`if a.email == b.email`): a search for
    matches, which a dict or set built once answers in one pass. Nested loops that do something with every
    pair (all-pairs algorithms, products, matrices) are left alone: they are quadratic by nature.""",
    false_positives="""Algorithms that genuinely compare every pair and are already as cheap as they can
    be; collections that are always small. Names bound to the result of a call other than `list()` or
    `sorted()` are left alone: they are often iterators, which a nested loop consumes rather than walks
    again.""",
    nodes=_FOR,
    confidence="medium",
)
def _nested_same_collection(node: ast.For, ctx: Context) -> bool:
    def source(loop: ast.AST) -> str | None:
        it = getattr(loop, "iter", None)
        views = ("items", "values", "keys")
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr in views:
            it = it.func.value
        return ctx.qualname(it) if isinstance(it, (ast.Name, ast.Attribute)) else None

    inner = source(node)
    if inner is None or not _matches_across(node, ctx):
        return False
    if isinstance(node.iter, ast.Name) and ctx.kind(node.iter.id) not in (None, PARAM, LIST):
        return False  # an iterator (consumed, not walked twice), a short list, or something else
    return any(isinstance(outer, _FOR) and source(outer) == inner for outer in ctx.scope.loops)


# ---------------------------------------------------------------------------------------------------------
# exceptions, imports, objects and resources

_CONTROL_FLOW_EXCEPTIONS = frozenset(
    {"KeyError", "IndexError", "AttributeError", "ValueError", "StopIteration"}
)


@rule(
    id="GRN030",
    name="exception-as-control-flow",
    tactic="GT-LP-08",
    title="Exception used for ordinary control flow in a loop",
    message="raising and catching an exception costs more than a check when it happens often; if it "
    "is common here, test first (`d.get(key)`, `key in d`, `getattr(o, name, None)`, `next(it, None)`) "
    "(CPython 3.11: 2.7× when half the lookups miss, but try/except is 1.24× faster when none do)",
    heuristic="""Inside a loop, a `try` whose only handler catches `KeyError`, `IndexError`,
    `AttributeError`, `ValueError` or `StopIteration` and only does `continue`, `pass` or a simple
    assignment. Whether it wastes anything depends on how often the exception is raised: when it is rare,
    try/except is as fast as a check (measured 1.03×), so this rule has low confidence and shows only with
    `--all`.""",
    false_positives="""Exceptions that are rare at run time, where the try/except is the cheaper choice.""",
    nodes=(ast.Try,),
    max_impact="medium",
    confidence="low",
)
def _exception_control_flow(node: ast.Try, ctx: Context) -> bool:
    if not ctx.in_loop or len(node.handlers) != 1 or node.orelse or node.finalbody:
        return False
    handler = node.handlers[0]
    caught = handler.type
    if not (isinstance(caught, ast.Name) and caught.id in _CONTROL_FLOW_EXCEPTIONS):
        return False
    simple = (ast.Continue, ast.Pass, ast.Assign, ast.AugAssign, ast.Break)
    return all(isinstance(s, simple) for s in handler.body)


@rule(
    id="GRN031",
    name="wildcard-import",
    tactic="GT-CD-03",
    title="Wildcard import",
    message="`from module import *` binds every public name of the module; import the names you use. The "
    "module is loaded either way, so this saves no run time by itself, only namespace clutter and the "
    "cost of names shadowing each other",
    heuristic="""Any `from module import *`. The energy effect is small (the module is imported in full
    either way), so findings are capped at low impact.""",
    false_positives="""Package `__init__.py` files that re-export a submodule's API on purpose.""",
    nodes=(ast.ImportFrom,),
    max_impact="low",
)
def _wildcard_import(node: ast.ImportFrom, ctx: Context) -> bool:
    return any(alias.name == "*" for alias in node.names) and not ctx.path.endswith("__init__.py")


@rule(
    id="GRN032",
    name="dataclass-without-slots",
    tactic="GT-DS-06",
    title="Dataclass without slots created in bulk",
    message="instances of this dataclass are created in a loop and each carries a __dict__; declare "
    "@dataclass(slots=True) (Python 3.10+) to make them smaller and their attributes faster",
    heuristic="""Inside a loop or comprehension, a call of a class defined in the same file with
    `@dataclass` (without `slots=True` or `__slots__`). Classes only created once or a few times are
    left alone. Slots save memory per instance (a `__dict__` each) and a little time per attribute
    access; they matter only when instances number in the hundreds of thousands, which the scanner cannot
    see, so findings are capped at low impact.""",
    false_positives="""Classes that need a `__dict__` (extra attributes set later,
    `functools.cached_property`,
    weak references without `weakref_slot=True`) or that are subclassed with their own attributes.""",
    nodes=(ast.Call,),
    max_impact="low",
)
def _dataclass_without_slots(node: ast.Call, ctx: Context) -> bool:
    return (
        ctx.in_loop
        and isinstance(node.func, ast.Name)
        and node.func.id in ctx.module.notes.get("plain-dataclasses", set())
    )


def _closes(body: list[ast.stmt], name: str) -> bool:
    """Whether the code closes ``name``, hands it on (returns, yields, stores or passes it), or uses it
    in a ``with`` statement."""
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in ("close", "__exit__")
                    and _names_in(func.value) == {name}
                ):
                    return True
                if any(isinstance(a, ast.Name) and a.id == name for a in node.args):
                    return True  # passed on: a callee may own it
            elif isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and node.value is not None:
                if name in _names_in(node.value):
                    return True
            elif isinstance(node, ast.withitem) and name in _names_in(node.context_expr):
                return True
            elif (
                isinstance(node, ast.Assign)
                and name in _names_in(node.value)
                and any(not isinstance(t, ast.Name) for t in node.targets)
            ):
                return True  # stored on an object or in a container
    return False


@rule(
    id="GRN037",
    name="open-without-with",
    tactic="GT-WT-03",
    title="File opened without with and never closed",
    message="the file stays open until the garbage collector gets to it (later, or never on other "
    "Pythons); open it with `with open(...) as f:` so it is closed as soon as the block ends",
    heuristic="""In a function, `name = open(...)` (or `io.open`) outside a `with` statement, where the
    function never calls `name.close()`, uses `name` in a `with`, or hands it on (returns or yields it,
    passes it to a call, stores it on an object).""",
    false_positives="""Files closed by a callee reached through another name, or kept open on purpose for
    the life of the process (a log file).""",
    nodes=_FUNCTIONS,
    after_body=True,
    max_impact="medium",
    confidence="medium",
)
def _open_without_with(node: ast.FunctionDef, ctx: Context) -> bool | str:
    for stmt in ast.walk(node):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
            and ctx.qualname(stmt.value.func) in ("open", "io.open")
        ):
            name = stmt.targets[0].id
            if not _closes(node.body, name):
                return (
                    f"`{name} = open(...)` is never closed in {node.name}(); use `with open(...) as {name}:`"
                )
    return False


# ---------------------------------------------------------------------------------------------------------
# numeric, ML and database work in loops

_MATH_ELEMENTWISE = frozenset(
    {
        "sqrt",
        "exp",
        "log",
        "log10",
        "log2",
        "sin",
        "cos",
        "tan",
        "tanh",
        "fabs",
        "floor",
        "ceil",
        "pow",
        "atan2",
    }
)


@rule(
    id="GRN029",
    name="math-per-element",
    tactic="GT-LP-07",
    title="math function applied element by element in a file that uses NumPy",
    message="calling math.* on one element at a time runs the loop in Python; apply the NumPy function to "
    "the whole array at once (np.sqrt(a), np.exp(a), ...), which runs it in compiled code",
    heuristic="""In a file that imports NumPy, a call of `math.sqrt`, `exp`, `log`, `sin`, `cos`, ... inside
    a `for` loop or comprehension whose argument reads the loop's variable.""",
    false_positives="""Loops over plain Python numbers that never were an array (then converting them costs
    more than it saves for short inputs).""",
    nodes=(ast.Call,),
    calls=tuple(_MATH_ELEMENTWISE),
    confidence="medium",
)
def _math_per_element(node: ast.Call, ctx: Context) -> bool:
    if isinstance(ctx.enclosing((ast.stmt,)), ast.Assign) and any(
        isinstance(t, ast.Subscript) for t in getattr(ctx.enclosing((ast.stmt,)), "targets", [])
    ):
        return False  # `d[key] = exp(x)`: filling a mapping, not transforming an array
    name = ctx.qualname(node.func) or ""
    if not (name.startswith("math.") and name[5:] in _MATH_ELEMENTWISE and ctx.imports_module("numpy")):
        return False
    loop = ctx.innermost_loop()
    if loop is None or isinstance(loop, ast.While):
        return False
    targets = [loop.target] if isinstance(loop, _FOR) else [g.target for g in getattr(loop, "generators", [])]
    variables = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return bool(variables & {n for a in node.args for n in _names_in(a)})


def _is_dataloader(node: ast.Call, ctx: Context) -> bool:
    name = ctx.qualname(node.func) or ""
    return name.endswith("DataLoader") and (ctx.imports_module("torch") or name.startswith("torch."))


@rule(
    id="GRN039",
    name="dataloader-without-pin-memory",
    tactic="GT-ML-10",
    title="DataLoader feeding a GPU without pinned memory",
    message="without pin_memory=True each batch is copied to the GPU from pageable memory, and the GPU waits "
    "idle for it; pass pin_memory=True (and num_workers > 0) so batches are prepared while it computes",
    heuristic="""In a file that imports torch and mentions CUDA (`.cuda()`, `"cuda"`, `torch.cuda`), a
    call of `DataLoader(...)` without a `pin_memory=` argument and without `**kwargs`.""",
    false_positives="""Data that is already on the GPU, or loaders whose batches are not moved to it.""",
    nodes=(ast.Call,),
    calls=("DataLoader",),
    max_impact="medium",
    confidence="medium",
)
def _dataloader_pin_memory(node: ast.Call, ctx: Context) -> bool:
    if not _is_dataloader(node, ctx) or _has_star_kwargs(node) or _keyword(node, "pin_memory"):
        return False
    return "cuda" in ctx.text


_ORM_QUERIES = frozenset(
    {"get", "filter", "get_or_create", "filter_by", "query", "exclude", "scalar", "scalars"}
)


@rule(
    id="GRN040",
    name="orm-query-in-loop",
    tactic="GT-DB-02",
    title="One ORM query per item of a loop (N+1 queries)",
    message="the loop runs one database query per item (the N+1 pattern); fetch them all in one query "
    "(filter(id__in=...), select_related/prefetch_related, a JOIN, selectinload) before the loop",
    heuristic="""Inside a `for` loop, a Django manager call (`X.objects.get/filter/exclude/get_or_create`),
    or a SQLAlchemy `session.query(...)`, `session.get(...)`, `session.scalar(s)(...)`, `.filter_by(...)`,
    whose arguments read the loop's variable, in a file that imports Django or SQLAlchemy.""",
    false_positives="""Queries that are cached by the ORM's identity map (`session.get` of an object already
    loaded), or loops over a handful of items.""",
    nodes=(ast.Call,),
    calls=tuple(_ORM_QUERIES),
    confidence="medium",
)
def _orm_query_in_loop(node: ast.Call, ctx: Context) -> bool:
    if not (ctx.imports_module("django") or ctx.imports_module("sqlalchemy")):
        return False
    loop = ctx.innermost_loop()
    func = node.func
    if not isinstance(loop, _FOR) or not isinstance(func, ast.Attribute) or func.attr not in _ORM_QUERIES:
        return False
    receiver = ctx.qualname(func.value) or ""
    django = receiver.endswith(".objects")
    session = bool(re.search(r"(^|\.|_)(session|db|s)$", receiver)) and func.attr in (
        "query",
        "get",
        "scalar",
        "scalars",
    )
    filtering = func.attr == "filter_by"
    if not (django or session or filtering):
        return False
    variables = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    used = {n for a in [*node.args, *(k.value for k in node.keywords)] for n in _names_in(a)}
    return bool(variables & used)


# ---------------------------------------------------------------------------------------------------------

#: Every rule, ordered by ID.
RULES: tuple[Rule, ...] = tuple(sorted(_REGISTRY, key=lambda r: r.id))
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
