"""Automatic fixes: libcst edits that keep the file's formatting and comments.

A rule attaches a :class:`Fix` to a report: statements to insert right before
the statements that hold given nodes (and modules to import if the file does
not import them yet), and whether the fix is safe (applied by ``--fix``) or
unsafe (applied with ``--unsafe-fixes`` too). Fixes are applied to the tree the
report was made from, in one pass; applying them twice changes nothing, because
the rules no longer report what a fix repaired.
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


@dataclass(frozen=True)
class Fix:
    """One finding's fix: its insertions, in order, and how far it can be trusted."""

    edits: tuple[InsertBefore, ...]
    description: str
    imports: tuple[str, ...] = ()
    safe: bool = True  # False: it may change what the program does (``--unsafe-fixes``)


_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


def applicable(module: cst.Module, fix: Fix) -> bool:
    """Whether every insertion of ``fix`` lands where it means to (see :func:`_lands`)."""
    return all(lands(module, edit.anchor) for edit in fix.edits)


def lands(module: cst.Module, anchor: cst.CSTNode) -> bool:
    """Whether a line inserted before the statement holding ``anchor`` runs just before it: the
    innermost statement around ``anchor`` sits directly in a block. Not when ``anchor`` is in a
    one-line body (``if ready: pool = Pool()``) or an ``elif`` test, where the insertion would
    land outside the branch."""
    path = _path_to(module, anchor)
    if path is None or any(isinstance(node, cst.SimpleStatementSuite) for node in path):
        return False
    for parent, node in zip(reversed(path[:-1]), reversed(path[1:]), strict=True):
        if isinstance(node, _STATEMENTS):
            return isinstance(parent, (cst.Module, cst.IndentedBlock))
    return False


def statement_of(module: cst.Module, node: cst.CSTNode) -> cst.CSTNode | None:
    """The innermost statement around ``node`` that sits directly in a block (where a line can go)."""
    parents = _parents(module)
    current: cst.CSTNode | None = node
    while current is not None:
        parent = parents.get(id(current))
        if isinstance(current, _STATEMENTS) and isinstance(parent, (cst.Module, cst.IndentedBlock)):
            return current
        current = parent
    return None


def out_of_loops(module: cst.Module, statement: cst.CSTNode, keep: cst.CSTNode) -> cst.CSTNode:
    """The outermost ``for``/``while`` loop of the same function whose body holds ``statement``
    (through loop bodies only) and that does not hold ``keep``; ``statement`` when none does.
    A line that must run once before a loop of forks goes before that loop."""
    parents = _parents(module)
    current = statement
    while True:
        block = parents.get(id(current))
        loop = parents.get(id(block)) if isinstance(block, cst.IndentedBlock) else None
        if not isinstance(loop, (cst.For, cst.While)) or loop.body is not block or _within(parents, keep, loop):
            return current
        if not isinstance(parents.get(id(loop)), (cst.Module, cst.IndentedBlock)):
            return current
        current = loop


def sibling_holding(module: cst.Module, statement: cst.CSTNode, node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement of ``statement``'s block that holds ``node`` and comes before ``statement``."""
    parents = _parents(module)
    block = parents.get(id(statement))
    current: cst.CSTNode | None = node
    while current is not None and parents.get(id(current)) is not block:
        current = parents.get(id(current))
    if current is None or block is None or current is statement:
        return None
    body = block.body if isinstance(block, (cst.Module, cst.IndentedBlock)) else ()
    order = [id(item) for item in body]
    if id(current) not in order or order.index(id(current)) > order.index(id(statement)):
        return None
    return current


def leaves_between(module: cst.Module, first: cst.CSTNode, last: cst.CSTNode) -> bool:
    """Whether the statements of one block from ``first`` up to (not including) ``last`` can end
    the block early other than by an exception: a ``return``, a ``raise``, a ``yield``, or a
    ``break``/``continue`` of a loop around the block."""
    block = _parents(module).get(id(first))
    body = list(block.body) if isinstance(block, (cst.Module, cst.IndentedBlock)) else []
    order = [id(item) for item in body]
    if id(first) not in order or id(last) not in order:
        return True
    pending: list[tuple[cst.CSTNode, bool]] = [(item, False) for item in body[order.index(id(first)) : order.index(id(last))]]
    while pending:
        node, in_loop = pending.pop()
        if isinstance(node, (cst.Return, cst.Raise, cst.Yield)) or (isinstance(node, (cst.Break, cst.Continue)) and not in_loop):
            return True
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue  # defined, not run here
        loop_body = node.body if isinstance(node, (cst.For, cst.While)) else None
        pending.extend((child, in_loop or child is loop_body) for child in iter_children(node))
    return False


def _within(parents: dict[int, cst.CSTNode], node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
    current: cst.CSTNode | None = node
    while current is not None:
        if current is ancestor:
            return True
        current = parents.get(id(current))
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
    def __init__(self, edits: Sequence[InsertBefore]) -> None:
        super().__init__()
        self.anchors: dict[int, list[InsertBefore]] = {}
        for edit in edits:
            self.anchors.setdefault(id(edit.anchor), []).append(edit)
        self.statements: list[cst.CSTNode] = []  # the statements around the node, innermost last
        self.in_block: set[int] = set()  # statements directly in a block: only there can lines go
        self.before: dict[int, list[InsertBefore]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Module, cst.IndentedBlock)):
            self.in_block.update(id(statement) for statement in node.body)
        if isinstance(node, _STATEMENTS) and id(node) in self.in_block:
            self.statements.append(node)
        edits = self.anchors.get(id(node))
        if edits is not None and self.statements:
            self.before.setdefault(id(self.statements[-1]), []).extend(edits)
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


def apply_fixes(module: cst.Module, fixes: Sequence[Fix]) -> cst.Module:
    """The module with every fix applied (and the imports they need added). The same line
    inserted twice before one statement (two forks after one heap) is inserted once."""
    if not fixes:
        return module
    fixed = module.visit(_Inserter([edit for fix in fixes for edit in fix.edits]))
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
