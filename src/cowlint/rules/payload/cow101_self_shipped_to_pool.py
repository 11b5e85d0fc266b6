"""COW101 self-shipped-to-pool."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.shipping import Shipped
from cowlint.engine.module.values import ForeignInstance, Instance, InstanceSize
from cowlint.rules.base import Report, Rule
from cowlint.rules.payload.common import SHORT_FREQUENCY, carrier_text, instance_size_text, large_shipped, payload_detail

FIX = "move the work to a module-level function and share the data through an initializer or a fork-inherited global"


class SelfShippedToPool(Rule):
    """
    ## What it does
    Finds process dispatches that pickle the whole instance: `self`, a bound
    method of `self` (`self.score`), or a task item or argument holding `self`
    is the callable or an argument of `Pool.map`/`starmap`/`imap*`/`apply*`,
    `ProcessPoolExecutor.submit`/`map`, or (when the start method is not pinned
    to fork) `Process(target=...)` and `Pool(initializer=..., initargs=...)`.
    A bound method of another instance of a class of the project
    (`pool.map(catalog.lookup, keys)` with `catalog = Catalog(path)`, the
    class defined in the module or imported from another) ships that whole
    instance the same way and is reported too when the class builds some of
    its attributes itself (a comprehension, a container, a call); an object
    that only keeps the values it was given (paths, flags, an argparse
    Namespace) is taken for a light carrier. Inside a class, an attribute set
    from a parameter of `__init__` (`self._registry = registry`) holds what
    the calls of the class pass for it, in the module and in the project's
    other modules (`Client(Registry())` in `app/main.py`). A function that
    hands its parameter to one of these dispatches is a pool wrapper, defined
    in the module or imported from another (`parmap(self._do_chunk, bands)`
    with `parmap` starting `Process(target=fun, args=(f, q_in, q_out))` in
    `multi_process.py`): its call is reported, naming the wrapper. So are a
    dispatch method kept in a name (`run = pool.map`, then `run(self.score,
    rows)`) and a function of the module that hands its own `*args` and
    `**kwargs` on to a `Process` (`start(target=self.run)` for `def
    start(*args, **kwargs): return Process(*args, **kwargs)`). When its
    size is known to be large, COW102 reports it instead, with the size.

    ## Why is this bad?
    Everything a pool sends to a worker is pickled: a bound method pickles its
    instance, with every attribute. A method of an object that holds a 760 MiB
    array, passed to `pool.map`, serialises and rebuilds those 760 MiB for each
    task, in each worker. Copy-on-write sharing of the parent's pages never
    happens: the worker uses the private copy it received, and memory grows
    with the number of workers, however read-only the work is.

    ## Known problems
    The instance size is estimated from the attributes the class assigns
    (`self.x = np.zeros(N)` with a literal `N`), and from what a known call
    of the class passes to `__init__`, in the module or in another of the
    project. An attribute set from a parameter that no known call fills is of
    the size its annotation says (`rate: float`, `out: Path | None` are small,
    `weights: np.ndarray` is bulk data) and otherwise unknown, so the rule
    stays quiet only when every attribute is provably small (literal scalars,
    short strings, `None`, parameters annotated as numbers, strings or paths).
    When nothing known about the instance is large, the finding has medium
    confidence.
    Classes with `__getstate__` or `__reduce__` control their own pickling and
    are not reported. A receiver of unknown origin whose name says pool or
    executor is matched with medium confidence; one made by a class of an
    unknown library whose name says thread pool (`ThreadPool`,
    `ThreadPoolExecutor`) is taken for the thread pool it is named.

    ## Example
    ```python
    from multiprocessing import Pool

    import numpy as np


    class Scorer:
        def __init__(self):
            self.weights = np.zeros(100_000_000)

        def score(self, i):
            return float(self.weights[i])

        def run(self, ids):
            with Pool(4) as pool:
                return pool.map(self.score, ids)
    ```

    ## Use instead
    ```python
    from multiprocessing import Pool

    import numpy as np

    _weights = None


    def _init(weights_path):
        global _weights
        _weights = np.load(weights_path, mmap_mode="r")


    def score(i):
        return float(_weights[i])


    def run(weights_path, ids):
        with Pool(4, initializer=_init, initargs=(weights_path,)) as pool:
            return pool.map(score, ids)
    ```

    ## Options
    - `large-threshold` (default `1MiB`): not used to stay quiet here; any
      instance that is not provably small is reported, the estimate goes in
      the message and in `size_bytes`.

    ## Platform notes
    Pool and executor calls pickle their callable and arguments under every
    start method. `Process(target=self.run)` and `initargs` are pickled only
    under spawn (the default on macOS and Windows) and forkserver (the
    default on Linux since Python 3.14); under a pinned fork context they are
    inherited and not reported. A context handed to a helper as its `ctx`,
    `context` or `mp_context` parameter is followed when every call of the
    helper in the module passes one (`self._start(queue, ctx)`).

    ## Libraries
    `multiprocessing` and `concurrent.futures` (and `torch.multiprocessing`,
    `billiard`, `multiprocess`); joblib's `Parallel(...)(delayed(f)(x) ...)`,
    whose function travels with every batch of tasks; pathos's `ProcessPool`
    (`map`, `imap`, `uimap`, `amap`, `pipe`); mpire's `WorkerPool`, whose
    function travels once per worker when it starts, and only where the
    workers are not forked (mpire forks where the platform has fork); tqdm's
    `process_map` and p_tqdm's `p_map`; Python 3.14's
    `InterpreterPoolExecutor`, which pickles a bound method's instance into
    every task too (measured on 3.14.10). Thread pools of these libraries are
    quiet. See docs/libraries.md.

    ## Verify
    `cowlint --verify script.py` runs the script, counts the bytes pickled
    per task at this call site and measures what each worker copied; the
    finding is confirmed when a task carries at least `--min-cost`.

    ## Fix safety
    No automatic fix: moving work out of a class changes the program's shape.

    ## References
    - https://docs.python.org/3/library/multiprocessing.html#programming-guidelines
    - https://docs.python.org/3/library/pickle.html#what-can-be-pickled-and-unpickled
    """

    code = "COW101"
    name = "self-shipped-to-pool"
    summary = "An instance (`self`) is pickled into process tasks instead of being shared."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        for shipped in module.shipped:
            if not isinstance(shipped.value, (Instance, ForeignInstance)) or not _whole_instance(module, shipped):
                continue
            estimate = module.resolver.estimate(shipped.value)
            if estimate.custom_pickling or estimate.provably_small:
                continue
            class_name = shipped.value.class_name
            size = instance_size_text(estimate)
            payload = shipped.payload
            how = SHORT_FREQUENCY[payload.frequency]
            carrier = carrier_text(module.code(payload.expr), shipped, isinstance(payload.expr, cst.Name))
            whole = f"the whole {class_name} ({size})"
            if payload.role == "items":
                message, what = f"task items of {carrier} hold {shipped.leaf}: {whole} is pickled {how}", "every task item holds the instance"
            elif payload.role in ("callable", "target", "initializer") and len(shipped.path) == 1 and shipped.bound:
                message, what = f"{carrier} pickles {whole} {how}", f"{carrier} is a bound method: pickling it pickles its instance"
            elif payload.role in ("callable", "target", "initializer"):
                message, what = f"{carrier} carries {shipped.leaf}: {whole} is pickled {how}", f"the callable carries {shipped.leaf}"
            elif carrier == shipped.leaf:
                message, what = f"{carrier} pickles {whole} {how}", "passed as an argument"
            else:
                message, what = f"{carrier} holds {shipped.leaf}: {whole} is pickled {how}", ""
            yield Report(
                node=payload.expr,
                message=message,
                detail=payload_detail(module, shipped, module.start_of(shipped.site.start), what),
                fix=FIX,
                confidence=_confidence(shipped.site.confidence, estimate, module.config.large_threshold),
                unsure=shipped.site.doubt or f"nothing in {class_name} shows how big its instances are: they are only possibly large",
                size_bytes=estimate.size,
            )


def _whole_instance(module: ModuleContext, shipped: Shipped) -> bool:
    """``self`` in any form, or a bound method of another instance of a module class
    that COW102 does not report as large (its size is unknown: ``catalog.checksum``)
    and that builds some of its attributes itself: an object that only keeps the
    parameters it was given (paths, flags, an argparse Namespace) is a light carrier."""
    if shipped.kind == "self":
        return True
    if shipped.kind != "instance" or not shipped.bound or large_shipped(module, shipped) is not None:
        return False
    assert isinstance(shipped.value, (Instance, ForeignInstance))
    return bool(module.resolver.builds(shipped.value))


def _confidence(site_confidence: str, estimate: InstanceSize, threshold: int) -> str:
    """Medium when nothing known about the instance is large: its size is only unknown."""
    if site_confidence != "high":
        return site_confidence
    evidence = estimate.bulk or (estimate.size or estimate.known_bytes) >= threshold
    return "high" if evidence else "medium"
