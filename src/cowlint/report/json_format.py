"""A JSON array of findings. Fields are only ever added, never renamed or removed."""

from __future__ import annotations

import json

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText


def as_dict(finding: Finding) -> dict[str, object]:
    """The JSON object of one finding (1-based lines and columns, end column exclusive)."""
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "detail": finding.detail,
        "fix": finding.fix,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "confidence": finding.confidence,
        "unsure": finding.unsure or None,
        "size_bytes": finding.size_bytes,
        "autofix": finding.autofix,
        "fix_applicability": finding.fix_applicability if finding.autofix else None,
        "related": [
            {"line": line, "column": column, "end_line": end_line, "end_column": end_column, "message": what} for line, column, end_line, end_column, what in finding.related
        ],
    }


def render(findings: list[Finding], sources: dict[str, SourceText], color: bool = False) -> str:
    """The findings as a JSON array."""
    return json.dumps([as_dict(f) for f in findings], indent=2) + "\n"
