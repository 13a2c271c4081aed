"""SARIF 2.1.0 output of a scan, in the shape GitHub code scanning accepts.

One run, tool ``greencode``, one reporting descriptor per rule that ran (with help text in plain text and
Markdown that names the tactic and links to its section in docs/tactics.md), one result per finding with a
location relative to ``%SRCROOT%`` (the directory the scan ran from, normally the repository root), and the
skipped files as tool execution notifications. Upload it with ``github/codeql-action/upload-sarif``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from greencode import __version__
from greencode.tactics.catalogue import Catalogue, Tactic, load_catalogue
from greencode.tactics.rules import Rule
from greencode.tactics.scanner import Finding, ScanReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/greencode/greencode"
LEVEL = "note"  # advice to consider, not a defect: GitHub shows these as "Note"


def _help(rule: Rule, tactic: Tactic) -> dict[str, str]:
    sources = "; ".join(f"{s.title}: {s.ref}" for s in tactic.sources)
    evidence = f"\n\nMeasured example: {tactic.evidence}." if tactic.evidence else ""
    text = (
        f"{rule.message}.\n\nTactic {tactic.id}, {tactic.name}: {tactic.summary}{evidence}\n\n"
        f"How the rule decides: {rule.heuristic}\n\nKnown false positives: {rule.false_positives}\n\n"
        f"Sources: {sources}.\n\nSilence one line with `# greencode: ignore[{rule.id}]`."
    )
    markdown = (
        f"{rule.message}.\n\n**Tactic [{tactic.id} {tactic.name}]({tactic.url})**: {tactic.summary}"
        f"{evidence}\n\n**How the rule decides:** {rule.heuristic}\n\n"
        f"**Known false positives:** {rule.false_positives}\n\n"
        + "**Sources:**\n"
        + "".join(f"- [{s.title}]({s.url}): {s.ref}\n" for s in tactic.sources)
        + f"\nSilence one line with `# greencode: ignore[{rule.id}]`."
    )
    return {"text": text, "markdown": markdown}


def _descriptor(rule: Rule, catalogue: Catalogue) -> dict[str, Any]:
    tactic = catalogue.get(rule.tactic)
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title}. Tactic {tactic.id}: {tactic.name}."},
        "help": _help(rule, tactic),
        "helpUri": tactic.url,
        "defaultConfiguration": {"level": LEVEL},
        "properties": {
            "tags": ["green-software", "energy", "efficiency", tactic.category, tactic.id],
            "precision": "medium",
            "problem.severity": "recommendation",
            "tactic": {"id": tactic.id, "name": tactic.name, "url": tactic.url},
        },
    }


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


def to_sarif(report: ScanReport, root: Path | None = None) -> dict[str, Any]:
    """The SARIF log (a JSON-ready dict) for ``report``; ``root`` is what relative paths are relative to."""
    root = Path(root or Path.cwd()).absolute()
    catalogue = load_catalogue()
    index = {rule.id: position for position, rule in enumerate(report.rules)}
    results = [
        {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": LEVEL,
            "message": {"text": f"{finding.message} (tactic {finding.tactic})"},
            "locations": [_location(finding.path, finding.line, finding)],
        }
        for finding in report.findings
    ]
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"not scanned: {skipped.reason}"},
            "locations": [_location(skipped.path, skipped.line)],
        }
        for skipped in report.skipped
    ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "greencode",
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_descriptor(rule, catalogue) for rule in report.rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": results,
            }
        ],
    }
