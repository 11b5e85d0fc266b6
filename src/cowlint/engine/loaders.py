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
from cowlint.engine.facts import COMPREHENSION, CallSite, ModuleFacts, Scope
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


@dataclass(frozen=True)
class LoaderSite:
    """One ``DataLoader(...)`` call of the module."""

    site: CallSite
    workers: Value  # num_workers, evaluated (Const(0) when not given)
    start: StartMethod
    dataset: cst.BaseExpression | None
    callables: tuple[tuple[str, cst.BaseExpression], ...]  # (keyword, expression): collate_fn, worker_init_fn
    iterations: tuple[Iteration, ...]  # in the loader's own frame, after it is made, in order

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
    frame = made.scope.frame()
    handle = _handle(frame, made.node)

    def uses(expr: cst.BaseExpression | None) -> bool:
        if expr is made.node or (handle is not None and isinstance(expr, cst.Name) and expr.value == handle):
            return True
        return isinstance(expr, cst.Call) and any(arg.keyword is None and uses(arg.value) for arg in expr.args)  # enumerate(loader), tqdm(loader)

    found: dict[int, Iteration] = {}
    for scope in [frame, *(scope for scope in facts.scopes.values() if scope.kind == COMPREHENSION and scope.frame() is frame)]:
        for bindings in scope.bindings.values():
            for binding in bindings:
                if binding.kind == "element" and (binding.value is made.node or binding.order > made.order) and uses(binding.value):
                    where = binding.value if binding.value is not None else binding.node  # the iterable of the for
                    found.setdefault(id(binding.node), Iteration(where, binding.order, binding.guarded))
    for site in facts.calls:
        if site.scope.frame() is frame and site.order > made.order and site.node.args and uses(site.node.args[0].value):
            if resolver.qualname(site.node.func, site.scope, site.order) in _ITERATING:
                found.setdefault(id(site.node), Iteration(site.node, site.order, site.guarded))
    return tuple(sorted(found.values(), key=lambda iteration: iteration.order))


def _handle(frame: Scope, call: cst.Call) -> str | None:
    """The name ``call`` is assigned to in ``frame`` (``loader = DataLoader(...)``)."""
    for name, bindings in frame.bindings.items():
        if any(binding.kind == "assign" and binding.value is call for binding in bindings):
            return name
    return None
