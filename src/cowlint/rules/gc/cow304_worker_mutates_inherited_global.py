"""COW304 worker-mutates-inherited-global."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.facts import Binding, Mutation, Scope, walk
from cowlint.engine.module.workers import import_time_bindings
from cowlint.rules.base import Report, Rule

_PLAIN_CONTAINERS = frozenset(
    {"builtins.list", "builtins.dict", "builtins.set", "collections.defaultdict", "collections.Counter", "collections.OrderedDict", "collections.deque"}
)
FIX = "return the result from the worker (or send it through a multiprocessing.Queue or Manager) and combine it in the parent"


class WorkerMutatesInheritedGlobal(Rule):
    """
    ## What it does
    Finds worker functions — the callable of a pool or executor call, the
    `target` of a `Process`, or a helper they call — that append to, extend,
    update or assign into a module-level container (`RESULTS.append(x)`,
    `SEEN.add(key)`, `TOTALS[key] += 1`), or rebind one through `global`
    (`global RESULTS; RESULTS = RESULTS + [x]`). Initializers are left alone: filling a
    per-worker global is what they are for. So are memo caches the worker also
    reads (`if key in CACHE: return CACHE[key]`).

    ## Why is this bad?
    The worker changes its own copy. Under fork the container's pages are
    copied on the first write (memory per worker); under spawn or forkserver
    the worker works on a re-imported, empty container. Either way the parent
    never sees the change: after `pool.map(collect, items)` the parent's
    `RESULTS` is exactly as it was, and the program silently loses the work.

    ## Known problems
    Only containers bound at module level of the same module, mutated by name,
    are seen.

    ## Example
    ```python
    from multiprocessing import Pool

    RESULTS = []


    def collect(item):
        RESULTS.append(item * 2)


    def main(items):
        with Pool() as pool:
            pool.map(collect, items)
        return RESULTS  # still empty
    ```

    ## Use instead
    ```python
    from multiprocessing import Pool


    def double(item):
        return item * 2


    def main(items):
        with Pool() as pool:
            return pool.map(double, items)
    ```

    ## Options
    None.

    ## Platform notes
    The same under every start method: fork copies the pages, spawn and
    forkserver start from a fresh import; no start method sends the change back.

    ## Libraries
    Forked workers of `multiprocessing`, `concurrent.futures`, pathos and
    mpire; joblib's loky workers (fresh interpreters) never see the parent's
    container either.

    ## Verify
    `cowlint --verify script.py` shows each worker's copied memory at this
    call site.

    ## Fix safety
    No automatic fix.

    ## References
    - https://docs.python.org/3/library/multiprocessing.html#sharing-state-between-processes
    """

    code = "COW304"
    name = "worker-mutates-inherited-global"
    summary = "A worker changes a module-level container: its own copy, which the parent never sees."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        reported: set[int] = set()
        for site, worker, function in module.worker_bodies():
            assert function.scope is not None
            for node, name, how in self._writes(module, function.node, function.scope):
                if id(node) in reported:
                    continue
                reported.add(id(node))
                through = "" if function is worker else f" (through {function.name}())"
                message = f"worker {worker.name}{through} changes the global {name}: the parent never sees it"
                detail = f"it writes {name} with {how} ({site.api}): each worker changes its own copy (under fork, copying the pages it writes)"
                yield Report(node=node, message=message, detail=detail, fix=FIX)

    def _writes(self, module: ModuleContext, function: cst.CSTNode, scope: Scope) -> Iterator[tuple[cst.CSTNode, str, str]]:
        """(node, global, how) for each write of a module-level container in one worker function."""
        for binding in self._rebinds(module, scope):
            yield binding.node, binding.name, f"'global {binding.name}' and a new value"
        for mutation in module.facts.mutations:
            if mutation.scope.frame() is not scope:
                continue
            name = self._inherited_container(module, mutation)
            if name is not None and not (self._memo(function, name) and self._stores_new_value(mutation, name)):
                yield mutation.node, name, self._verb(mutation)

    @staticmethod
    def _rebinds(module: ModuleContext, scope: Scope) -> list[Binding]:
        """Unconditional ``global G; G = ...`` in ``scope`` of a module-level container (a lazy
        ``if G is None: G = ...`` is a per-process cache, and is left alone)."""
        found = []
        for name in scope.global_names:
            initial = import_time_bindings(module.facts, name)
            if not initial or not isinstance(initial[-1].value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
                continue
            for binding in module.facts.scope.bindings.get(name, ()):
                if binding.eval_scope.frame() is scope and binding.kind in ("assign", "augassign") and not binding.conditional:
                    found.append(binding)
        return found

    @staticmethod
    def _inherited_container(module: ModuleContext, mutation: Mutation) -> str | None:
        target = mutation.target
        if not isinstance(target, cst.Name):
            return None
        bindings = module.resolver.lookup(target.value, mutation.scope, mutation.order)
        if not bindings or not all(b.scope is module.facts.scope for b in bindings):
            return None  # a local or a parameter
        initial = import_time_bindings(module.facts, target.value)
        if not initial or initial[-1].kind != "assign" or initial[-1].value is None:
            return None
        built = initial[-1].value
        if isinstance(built, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
            return target.value
        # a plain container made by a call: not shared memory (mp.Array, RawArray, np.memmap) or a Manager proxy
        if isinstance(built, cst.Call) and module.resolver.qualname(built.func, initial[-1].eval_scope, initial[-1].order) in _PLAIN_CONTAINERS:
            return target.value
        return None

    @staticmethod
    def _memo(function: cst.CSTNode, name: str) -> bool:
        """The function also reads the container by key: a per-process memo cache."""
        for node in walk(function):
            if isinstance(node, cst.Comparison) and any(
                isinstance(target.operator, (cst.In, cst.NotIn)) and isinstance(target.comparator, cst.Name) and target.comparator.value == name for target in node.comparisons
            ):
                return True
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get":
                if isinstance(node.func.value, cst.Name) and node.func.value.value == name:
                    return True
        return False

    @staticmethod
    def _stores_new_value(mutation: Mutation, name: str) -> bool:
        """``CACHE[k] = compute(k)``: a memo store. ``COUNTS[k] = COUNTS.get(k, 0) + 1`` and
        ``COUNTS[k] += 1`` accumulate instead, and are what gets lost."""
        if mutation.method != "setitem" or not isinstance(mutation.node, cst.Assign):
            return False
        return not any(isinstance(node, cst.Name) and node.value == name for node in walk(mutation.node.value))

    @staticmethod
    def _verb(mutation: Mutation) -> str:
        target = mutation.target.value  # type: ignore[attr-defined]
        if isinstance(mutation.node, cst.AugAssign):
            return f"an augmented assignment to {target}[...]"
        return f"{target}[...] = ..." if mutation.method == "setitem" else f".{mutation.method}()"
