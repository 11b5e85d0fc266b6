"""What each dispatch pickles: instances (``self`` above all) and large data.

A payload expression is searched for the objects it carries:

- as a whole (``args=(big, i)``, ``partial(f, big)``, ``self.score``, a lambda
  closing over ``big``): everything reachable is pickled each time;
- as an iterable of task items (``pool.map(f, items)``): each item travels once,
  which is normal, so only what is repeated into every item counts: names
  that do not vary with the comprehension or loop that builds the items
  (``[(self, i) for i in ids]``, ``zip(repeat(big), keys)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.dispatch import DispatchSite, Payload, delayed_call
from cowlint.engine.module.facts import Binding, ModuleFacts, Scope
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.sizes import filled_size
from cowlint.engine.module.snippets import snippet
from cowlint.engine.module.values import BoundMethod, Const, Container, Data, ForeignBound, ForeignInstance, Instance, Value

MAX_DEPTH = 40  # nesting depth of the payload expression; every node is visited once


@dataclass(frozen=True)
class Shipped:
    """An object a dispatch pickles: ``kind`` is ``self``, ``instance`` or ``data``."""

    site: DispatchSite
    payload: Payload
    kind: str
    value: Value
    path: tuple[str, ...]  # how it gets there, outermost first, as source snippets
    repeated: bool  # repeated into every item of an iterable payload
    bound: bool = False  # reached as the instance of a bound method (``catalog.checksum``)

    @property
    def leaf(self) -> str:
        """The source of the expression that carries the object."""
        return self.path[-1]


class _Search:
    def __init__(self, facts: ModuleFacts, resolver: Resolver, site: DispatchSite, payload: Payload) -> None:
        self.facts = facts
        self.resolver = resolver
        self.site = site
        self.payload = payload
        # each (expression, scope, position, mode) is searched once: shared
        # sub-expressions would otherwise be walked once per path to them
        self.seen: set[tuple[int, int, int, bool, tuple[int, ...]]] = set()

    def code(self, node: cst.CSTNode) -> str:
        return snippet(self.facts.module, node)

    def first_visit(self, expr: cst.CSTNode, scope: Scope, at: int, repeated: bool, varying: tuple[cst.CSTNode, ...]) -> bool:
        key = (id(expr), id(scope), at, repeated, tuple(id(v) for v in varying))
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    # whole-value search ------------------------------------------------------

    def value(
        self, expr: cst.BaseExpression, scope: Scope, at: int, path: tuple[str, ...], varying: tuple[cst.CSTNode, ...], depth: int, repeated: bool
    ) -> Iterator[Shipped]:
        """Objects pickled when ``expr`` is pickled."""
        if depth > MAX_DEPTH or not self.first_visit(expr, scope, at, repeated, varying):
            return
        here = (*path, self.code(expr))
        if isinstance(expr, cst.Name):
            opaque = []
            for binding in self.resolver.lookup(expr.value, scope, at):
                if self._varies(binding, varying):
                    continue
                if binding.kind == "assign" and binding.value is not None and self._is_structural(binding.value, binding.eval_scope, binding.order):
                    yield from self.value(binding.value, binding.eval_scope, binding.order, here, varying, depth + 1, repeated)
                    if isinstance(binding.value, (cst.List, cst.Set, cst.Dict)):  # ``rows = []`` filled by a loop
                        base = self.resolver.eval(binding.value, binding.eval_scope, binding.order)
                        filled = filled_size(self.resolver, expr.value, binding, base, scope, at, depth) if isinstance(base, Container) else None
                        if filled is not None:
                            yield from self.classify(filled, here, repeated)
                else:
                    opaque.append(binding)
            if opaque:  # one name, one object: the bindings it may have are joined, not listed
                yield from self.classify(self.resolver.join(self.resolver.eval_binding(b) for b in opaque), here, repeated)
            return
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            for element in expr.elements:
                yield from self.value(element.value, scope, at, path, varying, depth + 1, repeated)
            return
        if isinstance(expr, cst.Dict):
            for entry in expr.elements:
                if isinstance(entry, cst.DictElement):
                    yield from self.value(entry.key, scope, at, path, varying, depth + 1, repeated)
                yield from self.value(entry.value, scope, at, path, varying, depth + 1, repeated)
            return
        if isinstance(expr, cst.Call) and self.resolver.qualname(expr.func, scope, at) in apis.PARTIAL:
            for arg in expr.args:
                yield from self.value(arg.value, scope, at, here, varying, depth + 1, repeated)
            return
        task = delayed_call(expr)
        if task is not None and isinstance(task.func, cst.Call) and (self.resolver.qualname(task.func.func, scope, at) or "") in apis.JOBLIB_DELAYED:
            for arg in task.args:  # ``delayed(f)(big, i)``: a task of f's arguments (f is the site's callable)
                yield from self.value(arg.value, scope, at, here, varying, depth + 1, repeated)
            return
        if isinstance(expr, cst.Lambda):
            return  # the standard pickler refuses lambdas outright: an error, not a copy
        if isinstance(expr, (cst.Call, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)) and repeated:
            return  # built afresh for every item: each copy travels once
        if isinstance(expr, cst.Subscript):
            return  # a slice or an element: usually a different piece per task
        yield from self.classify(self.resolver.eval(expr, scope, at), here, repeated)

    def classify(self, value: Value, path: tuple[str, ...], repeated: bool) -> Iterator[Shipped]:
        bound = isinstance(value, (BoundMethod, ForeignBound))
        if isinstance(value, (BoundMethod, ForeignBound)):
            value = value.receiver
        if isinstance(value, Instance):
            yield Shipped(self.site, self.payload, "self" if value.is_self else "instance", value, path, repeated, bound)
        elif isinstance(value, ForeignInstance):
            yield Shipped(self.site, self.payload, "instance", value, path, repeated, bound)
        elif isinstance(value, Data):
            if (value.array or value.memmap) and self.site.receiver.memmaps:
                return  # joblib memory-maps numpy arrays: the workers share the pages, nothing is copied per task
            if value.tensor and self.site.receiver.shares_tensors:
                return  # torch's reducer sends the tensor's storage as a shared-memory handle
            yield Shipped(self.site, self.payload, "data", value, path, repeated)

    # per-item search ---------------------------------------------------------

    def items(self, expr: cst.BaseExpression, scope: Scope, at: int, path: tuple[str, ...], depth: int) -> Iterator[Shipped]:
        """Objects repeated into every item of the iterable ``expr``."""
        if depth > MAX_DEPTH or not self.first_visit(expr, scope, at, True, ()):
            return
        here = (*path, self.code(expr))
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            if self._one_item(expr, scope, at):
                return  # ``for _ in range(1)``: one task, nothing is repeated
            inner = self.facts.scopes.get(expr, scope)
            element = expr.key if isinstance(expr, cst.DictComp) else expr.elt
            yield from self.value(element, inner, at, here, (expr,), depth + 1, True)
            return
        if isinstance(expr, cst.Call):
            name = self.resolver.qualname(expr.func, scope, at)
            if name in apis.REPEAT:
                first = expr.args[0].value if expr.args else None
                if first is not None:
                    yield from self.value(first, scope, at, here, (), depth + 1, True)
            elif name in apis.ZIP or name in apis.PASS_THROUGH_ITERABLES:
                for arg in expr.args:
                    if arg.keyword is None:
                        yield from self.items(arg.value, scope, at, here, depth + 1)
            return
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply):
            for side in (expr.left, expr.right):
                if isinstance(side, (cst.List, cst.Tuple)):
                    for item in side.elements:
                        yield from self.value(item.value, scope, at, here, (), depth + 1, True)
            return
        if isinstance(expr, cst.Name):
            for binding in self.resolver.lookup(expr.value, scope, at):
                if binding.kind in ("assign", "enter") and binding.value is not None:
                    yield from self.items(binding.value, binding.eval_scope, binding.order, here, depth + 1)
                    for mutation in self.facts.mutations_of(expr.value, binding.eval_scope):
                        if mutation.order < binding.order or (mutation.order > at and binding.scope.frame() is scope.frame()):
                            continue  # filled before this binding, or after the dispatch
                        if len(mutation.loops) <= len(binding.loops):
                            continue  # called once: one item, not one per task
                        yield from self._mutation_items(mutation.method, mutation.args, mutation.scope, mutation.order, mutation.loops, (*here, self.code(mutation.node)), depth)

    def _mutation_items(
        self, method: str, args: tuple[cst.BaseExpression, ...], scope: Scope, at: int, loops: tuple[cst.CSTNode, ...], path: tuple[str, ...], depth: int
    ) -> Iterator[Shipped]:
        if not args:
            return
        if method in ("append", "add", "appendleft"):
            yield from self.value(args[0], scope, at, path, loops, depth + 1, True)
        elif method == "insert" and len(args) > 1:
            yield from self.value(args[1], scope, at, path, loops, depth + 1, True)
        elif method in ("extend", "extendleft"):
            yield from self.items(args[0], scope, at, path, depth + 1)

    def _one_item(self, expr: cst.BaseComp, scope: Scope, at: int) -> bool:
        """A comprehension of at most one item: one loop over ``range(1)`` or a display of one."""
        loop = expr.for_in
        if loop.inner_for_in is not None or loop.ifs:
            return False
        source = loop.iter
        if isinstance(source, (cst.List, cst.Tuple)):
            return len(source.elements) <= 1 and not any(isinstance(element, cst.StarredElement) for element in source.elements)
        if isinstance(source, cst.Call) and len(source.args) == 1 and self.resolver.qualname(source.func, scope, at) == "builtins.range":
            count = self.resolver.eval(source.args[0].value, scope, at)
            return isinstance(count, Const) and isinstance(count.value, int) and count.value <= 1
        return False

    def _is_structural(self, expr: cst.BaseExpression, scope: Scope, at: int) -> bool:
        """Expressions searched element by element rather than evaluated as a whole."""
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set, cst.Dict)):
            return True
        return isinstance(expr, cst.Call) and self.resolver.qualname(expr.func, scope, at) in apis.PARTIAL

    @staticmethod
    def _varies(binding: Binding, varying: tuple[cst.CSTNode, ...]) -> bool:
        """A name bound inside the loop or comprehension that builds the items differs per item."""
        if not varying:
            return False
        if binding.kind == "element" and binding.node in varying:
            return True
        if binding.kind == "element" and isinstance(binding.node, cst.CompFor):
            return any(_comp_contains(loop, binding.node) for loop in varying)
        return any(loop in binding.loops for loop in varying)


def _comp_contains(comprehension: cst.CSTNode, comp_for: cst.CompFor) -> bool:
    current = getattr(comprehension, "for_in", None)
    while current is not None:
        if current is comp_for:
            return True
        current = current.inner_for_in
    return False


def shipped_objects(facts: ModuleFacts, resolver: Resolver, site: DispatchSite, forked: bool) -> list[Shipped]:
    """Everything ``site`` pickles that is an instance or data, deduplicated by carrier.

    ``forked``: the workers are forked on every target, so what they get at start is inherited.
    """
    with resolver.reaching_out():  # what is shipped may be an instance of another module's class
        return _shipped(facts, resolver, site, forked)


def _shipped(facts: ModuleFacts, resolver: Resolver, site: DispatchSite, forked: bool) -> list[Shipped]:
    found: list[Shipped] = []
    seen: set[tuple[int, str, int]] = set()
    for payload in site.payloads:
        if site.ships_at_start(payload) and forked:
            continue  # inherited by fork, not pickled
        search = _Search(facts, resolver, site, payload)
        if payload.role == "instance" and site.receiver.subclass is not None:
            results: Iterator[Shipped] = iter([Shipped(site, payload, "instance", Instance(site.receiver.subclass, False), (search.code(payload.expr),), False)])
        elif payload.items:
            results = search.items(payload.expr, site.scope, site.order, (), 0)
        else:
            results = search.value(payload.expr, site.scope, site.order, (), (), 0, False)
        for shipped in results:
            identity = shipped.value.cls.node if isinstance(shipped.value, Instance) else shipped.value
            key = (id(payload.expr), shipped.kind, id(identity))
            if key in seen:
                continue
            seen.add(key)
            found.append(shipped)
    return found
