"""What runs in the workers: the functions a dispatch sends, what they call, the globals they read.

The COW2xx rules ask three questions of a dispatch's callable: what is it
(a module function, a lambda, a nested function, a local class, a bound
method), which module globals does it read (directly or through one level of
helper functions of the module), and how do those globals get their value
(at import time, which every worker repeats, or at run time in the parent,
which only a forked worker inherits).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.facts import CLASS, FUNCTION, LAMBDA, MODULE, Binding, ModuleFacts, Mutation, Scope, iter_children, walk
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.values import BoundMethod, ClassRef, FunctionRef, Instance, argument

MAX_FOLLOW = 8  # names and partials followed to find what a callable is
_EVERYWHERE = 1 << 62  # a position after every statement: a function body sees the whole module


@dataclass(frozen=True)
class Callee:
    """What a callable expression is: a function, lambda or class of the module."""

    node: cst.FunctionDef | cst.Lambda | cst.ClassDef
    scope: Scope | None  # the function's own scope (the class body for a class)
    defined_in: Scope  # the scope the definition is in
    binding: Binding | None  # the def/class binding (None for a lambda)
    through_partial: bool
    method_of: str | None = None  # the class name when this is a bound method

    @property
    def name(self) -> str:
        if isinstance(self.node, cst.Lambda):
            return "lambda"
        return self.node.name.value

    @property
    def is_local(self) -> bool:
        """Defined inside a function (or in a class inside one): pickle cannot find it by name."""
        scope: Scope | None = self.defined_in
        while scope is not None and scope.kind != MODULE:
            if scope.kind in (FUNCTION, LAMBDA):
                return True
            scope = scope.parent
        return False

    @property
    def under_main_guard(self) -> bool:
        """Defined in ``if __name__ == "__main__":``: a spawned child's re-import does not define it."""
        return self.binding is not None and self.binding.guarded


def callee(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> Callee | None:
    """What the callable ``expr`` evaluates to, through names and ``functools.partial``."""
    partial = False
    for _ in range(MAX_FOLLOW):
        if isinstance(expr, cst.Call) and resolver.qualname(expr.func, scope, at) in apis.PARTIAL:
            inner = argument(expr, "func", 0)
            if inner is None:
                return None
            expr, partial = inner, True
            continue
        if isinstance(expr, cst.Lambda):
            return Callee(expr, resolver.facts.scopes.get(expr), scope, None, partial)
        if isinstance(expr, cst.Name):
            bindings = resolver.lookup(expr.value, scope, at)
            if len(bindings) != 1:
                return None
            binding = bindings[0]
            if binding.kind == "assign" and binding.value is not None:
                expr, scope, at = binding.value, binding.eval_scope, binding.order
                continue
            if binding.kind in ("def", "class") and isinstance(binding.node, (cst.FunctionDef, cst.ClassDef)):
                inner_scope = resolver.facts.scopes.get(binding.node)
                return Callee(binding.node, inner_scope, binding.eval_scope, binding, partial)
            return None
        value = resolver.eval(expr, scope, at)
        if isinstance(value, Instance):
            value = BoundMethod(value, "__call__")  # a callable object runs its __call__
        if isinstance(value, BoundMethod):
            method = _method(resolver, value)
            if method is None:
                return None
            inner_scope = resolver.facts.scopes.get(method)
            outer = inner_scope.parent if inner_scope is not None and inner_scope.parent is not None else scope
            return Callee(method, inner_scope, outer, None, partial, value.receiver.cls.name)
        if isinstance(value, FunctionRef) and isinstance(value.node, (cst.FunctionDef, cst.Lambda)):
            defined = value.scope.parent if value.scope is not None and value.scope.parent is not None else scope
            return Callee(value.node, value.scope, defined, None, partial)
        if isinstance(value, ClassRef):
            return Callee(value.cls.node, value.cls.scope, value.cls.outer, None, partial)
        return None
    return None


def _method(resolver: Resolver, value: BoundMethod) -> cst.FunctionDef | None:
    for info in resolver.class_chain(value.receiver.cls):
        if value.name in info.methods:
            return info.methods[value.name]
    return None


# ------------------------------------------------------------------ names read


def _loads(node: cst.CSTNode, scopes: dict[cst.CSTNode, Scope], scope: Scope) -> Iterator[tuple[cst.Name, Scope]]:
    """Every name ``node`` reads, with the scope it is read in (stores and attribute names skipped)."""
    stack: list[tuple[cst.CSTNode, Scope]] = [(node, scope)]
    while stack:
        current, where = stack.pop()
        kind = type(current)
        inner = scopes.get(current)
        if inner is not None and current is not node:
            where = inner
        if kind is cst.Name:
            yield current, where  # type: ignore[misc]
            continue
        if kind is cst.Attribute:
            stack.append((current.value, where))  # type: ignore[attr-defined]
            continue
        if kind is cst.Arg:
            stack.append((current.value, where))  # type: ignore[attr-defined]
            continue
        if kind is cst.Param:
            if current.default is not None:  # type: ignore[attr-defined]
                stack.append((current.default, where.parent or where))  # type: ignore[attr-defined]
            continue
        if kind in (cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal):
            continue
        if kind in (cst.Assign, cst.AnnAssign, cst.AugAssign):
            targets = [t.target for t in current.targets] if kind is cst.Assign else [current.target]  # type: ignore[attr-defined]
            for target in targets:
                stack.extend((part, where) for part in _target_reads(target))
            value = getattr(current, "value", None)
            if value is not None:
                stack.append((value, where))
            continue
        if kind in (cst.For, cst.CompFor):
            stack.extend((part, where) for part in _target_reads(current.target))  # type: ignore[attr-defined]
            for name in ("iter", "body", "orelse", "ifs", "inner_for_in"):
                child = getattr(current, name, None)
                if isinstance(child, cst.CSTNode):
                    stack.append((child, where))
                elif isinstance(child, (list, tuple)):
                    stack.extend((c, where) for c in child)
            continue
        if kind is cst.NamedExpr:
            stack.append((current.value, where))  # type: ignore[attr-defined]
            continue
        if kind in (cst.FunctionDef, cst.ClassDef):
            # the body is another scope, read when called; decorators and defaults run here
            for decorator in current.decorators:  # type: ignore[attr-defined]
                stack.append((decorator.decorator, where.parent or where))
            if current is node:
                stack.append((current.body, where))  # type: ignore[attr-defined]
            continue
        if kind in (cst.AsName, cst.MatchAs, cst.MatchStar):
            continue  # `with x as NAME`, `except E as NAME`, match captures: stores
        stack.extend((child, where) for child in iter_children(current))


def _target_reads(target: cst.BaseExpression) -> list[cst.CSTNode]:
    """The parts of an assignment target that are read: ``a`` in ``a.b = x`` and ``a[k] = x``."""
    if isinstance(target, cst.Attribute):
        return [target.value]
    if isinstance(target, cst.Subscript):
        return [target.value, *target.slice]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [part for element in target.elements for part in _target_reads(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_reads(target.value)
    return []


def stateless_reason(resolver: Resolver, function: Callee) -> str | None:
    """What keeps ``function`` from being stateless as Python 3.14's ``Interpreter.call`` decides
    it (an ``InterpreterPoolExecutor`` then pickles it): ``has defaults``, ``is decorated``, ``reads
    NAME`` (a global, or a variable of an enclosing function); ``""`` when it is stateless, reading
    only its own names and builtins, so its code is shared and nothing of the module is imported;
    None for a class."""
    node = function.node
    if isinstance(node, cst.ClassDef) or function.scope is None:
        return None
    params = node.params
    if any(param.default is not None for param in (*params.posonly_params, *params.params, *params.kwonly_params)):
        return "has defaults"
    if isinstance(node, cst.FunctionDef) and node.decorators:
        return "is decorated"
    for name, where in _loads(node, resolver.facts.scopes, function.scope):
        bindings = resolver.lookup(name.value, where, _EVERYWHERE)
        if not bindings and hasattr(builtins, name.value):
            continue
        if not bindings or not all(_inside(binding.scope, function.scope) for binding in bindings):
            return f"reads {name.value}"
    return ""


def _inside(scope: Scope | None, outer: Scope) -> bool:
    while scope is not None and scope is not outer:
        scope = scope.parent
    return scope is outer


@dataclass(frozen=True)
class GlobalRead:
    """A module global a worker function reads: the first use, and through which helper."""

    name: str
    node: cst.Name
    reader: str  # the function that reads it
    helper: str | None  # the helper function that reads it, if not the worker itself


def function_globals(resolver: Resolver, function: Callee) -> dict[str, cst.Name]:
    """Module globals ``function``'s body reads (not its parameters or locals), first use of each."""
    scope = function.scope
    if scope is None:
        return {}
    module_scope = resolver.facts.scope
    # a global the module creates only by name (``globals()["TABLE"] = load()``) has no binding
    by_name = {stored for stored, _ in resolver.facts.named_stores if "." not in stored and not hasattr(builtins, stored)}
    found: dict[str, cst.Name] = {}
    body = function.node
    for name, where in _loads(body, resolver.facts.scopes, scope):
        if name.value in found:
            continue
        bindings = resolver.lookup(name.value, where, _EVERYWHERE)
        if (bindings and all(b.scope is module_scope for b in bindings)) or (not bindings and name.value in by_name):
            found[name.value] = name
    return found


def class_attribute_reads(resolver: Resolver, function: Callee) -> dict[str, cst.Name]:
    """Attributes of the module's classes ``function``'s body reads (``Registry.handlers``), as
    ``Class.attr``: state kept on a class is a global by another name."""
    scope = function.scope
    if scope is None:
        return {}
    attributes = {id(node.value): node.attr.value for node in walk(function.node) if type(node) is cst.Attribute and type(node.value) is cst.Name}
    found: dict[str, cst.Name] = {}
    for name, where in _loads(function.node, resolver.facts.scopes, scope):
        attr = attributes.get(id(name))
        if attr is None or f"{name.value}.{attr}" in found:
            continue
        bindings = resolver.lookup(name.value, where, _EVERYWHERE)
        holder = state_holder(resolver, bindings)
        if holder == "object" or holder == "module" or (holder == "class" and _class_keeps(resolver.facts, name.value, attr)):
            found[f"{name.value}.{attr}"] = name
    return found


def state_holder(resolver: Resolver, bindings: list[Binding]) -> str | None:
    """What a module global whose attributes may hold worker state is: ``class`` (one of the
    module's classes), ``object`` (an object the module assigns, ``CONF = Config()``), ``module`` (a
    module of the project, ``import settings``: its attributes are that module's globals); None for
    anything else (a third-party module's attributes, ``os.environ``, are no state the parent fills)."""
    module_scope = resolver.facts.scope
    if not bindings or any(b.scope is not module_scope for b in bindings):
        return None
    kinds = {b.kind for b in bindings}
    if kinds == {"class"}:
        return "class"
    if kinds == {"assign"}:
        return "object"
    project = resolver.project
    if kinds == {"import"} and project is not None and all(b.qualname and (dotted := project.absolute(b.qualname)) and project.has_module(dotted) for b in bindings):
        return "module"
    return None


def _class_keeps(facts: ModuleFacts, class_name: str, attr: str) -> bool:
    """Whether the module's class ``class_name`` binds ``attr`` in its body to a value (not a method)."""
    for info in facts.classes.values():
        if info.name == class_name and info.outer is facts.scope:
            return any(b.kind == "assign" for b in info.scope.bindings.get(attr, ()))
    return False


def called_functions(resolver: Resolver, function: Callee) -> list[Callee]:
    """The module functions (and methods of the same instance) ``function`` calls directly."""
    scope = function.scope
    if scope is None:
        return []
    result: list[Callee] = []
    seen: set[int] = set()
    for site in resolver.direct_calls(scope):
        found = callee(resolver, site.node.func, site.scope, site.order)
        if found is None or isinstance(found.node, cst.ClassDef) or id(found.node) in seen or found.node is function.node:
            continue
        seen.add(id(found.node))
        result.append(found)
    return result


HELPER_DEPTH = 3  # calls followed from a worker into the module's functions


def worker_functions(resolver: Resolver, worker: Callee) -> list[Callee]:
    """The worker and the module functions it calls, up to HELPER_DEPTH calls deep, nearest first."""
    found = [worker]
    seen = {id(worker.node)}
    level = [worker]
    for _ in range(HELPER_DEPTH):
        following = []
        for function in level:
            for helper in called_functions(resolver, function):
                if id(helper.node) not in seen:
                    seen.add(id(helper.node))
                    following.append(helper)
        found.extend(following)
        level = following
    return found


def worker_globals(resolver: Resolver, worker: Callee) -> list[GlobalRead]:
    """Globals the worker reads, itself or through the helper functions it calls."""
    reads: list[GlobalRead] = []
    seen: set[str] = set()
    for function in worker_functions(resolver, worker):
        for name, node in {**function_globals(resolver, function), **class_attribute_reads(resolver, function)}.items():
            if name not in seen:
                seen.add(name)
                reads.append(GlobalRead(name, node, function.name, None if function is worker else function.name))
    return reads


# ------------------------------------------------------------------ how globals get their value


@dataclass(frozen=True)
class Fill:
    """A run-time change of a module global made outside the workers."""

    how: str  # e.g. 'assigned under if __name__ == "__main__"', 'filled by CACHE.update(...) in main()'
    order: int
    frame: Scope  # the body that makes the change
    node: cst.CSTNode | None = None  # where it is made


def _function_name(scope: Scope) -> str:
    frame = scope.frame()
    node = frame.node
    return f"{node.name.value}()" if isinstance(node, cst.FunctionDef) else "a lambda"


def import_time_bindings(facts: ModuleFacts, name: str) -> list[Binding]:
    """Bindings of module global ``name`` made when the module is imported."""
    module_scope = facts.scope
    return [b for b in module_scope.bindings.get(name, ()) if b.eval_scope.frame() is module_scope and not b.guarded]


def run_time_fills(resolver: Resolver, name: str, worker_side: set[int], code: Callable[[cst.CSTNode, int], str]) -> list[Fill]:
    """How the parent changes global ``name`` after import: assignments under the main guard or
    through ``global`` in a function, and mutations there. Functions in ``worker_side`` (ids of
    function nodes that run in the workers) do not count: a worker setting its own global is fine."""
    facts = resolver.facts
    module_scope = facts.scope
    if "." in name:
        return _class_attribute_fills(resolver, name, worker_side, code)
    fills: list[Fill] = []
    for binding in module_scope.bindings.get(name, ()):
        frame = binding.eval_scope.frame()
        if frame is module_scope:
            if binding.guarded:
                fills.append(Fill('assigned under if __name__ == "__main__"', binding.order, frame, binding.node))
        elif frame.kind in (FUNCTION, LAMBDA) and id(frame.node) not in worker_side:
            fills.append(Fill(f"assigned in {_function_name(frame)} through 'global'", binding.order, frame, binding.node))
    for mutation in facts.mutations:
        if not (isinstance(mutation.target, cst.Name) and mutation.target.value == name):
            continue
        where = _parent_side(facts, mutation, worker_side)
        bindings = resolver.lookup(name, mutation.scope, mutation.order)
        if where is None or not bindings or not all(b.scope is module_scope for b in bindings):
            continue  # at import time, in a worker, or a local of the same name
        if all(isinstance(b.node, cst.Import) for b in bindings):
            continue  # ``np.insert(...)``: a module's function, which changes nothing of the module
        fills.append(Fill(f"filled by {_mutation_text(mutation, code)} {where}", mutation.order, mutation.scope.frame(), mutation.node))
    for stored, store in facts.named_stores:
        if stored != name or (store.method == "filled" and not all(b.scope is module_scope for b in resolver.lookup(name, store.scope, store.order))):
            continue  # ``parse_args(namespace=args)`` of a local ``args``
        if (where := _parent_side(facts, store, worker_side)) is not None:
            fills.append(Fill(f"{store.method} by `{code(store.node, 50)}` {where}", store.order, store.scope.frame(), store.node))
    fills.sort(key=lambda fill: fill.order)
    return fills


def _parent_side(facts: ModuleFacts, change: Mutation, worker_side: set[int]) -> str | None:
    """Where the parent makes ``change`` after import (``under if __name__ == "__main__"``, ``in
    main()``); None when it runs at import time or in a function the workers run."""
    frame = change.scope.frame()
    if frame is facts.scope:
        return 'under if __name__ == "__main__"' if change.guarded else None
    if frame.kind not in (FUNCTION, LAMBDA) or id(frame.node) in worker_side:
        return None
    return f"in {_function_name(frame)}"


def _is_class_attribute(target: cst.BaseExpression, class_name: str, attr: str) -> bool:
    """``target`` is ``ClassName.attr`` as written."""
    return type(target) is cst.Attribute and type(target.value) is cst.Name and target.value.value == class_name and target.attr.value == attr


def _class_attribute_fills(resolver: Resolver, name: str, worker_side: set[int], code: Callable[[cst.CSTNode, int], str]) -> list[Fill]:
    """How the parent changes the class attribute ``Class.attr`` after import: ``Cache.table =
    load()`` or ``Registry.handlers[key] = handler`` in a function or under the main guard."""
    facts = resolver.facts
    class_name, attr = name.split(".", 1)
    fills: list[Fill] = []
    for change in (*facts.attribute_stores, *facts.mutations):
        if not _is_class_attribute(change.target, class_name, attr):
            continue
        where = _parent_side(facts, change, worker_side)
        if where is None or state_holder(resolver, resolver.lookup(class_name, change.scope, change.order)) is None:
            continue
        how = f"assigned {where}" if change.method == "assign" else f"filled by {_mutation_text(change, code)} {where}"
        fills.append(Fill(how, change.order, change.scope.frame(), change.node))
    fills.sort(key=lambda fill: fill.order)
    return fills


def set_by_workers(facts: ModuleFacts, name: str, worker_side: frozenset[int] | set[int]) -> bool:
    """Whether a function running in the workers assigns global (or class attribute) ``name``
    itself: lazily, or in its initializer. Then it does not depend on the parent. For
    ``CONF.retries``, a worker that rebinds ``CONF`` itself counts too."""
    base = name.split(".", 1)[0]
    if any(id(b.eval_scope.frame().node) in worker_side for b in facts.scope.bindings.get(base, ())) or any(
        stored == base and id(store.scope.frame().node) in worker_side for stored, store in facts.named_stores
    ):
        return True
    if "." not in name:
        return False
    class_name, attr = name.split(".", 1)
    return any(_is_class_attribute(store.target, class_name, attr) and id(store.scope.frame().node) in worker_side for store in facts.attribute_stores)


def _mutation_text(mutation: Mutation, code: Callable[[cst.CSTNode, int], str]) -> str:
    target = code(mutation.target, 30)
    if mutation.method == "setitem":
        return f"{target}[...] = ..."
    return f"{target}.{mutation.method}(...)"


def is_module_level_function(found: Callee) -> bool:
    """A def at module level (or a method of a module-level class): pickled by reference."""
    frame = found.defined_in.frame()
    return frame.kind == MODULE or (frame.kind == CLASS and frame.parent is not None and frame.parent.frame().kind == MODULE)


# ------------------------------------------------------------------ across modules


@dataclass(frozen=True)
class ForeignRead:
    """A global of another project module that a worker reads through that module's functions,
    and the parent fills at run time: plain data, so it crosses the module boundary."""

    module: str  # the dotted name of the module holding the global
    name: str
    how: str  # the fill, as the holding module describes it
    seen: str  # what a spawned worker sees instead
    through: str = ""  # the first function of another module on the way (``checker.check_exprs``)
    fillers: tuple[str, ...] = ()  # the module's functions that fill it (``init``): a worker calling one fills it itself

    @property
    def shown(self) -> str:
        return f"{self.module.rsplit('.', 1)[-1]}.{self.name}"


def import_time_text(facts: ModuleFacts, name: str, code: Callable[[cst.CSTNode, int], str]) -> str:
    """What a spawned worker finds in global ``name`` (or class attribute ``Class.attr``): the
    import-time value as written."""
    if "." in name:
        class_name, attr = name.split(".", 1)
        info = next((info for info in facts.classes.values() if info.name == class_name and info.outer is facts.scope), None)
        values = [b.value for b in info.scope.bindings.get(attr, ()) if b.kind == "assign" and b.value is not None] if info is not None else []
        return f"`{code(values[-1], 30)}`" if values else "its import-time value"
    initial = import_time_bindings(facts, name)
    if not initial:
        return "no value (NameError)"
    if initial[-1].kind == "assign" and initial[-1].value is not None:
        return f"`{code(initial[-1].value, 30)}`"
    return "its import-time value"


def foreign_calls(resolver: Resolver, functions: list[Callee]) -> list[str]:
    """The absolute dotted names of what ``functions`` call that is not a function of this module
    (``pkg.checker.check_exprs``): the project layer may find them in another file."""
    project = resolver.project
    if project is None:
        return []
    scopes = [function.scope for function in functions if function.scope is not None]
    names: list[str] = []
    for site in resolver.direct_calls(*scopes):
        func = site.node.func
        absolute = project_function(resolver, func, site.scope, site.order)
        if absolute and absolute not in names:
            names.append(absolute)
    return names


def project_function(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> str | None:
    """The absolute dotted name of ``expr`` when it names something imported (``units.scaled``),
    which the project layer may find in another of its files; None for this module's own."""
    if resolver.project is None or (type(expr) is not cst.Name and type(expr) is not cst.Attribute):
        return None
    qualname = resolver.qualname(expr, scope, at)
    if not qualname or "." not in qualname.lstrip(".") or callee(resolver, expr, scope, at) is not None:
        return None
    return resolver.project.absolute(qualname)


def reads_of_project_function(resolver: Resolver, qualname: str) -> list[ForeignRead]:
    """What a worker that is the project function ``qualname`` reads from the parent's run time."""
    if resolver.project is None:
        return []
    module, function = qualname.rsplit(".", 1)
    return [dataclasses.replace(read, through=f"{module.rsplit('.', 1)[-1]}.{function}") for read in resolver.project.worker_reads(qualname) or ()]


def foreign_reads(resolver: Resolver, worker: Callee) -> list[ForeignRead]:
    """Globals of other project modules the worker reads through their functions, and the parent
    fills at run time (``tmpfiles.get_tmp_filename()`` reading ``tmpfiles.__TMPDIR``, set by
    ``tmpfiles.init()`` in the parent)."""
    project = resolver.project
    if project is None:
        return []
    found: list[ForeignRead] = []
    seen: set[tuple[str, str]] = set()
    called = foreign_calls(resolver, worker_functions(resolver, worker))
    for qualname in called:
        for read in reads_of_project_function(resolver, qualname):
            if any(f"{read.module}.{filler}" in called for filler in read.fillers):
                continue  # the worker calls ``sigmonitor.init()`` itself before it reads
            if (read.module, read.name) not in seen:
                seen.add((read.module, read.name))
                found.append(read)
    return found


def module_function_reads(resolver: Resolver, binding: Binding, module: str, code: Callable[[cst.CSTNode, int], str]) -> tuple[ForeignRead, ...]:
    """What a worker calling the module function of ``binding`` reads that the parent filled at
    run time: this module's globals, and, through the project, those of the modules it calls."""
    assert isinstance(binding.node, cst.FunctionDef)
    worker = Callee(binding.node, resolver.facts.scopes.get(binding.node), binding.eval_scope, binding, False)
    functions = worker_functions(resolver, worker)
    side = {id(function.node) for function in functions}
    module_bindings = resolver.facts.scope.bindings
    reads: list[ForeignRead] = []
    for function in functions:
        for name in function_globals(resolver, function):
            if any(id(b.eval_scope.frame().node) in side for b in module_bindings.get(name, ())):
                continue  # the worker sets it itself (lazily): it does not depend on the parent
            fills = run_time_fills(resolver, name, side, code)
            if fills and all(read.name != name for read in reads):
                fillers = tuple(dict.fromkeys(fill.frame.node.name.value for fill in fills if isinstance(fill.frame.node, cst.FunctionDef)))
                reads.append(ForeignRead(module, name, fills[0].how, import_time_text(resolver.facts, name, code), fillers=fillers))
    reads.extend(foreign_reads(resolver, worker))
    return tuple(reads)
