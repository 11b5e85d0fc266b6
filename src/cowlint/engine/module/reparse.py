"""Re-parse only what changed: libcst trees of a module's top-level statements, kept by their text.

An editor re-checks the same module after every keystroke; libcst's parse is most of a check
(~0.2 s for 2,000 lines). A module is cut at the lines where CPython's tree starts a top-level
statement, each piece is parsed alone, and the pieces whose text did not change since the last
parse are taken as they were. The pieces are joined into one ``cst.Module`` whose code is the
module's text, character for character (comments between statements move to the next
statement's leading lines, where a whole-module parse puts them too).

libcst's native parser detects the indentation unit and the newline of each piece by itself;
a piece that detects another unit than the module's (a file mixing tabs and spaces, or ``\\r\\n``
and ``\\n``) makes the whole module parse at once instead, as does any piece libcst refuses.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from cowlint.engine.module.positions import Span, locate, locate_within
from cowlint.engine.source import python_lines

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class _Piece:
    text: str
    indented: bool  # holds a block whose first statement starts its own line (libcst's INDENT)


def _opens_block(node: ast.AST, lines: Sequence[str]) -> bool:
    """Whether a statement of ``node`` starts an indented block: a body on its own line."""
    for child in ast.walk(node):
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            body = getattr(child, field, None)
            if not isinstance(body, list) or not body or not hasattr(body[0], "lineno"):
                continue
            first = body[0]
            line = lines[first.lineno - 1] if first.lineno <= len(lines) else ""
            if not line.encode("utf-8", "surrogatepass")[: first.col_offset].strip():  # nothing before it on its line (col_offset counts UTF-8 bytes)
                return True
    return False


def pieces(text: str, tree: ast.Module) -> list[_Piece] | None:
    """``text`` cut before each top-level statement that starts a line of its own (None when the
    tree does not place its statements, which CPython always does)."""
    lines = python_lines(text)
    if not tree.body:
        return [_Piece(text, False)]
    starts: list[int] = []  # 0-based first line of each piece but the first
    indented: list[bool] = [False]
    last_end = 0
    for number, statement in enumerate(tree.body):
        first = min([statement.lineno] + [decorator.lineno for decorator in getattr(statement, "decorator_list", ())])
        if statement.end_lineno is None:
            return None
        if number and first > last_end and _starts_line(lines, first - 1):
            starts.append(first - 1)
            indented.append(False)
        indented[-1] = indented[-1] or _opens_block(statement, lines)
        last_end = max(last_end, statement.end_lineno)
    bounds = [0, *starts, len(lines)]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    if offsets[-1] != len(text):
        return None
    return [_Piece(text[offsets[a] : offsets[b]], indented[index]) for index, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]


def _starts_line(lines: Sequence[str], index: int) -> bool:
    """Whether line ``index`` (0-based) is a new logical line: the one before does not continue into it."""
    if index == 0:
        return True
    before = lines[index - 1].rstrip("\r\n")
    return not before.endswith("\\")


class StatementCache:
    """The pieces of the last parse of one module (an open document), reused by the next, and
    where the reported nodes of each piece are (a piece that did not change needs no code
    generation to place them again)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, bool], cst.Module] = {}  # (piece text, whether last) -> its tree
        self.reused = 0  # pieces taken from the last parse, at the last parse (for tests and benchmarks)
        self._joined: cst.Module | None = None
        self._layout: list[tuple[int, cst.Module, bool]] = []  # each piece: its first line (0-based), its tree, whether it is new
        self._spans: dict[int, dict[int, Span]] = {}  # id(piece tree) -> id(node) -> span within the piece
        self.costs: dict[tuple[str, int, int], tuple[int, int]] = {}  # check.parse_cost's share of each top-level statement

    def locate(self, module: cst.Module, nodes: Sequence[cst.CSTNode]) -> dict[cst.CSTNode, Span]:
        """The span of each node of ``module`` (the last one :meth:`parse` returned, else located whole)."""
        if module is not self._joined or not self._layout:
            return locate(module, nodes)
        missing = {id(node): node for node in nodes}
        found: dict[cst.CSTNode, Span] = {}
        for first, piece, _ in self._layout:
            known = self._spans.get(id(piece), {})
            for key in [key for key in missing if key in known]:
                found[missing.pop(key)] = _moved(known[key], first)
        for first, piece, _ in sorted(self._layout, key=lambda item: not item[2]):  # new pieces first
            if not missing:
                break
            placed = locate_within(piece, missing.values())
            known = self._spans.setdefault(id(piece), {})
            for node, span in placed.items():
                known[id(node)] = span
                found[node] = _moved(span, first)
                missing.pop(id(node), None)
        if missing:  # a node the join made (the first statement of a piece): place it in the whole module
            found.update(locate(module, list(missing.values())))
        return found

    def parse(self, text: str, tree: ast.Module) -> cst.Module:
        """The module's libcst tree, parsing only the pieces that are new since the last call."""
        cut = pieces(text, tree)
        if cut is None or len(cut) < 2:
            self._forget()
            return cst.parse_module(text)
        taken: set[tuple[str, bool]] = set()
        modules: list[cst.Module] = []
        new: list[bool] = []
        for number, piece in enumerate(cut):
            key = (piece.text, number == len(cut) - 1)  # the last piece is parsed without the sentinel
            kept = self._kept.get(key) if key not in taken else None  # a repeated piece is parsed again: a node is in one place
            if kept is None:
                kept = _parse_piece(piece.text, last=key[1])
                if kept is None:
                    self._forget()
                    return cst.parse_module(text)
            else:
                taken.add(key)
            modules.append(kept)
            new.append(key not in taken)
        joined = _join(text, cut, modules)
        if joined is None:
            self._forget()
            return cst.parse_module(text)
        self.reused = len(taken)
        self._kept = {(piece.text, number == len(cut) - 1): module for number, (piece, module) in enumerate(zip(cut, modules, strict=True))}
        self._joined = joined
        self._layout = []
        line = 0
        for piece, module, fresh in zip(cut, modules, new, strict=True):
            self._layout.append((line, module, fresh))
            line += len(python_lines(piece.text))
        live = {id(module) for (_, module, fresh) in self._layout if not fresh}  # a new tree may reuse a freed one's id
        self._spans = {key: spans for key, spans in self._spans.items() if key in live}
        return joined

    def _forget(self) -> None:
        self._kept, self._joined, self._layout, self._spans, self.reused = {}, None, [], {}, 0


def _moved(span: Span, lines: int) -> Span:
    return Span(span.line + lines, span.column, span.end_line + lines, span.end_column)


# Every piece but the last is parsed with a statement after it: libcst drops the first of the
# indented comment lines that end a file (``x = 1\n    # one\n    # two\n`` prints without
# ``# one``), and comments before a statement are its leading lines, as in the whole module.
_SENTINEL = "pass\n"


def _parse_piece(text: str, *, last: bool) -> cst.Module | None:
    """The piece's tree (its sentinel statement last), or None when libcst refuses it or does
    not print it back exactly."""
    source = text if last else text + _SENTINEL
    try:
        module = cst.parse_module(source)
    except Exception:  # noqa: BLE001 - libcst refuses a piece alone: the module parses whole, or fails as it would
        return None
    if not last:
        sentinel = module.body[-1] if module.body else None
        if module.footer or not isinstance(sentinel, cst.SimpleStatementLine) or len(sentinel.body) != 1 or not isinstance(sentinel.body[0], cst.Pass):
            return None
    if module.code != source:
        return None
    return module


def _join(text: str, cut: Sequence[_Piece], modules: Sequence[cst.Module]) -> cst.Module | None:
    match = _NEWLINE.search(text)
    newline = match.group(0) if match is not None else "\n"
    indents = [module.default_indent for piece, module in zip(cut, modules, strict=True) if piece.indented]
    indent = indents[0] if indents else "    "
    if any(value != indent for value in indents):
        return None
    if any(module.default_newline != newline for piece, module in zip(cut, modules, strict=True) if _NEWLINE.search(piece.text)):
        return None
    body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = []
    carried: list[cst.EmptyLine] = []  # the comment and blank lines before the next statement
    for number, module in enumerate(modules):
        statements = list(module.body)
        final = number == len(modules) - 1
        lead = carried + (list(module.header) if number else [])
        ending = [] if final else list(statements.pop().leading_lines)  # the sentinel holds the lines that end the piece
        if statements:
            if lead:
                statements[0] = statements[0].with_changes(leading_lines=[*lead, *statements[0].leading_lines])
            carried = ending
        else:
            carried = lead + ending
        body.extend(statements)
    first, last = modules[0], modules[-1]
    return cst.Module(
        body=body,
        header=first.header,
        footer=carried + list(last.footer),
        encoding=first.encoding,
        default_indent=indent,
        default_newline=newline,
        has_trailing_newline=last.has_trailing_newline,
    )
