"""The shape of a rule: one class, its docstring is its documentation.

A rule's docstring is written in Markdown with the sections of a rule page
(What it does, Why is this bad?, ...). ``docs/rules/COWnnn.md`` is generated from
it and ``cowlint --explain COWnnn`` prints it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.fixes import Fix
from cowlint.rules import prefilters


@dataclass(frozen=True)
class Report:
    """What a rule reports: the node to point at, what is wrong, and what to do."""

    node: cst.CSTNode
    message: str
    fix: str
    confidence: str = "high"
    size_bytes: int | None = None
    autofix: Fix | None = None
    related: tuple[tuple[cst.CSTNode, str], ...] = ()  # other nodes of the module the finding involves, each with what it is
    detail: str = ""  # the mechanism and the platforms: ``message`` says what is wrong in one short line
    unsure: str = ""  # with medium confidence: why (a pool known only by its name, a size from an annotation...)


class Rule:
    """Base class of every rule. Subclasses set the class attributes and implement ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    since: ClassVar[str] = "0.1.0"
    fix_availability: ClassVar[str] = "none"
    def check(self, module: ModuleContext) -> Iterable[Report]:
        """Yield the reports for one module."""
        raise NotImplementedError

    @classmethod
    def may_report(cls, data: bytes, found: dict[bytes, bool] | None = None) -> bool:
        """Whether the file's bytes pass this rule's prefilter (:mod:`cowlint.rules.prefilters`)."""
        return prefilters.may_report(cls.code, data, found)

    @classmethod
    def documentation(cls) -> str:
        """The rule's page in Markdown: a header, then the docstring."""
        body = inspect.cleandoc(cls.__doc__ or "")
        header = (
            f"# {cls.code}: {cls.name}\n\n"
            f"{cls.summary}\n\n"
            f"| code | name | since | fix |\n|---|---|---|---|\n"
            f"| {cls.code} | {cls.name} | {cls.since} | {cls.fix_availability} |\n"
        )
        return f"{header}\n{body}\n"

    @classmethod
    def first_paragraph(cls, section: str) -> str:
        """The first paragraph of one section of the rule's page, on one line (the summary when it has none)."""
        match = re.search(rf"^## {re.escape(section)}\n(.*?)(?:\n\n|\n## |\Z)", cls.documentation(), re.DOTALL | re.MULTILINE)
        return " ".join(match.group(1).split()) if match else cls.summary
