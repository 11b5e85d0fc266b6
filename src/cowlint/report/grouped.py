"""``path:`` then ``  line:col CODE message`` under it — ruff's grouped output."""

from __future__ import annotations

from itertools import groupby

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText


def render(findings: list[Finding], sources: dict[str, SourceText], color: bool = False) -> str:
    """The findings of each file under its path, a blank line between files."""
    blocks = []
    for path, group in groupby(findings, key=lambda finding: finding.path):
        items = list(group)
        width = max(len(f"{finding.line}:{finding.column}") for finding in items)
        lines = [f"  {f'{finding.line}:{finding.column}':<{width}} {finding.code} {finding.message}" for finding in items]
        blocks.append(f"{path}:\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)
