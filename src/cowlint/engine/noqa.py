"""``# noqa`` and ``# noqa: COW101,COW102`` suppression, compatible with flake8's syntax."""

from __future__ import annotations

import re

# flake8's own pattern, reduced to what matters: codes are letters then digits.
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def suppressed(line_text: str, code: str) -> bool:
    """Whether the physical line's comment suppresses ``code``."""
    if "#" not in line_text:
        return False
    for match in _NOQA.finditer(line_text):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(code.upper().startswith(c.upper()) for c in re.split(r"[,\s]+", codes.strip()) if c):
            return True
    return False
