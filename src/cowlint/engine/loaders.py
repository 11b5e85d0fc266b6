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

from cowlint.engine import apis
from cowlint.engine.facts import MODULE, CallSite, ModuleFacts, Scope
from cowlint.engine.values import Const, Context, Resolver, StartMethod, Value, argument

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
