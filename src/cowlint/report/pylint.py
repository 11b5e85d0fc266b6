"""``path:line: [CODE] message`` — pylint's parseable output, as ruff writes it."""

from __future__ import annotations

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText


def render(findings: list[Finding], sources: dict[str, SourceText], color: bool = False) -> str:
    """One line per finding."""
    return "".join(f"{f.path}:{f.line}: [{f.code}] {f.message}\n" for f in findings)
