"""Process dispatch sites: where a callable and its data leave for another process.

A dispatch site is a pool or executor method call (``pool.map``,
``executor.submit``...) or a constructor that ships something to its workers
(``Pool(initializer=, initargs=)``, ``Process(target=, args=)``). Each site
lists its payloads: the expressions that are pickled, and how often.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from cowlint.config import DispatchApi
from cowlint.engine.finding import doubt_of
from cowlint.engine.module import apis
from cowlint.engine.module.facts import FUNCTION, CallSite, ModuleFacts, Scope, dotted_name, iter_children
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.values import DEFAULT_START, Instance, PoolValue, Qualified, StartMethod, Unknown, Value, argument, bound_argument

# how often a payload is pickled
EVERY_TASK = "every task"
THIS_CALL = "this call"
PER_WORKER = "per worker"
PER_PROCESS = "per process"


@dataclass(frozen=True)
class Payload:
    """An expression a dispatch pickles.

    ``items`` payloads are iterables whose items travel once each (only what is
    repeated into every item costs extra); the others are pickled as a whole,
    ``frequency`` times.
    """

    role: str  # "callable", "items", "args", "initializer", "initargs", "target"
    expr: cst.BaseExpression
    items: bool
    frequency: str
    at_start: bool = False  # sent when the workers start (mpire's function): inherited under fork


@dataclass(frozen=True)
class DispatchSite:
    """One call that sends work or state to other processes."""

    call: cst.Call
    scope: Scope
    order: int
    api: str  # e.g. "Pool.map", "ProcessPoolExecutor.submit", "Process", "Pool"
    receiver: PoolValue
    start: StartMethod
    confidence: str
    payloads: tuple[Payload, ...]
    through: str = ""  # the pool wrapper this call goes through: ``parallel()``

    @property
    def doubt(self) -> str:
        """With medium confidence, why it may not send anything to other processes ("" when high)."""
        return doubt_of(self.confidence, self.receiver.doubt)

    def ships_at_start(self, payload: Payload) -> bool:
        """Whether ``payload`` travels when a worker or process starts (initargs, Process
        arguments, a Process subclass): pickled under spawn/forkserver, inherited under fork."""
        return self.receiver.kind == "process" or payload.role in ("initializer", "initargs") or payload.at_start


_KIND_LABEL = {"pool": "Pool", "executor": "ProcessPoolExecutor", "process": "Process"}


def _label(made: PoolValue) -> str:
    """How messages name the object's class: ``Pool``, ``ProcessPoolExecutor``, ``InterpreterPoolExecutor``."""
    return "InterpreterPoolExecutor" if made.api in apis.INTERPRETER_EXECUTORS else _KIND_LABEL[made.kind]


def _positional_from(call: cst.Call, start: int) -> list[cst.BaseExpression]:
    values = []
    index = 0
    for arg in call.args:
        if arg.keyword is not None or arg.star:
            continue
        if index >= start:
            values.append(arg.value)
        index += 1
    return values


def _method_payloads(kind: str, method: str, call: cst.Call, in_loop: bool) -> tuple[Payload, ...] | None:
    once = EVERY_TASK if in_loop else THIS_CALL
    func = argument(call, "func" if kind == "pool" else "fn", 0)
    payloads: list[Payload] = []
    if kind == "pool":
        if method not in apis.POOL_METHODS:
            return None
        if method in ("apply", "apply_async"):
            if func is not None:
                payloads.append(Payload("callable", func, False, once))
            payloads.extend(_argument_payloads(call, (("args", 1), ("kwds", 2)), once))
            return tuple(payloads)
        if func is not None:
            payloads.append(Payload("callable", func, False, EVERY_TASK))
        iterable = argument(call, "iterable", 1)
        if iterable is not None:
            payloads.append(Payload("items", iterable, True, EVERY_TASK))
        return tuple(payloads)
    if kind == "executor":
        if method not in apis.EXECUTOR_METHODS:
            return None
        if method == "submit":
            if func is not None:
                payloads.append(Payload("callable", func, False, once))
            for value in _positional_from(call, 1):
                payloads.append(Payload("args", value, False, once))
            for passed in call.args:
                if passed.keyword is not None and passed.keyword.value != "fn":
                    payloads.append(Payload("args", passed.value, False, once))
            return tuple(payloads)
        if func is not None:
            payloads.append(Payload("callable", func, False, EVERY_TASK))
        for value in _positional_from(call, 1):
            payloads.append(Payload("items", value, True, EVERY_TASK))
        return tuple(payloads)
    return None


def _library_payloads(spec: apis.LibraryPool, method: str, call: cst.Call, in_loop: bool) -> tuple[Payload, ...] | None:
    """What a pathos or mpire pool method sends (see ``apis.LibraryPool``)."""
    shape = dict(spec.methods).get(method)
    if shape is None:
        return None
    once = EVERY_TASK if in_loop else THIS_CALL
    func = argument(call, None, 0)
    for passed in call.args:
        if passed.keyword is not None and passed.keyword.value in ("func", "function", "f"):
            func = passed.value
    payloads: list[Payload] = []
    if shape == "map":
        if func is not None:
            if spec.callable_at_start:
                payloads.append(Payload("callable", func, False, PER_WORKER, at_start=True))
            else:
                payloads.append(Payload("callable", func, False, EVERY_TASK))
        iterables = _positional_from(call, 1) + [passed.value for passed in call.args if passed.keyword is not None and passed.keyword.value == "iterable_of_args"]
        payloads.extend(Payload("items", value, True, EVERY_TASK) for value in iterables)
        init = argument(call, "worker_init", None)
        if init is not None:
            payloads.append(Payload("initializer", init, False, PER_WORKER))
    elif shape == "apply":
        if func is not None:
            payloads.append(Payload("callable", func, False, once))
        payloads.extend(_argument_payloads(call, (("args", 1), ("kwargs", 2)), once))
    else:  # "call": the function and its positional arguments, one task
        if func is not None:
            payloads.append(Payload("callable", func, False, once))
        payloads.extend(Payload("args", value, False, once) for value in _positional_from(call, 1))
    return tuple(payloads)


def delayed_call(expr: cst.BaseExpression) -> cst.Call | None:
    """``delayed(f)(x, y)`` (by its shape: the names are checked by the caller): the outer call."""
    if type(expr) is cst.Call and type(expr.func) is cst.Call:
        inner = expr.func.func
        last = inner.value if type(inner) is cst.Name else inner.attr.value if type(inner) is cst.Attribute else ""
        if last == "delayed" and expr.func.args:
            return expr
    return None


def _joblib_site(call_site: CallSite, resolver: Resolver) -> DispatchSite | None:
    """``Parallel(n_jobs=4)(delayed(f)(x) for x in xs)``, or a ``Parallel`` object called so:
    the function travels with every batch of tasks, and so does what every task's arguments
    repeat (the comprehension's items are the tasks)."""
    call, scope, order = call_site.node, call_site.scope, call_site.order
    tasks = argument(call, "iterable", 0)
    if not isinstance(tasks, (cst.GeneratorExp, cst.ListComp)):
        return None
    delayed = delayed_call(tasks.elt)
    if delayed is None:
        return None
    inner = resolver.facts.scopes.get(tasks, scope)
    if (resolver.qualname(delayed.func.func, inner, order) or "") not in apis.JOBLIB_DELAYED:  # type: ignore[attr-defined]
        return None
    receiver = resolver.eval(call.func, scope, order)
    if isinstance(receiver, Instance) and receiver.made is not None and resolver.joblib_subclass(receiver.cls):
        # ``class ProgressParallel(Parallel)`` of this module, made with Parallel's own keywords
        made = receiver.made
        receiver = resolver.pool_value("pool", "joblib.Parallel", made.call, made.scope, made.at, resolver.default_start(made.scope, made.at))
    if not isinstance(receiver, PoolValue) or receiver.api not in apis.JOBLIB_PARALLEL or receiver.kind != "pool":
        return None
    function = delayed.func.args[0].value  # type: ignore[attr-defined]
    payloads = (Payload("callable", function, False, EVERY_TASK), Payload("items", tasks, True, EVERY_TASK))
    return DispatchSite(call, scope, order, "Parallel", receiver, receiver.start, receiver.confidence, payloads)


def _map_function_site(call_site: CallSite, resolver: Resolver) -> DispatchSite | None:
    """``process_map(fn, items, max_workers=4)`` (tqdm), ``p_map(fn, items)`` (p_tqdm): a pool
    made, mapped over and closed by one call; the function and the items travel with the tasks."""
    call, scope, order = call_site.node, call_site.scope, call_site.order
    known = apis.MAP_FUNCTIONS.get(resolver.qualname(call.func, scope, order) or "")
    if known is None or not call.args or call.args[0].keyword is not None or call.args[0].star:
        return None
    label, dill, pool = known
    receiver = PoolValue("executor", pool, resolver.default_start(scope, order), "high", dill=dill)
    payloads = (Payload("callable", call.args[0].value, False, EVERY_TASK), *(Payload("items", value, True, EVERY_TASK) for value in _positional_from(call, 1)))
    return DispatchSite(call, scope, order, label, receiver, receiver.start, receiver.confidence, payloads)


def _constructor_payloads(kind: str, call: cst.Call, library: apis.LibraryPool | None = None) -> tuple[Payload, ...]:
    payloads: list[Payload] = []
    if library is not None:  # its own keywords, not multiprocessing's positions
        shared = argument(call, library.shared_keyword, library.shared_position) if library.shared_keyword else None
        if shared is not None:
            payloads.append(Payload("initargs", shared, False, PER_WORKER))
        return tuple(payloads)
    if kind in ("pool", "executor"):
        init_position, args_position = (1, 2) if kind == "pool" else (2, 3)
        initializer = argument(call, "initializer", init_position)
        if initializer is not None:
            payloads.append(Payload("initializer", initializer, False, PER_WORKER))
        initargs = argument(call, "initargs", args_position)
        if initargs is not None:
            payloads.append(Payload("initargs", initargs, False, PER_WORKER))
    elif kind == "process":
        target = argument(call, "target", 1)
        if target is not None:
            payloads.append(Payload("target", target, False, PER_PROCESS))
        payloads.extend(_argument_payloads(call, (("args", 3), ("kwargs", 4)), PER_PROCESS))
    return tuple(payloads)


def _argument_payloads(call: cst.Call, parameters: tuple[tuple[str, int], ...], frequency: str) -> list[Payload]:
    """``args``/``kwds`` payloads given by keyword or position."""
    found = (argument(call, keyword, position) for keyword, position in parameters)
    return [Payload("args", value, False, frequency) for value in found if value is not None]


def _subclass_payloads(call: cst.Call) -> tuple[Payload, ...]:
    """A Process subclass is pickled whole by ``start()`` under spawn: its arguments (usually
    stored as attributes) and the attributes its ``__init__`` builds."""
    payloads = [Payload("args", arg.value, False, PER_PROCESS) for arg in call.args if not arg.star]
    payloads.append(Payload("instance", call, False, PER_PROCESS))
    return tuple(payloads)


def _run_in_executor(call_site: CallSite, resolver: Resolver) -> DispatchSite | None:
    """``loop.run_in_executor(executor, func, *args)`` with a process pool executor."""
    call = call_site.node
    executor = argument(call, None, 0)
    if executor is None:
        return None
    receiver = resolver.eval(executor, call_site.scope, call_site.order)
    if not isinstance(receiver, PoolValue) or receiver.kind != "executor":
        return None
    once = EVERY_TASK if call_site.loops else THIS_CALL
    values = _positional_from(call, 1)
    if not values:
        return None
    payloads = (Payload("callable", values[0], False, once), *(Payload("args", value, False, once) for value in values[1:]))
    return DispatchSite(call, call_site.scope, call_site.order, "loop.run_in_executor", receiver, receiver.start, receiver.confidence, payloads)


def _receiver_name(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Call):
        dotted = dotted_name(expr.func)
        return dotted.rsplit(".", 1)[-1] if dotted else None
    return None


def find_dispatch_sites(facts: ModuleFacts, resolver: Resolver, declared: tuple[DispatchApi, ...] = ()) -> list[DispatchSite]:
    """Every process dispatch in the module, in source order: the pool, executor and Process
    calls themselves, then the calls of functions that hand their parameters to one, and the
    calls of the APIs the configuration declares (``extra-dispatch-apis``)."""
    sites: list[DispatchSite] = []
    for call_site in facts.calls:
        site = _classify(call_site, resolver)
        if site is not None:
            sites.append(site)
    sites.extend(_linked_wrapper_calls(facts, resolver))
    if declared:
        sites.extend(_declared_calls(facts, resolver, declared, {id(site.call) for site in sites}))
    return sites + _wrapper_calls(sites, facts, resolver)


# a declared API's kind -> the receiver it stands for, and the API its messages name
_DECLARED_KINDS = {"map": ("pool", "Pool.map"), "call": ("executor", "ProcessPoolExecutor.submit"), "process": ("process", "Process")}


def _declared_calls(facts: ModuleFacts, resolver: Resolver, declared: tuple[DispatchApi, ...], taken: set[int]) -> list[DispatchSite]:
    """Calls of a project's own pool wrappers and process helpers, declared by qualified name in
    ``[tool.cowlint] extra-dispatch-apis`` (``from shop.parallel import run_all``, then
    ``run_all(self.score, ids)``): dispatches of what each declared argument passes, reported at
    the call. A call the module's own analysis already reads as a dispatch is left to it."""
    by_name = {api.qualname: api for api in declared}
    found = []
    for call_site in facts.calls:
        call, scope, order = call_site.node, call_site.scope, call_site.order
        if id(call) in taken or not call.args:
            continue
        qualname = resolver.imported_name(call.func, scope, order) or resolver.qualname(call.func, scope, order)
        api = by_name.get(qualname) if qualname is not None else None
        if api is None:
            continue
        once = EVERY_TASK if call_site.loops else THIS_CALL
        frequency = {"map": EVERY_TASK, "call": once, "process": PER_PROCESS}[api.kind]
        roles = (("target" if api.kind == "process" else "callable", api.function, False), ("items", api.items, True), ("args", api.args, False))
        payloads = []
        for role, where, items in roles:
            value = argument(call, where.keyword, where.position) if where is not None else None
            if value is not None:
                payloads.append(Payload(role, value, items, frequency))
        if not payloads:
            continue
        written = dotted_name(call.func) or api.qualname
        if api.start is not None:
            start = StartMethod(api.start, f"{written}() starts its processes with {api.start} ([tool.cowlint] extra-dispatch-apis)")
        else:
            start = resolver.project_default
        kind, label = _DECLARED_KINDS[api.kind]
        receiver = PoolValue(kind, api.qualname, start, "high")
        through = f"{written}()"
        found.append(DispatchSite(call, scope, order, f"{label} in {through}", receiver, start, "high", tuple(payloads), through))
    return found


@dataclass(frozen=True)
class WrappedDispatch:
    """A parameter of a function that reaches a dispatch of the function's module, as plain
    data: a call of the function from another module is a dispatch of what it passes there."""

    site: int  # the dispatch, numbered in the function's module: its payloads are reported together
    positional: tuple[str, ...]  # the function's positional parameters
    posonly: int  # how many of them are positional-only
    param: str
    role: str
    items: bool
    frequency: str
    api: str  # ``Pool.map``
    receiver: PoolValue
    start: StartMethod
    confidence: str
    through: str  # the wrappers the dispatch goes through inside the function (``parallel()``), or ""


def wrapped_dispatches(function: cst.FunctionDef, sites: list[DispatchSite], resolver: Resolver) -> tuple[WrappedDispatch, ...]:
    """What ``function``'s parameters reach among ``sites``, the dispatch sites of its module."""
    params = function.params
    positional = tuple(param.name.value for param in (*params.posonly_params, *params.params))
    found = []
    for index, site in enumerate(sites):
        if site.receiver.subclass is not None:
            continue  # a Process subclass of that module: its class stays on its side
        for item in _parameters_dispatched(site, resolver):
            if item.function is function:
                payload = item.payload
                api = site.api.split(" in ", 1)[0]
                found.append(
                    WrappedDispatch(
                        index, positional, len(params.posonly_params), item.param, payload.role, payload.items, payload.frequency,
                        api, site.receiver, site.start, site.confidence, site.through,
                    )
                )
    return tuple(found)


def _linked_wrapper_calls(facts: ModuleFacts, resolver: Resolver) -> list[DispatchSite]:
    """Calls of another module's pool wrapper (``from app.parallel import parallel``, then
    ``parallel(self.score, ids)``): dispatches of what they pass, reported at the call."""
    project = resolver.project
    if project is None:
        return []
    found = []
    for call_site in facts.calls:
        call = call_site.node
        func = call.func
        qualname = resolver.imported_name(func, call_site.scope, call_site.order) if call.args else None
        wrapped = project.wrapper_dispatches(qualname) if qualname is not None else None
        if not wrapped:
            continue
        by_site: dict[int, list[tuple[WrappedDispatch, Payload]]] = {}
        for item in wrapped:
            position = item.positional.index(item.param) if item.param in item.positional else None
            keyword = None if position is not None and position < item.posonly else item.param
            value = argument(call, keyword, position)
            if value is not None:
                by_site.setdefault(item.site, []).append((item, Payload(item.role, value, item.items, item.frequency)))
        written = dotted_name(func) or qualname or "?"
        for entries in by_site.values():
            inner = entries[0][0]
            # a pool that pins nothing in the wrapper's module runs under what this one runs under
            start = resolver.project_default if inner.start == DEFAULT_START else inner.start
            receiver = replace(inner.receiver, start=start) if inner.receiver.start == DEFAULT_START else inner.receiver
            through = f"{written}()" + (f" -> {inner.through}" if inner.through else "")
            payloads = tuple(payload for _, payload in entries)
            found.append(DispatchSite(call, call_site.scope, call_site.order, f"{inner.api} in {through}", receiver, start, inner.confidence, payloads, through))
    return found


# a wrapper of a wrapper of a wrapper is followed; deeper chains are left alone
WRAPPER_DEPTH = 3


@dataclass(frozen=True)
class _Wrapped:
    """A function whose parameter ``param`` becomes ``payload`` of the dispatch ``site`` it makes."""

    function: cst.FunctionDef
    site: DispatchSite
    payload: Payload
    param: str


def _wrapper_calls(sites: list[DispatchSite], facts: ModuleFacts, resolver: Resolver) -> list[DispatchSite]:
    """Pool wrappers: ``def parallel(fn, items): with Pool() as p: return p.map(fn, items)``.
    Each call of such a function is a dispatch of what it passes, reported at that call."""
    found: list[DispatchSite] = []
    pending = sites
    for _ in range(WRAPPER_DEPTH):
        wrapped: dict[int, list[_Wrapped]] = {}
        for site in pending:
            for item in _parameters_dispatched(site, resolver):
                wrapped.setdefault(id(item.function), []).append(item)
        if not wrapped:
            break
        calls = []
        for call_site in facts.calls:
            function = resolver.called_def(call_site)
            if function is None or id(function) not in wrapped:
                continue
            by_site: dict[int, list[Payload]] = {}
            for item in wrapped[id(function)]:
                value = bound_argument(call_site.node, function, item.param, bound_instance=_called_as_method(call_site.node, function))
                if value is not None:
                    by_site.setdefault(id(item.site.call), []).append(Payload(item.payload.role, value, item.payload.items, item.payload.frequency))
            for item in {id(item.site.call): item for item in wrapped[id(function)]}.values():
                payloads = by_site.get(id(item.site.call))
                if payloads:
                    inner = item.site
                    through = f"{function.name.value}()" + (f" -> {inner.through}" if inner.through else "")
                    api = f"{inner.api.split(' in ', 1)[0]} in {through}"
                    calls.append(DispatchSite(call_site.node, call_site.scope, call_site.order, api, inner.receiver, inner.start, inner.confidence, tuple(payloads), through))
        found.extend(calls)
        pending = calls
    return found


def _called_as_method(call: cst.Call, function: cst.FunctionDef) -> bool:
    """``self.run(...)``: the instance fills the first parameter."""
    params = [*function.params.posonly_params, *function.params.params]
    return isinstance(call.func, cst.Attribute) and bool(params) and params[0].name.value in ("self", "cls")


def _parameters_dispatched(site: DispatchSite, resolver: Resolver) -> list[_Wrapped]:
    frame = site.scope.frame()
    if frame.kind != FUNCTION or not isinstance(frame.node, cst.FunctionDef):
        return []
    found = []
    for payload in site.payloads:
        if payload.role == "instance":
            continue
        # a parameter as it is, or among the arguments a Process is given: ``args=(fn, chunk, queue)``
        parts = [element.value for element in payload.expr.elements] if type(payload.expr) in (cst.Tuple, cst.List) and not payload.items else [payload.expr]  # type: ignore[attr-defined]
        for part in parts:
            if type(part) is not cst.Name:
                continue
            bindings = resolver.lookup(part.value, site.scope, site.order)
            if bindings and all(binding.kind == "param" and binding.scope is frame for binding in bindings):
                inner = payload if part is payload.expr else Payload(payload.role, part, False, payload.frequency)
                found.append(_Wrapped(frame.node, site, inner, part.value))
    return found


def _classify(call_site: CallSite, resolver: Resolver) -> DispatchSite | None:
    call, scope, order = call_site.node, call_site.scope, call_site.order
    func = call.func
    in_loop = bool(call_site.loops)
    if isinstance(func, cst.Attribute) and func.attr.value == apis.RUN_IN_EXECUTOR:
        return _run_in_executor(call_site, resolver)
    if call.args and type(call.args[0].value) in (cst.GeneratorExp, cst.ListComp) and delayed_call(call.args[0].value.elt) is not None:  # type: ignore[attr-defined]
        return _joblib_site(call_site, resolver)
    if (func.value if type(func) is cst.Name else func.attr.value if type(func) is cst.Attribute else "") in apis.MAP_FUNCTION_NAMES:
        return _map_function_site(call_site, resolver)
    receiver_scope, receiver_order = scope, order
    if type(func) is cst.Name and (alias := _method_alias(func, scope, order, resolver)) is not None:
        func, receiver_scope, receiver_order = alias  # ``m = pool.map`` earlier: ``m(f, xs)`` is ``pool.map(f, xs)``
    if isinstance(func, cst.Attribute) and (func.attr.value in apis.DISPATCH_METHODS or func.attr.value in apis.LIBRARY_METHODS):
        method = func.attr.value
        receiver = resolver.eval(func.value, receiver_scope, receiver_order)
        if isinstance(receiver, PoolValue) and receiver.library is not None:
            payloads = _library_payloads(receiver.library, method, call, in_loop)
            if not payloads:
                return None
            api = f"{receiver.library.label.rsplit(' ', 1)[-1]}.{method}"
            return DispatchSite(call, scope, order, api, receiver, receiver.start, receiver.confidence, payloads)
        if isinstance(receiver, PoolValue):
            if receiver.kind not in ("pool", "executor") or receiver.api in apis.JOBLIB_PARALLEL:
                return None
        elif isinstance(receiver, Unknown):
            name = _receiver_name(func.value)
            if name is None or not apis.looks_like_pool_name(name):
                return None
            kind = "executor" if (method == "submit" or "executor" in name.lower()) else "pool"
            doubt = f"{name} is taken for a process pool from its name alone"
            receiver = PoolValue(kind, f"{name} (unknown origin)", resolver.project_default, "medium", doubt=doubt)
        else:
            return None
        payloads = _method_payloads(receiver.kind, method, call, in_loop)
        if payloads is None:
            return None
        api = f"{_label(receiver)}.{method}"
        return DispatchSite(call, scope, order, api, receiver, receiver.start, receiver.confidence, payloads)
    if isinstance(func, cst.Attribute) and func.attr.value not in apis.CONSTRUCTOR_ATTRIBUTES and _project_factory(func, scope, order, resolver) is None:
        return None
    constructed = _constructed(call_site, resolver)
    if constructed is None:
        return None
    made, start = constructed
    if made.api in apis.JOBLIB_PARALLEL:
        return None  # the call of the Parallel object dispatches (``_joblib_site``)
    if made.kind == "process" and made.subclass is None and never_started(call_site, resolver):
        return None  # ``proc = Process(target=f)`` that nothing starts: nothing is pickled
    if made.subclass is not None:
        payloads = _subclass_payloads(call)
        api = f"Process subclass {made.subclass.name}"
    else:
        payloads = _constructor_payloads(made.kind, call, made.library)
        api = made.library.label.rsplit(" ", 1)[-1] if made.library is not None else _label(made)
    if not payloads:
        return None
    return DispatchSite(call, scope, order, api, made, start, made.confidence, payloads)


def _method_alias(func: cst.Name, scope: Scope, order: int, resolver: Resolver) -> tuple[cst.Attribute, Scope, int] | None:
    """``pool.map`` and where to evaluate ``pool``, when the called name is only ever bound to a
    dispatch method of something: ``m = self.pool.map``."""
    bindings = resolver.lookup(func.value, scope, order)
    if len(bindings) != 1 or bindings[0].kind != "assign":
        return None
    value = bindings[0].value
    if type(value) is not cst.Attribute or not (value.attr.value in apis.DISPATCH_METHODS or value.attr.value in apis.LIBRARY_METHODS):
        return None
    return value, bindings[0].eval_scope, bindings[0].order


def _constructed(call_site: CallSite, resolver: Resolver, kinds: tuple[str, ...] = ("pool", "executor", "process")) -> tuple[PoolValue, StartMethod] | None:
    """The pool, executor or Process (or thread pool, when asked) ``call_site`` makes, with its start method."""
    call, scope, order = call_site.node, call_site.scope, call_site.order
    func = call.func
    factory: PoolValue | None = None
    if isinstance(func, cst.Name):
        bindings = resolver.lookup(func.value, scope, order)
        if not bindings:
            return None
        if all(b.kind not in ("import", "class") for b in bindings):
            # ``def start(*args, **kwargs): Process(*args, **kwargs).start()``: its calls make the Process
            made_by = [forwarded_process(b.node, resolver) if b.kind == "def" and isinstance(b.node, cst.FunctionDef) and "process" in kinds else None for b in bindings]
            if any(made is None for made in made_by):
                return None
            factory = made_by[-1]
    elif not isinstance(func, cst.Attribute):
        return None
    callee = resolver.eval(func, scope, order)
    if isinstance(callee, Qualified) and apis.constructor_kind(callee.name) is None and not apis.looks_like_pool_class(callee.name):
        # an imported function or class that makes no process (what it returns is not asked for), or a factory of the project
        factory = _project_factory(func, scope, order, resolver) if "process" in kinds else None
        if factory is None:
            return None
    made: Value | None = resolver.eval(call, scope, order)
    if factory is not None and not isinstance(made, PoolValue):
        made = factory  # it starts the Process and returns something else, or nothing
    if not isinstance(made, PoolValue) or made.kind not in kinds:
        return None
    start = made.start
    pinned = apis.pinned_by_class(made.api)
    if pinned is not None:
        start = StartMethod(pinned, made.api.rsplit(".", 1)[-1])
    return made, start


def _forwards_to_process(function: cst.FunctionDef, resolver: Resolver) -> bool:
    return forwarded_process(function, resolver) is not None


def forwarded_process(function: cst.FunctionDef, resolver: Resolver) -> PoolValue | None:
    """The ``Process`` ``function`` makes with its own ``*args``/``**kwargs``: a factory whose
    callers give the Process its ``target`` and ``args`` (None when it makes none)."""
    if id(function) in resolver.forwarding:
        return resolver.forwarding[id(function)]
    params = function.params
    star = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else None
    double = params.star_kwarg.name.value if params.star_kwarg is not None else None
    scope = resolver.facts.scopes.get(function)
    resolver.forwarding[id(function)] = None  # while it is asked: functions forwarding to each other end here
    found = None
    if (star is not None or double is not None) and scope is not None:
        for site in resolver.calls_in(scope):
            forwarded = any(arg.star and type(arg.value) is cst.Name and arg.value.value == (star if arg.star == "*" else double) for arg in site.node.args)
            if forwarded and (made := _constructed(site, resolver, ("process",))) is not None and made[0].subclass is None:
                found = replace(made[0], start=made[1])
                break
    resolver.forwarding[id(function)] = found
    return found


def _project_factory(func: cst.BaseExpression, scope: Scope, order: int, resolver: Resolver) -> PoolValue | None:
    """The Process a call of another project module's factory makes (``start_process(target=f)``
    of ``def start_process(*args, **kwargs): Process(*args, **kwargs).start()``), under the
    start method this module runs with when the factory's module pins none."""
    if resolver.project is None:
        return None
    qualname = resolver.imported_name(func, scope, order)
    made = resolver.project.process_factory(qualname) if qualname is not None else None
    if not isinstance(made, PoolValue):
        return None
    return replace(made, start=resolver.project_default) if made.start == DEFAULT_START else made


# calls that look at an object without starting it (a test's ``self.assertTrue(proc)``)
_INERT_CALLS = frozenset({"print", "repr", "str", "id", "type", "isinstance", "bool", "hash"})


def name_uses(frame: Scope) -> dict[str, list[int]]:
    """For every name the code of ``frame`` (nested functions included: a closure or a function
    using the global may start the object) reads: [started, handed on, inert uses]. ``n.start``
    starts ``n``; ``n.attr`` is a use of ``n`` but no hand-over (its ``attr`` is a use of that
    name); ``print(n)``, ``assert n`` and the like are inert; any other occurrence hands ``n`` on.
    One walk per frame, kept on the scope: a frame with many Process objects is read once."""
    if frame.name_uses is not None:
        return frame.name_uses
    uses: dict[str, list[int]] = {}

    def count(name: str, slot: int) -> None:
        entry = uses.get(name)
        if entry is None:
            entry = uses[name] = [0, 0, 0]
        entry[slot] += 1

    stack: list[cst.CSTNode] = [frame.node]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is cst.Attribute and type(node.value) is cst.Name:  # type: ignore[attr-defined]
            owner, attribute = node.value.value, node.attr.value  # type: ignore[attr-defined]
            if attribute == "start":
                count(owner, 0)
            if attribute != owner:
                count(attribute, 1)
            continue
        if kind is cst.Name:
            count(node.value, 1)  # type: ignore[attr-defined]
            continue
        if kind is cst.Call:
            callee = node.func  # type: ignore[attr-defined]
            last = callee.value if isinstance(callee, cst.Name) else callee.attr.value if isinstance(callee, cst.Attribute) else ""
            if last in _INERT_CALLS or last.startswith("assert"):
                for arg in node.args:  # type: ignore[attr-defined]
                    if isinstance(arg.value, cst.Name):
                        count(arg.value.value, 2)
        elif kind is cst.Assert and isinstance(node.test, cst.Name):  # type: ignore[attr-defined]
            count(node.test.value, 2)  # type: ignore[attr-defined]
        stack.extend(iter_children(node))
    frame.name_uses = uses
    return uses


def never_started(call_site: CallSite, resolver: Resolver) -> bool:
    """``proc = Process(target=f)`` in a frame that never calls ``proc.start()`` and never hands
    ``proc`` on (returns it, stores it, passes it to a call that may start it). A factory of the
    module or of another project module (``proc = launch(target=f)``) may have started it itself."""
    func = call_site.node.func
    if type(func) is cst.Name and resolver.called_def(call_site) is not None:
        return False
    if _project_factory(func, call_site.scope, call_site.order, resolver) is not None:
        return False  # another module's factory, which may start it
    scope = call_site.scope
    names = [binding.name for bindings in scope.bindings.values() for binding in bindings if binding.kind == "assign" and binding.value is call_site.node]
    frame = scope.frame()
    if len(names) != 1 or not isinstance(frame.node, (cst.FunctionDef, cst.Module)):
        return False
    started, handed_on, inert = name_uses(frame).get(names[0], (0, 0, 0))
    assignments = sum(1 for binding in scope.bindings.get(names[0], ()) if binding.kind in ("assign", "augassign", "unpack", "element", "enter"))
    return not started and handed_on - inert - assignments <= 0


@dataclass(frozen=True)
class ProcessStart:
    """A call that makes a process pool, executor or Process: where processes are started."""

    site: CallSite
    made: PoolValue
    start: StartMethod

    @property
    def initializer(self) -> cst.BaseExpression | None:
        """What each worker of the pool or executor runs first (``initializer``, by keyword or
        at its position for the kind), as the dispatch reads it."""
        if self.made.subclass is not None or not isinstance(self.site.node, cst.Call):
            return None
        return next((payload.expr for payload in _constructor_payloads(self.made.kind, self.site.node, self.made.library) if payload.role == "initializer"), None)


def find_process_starts(facts: ModuleFacts, resolver: Resolver) -> list[ProcessStart]:
    """Every construction of a process pool, executor, Process (subclass) or manager in the module."""
    starts = []
    for call_site in facts.calls:
        func = call_site.node.func
        if isinstance(func, cst.Attribute) and func.attr.value not in apis.CONSTRUCTOR_ATTRIBUTES and _project_factory(func, call_site.scope, call_site.order, resolver) is None:
            continue
        constructed = _constructed(call_site, resolver, ("pool", "executor", "process", "manager"))
        if constructed is not None and constructed[0].kind == "process" and constructed[0].subclass is None and never_started(call_site, resolver):
            continue
        if constructed is not None and constructed[0].api not in apis.JOBLIB_PARALLEL:  # loky's workers are no forks of this process
            starts.append(ProcessStart(call_site, *constructed))
    return starts
