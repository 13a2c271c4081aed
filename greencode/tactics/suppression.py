"""``# greencode: ignore[...]`` comments: which lines silence which rules, and which comments are malformed.

Only real comment tokens count (found with :mod:`tokenize`), so the same text inside a string literal or a
docstring silences nothing. A well-formed comment is ``# greencode: ignore`` (every rule on the line) or
``# greencode: ignore[GRN001, GRN007]`` (those rules), optionally followed by more text after a space
(``# greencode: ignore[GRN008] -- the device offers no event``). Anything else that starts like one
(``ignore[GRN001`` unclosed, ``ignorefoo``, ``ignore [GRN001]``, ``ignore-next-line``, an unknown rule ID)
silences nothing and is reported, so a typo never turns into a blanket suppression.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Collection
from dataclasses import dataclass

#: Where a comment tries to be a greencode directive: right after a ``#`` (prose that mentions one in the
#: middle of a sentence is not an attempt). Checked for well-formedness afterwards.
_DIRECTIVE = re.compile(r"#\s*(?P<start>)greencode\s*:\s*ignore", re.IGNORECASE)
_WELL_FORMED = re.compile(
    r"greencode:[ \t]*ignore(?:\[(?P<ids>[ \t]*[A-Za-z0-9-]+(?:[ \t]*,[ \t]*[A-Za-z0-9-]+)*[ \t]*)\])?"
    r"(?=$|[ \t]+[^\s\[]|[ \t]*#|[ \t]*$)",
    re.IGNORECASE,
)
_QUICK = re.compile(r"greencode\s*:", re.IGNORECASE)

#: ``None`` in a line's entry: every rule is silenced there.
Silenced = frozenset[str] | None


@dataclass(frozen=True)
class MalformedSuppression:
    """A comment that looks like a suppression but is not one; it silences nothing."""

    path: str
    line: int
    comment: str
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: malformed suppression {self.comment!r} silences nothing: "
            f"{self.problem}; write '# greencode: ignore[GRN001]' (IDs comma-separated) or "
            "'# greencode: ignore'"
        )


@dataclass(frozen=True)
class Suppressions:
    """The well-formed suppressions of one file, by line, and the malformed ones."""

    by_line: dict[int, Silenced]
    malformed: tuple[MalformedSuppression, ...] = ()

    def silences(self, line: int, rule_id: str) -> bool:
        if line not in self.by_line:
            return False
        listed = self.by_line[line]
        return listed is None or rule_id in listed


NONE = Suppressions({})


def _comments(text: str) -> list[tuple[int, str]]:
    """Every comment token of ``text`` with its line; [] when the text does not tokenize."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0], token.string))
    except (tokenize.TokenError, SyntaxError):  # the parser has accepted it, so this is rare
        return found
    return found


def read_suppressions(text: str, path: str, known_rules: Collection[str]) -> Suppressions:
    """The suppressions in source ``text`` (``known_rules``: IDs a comment may name)."""
    if not _QUICK.search(text):
        return NONE
    by_line: dict[int, Silenced] = {}
    malformed: list[MalformedSuppression] = []
    known = frozenset(known_rules)
    for line, comment in _comments(text):
        for attempt in _DIRECTIVE.finditer(comment):
            start = attempt.start("start")
            match = _WELL_FORMED.match(comment, start)
            fragment = comment[start:].split("#", 1)[0].rstrip()
            if match is None:
                malformed.append(MalformedSuppression(path, line, fragment, _why_malformed(fragment)))
                continue
            ids = match.group("ids")
            if ids is None:
                by_line[line] = None
                continue
            listed = frozenset(part.strip().upper() for part in ids.split(","))
            unknown = sorted(listed - known)
            if unknown:
                problem = f"unknown rule {', '.join(unknown)} (list them with 'greencode scan --list-rules')"
                malformed.append(MalformedSuppression(path, line, fragment, problem))
                listed -= set(unknown)
            if line in by_line and by_line[line] is None:
                continue
            by_line[line] = (by_line.get(line) or frozenset()) | listed
    return Suppressions(by_line, tuple(malformed))


def _why_malformed(fragment: str) -> str:
    if re.match(r"greencode:", fragment, re.IGNORECASE) is None:
        return "write 'greencode:' without a space before the colon"
    rest = re.sub(r"^greencode:\s*ignore", "", fragment, flags=re.IGNORECASE)
    if rest.startswith("[") and "]" not in rest:
        return "the '[' is never closed"
    if re.match(r"^\s+\[", rest):
        return "no space is allowed between 'ignore' and '['"
    if rest.startswith("["):
        return "rule IDs are letters and digits separated by commas"
    return f"unexpected {rest.split()[0][:20]!r} right after 'ignore'"
