"""What an expression is, as far as reading (never running) the module can tell.

The resolver evaluates expressions to a small set of abstract values: constants,
imported names (as qualified names), multiprocessing contexts, pools and
executors with their start method, instances of classes of the module, and data
with a size estimate. It follows names through the bindings recorded by
:mod:`cowlint.engine.module.facts`: in the same frame, the latest binding before the
use; from an enclosing scope, every binding.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.budget import spend
from cowlint.engine.module.facts import ALL_PLATFORMS, CLASS, COMPREHENSION, LAMBDA, MODULE, PLATFORM_LABELS, Binding, CallSite, ClassInfo, ModuleFacts, Scope, dotted_name, iter_children
from cowlint.engine.module.sizes import comprehension_size, estimate_call, repetition_size
from cowlint.engine.module.values import (
    BOUND_METHOD_OF,
    DEFAULT_START,
    UNKNOWN,
    BoundMethod,
    ClassRef,
    Const,
    Construction,
    Container,
    Context,
    ContextMember,
    Data,
    Foreign,
    ForeignBound,
    ForeignInstance,
    FunctionRef,
    Instance,
    InstanceSize,
    PoolValue,
    Qualified,
    StartMethod,
    Unknown,
    Value,
    argument,
    bound_argument,
    const_size,
    passed_for,
    with_attributes,
)

if TYPE_CHECKING:
    from cowlint.engine.project.linking import ProjectModules

_BUILTIN_NAMES = frozenset(dir(builtins))
MAX_DEPTH = 40
# a file shipped with the code is measured (read, never run) up to this size; bigger stays bulk data
MAX_MEASURED_BYTES = 256 * 1024


class Resolver:
    """Evaluates expressions of one module to abstract values, memoised."""

    def __init__(self, facts: ModuleFacts, large_threshold: int, inherited: StartMethod | None = None, project: ProjectModules | None = None) -> None:
        self.facts = facts
        self.large_threshold = large_threshold
        self.project = project  # answers names defined by the project's other modules
        # what the project's entry points leave in force when the module pins nothing itself
        self.project_default = inherited or DEFAULT_START
        self._memo: dict[tuple[int, int, int, int], Value] = {}
        self._active: set[tuple[int, int, int, int]] = set()
        self._cutoffs = 0
        self._sizing: list[int] = []  # classes whose instance size is being computed
        self._set_start: list[tuple[StartMethod, CallSite]] | None = None
        self._reach_memo: dict[int, set[int]] = {}
        self._frame_calls: dict[int, list[CallSite]] | None = None
        self._callers_index: dict[int, list[CallSite]] | None = None
        self._direct_calls: dict[int, list[tuple[int, CallSite]]] | None = None
        self._joblib_blocks: _JoblibBlocks | None = None
        self.forwarding: dict[int, PoolValue | None] = {}  # id(def) -> the Process it hands its *args/**kwargs to (see dispatch)
        self._instance_memo: dict[tuple[int, int, frozenset[str]], InstanceSize] = {}
        # the constructor calls whose arguments bind __init__'s parameters right now (innermost last)
        self._constructions: list[Construction | None] = []
        self._elsewhere: dict[tuple[int, bool], Value | None] = {}  # id(param) -> what the class's callers pass
        # >0 while what is shipped is evaluated: only then are other modules' classes and callers read
        # (parsing them for every binding of every module would double a run's time)
        self._reaching = 0

    # ---------------------------------------------------------------- names

    def lookup(self, name: str, scope: Scope, at: int) -> list[Binding]:
        """The bindings a use of ``name`` in ``scope`` at position ``at`` may see."""
        frame = scope.frame()
        current: Scope | None = scope
        while current is not None:
            if current.kind == CLASS and current is not scope:
                current = current.parent
                continue
            if name in current.global_names and current.kind != MODULE:
                current = current.module()
                continue
            found = current.bindings.get(name)
            if found:
                if current.frame() is frame:
                    return _reaching(found, at)
                return list(found)
            current = current.parent
        return []

    def imported_name(self, func: cst.BaseExpression, scope: Scope, at: int) -> str | None:
        """The absolute qualified name a call's ``name`` or ``module.name`` has when ``name`` (or
        ``module``) is only ever bound by an import; read from the bindings, without evaluating."""
        if type(func) is cst.Name:
            base, attribute = func, ""
        elif type(func) is cst.Attribute and type(func.value) is cst.Name:
            base, attribute = func.value, func.attr.value
        else:
            return None
        bindings = self.lookup(base.value, scope, at)
        names = {binding.qualname for binding in bindings}
        if len(names) != 1 or any(binding.kind != "import" for binding in bindings):
            return None
        qualname = next(iter(names))
        if qualname and qualname.startswith(".") and self.project is not None:
            qualname = self.project.absolute(qualname)
        if not qualname:
            return None
        return f"{qualname}.{attribute}" if attribute else qualname

    def qualname(self, expr: cst.BaseExpression, scope: Scope, at: int) -> str | None:
        """The qualified name of an imported name or attribute chain, or ``builtins.x``."""
        value = self.eval(expr, scope, at)
        return value.name if isinstance(value, Qualified) else None

    # ---------------------------------------------------------------- evaluation

    @contextmanager
    def reaching_out(self) -> Iterator[None]:
        """Within this block, instances of other modules' classes and what the project's other
        modules pass to a class's constructor are evaluated too: for what a dispatch ships."""
        self._reaching += 1
        try:
            yield
        finally:
            self._reaching -= 1

    def eval(self, expr: cst.BaseExpression, scope: Scope, at: int, depth: int = 0) -> Value:
        """The abstract value of ``expr`` evaluated in ``scope`` just before position ``at``."""
        made = self._constructions[-1] if self._constructions else None
        key = (id(expr), id(scope), at, (id(made.call) if made is not None else 0) * 2 + (self._reaching > 0))
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if key in self._active or depth > MAX_DEPTH:
            self._cutoffs += 1  # a cycle or the depth limit: this answer is partial
            return UNKNOWN
        spend()
        self._active.add(key)
        cutoffs = self._cutoffs
        try:
            result = self._eval(expr, scope, at, depth + 1)
        finally:
            self._active.discard(key)
        if self._cutoffs == cutoffs:  # only complete answers are remembered
            self._memo[key] = result
        return result

    def eval_binding(self, binding: Binding, depth: int = 0) -> Value:
        """The value a binding gives its name."""
        kind = binding.kind
        if kind == "import":
            qualname = binding.qualname
            if qualname and qualname.startswith("."):
                qualname = self.project.absolute(qualname) if self.project is not None else None
            if not qualname:
                return UNKNOWN
            if self.project is not None:
                linked = self.project.global_value(qualname)
                if linked is not None:
                    return linked
            return Qualified(apis.canonical(qualname), apis.pickles_with_dill(qualname))
        if kind == "assign" and binding.value is not None:
            return self.eval(binding.value, binding.eval_scope, binding.order, depth)
        if kind == "enter" and binding.value is not None:
            value = self.eval(binding.value, binding.eval_scope, binding.order, depth)
            return value if isinstance(value, (PoolValue, Data)) else UNKNOWN
        if kind == "param":
            return self._param_value(binding, depth)
        if kind == "def":
            return FunctionRef(binding.node, self.facts.scopes.get(binding.node))
        if kind == "class":
            assert isinstance(binding.node, cst.ClassDef)
            info = self.facts.classes.get(binding.node)
            return ClassRef(info) if info is not None else UNKNOWN
        return UNKNOWN

    def _param_value(self, binding: Binding, depth: int) -> Value:
        scope = binding.scope
        if scope.method_of is not None and scope.self_name == binding.name:
            return Instance(scope.method_of, is_self=True)
        constructed = self._constructor_argument(binding, depth)
        if constructed is None and (not self._constructions or self._constructions[-1] is None):
            constructed = self._passed_by_callers(binding, depth)
        if constructed is not None and not isinstance(constructed, Unknown):
            return constructed
        param = binding.node
        if isinstance(param, cst.Param) and param.annotation is None and binding.name in apis.CONTEXT_PARAMETER_NAMES:
            return self._passed_context(binding, param, depth)
        annotated = self.annotated(param, scope.parent or scope, binding.order) if isinstance(param, cst.Param) else None
        return annotated if annotated is not None else UNKNOWN

    def annotated(self, param: cst.Param, outer: Scope, at: int) -> Value | None:
        """What a parameter's annotation says of its value: a pool or executor, bulk data
        (``np.ndarray``), or a small value (``float``, ``str | None``, ``Optional[Path]``)."""
        if param.annotation is None:
            return None
        annotation = param.annotation.annotation
        if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr) and _is_none(annotation.right):
            annotation = annotation.left  # ``str | None``
        elif isinstance(annotation, cst.Subscript) and len(annotation.slice) == 1 and isinstance(annotation.slice[0].slice, cst.Index):
            if self.qualname(annotation.value, outer, at) == "typing.Optional":
                annotation = annotation.slice[0].slice.value
        if isinstance(annotation, cst.SimpleString):
            return None
        qualname = self.qualname(annotation, outer, at)
        if qualname is None:
            return None
        kind = apis.constructor_kind(qualname)
        if kind is not None:
            return PoolValue(kind, qualname, self.project_default, "high")
        name = param.name.value
        if qualname in apis.BULK_TYPES:
            doubt = f"the size of {name} comes from its annotation ({apis.short(qualname)}) alone"
            return Data(None, True, f"parameter {name}: {apis.short(qualname)}", "medium", array=qualname.startswith("numpy."), doubt=doubt)
        if qualname in apis.SMALL_TYPES:
            doubt = f"the size of {name} comes from its annotation ({apis.short(qualname)}) alone"
            return Data(apis.SMALL_VALUE_BYTES, False, f"parameter {name}: {apis.short(qualname)}", "medium", doubt=doubt)
        return None

    def _constructor_argument(self, binding: Binding, depth: int) -> Value | None:
        """A parameter of ``__init__`` while an instance made by a known call is evaluated: the
        argument that call passes (or the parameter's default), evaluated where the call is."""
        made = self._constructions[-1] if self._constructions else None
        function = binding.scope.node
        if made is None or binding.scope.method_of is None or not isinstance(function, cst.FunctionDef) or function.name.value != "__init__":
            return None
        param = binding.node
        if not isinstance(param, cst.Param) or param.star:
            return None
        passed = bound_argument(made.call, function, binding.name, bound_instance=True)
        expr = passed if passed is not None else param.default
        if expr is None:
            return None
        self._constructions.append(None)  # the argument belongs to the caller, not to this instance
        try:
            if passed is not None:
                return self.eval(expr, made.scope, made.at, depth)
            return self.eval(expr, binding.scope.parent or binding.scope, 0, depth)
        finally:
            self._constructions.pop()

    def _passed_by_callers(self, binding: Binding, depth: int) -> Value | None:
        """A parameter of ``__init__`` of an instance made by no call known here (``self`` in a
        method): what the calls of the class pass for it, in this module and in the project's
        other modules (``Client(Dispatcher())`` in ``app.py`` for ``Client.__init__(self,
        dispatcher)``), joined. None when no call passes anything known."""
        function, param, info = binding.scope.node, binding.node, binding.scope.method_of
        if info is None or not isinstance(function, cst.FunctionDef) or function.name.value != "__init__" or not isinstance(param, cst.Param) or param.star:
            return None
        return self._once((id(param), self._reaching > 0), lambda: self._passed_to_class(binding, function, info, depth))

    def _once(self, key: tuple[int, bool], compute: Callable[[], Value | None]) -> Value | None:
        """What callers pass for one parameter, computed once; a cycle through it (a call passing
        an instance of the same class, a recursive call passing its own parameter) answers None,
        and an analysis stopped meanwhile (the time budget) leaves nothing behind."""
        if key in self._elsewhere:
            return self._elsewhere[key]
        self._elsewhere[key] = None
        try:
            result = compute()
        except BaseException:
            del self._elsewhere[key]
            raise
        self._elsewhere[key] = result
        return result

    def _passed_to_class(self, binding: Binding, function: cst.FunctionDef, info: ClassInfo, depth: int) -> Value | None:
        values = []
        for site in self.facts.calls:
            func = site.node.func
            if (func.value if type(func) is cst.Name else func.attr.value if type(func) is cst.Attribute else None) != info.name:
                continue
            made = self.eval(func, site.scope, site.order, depth + 1)
            passed = bound_argument(site.node, function, binding.name, bound_instance=True) if isinstance(made, ClassRef) and made.cls is info else None
            if passed is not None:
                values.append(self.eval(passed, site.scope, site.order, depth + 1))
        module = self.project.view.module if self.project is not None else None
        if self._reaching and self.project is not None and module is not None and info.outer is self.facts.scope:
            dotted = module[0]
            positional = tuple(p.name.value for p in (*function.params.posonly_params, *function.params.params))[1:]
            passed_elsewhere = self.project.constructor_argument(f"{dotted}.{info.name}", positional, binding.name)
            if passed_elsewhere is not None:
                values.append(passed_elsewhere)
        joined = self.join(values) if values else UNKNOWN
        return None if isinstance(joined, Unknown) else joined

    def _passed_for(self, name: str, scope: Scope, at: int, depth: int) -> Value | None:
        """``catalog`` in ``catalog.lookup``, a parameter of the plain function around it, while
        what a dispatch ships is evaluated: what the module's calls of the function pass for it.
        Only an attribute's base: a parameter shipped as it is (``pool.map(fn, items)``) makes
        its function a pool wrapper, reported where it is called."""
        bindings = self.lookup(name, scope, at)
        if len(bindings) != 1 or bindings[0].kind != "param" or bindings[0].scope.method_of is not None:
            return None
        return self._passed_to_function(bindings[0], depth)

    def _passed_to_function(self, binding: Binding, depth: int) -> Value | None:
        """A parameter of a plain function: what the module's calls of the function pass for it,
        joined (``lookups(catalog, keys)`` in ``main()`` for ``def lookups(catalog, keys)``).
        None when no call passes anything known."""
        function, param = binding.scope.node, binding.node
        if not isinstance(function, cst.FunctionDef) or not isinstance(param, cst.Param) or param.star:
            return None
        return self._once((id(param), True), lambda: self._passed_to_function_now(binding, function, depth))

    def _passed_to_function_now(self, binding: Binding, function: cst.FunctionDef, depth: int) -> Value | None:
        values = []
        for call in self._callers().get(id(function), []):
            passed = bound_argument(call.node, function, binding.name)
            if passed is not None:
                values.append(self.eval(passed, call.scope, call.order, depth + 1))
        module = self.project.view.module if self.project is not None else None
        if self._reaching and self.project is not None and module is not None and binding.scope.parent is self.facts.scope:
            # a module-level function: its callers in the project's other modules too
            positional = tuple(p.name.value for p in (*function.params.posonly_params, *function.params.params))
            passed_elsewhere = self.project.constructor_argument(f"{module[0]}.{function.name.value}", positional, binding.name)
            if passed_elsewhere is not None:
                values.append(passed_elsewhere)
        joined = self.join(values) if values else UNKNOWN
        return None if isinstance(joined, Unknown) else joined

    def _passed_context(self, binding: Binding, param: cst.Param, depth: int) -> Value:
        """A ``ctx`` parameter that every call of its function in this module gives a multiprocessing context."""
        function = binding.scope.node
        if not isinstance(function, cst.FunctionDef) or param.star:
            return UNKNOWN
        positional = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
        index = positional.index(binding.name) if binding.name in positional else None
        if index is not None and binding.scope.method_of is not None and binding.scope.self_name is not None:
            index -= 1  # called as self.method(...): the instance is not among the arguments
        contexts = []
        for call in self._callers().get(id(function), []):
            passed = argument(call.node, binding.name, index)
            value = self.eval(passed, call.scope, call.order, depth + 1) if passed is not None else UNKNOWN
            if not isinstance(value, Context):
                return UNKNOWN  # one call passes something else (or nothing): the parameter is not known
            contexts.append(value)
        return self.join(contexts) if contexts else UNKNOWN

    def _callers(self) -> dict[int, list[CallSite]]:
        """The calls of each module function (by id of its def), as far as ``called_def`` knows them."""
        if self._callers_index is None:
            self._callers_index = {}
            for call in self.facts.calls:
                function = self.called_def(call)
                if function is not None:
                    self._callers_index.setdefault(id(function), []).append(call)
        return self._callers_index

    def join(self, values: Iterable[Value]) -> Value:
        """Combine what several bindings may give one name: the most telling value wins."""
        best: Value = UNKNOWN
        best_rank = -1.0
        for value in values:
            rank = self._rank(value)
            if rank > best_rank:
                best, best_rank = value, rank
        return best

    def _rank(self, value: Value) -> float:
        if isinstance(value, Unknown):
            return -1
        if isinstance(value, PoolValue):
            return 1e30 if value.kind != "thread" else 1e29
        if isinstance(value, (Context, ContextMember)):
            return 1e28
        if isinstance(value, (Instance, BoundMethod, ForeignInstance, ForeignBound)):
            return 1e27
        if isinstance(value, Data):
            if value.size is not None:
                return 1.0 + value.size
            return 1.0 + (self.large_threshold if value.bulk else 0)
        if isinstance(value, Qualified):
            return 0.75  # 'import numpy as np' over its 'np = None' fallback
        return 0.5

    def _eval(self, expr: cst.BaseExpression, scope: Scope, at: int, depth: int) -> Value:
        if isinstance(expr, cst.Name):
            if expr.value in ("True", "False", "None"):
                return Const({"True": True, "False": False, "None": None}[expr.value])
            bindings = self.lookup(expr.value, scope, at)
            if not bindings:
                return Qualified(f"builtins.{expr.value}") if expr.value in _BUILTIN_NAMES else UNKNOWN
            return self.join(self.eval_binding(b, depth) for b in bindings)
        if isinstance(expr, (cst.Integer, cst.Float)):
            try:  # int()/float() read Python's literals (1_000, 0x1F, 2.5e3): much faster than evaluated_value
                return Const(int(expr.value, 0) if isinstance(expr, cst.Integer) else float(expr.value.replace("_", "")))
            except ValueError:
                pass
            try:
                return Const(expr.evaluated_value)
            except (ValueError, SyntaxError):
                return UNKNOWN
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            try:
                value = expr.evaluated_value
            except Exception:  # noqa: BLE001 - libcst raises several kinds on odd literals
                return UNKNOWN
            return Const(value) if value is not None else UNKNOWN
        if isinstance(expr, cst.Attribute):
            return self._eval_attribute(expr, scope, at, depth)
        if isinstance(expr, cst.Call):
            return self._eval_call(expr, scope, at, depth)
        if isinstance(expr, cst.BinaryOperation):
            return self._eval_binary(expr, scope, at, depth)
        if isinstance(expr, cst.UnaryOperation):
            operand = self.eval(expr.expression, scope, at, depth)
            if isinstance(operand, Const) and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
                if isinstance(expr.operator, cst.Minus):
                    return Const(-operand.value)
                if isinstance(expr.operator, cst.Plus):
                    return operand
            return UNKNOWN
        if isinstance(expr, cst.Tuple):
            return self._eval_tuple(expr, scope, at, depth)
        if isinstance(expr, (cst.List, cst.Set, cst.Dict)):
            return self._eval_container(expr, scope, at, depth)
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.DictComp)):

            return comprehension_size(self, expr, scope, at, depth)
        if isinstance(expr, cst.Lambda):
            return FunctionRef(expr, self.facts.scopes.get(expr))
        if isinstance(expr, cst.IfExp):
            return self.join([self.eval(expr.body, scope, at, depth), self.eval(expr.orelse, scope, at, depth)])
        if isinstance(expr, cst.NamedExpr):
            return self.eval(expr.value, scope, at, depth)
        return UNKNOWN

    def _eval_attribute(self, expr: cst.Attribute, scope: Scope, at: int, depth: int) -> Value:
        base = self.eval(expr.value, scope, at, depth)
        if isinstance(base, Unknown) and self._reaching and type(expr.value) is cst.Name:
            base = self._passed_for(expr.value.value, scope, at, depth) or base
        attr = expr.attr.value
        if isinstance(base, Qualified):
            if self.project is not None:
                linked = self.project.global_value(f"{base.name}.{attr}")
                if linked is not None:
                    return linked
            return Qualified(f"{base.name}.{attr}", base.dill)
        if isinstance(base, Context):
            return ContextMember(base, attr)
        if isinstance(base, Instance):
            return self.instance_attribute(base, attr, depth)
        if isinstance(base, ForeignInstance):
            return ForeignBound(base, attr) if attr in base.methods else UNKNOWN
        if isinstance(base, Data) and attr in apis.ARRAY_VIEW_ATTRIBUTES:
            return base
        return UNKNOWN

    def instance_attribute(self, instance: Instance, attr: str, depth: int = 0) -> Value:
        """``instance.attr``: an instance attribute's value, or a bound method."""
        for info in self.class_chain(instance.cls):
            bindings = info.attributes.get(attr)
            if bindings:
                self._constructions.append(instance.made)
                try:
                    return self.join(self.eval_binding(b, depth) for b in bindings)
                finally:
                    self._constructions.pop()
            if attr in info.properties:
                return UNKNOWN  # computed on access: whatever it returns is what is pickled
            if attr in info.plain_functions:
                return FunctionRef(info.methods[attr], self.facts.scopes.get(info.methods[attr]))
            if attr in info.methods:
                return BoundMethod(instance, attr)
            field_node = info.fields.get(attr)
            if field_node is not None and field_node.value is not None:
                return self.eval(field_node.value, info.scope, 0, depth)
            class_level = info.scope.bindings.get(attr)
            if class_level:  # a class attribute read through the instance: the value is what ships
                return self.join(self.eval_binding(b, depth) for b in class_level)
        return UNKNOWN

    def process_base(self, info: ClassInfo) -> StartMethod | None:
        """The start method of a ``Process`` subclass (None when ``info`` is not one)."""
        for cls in self.class_chain(info):
            for base in cls.node.bases:
                value = self.eval(base.value, cls.outer, 0)
                if isinstance(value, Qualified) and value.name in apis.PROCESS_CONSTRUCTORS:
                    pinned = apis.pinned_by_class(value.name)
                    return StartMethod(pinned, value.name.rsplit(".", 1)[-1]) if pinned else self.module_start_method()
                if isinstance(value, ContextMember) and value.attr == "Process":
                    return value.context.start
        return None

    def class_chain(self, info: ClassInfo) -> list[ClassInfo]:
        """The class and its base classes defined in the same module, most derived first."""
        chain: list[ClassInfo] = []
        pending = [info]
        while pending:
            current = pending.pop(0)
            if current in chain:
                continue
            chain.append(current)
            for base in current.node.bases:
                value = self.eval(base.value, current.outer, 0)
                if isinstance(value, ClassRef):
                    pending.append(value.cls)
        return chain

    def _eval_call(self, call: cst.Call, scope: Scope, at: int, depth: int) -> Value:
        func = call.func
        callee = self.eval(func, scope, at, depth)
        if isinstance(callee, Qualified):
            name = callee.name
            kind = apis.constructor_kind(name)
            if kind is not None:
                return self.pool_value(kind, name, call, scope, at, self.default_start(scope, at), callee.dill)
            if name in apis.GET_CONTEXT:
                return Context(self.context_start(call, scope, at), callee.dill)
            if name == "contextlib.closing":  # ``with closing(Pool()) as pool``: the pool itself
                wrapped = argument(call, "thing", 0)
                return self.eval(wrapped, scope, at, depth) if wrapped is not None else UNKNOWN

            if self.project is not None:
                linked = self.project.returned_value(name)
                if linked is None and self._reaching:
                    linked = self.project.instance_value(name)
                    if isinstance(linked, ForeignInstance):
                        linked = self.bind_foreign(linked, call, scope, at, depth)
                if linked is not None:
                    return linked
            estimate = estimate_call(self, name, call, scope, at, depth)
            if isinstance(estimate, Unknown) and apis.looks_like_pool_class(name):
                return Foreign(name)
            if isinstance(estimate, Unknown) and apis.looks_like_thread_pool_class(name):
                return PoolValue("thread", name, self.project_default, "medium")  # not a variable named ``pool`` of a process pool
            return estimate
        if isinstance(callee, ContextMember):
            attr = callee.attr
            if attr in apis.CONTEXT_FACTORIES:
                return self.pool_value(apis.CONTEXT_FACTORIES[attr], f"context.{attr}", call, scope, at, callee.context.start, callee.context.dill)
            if attr == "get_context":
                return Context(self.context_start(call, scope, at), callee.context.dill)
            return UNKNOWN
        if isinstance(callee, FunctionRef) and isinstance(callee.node, cst.FunctionDef):
            return self.returned(callee.node, depth)
        if isinstance(callee, BoundMethod):
            for info in self.class_chain(callee.receiver.cls):
                defined = info.methods.get(callee.name)
                if defined is not None:
                    return self.returned(defined, depth) if callee.name not in info.properties else UNKNOWN
        if isinstance(callee, ClassRef):
            base = self.process_base(callee.cls)
            if base is not None:
                return PoolValue("process", callee.cls.name, base, "high", subclass=callee.cls)
            return Instance(callee.cls, is_self=False, made=Construction(call, scope, at))
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in apis.BULK_METHODS:
                return self._read_result(method, call, scope, at, depth)
            receiver = self.eval(func.value, scope, at, depth)
            if isinstance(receiver, Data) and method in apis.ARRAY_COPY_METHODS:
                return receiver
        return UNKNOWN

    def returned(self, function: cst.FunctionDef, depth: int = 0) -> Value:
        """What a call of a module function or method gives back: the most telling of its
        ``return`` values, evaluated where each returns (its parameters stay unknown)."""
        return self.join(self.eval(item.value, item.scope, item.order, depth) for item in self.facts.returns.get(id(function), ()))

    def _read_result(self, method: str, call: cst.Call, scope: Scope, at: int, depth: int) -> Value:
        """``f.read()`` is the whole file; ``f.read(4)`` four bytes; ``parser.read("x.ini")`` not data.
        A file shipped with the code (``Path(__file__).parent / "t.html"``) is as big as it is."""
        if method in apis.LOADER_METHODS:
            return Data(None, True, f".{method}() result")
        if not call.args:
            measured = self._measured_read(method, call, scope, at) if method in ("read", "read_text", "read_bytes") else None
            return measured if measured is not None else Data(None, True, f".{method}() result")
        if method == "read" and len(call.args) == 1 and call.args[0].keyword is None:
            count = self.eval(call.args[0].value, scope, at, depth)
            if isinstance(count, Const) and isinstance(count.value, int) and not isinstance(count.value, bool):
                return Data(max(count.value, 0), False, f".read({count.value}) result", flat=True) if count.value >= 0 else Data(None, True, ".read() result")
        return UNKNOWN

    def _measured_read(self, method: str, call: cst.Call, scope: Scope, at: int) -> Value | None:
        """``fp.read()`` of ``with open(P) as fp``, ``open(P).read()`` or ``P.read_text()`` where
        ``P`` is a file beside the module (``__file__``'s folder, a package's resources): its size,
        from a stat and a read of at most ``MAX_MEASURED_BYTES`` (never by running anything), with
        the file recorded among what the cached result depends on."""
        if self.project is None or not isinstance(call.func, cst.Attribute):
            return None
        receiver = call.func.value
        path = None
        if method == "read":
            opened = receiver
            if isinstance(receiver, cst.Name):
                bindings = self.lookup(receiver.value, scope, at)
                opened = bindings[0].value if len(bindings) == 1 and bindings[0].kind in ("enter", "assign") and bindings[0].value is not None else None  # type: ignore[assignment]
            if isinstance(opened, cst.Call):
                path = self._opened(opened, scope, at)
        else:
            path = self.static_path(receiver, scope, at, 0)
        if path is None:
            return None
        from cowlint.engine.source import TruncatedRead, digest, read_file

        try:
            if not path.is_file() or path.stat().st_size > MAX_MEASURED_BYTES:
                return None
            data = read_file(path, limit=MAX_MEASURED_BYTES)
        except OSError:
            return None
        if isinstance(data, TruncatedRead):
            return None
        self.project.depends[str(path)] = digest(data)
        return Data(len(data) + 49, False, f"{path.name}, a {len(data):,}-byte file shipped with the code", flat=True)

    def _opened(self, call: cst.Call, scope: Scope, at: int) -> Path | None:
        """The path ``open(P)`` or ``P.open()`` opens, when it is a file beside the module."""
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "open":
            return self.static_path(call.func.value, scope, at, 0)
        if self.qualname(call.func, scope, at) in ("builtins.open", "io.open") and call.args and call.args[0].keyword is None:
            return self.static_path(call.args[0].value, scope, at, 0)
        return None

    def static_path(self, expr: cst.BaseExpression, scope: Scope, at: int, depth: int) -> Path | None:
        """The file or folder ``expr`` names when it is built from the module's own location:
        ``__file__``, ``Path(__file__).parent / "x"``, ``os.path.join(os.path.dirname(__file__),
        "x")``, ``importlib.resources.files("pkg") / "x"``; None for anything else (a path given
        by the user, the working directory)."""
        if depth > 8 or self.project is None:
            return None
        here = self.project.view.path
        if isinstance(expr, cst.Name):
            if expr.value == "__file__" and not self.lookup("__file__", scope, at):
                return here
            bindings = self.lookup(expr.value, scope, at)
            if len(bindings) == 1 and bindings[0].kind == "assign" and bindings[0].value is not None:
                return self.static_path(bindings[0].value, bindings[0].eval_scope, bindings[0].order, depth + 1)
            return None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            base = self.static_path(expr.left, scope, at, depth + 1)
            part = self.eval(expr.right, scope, at)
            return base / part.value if base is not None and isinstance(part, Const) and isinstance(part.value, str) else None
        if isinstance(expr, cst.Attribute) and expr.attr.value == "parent":
            base = self.static_path(expr.value, scope, at, depth + 1)
            return base.parent if base is not None else None
        if not isinstance(expr, cst.Call):
            return None
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in ("resolve", "absolute", "with_name", "joinpath"):
            base = self.static_path(expr.func.value, scope, at, depth + 1)
            parts = [self.eval(arg.value, scope, at) for arg in expr.args]
            if base is None or not all(isinstance(part, Const) and isinstance(part.value, str) for part in parts):
                return None
            names = [str(part.value) for part in parts]  # type: ignore[attr-defined]
            if expr.func.attr.value == "with_name":
                return base.with_name(names[0]) if len(names) == 1 else None
            return base.joinpath(*names) if expr.func.attr.value == "joinpath" else base
        name = self.qualname(expr.func, scope, at)
        args = [arg.value for arg in expr.args if arg.keyword is None and not arg.star]
        if name in ("pathlib.Path", "pathlib.PurePath", "os.path.abspath", "os.path.realpath", "os.path.normpath") and len(args) == 1:
            return self.static_path(args[0], scope, at, depth + 1)
        if name == "os.path.dirname" and len(args) == 1:
            base = self.static_path(args[0], scope, at, depth + 1)
            return base.parent if base is not None else None
        if name == "os.path.join" and args:
            base = self.static_path(args[0], scope, at, depth + 1)
            parts = [self.eval(arg, scope, at) for arg in args[1:]]
            if base is None or not all(isinstance(part, Const) and isinstance(part.value, str) for part in parts):
                return None
            return base.joinpath(*(str(part.value) for part in parts))  # type: ignore[attr-defined]
        if name in ("importlib.resources.files", "importlib_resources.files") and len(args) == 1:
            package = self.eval(args[0], scope, at)
            if isinstance(package, Const) and isinstance(package.value, str):
                found = self.project.view.layout.module_file(package.value.split("."))
                return found.parent if found is not None and found.name == "__init__.py" else None
        return None

    def _eval_binary(self, expr: cst.BinaryOperation, scope: Scope, at: int, depth: int) -> Value:
        left = self.eval(expr.left, scope, at, depth)
        right = self.eval(expr.right, scope, at, depth)
        op = expr.operator
        if isinstance(left, Const) and isinstance(right, Const):
            return _fold(op, left.value, right.value)
        if isinstance(op, cst.Multiply):

            return repetition_size(self, expr, left, right)
        return UNKNOWN

    def _eval_tuple(self, expr: cst.Tuple, scope: Scope, at: int, depth: int) -> Value:
        items = [self.eval(e.value, scope, at, depth) for e in expr.elements if isinstance(e, cst.Element)]
        if len(items) == len(expr.elements) and all(isinstance(v, Const) for v in items):
            return Const(tuple(v.value for v in items))  # type: ignore[attr-defined]
        return self._sum_items(items, "tuple", 40 + 8 * len(expr.elements), container=False)

    def _eval_container(self, expr: cst.List | cst.Set | cst.Dict, scope: Scope, at: int, depth: int) -> Value:
        items: list[Value] = []
        if isinstance(expr, cst.Dict):
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    items.append(self.eval(element.key, scope, at, depth))
                    items.append(self.eval(element.value, scope, at, depth))
                else:
                    items.append(UNKNOWN)
            base, kind = 64 + 40 * len(expr.elements), "dict"
        else:
            items = [self.eval(e.value, scope, at, depth) if isinstance(e, cst.Element) else UNKNOWN for e in expr.elements]
            base, kind = 56 + 8 * len(expr.elements), "list" if isinstance(expr, cst.List) else "set"
        return self._sum_items(items, kind, base, container=True)

    def _sum_items(self, items: list[Value], kind: str, base: int, *, container: bool) -> Value:
        total = base
        bulk = False
        for item in items:
            size, item_bulk, _ = self.size_of(item)
            bulk = bulk or item_bulk
            if size is None:
                if not item_bulk:
                    return UNKNOWN if not container else Container(total, f"{kind} literal")
                continue
            total += size
        if bulk or total >= self.large_threshold:
            whats = [item.what for item in items if isinstance(item, Data)]
            return Data(None if bulk else total, bulk, f"{kind} holding {whats[0]}" if whats else f"{kind} literal")
        return Container(total, f"{kind} literal") if container else Data(total, False, f"{kind} literal")

    # ---------------------------------------------------------------- sizes

    def size_of(self, value: Value) -> tuple[int | None, bool, bool]:
        """(bytes or None, is bulk data, is provably small) for a value."""
        if isinstance(value, Const):
            return const_size(value.value), False, True
        if isinstance(value, Data):
            small = value.size is not None and not value.bulk and value.size < self.large_threshold
            return value.size, value.bulk, small
        if isinstance(value, Container):
            return value.size, False, False
        if isinstance(value, (FunctionRef, ClassRef, Qualified)):
            return 0, False, True  # pickled by reference
        if isinstance(value, Instance):
            estimate = self.instance_size(value.cls, value.made)
            return estimate.size, estimate.bulk, estimate.provably_small
        if isinstance(value, ForeignInstance):
            return value.size.size, value.size.bulk, value.size.provably_small
        if isinstance(value, (BoundMethod, ForeignBound)):
            return self.size_of(value.receiver)
        return None, False, False

    def instance_size(self, info: ClassInfo, made: Construction | None = None, skip: frozenset[str] = frozenset()) -> InstanceSize:
        """What pickling one instance of ``info`` ships, estimated from its attributes (and, for
        an instance made by a known call, from the arguments its constructor keeps), leaving
        out the attributes ``skip``."""
        key = (id(info), (id(made.call) if made is not None else 0) * 2 + (self._reaching > 0), skip)
        cached = self._instance_memo.get(key)
        if cached is not None:
            return cached
        unknown = InstanceSize(None, False, False, (), custom_pickling=False)
        if id(info) in self._sizing or len(self._sizing) > MAX_DEPTH:
            return unknown  # a class holding itself, or a very long chain of classes
        self._sizing.append(id(info))
        self._constructions.append(made)
        try:
            result = self._instance_size(info, skip)
        finally:
            self._constructions.pop()
            self._sizing.pop()
        self._instance_memo[key] = result
        return result

    def estimate(self, instance: Instance | ForeignInstance) -> InstanceSize:
        """What pickling the instance ships, for a class of this module or of another."""
        if isinstance(instance, ForeignInstance):
            return instance.size
        with self.reaching_out():
            return self.instance_size(instance.cls, instance.made)

    def builds(self, instance: Instance | ForeignInstance) -> list[str]:
        """The attributes the instance's class builds itself (see :meth:`built_attributes`)."""
        return list(instance.built) if isinstance(instance, ForeignInstance) else self.built_attributes(instance.cls)

    def built_attributes(self, info: ClassInfo) -> list[str]:
        """Attributes the class builds itself (a comprehension, a display, a call), as opposed to
        keeping what it was given (``self.path = path``) or a literal: where an instance of
        unknown size may hold a lot."""
        built = []
        for cls in self.class_chain(info):
            for name, bindings in cls.attributes.items():
                values = [binding.value for binding in bindings if binding.kind in ("assign", "enter") and binding.value is not None]
                if any(not isinstance(value, (cst.Name, cst.Attribute, cst.BaseNumber, cst.BaseString)) for value in values):
                    built.append(name)
        return built

    def _instance_size(self, info: ClassInfo, skip: frozenset[str] = frozenset()) -> InstanceSize:
        known = small = True
        custom = False
        items: list[tuple[str, int | None, bool, bool, str]] = []
        for cls in self.class_chain(info):
            if any(name in cls.methods for name in ("__getstate__", "__reduce__", "__reduce_ex__")):
                custom = True
            if cls.dynamic_attributes:
                small = known = False
            for base in cls.node.bases:
                value = self.eval(base.value, cls.outer, 0)
                if isinstance(value, ClassRef) or (isinstance(value, Qualified) and (value.name == "builtins.object" or value.name in apis.PROCESS_CONSTRUCTORS)):
                    continue  # module classes are walked themselves; object and Process hold little
                small = False  # a base class from elsewhere may hold anything
                known = False
            attributes: dict[str, Value] = {name: self.join(self.eval_binding(b) for b in bindings) for name, bindings in cls.attributes.items() if name not in skip}
            if cls.is_dataclass:
                for name, node in cls.fields.items():
                    if name not in attributes and name not in skip:
                        attributes[name] = self._field_value(cls, name, node)
            filled = self.filled_attributes(cls)
            for name, value in attributes.items():
                size, item_bulk, item_small = self.size_of(value)
                if name in filled and isinstance(value, Container):
                    size, item_small = None, False  # ``self.paths = {}`` that a method fills: as big as it gets
                items.append((name, size, item_bulk, item_small, value.what if isinstance(value, Data) else _held(value) if item_bulk else ""))
        return with_attributes(InstanceSize(0 if known else None, False, small, (), custom_pickling=custom), items)

    def constructor_template(self, info: ClassInfo) -> tuple[dict[str, str], InstanceSize, cst.FunctionDef] | None:
        """For a module that makes an instance of ``info`` with a call it knows: the attributes
        the instance keeps exactly as ``__init__`` was given them (attribute -> parameter; every
        assignment of the attribute is ``self.attr = param`` in that ``__init__``), the size of
        everything else it holds, and the ``__init__`` that runs. None when it keeps nothing so."""
        chain = self.class_chain(info)
        init = next((cls.methods["__init__"] for cls in chain if "__init__" in cls.methods), None)
        scope = self.facts.scopes.get(init) if init is not None else None
        if init is None or scope is None:
            return None
        named = {param.name.value for param in (*init.params.posonly_params, *init.params.params, *init.params.kwonly_params)}
        kept: dict[str, str] = {}
        for cls in chain:
            filled = self.filled_attributes(cls)
            for name, bindings in cls.attributes.items():
                params = set()
                for binding in bindings:
                    value = binding.value
                    found = self.lookup(value.value, binding.eval_scope, binding.order) if binding.kind == "assign" and isinstance(value, cst.Name) else []
                    if not found or any(item.kind != "param" or item.scope is not scope or item.name not in named for item in found):
                        break
                    params.add(found[0].name)
                else:
                    if len(params) == 1 and name not in filled and name not in kept:
                        kept[name] = params.pop()
        if not kept:
            return None
        return kept, self.instance_size(info, skip=frozenset(kept)), init

    def bind_foreign(self, instance: ForeignInstance, call: cst.Call, scope: Scope, at: int, depth: int) -> ForeignInstance:
        """The instance ``call`` makes of another module's class, its size with what the call
        passes for the parameters the instance keeps (``Index(np.load(path))`` keeps an array)."""
        if not instance.kept or instance.fixed is None:
            return instance
        hidden = any(arg.star for arg in call.args)  # ``*args``/``**options`` may pass anything
        items = []
        for kept in instance.kept:
            expr = passed_for(call, instance.positional, instance.posonly, kept.param)
            if expr is not None:
                value = self.eval(expr, scope, at, depth + 1)
            else:
                value = kept.default if kept.default is not None and not hidden else UNKNOWN
            if isinstance(value, Unknown) and kept.annotated is not None:
                value = kept.annotated
            size, bulk, small = self.size_of(value)
            items.append((kept.attribute, size, bulk, small, value.what if isinstance(value, Data) else ""))
        return dataclasses.replace(instance, size=with_attributes(instance.fixed, items), kept=(), fixed=None)

    # ---------------------------------------------------------------- multiprocessing

    def filled_attributes(self, info: ClassInfo, *, in_loop: bool = False) -> set[str]:
        """The attributes a method of the class fills after building them (``self.paths[key] =
        value``, ``self.rows.append(row)``); ``in_loop``: only those filled inside a loop."""
        filled = set()
        for mutation in self.facts.mutations:
            target = mutation.target
            if (mutation.loops or not in_loop) and isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                method = mutation.scope.enclosing_method()
                if method is not None and method.method_of is info and target.value.value == method.self_name:
                    filled.add(target.attr.value)
        return filled

    def _field_value(self, cls: ClassInfo, name: str, node: cst.AnnAssign) -> Value:
        """A dataclass field: a default that is data, else what its annotation says
        (an array or frame annotation means bulk data, whatever placeholder the default is)."""
        default = self._field_default(cls, node.value) if node.value is not None else UNKNOWN
        if isinstance(default, Data):
            return default
        qualname = self.qualname(node.annotation.annotation, cls.outer, 0)
        if qualname in apis.BULK_TYPES:
            doubt = f"the size of field {name} comes from its annotation ({apis.short(qualname)}) alone"
            return Data(None, True, f"field {name}: {apis.short(qualname)}", "medium", array=qualname is not None and qualname.startswith("numpy."), doubt=doubt)
        return default if node.value is not None else UNKNOWN

    def _field_default(self, cls: ClassInfo, value: cst.BaseExpression) -> Value:
        """``x: T = v``, ``field(default=v)`` or ``field(default_factory=lambda: v)``."""
        if isinstance(value, cst.Call) and self.qualname(value.func, cls.outer, 0) in apis.DATACLASS_FIELD:
            default = argument(value, "default", None)
            if default is not None:
                return self.eval(default, cls.scope, 0)
            factory = argument(value, "default_factory", None)
            if isinstance(factory, cst.Lambda):
                return self.eval(factory.body, self.facts.scopes.get(factory, cls.scope), 0)
            made = self.eval(factory, cls.scope, 0) if factory is not None else UNKNOWN
            return Instance(made.cls, is_self=False) if isinstance(made, ClassRef) else UNKNOWN
        return self.eval(value, cls.scope, 0)

    def pool_value(self, kind: str, api: str, call: cst.Call, scope: Scope, at: int, start: StartMethod, dill: bool = False) -> PoolValue:
        """A pool/executor/process object made by ``call``; ``context=``/``mp_context=`` pin its start."""
        if api in apis.LIBRARY_POOLS:
            return self._library_pool(apis.LIBRARY_POOLS[api], api, call, scope, at, start)
        if api in apis.JOBLIB_PARALLEL:
            return self._joblib_pool(api, call, scope, at, start)
        keyword = "mp_context" if kind == "executor" else "context" if kind == "pool" else None
        workers = None
        if keyword is not None:
            position = 1 if kind == "executor" else 4
            arg = argument(call, keyword, position)
            if api in apis.INTERPRETER_EXECUTORS:
                start = StartMethod("spawn", apis.INTERPRETER_NOTE)  # fresh interpreters: nothing inherited
            elif arg is not None:
                context = self.eval(arg, scope, at)
                if isinstance(context, Context):
                    start = context.start
            elif kind == "executor" and api in apis.EXECUTOR_CONSTRUCTORS and (recycled := argument(call, "max_tasks_per_child", None)) is not None:
                limit = self.eval(recycled, scope, at)
                if not (isinstance(limit, Const) and limit.value is None):
                    # without an mp_context it asks for get_context("spawn") itself, whatever the default (3.11+)
                    start = StartMethod("spawn", "ProcessPoolExecutor(max_tasks_per_child=...), which starts its workers with spawn")
            count = argument(call, "max_workers" if kind == "executor" else "processes", 0)
            value = self.eval(count, scope, at) if count is not None else UNKNOWN
            workers = _positive_int(value.value) if isinstance(value, Const) else None
        return PoolValue(kind, api, start, "high", workers=workers, dill=dill)

    def literal_argument(self, call: cst.Call, keyword: str | None, position: int | None, scope: Scope, at: int) -> object:
        """The literal value a constructor's argument is given; ``_MISSING`` when it is not
        passed, ``_UNKNOWN_ARGUMENT`` when it is not a literal known here."""
        expr = argument(call, keyword, position) if keyword is not None or position is not None else None
        if expr is None:
            return _MISSING
        value = self.eval(expr, scope, at)
        return value.value if isinstance(value, Const) else _UNKNOWN_ARGUMENT

    def _library_pool(self, spec: apis.LibraryPool, api: str, call: cst.Call, scope: Scope, at: int, start: StartMethod) -> PoolValue:
        """A pathos or mpire pool: its start method (its own default, or the one its constructor
        names), whether it pickles with dill, and how many workers it has."""
        chosen = self.literal_argument(call, spec.start_keyword, None, scope, at)
        if chosen in spec.thread_starts:
            return PoolValue("thread", api, start, "high")
        if isinstance(chosen, str):
            start = StartMethod(chosen, f'{spec.start_keyword}="{chosen}"')
        elif spec.start == "fork-if-available":
            start = StartMethod("fork", spec.start_note, conditional=True)  # spawn on Windows
        elif spec.start is not None:
            start = StartMethod(spec.start, spec.start_note)
        dill = spec.pickler != "pickle" or self.literal_argument(call, spec.dill_keyword, None, scope, at) is True
        count = self.literal_argument(call, spec.workers_keyword, 0, scope, at)
        workers = _positive_int(count)
        return PoolValue("pool", api, start, "high", workers=workers, dill=dill, library=spec)

    def _joblib_pool(self, api: str, call: cst.Call, scope: Scope, at: int, start: StartMethod) -> PoolValue:
        """``Parallel(n_jobs=4)``: loky processes (fresh interpreters, cloudpickle, numpy arrays
        memory-mapped), unless it runs in threads or in this process: a thread backend or
        preference, a ``with parallel_config(backend="threading"):`` around it, ``n_jobs`` left
        out or 1 outside a context that sets it."""
        backend = self.literal_argument(call, "backend", 1, scope, at)
        prefer = self.literal_argument(call, "prefer", None, scope, at)
        require = self.literal_argument(call, "require", None, scope, at)
        jobs = self.literal_argument(call, "n_jobs", 0, scope, at)
        around, elsewhere = self._joblib_contexts(call)
        threads = backend in apis.JOBLIB_THREAD_BACKENDS or prefer == "threads" or require == "sharedmem"
        # a backend or preference given by a variable (a parametrised test, a user's option) may be threads
        threads = threads or _UNKNOWN_ARGUMENT in (backend, prefer, require)
        if threads or (backend is _MISSING and "threads" in around) or (jobs in (_MISSING, None, 1) and "processes" not in around):
            return PoolValue("thread", api, start, "high")
        # ``n_jobs=self.n_jobs`` is often 1; a context elsewhere in the module may be around a caller
        confidence = "medium" if jobs is _UNKNOWN_ARGUMENT or (elsewhere and backend is _MISSING) else "high"
        doubt = (
            ""
            if confidence == "high"
            else "n_jobs is not a literal here, and may be 1 (one process, no pickling)"
            if jobs is _UNKNOWN_ARGUMENT
            else "a parallel_config elsewhere in the module may choose threads for it"
        )
        memmaps = self.literal_argument(call, "max_nbytes", None, scope, at) is not None
        workers = _positive_int(jobs)
        if backend == "multiprocessing":
            return PoolValue("pool", api, start, confidence, workers=workers, memmaps=memmaps, doubt=doubt)
        return PoolValue("pool", api, StartMethod("spawn", apis.JOBLIB_LOKY_NOTE), confidence, workers=workers, dill=True, memmaps=memmaps, doubt=doubt)

    def joblib_subclass(self, info: ClassInfo) -> bool:
        """Whether a class of the module derives from joblib's ``Parallel`` (``ProgressParallel``)."""
        for cls in self.class_chain(info):
            for base in cls.node.bases:
                value = self.eval(base.value, cls.outer, 0)
                if isinstance(value, Qualified) and value.name in apis.JOBLIB_PARALLEL:
                    return True
        return False

    def _joblib_contexts(self, call: cst.Call) -> tuple[set[str], bool]:
        """What the ``with parallel_config(...)``/``parallel_backend(...)`` blocks around ``call``
        may make it run on (``threads``, ``processes``; a backend or ``n_jobs`` not known here
        counts as both), and whether the module has such a block elsewhere."""
        if self._joblib_blocks is None:
            self._joblib_blocks = _JoblibBlocks(self)
        blocks = self._joblib_blocks
        return blocks.around.get(id(call), set()), blocks.found

    def context_start(self, call: cst.Call, scope: Scope, at: int) -> StartMethod:
        """The start method of ``get_context(...)``: its literal argument, or the module default."""
        arg = argument(call, "method", 0)
        if arg is None:
            return self.default_start(scope, at)
        value = self.eval(arg, scope, at)
        if isinstance(value, Const) and isinstance(value.value, str):
            return StartMethod(value.value, f'get_context("{value.value}")')
        if isinstance(value, Const) and value.value is None:
            return self.default_start(scope, at)
        default = self._constructor_default(arg, scope)
        if default is not None:
            attribute, method = default
            return StartMethod(method, f'get_context(self.{attribute}), "{method}" unless the caller of __init__ passes another')
        return StartMethod(None, "get_context() with a start method not known statically")

    def _constructor_default(self, expr: cst.BaseExpression, scope: Scope) -> tuple[str, str] | None:
        """``self.start_method`` set only from an ``__init__`` parameter whose default is a string
        literal: the attribute's name and that default (``start_method: str = "fork"``)."""
        frame = scope.frame()
        cls = frame.method_of
        if cls is None or type(expr) is not cst.Attribute or type(expr.value) is not cst.Name or expr.value.value != frame.self_name:
            return None
        bindings = cls.attributes.get(expr.attr.value) or []
        defaults = set()
        for binding in bindings:
            function = binding.eval_scope.node
            if binding.kind != "assign" or type(binding.value) is not cst.Name or not isinstance(function, cst.FunctionDef) or function.name.value != "__init__":
                return None
            param = next((p for p in (*function.params.params, *function.params.kwonly_params) if p.name.value == binding.value.value), None)
            if param is None or type(param.default) is not cst.SimpleString:
                return None
            defaults.add(param.default.evaluated_value)
        if len(defaults) != 1:
            return None
        method = defaults.pop()
        return (expr.attr.value, method) if isinstance(method, str) else None

    def set_start_calls(self) -> list[tuple[StartMethod, CallSite]]:
        """Every ``set_start_method("...")`` of the module with a literal method, in source order."""
        if self._set_start is None:
            self._set_start = []
            for site in self.facts.calls:
                func = site.node.func
                dotted = dotted_name(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
                if not dotted or not dotted.endswith("set_start_method"):
                    continue
                if self.qualname(func, site.scope, site.order) not in apis.SET_START_METHOD:
                    continue
                arg = argument(site.node, "method", 0)
                value = self.eval(arg, site.scope, site.order) if arg is not None else UNKNOWN
                if isinstance(value, Const) and isinstance(value.value, str):
                    if not site.conditional:
                        self._set_start.append((StartMethod(value.value, f'set_start_method("{value.value}")'), site))
                    elif site.platforms is not None:  # ``if sys.platform == "darwin":``: there, and only there
                        if site.platforms == ALL_PLATFORMS:
                            self._set_start.append((StartMethod(value.value, f'set_start_method("{value.value}")'), site))
                        elif site.platforms:
                            shown = " and ".join(PLATFORM_LABELS[name] for name in sorted(site.platforms))
                            how = f'set_start_method("{value.value}") on {shown}'
                            self._set_start.append((StartMethod(value.value, how, conditional=True, platforms=site.platforms), site))
                    elif site.since and value.value == "fork":
                        # ``if sys.version_info >= (3, 14): set_start_method("fork")`` keeps fork where
                        # the default left it: the code relies on fork and says so
                        self._set_start.append((StartMethod("fork", f'set_start_method("fork") on Python >= {site.since}'), site))
                    elif value.value == "fork":  # fork where the platform has it: Windows still spawns
                        self._set_start.append((StartMethod("fork", 'set_start_method("fork") under a condition', conditional=True), site))
        return self._set_start

    def default_start(self, scope: Scope, at: int) -> StartMethod:
        """The default start method for code of ``scope`` at ``at``: the ``set_start_method`` that
        runs before it in the module's flow, else the platform default.

        One earlier in the same function or module body governs; one at module level
        (main guard included) governs code inside functions, which run after the module
        body; one in a function governs what that function calls after it, directly or
        through other functions of the module.
        """
        frame = scope.frame()
        same_frame: StartMethod | None = None
        elsewhere: StartMethod | None = None
        for method, site in self.set_start_calls():
            setter = site.scope.frame()
            if setter is frame:
                if site.order < at:
                    same_frame = method
            elif setter.kind == MODULE and frame.kind != MODULE:
                elsewhere = method
            elif self._runs_after(frame, setter, site.order, at):
                elsewhere = method
        return same_frame or elsewhere or self.project_default

    def _runs_after(self, frame: Scope, setter: Scope, after: int, at: int) -> bool:
        """Whether code of ``frame`` runs after position ``after`` of ``setter``: ``setter`` calls
        it later (through plain calls of module functions), or ``frame`` calls ``setter`` before ``at``."""
        if frame.kind != MODULE and any(site.order > after and id(frame.node) in self.reached(site) for site in self.calls_in(setter)):
            return True
        return any(site.order < at and id(setter.node) in self.reached(site) for site in self.calls_in(frame))

    def reached(self, site: CallSite) -> set[int]:
        """The module functions (ids of their def nodes) a call runs: a plain call ``f(...)`` of a
        module function or ``self.method(...)``, and transitively the calls of those."""
        cached = self._reach_memo.get(id(site.node))
        if cached is not None:
            return cached
        reached: set[int] = set()
        pending = [site]
        while pending:
            function = self.called_def(pending.pop())
            if function is None or id(function) in reached:
                continue
            reached.add(id(function))
            inner = self.facts.scopes.get(function)
            if inner is not None:
                pending.extend(self.calls_in(inner))
        self._reach_memo[id(site.node)] = reached
        return reached

    def called_def(self, site: CallSite) -> cst.FunctionDef | None:
        func = site.node.func
        if type(func) is cst.Name:
            bindings = self.lookup(func.value, site.scope, site.order)
            defs = [b.node for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)]
            return defs[-1] if defs else None
        if type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value == "self":
            value = self.eval(func, site.scope, site.order)
            if isinstance(value, BoundMethod):
                for info in self.class_chain(value.receiver.cls):
                    if value.name in info.methods:
                        return info.methods[value.name]
        return None

    def calls_in(self, frame: Scope) -> list[CallSite]:
        """The calls a body (module or function, comprehensions included) makes, in order."""
        if self._frame_calls is None:
            self._frame_calls = {}
            for call in self.facts.calls:
                self._frame_calls.setdefault(id(call.scope.frame()), []).append(call)
        return self._frame_calls.get(id(frame), [])

    def direct_calls(self, *bodies: Scope) -> list[CallSite]:
        """The calls that run when one of ``bodies`` runs: their own, their comprehensions' and
        their lambdas' (a lambda nested in the body through lambdas and comprehensions), in order."""
        if self._direct_calls is None:
            self._direct_calls = {}
            for position, call in enumerate(self.facts.calls):
                frame = call.scope.frame()
                self._direct_calls.setdefault(id(frame), []).append((position, call))
                current: Scope | None = call.scope
                while current is not None and current.kind in (LAMBDA, COMPREHENSION):
                    current = current.parent
                    if current is not None and current is not frame:
                        self._direct_calls.setdefault(id(current), []).append((position, call))
        if len(bodies) == 1:
            return [call for _, call in self._direct_calls.get(id(bodies[0]), ())]
        found = {position: call for body in bodies for position, call in self._direct_calls.get(id(body), ())}
        return [found[position] for position in sorted(found)]

    def module_start_method(self) -> StartMethod:
        """The default start method for code inside functions (a Process subclass's start)."""
        return self.default_start(self.facts.scope, 0) if not self.set_start_calls() else self.set_start_calls()[-1][0]


def _reaching(bindings: list[Binding], at: int) -> list[Binding]:
    """The bindings of one frame that may reach position ``at``: the latest one before it
    and, while that one is conditional (if/try/loop), the ones before it too."""
    before = [b for b in bindings if b.order < at]
    if not before:
        return list(bindings)  # used before bound here: a loop carries it, or a later call
    reaching = []
    for binding in reversed(before):
        reaching.append(binding)
        if not binding.conditional:
            break
    return reaching


_FOLD: dict[type, Callable[[object, object], object]] = {
    cst.Add: lambda a, b: a + b,  # type: ignore[operator]
    cst.Subtract: lambda a, b: a - b,  # type: ignore[operator]
    cst.Multiply: lambda a, b: a * b,  # type: ignore[operator]
    cst.FloorDivide: lambda a, b: a // b,  # type: ignore[operator]
    cst.Divide: lambda a, b: a / b,  # type: ignore[operator]
    cst.Modulo: lambda a, b: a % b,  # type: ignore[operator]
}


# Folded integers past 2**64 are not sizes of anything; computing them can take minutes.
_MAX_FOLD_BITS = 64


def _held(value: Value) -> str:
    """What an attribute holding no plain data keeps, when it keeps bulk data: a bound method
    (``self.fn = index.score``) pickles its whole instance."""
    if isinstance(value, BoundMethod):
        return f"{BOUND_METHOD_OF}{value.receiver.cls.name}"
    if isinstance(value, ForeignBound):
        return f"{BOUND_METHOD_OF}{value.receiver.name}"
    return ""


class _JoblibBlocks:
    """The calls inside each ``with parallel_config(...)`` block of the module, with what the
    block may make a ``Parallel`` there run on. One walk of the tree, and only when the module
    imports joblib or scikit-learn at all (most modules do not)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.around: dict[int, set[str]] = {}
        self.found = False
        if _imports_joblib(resolver.facts):
            self._walk(resolver.facts.module)

    def _walk(self, module: cst.Module) -> None:
        stack: list[tuple[cst.CSTNode, frozenset[str]]] = [(module, frozenset())]
        while stack:
            node, kinds = stack.pop()
            kind = type(node)
            if kind is cst.With:
                opened = self._kinds(node)  # type: ignore[arg-type]
                self.found = self.found or bool(opened)
                kinds = kinds | opened
            elif kind is cst.Call and kinds:
                self.around[id(node)] = set(kinds)
            stack.extend((child, kinds) for child in iter_children(node))

    def _kinds(self, node: cst.With) -> frozenset[str]:
        kinds: set[str] = set()
        for item in node.items:
            expr = item.item
            if not isinstance(expr, cst.Call):
                continue
            scope = self.resolver.facts.scope
            if (self.resolver.qualname(expr.func, scope, 1 << 30) or "") not in apis.JOBLIB_BACKEND_CONTEXTS:
                continue
            backend = self.resolver.literal_argument(expr, "backend", 0, scope, 1 << 30)
            if backend in apis.JOBLIB_THREAD_BACKENDS:
                kinds.add("threads")
            elif isinstance(backend, str) or backend is _MISSING:
                kinds.add("processes")  # loky, or only n_jobs set
            else:
                kinds.update(("threads", "processes"))
        return frozenset(kinds)


def _imports_joblib(facts: ModuleFacts) -> bool:
    """Whether the module imports joblib or scikit-learn anywhere (their backend contexts may be
    called under any name: ``from joblib import parallel_backend as backend``)."""
    return any(
        binding.kind == "import" and (binding.qualname or "").split(".", 1)[0] in _BACKEND_PACKAGES
        for scope in facts.scopes.values()
        for bindings in scope.bindings.values()
        for binding in bindings
    )


_BACKEND_PACKAGES = frozenset(name.split(".", 1)[0] for name in apis.JOBLIB_BACKEND_CONTEXTS)


_MISSING = object()  # an argument not passed
_UNKNOWN_ARGUMENT = object()  # an argument whose value is not a literal known here


def _positive_int(value: object) -> int | None:
    """A literal worker count: a positive int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _too_big(left: float, right: float, op: cst.BaseBinaryOp) -> bool:
    bits = [abs(int(v)).bit_length() if isinstance(v, int) else 0 for v in (left, right)]
    if any(b > 4 * _MAX_FOLD_BITS for b in bits):
        return True
    if isinstance(op, cst.Multiply):
        return sum(bits) > 2 * _MAX_FOLD_BITS
    if isinstance(op, cst.Power):
        return abs(left) > 1 and (not isinstance(right, int) or bits[0] * right > 2 * _MAX_FOLD_BITS)
    if isinstance(op, cst.LeftShift):
        return not isinstance(right, int) or not 0 <= right <= 2 * _MAX_FOLD_BITS
    return False


def _fold(op: cst.BaseBinaryOp, left: object, right: object) -> Value:
    numbers = (int, float)
    if not (isinstance(left, numbers) and isinstance(right, numbers)) or isinstance(left, bool) or isinstance(right, bool):
        if isinstance(op, cst.Multiply) and isinstance(left, (str, bytes)) and isinstance(right, int):
            return Const(left * min(right, 0)) if right <= 0 else Data(const_size(left) + len(left) * (right - 1), False, "repeated string")
        if isinstance(op, cst.Multiply) and isinstance(right, (str, bytes)) and isinstance(left, int):
            return _fold(op, right, left)
        return UNKNOWN
    if _too_big(left, right, op):
        return UNKNOWN
    try:
        if isinstance(op, cst.Power):
            result: object = left**right
        elif isinstance(op, cst.LeftShift) and isinstance(left, int) and isinstance(right, int):
            result = left << right
        else:
            fold = _FOLD.get(type(op))
            if fold is None:
                return UNKNOWN
            result = fold(left, right)
    except (ArithmeticError, ValueError, TypeError):
        return UNKNOWN
    if isinstance(result, int) and result.bit_length() > _MAX_FOLD_BITS:
        return UNKNOWN
    return Const(result)



