"""``path:line:col: CODE message`` — one finding per line, like ruff's concise output (the
detail and the fix are in the full text output, the JSON and ``--explain``)."""

from __future__ import annotations

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText
from cowlint.report.style import head


def render(findings: list[Finding], sources: dict[str, SourceText], color: bool = False) -> str:
    """One line per finding."""
    return "".join(head(f, color) + "\n" for f in findings)
