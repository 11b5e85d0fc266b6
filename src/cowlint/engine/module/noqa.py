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


def with_noqa(text: str, number: int, code: str) -> str | None:
    """``text`` with ``code`` added to the ``# noqa`` comment of line ``number`` (1-based), or a
    new ``# noqa: code`` comment there. None when the line ends inside a string (a comment cannot
    go there), the text does not tokenize, or a noqa comment already covers the code."""
    from cowlint.engine.source import python_lines

    lines = python_lines(text)
    if not 0 < number <= len(lines):
        return None
    comment = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.start[0] > number:
                break
            if token.type == tokenize.STRING and token.start[0] <= number < token.end[0]:
                return None  # the line ends inside a multi-line string
            if token.type == tokenize.COMMENT and token.start[0] == number:
                comment = token
    except (tokenize.TokenError, SyntaxError):
        return None
    line = lines[number - 1]
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    if comment is not None:
        if suppressed(comment.string, code):
            return None
        match = re.search(r"#\s*noqa\s*:\s*([A-Z0-9,\s]*[A-Z0-9])", comment.string, re.IGNORECASE)
        if match is not None:
            at = comment.start[1] + match.end(1)
            body = body[:at] + f", {code}" + body[at:]
        else:
            body = f"{body}  # noqa: {code}"
    else:
        body = f"{body.rstrip()}  # noqa: {code}"
    lines[number - 1] = body + ending
    return "".join(lines)
