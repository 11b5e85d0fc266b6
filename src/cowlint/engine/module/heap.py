"""Where a module builds a large heap of objects the cyclic garbage collector tracks, and where
it calls ``gc.disable/collect/freeze/enable``.

A forked child shares the parent's pages until it writes them, and the first
collection in the child writes the header of every tracked object it visits:
lists, dicts, sets, tuples of containers, instances. Strings, ints and floats
are not tracked (only their refcounts are written, when they are read). A
heap here is a statement that builds at least ``HEAP_MIN_OBJECTS`` tracked
objects when the count is literal (``[(i, i) for i in range(2_000_000)]``), or
an unknown number of them from loaded data (``json.load``, ``pickle.load``,
rows of a CSV file, a comprehension or an ``append`` loop over the lines of a
file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.facts import Binding, CallSite, ModuleFacts, Mutation, Scope
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.sizes import iterates_file, range_count
from cowlint.engine.module.values import ClassRef, Data, Qualified

if TYPE_CHECKING:
    from cowlint.engine.module.flow import Flow

HEAP_MIN_OBJECTS = 100_000
_LIST_METHODS = frozenset({"split", "rsplit", "splitlines", "readlines"})  # str/file methods that return a new list
_CONTAINER_LITERALS = (cst.Tuple, cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)
_CONTAINER_BUILTINS = frozenset({"builtins.dict", "builtins.list", "builtins.set", "builtins.tuple", "collections.OrderedDict", "collections.defaultdict"})


@dataclass(frozen=True)
class Heap:
    """A statement that builds many GC-tracked objects."""

    frame: Scope  # the body it runs in
    order: int
    guarded: bool
    node: cst.CSTNode  # the expression that builds it
    name: str  # what it is bound to
    count: int | None  # tracked objects, when literal
    what: str


@dataclass(frozen=True)
class GcCall:
    """``gc.freeze()`` and friends, where they run."""

    action: str  # disable, enable, collect, freeze, unfreeze
    site: CallSite


def find_heaps(facts: ModuleFacts, resolver: Resolver) -> list[Heap]:
    """Every statement of the module that builds a large heap, in source order."""
    heaps: list[Heap] = []
    for scope in facts.scopes.values():
        for bindings in scope.bindings.values():
            for binding in bindings:
                heap = _binding_heap(resolver, binding)
                if heap is not None:
                    heaps.append(heap)
    for mutation in facts.mutations:
        heap = _loop_heap(resolver, mutation)
        if heap is not None:
            heaps.append(heap)
    heaps.sort(key=lambda heap: heap.order)
    return heaps


def find_gc_calls(facts: ModuleFacts, resolver: Resolver) -> list[GcCall]:
    """Every ``gc.disable/enable/collect/freeze/unfreeze`` call, in source order."""
    found = []
    for site in facts.calls:
        func = site.node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if last not in ("disable", "enable", "collect", "freeze", "unfreeze"):
            continue
        action = apis.GC_CALLS.get(resolver.qualname(func, site.scope, site.order) or "")
        if action is not None:
            found.append(GcCall(action, site))
    return found


def _binding_heap(resolver: Resolver, binding: Binding) -> Heap | None:
    if binding.kind != "assign" or binding.value is None or binding.loops:
        return None
    value, scope, at = binding.value, binding.eval_scope, binding.order
    count: int | None
    if isinstance(value, (cst.ListComp, cst.SetComp, cst.DictComp)):
        element = value.value if isinstance(value, cst.DictComp) else value.elt
        if not _tracked(resolver, element, resolver.facts.scopes.get(value, scope), at):
            return None
        count = _comprehension_count(resolver, value, scope, at)
        if count == 0 or (count is not None and count < HEAP_MIN_OBJECTS):
            return None
        what = f"~{count:,} containers built by a comprehension" if count else "a comprehension over loaded data, one container per item"
    elif isinstance(value, cst.Call):
        name = resolver.qualname(value.func, scope, at)
        if name in apis.HEAP_LOADERS:
            count, what = None, f"{apis.short(name)}() result: dicts and lists, size unknown"
        elif name in ("builtins.list", "builtins.tuple") and value.args and _rows(resolver, value.args[0].value, scope, at):
            count, what = None, "the rows of a CSV file, one container each"
        else:
            return None
    else:
        return None
    frame = scope.frame()
    return Heap(frame, binding.order, binding.guarded, value, binding.name, count, what)


def _comprehension_count(resolver: Resolver, comp: cst.ListComp | cst.SetComp | cst.DictComp, scope: Scope, at: int) -> int | None:
    """The literal number of items (product over ``for`` clauses over ``range``), None when it
    comes from loaded data (a file, rows, a loader); 0 when not known to be large at all."""
    total = 1
    clause: cst.CompFor | None = comp.for_in
    while clause is not None:
        count = range_count(resolver, clause.iter, scope, at, 0)
        if count is None:
            return None if _loaded(resolver, clause.iter, scope, at) else 0
        total *= count
        clause = clause.inner_for_in
    return total


def _loaded(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> bool:
    """Iterating ``expr`` yields loaded data: lines of a file, CSV rows, a loader's result."""
    if iterates_file(resolver, expr, scope, at) or _rows(resolver, expr, scope, at):
        return True
    value = resolver.eval(expr, scope, at)
    if isinstance(value, Data) and value.bulk:
        return True
    if isinstance(expr, cst.Call):
        name = resolver.qualname(expr.func, scope, at)
        return name in apis.HEAP_LOADERS or name in apis.LISTINGS
    return False


def _rows(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> bool:
    if isinstance(expr, cst.Call):
        return resolver.qualname(expr.func, scope, at) in apis.ROW_READERS
    if isinstance(expr, cst.Name):
        for binding in resolver.lookup(expr.value, scope, at):
            if binding.kind in ("assign", "enter") and isinstance(binding.value, cst.Call):
                if resolver.qualname(binding.value.func, binding.eval_scope, binding.order) in apis.ROW_READERS:
                    return True
    return False


def _tracked(resolver: Resolver, expr: cst.BaseExpression, scope: Scope, at: int) -> bool:
    """Whether ``expr`` makes an object the collector tracks: a container or an instance."""
    if isinstance(expr, _CONTAINER_LITERALS):
        if isinstance(expr, cst.Tuple):  # a tuple of atoms is untracked by the first collection that sees it
            return any(_tracked(resolver, element.value, scope, at) for element in expr.elements)
        if isinstance(expr, cst.Dict):  # a dict of atoms is never tracked (CPython 3.10 to 3.13)
            return any(
                not isinstance(element, cst.DictElement) or _tracked(resolver, element.key, scope, at) or _tracked(resolver, element.value, scope, at) for element in expr.elements
            )
        return True
    if isinstance(expr, cst.Call):
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _LIST_METHODS:
            return True
        callee = resolver.eval(expr.func, scope, at)
        if isinstance(callee, ClassRef):
            return True
        return isinstance(callee, Qualified) and callee.name in _CONTAINER_BUILTINS
    return False


def _loop_heap(resolver: Resolver, mutation: Mutation) -> Heap | None:
    """``rows.append({...})`` in a ``for`` loop over a big range or loaded data."""
    if mutation.method not in ("append", "add", "setitem", "appendleft") or not mutation.loops or not isinstance(mutation.target, cst.Name):
        return None
    if not mutation.args or not _tracked(resolver, mutation.args[-1], mutation.scope, mutation.order):
        return None
    loop = mutation.loops[0]
    if not isinstance(loop, cst.For):
        return None
    frame = mutation.scope.frame()
    count = range_count(resolver, loop.iter, frame, mutation.order, 0)
    if count is None and not _loaded(resolver, loop.iter, frame, mutation.order):
        return None
    if count is not None and count < HEAP_MIN_OBJECTS:
        return None
    what = f"~{count:,} containers added in a loop" if count else "a container added per item of loaded data"
    return Heap(frame, mutation.order, mutation.guarded, mutation.node, mutation.target.value, count, what)


# ------------------------------------------------------------------ containers of small Python objects

_CONTAINER_CALLS = frozenset({"builtins.list", "builtins.dict", "builtins.set", "builtins.tuple", "builtins.sorted", "builtins.frozenset"})
_COMPACT = ("numpy.", "pandas.", "torch.", "array.", "pyarrow.", "polars.", "scipy.")


def compact_buffer(resolver: Resolver, value: cst.BaseExpression, scope: Scope, at: int) -> bool:
    """``value`` is made by numpy, pandas, torch, array, Arrow or ``bytes``: one buffer, not one
    Python object per item."""
    if not isinstance(value, cst.Call):
        return False
    name = resolver.qualname(value.func, scope, at) or ""
    return name.startswith(_COMPACT) or name in ("builtins.bytes", "builtins.bytearray", "builtins.memoryview")


def python_container(resolver: Resolver, value: cst.BaseExpression, scope: Scope, at: int) -> str | None:
    """What ``value`` is when it is a large container of small Python objects (each read of an
    item writes its refcount), else None: numpy arrays, ``array.array``, ``bytes`` and frames are
    compact buffers and do not count."""
    if isinstance(value, (cst.ListComp, cst.SetComp)) and _one_constant(value.elt):
        return None  # [None for _ in rows] holds one object n times: reading it writes one refcount, as [x] * n
    if isinstance(value, (cst.ListComp, cst.SetComp, cst.DictComp)):
        count = _comprehension_count(resolver, value, scope, at)
        if count == 0 or (count is not None and count < HEAP_MIN_OBJECTS):
            return None
        return f"a comprehension of ~{count:,} items" if count else "a comprehension over loaded data"
    if isinstance(value, cst.Call):
        name = resolver.qualname(value.func, scope, at) or ""
        if name.startswith(_COMPACT) or name in ("builtins.bytes", "builtins.bytearray", "builtins.memoryview"):
            return None
        if name in apis.HEAP_LOADERS:
            return f"{apis.short(name)}() result"
        if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("readlines", "split", "splitlines"):
            return f"the result of .{value.func.attr.value}()"
        if name in _CONTAINER_CALLS and value.args:
            inner = value.args[0].value
            count = range_count(resolver, inner, scope, at, 0)
            if count is not None:
                return f"{apis.short(name)}() of {count:,} items" if count >= HEAP_MIN_OBJECTS else None
            if _loaded(resolver, inner, scope, at):
                return f"{apis.short(name)}() of loaded data"
            return python_container(resolver, inner, scope, at)
        return None
    return None  # [x] * n repeats one object: reading it writes one refcount, not n


def _one_constant(element: cst.BaseExpression) -> bool:
    """Whether a comprehension's element is a literal constant: every item is the same object
    (the code's constant; ``None``, ``True`` and ``False`` are singletons, and immortal from 3.12)."""
    if isinstance(element, cst.UnaryOperation) and isinstance(element.operator, cst.Minus):
        element = element.expression
    if isinstance(element, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis)):
        return True
    return isinstance(element, cst.Name) and element.value in ("None", "True", "False")


def disabled_before(flow: Flow, disables: Sequence[CallSite], heap: Heap) -> bool:
    """Whether one of the ``gc.disable()`` calls runs before ``heap`` is built."""
    return any(flow.precedes_point(disable.scope.frame(), disable.order, disable.guarded, heap.frame, heap.order, heap.node) for disable in disables)
