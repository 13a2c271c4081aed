"""What the scanner knows at a node: enclosing loops and scopes, imports, and what local names hold.

The scanner walks each syntax tree once and keeps this state up to date as it enters and leaves nodes; the
rules only read it. Everything here is a cheap approximation of Python's semantics, good enough to keep the
rules' false positives down (e.g. "this name was last bound to a list display") without type inference.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from greencode.tactics.sizes import class_hierarchy, derives, file_objects, input_names, loop_is_sized

# What a name was last bound to, as far as a single forward pass can tell.
LIST = "list"  # a list that may be long: a comprehension, list(...), sorted(...), or grown in a loop
SMALL_LIST = "small-list"  # a short display such as [] or [1, 2, 3]; one append outside loops keeps it so
STR = "str"
NUMBER = "number"
DEQUE = "deque"
LOGGER = "logger"
PARAM = "param"
OTHER = "other"
CALL = "call:"  # prefix: the result of calling this qualified name, e.g. "call:numpy.array"

#: List displays up to this length are treated as small: scanning them costs about as much as hashing.
SMALL_LIST_MAX = 8

LOOPS = (ast.For, ast.AsyncFor, ast.While)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

_CALL_KINDS = {
    "list": LIST,
    "sorted": LIST,
    "str": STR,
    "repr": STR,
    "format": STR,
    "collections.deque": DEQUE,
    "logging.getLogger": LOGGER,
}


def _is_text_expression(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return isinstance(value.value, str)
    if isinstance(value, ast.JoinedStr):
        return True
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Mod)):
        return _is_text_expression(value.left)
    if isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)):
        name = value.func.id if isinstance(value.func, ast.Name) else value.func.attr
        return name in ("text", "format") and (
            bool(value.args) and _is_text_expression(value.args[0])
            if name == "text"
            else isinstance(value.func, ast.Attribute) and _is_text_expression(value.func.value)
        )
    return False


_LEAVE_ALL = (ast.Return, ast.Raise)


def _loops_left(
    ancestors: list[ast.AST],
    node: ast.AST | None,
    scope_node: ast.AST,
    exits: dict[int, tuple[bool, bool, bool]],
) -> set[int]:
    """Ids of the loops that the path from ``scope_node`` down to ``node`` leaves after one pass: a block
    on the path whose statement on the path, or a later one, is ``break`` (the innermost loop around the
    block), ``return`` or ``raise`` (every loop around the block), unless a ``continue`` comes first.
    ``exits`` memoises, per statement, what follows it in its block (see ``_block_exits``)."""
    path = [*ancestors, node] if node is not None else list(ancestors)
    start = next((i for i in range(len(path) - 1, -1, -1) if path[i] is scope_node), 0)
    left: set[int] = set()
    around: list[ast.AST] = []  # the loops enclosing the current parent, outermost first
    for index in range(start, len(path) - 1):
        parent, child = path[index], path[index + 1]
        if isinstance(parent, LOOPS):
            around.append(parent)
        if not isinstance(child, ast.stmt):
            continue
        if id(child) not in exits:
            _block_exits(parent, exits)
        in_orelse, leave_all, leave_loop = exits.get(id(child), (False, False, False))
        owners = around[:-1] if in_orelse and isinstance(parent, LOOPS) else around
        if leave_all:
            left.update(id(loop) for loop in owners)
        elif leave_loop and owners:
            left.add(id(owners[-1]))
    return left


def _block_exits(parent: ast.AST, exits: dict[int, tuple[bool, bool, bool]]) -> None:
    """For each statement of ``parent``'s blocks: whether it is in a loop's ``else`` block, and whether it
    or a later statement of its block leaves every loop (``return``, ``raise``) or the innermost loop
    (``break``) with no ``continue`` from it to the end of the block. One backward pass per block."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if not isinstance(block, list):
            continue
        leave_all_after = break_after = continue_after = False
        for statement in reversed(block):
            continues = continue_after or _may_continue([statement])
            leaves_all = isinstance(statement, _LEAVE_ALL) or leave_all_after
            exits[id(statement)] = (
                name == "orelse",
                leaves_all and not continues,
                break_after and not continues,
            )
            leave_all_after = leaves_all
            break_after = break_after or isinstance(statement, ast.Break)
            continue_after = continues


def _may_continue(statements: list[ast.stmt]) -> bool:
    """Whether ``statements`` hold a ``continue`` of the loop around them (not of a loop inside them)."""
    pending: list[ast.AST] = list(statements)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Continue):
            return True
        if isinstance(node, (*LOOPS, *FUNCTIONS, ast.ClassDef)):
            pending.extend(getattr(node, "orelse", []))  # a loop's else block belongs to the outer loop
            continue
        if isinstance(node, ast.stmt | ast.excepthandler | ast.match_case):
            pending.extend(ast.iter_child_nodes(node))
    return False


@dataclass
class Scope:
    """A module, class, function or lambda body."""

    node: ast.AST
    name: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    loops: list[ast.AST] = field(default_factory=list)
    # qualified names of the context managers of the enclosing ``with`` statements
    withs: list[str] = field(default_factory=list)
    decorators: tuple[str, ...] = ()
    # calls of this function to itself whose result is used, for the recursion rule
    self_calls: list[ast.Call] = field(default_factory=list)
    # per-scope facts that individual rules record for themselves (keyed by rule ID)
    notes: dict[str, set[str]] = field(default_factory=dict)
    # names last bound to a string expression (a literal, f-string, `%`/`+` of one, `text("...")`): the text
    texts: dict[str, ast.expr] = field(default_factory=dict)
    # names holding input-sized data (see greencode.tactics.sizes), computed when a rule first asks
    inputs: frozenset[str] | None = None
    # names bound to an open file (``with open(p) as f``; see greencode.tactics.sizes), computed when asked
    files: frozenset[str] | None = None


class Context:
    """The walker's state; rules read it through the helpers below."""

    def __init__(self, path: str, text: str = "") -> None:
        self.path = path
        # the file's source text, for the rare rule that asks whether a word appears anywhere in it
        self.text = text
        self.imports: dict[str, str] = {}
        self.scopes: list[Scope] = []
        # every node from the module down to (excluding) the node being checked
        self.ancestors: list[ast.AST] = []
        # the node the rules are checking now, and the loops of its scope that repeat it (computed lazily)
        self.current: ast.AST | None = None
        self._repeating: tuple[ast.AST | None, list[ast.AST]] = (None, [])
        self._exits: dict[int, tuple[bool, bool, bool]] = {}

    # -- scopes and loops ---------------------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    @property
    def module(self) -> Scope:
        return self.scopes[0]

    @property
    def in_loop(self) -> bool:
        """Inside a loop body (or a comprehension) of the current function that runs the code repeatedly
        (not a block that leaves the loop with ``break``, ``return`` or ``raise``: that runs once)."""
        return bool(self.repeating_loops())

    def repeating_loops(self) -> list[ast.AST]:
        """The loops of the current scope, outermost first, that run the current node more than once.

        A statement in a block that ends by leaving a loop (``...; break`` leaves the innermost loop,
        ``...; return`` or ``raise`` every loop of the function) runs at most once per run of that loop, so
        that loop does not multiply its cost."""
        loops = self.scopes[-1].loops
        if not loops:
            return loops
        cached_for, cached = self._repeating
        if cached_for is self.current and cached_for is not None:
            return cached
        once = _loops_left(self.ancestors, self.current, self.scopes[-1].node, self._exits)
        repeating = [loop for loop in loops if id(loop) not in once] if once else loops
        self._repeating = (self.current, repeating)
        return repeating

    def input_names(self, depth: int | None = None) -> frozenset[str]:
        """Names of the current scope (or of ``self.scopes[depth]``) that hold input-sized data: its
        parameters, what it read, what it bound from those, and what an enclosing function's hold."""
        index = len(self.scopes) - 1 if depth is None else depth
        scope = self.scopes[index]
        if scope.inputs is None:
            outer = next(
                (i for i in range(index - 1, 0, -1) if not isinstance(self.scopes[i].node, ast.ClassDef)),
                None,
            )
            inherited = self.input_names(outer) if outer is not None else frozenset()
            scope.inputs = input_names(scope.node, inherited)
        return scope.inputs

    def file_objects(self) -> frozenset[str]:
        """Names of the current scope bound to an open file (``with open(p) as f``, ``f = gzip.open(p)``)."""
        scope = self.scopes[-1]
        if scope.files is None:
            scope.files = file_objects(scope.node)
        return scope.files

    def derives_from_input(self, expression: ast.AST) -> bool:
        """Whether an expression reads input-sized data of the current scope (greencode.tactics.sizes)."""
        return derives(expression, self.input_names())

    def loop_is_sized(self, loop: ast.AST) -> bool:
        """Whether a loop of the current scope is as long as an input (see greencode.tactics.sizes)."""
        return loop_is_sized(loop, self.input_names())

    def innermost_loop(self) -> ast.AST | None:
        loops = self.scopes[-1].loops
        return loops[-1] if loops else None

    def enclosing(self, stop: tuple[type[ast.AST], ...]) -> ast.AST | None:
        """The nearest ancestor of one of the ``stop`` types within the current scope, or None."""
        scope_node = self.scopes[-1].node
        for node in reversed(self.ancestors):
            if node is scope_node:
                return None
            if isinstance(node, stop):
                return node
        return None

    # -- names ----------------------------------------------------------------------------------------------

    def kind(self, name: str) -> str | None:
        """What ``name`` was last bound to in the current function, falling back to module level."""
        kind = self.scopes[-1].kinds.get(name)
        if kind is None and len(self.scopes) > 1:
            kind = self.scopes[0].kinds.get(name)
        return kind

    def text_of(self, name: str) -> ast.expr | None:
        """The string expression ``name`` was last bound to in this scope or at module level, if any."""
        found = self.scopes[-1].texts.get(name)
        if found is None and name not in self.scopes[-1].kinds:
            found = self.scopes[0].texts.get(name)
        return found

    def bind(self, target: ast.AST, kind: str, value: ast.expr | None = None) -> None:
        if isinstance(target, ast.Name):
            self.scopes[-1].kinds[target.id] = kind
            texts = self.scopes[-1].texts
            if value is not None and _is_text_expression(value):
                texts[target.id] = value
            else:
                texts.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, OTHER)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, LIST)

    def kind_of(self, value: ast.AST) -> str:
        """The kind of object an expression evaluates to, when that is obvious from its syntax."""
        if isinstance(value, ast.List):
            small = len(value.elts) <= SMALL_LIST_MAX and not any(
                isinstance(e, ast.Starred) for e in value.elts
            )
            return SMALL_LIST if small else LIST
        if isinstance(value, ast.ListComp):
            return LIST
        if isinstance(value, ast.JoinedStr):
            return STR
        if isinstance(value, ast.Constant):
            if isinstance(value.value, str):
                return STR
            if isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                return NUMBER
            return OTHER
        if isinstance(value, ast.Call):
            qualname = self.qualname(value.func)
            if qualname is None:
                return OTHER
            if qualname in ("list", "sorted") and value.args and class_hierarchy(value.args[0]):
                return SMALL_LIST  # ``list(cls.__mro__)``: one class's ancestors, a few
            if qualname in _CALL_KINDS:
                return _CALL_KINDS[qualname]
            return LOGGER if qualname.endswith(".getLogger") else CALL + qualname
        return OTHER

    def qualname(self, expr: ast.AST) -> str | None:
        """``pd.read_csv`` → ``"pandas.read_csv"`` (imports resolved); None unless a plain dotted name."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        parts.append(self.imports.get(expr.id, expr.id))
        return ".".join(reversed(parts))

    def imports_module(self, module: str) -> bool:
        """Whether the file imports ``module`` (or a submodule or a name from it) anywhere seen so far."""
        prefix = module + "."
        return any(target == module or target.startswith(prefix) for target in self.imports.values())

    def record_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.imports[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    self.imports[top] = top
            return
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name != "*":
                self.imports[alias.asname or alias.name] = f"{module}.{alias.name}" if module else alias.name

    # -- with-statements and decorators ---------------------------------------------------------------------

    def guarded_by(self, names: frozenset[str]) -> bool:
        """Whether an enclosing ``with`` in this scope, or the function's decorator, is one of ``names``."""
        scope = self.scopes[-1]
        return any(name in names for name in scope.withs) or any(name in names for name in scope.decorators)

    def callee(self, node: ast.AST) -> str | None:
        """Qualified name of a decorator or context manager expression (``x`` or ``x(...)``)."""
        return self.qualname(node.func if isinstance(node, ast.Call) else node)
