"""Render the catalogue and the rules as Markdown for ``docs/tactics.md``.

The generated sections sit between marker comments in the document; the rest of it is written by hand.
Regenerate after changing ``catalogue.toml`` or a rule with::

    python -m greencode.tactics.markdown docs/tactics.md

A test fails when the document is out of date, so the docs cannot drift from the data.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from greencode.tactics.catalogue import CATEGORIES, load_catalogue
from greencode.tactics.rules import RULES

_CATEGORY_TITLES = {
    "code": "Code",
    "data": "Data",
    "architecture": "Architecture and deployment",
    "ml": "Machine learning",
    "ci": "CI and operations",
}


def render_catalogue() -> str:
    catalogue = load_catalogue()
    out: list[str] = []
    for category in CATEGORIES:
        out.append(f"### {_CATEGORY_TITLES[category]}\n")
        for tactic in catalogue.by_category(category):
            out.append(f'<a id="{tactic.id.lower()}"></a>\n#### {tactic.id} {tactic.name}\n')
            out.append(f"{tactic.summary}\n")
            if tactic.evidence:
                out.append(f"- Measured example (CPU time, CPython 3.11): {tactic.evidence}.")
            if tactic.rules:
                links = ", ".join(f"[{r}](#{r.lower()})" for r in tactic.rules)
                out.append(f"- Scanner rules: {links}.")
            sources = "; ".join(f"{s.ref} ([{s.key}]({s.url}))" for s in tactic.sources)
            out.append(f"- Sources: {sources}.\n")
    return "\n".join(out).rstrip() + "\n"


def render_rules() -> str:
    catalogue = load_catalogue()
    out = ["| rule | name | tactic | finds |", "|---|---|---|---|"]
    out += [
        f"| [{r.id}](#{r.id.lower()}) | `{r.name}` | [{r.tactic}](#{r.tactic.lower()}) | {r.title} |"
        for r in RULES
    ]
    out.append("")
    for rule in RULES:
        tactic = catalogue.get(rule.tactic)
        out.append(f'<a id="{rule.id.lower()}"></a>\n#### {rule.id} `{rule.name}`: {rule.title}\n')
        out.append(f"- Tactic: [{tactic.id} {tactic.name}](#{tactic.id.lower()}).")
        out.append(f"- Says: {rule.message}.")
        out.append(f"- Heuristic: {rule.heuristic}")
        out.append(f"- Known false positives: {rule.false_positives}\n")
    return "\n".join(out).rstrip() + "\n"


SECTIONS: dict[str, Callable[[], str]] = {"catalogue": render_catalogue, "rules": render_rules}


def _markers(name: str) -> tuple[str, str]:
    return (
        f"<!-- BEGIN GENERATED {name}: python -m greencode.tactics.markdown docs/tactics.md -->",
        f"<!-- END GENERATED {name} -->",
    )


def update(text: str) -> str:
    """``text`` with every generated section replaced by a fresh rendering."""
    for name, render in SECTIONS.items():
        begin, end = _markers(name)
        match = re.search(re.escape(begin) + r".*?" + re.escape(end), text, re.DOTALL)
        if match is None:
            raise ValueError(f"the document has no generated {name!r} section; add the lines\n{begin}\n{end}")
        text = f"{text[: match.start()]}{begin}\n\n{render()}\n{end}{text[match.end() :]}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print("usage: python -m greencode.tactics.markdown docs/tactics.md", file=sys.stderr)
        return 2
    from greencode.files import atomic_write_text

    path = Path(args[0])
    old = path.read_text(encoding="utf-8")
    new = update(old)
    if new != old:
        atomic_write_text(path, new)
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
