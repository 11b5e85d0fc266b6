"""SARIF 2.1.0, as GitHub code scanning accepts it: every rule in the driver, every finding a result."""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from cowlint._version import __version__
from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText
from cowlint.rules import ENGINE_CODES

if TYPE_CHECKING:
    from cowlint.rules.base import Rule

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
PROJECT_URI = "https://github.com/cowlint/cowlint"
DOCS_URI = PROJECT_URI + "/blob/main/docs/rules/{code}.md"


def _level(code: str) -> str:
    # a file that was not checked is an error of the run, a finding is a warning
    return "error" if code in ENGINE_CODES else "warning"


def _rule(rule: type[Rule]) -> dict[str, object]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.first_paragraph("What it does")},
        "helpUri": DOCS_URI.format(code=rule.code),
        "help": {"text": rule.first_paragraph("Why is this bad?"), "markdown": rule.documentation()},
        "defaultConfiguration": {"level": _level(rule.code)},
        "properties": {"tags": ["multiprocessing", "memory"] if rule.code not in ENGINE_CODES else ["tool"]},
    }


def _uri(path: str) -> str:
    if PureWindowsPath(path).is_absolute() and not path.startswith("/"):
        return PureWindowsPath(path).as_uri()
    if path.startswith("/"):
        return PurePosixPath(path).as_uri()
    return quote(os.fsencode(path.replace("\\", "/")))  # a name that is not UTF-8 keeps its bytes, %-escaped


def _result(finding: Finding, index: dict[str, int]) -> dict[str, object]:
    return {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _level(finding.code),
        "message": {"text": finding.one_line()},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.path)},
                    "region": {
                        "startLine": finding.line,
                        "startColumn": finding.column,
                        "endLine": finding.end_line,
                        "endColumn": finding.end_column,
                    },
                }
            }
        ],
        "relatedLocations": [
            {
                "id": number,
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.path)},
                    "region": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column},
                },
                "message": {"text": what},
            }
            for number, (line, column, end_line, end_column, what) in enumerate(finding.related)
        ],
        "properties": {"size_bytes": finding.size_bytes, "confidence": finding.confidence, "unsure": finding.unsure or None, "fix": finding.fix},
    }


def render(findings: list[Finding], sources: dict[str, SourceText], color: bool = False) -> str:
    """One SARIF log with one run."""
    from cowlint.rules.registry import ALL_RULES  # the rule pages describe the rules: load them only for SARIF

    index = {rule.code: position for position, rule in enumerate(ALL_RULES)}
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "cowlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": PROJECT_URI,
                        "rules": [_rule(rule) for rule in ALL_RULES],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(finding, index) for finding in findings],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
