"""One file of a project, as plain data other modules can use.

A summary holds the file's imports as written, the ``set_start_method``
calls it makes and when they run (at import time, under the main guard, or in
a named function), whether it is a script, and the names it calls (read on demand). Imports are
read from the text with a pattern, not a parse: reading every file of a big
project must cost next to nothing. The pattern may also match an ``import``
inside a string, which only adds an edge to the graph: an extra edge can make
a module look reached by one more entry point, and so keep a finding, never
hide one. Pins are read from CPython's syntax tree, and only in files whose
text mentions ``set_start_method``.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass

PIN_NEEDLE = b"set_start_method"
IMPORT_TIME = "<import>"
UNDER_MAIN_GUARD = "<main guard>"
_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(?P<module>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#;]*)|import[ \t]+(?P<plain>[^\n#;]+))",
    re.MULTILINE,
)
_MAIN_GUARD = re.compile(rb"""^if[ \t]+(?:__name__[ \t]*==[ \t]*['"]__main__['"]|['"]__main__['"][ \t]*==[ \t]*__name__)""", re.MULTILINE)
_CALLED = re.compile(rb"\b([A-Za-z_]\w*)[ \t]*\(")
_DYNAMIC_IMPORT = re.compile(rb"\bimport_module[ \t]*\(|\b__import__[ \t]*\(")
_CONSTRUCTORS = frozenset({"__init__", "__new__", "__post_init__"})


@dataclass(frozen=True, slots=True)
class Import:
    """``from <level dots><module> import <names>`` or ``import <module>`` (names empty)."""

    level: int
    module: str
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pin:
    """A ``set_start_method("<method>")`` call: its line, and when it runs."""

    method: str
    line: int
    when: str  # IMPORT_TIME (the module body), UNDER_MAIN_GUARD or the enclosing module-level function's name
    conditional: bool  # under an if, a loop or an except: it may not run
    since: str = ""  # only under ``if sys.version_info >= (3, N):`` (fork, N <= 14): "3.N"

    @property
    def call(self) -> str:
        """``set_start_method("fork")``, with the version guard it runs under."""
        text = f'set_start_method("{self.method}")'
        return f"{text} on Python >= {self.since}" if self.since else text


@dataclass(frozen=True, slots=True)
class ModuleSummary:
    """What other modules can know of one file."""

    imports: tuple[Import, ...]
    pins: tuple[Pin, ...]
    main_guard: bool
    dynamic_imports: bool = False  # importlib.import_module / __import__: may import any module near it


def summarize(data: bytes) -> ModuleSummary:
    """The summary of a file's bytes (never raises: unparsable code simply pins nothing)."""
    text = data.replace(b"\\\r\n", b" ").replace(b"\\\n", b" ")
    imports = []
    for match in _IMPORT.finditer(text):
        if match.group("plain") is not None:
            for part in _split_names(match.group("plain")):
                imports.append(Import(0, part, ()))
            continue
        module = match.group("module").decode("ascii", "replace")
        level = len(module) - len(module.lstrip("."))
        imports.append(Import(level, module[level:], tuple(_split_names(match.group("names").strip(b"()")))))
    pins = _pins(data) if PIN_NEEDLE in data else ()
    return ModuleSummary(tuple(imports), pins, bool(_MAIN_GUARD.search(text)), bool(_DYNAMIC_IMPORT.search(text)))


def called_names(data: bytes) -> frozenset[str]:
    """The names a file calls (a name followed by ``(``, anywhere): whether an entry point
    calls a function that pins. Read only for the few entry points that need it."""
    return frozenset(name.decode("ascii", "replace") for name in _CALLED.findall(data))


def _split_names(raw: bytes) -> list[str]:
    """``a.b as c, d`` -> ``["a.b", "d"]``; anything that is not a dotted name is dropped."""
    names = []
    for item in raw.replace(b"\n", b" ").replace(b"\\", b" ").split(b","):
        words = item.split()
        if words:
            name = words[0].decode("ascii", "replace")
            if all(part.isidentifier() for part in name.split(".")):
                names.append(name)
    return names


def _pins(data: bytes) -> tuple[Pin, ...]:
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    found: list[Pin] = []
    _visit(tree.body, IMPORT_TIME, False, found)
    return tuple(found)


def _is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides) and any(
        isinstance(side, ast.Constant) and side.value == "__main__" for side in sides
    )


def _new_python(test: ast.expr) -> str | None:
    """``"3.14"`` for ``sys.version_info >= (3, 14)`` (``>``, ``[:2]``) up to 3.14; else None
    (the libcst twin is ``facts.new_python``)."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], (ast.GtE, ast.Gt)):
        return None
    left = test.left.value if isinstance(test.left, ast.Subscript) else test.left
    if not (isinstance(left, ast.Attribute) and left.attr == "version_info" and isinstance(left.value, ast.Name) and left.value.id == "sys"):
        return None
    right = test.comparators[0]
    if not isinstance(right, ast.Tuple) or len(right.elts) < 2:
        return None
    numbers = [element.value for element in right.elts[:2] if isinstance(element, ast.Constant) and type(element.value) is int]
    return f"{numbers[0]}.{numbers[1]}" if len(numbers) == 2 and (numbers[0], numbers[1]) <= (3, 14) else None


def _visit(body: list[ast.stmt], when: str, conditional: bool, found: list[Pin]) -> None:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _visit(statement.body, statement.name if when in (IMPORT_TIME, UNDER_MAIN_GUARD) else when, False, found)
        elif isinstance(statement, ast.ClassDef):
            for inner in statement.body:
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and when in (IMPORT_TIME, UNDER_MAIN_GUARD):
                    # calling the class runs its constructor: a pin there runs when ``Name(...)`` does
                    runs_as = statement.name if inner.name in _CONSTRUCTORS else inner.name
                    _visit(inner.body, runs_as, False, found)
                else:
                    _visit([inner], when, conditional, found)
        elif isinstance(statement, ast.If):
            _calls(statement.test, when, conditional, found)
            if when == IMPORT_TIME and _is_main_guard(statement.test):
                _visit(statement.body, UNDER_MAIN_GUARD, conditional, found)
            elif (since := _new_python(statement.test)) is not None:
                # fork pinned where the default stopped being fork: the code relies on fork
                guarded: list[Pin] = []
                _visit(statement.body, when, conditional, guarded)
                found.extend(
                    dataclasses.replace(pin, since=pin.since or since) if pin.method == "fork" and not pin.conditional else dataclasses.replace(pin, conditional=True)
                    for pin in guarded
                )
            else:
                _visit(statement.body, when, True, found)
            _visit(statement.orelse, when, True, found)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            # ``try: set_start_method("fork") except RuntimeError: pass`` may not pin: another
            # call chose first, or the platform has no fork
            _visit(statement.body, when, True, found)  # type: ignore[attr-defined]
            for handler in statement.handlers:  # type: ignore[attr-defined]
                _visit(handler.body, when, True, found)
            _visit(statement.orelse, when, conditional, found)  # type: ignore[attr-defined]
            _visit(statement.finalbody, when, conditional, found)  # type: ignore[attr-defined]
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                _calls(item.context_expr, when, conditional, found)
            _visit(statement.body, when, conditional, found)
        elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            _calls(statement.iter if not isinstance(statement, ast.While) else statement.test, when, conditional, found)
            _visit(statement.body, when, True, found)
            _visit(statement.orelse, when, True, found)
        elif type(statement).__name__ == "Match":
            for case in statement.cases:  # type: ignore[attr-defined]
                _visit(case.body, when, True, found)
        else:
            _calls(statement, when, conditional, found)


def _calls(node: ast.AST, when: str, conditional: bool, found: list[Pin]) -> None:
    for inner in ast.walk(node):
        if not isinstance(inner, ast.Call):
            continue
        func = inner.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name != "set_start_method":
            continue
        method = inner.args[0] if inner.args else next((keyword.value for keyword in inner.keywords if keyword.arg == "method"), None)
        if isinstance(method, ast.Constant) and isinstance(method.value, str):
            found.append(Pin(method.value, inner.lineno, when, conditional))
