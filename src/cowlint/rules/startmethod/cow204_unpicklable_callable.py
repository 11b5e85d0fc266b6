"""COW204 unpicklable-callable."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.dispatch import DispatchSite, Payload
from cowlint.engine.module.workers import Callee, callee, stateless_reason
from cowlint.rules.base import Report
from cowlint.rules.startmethod.common import StartMethodRule

FIX = "define it at module level (pass what it closed over as arguments, or bind them with functools.partial of a module-level function)"
FIX_GUARD = 'define the function at module level, above if __name__ == "__main__":'
FIX_ATTRIBUTE = "keep a module-level function in the attribute (or functools.partial of one), or send the workers a module-level function and the data it needs"


class UnpicklableCallable(StartMethodRule):
    """
    ## What it does
    Finds callables that pickle cannot send to another process: a `lambda`,
    a function defined inside another function, a class defined inside a
    function (or an instance of one, called through its `__call__`), or a
    `functools.partial` of one of these, used as

    - the callable of `Pool.map`/`imap`/`starmap`/`apply`/... or
      `ProcessPoolExecutor.submit`/`map`, or one of a task's arguments
      (`apply_async(f, (key_fn, rows))`, a `kwds` dict, `submit(f,
      key=lambda row: row[1])`) — these pickle the whole task under every
      start method, fork included;
    - the `target` of a `Process` or the `initializer` of a pool, or a
      function among a `Process`'s `args` or a pool's `initargs`
      (`args=(fn, chunk, queue)`, which the target then calls), when the
      start method is not pinned to fork (a forked child inherits them; a
      spawned one receives them pickled);
    - a bound method (`pool.map(self.order, rows)`) whose instance keeps a
      lambda or a nested function in an attribute (`self.key = lambda row:
      row[1]`): pickling the method pickles the instance, attributes included
      (a class with `__getstate__` or `__reduce__` is left alone);
    - the `collate_fn` or `worker_init_fn` of a PyTorch `DataLoader` with
      `num_workers > 0`, under the same condition (its
      `multiprocessing_context=`, else the platform default).

    Each of these may go through a pool wrapper, in the module or imported
    from another one (`parallel_map(evaluate, samples)` with `def
    parallel_map(function, sequence)` starting a `Process` per chunk with
    `args=(function, ...)`): the call of the wrapper is reported.

    A function defined under `if __name__ == "__main__":` is reported too when
    the start method is not pinned to fork: pickle sends it by name, and the
    child's re-import of the main module skips the guarded block.

    ## Why is this bad?
    Functions are pickled by reference — module and name — and a lambda or a
    nested function has no name the worker could import. The call fails with
    `PicklingError: Can't pickle <function <lambda>>: attribute lookup failed`
    (or `AttributeError: Can't get local object`), or the worker dies with
    `AttributeError: Can't get attribute 'work' on <module '__mp_main__'>`.
    Thread pools take any callable; process pools do not.

    ## Known problems
    Callables are followed through names, `functools.partial` and bound
    methods of the module's classes; a callable built by another module (a
    decorator that returns a closure) is not seen. Pools and processes of
    `multiprocess` (the fork of multiprocessing that pickles with dill) send
    lambdas and local functions by value and are not reported.

    ## Example
    ```python
    from concurrent.futures import ProcessPoolExecutor


    def scale_all(values, factor):
        with ProcessPoolExecutor() as executor:
            return list(executor.map(lambda v: v * factor, values))
    ```

    ## Use instead
    ```python
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial


    def scale(factor, value):
        return value * factor


    def scale_all(values, factor):
        with ProcessPoolExecutor() as executor:
            return list(executor.map(partial(scale, factor), values))
    ```

    ## Options
    {target_options}

    ## Platform notes
    {platform_table}

    Pool and executor calls pickle the callable with every start method, fork
    included.

    ## Libraries
    `multiprocessing` and `concurrent.futures` pickle with the standard
    pickler, and so does tqdm's `process_map`. joblib (cloudpickle), pathos,
    p_tqdm and `multiprocess` (dill) send
    lambdas and nested functions by value: never reported. mpire pickles with
    the standard pickler (unless `use_dill=True`), but sends its `map`
    function only when its workers start: reported where they are not forked
    (Windows, or `start_method="spawn"`). Python 3.14's
    `InterpreterPoolExecutor` shares a *stateless* function's code without
    pickle (no closure, no defaults, no globals; builtins are fine), so
    `submit(lambda x: x * 2, 1)` works and is quiet; a lambda or nested
    function that reads a global or an enclosing variable, or has defaults,
    is pickled and fails (`NotShareableError`), and is reported with the name
    it reads (measured on 3.14.10). See docs/libraries.md.

    ## Verify
    `cowlint --verify script.py --compare spawn` runs the script under
    spawn; the pickling error shows in the report.

    ## Fix safety
    No automatic fix.

    ## References
    - https://docs.python.org/3/library/pickle.html#what-can-be-pickled-and-unpickled
    - https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods
    """

    code = "COW204"
    name = "unpicklable-callable"
    summary = "A lambda, nested function or local class is sent to a process, which cannot unpickle it."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        for site in module.dispatch_sites:
            for payload, worker in module.workers_of(site):
                report = self._check(module, site, payload, worker)
                if report is not None:
                    yield report
        yield from self._loaders(module)

    @staticmethod
    def _loaders(module: ModuleContext) -> Iterable[Report]:
        """A DataLoader's collate_fn and worker_init_fn go to its workers, pickled unless they fork."""
        for loader in module.data_loaders:
            verdict = module.start_of(loader.start)
            if not loader.has_workers or verdict.always_forks:
                continue
            for keyword, expr in loader.callables:
                worker = callee(module.resolver, expr, loader.site.scope, loader.site.order)
                what = _what(worker) if worker is not None else None
                if worker is None or what is None:
                    continue
                partial = " inside functools.partial" if worker.through_partial else ""
                message = f"{what}{partial}, the {keyword} of a DataLoader, cannot be pickled to its spawned workers"
                detail = (
                    f"the DataLoader has {loader.workers_text}; its {keyword} is pickled to its workers when they are not forked, "
                    f"and pickle cannot send {what}; breaks under {verdict.breaks_text()}"
                )
                yield Report(node=expr, message=message, detail=detail, fix=FIX, confidence="high")

    @staticmethod
    def _check(module: ModuleContext, site: DispatchSite, payload: Payload, worker: Callee) -> Report | None:
        if payload.role == "instance":
            return None  # a Process subclass's run method: the instance is pickled, found by name
        if site.confidence != "high":
            return None  # a receiver named like a pool, of unknown origin: it may be a thread pool
        if site.receiver.dill:
            return None  # multiprocess pickles with dill: lambdas and local functions travel by value
        # a task's callable and arguments are pickled with every start method; what travels as a
        # worker starts (Process arguments, initargs, mpire's function) only when it is not forked
        always_pickled = not site.ships_at_start(payload)
        verdict = module.start_of(site.start)
        if not always_pickled and verdict.always_forks:
            return None
        what = _what(worker)
        if what is not None:
            partial = " inside functools.partial" if worker.through_partial else ""
            role = f"the {payload.role} of {site.api} " + ("are" if payload.role in ("args", "initargs") else "is")
            if site.receiver.api in apis.INTERPRETER_EXECUTORS:
                state = None if worker.through_partial else stateless_reason(module.resolver, worker)
                if state == "":
                    return None  # stateless: the worker interpreter gets its code, no pickle
                message = f"{what}{partial} cannot be sent to the worker interpreters of {site.api}"
                detail = (
                    f"{role} pickled unless it is a stateless function (no closure, no defaults, no globals), whose code is shared; "
                    f"{what} {state or 'is a class'}, and pickle cannot send it (NotShareableError)"
                )
                return Report(node=payload.expr, message=message, detail=detail, fix=FIX, confidence=site.confidence)
            if always_pickled:
                message = f"{what}{partial} cannot be pickled to the workers of {site.api}"
                detail = f"{role} pickled with every start method, and pickle cannot send {what}"
            else:
                message = f"{what}{partial} cannot be pickled to spawned workers of {site.api}"
                detail = f"{role} pickled when the start method is not fork, and pickle cannot send {what}; breaks under {verdict.breaks_text()}"
            return Report(node=payload.expr, message=message, detail=detail, fix=FIX, confidence=site.confidence)
        held = _unpicklable_attribute(module, worker) if payload.role == "callable" else None
        if held is not None and (always_pickled or not verdict.always_forks):
            attribute, kept = held
            when = "with every start method" if always_pickled else f"when the start method is not fork; breaks under {verdict.breaks_text()}"
            message = f"{module.code(payload.expr, 30)} pickles its {worker.method_of}, whose self.{attribute} holds {kept}: it cannot be pickled to the workers of {site.api}"
            detail = f"the bound method's instance is pickled {when}, with its attributes, and pickle cannot send {kept}"
            return Report(node=payload.expr, message=message, detail=detail, fix=FIX_ATTRIBUTE, confidence=site.confidence)
        if worker.under_main_guard and not verdict.always_forks:
            message = f"{worker.name}, defined under the main guard, is not found by spawned workers of {site.api}"
            detail = (
                f'{worker.name} is defined under if __name__ == "__main__": and is the {payload.role} of {site.api}; pickle sends it by name, '
                f"and a child that is not forked re-imports the module without running that block (AttributeError: Can't get attribute '{worker.name}'); "
                f"breaks under {verdict.breaks_text()}"
            )
            return Report(node=payload.expr, message=message, detail=detail, fix=FIX_GUARD, confidence=site.confidence)
        return None


def _unpicklable_attribute(module: ModuleContext, worker: Callee) -> tuple[str, str] | None:
    """``(attribute, what)`` when the instance behind the bound method ``worker`` keeps a lambda
    or a nested function in an attribute (``self.key = lambda row: row[0]``), and pickles as
    usual (no ``__getstate__``/``__reduce__``)."""
    info = worker.scope.method_of if worker.method_of is not None and worker.scope is not None else None
    if info is None:
        return None
    chain = module.resolver.class_chain(info)
    if any(name in cls.methods for cls in chain for name in ("__getstate__", "__reduce__", "__reduce_ex__")):
        return None
    for cls in chain:
        for name, bindings in cls.attributes.items():
            for binding in bindings:
                if binding.kind != "assign" or binding.value is None:
                    continue
                kept = callee(module.resolver, binding.value, binding.eval_scope, binding.order)
                what = _what(kept) if kept is not None and kept.method_of is None else None
                if what is not None:
                    return name, what
    return None


def _what(worker: Callee) -> str | None:
    """``a lambda``, ``the nested function f`` or ``the local class C``, or None if picklable."""
    if isinstance(worker.node, cst.Lambda):
        return "a lambda"
    if not worker.is_local:
        return None
    if isinstance(worker.node, cst.ClassDef):
        return f"the local class {worker.name}"
    if worker.method_of is not None and worker.name == "__call__":
        return f"an instance of the local class {worker.method_of}"
    if worker.method_of is not None:
        return f"a method of the local class {worker.method_of}"
    return f"the nested function {worker.name}"
