"""``path:line:col: CODE message; fix`` — one finding per line, like flake8."""

from __future__ import annotations

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText


def render(findings: list[Finding], sources: dict[str, SourceText]) -> str:
    """One line per finding."""
    return "".join(f"{f.path}:{f.line}:{f.column}: {f.code} {f.one_line()}\n" for f in findings)
