"""Automatic fixes: libcst edits that keep the file's formatting and comments.

A rule attaches an :class:`InsertBefore` to a report: a statement to insert
right before the statement that holds ``anchor`` (and modules to import if the
file does not import them yet). Fixes are applied to the tree the report was
made from, in one pass; applying them twice changes nothing, because the rules
no longer report what a fix repaired.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from cowlint.engine.module.facts import iter_children


@dataclass(frozen=True)
class InsertBefore:
    """Insert ``code`` (one simple statement) before the statement that contains ``anchor``."""

    anchor: cst.CSTNode
    code: str
    imports: tuple[str, ...] = ()
    description: str = ""


_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


def is_safe(module: cst.Module, fix: InsertBefore) -> bool:
    """Safe when the statement before which ``code`` goes is in the same block as ``anchor``:
    the innermost statement around ``anchor`` sits directly in a block. Not when ``anchor`` is
    in a one-line body (``if ready: pool = Pool()``) or an ``elif`` test, where the insertion
    would land outside the branch."""
    path = _path_to(module, fix.anchor)
    if path is None or any(isinstance(node, cst.SimpleStatementSuite) for node in path):
        return False
    for parent, node in zip(reversed(path[:-1]), reversed(path[1:]), strict=True):
        if isinstance(node, _STATEMENTS):
            return isinstance(parent, (cst.Module, cst.IndentedBlock))
    return False


def _path_to(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The nodes from ``root`` down to ``target`` (through code-bearing fields), climbing a map
    of parents built once per tree: a module with hundreds of fixes walks its tree once."""
    parents = _parents(root)
    path = [target]
    while path[-1] is not root:
        parent = parents.get(id(path[-1]))
        if parent is None:
            return None
        path.append(parent)
    path.reverse()
    return path


_PARENTS: list[tuple[cst.CSTNode, dict[int, cst.CSTNode]]] = []  # the last tree's, kept with the tree


def _parents(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    if _PARENTS and _PARENTS[0][0] is root:
        return _PARENTS[0][1]
    parents: dict[int, cst.CSTNode] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in iter_children(node):
            parents[id(child)] = node
            stack.append(child)
    _PARENTS[:] = [(root, parents)]
    return parents


class _Inserter(cst.CSTTransformer):
    def __init__(self, fixes: Sequence[InsertBefore]) -> None:
        super().__init__()
        self.anchors = {id(fix.anchor): fix for fix in fixes}
        self.statements: list[cst.CSTNode] = []  # the statements around the node, innermost last
        self.in_block: set[int] = set()  # statements directly in a block: only there can lines go
        self.before: dict[int, list[InsertBefore]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Module, cst.IndentedBlock)):
            self.in_block.update(id(statement) for statement in node.body)
        if isinstance(node, _STATEMENTS) and id(node) in self.in_block:
            self.statements.append(node)
        fix = self.anchors.get(id(node))
        if fix is not None and self.statements:
            self.before.setdefault(id(self.statements[-1]), []).append(fix)
        return True

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode | cst.FlattenSentinel[cst.CSTNode]:  # type: ignore[override]
        if not isinstance(original_node, _STATEMENTS) or id(original_node) not in self.in_block:
            return updated_node
        self.statements.pop()
        fixes = self.before.pop(id(original_node), None)
        if not fixes:
            return updated_node
        codes = list(dict.fromkeys(fix.code for fix in fixes))
        assert isinstance(updated_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
        # the comments and blank lines above the statement stay above the inserted lines
        inserted = [cst.parse_statement(code) for code in codes]
        first = inserted[0]
        assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
        inserted[0] = first.with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel([*inserted, updated_node.with_changes(leading_lines=())])


def apply_fixes(module: cst.Module, fixes: Sequence[InsertBefore]) -> cst.Module:
    """The module with every fix applied (and the imports they need added)."""
    if not fixes:
        return module
    fixed = module.visit(_Inserter(fixes))
    for name in dict.fromkeys(name for fix in fixes for name in fix.imports):
        if not _imports(fixed, name):
            fixed = _add_import(fixed, name)
    return fixed


def _imports(module: cst.Module, name: str) -> bool:
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import) and any(alias.asname is None and isinstance(alias.name, cst.Name) and alias.name.value == name for alias in small.names):
                    return True
    return False


def _add_import(module: cst.Module, name: str) -> cst.Module:
    """``import name`` in the import block at the top (after the docstring and ``__future__``),
    before the first plain import that sorts after it, else after the block."""
    body = list(module.body)
    position = 0
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine):
            break
        small = statement.body[0]
        is_docstring = index == 0 and isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
        if not (is_docstring or isinstance(small, (cst.Import, cst.ImportFrom))):
            break
        if isinstance(small, cst.Import) and (_first_module(small) or "") > name:
            position = index
            break
        position = index + 1
    line = cst.parse_statement(f"import {name}")
    if position < len(body) and position > 0 and isinstance(body[position], cst.SimpleStatementLine):
        # take the place of the statement it goes before, blank lines and comments included
        following = body[position]
        assert isinstance(following, cst.SimpleStatementLine) and isinstance(line, cst.SimpleStatementLine)
        if isinstance(following.body[0], cst.Import):
            line = line.with_changes(leading_lines=following.leading_lines)
            body[position] = following.with_changes(leading_lines=())
    body.insert(position, line)
    return module.with_changes(body=body)


def _first_module(statement: cst.Import) -> str | None:
    name = statement.names[0].name
    return cst.Module([]).code_for_node(name)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    """``text`` cut after each ``\n``, ``\r\n`` or lone ``\r`` (what Python's tokenizer calls a line:
    a form feed is not a line break), ends kept."""
    return _LINE.findall(text)


def _shape(line: str) -> str:
    """A line as libcst renders it: libcst drops a form feed in the indentation and a lone
    ``\r`` line, and may end the file differently."""
    return line.rstrip("\r\n").replace("\f", "")


def merge_insertions(original: str, regenerated: str, fixed: str) -> str | None:
    """``original`` with the lines ``fixed`` adds to ``regenerated`` inserted, and nothing else
    changed: libcst renders a few bytes differently from the source (a form feed that starts
    a line, a blank line made of a lone ``\r``), so its output is never written as it is.
    None when the fix is more than whole inserted lines, or the texts cannot be aligned."""
    base, after, source = _lines(regenerated), _lines(fixed), _lines(original)
    inserted: dict[int, list[str]] = {}  # index in ``base`` -> lines to insert before it
    for tag, i1, _, j1, j2 in difflib.SequenceMatcher(None, base, after, autojunk=False).get_opcodes():
        if tag == "insert":
            inserted.setdefault(i1, []).extend(after[j1:j2])
        elif tag != "equal":
            return None
    # where each line of ``base`` is in ``original``
    place: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, [_shape(line) for line in base], [_shape(line) for line in source], autojunk=False).get_opcodes():
        if tag == "equal":
            place.update(zip(range(i1, i2), range(j1, j2), strict=True))
    ending = next((match.group() for line in source if (match := re.search(r"\r\n|\r|\n", line))), "\n")
    result = list(source)
    for index in sorted(inserted, reverse=True):
        if index == len(base):
            at = len(source)
        elif index in place:
            at = place[index]
        else:
            return None  # the line the fix goes before is not found in the source
        lines = [_shape(line) + _ending(source, at, ending) for line in inserted[index]]
        if at == len(source) and source and not re.search(r"[\r\n]$", source[-1]):
            result[-1] += ending  # the last line had no line break: the inserted lines follow it
        result[at:at] = lines
    return "".join(result)


def _ending(source: list[str], at: int, default: str) -> str:
    """The line break of the source line the insertion goes before (or of the one above)."""
    for line in (source[at] if at < len(source) else "", source[at - 1] if at else ""):
        match = re.search(r"\r\n|\r|\n", line)
        if match:
            return match.group()
    return default
