"""The catalogue of green software tactics, read from the packaged ``catalogue.toml``.

A tactic is a change a developer can make to use less energy, with the sources it comes from and, for code
tactics, the scanner rules that find places where it applies. The data is validated when it is loaded, so a
broken entry fails loudly in the first test rather than deep inside ``greencode scan``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greencode.errors import GreencodeError

#: The categories, in the order ``greencode tactics list`` shows them.
CATEGORIES = ("code", "data", "architecture", "ml", "ci")

_TACTIC_ID = re.compile(r"^GT-[A-Z]{2}-\d{2}$")
_RULE_ID = re.compile(r"^GRN\d{3}$")


class CatalogueError(GreencodeError):
    """The tactics catalogue is malformed (a packaging defect) or a tactic ID is unknown."""


@dataclass(frozen=True)
class SourceRef:
    """Where a tactic comes from: the catalogue or paper, and that source's own ID or title for the idea."""

    key: str
    title: str
    url: str
    ref: str

    def __str__(self) -> str:
        return f"{self.key}: {self.ref}"


@dataclass(frozen=True)
class Tactic:
    """One green software tactic."""

    id: str
    name: str
    category: str
    summary: str
    sources: tuple[SourceRef, ...]
    rules: tuple[str, ...] = ()
    evidence: str | None = None

    @property
    def url(self) -> str | None:
        """The tactic's section in the published docs/tactics.md; None while no address is published
        (:mod:`greencode.tactics.links`)."""
        from greencode.tactics.links import tactic_url

        return tactic_url(self.id)

    def matches(self, word: str) -> bool:
        """Case-insensitive substring match on ID, name, summary, category, rules and source references."""
        needle = word.casefold()
        haystack = (
            self.id,
            self.name,
            self.summary,
            self.category,
            *self.rules,
            *(f"{s.key} {s.ref}" for s in self.sources),
        )
        return any(needle in text.casefold() for text in haystack)


@dataclass(frozen=True)
class Catalogue:
    """All tactics, in file order, with lookups."""

    tactics: tuple[Tactic, ...]

    def get(self, tactic_id: str) -> Tactic:
        """The tactic with this ID (case-insensitive); :class:`CatalogueError` names close IDs otherwise."""
        wanted = tactic_id.strip().upper()
        for tactic in self.tactics:
            if tactic.id == wanted:
                return tactic
        import difflib

        close = difflib.get_close_matches(wanted, [t.id for t in self.tactics], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; 'greencode tactics list' shows them"
        raise CatalogueError(f"unknown tactic {tactic_id!r}{hint}")

    def by_category(self, category: str) -> tuple[Tactic, ...]:
        if category not in CATEGORIES:
            raise CatalogueError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
        return tuple(t for t in self.tactics if t.category == category)

    def search(self, *words: str) -> tuple[Tactic, ...]:
        """Tactics that match every word."""
        return tuple(t for t in self.tactics if all(t.matches(word) for word in words))

    def for_rule(self, rule_id: str) -> Tactic:
        for tactic in self.tactics:
            if rule_id in tactic.rules:
                return tactic
        raise CatalogueError(f"no tactic lists scanner rule {rule_id!r}")


def parse_catalogue(data: Mapping[str, Any], where: str = "catalogue.toml") -> Catalogue:
    """Validate the decoded TOML and build the :class:`Catalogue`."""

    def fail(message: str) -> CatalogueError:
        return CatalogueError(f"{where}: {message}")

    if data.get("schema") != 1:
        raise fail(f"schema = {data.get('schema')!r}; this greencode reads schema 1")
    sources = data.get("sources")
    if not isinstance(sources, Mapping) or not sources:
        raise fail("no [sources.*] tables")
    for key, source in sources.items():
        if not isinstance(source, Mapping) or not source.get("title") or not source.get("url"):
            raise fail(f"[sources.{key}] needs a title and a url")
    entries = data.get("tactics")
    if not isinstance(entries, list) or not entries:
        raise fail("no [[tactics]] entries")
    tactics: list[Tactic] = []
    seen_ids: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise fail(f"tactic #{index + 1} is not a table")
        label = f"tactic #{index + 1} ({entry.get('id', '?')})"
        tactic_id = entry.get("id")
        if not isinstance(tactic_id, str) or not _TACTIC_ID.match(tactic_id):
            raise fail(f"{label}: id must look like GT-DS-01")
        if tactic_id in seen_ids:
            raise fail(f"{label}: duplicate id")
        seen_ids.add(tactic_id)
        for field in ("name", "summary"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                raise fail(f"{label}: {field} must be a non-empty string")
        if entry.get("category") not in CATEGORIES:
            raise fail(f"{label}: category must be one of {', '.join(CATEGORIES)}")
        refs = entry.get("sources")
        if not isinstance(refs, list) or not refs:
            raise fail(f"{label}: every tactic needs at least one source")
        source_refs = []
        for ref in refs:
            key = ref.get("source") if isinstance(ref, Mapping) else None
            if (
                not isinstance(key, str)
                or key not in sources
                or not isinstance(ref.get("ref"), str)
                or not ref["ref"].strip()
            ):
                raise fail(f"{label}: source {ref!r} must name a [sources.*] key and a ref")
            source_refs.append(SourceRef(key, sources[key]["title"], sources[key]["url"], ref["ref"].strip()))
        rules = entry.get("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, str) and _RULE_ID.match(r) for r in rules):
            raise fail(f"{label}: rules must be a list of rule IDs such as 'GRN001'")
        evidence = entry.get("evidence")
        if evidence is not None and not isinstance(evidence, str):
            raise fail(f"{label}: evidence must be a string")
        tactics.append(
            Tactic(
                id=tactic_id,
                name=entry["name"].strip(),
                category=entry["category"],
                summary=" ".join(entry["summary"].split()),
                sources=tuple(source_refs),
                rules=tuple(rules),
                evidence=evidence,
            )
        )
    return Catalogue(tuple(tactics))


@functools.lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The packaged catalogue, parsed once per process."""
    # imported here: the command line imports this module for --help, which must stay quick
    from importlib import resources

    from greencode.config import parse_toml

    text = resources.files("greencode.tactics").joinpath("catalogue.toml").read_text(encoding="utf-8")
    return parse_catalogue(parse_toml(text, "greencode/tactics/catalogue.toml"))


def get_tactic(tactic_id: str) -> Tactic:
    return load_catalogue().get(tactic_id)


def list_tactics(category: str | None = None) -> tuple[Tactic, ...]:
    catalogue = load_catalogue()
    return catalogue.tactics if category is None else catalogue.by_category(category)


def search_tactics(*words: str) -> tuple[Tactic, ...]:
    return load_catalogue().search(*words)
