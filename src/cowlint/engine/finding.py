"""Findings are plain data: what is wrong, where, how sure, how big."""

from __future__ import annotations

from dataclasses import dataclass

# why a medium-confidence finding is not certain, when its rule and values do not say more
INFERRED = "part of this is inferred, not traced: a pool known only by its name or an annotation, or data whose size cannot be known statically"


def doubt_of(confidence: str, *reasons: str) -> str:
    """Why a value or a finding of ``confidence`` is uncertain: "" when it is high, else the first
    reason given, else the generic one (:data:`INFERRED`)."""
    if confidence == "high":
        return ""
    return next((reason for reason in reasons if reason), INFERRED)


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem. Lines and columns are 1-based; ends are exclusive columns."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    message: str
    fix: str
    confidence: str = "high"
    size_bytes: int | None = None
    autofix: str | None = None  # what ``--fix`` would do, when it has a fix
    fix_applicability: str = "safe"  # of ``autofix``: safe (``--fix``) or unsafe (``--fix --unsafe-fixes``)
    # other places of the same file the finding involves: (line, column, end_line, end_column, what is there)
    related: tuple[tuple[int, int, int, int, str], ...] = ()
    detail: str = ""  # why it matters and where it breaks: the message is what is wrong, read at a glance
    unsure: str = ""  # with medium confidence: why it is not certain

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order used for every report: path, then position, then code."""
        return (self.path, self.line, self.column, self.code)

    def explained(self) -> str:
        """The message and its detail, for formats that show one text."""
        return f"{self.message}: {self.detail}" if self.detail else self.message

    def one_line(self) -> str:
        """The message, its detail and the fix in one line, for formats without a help line."""
        return f"{self.explained()}; {self.fix}" if self.fix else self.explained()
