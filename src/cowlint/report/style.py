"""Colour for the terminal (ANSI escapes), as ruff shows it: only where it is asked for or on a
terminal, never when ``NO_COLOR`` is set (https://no-color.org) unless ``--color always``."""

from __future__ import annotations

import os
from typing import TextIO

from cowlint.engine.finding import Finding

BOLD, RED, CYAN, BLUE = "1", "31", "36", "34"


def wanted(choice: str, stream: TextIO) -> bool:
    """``--color auto|always|never``: auto colours a terminal that is not dumb, unless NO_COLOR."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, *codes: str, on: bool) -> str:
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if on and text else text


def head(finding: Finding, on: bool) -> str:
    """``path:line:col: CODE message``, the path bold and the code red when ``on``."""
    colon = paint(":", CYAN, on=on)
    return f"{paint(finding.path, BOLD, on=on)}{colon}{finding.line}{colon}{finding.column}{colon} {paint(finding.code, BOLD, RED, on=on)} {finding.message}"
