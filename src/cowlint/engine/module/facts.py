"""One pass over a module that records the facts every rule reads.

libcst's own visitor and its ScopeProvider/QualifiedNameProvider cost many times
the parse (measured on the stdlib files that mention multiprocessing: visitor
walk ~0.8x the parse, scope + qualified names ~8x). So this pass walks the tree's
dataclass fields itself (about 13x cheaper than ``Module.visit``) and keeps
explicit scope and binding records, the way pyflakes does. Values are resolved
later, on demand, by :mod:`cowlint.engine.module.values`, and only for the few
expressions a rule asks about: function bodies are therefore resolved against
the whole module, so a worker sees every module global.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

# Fields that never hold code: whitespace, punctuation, comments.
_NON_CODE_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "newline",
        "trailing_whitespace",
        "comma",
        "semicolon",
        "equal",
        "colon",
        "dot",
        "star",
        "operator",
        "walrus",
        "lbrace",
        "rbrace",
        "lbracket",
        "rbracket",
        "first_line",
        "empty_lines",
        "indent",
        "default_newline",
        "default_indent",
        "encoding",
        "has_trailing_newline",
        "asynchronous",
        "prefix",
        "quote",
    }
)
_FIELD_CACHE: dict[type, tuple[str, ...]] = {}


def _code_fields(node_type: type) -> tuple[str, ...]:
    names = _FIELD_CACHE.get(node_type)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if not f.name.startswith("whitespace") and f.name not in _NON_CODE_FIELDS
        )
        _FIELD_CACHE[node_type] = names
    return names


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The code-bearing children of ``node`` in source order (no whitespace nodes)."""
    for name in _code_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every code-bearing node under ``node`` (itself included), pre-order, iteratively."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children = list(iter_children(current))
        children.reverse()
        stack.extend(children)


# ------------------------------------------------------------------ records

MODULE, CLASS, FUNCTION, LAMBDA, COMPREHENSION = "module", "class", "function", "lambda", "comprehension"



@dataclass(eq=False)
class Binding:
    """One binding of a name.

    ``kind`` says how the name was bound and what ``value`` means:

    - ``assign``: ``value`` is the assigned expression (also walrus, annotated assignment);
    - ``unpack``: the name is one target of an unpacking of ``value``;
    - ``element``: the name is a loop or comprehension target iterating ``value``;
    - ``enter``: ``with value as name``;
    - ``import``: ``qualname`` is the imported module or object;
    - ``param``: a parameter, ``node`` is the ``cst.Param``;
    - ``def`` / ``class``: ``node`` is the definition;
    - ``augassign``, ``except``, ``other``: nothing is known of the value.
    """

    name: str
    kind: str
    node: cst.CSTNode
    value: cst.BaseExpression | None
    order: int
    scope: Scope  # the scope whose namespace holds the name
    eval_scope: Scope  # the scope in which ``value`` is evaluated
    loops: tuple[cst.CSTNode, ...] = ()  # loops and comprehensions of the frame around the binding
    qualname: str | None = None
    conditional: bool = False  # inside an if/try/match branch or a loop body of its frame: may not run
    guarded: bool = False  # under ``if __name__ == "__main__":`` at module level: runs only in the main script


@dataclass(eq=False)
class Mutation:
    """``target.append(x)``, ``target.extend(xs)``, ``target[k] = x`` and friends."""

    target: cst.BaseExpression
    method: str
    node: cst.CSTNode
    args: tuple[cst.BaseExpression, ...]
    scope: Scope
    order: int
    loops: tuple[cst.CSTNode, ...]
    guarded: bool = False


@dataclass(eq=False)
class CallSite:
    """A call expression, where it is and the loops (and comprehensions) it runs in."""

    node: cst.Call
    scope: Scope
    order: int
    loops: tuple[cst.CSTNode, ...]
    guarded: bool = False  # under the main guard
    conditional: bool = False  # inside an if/try/match branch or a loop of its frame
    # conditional only on ``sys.version_info >= (3, N)`` tests with N <= 14: "3.N" (else "")
    since: str = ""
    # conditional only on platform tests (``sys.platform``, ``os.name``, ``platform.system()``):
    # the targets on which the call runs (``frozenset()``: none; None: not only such tests)
    platforms: frozenset[str] | None = None


@dataclass(frozen=True)
class Returned:
    """A ``return <value>`` of a function: what a call of the function gives back."""

    value: cst.BaseExpression
    scope: Scope
    order: int


@dataclass(eq=False)
class ClassInfo:
    """A class defined in the module and what its instances hold."""

    name: str
    node: cst.ClassDef
    scope: Scope  # the class body's scope
    outer: Scope  # the scope the class statement is in
    # instance attribute -> the bindings of ``self.attr = value`` in its methods
    attributes: dict[str, list[Binding]] = field(default_factory=dict)
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    plain_functions: set[str] = field(default_factory=set)  # staticmethods and classmethods: no instance bound
    dynamic_attributes: bool = False  # setattr(self, ...) or self.__dict__.update(...): attributes unknown
    properties: set[str] = field(default_factory=set)  # @property and friends: computed, not bound methods
    fields: dict[str, cst.AnnAssign] = field(default_factory=dict)  # class-level annotated names
    is_dataclass: bool = False


@dataclass(eq=False)
class Scope:
    """A namespace: module, class body, function, lambda or comprehension."""

    kind: str
    node: cst.CSTNode
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    nonlocal_names: set[str] = field(default_factory=set)
    class_info: ClassInfo | None = None  # set on class scopes
    method_of: ClassInfo | None = None  # set on methods (functions directly in a class body)
    self_name: str | None = None  # the instance parameter of a method
    # how the frame's code uses each name (engine.module.dispatch.name_uses), read once per frame
    name_uses: dict[str, list[int]] | None = field(default=None, repr=False)

    def module(self) -> Scope:
        """The module scope this scope belongs to."""
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def frame(self) -> Scope:
        """The scope whose code runs this scope's code: comprehensions run inline."""
        scope = self
        while scope.kind == COMPREHENSION and scope.parent is not None:
            scope = scope.parent
        return scope

    def enclosing_method(self) -> Scope | None:
        """The nearest method scope (through nested functions, lambdas and comprehensions)."""
        scope: Scope | None = self
        while scope is not None:
            if scope.method_of is not None:
                return scope
            scope = scope.parent
        return None


@dataclass
class ModuleFacts:
    """Everything the rules read about one module."""

    module: cst.Module
    scope: Scope
    scopes: dict[cst.CSTNode, Scope]
    classes: dict[cst.ClassDef, ClassInfo]
    calls: list[CallSite]
    mutations: list[Mutation]
    has_main_guard: bool = False  # the module is written to run as a script
    returns: dict[int, list[Returned]] = field(default_factory=dict)  # id(function def) -> its returns (a context manager's yields)
    # ``Cache.table = value``: assignments to attributes of a name (not ``self.x`` in a method), ``setattr``
    attribute_stores: list[Mutation] = field(default_factory=list)
    # module globals set by their name as a string (``globals()["TABLE"] = ...``, ``globals().update(...)``,
    # ``setattr(sys.modules[__name__], "TABLE", ...)``) or filled in place by ``parse_args(namespace=FLAGS)``
    named_stores: list[tuple[str, Mutation]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._call_sites = {id(site.node): site for site in self.calls}

    def call_site(self, call: cst.Call) -> CallSite | None:
        """The recorded site of a call expression."""
        return self._call_sites.get(id(call))

    def mutations_of(self, name: str, scope: Scope) -> list[Mutation]:
        """Mutations whose target is the plain name ``name`` as seen from ``scope``'s frame."""
        return [m for m in self.mutations if isinstance(m.target, cst.Name) and m.target.value == name and m.scope.frame() is scope.frame()]


_MUTATING_METHODS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft"})


_PARSE_METHODS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args", "parse_known_intermixed_args"})


def _is_globals_call(node: cst.BaseExpression) -> bool:
    """``globals()``."""
    return type(node) is cst.Call and type(node.func) is cst.Name and node.func.value == "globals" and not node.args


def _single_index(node: cst.Subscript) -> cst.BaseExpression | None:
    """``k`` of ``x[k]`` (not a slice, nor several indexes)."""
    return node.slice[0].slice.value if len(node.slice) == 1 and type(node.slice[0].slice) is cst.Index else None


def _is_this_module(node: cst.BaseExpression) -> bool:
    """``sys.modules[__name__]``: the module itself, whose attributes are its globals."""
    if type(node) is not cst.Subscript or dotted_name(node.value) != "sys.modules":
        return False
    index = _single_index(node)
    return type(index) is cst.Name and index.value == "__name__"


def _update_keys(call: cst.Call) -> list[object]:
    """The names ``globals().update(NAME=..., **{"OTHER": ...})`` sets, where written as literals."""
    names: list[object] = []
    for arg in call.args:
        if arg.keyword is not None:
            names.append(arg.keyword.value)
        elif type(arg.value) is cst.Dict:
            names.extend(element.key.evaluated_value for element in arg.value.elements if type(element) is cst.DictElement and type(element.key) is cst.SimpleString)
    return names


def _parse_namespace(call: cst.Call) -> str | None:
    """``FLAGS`` of ``parser.parse_args(namespace=FLAGS)`` (argparse) or ``parse_args(values=FLAGS)``
    (optparse): the object whose attributes the parse fills in place."""
    for position, arg in enumerate(call.args):
        named = arg.keyword.value if arg.keyword is not None else None
        if (named in ("namespace", "values") or (named is None and position == 1 and not arg.star)) and type(arg.value) is cst.Name:
            return arg.value.value
    return None


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def main_guard(test: cst.BaseExpression) -> str | None:
    """``==`` for ``__name__ == "__main__"`` (either quoting, either way round, or the first
    operand of an ``and``), ``!=`` for its negation, else None."""
    if type(test) is cst.BooleanOperation and type(test.operator) is cst.And:
        return "==" if main_guard(test.left) == "==" or main_guard(test.right) == "==" else None
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    operator = {cst.Equal: "==", cst.NotEqual: "!="}.get(type(target.operator))
    sides = (test.left, target.comparator)
    names = [side for side in sides if type(side) is cst.Name and side.value == "__name__"]
    strings = [side for side in sides if type(side) is cst.SimpleString and side.evaluated_value == "__main__"]
    return operator if len(names) == 1 and len(strings) == 1 else None


def new_python(test: cst.BaseExpression) -> str | None:
    """``"3.14"`` for ``sys.version_info >= (3, 14)`` (or ``>``, or ``sys.version_info[:2]``) when the
    version is at most 3.14, the last one whose default start method changed; else None."""
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    left = test.left.value if type(test.left) is cst.Subscript else test.left
    if type(target.operator) not in (cst.GreaterThanEqual, cst.GreaterThan) or dotted_name(left) != "sys.version_info":
        return None
    if type(target.comparator) is not cst.Tuple:
        return None
    numbers = [element.value for element in target.comparator.elements]
    if len(numbers) < 2 or any(type(number) is not cst.Integer for number in numbers[:2]):
        return None
    major, minor = (int(number.value) for number in numbers[:2])  # type: ignore[attr-defined]
    return f"{major}.{minor}" if (major, minor) <= (3, 14) else None


# the platforms a project targets (``platforms`` in the configuration)
ALL_PLATFORMS = frozenset({"linux", "macos", "windows"})
PLATFORM_LABELS = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
# what a platform test compares, and the targets each of its values means
_PLATFORM_VALUES: dict[str, dict[str, frozenset[str]]] = {
    "sys.platform": {"linux": frozenset({"linux"}), "darwin": frozenset({"macos"}), "win32": frozenset({"windows"})},
    "os.name": {"posix": frozenset({"linux", "macos"}), "nt": frozenset({"windows"})},
    "platform.system()": {"Linux": frozenset({"linux"}), "Darwin": frozenset({"macos"}), "Windows": frozenset({"windows"})},
}


def platforms_of(test: cst.BaseExpression) -> frozenset[str] | None:
    """The targets on which ``test`` holds, when it tests only the platform: ``sys.platform ==
    "darwin"``, ``sys.platform.startswith("linux")``, ``os.name != "nt"``, ``platform.system() in
    ("Linux", "Darwin")``, ``False``, with ``not``/``and``/``or``; None for any other test. A
    value no target has (``"cygwin"``) holds on none."""
    kind = type(test)
    if kind is cst.Name and test.value in ("True", "False"):  # type: ignore[attr-defined]
        return ALL_PLATFORMS if test.value == "True" else frozenset()  # type: ignore[attr-defined]
    if kind is cst.Integer:
        return ALL_PLATFORMS if int(test.value, 0) else frozenset()  # type: ignore[attr-defined]
    if kind is cst.UnaryOperation and type(test.operator) is cst.Not:  # type: ignore[attr-defined]
        inner = platforms_of(test.expression)  # type: ignore[attr-defined]
        return None if inner is None else ALL_PLATFORMS - inner
    if kind is cst.BooleanOperation:
        left, right = platforms_of(test.left), platforms_of(test.right)  # type: ignore[attr-defined]
        if left is None or right is None:
            return None
        return left & right if type(test.operator) is cst.And else left | right  # type: ignore[attr-defined]
    if kind is cst.Call and type(test.func) is cst.Attribute and test.func.attr.value == "startswith" and dotted_name(test.func.value) == "sys.platform":  # type: ignore[attr-defined]
        prefixes = _strings(test.args[0].value) if len(test.args) == 1 else None  # type: ignore[attr-defined]
        if prefixes is None:
            return None
        return frozenset(target for value, targets in _PLATFORM_VALUES["sys.platform"].items() for target in targets if value.startswith(tuple(prefixes)))
    if kind is not cst.Comparison or len(test.comparisons) != 1:  # type: ignore[attr-defined]
        return None
    left, operator, right = test.left, type(test.comparisons[0].operator), test.comparisons[0].comparator  # type: ignore[attr-defined]
    subject = _platform_subject(left)
    if subject is None and operator in (cst.Equal, cst.NotEqual):
        left, right, subject = right, left, _platform_subject(right)  # ``"darwin" == sys.platform``
    values = _strings(right) if subject is not None else None
    if values is None or subject is None:
        return None
    meaning = _PLATFORM_VALUES[subject]
    held = frozenset(target for value in values for target in meaning.get(value, frozenset()))
    if operator in (cst.Equal, cst.In, cst.Is):
        return held
    if operator in (cst.NotEqual, cst.NotIn, cst.IsNot):
        return ALL_PLATFORMS - held
    return None


def _platform_subject(node: cst.BaseExpression) -> str | None:
    if type(node) is cst.Call and not node.args and dotted_name(node.func) == "platform.system":
        return "platform.system()"
    dotted = dotted_name(node) if type(node) in (cst.Name, cst.Attribute) else None
    return dotted if dotted in ("sys.platform", "os.name") else None


def _strings(node: cst.BaseExpression) -> list[str] | None:
    """The string literals ``node`` is: one, or a tuple, list or set of them."""
    items = [element.value for element in node.elements] if type(node) in (cst.Tuple, cst.List, cst.Set) else [node]  # type: ignore[attr-defined]
    values = [value for item in items if type(item) is cst.SimpleString and isinstance(value := item.evaluated_value, str)]
    return values if len(values) == len(items) else None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _decorator_names(node: cst.FunctionDef | cst.ClassDef) -> list[str]:
    names = []
    for decorator in node.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        dotted = dotted_name(expr)
        if dotted:
            names.append(dotted)
    return names


_Stack = list[tuple[cst.CSTNode | None, Scope | Callable[[], object]]]


class _Collector:
    """Walks the module once and fills a ModuleFacts."""

    def __init__(self, module: cst.Module) -> None:
        self.order = 0
        self.module_scope = Scope(MODULE, module, None)
        self.scopes: dict[cst.CSTNode, Scope] = {module: self.module_scope}
        self.classes: dict[cst.ClassDef, ClassInfo] = {}
        self.calls: list[CallSite] = []
        self.mutations: list[Mutation] = []
        self.attribute_stores: list[Mutation] = []
        self.named_stores: list[tuple[str, Mutation]] = []
        self.returns: dict[int, list[Returned]] = {}
        self.loops: dict[int, list[cst.CSTNode]] = {}  # id(frame) -> stack of open loops
        self.branches: dict[int, int] = {}  # id(frame) -> how many if/try/match blocks are open
        self.loop_bodies: dict[int, cst.For] = {}  # id(body) -> its for loop: the iterable runs once
        self.guard_bodies: set[int] = set()  # id(body) of module-level ``if __name__ == "__main__":``
        self.guard_depth = 0
        self.has_main_guard = False
        self.version_bodies: dict[int, str] = {}  # id(body) of ``if sys.version_info >= (3, N):`` -> "3.N"
        self.versions: dict[int, list[str]] = {}  # id(frame) -> the version guards open in it
        self.platform_bodies: dict[int, frozenset[str]] = {}  # id(body, else or elif) of an ``if`` on the platform -> where it runs
        self.platform_tests: dict[int, list[frozenset[str]]] = {}  # id(frame) -> the platform tests open in it

    def guarded(self, scope: Scope) -> bool:
        """Whether code of ``scope`` here runs only when the module is the main script."""
        return self.guard_depth > 0 and scope.frame() is self.module_scope

    def tick(self) -> int:
        self.order += 1
        return self.order

    # -------------------------------------------------------------- bindings

    def current_loops(self, scope: Scope) -> tuple[cst.CSTNode, ...]:
        comprehensions = []
        while scope.kind == COMPREHENSION and scope.parent is not None:
            comprehensions.append(scope.node)
            scope = scope.parent
        return (*self.loops.get(id(scope), ()), *reversed(comprehensions))

    def bind(
        self, name: str, kind: str, node: cst.CSTNode, value: cst.BaseExpression | None, scope: Scope, qualname: str | None = None, holder: Scope | None = None
    ) -> None:
        """Record a binding of ``name`` made by code in ``scope`` (held by ``holder``, default: per global/nonlocal)."""
        if holder is None:
            holder = scope
            if name in scope.global_names:
                holder = scope.module()
            elif name in scope.nonlocal_names:
                holder = _nonlocal_holder(name, scope)
        loops = self.current_loops(scope)
        frame = scope.frame()
        conditional = bool(self.branches.get(id(frame))) or bool(self.loops.get(id(frame)))
        binding = Binding(name, kind, node, value, self.tick(), holder, scope, loops, qualname, conditional, self.guarded(scope))
        holder.bindings.setdefault(name, []).append(binding)

    def bind_target(self, target: cst.BaseExpression, kind: str, node: cst.CSTNode, value: cst.BaseExpression | None, scope: Scope) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, kind, node, value, scope)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if (
                kind == "assign"
                and isinstance(value, (cst.Tuple, cst.List))
                and len(value.elements) == len(elements)
                and not any(isinstance(e, cst.StarredElement) for e in (*elements, *value.elements))
            ):
                for element, item in zip(elements, value.elements, strict=True):
                    self.bind_target(element.value, "assign", node, item.value, scope)
            else:
                inner_kind = "unpack" if kind in ("assign", "unpack") else kind if kind == "element" else "other"
                for element in elements:
                    self.bind_target(element.value, inner_kind, node, value, scope)
        elif isinstance(target, cst.StarredElement):
            self.bind_target(target.value, "other", node, value, scope)
        elif isinstance(target, cst.Attribute):
            method = scope.enclosing_method()
            if (
                method is not None
                and method.method_of is not None
                and isinstance(target.value, cst.Name)
                and target.value.value == method.self_name
                and scope.frame() is method
            ):
                attr_kind = kind if kind in ("assign", "enter") else "other"
                binding = Binding(target.attr.value, attr_kind, node, value, self.tick(), method, scope, self.current_loops(scope))
                method.method_of.attributes.setdefault(target.attr.value, []).append(binding)
            elif isinstance(target.value, cst.Name):
                self.attribute_stores.append(Mutation(target, "assign", node, (value,) if value is not None else (), scope, self.tick(), self.current_loops(scope), self.guarded(scope)))
        elif isinstance(target, cst.Subscript):
            if _is_globals_call(target.value) and type(index := _single_index(target)) is cst.SimpleString:
                self.note_named_stores([index.evaluated_value], target.value, node, scope)
            self.mutations.append(Mutation(target.value, "setitem", node, (value,) if value is not None else (), scope, self.tick(), self.current_loops(scope), self.guarded(scope)))

    # -------------------------------------------------------------- walking

    def run(self, module: cst.Module) -> ModuleFacts:
        # Each stack entry: (node, scope) to enter, or (None, callback) to run on exit.
        stack: _Stack = [(module, self.module_scope)]
        while stack:
            node, payload = stack.pop()
            if node is None:
                assert callable(payload)
                payload()
                continue
            assert isinstance(payload, Scope)
            scope = payload
            child_scope = self.enter(node, scope, stack)
            children = list(iter_children(node))
            for child in reversed(children):
                stack.append((child, child_scope))
        return ModuleFacts(
            module=module,
            scope=self.module_scope,
            scopes=self.scopes,
            classes=self.classes,
            calls=self.calls,
            mutations=self.mutations,
            has_main_guard=self.has_main_guard,
            returns=self.returns,
            attribute_stores=self.attribute_stores,
            named_stores=self.named_stores,
        )

    def push_exit(self, stack: _Stack, callback: Callable[[], object]) -> None:
        stack.append((None, callback))

    def enter(self, node: cst.CSTNode, scope: Scope, stack: _Stack) -> Scope:
        """Record what ``node`` binds or calls; return the scope its children live in."""
        # dispatch on the exact type: isinstance() against libcst's ABC-based classes
        # costs more than the whole walk
        handler = _HANDLERS.get(type(node))
        return handler(self, node, scope, stack) if handler is not None else scope

    def on_call(self, node: cst.Call, scope: Scope, stack: _Stack) -> Scope:
        frame = scope.frame()
        # the main guard's own if does not make a call conditional: it is how scripts run
        branches = self.branches.get(id(frame), 0) - (self.guard_depth if frame is self.module_scope else 0)
        loops = bool(self.loops.get(id(frame)))
        conditional = branches > 0 or loops
        versions = self.versions.get(id(frame), ())
        since = max(versions, key=_version_key) if versions and not loops and branches == len(versions) else ""
        tested = self.platform_tests.get(id(frame), ())
        platforms = functools.reduce(frozenset.intersection, tested, ALL_PLATFORMS) if tested and not loops and branches == len(tested) else None
        self.calls.append(CallSite(node, scope, self.tick(), self.current_loops(scope), self.guarded(scope), conditional, since, platforms))
        func = node.func
        if type(func) is cst.Attribute and func.attr.value in _MUTATING_METHODS:
            args = tuple(arg.value for arg in node.args)
            self.mutations.append(Mutation(func.value, func.attr.value, node, args, scope, self.order, self.current_loops(scope), self.guarded(scope)))
            if func.attr.value == "update":
                self.note_dynamic_attributes(func.value, scope)
                if _is_globals_call(func.value):
                    self.note_named_stores(_update_keys(node), node, node, scope)
        elif type(func) is cst.Name and func.value == "setattr" and node.args:
            self.note_dynamic_attributes(node.args[0].value, scope)
            if len(node.args) >= 2 and _is_this_module(node.args[0].value) and type(node.args[1].value) is cst.SimpleString:
                self.note_named_stores([node.args[1].value.evaluated_value], node, node, scope)
        elif type(func) is cst.Attribute and func.attr.value in _PARSE_METHODS:
            namespace = _parse_namespace(node)
            if namespace is not None:
                self.note_named_stores([namespace], node, node, scope, "filled")
        return scope

    def note_named_stores(self, names: Iterable[object], target: cst.BaseExpression, node: cst.CSTNode, scope: Scope, how: str = "set") -> None:
        """Module globals set (or, ``how="filled"``, filled in place) by ``node`` through ``target``
        (``globals()``, the call) without naming them as targets."""
        for name in names:
            if isinstance(name, str) and name.isidentifier():
                self.named_stores.append((name, Mutation(target, how, node, (), scope, self.tick(), self.current_loops(scope), self.guarded(scope))))

    def note_dynamic_attributes(self, target: cst.BaseExpression, scope: Scope) -> None:
        """``setattr(self, ...)``, ``self.__dict__.update(...)``, ``vars(self).update(...)``."""
        method = scope.enclosing_method()
        if method is None or method.method_of is None:
            return
        if type(target) is cst.Attribute and target.attr.value == "__dict__":
            target = target.value
        elif type(target) is cst.Call and type(target.func) is cst.Name and target.func.value == "vars" and target.args:
            target = target.args[0].value
        if type(target) is cst.Name and target.value == method.self_name:
            method.method_of.dynamic_attributes = True

    def on_assign(self, node: cst.Assign, scope: Scope, stack: _Stack) -> Scope:
        # bind after the value is walked, so uses inside the value see earlier bindings
        self.push_exit(stack, lambda: self.bind_targets(node, scope))
        return scope

    def bind_targets(self, node: cst.Assign, scope: Scope) -> None:
        for target in node.targets:
            self.bind_target(target.target, "assign", node, node.value, scope)

    def on_ann_assign(self, node: cst.AnnAssign, scope: Scope, stack: _Stack) -> Scope:
        if node.value is not None:
            self.push_exit(stack, lambda: self.bind_target(node.target, "assign", node, node.value, scope))
        if scope.kind == CLASS and scope.class_info is not None and isinstance(node.target, cst.Name) and not _is_classvar(node.annotation.annotation):
            scope.class_info.fields[node.target.value] = node
        return scope

    def on_aug_assign(self, node: cst.AugAssign, scope: Scope, stack: _Stack) -> Scope:
        self.push_exit(stack, lambda: self.bind_target(node.target, "augassign", node, node.value, scope))
        return scope

    def on_named_expr(self, node: cst.NamedExpr, scope: Scope, stack: _Stack) -> Scope:
        if scope.kind == COMPREHENSION and isinstance(node.target, cst.Name):
            # PEP 572: the target belongs to the scope the comprehension runs in
            target = node.target
            self.push_exit(stack, lambda: self.bind(target.value, "assign", node, node.value, scope, holder=scope.frame()))
        else:
            self.push_exit(stack, lambda: self.bind_target(node.target, "assign", node, node.value, scope))
        return scope

    def on_loop(self, node: cst.For | cst.While, scope: Scope, stack: _Stack) -> Scope:
        frame = scope.frame()
        open_loops = self.loops.setdefault(id(frame), [])
        if isinstance(node, cst.For):
            # the target varies per iteration; the iterable is evaluated once, so
            # the loop opens at its body
            open_loops.append(node)
            self.bind_target(node.target, "element", node, node.iter, scope)
            open_loops.pop()
            self.loop_bodies[id(node.body)] = node
            return scope
        open_loops.append(node)  # a while test runs on every iteration
        self.push_exit(stack, open_loops.pop)
        return scope

    def on_block(self, node: cst.BaseSuite, scope: Scope, stack: _Stack) -> Scope:
        if id(node) in self.guard_bodies:
            self.guard_bodies.discard(id(node))
            self.has_main_guard = True
            self.guard_depth += 1
            self.push_exit(stack, self.leave_guard)
        since = self.version_bodies.pop(id(node), None)
        if since is not None:
            open_versions = self.versions.setdefault(id(scope.frame()), [])
            open_versions.append(since)
            self.push_exit(stack, open_versions.pop)
        self.enter_platform_test(node, scope, stack)
        loop = self.loop_bodies.pop(id(node), None)
        if loop is not None:
            open_loops = self.loops.setdefault(id(scope.frame()), [])
            open_loops.append(loop)
            self.push_exit(stack, open_loops.pop)
        return scope

    def enter_platform_test(self, node: cst.CSTNode, scope: Scope, stack: _Stack) -> None:
        """Entering the body (or the else, or the elif) of an ``if`` on the platform."""
        held = self.platform_bodies.pop(id(node), None)
        if held is not None:
            tested = self.platform_tests.setdefault(id(scope.frame()), [])
            tested.append(held)
            self.push_exit(stack, tested.pop)

    def leave_guard(self) -> None:
        self.guard_depth -= 1

    def on_branch(self, node: cst.CSTNode, scope: Scope, stack: _Stack) -> Scope:
        """if/try/match: bindings inside may not happen."""
        if type(node) is cst.If and scope.frame() is self.module_scope:
            guard = main_guard(node.test)
            if guard == "==":
                self.guard_bodies.add(id(node.body))
            elif guard == "!=" and isinstance(node.orelse, cst.Else):
                self.guard_bodies.add(id(node.orelse.body))
        if type(node) is cst.If and (since := new_python(node.test)) is not None:
            self.version_bodies[id(node.body)] = since
        self.enter_platform_test(node, scope, stack)  # the else of a platform test, when this is an elif
        if type(node) is cst.If and (held := platforms_of(node.test)) is not None:
            self.platform_bodies[id(node.body)] = held
            if node.orelse is not None:
                self.platform_bodies[id(node.orelse.body if type(node.orelse) is cst.Else else node.orelse)] = ALL_PLATFORMS - held
        frame = id(scope.frame())
        self.branches[frame] = self.branches.get(frame, 0) + 1

        def close() -> None:
            self.branches[frame] -= 1

        self.push_exit(stack, close)
        return scope

    def on_match_capture(self, node: cst.MatchAs | cst.MatchStar | cst.MatchMapping, scope: Scope, stack: _Stack) -> Scope:
        name = node.rest if isinstance(node, cst.MatchMapping) else node.name
        if isinstance(name, cst.Name):
            self.bind(name.value, "other", node, None, scope)
        return scope

    def on_with(self, node: cst.With, scope: Scope, stack: _Stack) -> Scope:
        for item in node.items:
            if item.asname is not None:
                self.bind_target(item.asname.name, "enter", node, item.item, scope)
        return scope

    def on_import(self, node: cst.Import, scope: Scope, stack: _Stack) -> Scope:
        for alias in node.names:
            dotted = dotted_name(alias.name)
            if dotted is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bind(alias.asname.name.value, "import", node, None, scope, qualname=dotted)
            else:
                top = dotted.split(".")[0]
                self.bind(top, "import", node, None, scope, qualname=top)
        return scope

    def on_import_from(self, node: cst.ImportFrom, scope: Scope, stack: _Stack) -> Scope:
        if isinstance(node.names, cst.ImportStar):
            return scope
        base = dotted_name(node.module) if node.module is not None else ""
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is None:
                continue
            bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
            dots = "." * len(node.relative)
            qualname = f"{dots}{base}.{name}" if base else f"{dots}{name}"  # relative names keep their dots
            self.bind(bound, "import", node, None, scope, qualname=qualname)
        return scope

    def on_return(self, node: cst.Return | cst.Yield, scope: Scope, stack: _Stack) -> Scope:
        frame = scope.frame()
        value = node.value
        if isinstance(value, cst.BaseExpression) and frame.kind == FUNCTION and isinstance(frame.node, cst.FunctionDef):
            if isinstance(node, cst.Yield):
                # a @contextmanager generator gives ``with f() as x`` what it yields
                if not any(name.rsplit(".", 1)[-1] == "contextmanager" for name in _decorator_names(frame.node)):
                    return scope
            self.returns.setdefault(id(frame.node), []).append(Returned(value, scope, self.tick()))
        return scope

    def on_global(self, node: cst.Global, scope: Scope, stack: _Stack) -> Scope:
        scope.global_names.update(item.name.value for item in node.names)
        return scope

    def on_nonlocal(self, node: cst.Nonlocal, scope: Scope, stack: _Stack) -> Scope:
        scope.nonlocal_names.update(item.name.value for item in node.names)
        return scope

    def on_except(self, node: cst.ExceptHandler, scope: Scope, stack: _Stack) -> Scope:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self.bind(node.name.name.value, "except", node, None, scope)
        return scope

    def on_lambda(self, node: cst.Lambda, scope: Scope, stack: _Stack) -> Scope:
        inner = Scope(LAMBDA, node, scope)
        self.scopes[node] = inner
        self.bind_params(node.params, inner)
        return inner

    def on_comprehension(self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp, scope: Scope, stack: _Stack) -> Scope:
        inner = Scope(COMPREHENSION, node, scope)
        self.scopes[node] = inner
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            self.bind_target(comp.target, "element", comp, comp.iter, inner)
            comp = comp.inner_for_in
        return inner

    def bind_params(self, params: cst.Parameters, scope: Scope) -> list[cst.Param]:
        ordered = [*params.posonly_params, *params.params]
        every = [*ordered, *params.kwonly_params]
        if isinstance(params.star_arg, cst.Param):
            every.append(params.star_arg)
        if params.star_kwarg is not None:
            every.append(params.star_kwarg)
        for param in every:
            self.bind(param.name.value, "param", param, None, scope)
        return ordered

    def enter_function(self, node: cst.FunctionDef, scope: Scope, stack: _Stack) -> Scope:
        self.bind(node.name.value, "def", node, None, scope)
        inner = Scope(FUNCTION, node, scope)
        self.scopes[node] = inner
        ordered = self.bind_params(node.params, inner)
        if scope.kind == CLASS and scope.class_info is not None:
            info = scope.class_info
            info.methods.setdefault(node.name.value, node)
            decorators = {name.rsplit(".", 1)[-1] for name in _decorator_names(node)}
            if "staticmethod" in decorators or "classmethod" in decorators:
                info.plain_functions.add(node.name.value)
            elif decorators & _PROPERTY_DECORATORS:
                info.properties.add(node.name.value)
            elif ordered:
                inner.method_of = info
                inner.self_name = ordered[0].name.value
        return inner

    def enter_class(self, node: cst.ClassDef, scope: Scope, stack: _Stack) -> Scope:
        self.bind(node.name.value, "class", node, None, scope)
        inner = Scope(CLASS, node, scope)
        info = ClassInfo(node.name.value, node, inner, scope)
        info.is_dataclass = any(name.rsplit(".", 1)[-1] in ("dataclass", "define", "frozen", "attrs", "s") for name in _decorator_names(node))
        inner.class_info = info
        self.scopes[node] = inner
        self.classes[node] = info
        return inner


def _nonlocal_holder(name: str, scope: Scope) -> Scope:
    """The enclosing function scope a ``nonlocal`` name lives in (it may bind it later)."""
    functions = []
    current = scope.parent
    while current is not None and current.kind != MODULE:
        if current.kind in (FUNCTION, LAMBDA):
            if name in current.bindings:
                return current
            functions.append(current)
        current = current.parent
    return functions[0] if functions else scope


def _is_classvar(annotation: cst.BaseExpression) -> bool:
    target = annotation.value if isinstance(annotation, cst.Subscript) else annotation
    return (dotted_name(target) or "").rsplit(".", 1)[-1] == "ClassVar"


_PROPERTY_DECORATORS = frozenset({"property", "cached_property", "setter", "getter", "deleter"})

_HANDLERS: dict[type, Callable[[_Collector, Any, Scope, _Stack], Scope]] = {
    cst.Call: _Collector.on_call,
    cst.Assign: _Collector.on_assign,
    cst.AnnAssign: _Collector.on_ann_assign,
    cst.AugAssign: _Collector.on_aug_assign,
    cst.NamedExpr: _Collector.on_named_expr,
    cst.For: _Collector.on_loop,
    cst.While: _Collector.on_loop,
    cst.With: _Collector.on_with,
    cst.Import: _Collector.on_import,
    cst.ImportFrom: _Collector.on_import_from,
    cst.Return: _Collector.on_return,
    cst.Yield: _Collector.on_return,
    cst.Global: _Collector.on_global,
    cst.Nonlocal: _Collector.on_nonlocal,
    cst.ExceptHandler: _Collector.on_except,
    cst.FunctionDef: _Collector.enter_function,
    cst.ClassDef: _Collector.enter_class,
    cst.Lambda: _Collector.on_lambda,
    cst.ListComp: _Collector.on_comprehension,
    cst.SetComp: _Collector.on_comprehension,
    cst.DictComp: _Collector.on_comprehension,
    cst.GeneratorExp: _Collector.on_comprehension,
    cst.IndentedBlock: _Collector.on_block,
    cst.SimpleStatementSuite: _Collector.on_block,
    cst.If: _Collector.on_branch,
    cst.Try: _Collector.on_branch,
    cst.TryStar: _Collector.on_branch,
    cst.Match: _Collector.on_branch,
    cst.MatchAs: _Collector.on_match_capture,
    cst.MatchStar: _Collector.on_match_capture,
    cst.MatchMapping: _Collector.on_match_capture,
}


def collect_facts(module: cst.Module) -> ModuleFacts:
    """Walk ``module`` once and return its facts."""
    return _Collector(module).run(module)
