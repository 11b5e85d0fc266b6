"""The rule registry: find a rule by its code here, then in its own file."""

from __future__ import annotations

from cowlint.rules.base import Report, Rule
from cowlint.rules.payload.cow101_self_shipped_to_pool import SelfShippedToPool
from cowlint.rules.payload.cow102_large_object_shipped_to_pool import LargeObjectShippedToPool
from cowlint.rules.tool.cow901_parse_error import ParseError
from cowlint.rules.tool.cow902_io_error import ReadError

ALL_RULES: tuple[type[Rule], ...] = (
    SelfShippedToPool,
    LargeObjectShippedToPool,
    ParseError,
    ReadError,
)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
# Reported by the engine itself, not by a check over module facts.
ENGINE_CODES = frozenset({"COW901", "COW902"})

__all__ = ["ALL_RULES", "ENGINE_CODES", "RULES_BY_CODE", "Report", "Rule"]
