"""``greencode tactics list|show|search``: browse the catalogue of green software tactics."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from greencode.tactics.catalogue import CATEGORIES

if TYPE_CHECKING:
    from greencode.tactics.catalogue import Tactic

ORDER = 60


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tactics",
        help="browse the catalogue of green software tactics",
        description="Browse greencode's catalogue of green software tactics: changes that make software use "
        "less energy, each with its sources and, for code tactics, the 'greencode scan' rules that find "
        "where it applies.",
        epilog="Examples: greencode tactics list --category code; greencode tactics show GT-WT-01; "
        "greencode tactics search polling",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="list tactics, optionally of one category")
    listing.add_argument(
        "--category", type=str.lower, choices=CATEGORIES, help="only tactics of this category"
    )
    listing.set_defaults(func=handle_list)
    show = actions.add_parser("show", help="show one tactic in full")
    show.add_argument("id", metavar="ID", help="tactic ID such as GT-DS-01, or a scanner rule such as GRN001")
    show.set_defaults(func=handle_show)
    search = actions.add_parser("search", help="tactics whose text matches every WORD (case-insensitive)")
    search.add_argument("words", nargs="+", metavar="WORD")
    search.set_defaults(func=handle_search)
    for action in (listing, show, search):
        action.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _as_dict(tactic: Tactic) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(tactic) | {"url": tactic.url}


def _print_table(tactics: tuple[Tactic, ...], as_json: bool) -> None:
    import json

    if as_json:
        print(json.dumps([_as_dict(t) for t in tactics], indent=2, ensure_ascii=False))
        return
    width = max((len(t.category) for t in tactics), default=0)
    for tactic in tactics:
        rules = f"  [{', '.join(tactic.rules)}]" if tactic.rules else ""
        print(f"{tactic.id}  {tactic.category:<{width}}  {tactic.name}{rules}")


def handle_list(args: argparse.Namespace) -> int:
    from greencode.tactics.catalogue import list_tactics

    _print_table(list_tactics(args.category), args.json)
    return 0


def handle_search(args: argparse.Namespace) -> int:
    import sys

    from greencode.errors import GreencodeError
    from greencode.tactics.catalogue import search_tactics

    # a quoted phrase is several words too: "set membership" finds what `set membership` finds
    words = [word for text in args.words for word in text.split()]
    if not words:
        raise GreencodeError(
            "tactics search: give a word to look for, e.g. 'greencode tactics search polling'"
        )
    found = search_tactics(*words)
    if not found and not args.json:
        print(
            f"no tactic matches {' '.join(args.words)!r}; try a shorter word or 'greencode tactics list'",
            file=sys.stderr,
        )
        return 0
    _print_table(found, args.json)
    return 0


def handle_show(args: argparse.Namespace) -> int:
    import json
    import textwrap

    from greencode.tactics.catalogue import CatalogueError, get_tactic, load_catalogue
    from greencode.tactics.rules import RULES_BY_ID

    try:
        tactic = get_tactic(args.id)
    except CatalogueError:
        # scanner output shows rule IDs next to tactic IDs; either should explain the finding
        if args.id.strip().upper() not in RULES_BY_ID:
            raise
        tactic = load_catalogue().for_rule(args.id.strip().upper())
    if args.json:
        print(json.dumps(_as_dict(tactic), indent=2, ensure_ascii=False))
        return 0
    lines = [f"{tactic.id}  {tactic.name}", f"category: {tactic.category}", ""]
    lines += textwrap.wrap(tactic.summary, 100)
    if tactic.evidence:
        lines += ["", *textwrap.wrap(f"Measured example (CPU time, CPython 3.11): {tactic.evidence}", 100)]
    if tactic.rules:
        lines += ["", "Scanner rules (greencode scan):"]
        lines += [f"  {r}  {RULES_BY_ID[r].title}" for r in tactic.rules]
    lines += ["", "Sources:"]
    lines += [f"  {s.ref} - {s.title} <{s.url}>" for s in tactic.sources]
    if tactic.url:
        lines += ["", f"More: {tactic.url}"]
    print("\n".join(lines))
    return 0
