"""What an answer about one name of a project module depends on: the module's slice for it.

A checked module's result depends on what other modules of the project say of
the names it imports (``utils.load_table``). Recording each such module's whole
digest is sound but coarse: an edit anywhere in a hub module (``utils.py``,
imported by half the project) would check all its importers again. The slice of
a module for a name is the part of the module an answer about that name can
read, cut along top-level statements:

- all module-level code (imports, assignments, ``if`` blocks, calls): it decides
  what every name means;
- the functions and classes called ``name``, ``__getattr__`` and ``__dir__``;
- every function and class named by what is in the slice, and every one that names (calls) a
  function or class of the slice, again and again: the analyses read a function's callers too
  (a caller that pins the start method before calling it, or passes it a context);
- every function and class that may fill or change a name of the slice:
  ``global TABLE``, ``TABLE[k] = v``, ``TABLE.append(x)``, ``fill(TABLE)``,
  ``setattr(CONF, ...)``, and any use of ``globals()`` or ``sys.modules``.

The slice's fingerprint is a digest of those statements' text: an edit of
another function, or of a comment or blank line between statements, leaves it
(and the cached results built on it) as it is. Names are taken from CPython's
syntax tree, loads and stores alike, and from string constants that are
identifiers (``getattr(module, "load")``), so the slice errs on the large side:
a bigger slice only costs a cache miss. A module that does not parse has no
slices: its whole text is the fingerprint.

The recorded value is ``"<digest of the file> <fingerprint>"``, so that the
cache tells an unchanged file by its digest alone and cuts slices only out of
the files that changed.
"""

from __future__ import annotations

import ast
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

SLICE = "slice:"
# methods that change their receiver in place (a global filled by them is state)
_CHANGING = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft", "pop", "popitem", "remove", "discard", "clear", "sort", "reverse", "put", "fill", "__setitem__"}
)
# modules whose statements are kept per process (the files whose slices were cut last)
KEEP_MODULES = 64


def slice_key(name: str, path: str) -> str:
    """The dependency on what the module at ``path`` says of ``name``."""
    return f"{SLICE}{name}\n{path}"


def slice_value(data: bytes, digest: str, name: str) -> str:
    """The value recorded for :func:`slice_key`: the file's digest and the slice's fingerprint."""
    return f"{digest} {fingerprint(data, digest, name)}"


def split_key(key: str) -> tuple[str, str]:
    """``(name, path)`` of a :func:`slice_key`."""
    name, path = key[len(SLICE) :].split("\n", 1)
    return name, path


@dataclass(frozen=True)
class _Statement:
    text: bytes
    defines: str | None  # the name a top-level def or class binds; None: module-level code
    names: frozenset[str]  # every name it mentions
    changes: frozenset[str]  # names it may fill or change in place
    dynamic: bool  # it uses globals() or sys.modules: it may change any name


_MODULES: OrderedDict[str, list[_Statement] | None] = OrderedDict()


def fingerprint(data: bytes, digest: str, name: str) -> str:
    """The digest of the slice of the module ``data`` (whose digest is ``digest``) for ``name``."""
    statements = _statements(data, digest)
    if statements is None:
        return digest
    wanted = {name, "__getattr__", "__dir__"}  # every name the slice mentions
    defined = {name}  # the defs and classes in the slice (and the name asked)
    kept = [statement.defines is None for statement in statements]
    for statement in statements:
        if statement.defines is None:
            wanted |= statement.names
    grown = True
    while grown:
        grown = False
        for index, statement in enumerate(statements):
            if kept[index]:
                continue
            named = statement.defines in wanted  # called or named from the slice
            calls = not statement.names.isdisjoint(defined)  # calls into the slice: the analyses read a function's callers too
            if named or calls or statement.dynamic or not statement.changes.isdisjoint(wanted):
                kept[index] = grown = True
                wanted |= statement.names
                defined.add(statement.defines or "")
    chosen = [b"D" + statement.text if statement.defines is not None else b"C" + statement.text for statement, keep in zip(statements, kept, strict=True) if keep]
    body = b"\0".join([name.encode("utf-8", "surrogatepass"), *chosen])
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def _statements(data: bytes, digest: str) -> list[_Statement] | None:
    if digest in _MODULES:
        _MODULES.move_to_end(digest)
        return _MODULES[digest]
    found: list[_Statement] | None
    try:
        tree = ast.parse(data)
        lines = data.splitlines(keepends=True)
        found = [_statement(node, lines) for node in tree.body]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        found = None
    _MODULES[digest] = found
    while len(_MODULES) > KEEP_MODULES:
        _MODULES.popitem(last=False)
    return found


def _statement(node: ast.stmt, lines: list[bytes]) -> _Statement:
    first = min([node.lineno, *(decorator.lineno for decorator in getattr(node, "decorator_list", ()))])
    text = b"".join(lines[first - 1 : node.end_lineno or node.lineno])
    defines = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    exported = isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and any(
        isinstance(target, ast.Name) and target.id == "__all__" for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
    )
    reader = _Reader(exported)
    reader.visit(node, frozenset())
    return _Statement(text, defines, frozenset(reader.names), frozenset(reader.changes), reader.dynamic)


class _Reader:
    """The names a statement mentions, and those of the module it may change: a name local to
    a function around the change (a parameter, an assignment there) is not the module's."""

    def __init__(self, exported: bool) -> None:
        self.exported = exported  # ``__all__ = [...]``: its strings name no dependency
        self.names: set[str] = set()
        self.changes: set[str] = set()
        self.dynamic = False

    def visit(self, node: ast.AST, hidden: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                self.names.add(node.name)
                for decorator in node.decorator_list:
                    self.visit(decorator, hidden)
                if node.returns is not None:
                    self.visit(node.returns, hidden)
            self.visit(node.args, hidden)  # defaults and annotations: evaluated outside
            inner = hidden | _locals(node)
            for statement in node.body if isinstance(node.body, list) else [node.body]:
                self.visit(statement, inner)
            return
        if isinstance(node, ast.Name):
            self.names.add(node.id)
            self.dynamic = self.dynamic or node.id == "globals"
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str) and node.value.isidentifier() and not self.exported:
                self.names.add(node.value)  # getattr(module, "load"), globals()["TABLE"]
        elif isinstance(node, ast.ClassDef):
            self.names.add(node.name)
        elif isinstance(node, ast.Global):
            self.changes.update(node.names)
        elif isinstance(node, ast.Attribute):
            self.dynamic = self.dynamic or (node.attr == "modules" and isinstance(node.value, ast.Name) and node.value.id == "sys")
            if not isinstance(node.ctx, ast.Load):
                self._change(node, hidden)
        elif isinstance(node, ast.Subscript):
            if not isinstance(node.ctx, ast.Load):
                self._change(node, hidden)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _CHANGING:
                self._change(node.func.value, hidden)
            for argument in (*node.args, *(keyword.value for keyword in node.keywords)):
                self._change(argument.value if isinstance(argument, ast.Starred) else argument, hidden)
        for child in ast.iter_child_nodes(node):
            self.visit(child, hidden)

    def _change(self, node: ast.expr, hidden: frozenset[str]) -> None:
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        if isinstance(node, ast.Name) and node.id not in hidden:
            self.changes.add(node.id)


def _locals(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """The names local to a function: its parameters and what its own body binds, less those
    it declares global or nonlocal."""
    arguments = function.args
    bound = {item.arg for item in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg) if item is not None}
    declared: set[str] = set()
    pending: list[ast.AST] = list(function.body) if isinstance(function.body, list) else [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue  # its body is its own scope
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.comprehension):  # its target is the comprehension's own (a walrus inside binds here)
            pending.extend([node.iter, *node.ifs])
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        pending.extend(ast.iter_child_nodes(node))
    return frozenset(bound - declared)
