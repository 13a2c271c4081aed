"""``greencode scan``: find code where a green software tactic applies, with the ``ast`` module.

Each file is parsed once and walked once. The walker keeps the :class:`~greencode.tactics.context.Context`
up to date and hands every node only to the rules registered for its type (calls: for its callee's name), so
adding rules does not add walks. A file that does not parse is reported as skipped and the scan goes on.

Every finding carries an impact and a confidence (:mod:`greencode.tactics.impact`); the default output shows
only what can matter. Findings can be silenced with ``# greencode: ignore[GRN001]`` on their line (or, for
rules about a loop, on the loop's header; :mod:`greencode.tactics.suppression`). Rules are chosen with
``[tool.greencode.scan]`` ``select``/``ignore`` and files skipped with ``exclude`` (see :func:`scan_paths`).
Only regular files up to :data:`MAX_FILE_BYTES` are read; anything else is reported as not scanned.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import os
import stat
import sys
import tokenize
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from greencode.config import Config
from greencode.errors import ConfigError
from greencode.tactics.context import COMPREHENSIONS, LIST, LOOPS, OTHER, PARAM, SMALL_LIST, Context, Scope
from greencode.tactics.impact import Level, Role, file_role, loop_prints, lower, place, worth_showing
from greencode.tactics.rules import RULES, RULES_BY_ID, Rule, Verdict
from greencode.tactics.suppression import MalformedSuppression, read_suppressions

#: Directories never entered when a directory is scanned (files named explicitly are still scanned).
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"})

#: Larger files are skipped unread: generated code or data, and reading them could exhaust memory.
MAX_FILE_BYTES = 8 * 1024 * 1024

#: The most processes ``jobs`` may ask for (more than one per CPU only adds start-up cost).
MAX_JOBS = max(64, os.cpu_count() or 1)

_RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class Finding:
    """A place where a tactic applies. Lines and columns are 1-based; columns count characters.

    ``impact`` says how much the code's place lets the pattern matter (:mod:`greencode.tactics.impact`),
    ``why`` the reason for it; ``confidence`` how often the rule's pattern is what it looks like.
    ``suppress_line`` is the line where ``# greencode: ignore[RULE]`` silences this finding. ``hot``
    describes the measured cost of the enclosing code when a profile was given (``share`` of the total).
    """

    path: str
    line: int
    column: int
    rule: str
    tactic: str
    message: str
    end_line: int | None = None
    end_column: int | None = None
    impact: Level = "medium"
    confidence: Level = "high"
    why: str = ""
    function: str | None = None
    suppress_line: int | None = None
    role: Role = "code"
    hot: str | None = None
    share: float | None = None

    @property
    def shown_by_default(self) -> bool:
        """Whether the default output shows it: high impact at medium or high confidence, or medium impact at
        high confidence, or medium impact and confidence in code a profile measured hot
        (:func:`greencode.tactics.impact.worth_showing`)."""
        return worth_showing(self.impact, self.confidence, self.share)

    def __str__(self) -> str:
        notes = [f"{self.impact} impact: {self.why}" if self.why else f"{self.impact} impact"]
        if self.confidence != "high":
            notes.append(f"{self.confidence} confidence")
        if self.hot:
            notes.append(self.hot)
        if self.role == "test":
            notes.append("test code")
        if self.suppress_line is not None and self.suppress_line != self.line:
            notes.append(f"silence it on line {self.suppress_line}")
        return (
            f"{self.path}:{self.line}:{self.column}: {self.rule} {self.message} [{self.tactic}] "
            f"({'; '.join(notes)})"
        )


@dataclass(frozen=True)
class SkippedFile:
    """A file that could not be scanned (syntax error, undecodable, unreadable, not a file) and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: not scanned: {self.reason}"


@dataclass(frozen=True)
class ScanReport:
    """The outcome of scanning a set of files; ``findings`` holds every finding, shown by default or not."""

    findings: tuple[Finding, ...]
    skipped: tuple[SkippedFile, ...]
    files: int
    suppressed: int
    rules: tuple[Rule, ...]
    malformed: tuple[MalformedSuppression, ...] = ()
    tests_skipped: int = 0
    # with a profile: a measured share below this (0 to 1) leaves a finding to --all (``--min-share``)
    min_share: float | None = None

    def shown(self, everything: bool = False) -> tuple[Finding, ...]:
        """What the output shows: findings that can matter, or with ``everything`` all of them."""
        if everything:
            return self.findings
        return tuple(f for f in self.findings if f.shown_by_default and not self.below_min_share(f))

    def below_min_share(self, finding: Finding) -> bool:
        """Whether ``min_share`` leaves the finding out: measured, and below it (idle code included)."""
        return self.min_share is not None and finding.share is not None and finding.share < self.min_share

    def exit_status(self, everything: bool = False) -> int:
        """0 clean, 1 findings shown or malformed suppressions, 3 otherwise clean but files not scanned."""
        if self.shown(everything) or self.malformed:
            return 1
        return 3 if self.skipped else 0

    def to_dict(self, everything: bool = False) -> dict[str, object]:
        """The report as JSON-ready data (``greencode scan --format json``)."""
        shown = self.shown(everything)
        return {
            "version": 2,
            "files": self.files,
            "suppressed": self.suppressed,
            "hidden": len(self.findings) - len(shown),
            "tests_skipped": self.tests_skipped,
            "rules": [rule.id for rule in self.rules],
            "findings": [asdict(finding) for finding in shown],
            "skipped": [asdict(skipped) for skipped in self.skipped],
            "malformed_suppressions": [asdict(m) for m in self.malformed],
        }

    def summary(self, everything: bool = False) -> str:
        """One line: findings shown in how many files; hidden, suppressed, skipped and test-file counts."""
        shown = self.shown(everything)
        notes = []
        hidden = len(self.findings) - len(shown)
        measured_cold = (f for f in self.findings if f.shown_by_default and self.below_min_share(f))
        cold_count = 0 if everything else sum(1 for _ in measured_cold)
        if cold_count:
            low = hidden - cold_count
            both = f"{low} more of low impact or confidence and " if low else ""
            notes.append(f"{both}{cold_count} under --min-share: --all shows them")
        elif hidden:
            notes.append(f"{hidden} more of low impact or confidence: --all shows them")
        if self.suppressed:
            notes.append(f"{self.suppressed} suppressed")
        if self.malformed:
            count = len(self.malformed)
            notes.append(f"{count} malformed suppression comment{'s' * (count != 1)}")
        if self.skipped:
            notes.append(f"{len(self.skipped)} file{'s' * (len(self.skipped) != 1)} not scanned")
        if self.tests_skipped:
            count = self.tests_skipped
            notes.append(f"{count} test file{'s' * (count != 1)} left out: --include-tests scans them")
        extra = f" ({', '.join(notes)})" if notes else ""
        files = f"{self.files} file{'s' * (self.files != 1)}"
        if not shown:
            return f"no findings in {files}{extra}"
        count = len(shown)
        in_files = len({f.path for f in shown})
        return f"{count} finding{'s' * (count != 1)} in {in_files} of {files}{extra}"


# ---------------------------------------------------------------------------------------------------------
# rule selection


def select_rules(
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    where: str = "command line",
    *,
    cli_ignore: Sequence[str] = (),
) -> tuple[Rule, ...]:
    """The rules to run. A selector is a rule ID, an ID prefix (``GRN0``), a tactic ID or prefix (``GT-DS``)
    or ``ALL``; ``select`` empty means all rules, then every rule matching ``ignore`` (read from ``where``)
    or ``cli_ignore`` (given on the command line) is dropped."""

    def matching(selector: str, key: str, origin: str) -> list[Rule]:
        wanted = selector.strip().upper()
        found = [
            r for r in RULES if wanted == "ALL" or r.id.startswith(wanted) or r.tactic.startswith(wanted)
        ]
        if not wanted or not found:
            raise ConfigError(
                f"{origin}: {key} = {selector!r} matches no scanner rule; use rule IDs such as "
                "'GRN001', a prefix such as 'GRN0', or tactic IDs such as 'GT-DS-02' "
                "(list them with 'greencode scan --list-rules')"
            )
        return found

    chosen = (
        RULES
        if not select
        else tuple(r for r in RULES if any(r in matching(s, "select", where) for s in select))
    )
    dropped = {r.id for s in ignore for r in matching(s, "ignore", where)}
    dropped |= {r.id for s in cli_ignore for r in matching(s, "--ignore", "command line")}
    return tuple(r for r in chosen if r.id not in dropped)


# ---------------------------------------------------------------------------------------------------------
# the walk


@dataclass(frozen=True)
class _Hit:
    rule: Rule
    node: ast.AST
    message: str
    impact: Level
    confidence: Level
    why: str
    function: str | None
    loop_line: int | None


def _is_main_guard(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


class _Walker:
    """One pass over a tree: context upkeep plus dispatch of each node to the rules for its type."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.node_rules: dict[type, list[Rule]] = {}
        self.after_body_rules: dict[type, list[Rule]] = {}
        self.call_rules: dict[str, list[Rule]] = {}
        self.any_call_rules: list[Rule] = []
        for rule in rules:
            for node_type in rule.nodes:
                if node_type is ast.Call and rule.calls:
                    for name in rule.calls:
                        self.call_rules.setdefault(name, []).append(rule)
                elif node_type is ast.Call:
                    self.any_call_rules.append(rule)
                elif rule.after_body:
                    self.after_body_rules.setdefault(node_type, []).append(rule)
                else:
                    self.node_rules.setdefault(node_type, []).append(rule)
        self.handlers: dict[type, Callable[[ast.AST], None]] = {
            ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function,
            ast.Lambda: self._lambda,
            ast.ClassDef: self._class,
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.While: self._while,
            ast.ListComp: self._comprehension,
            ast.SetComp: self._comprehension,
            ast.GeneratorExp: self._comprehension,
            ast.DictComp: self._comprehension,
            ast.With: self._with,
            ast.AsyncWith: self._with,
            ast.Assign: self._assign,
            ast.AnnAssign: self._assign,
            ast.AugAssign: self._augassign,
            ast.NamedExpr: self._assign,
            ast.Import: self._import,
            ast.ImportFrom: self._import,
            ast.Call: self._call,
        }
        self.ctx = Context("")
        self.hits: list[_Hit] = []
        self.role: tuple[Role, str] = ("code", "")

    def run(
        self, tree: ast.Module, path: str, role: tuple[Role, str] = ("code", ""), text: str = ""
    ) -> list[_Hit]:
        self.ctx = Context(path, text)
        self.ctx.scopes.append(Scope(tree))
        self.hits = []
        self.role = role
        self._visit(tree)
        return self.hits

    def _check(self, rules: list[Rule] | None, node: ast.AST) -> None:
        if not rules:
            return
        self.ctx.current = node
        for rule in rules:
            verdict = rule.check(node, self.ctx)
            if isinstance(verdict, Verdict):
                message = verdict.message or rule.message
                confidence = verdict.confidence or rule.confidence
                cap = verdict.max_impact or rule.max_impact
                self._hit(rule, node, message, cap, confidence, verdict.within, verdict.heavy)
            elif verdict:
                message = verdict if isinstance(verdict, str) else rule.message
                self._hit(rule, node, message, rule.max_impact, rule.confidence)

    def _hit(
        self,
        rule: Rule,
        node: ast.AST,
        message: str,
        cap: Level,
        confidence: Level,
        within: ast.AST | None = None,
        heavy: bool = False,
    ) -> None:
        ctx = self.ctx
        loops = list(ctx.repeating_loops())
        if within is not None and within in loops:
            loops = loops[loops.index(within) + 1 :]
        if isinstance(node, (*LOOPS, *COMPREHENSIONS, ast.comprehension)):
            loops.append(node)  # a rule about the loop itself: its own size is what counts
        names = []
        function = None
        for scope in ctx.scopes[1:]:
            scope_node = scope.node
            if isinstance(scope_node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(scope_node.name)
            else:
                names.append("<lambda>")
            if not isinstance(scope_node, ast.ClassDef):
                function = names[-1]
        main_block = any(_is_main_guard(a) for a in ctx.ancestors)
        prints = bool(loops) and loop_prints(loops[-1], ctx.qualname)
        sized = ctx.loop_is_sized if rule.sized_by_input else None
        files = ctx.file_objects()
        where = place(loops, ".".join(names) or None, function, main_block, self.role, prints, sized, files)
        if within is not None:
            where = replace(
                where, why=f"{where.why}, on a list that the loop around it makes afresh on each pass"
            )
        loop_line = None
        if rule.suppress_on_loop:
            loop = ctx.innermost_loop()
            loop_line = getattr(loop, "lineno", None)
        impact = lower(where.impact, cap)
        why = where.why if impact == where.impact else f"{where.why}, but the rule's gain is small"
        if where.unsized:
            confidence = lower(confidence, "medium")  # medium impact: shown only where a profile says hot
        elif rule.heavy_loops_only and impact == "high" and heavy and where.plain:
            why = f"{where.why}, on a list as long as an input: quadratic"
        elif rule.heavy_loops_only and impact == "high" and not where.heavy:
            impact, confidence = "medium", lower(confidence, "medium")
            why = f"{where.why}: one plain loop, which for this rule is mostly short in practice"
        elif rule.heavy_loops_only and impact == "medium" and loops:
            confidence = lower(confidence, "medium")  # a loop over a split string's parts, or one that prints
        if within is not None and impact == "high":
            # the list holds one outer item's worth (one import's names, one header's tokens): judged on
            # real projects, 4 of 5 such findings were short in practice
            impact, confidence = "medium", lower(confidence, "medium")
            why = f"{where.why}: one outer item's worth, mostly short in practice"
        self.hits.append(_Hit(rule, node, message, impact, confidence, why, where.function, loop_line))

    def _visit(self, node: ast.AST) -> None:
        node_type = type(node)
        if node_type is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            name = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else None
            self._check(self.call_rules.get(name) if name else None, node)
            self._check(self.any_call_rules, node)
        else:
            self._check(self.node_rules.get(node_type), node)
        ancestors = self.ctx.ancestors
        ancestors.append(node)
        handler = self.handlers.get(node_type)
        if handler is not None:
            handler(node)
        else:
            for child in ast.iter_child_nodes(node):
                self._visit(child)
        ancestors.pop()

    def _visit_all(self, nodes: Iterable[ast.AST | None]) -> None:
        for node in nodes:
            if node is not None:
                self._visit(node)

    # -- scopes ---------------------------------------------------------------------------------------------

    def _arguments(self, args: ast.arguments) -> set[str]:
        self._visit_all(args.defaults)
        self._visit_all(args.kw_defaults)
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        self._visit_all(a.annotation for a in every if a is not None)
        return {a.arg for a in every if a is not None}

    def _function(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ctx = self.ctx
        self._visit_all(node.decorator_list)
        params = self._arguments(node.args)
        self._visit_all([node.returns])
        ctx.scope.kinds[node.name] = OTHER
        decorators = tuple(name for d in node.decorator_list if (name := ctx.callee(d)))
        ctx.scopes.append(Scope(node, node.name, dict.fromkeys(params, PARAM), decorators=decorators))
        self._visit_all(node.body)
        self._check(self.after_body_rules.get(type(node)), node)
        ctx.scopes.pop()

    def _lambda(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Lambda)
        params = self._arguments(node.args)
        self.ctx.scopes.append(Scope(node, None, dict.fromkeys(params, PARAM)))
        self._visit(node.body)
        self.ctx.scopes.pop()

    def _class(self, node: ast.AST) -> None:
        assert isinstance(node, ast.ClassDef)
        self._visit_all(node.decorator_list)
        self._visit_all(node.bases)
        self._visit_all(node.keywords)
        ctx = self.ctx
        ctx.scope.kinds[node.name] = OTHER
        notes = ctx.module.notes
        if any((ctx.qualname(b) or "").endswith(("Enum", "Flag")) for b in node.bases):
            notes.setdefault("enums", set()).add(node.name)
        for decorator in node.decorator_list:
            if ctx.callee(decorator) == "dataclasses.dataclass":
                slots = isinstance(decorator, ast.Call) and any(
                    kw.arg == "slots" and not (isinstance(kw.value, ast.Constant) and not kw.value.value)
                    for kw in decorator.keywords
                )
                has_slots = any(
                    isinstance(s, ast.Assign)
                    and any(getattr(t, "id", None) == "__slots__" for t in s.targets)
                    for s in node.body
                )
                if not (slots or has_slots):
                    notes.setdefault("plain-dataclasses", set()).add(node.name)
        ctx.scopes.append(Scope(node))
        self._visit_all(node.body)
        self.ctx.scopes.pop()

    # -- loops ----------------------------------------------------------------------------------------------

    def _for(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.For, ast.AsyncFor))
        self._visit(node.iter)
        loops = self.ctx.scope.loops
        loops.append(node)
        self._visit(node.target)
        self.ctx.bind(node.target, OTHER)
        self._visit_all(node.body)
        loops.pop()
        self._visit_all(node.orelse)

    def _while(self, node: ast.AST) -> None:
        assert isinstance(node, ast.While)
        loops = self.ctx.scope.loops
        loops.append(node)
        self._visit(node.test)
        self._visit_all(node.body)
        loops.pop()
        self._visit_all(node.orelse)

    def _comprehension(self, node: ast.AST) -> None:
        assert isinstance(node, COMPREHENSIONS)
        generators = node.generators
        # the first iterable is evaluated once, outside the comprehension's loop
        self._visit(generators[0].iter)
        loops = self.ctx.scope.loops
        loops.append(node)
        for index, generator in enumerate(generators):
            self._check(self.node_rules.get(ast.comprehension), generator)
            if index:
                self._visit(generator.iter)
            self._visit(generator.target)
            self.ctx.bind(generator.target, OTHER)
            self._visit_all(generator.ifs)
        if isinstance(node, ast.DictComp):
            self._visit(node.key)
            self._visit(node.value)
        else:
            self._visit(node.elt)
        loops.pop()

    # -- bindings and context managers ----------------------------------------------------------------------

    def _with(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.With, ast.AsyncWith))
        ctx = self.ctx
        managers = []
        for item in node.items:
            self._visit(item.context_expr)
            if item.optional_vars is not None:
                self._visit(item.optional_vars)
                ctx.bind(item.optional_vars, OTHER)
            managers.append(ctx.callee(item.context_expr) or "")
        withs = ctx.scope.withs
        withs.extend(managers)
        self._visit_all(node.body)
        del withs[len(withs) - len(managers) :]

    def _assign(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr))
        for child in ast.iter_child_nodes(node):
            self._visit(child)
        if node.value is None:
            return
        kind = self.ctx.kind_of(node.value)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            self.ctx.bind(target, kind, node.value)

    def _augassign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.AugAssign)
        self._visit(node.target)
        self._visit(node.value)
        target = node.target
        if isinstance(target, ast.Name) and self.ctx.kind(target.id) == SMALL_LIST:
            self.ctx.bind(target, LIST)

    def _import(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        self.ctx.record_import(node)

    def _call(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        for child in ast.iter_child_nodes(node):
            self._visit(child)
        func = node.func
        ctx = self.ctx
        ctx.current = node
        if isinstance(func, ast.Name):
            # a recursive call whose result is used (not a bare statement run for its side effects)
            if func.id == ctx.scope.name and not isinstance(ctx.ancestors[-2], ast.Expr):
                ctx.scope.self_calls.append(node)
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and ctx.kind(func.value.id) == SMALL_LIST
            and (func.attr == "extend" or (func.attr in ("append", "insert") and ctx.in_loop))
        ):
            # a short list display that grows by an unknown amount is no longer known to be short; one
            # append outside any loop (`types.append(x)` under an `if`) adds one item
            ctx.bind(func.value, LIST)


# ---------------------------------------------------------------------------------------------------------
# single sources


def _decode(source: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    return source.decode(encoding, errors="replace")


def _column(line: str, byte_offset: int) -> int:
    """1-based character column of a UTF-8 byte offset into ``line`` (ast's offsets are in bytes)."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1


def _findings(
    hits: list[_Hit], source: str | bytes, path: str, role: Role = "code"
) -> tuple[list[Finding], int, tuple[MalformedSuppression, ...]]:
    """Turn hits into findings with character columns, dropping suppressed ones; also count those and
    return the malformed suppression comments."""
    text = source if isinstance(source, str) else _decode(source)
    suppressions = read_suppressions(text, path, RULES_BY_ID)
    if not hits:
        return [], 0, suppressions.malformed
    # only the line ends Python knows: str.splitlines() would also split at form feeds and shift lines
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    findings: list[Finding] = []
    suppressed = 0
    for hit in hits:
        rule = hit.rule
        # a comprehension clause has no position of its own; point at its iterable
        node = hit.node.iter if isinstance(hit.node, ast.comprehension) else hit.node
        line = getattr(node, "lineno", 1)
        suppress_line = hit.loop_line or line
        if suppressions.silences(line, rule.id) or suppressions.silences(suppress_line, rule.id):
            suppressed += 1
            continue
        text_line = lines[line - 1] if line <= len(lines) else ""
        column = _column(text_line, getattr(node, "col_offset", 0))
        end_line = getattr(node, "end_lineno", None)
        end_column = None
        if hasattr(node, "body") or end_line is None:
            end_line = None  # a compound statement: report its first line, not its whole body
        else:
            end_text = lines[end_line - 1] if end_line <= len(lines) else ""
            end_column = _column(end_text, getattr(node, "end_col_offset", 0) or 0)
        findings.append(
            Finding(
                path,
                line,
                column,
                rule.id,
                rule.tactic,
                message=hit.message,
                end_line=end_line,
                end_column=end_column,
                impact=hit.impact,
                confidence=hit.confidence,
                why=hit.why,
                function=hit.function,
                suppress_line=suppress_line,
                role=role,
            )
        )
    findings.sort(key=lambda f: (f.line, f.column, f.rule))
    return findings, suppressed, suppressions.malformed


def scan_source(
    source: str | bytes, path: str = "<string>", rules: Sequence[Rule] | None = None
) -> list[Finding]:
    """Findings in one piece of source code, suppressions applied. Raises SyntaxError if it does not parse."""
    walker = _Walker(RULES if rules is None else rules)
    tree = ast.parse(source, filename=path)
    role = file_role(path)
    text = source if isinstance(source, str) else _decode(source)
    return _findings(walker.run(tree, path, role, text), text, path, role[0])[0]


# ---------------------------------------------------------------------------------------------------------
# files


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def is_excluded(path: Path, patterns: Sequence[str], root: Path) -> bool:
    """Whether an absolute ``path`` matches an ``exclude`` pattern.

    A pattern without ``/`` matches any single path component (``migrations``, ``*_pb2.py``); a pattern
    with ``/`` is a glob on the path relative to ``root`` and also excludes everything below a match.
    """
    if not patterns:
        return False
    relative = _relative(path, root)
    parts = path.parts if relative is None else tuple(relative.split("/"))
    for pattern in patterns:
        pattern = pattern.strip().rstrip("/")
        if not pattern:
            continue
        if "/" not in pattern:
            if any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                return True
        elif relative is not None:
            pattern = pattern.removeprefix("./")
            if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, pattern + "/*"):
                return True
    return False


def _walk(paths: Iterable[Path], exclude: Sequence[str], root: Path) -> Iterator[tuple[Path, str, bool]]:
    """Each file to scan, its path relative to the directory given (what its role is judged from) and
    whether it was named explicitly."""
    for given in paths:
        path = Path(os.path.abspath(given))
        if os.path.lexists(path) and not path.is_dir():
            # named explicitly: a device or FIFO is yielded too, so that it is reported, never read
            if not is_excluded(path, exclude, root):
                yield path, path.name, True
            continue
        if not path.is_dir():
            raise ConfigError(f"{given}: no such file or directory; give Python files or directories to scan")
        for directory, dirnames, filenames in os.walk(path):
            here = Path(directory)
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".")
                and d not in SKIPPED_DIRS
                and not is_excluded(here / d, exclude, root)
            )
            for name in sorted(filenames):
                if name.endswith(".py") and not is_excluded(here / name, exclude, root):
                    yield here / name, (here / name).relative_to(path).as_posix(), False


def iter_python_files(
    paths: Iterable[Path], exclude: Sequence[str] = (), root: Path | None = None
) -> Iterator[Path]:
    """The ``.py`` files under ``paths`` (absolute), in a stable order, minus excluded ones.

    Walking a directory skips hidden directories and :data:`SKIPPED_DIRS`; a file named explicitly is
    scanned whatever its name, unless ``exclude`` matches it. A missing path raises ConfigError.
    """
    root = Path(os.path.abspath(root or Path.cwd()))
    for path, _, _ in _walk(paths, exclude, root):
        yield path


def _display(path: Path, cwd: Path) -> str:
    return _relative(path, cwd) or path.as_posix()


_FileResult = tuple[list[Finding], int, "SkippedFile | None", tuple[MalformedSuppression, ...]]
_Item = tuple[Path, str, tuple[Role, str]]


def _read(path: Path) -> bytes:
    """The file's bytes; OSError for anything but a regular file of at most MAX_FILE_BYTES.

    Opened without blocking and checked after opening, so a FIFO or a device planted as ``x.py`` (or
    swapped in after a check) is never waited on or read without end.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file (a device, FIFO or socket); skipped unread")
        if info.st_size > MAX_FILE_BYTES:
            raise OSError(0, f"larger than {MAX_FILE_BYTES // 2**20} MiB (generated code or data?); skipped")
        with os.fdopen(fd, "rb", closefd=True) as file:
            fd = -1
            return file.read(MAX_FILE_BYTES + 1)
    finally:
        if fd >= 0:
            os.close(fd)


def _syntax_reason(exc: SyntaxError) -> str:
    return (
        f"syntax error: {exc.msg} (parsed as Python {_RUNNING}; if the file uses newer syntax, "
        "run greencode with a newer Python)"
    )


def _scan_file(path: Path, shown: str, walker: _Walker, role: tuple[Role, str]) -> _FileResult:
    """Findings, suppressed count and malformed suppressions of one file, or the reason it was skipped."""
    try:
        source = _read(path)
        tree = ast.parse(source, filename=shown)
        hits = walker.run(tree, shown, role, _decode(source))
    except SyntaxError as exc:
        return [], 0, SkippedFile(shown, _syntax_reason(exc), exc.lineno), ()
    except ValueError as exc:  # null bytes, undecodable source (UnicodeDecodeError)
        return [], 0, SkippedFile(shown, f"cannot decode: {exc}"), ()
    except (RecursionError, MemoryError):
        return [], 0, SkippedFile(shown, "nested too deeply to analyse"), ()
    except OSError as exc:
        return [], 0, SkippedFile(shown, f"cannot read: {exc.strerror or exc}"), ()
    findings, suppressed, malformed = _findings(hits, source, shown, role[0])
    return findings, suppressed, None, malformed


#: Below this many files a process pool costs more than it saves.
PARALLEL_MIN_FILES = 64
_worker_walker: _Walker | None = None


def _start_worker(rule_ids: tuple[str, ...]) -> None:
    global _worker_walker
    _worker_walker = _Walker([RULES_BY_ID[rule_id] for rule_id in rule_ids])


def _scan_in_worker(item: _Item) -> _FileResult:
    assert _worker_walker is not None
    return _scan_file(item[0], item[1], _worker_walker, item[2])


def _scan_files(items: list[_Item], rules: tuple[Rule, ...], jobs: int) -> Iterator[_FileResult]:
    if jobs > 1 and len(items) >= PARALLEL_MIN_FILES:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            jobs, initializer=_start_worker, initargs=(tuple(r.id for r in rules),)
        ) as pool:
            yield from pool.map(_scan_in_worker, items, chunksize=max(1, len(items) // (jobs * 8)))
        return
    walker = _Walker(rules)
    for path, shown, role in items:
        yield _scan_file(path, shown, walker, role)


def check_jobs(jobs: int) -> int:
    """``jobs`` validated: 0 (one process per CPU) up to :data:`MAX_JOBS`; ConfigError otherwise."""
    if not 0 <= jobs <= MAX_JOBS:
        raise ConfigError(
            f"--jobs {jobs}: expected 0 (one process per CPU) or a number of processes from 1 to {MAX_JOBS}"
        )
    return jobs or os.cpu_count() or 1


def scan_paths(
    paths: Iterable[Path | str],
    config: Config | None = None,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    jobs: int = 1,
    include_tests: bool = False,
) -> ScanReport:
    """Scan files and directories with the rules and exclusions of ``config.scan``.

    ``select`` (from the command line) replaces ``scan.select``; ``ignore`` (from the command line) adds to
    ``scan.ignore``. ``jobs`` > 1 spreads a large scan over that many processes (0: one per CPU). Test
    files and fixtures found in directories are left out unless ``include_tests`` (files named explicitly
    are always scanned). Paths in findings are relative to the current directory when they are below it.
    """
    config = config or Config()
    rules = select_rules(
        config.scan.select if select is None else select,
        config.scan.ignore,
        config.source if select is None else "command line",
        cli_ignore=ignore,
    )
    processes = check_jobs(jobs)
    cwd = Path(os.path.abspath(Path.cwd()))
    root = Path(os.path.abspath(config.root))
    items: list[_Item] = []
    seen: set[Path] = set()
    tests_skipped = 0
    for path, relative, explicit in _walk([Path(p) for p in paths], config.scan.exclude, root):
        if path in seen:
            continue
        seen.add(path)
        role = file_role(relative)
        if role[0] == "test" and not explicit and not include_tests:
            tests_skipped += 1
            continue
        items.append((path, _display(path, cwd), role))
    findings: list[Finding] = []
    skipped: list[SkippedFile] = []
    malformed: list[MalformedSuppression] = []
    suppressed = 0
    for file_findings, file_suppressed, skip, file_malformed in _scan_files(items, rules, processes):
        findings.extend(file_findings)
        suppressed += file_suppressed
        malformed.extend(file_malformed)
        if skip is not None:
            skipped.append(skip)
    return ScanReport(
        tuple(findings), tuple(skipped), len(items), suppressed, rules, tuple(malformed), tests_skipped
    )


def rank(
    report: ScanReport,
    costs: Callable[[Finding], tuple[float | None, str | None]],
    min_share: float | None = None,
) -> ScanReport:
    """The report with each finding's measured cost attached and findings ordered by it, hottest first.

    ``costs`` gives a finding's share of the measured total (0 to 1; None where nothing was measured) and a
    phrase saying so. Measured findings come first by share, then unmeasured ones in file order, then
    findings in code that was measured and cost nothing. ``min_share`` (0 to 1): the default output leaves
    out measured findings below it; unmeasured ones keep the static rule.
    """
    ranked = []
    for finding in report.findings:
        share, hot = costs(finding)
        ranked.append(replace(finding, share=share, hot=hot))

    def order(finding: Finding) -> tuple[int, float]:
        if finding.share is None:
            return 1, 0.0
        return (0, -finding.share) if finding.share > 0 else (2, 0.0)

    ranked.sort(key=order)
    return replace(report, findings=tuple(ranked), min_share=min_share)
