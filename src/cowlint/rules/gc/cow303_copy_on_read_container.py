"""COW303 copy-on-read-container."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.facts import MODULE, Scope, walk
from cowlint.engine.module.heap import python_container
from cowlint.engine.module.loaders import class_holding, dataset_holdings
from cowlint.engine.module.values import Const, Instance
from cowlint.rules.base import Report, Rule

FIX = "keep the data in a compact buffer the workers only read: a numpy array, array.array or bytes, Arrow/pandas columns, or multiprocessing.shared_memory"
FIX_DATASET = "store the dataset's items as numpy arrays, Arrow/pandas columns or serialized bytes (one buffer, not one Python object per item) before the DataLoader forks its workers"
# builtins that read every item of their argument
_READ_ALL = frozenset({"builtins.sum", "builtins.max", "builtins.min", "builtins.sorted", "builtins.list", "builtins.tuple", "builtins.set", "builtins.any", "builtins.all", "builtins.enumerate"})


class CopyOnReadContainer(Rule):
    """
    ## What it does
    Finds fork workers that read every item of a large inherited container of
    small Python objects: a module global (a list, dict or set built by a big
    comprehension, `list(range(...))`, `json.load`, `pickle.load`, lines of a
    file) iterated by a `for` loop, a comprehension, `x in LIST`, or
    `sum`/`max`/`sorted`/`list` of it, in a worker callable or a helper it
    calls; also through a full slice (`LIST[:]`), a stride (`LIST[k::n]`, the
    usual way to shard: every n-th small object still lies on nearly every
    page) or an index loop (`for i in range(len(LIST))` reading `LIST[i]`).
    Also `torch.utils.data.DataLoader(dataset, num_workers>0)` whose dataset
    class keeps lists, dicts or sets of Python objects built in `__init__`, or
    keeps a `list`/`dict` parameter of `__init__` as it is; the dataset class
    may be defined in another module of the project, and a dataset wrapping
    another (`MapDataset(DatasetFromList(records), fn)`) is followed to the
    one it wraps. A dataset held by the instance (`DataLoader(self.train_set,
    ...)`, `DataLoader(self.make_dataset(), ...)`) is followed to what the
    class assigns or returns there, through base classes of other project
    modules, with the subclass's overrides taking precedence (a Lightning
    data module whose base assigns `self.train_set = self.make_train_set()`).
    An attribute that `__init__` packs into one buffer
    (`np.concatenate`, `bytes`, a tensor) does not count.
    Quiet for numpy arrays, `array.array`, `bytes` and frames, for a list that
    holds one object many times (`[0] * n`, `[None for _ in rows]`: a read
    writes that one object's count, never the list's own pages; measured
    0.05 MiB copied for 2,000,000 items), for indexing a
    few items or a contiguous chunk (`LIST[a:b]`), and when the workers are
    not forked.

    ## Why is this bad?
    Reading a Python object writes to it: its reference count goes up and down.
    A forked worker that iterates 3 million inherited strings writes into every
    page that holds them, and the kernel copies each page — measured: 185 MB
    per worker for 3M small strings, although the worker never changed the
    data. `gc.freeze()` does not help here: the writes are refcounts, not the
    collector. This is the PyTorch issue 13246 family: a `Dataset` holding a
    Python list of file names or a dict of labels makes every DataLoader
    worker grow until the machine runs out of memory.

    ## Known problems
    Only containers bound at module level (or assigned in the dataset's
    `__init__`) with a recognisable builder are seen; their size must be
    literal or come from loaded data.

    ## Example
    ```python
    from multiprocessing import Pool

    WORDS = [str(i) for i in range(3_000_000)]


    def count(prefix):
        return sum(1 for word in WORDS if word.startswith(prefix))


    def main():
        with Pool(4) as pool:
            return pool.map(count, "0123456789")
    ```

    ## Use instead
    ```python
    from multiprocessing import Pool

    import numpy as np

    WORDS = np.array([str(i) for i in range(3_000_000)])


    def count(prefix):
        return int(np.char.startswith(WORDS, prefix).sum())


    def main():
        with Pool(4) as pool:
            return pool.map(count, "0123456789")
    ```

    ## Options
    None: a container counts as large from 100,000 items, or when it holds
    loaded data.

    ## Platform notes
    Only forked workers share pages to copy: an unpinned pool is reported when
    a target forks by default (Linux before Python 3.14); under spawn the data
    is rebuilt or pickled instead (COW202, COW101).

    Immortal objects (PEP 683, Python 3.12 and later) keep a fixed reference
    count, so reading them writes nothing: small integers (-5 to 256), `None`,
    `True`, `False`, and the strings the interpreter interns for itself. On
    3.12 only, strings interned at run time (`sys.intern`) are immortal too;
    3.13 made them mortal again. Measured in a forked child reading 200,000
    strings (`tests/test_immortal.py`): 12.3 MiB copied for plain strings on
    3.11, 3.12 and 3.13; for `sys.intern`ed ones, 12.3 MiB on 3.11 and 3.13,
    0.05 MiB on 3.12. So a container of such objects copies little, and
    interning is no fix that lasts past 3.12. On the free-threaded build (3.13t,
    3.14t) every object still carries reference counts that a read updates
    (biased reference counting splits them into a local and a shared count):
    copy-on-read stays, and immortal objects are the same set; this machine
    has no free-threaded build, so that is read from PEP 703, not measured.

    ## Libraries
    Forked workers of `multiprocessing`, `concurrent.futures`, pathos and
    mpire, and PyTorch's `DataLoader` workers; joblib's loky workers are not
    forks.

    ## Verify
    `cowlint --verify script.py` shows each worker's copied memory at this
    call site (and, with `--report`, growing over time while it reads).

    ## Fix safety
    No automatic fix.

    ## References
    - https://github.com/pytorch/pytorch/issues/13246
    - https://docs.python.org/3/library/multiprocessing.shared_memory.html
    """

    code = "COW303"
    name = "copy-on-read-container"
    summary = "A fork worker reads every item of a large inherited container of Python objects: refcount writes copy it."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        yield from self._pool_workers(module)
        yield from self._data_loaders(module)

    def _pool_workers(self, module: ModuleContext) -> Iterator[Report]:
        reported: set[tuple[int, str]] = set()
        for site, worker, function in module.worker_bodies(forked_only=True):
            assert function.scope is not None
            for name, node, reads in self._full_reads(module, function.node, function.scope):
                what = self._inherited(module, name)
                if what is None or (id(function.node), name) in reported:
                    continue
                reported.add((id(function.node), name))
                through = "" if function is worker else f" (through {function.name}())"
                message = f"worker {worker.name}{through} reads {reads} the inherited {name}: each forked worker copies its pages"
                detail = (
                    f"{name} is {what}; each read writes the item's reference count, so each forked worker ({site.api}) copies the pages "
                    "holding them; gc.freeze() does not prevent it"
                )
                yield Report(node=node, message=message, detail=detail, fix=FIX, confidence=_confidence(what), unsure=LOADED)

    @staticmethod
    def _full_reads(module: ModuleContext, function: cst.CSTNode, scope: Scope) -> Iterator[tuple[str, cst.Name, str]]:
        """Names whose items ``function`` reads all over: ``for x in NAME``, comprehensions over it,
        ``x in NAME``, ``sum(NAME)`` and friends, also through a copy (``NAME[:]``) or a stride
        (``NAME[k::n]``: every n-th item, spread over every page). With how it reads them."""
        for node in walk(function):
            target: cst.BaseExpression | None = None
            if isinstance(node, (cst.For, cst.CompFor)):
                target = node.iter
            elif isinstance(node, cst.Comparison):
                for comparison in node.comparisons:
                    if isinstance(comparison.operator, (cst.In, cst.NotIn)) and isinstance(comparison.comparator, cst.Name):
                        name = comparison.comparator.value
                        if CopyOnReadContainer._sequence(module, name) and _is_global(module, name, scope):  # in a dict or set: one lookup
                            yield comparison.comparator.value, comparison.comparator, "every item of"
            elif isinstance(node, cst.Call) and node.args and isinstance(node.args[0].value, (cst.Name, cst.Subscript)):
                if module.resolver.qualname(node.func, scope, 1 << 62) in _READ_ALL:
                    target = node.args[0].value
            if isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute) and target.func.attr.value in ("items", "keys", "values"):
                target = target.func.value
            reads = "every item of"
            if isinstance(target, cst.Subscript):
                reads, target = _sliced(target)
            elif isinstance(target, cst.Call) and isinstance(node, (cst.For, cst.CompFor)):
                reads, target = _index_loop(module, function, scope, target, node.target)
            if isinstance(target, cst.Name) and _is_global(module, target.value, scope):
                yield target.value, target, reads

    @staticmethod
    def _sequence(module: ModuleContext, name: str) -> bool:
        """Whether module global ``name`` is built as a list or tuple (``in`` scans it)."""
        for binding in module.facts.scope.bindings.get(name, ()):
            value = binding.value
            if isinstance(value, (cst.ListComp, cst.List, cst.Tuple)):
                return True
            if isinstance(value, cst.Call):
                if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("readlines", "split", "splitlines"):
                    return True
                if module.resolver.qualname(value.func, binding.eval_scope, binding.order) in ("builtins.list", "builtins.tuple", "builtins.sorted"):
                    return True
        return False

    @staticmethod
    def _inherited(module: ModuleContext, name: str) -> str | None:
        """What the module global ``name`` is, when it is a large container of Python objects."""
        bindings = module.facts.scope.bindings.get(name, ())
        for binding in bindings:
            if binding.kind == "assign" and binding.value is not None:
                what = python_container(module.resolver, binding.value, binding.eval_scope, binding.order)
                if what is not None:
                    return what
        return None

    # ---------------------------------------------------------------- DataLoader

    def _data_loaders(self, module: ModuleContext) -> Iterator[Report]:
        for loader in module.data_loaders:
            if not loader.has_workers or not module.start_of(loader.start).may_fork or loader.dataset is None:
                continue
            holdings = dataset_holdings(module.facts, module.resolver, loader.dataset, loader.site.scope, loader.site.order)
            if not holdings:
                value = module.resolver.eval(loader.dataset, loader.site.scope, loader.site.order)
                holdings = [class_holding(module.facts, module.resolver, value.cls)] if isinstance(value, Instance) else []
            held = [(holding, attr, what) for holding in holdings for attr, what in holding.held]
            if not held:
                continue
            outer = holdings[0]
            listed = ", ".join(f"{'self' if holding is outer else holding.name}.{attr} ({what})" for holding, attr, what in held[:3])
            wraps = "".join(f" (wrapping {holding.name})" for holding in holdings[1:2] if any(h is holding for h, _, _ in held))
            message = f"DataLoader workers read the {outer.name} dataset of Python containers: each copies it page by page"
            detail = (
                f"the DataLoader with {loader.workers_text} forks workers that read the {outer.name} dataset{wraps}, which keeps {listed}; "
                "every item a worker reads has its reference count written (PyTorch issue 13246)"
            )
            known_workers = isinstance(loader.workers, Const)
            sure = known_workers and all(_confidence(what) == "high" for _, _, what in held)
            unsure = LOADED if known_workers else "num_workers is not a literal here: it may be 0 (no worker processes)"
            yield Report(node=loader.site.node, message=message, detail=detail, fix=FIX_DATASET, confidence="high" if sure else "medium", unsure=unsure)


def _is_global(module: ModuleContext, name: str, scope: Scope) -> bool:
    """``name`` read in ``scope`` is the module's global (not a parameter or local that shadows it)."""
    bindings = module.resolver.lookup(name, scope, 1 << 62)
    return bool(bindings) and all(binding.scope.kind == MODULE for binding in bindings)


def _sliced(subscript: cst.Subscript) -> tuple[str, cst.BaseExpression | None]:
    """``NAME[:]`` reads every item, ``NAME[k::n]`` every n-th one (still every page for small items);
    an index or a contiguous chunk (``NAME[a:b]``) reads a part: (how, NAME) or ("", None)."""
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Slice):
        return "", None
    part = subscript.slice[0].slice
    step = part.step.expression if isinstance(part.step, cst.UnaryOperation) and isinstance(part.step.operator, cst.Minus) else part.step
    if step is not None and not (isinstance(step, cst.Integer) and step.evaluated_value == 1):
        return "items spread over all of", subscript.value
    if part.lower is None and part.upper is None:
        return "every item of", subscript.value
    return "", None


def _index_loop(module: ModuleContext, function: cst.CSTNode, scope: Scope, loop: cst.Call, variable: cst.BaseAssignTargetExpression) -> tuple[str, cst.BaseExpression | None]:
    """``for i in range(len(NAME))`` (or ``range(k, len(NAME), n)``) with ``NAME[i]`` in the function."""
    if not isinstance(variable, cst.Name) or module.resolver.qualname(loop.func, scope, 1 << 62) != "builtins.range":
        return "", None
    bound = next((arg.value for arg in loop.args[:2][::-1] if _len_call(module, scope, arg.value)), None)
    if not isinstance(bound, cst.Call) or (len(loop.args) == 2 and bound is loop.args[0].value):
        return "", None  # range(len(NAME), end): not the container's own indices
    sized = bound.args[0].value
    assert isinstance(sized, cst.Name)
    for node in walk(function):
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.value.value == sized.value and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Name) and index.value.value == variable.value:
                return ("items spread over all of" if len(loop.args) == 3 else "every item of"), sized
    return "", None


def _len_call(module: ModuleContext, scope: Scope, expr: cst.BaseExpression) -> bool:
    return (
        isinstance(expr, cst.Call)
        and len(expr.args) == 1
        and isinstance(expr.args[0].value, cst.Name)
        and module.resolver.qualname(expr.func, scope, 1 << 62) == "builtins.len"
    )


LOADED = "the containers are loaded data whose size is not known statically: they may be small"


def _confidence(what: str) -> str:
    """High when the item count is literal; loaded data may turn out small."""
    return "high" if "~" in what or "items" in what and "loaded" not in what else "medium"
