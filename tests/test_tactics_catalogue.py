"""The tactics catalogue: its integrity, lookups, the rendered docs and ``greencode tactics``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from run_cli import run_greencode as greencode

from greencode.tactics import links, markdown
from greencode.tactics.catalogue import CATEGORIES, CatalogueError, load_catalogue, parse_catalogue
from greencode.tactics.rules import RULES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DOCS = Path(__file__).parents[1] / "docs" / "tactics.md"
CATALOGUE = load_catalogue()


def raw() -> dict[str, Any]:
    text = resources.files("greencode.tactics").joinpath("catalogue.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


# -- integrity -----------------------------------------------------------------------------------------------


def test_catalogue_has_at_least_35_tactics() -> None:
    assert len(CATALOGUE.tactics) >= 35


def test_tactic_ids_are_unique() -> None:
    ids = [t.id for t in CATALOGUE.tactics]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_has_tactics(category: str) -> None:
    assert CATALOGUE.by_category(category)


@pytest.mark.parametrize("tactic", CATALOGUE.tactics, ids=lambda t: t.id)
def test_every_tactic_is_sourced(tactic: Any) -> None:
    assert tactic.sources and all(s.ref and s.title and s.url.startswith("https://") for s in tactic.sources)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_is_mapped_to_an_existing_tactic_that_lists_it(rule: Any) -> None:
    assert rule.id in CATALOGUE.get(rule.tactic).rules


def test_every_rule_a_tactic_lists_exists_and_points_back() -> None:
    by_id = {rule.id: rule for rule in RULES}
    listed = [(rule_id, tactic.id) for tactic in CATALOGUE.tactics for rule_id in tactic.rules]
    assert all(by_id[rule_id].tactic == tactic_id for rule_id, tactic_id in listed)
    assert len(listed) == len(RULES)


def test_creedengo_ids_come_from_the_python_rule_list() -> None:
    # the IDs of creedengo's Python rule specifications; a typo here would send readers to the wrong rule
    known = {
        "GCI4",
        "GCI7",
        "GCI35",
        "GCI72",
        "GCI74",
        "GCI89",
        "GCI96",
        "GCI97",
        "GCI99",
        "GCI100",
        "GCI103",
        "GCI104",
        "GCI105",
        "GCI106",
        "GCI107",
        "GCI108",
        "GCI109",
        "GCI110",
        "GCI111",
        "GCI112",
        "GCI404",
    }
    used = {s.ref for t in CATALOGUE.tactics for s in t.sources if s.key == "creedengo"}
    assert used and used <= known


def mutated(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(raw())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["tactics"].append(dict(d["tactics"][0])), "duplicate id"),
        (lambda d: d["tactics"][0].update(id="DS-1"), "id must look like"),
        (lambda d: d["tactics"][0].update(category="frontend"), "category must be one of"),
        (lambda d: d["tactics"][0].update(sources=[]), "needs at least one source"),
        (lambda d: d["tactics"][0].update(sources=[{"source": "nowhere", "ref": "x"}]), "must name a"),
        (lambda d: d["tactics"][0].update(summary=" "), "summary must be"),
        (lambda d: d["tactics"][0].update(rules=["R1"]), "rules must be"),
        (lambda d: d.update(schema=2), "schema"),
    ],
    ids=[
        "duplicate",
        "bad-id",
        "category",
        "no-source",
        "unknown-source",
        "empty-summary",
        "bad-rule",
        "schema",
    ],
)
def test_malformed_catalogue_is_rejected_with_the_entry_named(change: Any, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(mutated(change))


# -- lookups -------------------------------------------------------------------------------------------------


def test_get_is_case_insensitive() -> None:
    assert CATALOGUE.get("gt-wt-01").name == "Block on events instead of polling"


def test_unknown_id_suggests_close_ones() -> None:
    with pytest.raises(CatalogueError, match=r"did you mean .*GT-WT-01"):
        CATALOGUE.get("GT-WT-10")


def test_unknown_category_is_an_error() -> None:
    with pytest.raises(CatalogueError, match="one of code, data"):
        CATALOGUE.by_category("web")


def test_search_finds_a_tactic_by_its_source_id() -> None:
    assert [t.id for t in CATALOGUE.search("gci108")] == ["GT-DS-02"]


def test_search_requires_every_word() -> None:
    assert {t.id for t in CATALOGUE.search("poll", "event")} == {"GT-WT-01"}
    assert CATALOGUE.search("poll", "zebra") == ()


@given(st.text(max_size=12))
def test_search_returns_exactly_the_matching_tactics(word: str) -> None:
    assert CATALOGUE.search(word) == tuple(t for t in CATALOGUE.tactics if t.matches(word))


def test_every_tactic_is_found_by_its_own_id() -> None:
    assert all(tactic in CATALOGUE.search(tactic.id) for tactic in CATALOGUE.tactics)


def test_for_rule_finds_the_listing_tactic() -> None:
    assert CATALOGUE.for_rule("GRN008").id == "GT-WT-01"


# -- docs ----------------------------------------------------------------------------------------------------


def test_docs_are_generated_from_the_current_catalogue_and_rules() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert markdown.update(text) == text, "run: python -m greencode.tactics.markdown docs/tactics.md"


def test_docs_have_an_anchor_for_every_tactic_and_rule() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for key in [t.id for t in CATALOGUE.tactics] + [r.id for r in RULES]:
        assert f'<a id="{key.lower()}"></a>' in text


# -- command line --------------------------------------------------------------------------------------------


def tactics(*args: str) -> subprocess.CompletedProcess[str]:
    return greencode("tactics", *args, cwd=Path.cwd())


def test_cli_list_by_category_prints_only_that_category() -> None:
    result = tactics("list", "--category", "ml")
    rows = result.stdout.splitlines()
    assert result.returncode == 0 and len(rows) == len(CATALOGUE.by_category("ml"))
    assert all(row.split()[1] == "ml" for row in rows)


def test_cli_show_prints_summary_rules_and_sources() -> None:
    result = tactics("show", "gt-wt-01")
    assert result.returncode == 0
    for text in ("GT-WT-01  Block on events instead of polling", "GRN008", "Push Over Poll"):
        assert text in result.stdout


def test_cli_show_prints_no_link_while_no_address_is_published() -> None:
    result = tactics("show", "gt-wt-01")
    assert "More:" not in result.stdout and "greencode/greencode" not in result.stdout


def test_tactic_url_follows_the_one_documentation_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "docs_url", lambda: "https://example.org/greencode/docs")
    assert CATALOGUE.get("GT-WT-01").url == "https://example.org/greencode/docs/tactics.md#gt-wt-01"


def test_no_placeholder_project_address_is_left_in_the_package() -> None:
    package = Path(links.__file__).parents[1]
    offenders = [
        p for p in package.rglob("*.py") if "github.com/greencode/greencode" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_cli_show_unknown_id_exits_2_with_one_line() -> None:
    result = tactics("show", "GT-ZZ-99")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "unknown tactic" in result.stderr


def test_cli_search_prints_matches_and_json_parses() -> None:
    assert "GT-WT-01" in tactics("search", "polling").stdout
    data = json.loads(tactics("search", "polling", "--json").stdout)
    assert [t["id"] for t in data] == [t.id for t in CATALOGUE.search("polling")]
    assert data[0]["sources"][0]["ref"]


def test_cli_without_an_action_prints_help_and_exits_2() -> None:
    result = tactics()
    assert result.returncode == 2 and "list" in result.stdout


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from greencode.cli import main

    code = main(["tactics", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_search_matches_every_word_of_a_quoted_phrase(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "search", "set membership")
    assert code == 0 and "GT-DS-01" in out


def test_cli_search_for_nothing_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "search", " ")
    assert code == 2 and out == "" and err.count("\n") == 1 and "search" in err


def test_cli_show_of_a_scanner_rule_shows_its_tactic(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "show", "grn008")
    assert code == 0 and out.startswith("GT-WT-01  ")


def test_cli_list_category_ignores_case(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "list", "--category", "ML")
    assert code == 0 and len(out.splitlines()) == len(CATALOGUE.by_category("ml"))
