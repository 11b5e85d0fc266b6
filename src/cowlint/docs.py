"""Generate ``docs/rules/COWnnn.md`` from the rule docstrings: ``python -m cowlint.docs docs/rules``.

The pages are never edited by hand; a test fails when they drift from the docstrings.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cowlint.rules.registry import ALL_RULES

SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Known problems",
    "Example",
    "Use instead",
    "Options",
    "Platform notes",
    "Libraries",
    "Verify",
    "Fix safety",
    "References",
)


def pages() -> dict[str, str]:
    """File name -> Markdown text, for every rule."""
    return {f"{rule.code}.md": rule.documentation() for rule in ALL_RULES}


def main(argv: list[str] | None = None) -> int:
    """Write every rule page into the folder given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m cowlint.docs DOCS_RULES_DIR\n")
        return 2
    folder = Path(args[0])
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (folder / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
