"""GitHub Actions workflow commands: one ``::warning`` annotation per finding."""

from __future__ import annotations

from cowlint.engine.finding import Finding
from cowlint.engine.source import SourceText


def _data(text: str) -> str:
    # the escaping GitHub's runner expects for a command's message
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding], sources: dict[str, SourceText], color: bool = False) -> str:
    """``::warning file=PATH,line=L,col=C,title=CODE::message; fix`` per finding."""
    return "".join(
        f"::warning file={_property(f.path)},line={f.line},col={f.column},title={_property(f.code)}::{_data(f.one_line())}\n" for f in findings
    )
