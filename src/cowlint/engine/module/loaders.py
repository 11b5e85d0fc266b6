"""PyTorch DataLoaders: worker processes made per loader, started when it is iterated.

``DataLoader(dataset, num_workers=N)`` with ``N > 0`` starts N processes each
time it is iterated (``for batch in loader``, ``enumerate(loader)``,
``iter(loader)``), with the start method of ``multiprocessing_context=`` or
the platform default. What they receive (the dataset, ``collate_fn``,
``worker_init_fn``) is pickled unless they are forked.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.facts import MODULE, Binding, CallSite, ClassInfo, ModuleFacts, Scope, walk
from cowlint.engine.module.heap import compact_buffer, python_container
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.values import ClassRef, Const, Context, Instance, Qualified, StartMethod, Value, argument

# builtins that iterate the loader they are given
_ITERATING = frozenset({"builtins.iter", "builtins.next", "builtins.list", "builtins.tuple", "builtins.enumerate", "builtins.zip", "builtins.sorted"})
# DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, pin_memory, drop_last, timeout, worker_init_fn)
_CALLABLES = (("collate_fn", 6), ("worker_init_fn", 10))


@dataclass(frozen=True)
class Iteration:
    """Where a loader is iterated (its workers start): a ``for``, a comprehension or a call."""

    node: cst.CSTNode
    order: int
    guarded: bool
    frame: Scope  # the body that runs it: the loader's own, or a function reading a global loader


@dataclass(frozen=True)
class LoaderSite:
    """One ``DataLoader(...)`` call of the module."""

    site: CallSite
    workers: Value  # num_workers, evaluated (Const(0) when not given)
    start: StartMethod
    dataset: cst.BaseExpression | None
    callables: tuple[tuple[str, cst.BaseExpression], ...]  # (keyword, expression): collate_fn, worker_init_fn
    iterations: tuple[Iteration, ...]  # where its workers start, in source order

    @property
    def has_workers(self) -> bool:
        """``num_workers`` is not a literal 0 (or absent)."""
        count = self.workers
        return not (isinstance(count, Const) and (not isinstance(count.value, int) or isinstance(count.value, bool) or count.value <= 0))

    @property
    def workers_text(self) -> str:
        return f"num_workers={self.workers.value}" if isinstance(self.workers, Const) else "num_workers > 0"


def find_loaders(facts: ModuleFacts, resolver: Resolver) -> list[LoaderSite]:
    """Every ``torch.utils.data.DataLoader(...)`` call."""
    found = []
    for site in facts.calls:
        func = site.node.func
        if not isinstance(func, (cst.Name, cst.Attribute)) or (func.value if isinstance(func, cst.Name) else func.attr.value) != "DataLoader":
            continue
        if resolver.qualname(func, site.scope, site.order) not in apis.DATA_LOADERS:
            continue
        call = site.node
        workers = argument(call, "num_workers", 5)
        count = resolver.eval(workers, site.scope, site.order) if workers is not None else Const(0)
        context = argument(call, "multiprocessing_context", None)
        method = resolver.eval(context, site.scope, site.order) if context is not None else None
        start = resolver.default_start(site.scope, site.order)
        if isinstance(method, Const) and isinstance(method.value, str):
            start = StartMethod(method.value, f"multiprocessing_context={method.value!r}")
        elif isinstance(method, Context):
            start = method.start
        callables = tuple((keyword, expr) for keyword, position in _CALLABLES if (expr := argument(call, keyword, position)) is not None)
        found.append(LoaderSite(site, count, start, argument(call, "dataset", 0), callables, _iterations(facts, resolver, site)))
    return found


def _iterations(facts: ModuleFacts, resolver: Resolver, made: CallSite) -> tuple[Iteration, ...]:
    """Where the loader made at ``made`` is iterated: in its own frame after it is made, and, for a
    module-level loader, in any function that reads the global."""
    frame = made.scope.frame()
    handle = _handle(frame, made.node)
    global_loader = frame.kind == MODULE and handle is not None

    def uses(expr: cst.BaseExpression | None, scope: Scope, at: int) -> bool:
        if expr is made.node:
            return True
        if handle is not None and isinstance(expr, cst.Name) and expr.value == handle:
            return any(binding.value is made.node for binding in resolver.lookup(handle, scope, at))
        return isinstance(expr, cst.Call) and any(arg.keyword is None and uses(arg.value, scope, at) for arg in expr.args)  # enumerate(loader)

    def after(scope: Scope, order: int) -> bool:
        """Runs once the loader exists: later in its frame, or (a global loader) in a function."""
        return order > made.order if scope.frame() is frame else global_loader

    found: dict[int, Iteration] = {}
    for scope in facts.scopes.values():
        for bindings in scope.bindings.values():
            for binding in bindings:
                if binding.kind != "element" or binding.value is None:
                    continue
                if (binding.value is made.node or after(binding.eval_scope, binding.order)) and uses(binding.value, binding.eval_scope, binding.order):
                    found.setdefault(id(binding.node), Iteration(binding.value, binding.order, binding.guarded, binding.eval_scope.frame()))
    for site in facts.calls:
        if site.node.args and after(site.scope, site.order) and uses(site.node.args[0].value, site.scope, site.order):
            if resolver.qualname(site.node.func, site.scope, site.order) in _ITERATING:
                found.setdefault(id(site.node), Iteration(site.node, site.order, site.guarded, site.scope.frame()))
    return tuple(sorted(found.values(), key=lambda iteration: iteration.order))


def _handle(frame: Scope, call: cst.Call) -> str | None:
    """The name ``call`` is assigned to in ``frame`` (``loader = DataLoader(...)``)."""
    for name, bindings in frame.bindings.items():
        if any(binding.kind == "assign" and binding.value is call for binding in bindings):
            return name
    return None


# ------------------------------------------------------------------ what a dataset keeps

# annotations of an ``__init__`` parameter that say "a container of Python objects"
_CONTAINER_ANNOTATIONS = frozenset(
    {
        "builtins.list", "builtins.dict", "builtins.set", "builtins.tuple",
        "typing.List", "typing.Dict", "typing.Set", "typing.Tuple", "typing.Sequence", "typing.Mapping",
        "collections.abc.Sequence", "collections.abc.Mapping",
    }
)  # fmt: skip
# a dataset wrapping another (``MapDataset(DatasetFromList(dicts), mapper)``) is followed this deep
WRAPPED_DEPTH = 3


@dataclass(frozen=True)
class DatasetHolding:
    """A dataset class and the Python containers its instances keep: plain data, so a class of
    another project module can be described too."""

    name: str
    held: tuple[tuple[str, str], ...]  # (attribute, what it is)
    indexed: bool = True  # it has __getitem__ (map-style): an argument of this kind is a dataset


def dataset_containers(facts: ModuleFacts, resolver: Resolver, info: ClassInfo) -> list[tuple[str, str]]:
    """The attributes of ``info`` (and its module base classes) that hold containers of Python
    objects: built by a big comprehension or a loader, filled item by item in a loop, or a
    ``list``/``dict`` parameter of ``__init__`` kept as is."""
    held = []
    for cls in resolver.class_chain(info):
        for attr, bindings in cls.attributes.items():
            if any(b.kind == "assign" and b.value is not None and _repacked(resolver, b) for b in bindings):
                continue  # packed into one buffer (``np.concatenate(...)``), or made by a call: not known
            for binding in bindings:
                if binding.kind == "assign" and binding.value is not None:
                    what = python_container(resolver, binding.value, binding.eval_scope, binding.order)
                    if what is None and isinstance(binding.value, (cst.List, cst.Dict)) and not binding.value.elements and attr in resolver.filled_attributes(cls, in_loop=True):
                        what = "filled item by item in a loop"
                    if what is None:
                        what = _container_parameter(resolver, binding)
                    if what is not None:
                        held.append((attr, what))
                        break
    return held


def _repacked(resolver: Resolver, binding: Binding) -> bool:
    """The attribute is (re)assigned from one buffer or from a call that builds no container of
    its own (``self._lst = serialize(self._lst)``): what the workers read is not known to be one."""
    value = binding.value
    if not isinstance(value, cst.Call):
        return False
    return compact_buffer(resolver, value, binding.eval_scope, binding.order) or python_container(resolver, value, binding.eval_scope, binding.order) is None


def _holds_datasets(annotation: cst.BaseExpression) -> bool:
    """``dict[str, RetryDataset]``, ``list[Dataset]``: a handful of datasets, not the samples."""
    return any(type(node) is cst.Name and node.value.endswith("Dataset") or type(node) is cst.Attribute and node.attr.value.endswith("Dataset") for node in walk(annotation))


def _container_parameter(resolver: Resolver, binding: Binding) -> str | None:
    """``self._lst = lst`` in ``__init__(self, lst: list)``: the caller's list, kept whole."""
    value = binding.value
    function = binding.eval_scope.node
    if type(value) is not cst.Name or not isinstance(function, cst.FunctionDef) or function.name.value != "__init__":
        return None
    param = next((p for p in (*function.params.params, *function.params.kwonly_params) if p.name.value == value.value), None)
    if param is None or param.annotation is None:
        return None
    annotation = param.annotation.annotation
    if _holds_datasets(annotation):
        return None
    if type(annotation) is cst.Subscript:
        annotation = annotation.value
    qualname = resolver.qualname(annotation, binding.eval_scope.parent or binding.eval_scope, 0) if isinstance(annotation, (cst.Name, cst.Attribute)) else None
    if qualname not in _CONTAINER_ANNOTATIONS:
        return None
    return f"the {qualname.rsplit('.', 1)[-1].lower()} passed to __init__ as {value.value}"


def class_holding(facts: ModuleFacts, resolver: Resolver, info: ClassInfo) -> DatasetHolding:
    chain = resolver.class_chain(info)
    indexed = any("__getitem__" in cls.methods for cls in chain)
    init = next((cls.methods["__init__"] for cls in chain if "__init__" in cls.methods), None)
    if init is not None and any(p.annotation is not None and _holds_datasets(p.annotation.annotation) for p in init.params.params):
        # a dataset of datasets (``MultiDataset(datasets: dict[str, Dataset])``): its own lists index
        # the few datasets it combines, not their samples
        return DatasetHolding(info.name, (), indexed)
    return DatasetHolding(info.name, tuple(dataset_containers(facts, resolver, info)), indexed)


def dataset_holdings(facts: ModuleFacts, resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int, depth: int = 0) -> list[DatasetHolding]:
    """The dataset classes ``expr`` is made of: its own class, of this module or another of the
    project, and the datasets passed to its constructor (a wrapper keeps the one it wraps).
    ``self.train_set`` and ``self.make_dataset()`` are followed to what the instance's class (or
    a base class, of this module or another) assigns or returns there."""
    call: cst.BaseExpression | None = expr
    for _ in range(4):  # ``dataset = ...`` names, followed to the construction
        if type(call) is not cst.Name:
            break
        bindings = resolver.lookup(call.value, scope, at)
        if len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].value is None:
            break
        call, scope, at = bindings[0].value, bindings[0].eval_scope, bindings[0].order
    member = _instance_member(resolver, call, scope, at) if call is not None else None
    if member is not None:
        instance, name = member
        return member_datasets(facts, resolver, instance.cls, name, depth).everything() if depth < WRAPPED_DEPTH else []
    if type(call) is not cst.Call:
        return []
    found: list[DatasetHolding] = []
    made = resolver.eval(call.func, scope, at)
    if isinstance(made, ClassRef):
        found.append(class_holding(facts, resolver, made.cls))
    elif resolver.project is not None and isinstance(call.func, (cst.Name, cst.Attribute)):
        qualname = resolver.qualname(call.func, scope, at)
        absolute = resolver.project.absolute(qualname) if qualname else None
        holding = resolver.project.dataset_holding(absolute) if absolute and "." in absolute else None
        if holding is None:
            return []
        found.append(holding)
    else:
        return []
    if depth + 1 < WRAPPED_DEPTH:
        for arg in call.args:
            if arg.keyword is None and arg.star == "":
                inner = dataset_holdings(facts, resolver, arg.value, scope, at, depth + 1)
                found.extend(holding for holding in inner if holding.indexed)
    return found



# ------------------------------------------------------------------ datasets an instance keeps or makes


@dataclass(frozen=True)
class MemberDatasets:
    """The datasets behind one member of a class (``self.train_set``, ``self._make_dataset()``):
    plain data, so a base class of another project module can answer for its subclasses.

    ``deferred`` holds what comes from the instance's own members (``self.train_set =
    self._create_training_set()``): a subclass may override them, so each is kept by name with
    the answer of the class that gave it, and a subclass asking replaces it with its own."""

    holdings: tuple[DatasetHolding, ...] = ()
    deferred: tuple[tuple[str, tuple[DatasetHolding, ...]], ...] = ()

    def everything(self) -> list[DatasetHolding]:
        return [*self.holdings, *(holding for _, holdings in self.deferred for holding in holdings)]


def member_datasets(facts: ModuleFacts, resolver: Resolver, info: ClassInfo, member: str, depth: int = 0, seen: frozenset[str] = frozenset()) -> MemberDatasets:
    """The datasets instances of ``info`` keep in ``member`` (an attribute its methods assign) or
    make there (a method's return values), looked up through the class and its bases the way
    Python does: the most derived definition wins, even when the base that uses it lives in
    another module."""
    if depth >= WRAPPED_DEPTH or member in seen:
        return MemberDatasets()
    seen = seen | {member}
    holdings: list[DatasetHolding] = []
    deferred: list[tuple[str, tuple[DatasetHolding, ...]]] = []
    for cls in resolver.class_chain(info):
        expressions = _member_expressions(facts, cls, member)
        if expressions is None:
            continue
        for expr, scope, at in expressions:
            own = _instance_member(resolver, expr, scope, at)
            if own is not None and own[0].is_self:
                deferred.append((own[1], tuple(member_datasets(facts, resolver, info, own[1], depth + 1, seen).everything())))
            else:
                holdings.extend(dataset_holdings(facts, resolver, expr, scope, at, depth))
        return MemberDatasets(tuple(holdings), tuple(deferred))
    if resolver.project is None:
        return MemberDatasets()
    for base in _project_bases(resolver, info):
        answer = resolver.project.member_datasets(base, member)
        if answer is None:
            continue
        for name, theirs in answer.deferred:  # the base uses one of its members: ours, if we override it
            overridden = any(_member_expressions(facts, cls, name) is not None for cls in resolver.class_chain(info))
            deferred.append((name, tuple(member_datasets(facts, resolver, info, name, depth + 1, seen).everything()) if overridden else theirs))
        return MemberDatasets(answer.holdings, tuple(deferred))
    return MemberDatasets()


def _member_expressions(facts: ModuleFacts, info: ClassInfo, member: str) -> list[tuple[cst.BaseExpression, Scope, int]] | None:
    """What ``member`` of ``info`` holds: the values its methods assign to ``self.member``, or the
    values the method ``member`` returns (None when the class does not define it)."""
    bindings = info.attributes.get(member)
    if bindings:
        return [(b.value, b.eval_scope, b.order) for b in bindings if b.kind == "assign" and b.value is not None]
    method = info.methods.get(member)
    if method is not None:
        return [(item.value, item.scope, item.order) for item in facts.returns.get(id(method), ())]
    return None


def _instance_member(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> tuple[Instance, str] | None:
    """``obj.attr`` or ``obj.method(...)`` on an instance of a class of the module: (the instance, the member)."""
    if type(expr) is cst.Call:
        expr = expr.func
    if type(expr) is not cst.Attribute:
        return None
    receiver = resolver.eval(expr.value, scope, at)
    return (receiver, expr.attr.value) if isinstance(receiver, Instance) else None


def _project_bases(resolver: Resolver, info: ClassInfo) -> list[str]:
    """The absolute names of the base classes, of ``info`` and its bases in the module, that come
    from other modules of the project (or might: an import the project resolves)."""
    found = []
    assert resolver.project is not None
    for cls in resolver.class_chain(info):
        for base in cls.node.bases:
            value = resolver.eval(base.value, cls.outer, 0)
            if isinstance(value, Qualified):
                absolute = resolver.project.absolute(value.name)
                if absolute is not None and "." in absolute:
                    found.append(absolute)
    return found
