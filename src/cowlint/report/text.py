"""The default output: each finding with its source line, a caret under the culprit and the fix."""

from __future__ import annotations

from cowlint.engine.finding import INFERRED, Finding
from cowlint.engine.source import SourceText
from cowlint.report.style import BLUE, BOLD, CYAN, RED, head, paint


def _caret_line(line: str, start: int, end: int) -> str:
    # keep tabs so the carets line up under tab-indented code
    prefix = "".join(ch if ch == "\t" else " " for ch in line[: start - 1])
    width = max(1, min(end, len(line) + 1) - start)
    return prefix + "^" * width


def render_one(finding: Finding, source: SourceText | None, color: bool = False) -> str:
    """One finding as a block of text (ANSI colours when ``color``)."""
    first = head(finding, color) + "\n"
    lines = source.lines if source is not None else []
    bar = paint("|", BLUE, BOLD, on=color)
    if not 0 < finding.line <= len(lines):
        body = ""
    else:
        line = lines[finding.line - 1]
        end = finding.end_column if finding.end_line == finding.line else len(line) + 1
        gutter = " " * len(str(finding.line))
        carets = paint(f"{_caret_line(line, finding.column, end)} {finding.code}", RED, BOLD, on=color)
        body = f"{gutter} {bar}\n{paint(str(finding.line), BLUE, BOLD, on=color)} {bar} {line}\n{gutter} {bar} {carets}\n{gutter} {bar}\n"
    indent = " " * len(str(finding.line)) if body else ""

    def label(name: str) -> str:
        return f"{indent} {paint('=', BLUE, BOLD, on=color)} {paint(name, BOLD, on=color)}"

    tail = f"{label('note:')} {finding.detail}\n" if finding.detail else ""
    tail += f"{label('help:')} {finding.fix}\n" if finding.fix else ""
    if finding.autofix:
        if finding.fix_applicability == "safe":
            tail += f"{label('fix available:')} {finding.autofix} ({paint('cowlint --fix', CYAN, on=color)})\n"
        else:
            tail += f"{label('unsafe fix available:')} {finding.autofix} ({paint('cowlint --fix --unsafe-fixes', CYAN, on=color)})\n"
    if finding.confidence != "high":
        tail += f"{label('note:')} {finding.confidence} confidence: {finding.unsure or INFERRED}\n"
    return first + body + tail


def render(findings: list[Finding], sources: dict[str, SourceText], color: bool = False) -> str:
    """All findings, separated by blank lines."""
    return "\n".join(render_one(f, sources.get(f.path), color) for f in findings)
