"""``# noqa`` and ``# noqa: COW101,COW102`` suppression (flake8's syntax, read strictly).

Only real comments count: a ``"# noqa"`` inside a string does not suppress.
``# noqa`` alone suppresses every code on its line; ``# noqa:`` followed by
codes suppresses those codes (a code is a prefix: ``COW1`` covers COW101);
a list with no valid code (``# noqa: COW1O1``, a typo) suppresses nothing.
"""

from __future__ import annotations

import io
import re
import tokenize

_NOQA = re.compile(r"#\s*noqa(?P<colon>\s*:\s*(?P<codes>[^#]*))?", re.IGNORECASE)
_CODE = re.compile(r"^[A-Z]+[0-9]+$")


def comments_by_line(text: str) -> dict[int, str] | None:
    """Each line's comment (1-based), or None when the text does not tokenize."""
    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string
    except (tokenize.TokenError, SyntaxError):
        return None
    return comments


def suppressed(comment: str, code: str) -> bool:
    """Whether ``comment`` (a comment, or a whole line as a fallback) suppresses ``code``."""
    if "#" not in comment:
        return False
    for match in _NOQA.finditer(comment):
        if match.group("colon") is None:
            return True
        tokens = (token.upper() for token in re.split(r"[,\s]+", match.group("codes").strip()) if token)
        if any(_CODE.match(token) and code.upper().startswith(token) for token in tokens):
            return True
    return False
