"""The default output: each finding with its source line, a caret under the culprit and the fix."""

from __future__ import annotations

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText

MEDIUM_NOTE = "part of this is inferred, not traced: a pool known only by its name or an annotation, or data whose size cannot be known statically"


def _caret_line(line: str, start: int, end: int) -> str:
    # keep tabs so the carets line up under tab-indented code
    prefix = "".join(ch if ch == "\t" else " " for ch in line[: start - 1])
    width = max(1, min(end, len(line) + 1) - start)
    return prefix + "^" * width


def render_one(finding: Finding, source: SourceText | None) -> str:
    """One finding as a block of text."""
    head = f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}\n"
    lines = source.lines if source is not None else []
    if not 0 < finding.line <= len(lines):
        body = ""
    else:
        line = lines[finding.line - 1]
        end = finding.end_column if finding.end_line == finding.line else len(line) + 1
        gutter = " " * len(str(finding.line))
        body = (
            f"{gutter} |\n"
            f"{finding.line} | {line}\n"
            f"{gutter} | {_caret_line(line, finding.column, end)} {finding.code}\n"
            f"{gutter} |\n"
        )
    indent = " " * len(str(finding.line)) if body else ""
    tail = f"{indent} = note: {finding.detail}\n" if finding.detail else ""
    tail += f"{indent} = help: {finding.fix}\n" if finding.fix else ""
    if finding.autofix:
        if finding.fix_applicability == "safe":
            tail += f"{indent} = fix available: {finding.autofix} (cowlint --fix)\n"
        else:
            tail += f"{indent} = unsafe fix available: {finding.autofix} (cowlint --fix --unsafe-fixes)\n"
    if finding.confidence != "high":
        tail += f"{indent} = note: {finding.confidence} confidence: {MEDIUM_NOTE}\n"
    return head + body + tail


def render(findings: list[Finding], sources: dict[str, SourceText]) -> str:
    """All findings, separated by blank lines."""
    return "\n".join(render_one(f, sources.get(f.path)) for f in findings)
