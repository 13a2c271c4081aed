"""SARIF 2.1.0 output of a scan, in the shape GitHub code scanning accepts.

One run, tool ``greencode``, one reporting descriptor per rule that ran (with help text in plain text and
Markdown that names the tactic, linking to its section in docs/tactics.md once that is published), one
result per finding with a location relative to ``%SRCROOT%`` (the directory the scan ran from, normally the
repository root), and the skipped files and malformed suppressions as tool execution notifications. Upload
it with ``github/codeql-action/upload-sarif``.

A result's ``level`` is ``warning`` for high impact at high confidence and ``note`` otherwise; its ``rank``
(0-100, higher first) combines impact and confidence, and with a profile the measured share of the cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from greencode.tactics.catalogue import Catalogue, Tactic, load_catalogue
from greencode.tactics.links import docs_url
from greencode.tactics.rules import Rule
from greencode.tactics.scanner import Finding, ScanReport
from greencode.version import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = "note"  # advice to consider, not a defect: GitHub shows these as "Note"
_IMPACT_RANK = {"high": 90.0, "medium": 60.0, "low": 20.0}
_CONFIDENCE_FACTOR = {"high": 1.0, "medium": 0.8, "low": 0.5}


def level(finding: Finding) -> str:
    """``warning`` for high impact at high confidence, else ``note``."""
    return "warning" if finding.impact == "high" and finding.confidence == "high" else LEVEL


def rank(finding: Finding) -> float:
    """0-100: impact scaled by confidence; with a measured share, that share lifts or sinks it."""
    base = _IMPACT_RANK[finding.impact] * _CONFIDENCE_FACTOR[finding.confidence]
    if finding.share is not None:
        base = 0.5 * base + 50.0 * finding.share
    return round(base, 1)


def _help(rule: Rule, tactic: Tactic) -> dict[str, str]:
    sources = "; ".join(f"{s.title}: {s.ref}" for s in tactic.sources)
    evidence = f"\n\nMeasured example: {tactic.evidence}." if tactic.evidence else ""
    text = (
        f"{rule.message}.\n\nTactic {tactic.id}, {tactic.name}: {tactic.summary}{evidence}\n\n"
        f"How the rule decides: {rule.heuristic}\n\nKnown false positives: {rule.false_positives}\n\n"
        f"Sources: {sources}.\n\nSilence one line with `# greencode: ignore[{rule.id}]`."
    )
    name = f"[{tactic.id} {tactic.name}]({tactic.url})" if tactic.url else f"{tactic.id} {tactic.name}"
    markdown = (
        f"{rule.message}.\n\n**Tactic {name}**: {tactic.summary}"
        f"{evidence}\n\n**How the rule decides:** {rule.heuristic}\n\n"
        f"**Known false positives:** {rule.false_positives}\n\n"
        + "**Sources:**\n"
        + "".join(f"- [{s.title}]({s.url}): {s.ref}\n" for s in tactic.sources)
        + f"\nSilence one line with `# greencode: ignore[{rule.id}]`."
    )
    return {"text": text, "markdown": markdown}


def _descriptor(rule: Rule, catalogue: Catalogue) -> dict[str, Any]:
    tactic = catalogue.get(rule.tactic)
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title}. Tactic {tactic.id}: {tactic.name}."},
        "help": _help(rule, tactic),
        "defaultConfiguration": {"level": LEVEL},
        "properties": {
            "tags": ["green-software", "energy", "efficiency", tactic.category, tactic.id],
            "precision": {"high": "high", "medium": "medium", "low": "low"}[rule.confidence],
            "problem.severity": "recommendation",
            "tactic": {"id": tactic.id, "name": tactic.name} | ({"url": tactic.url} if tactic.url else {}),
        },
    }
    if tactic.url:
        descriptor["helpUri"] = tactic.url
    return descriptor


def _location(path: str, line: int | None, finding: Finding | None = None) -> dict[str, Any]:
    if Path(path).is_absolute():
        artifact: dict[str, Any] = {"uri": Path(path).as_uri()}
    else:
        artifact = {"uri": quote(path), "uriBaseId": "%SRCROOT%"}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line:
        region: dict[str, int] = {"startLine": line}
        if finding is not None:
            region["startColumn"] = finding.column
            if finding.end_line is not None and finding.end_column is not None:
                region["endLine"] = finding.end_line
                region["endColumn"] = finding.end_column
        physical["region"] = region
    return {"physicalLocation": physical}


def _result(finding: Finding, index: int) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "impact": finding.impact,
        "confidence": finding.confidence,
        "why": finding.why,
        "suppressLine": finding.suppress_line,
        "role": finding.role,
    }
    if finding.function:
        properties["function"] = finding.function
    if finding.share is not None:
        properties["measuredShare"] = finding.share
        properties["measured"] = finding.hot
    return {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": level(finding),
        "rank": rank(finding),
        "message": {"text": f"{finding.message} (tactic {finding.tactic}; {finding.impact} impact)"},
        "locations": [_location(finding.path, finding.line, finding)],
        "properties": properties,
    }


def to_sarif(report: ScanReport, root: Path | None = None, *, everything: bool = False) -> dict[str, Any]:
    """The SARIF log (a JSON-ready dict) for ``report``; ``root`` is what relative paths are relative to.

    Like the text output it holds the findings shown by default, or all of them with ``everything``."""
    root = Path(root or Path.cwd()).absolute()
    catalogue = load_catalogue()
    index = {rule.id: position for position, rule in enumerate(report.rules)}
    results = [_result(finding, index[finding.rule]) for finding in report.shown(everything)]
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"not scanned: {skipped.reason}"},
            "locations": [_location(skipped.path, skipped.line)],
        }
        for skipped in report.skipped
    ] + [
        {
            "level": "warning",
            "message": {"text": str(malformed).partition(": ")[2]},
            "locations": [_location(malformed.path, malformed.line)],
        }
        for malformed in report.malformed
    ]
    driver: dict[str, Any] = {
        "name": "greencode",
        "semanticVersion": __version__,
        "rules": [_descriptor(rule, catalogue) for rule in report.rules],
    }
    home = docs_url()
    if home:
        driver["informationUri"] = home
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }
