"""Line and column of the few nodes that are reported, and nothing else.

libcst's PositionProvider records a range for every node of the module, which
costs several times the parse (measured ~2x on the stdlib files that mention
multiprocessing, where plain code generation costs ~0.2x). Reports are rare, so
this module runs code generation once per file that has findings and records
positions only for the requested nodes. It relies on libcst's code generation
hooks (``CodegenState.before_codegen``/``after_codegen``); if those ever change,
it falls back to the public PositionProvider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst


@dataclass(frozen=True)
class Span:
    """A node's extent: 1-based lines, 0-based columns, end exclusive (as libcst reports)."""

    line: int
    column: int
    end_line: int
    end_column: int


def locate(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, Span]:
    """The span of each node in ``nodes`` (which must belong to ``module``)."""
    wanted = {id(node): node for node in nodes}
    if not wanted:
        return {}
    try:
        return _locate_by_codegen(module, wanted)
    except RecursionError:
        raise  # the public provider recurses as deep: it would only fail again, slower
    except Exception:  # noqa: BLE001 - private libcst API changed: use the public one
        return _locate_by_provider(module, wanted)


def _locate_by_codegen(module: cst.Module, wanted: dict[int, cst.CSTNode], *, partial: bool = False) -> dict[cst.CSTNode, Span]:
    """The spans of the wanted nodes; ``partial``: of those the module holds (the others are left out)."""
    from libcst._nodes.internal import CodegenState
    from libcst.metadata.position_provider import NEWLINE_RE

    found: dict[cst.CSTNode, Span] = {}
    starts: dict[int, tuple[int, int]] = {}

    class _Done(Exception):
        """Every wanted node is placed: the rest of the file need not be generated."""

    class _State(CodegenState):
        line = 1
        column = 0

        def add_indent_tokens(self) -> None:
            for token in self.indent_tokens:
                self._advance(token)

        def add_token(self, value: str) -> None:
            self._advance(value)

        def _advance(self, value: str) -> None:
            if "\n" not in value and "\r" not in value:
                self.column += len(value)
                return
            segments = NEWLINE_RE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])

        def before_codegen(self, node: cst.CSTNode) -> None:
            if id(node) in wanted:
                starts[id(node)] = (self.line, self.column)

        def after_codegen(self, node: cst.CSTNode) -> None:
            start = starts.get(id(node))
            if start is not None and node not in found:
                found[node] = Span(start[0], start[1], self.line, self.column)
                if len(found) == len(wanted):
                    raise _Done

    state = _State(default_indent=module.default_indent, default_newline=module.default_newline)
    try:
        module._codegen(state)
    except _Done:
        pass
    if len(found) != len(wanted) and not partial:
        raise LookupError("some nodes were not reached")
    return found


def locate_within(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, Span]:
    """The spans of those of ``nodes`` that ``module`` holds (a piece of a bigger module, see
    :mod:`cowlint.engine.module.reparse`); an empty dict when libcst's private API changed."""
    try:
        return _locate_by_codegen(module, {id(node): node for node in nodes}, partial=True)
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - private libcst API changed: the caller locates in the whole module
        return {}


def _locate_by_provider(module: cst.Module, wanted: dict[int, cst.CSTNode]) -> dict[cst.CSTNode, Span]:
    from libcst.metadata import MetadataWrapper, PositionProvider

    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    result = {}
    for node in wanted.values():
        code_range = positions[node]
        result[node] = Span(code_range.start.line, code_range.start.column, code_range.end.line, code_range.end.column)
    return result
