"""COW202 heavy-import-under-spawn."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst

from cowlint.config import format_size
from cowlint.engine.finding import doubt_of
from cowlint.engine.module import apis
from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.dispatch import DispatchSite
from cowlint.engine.module.facts import Binding
from cowlint.engine.module.targets import StartVerdict
from cowlint.engine.module.values import Data
from cowlint.engine.module.workers import import_time_bindings, stateless_reason
from cowlint.rules.base import Report
from cowlint.rules.payload.common import size_text
from cowlint.rules.startmethod.common import StartMethodRule

FIX = (
    "build it lazily inside the functions that need it (or in a worker initializer), load it from a file the workers memory-map "
    '(np.load(path, mmap_mode="r")), or pin multiprocessing.get_context("fork") where every target has fork'
)

FIX_INTERPRETERS = "build it lazily inside the functions that need it, or in the executor's initializer"

# expressions that build data (a call, a comprehension, a repetition, a literal)
_LITERALS = (cst.List, cst.Tuple, cst.Set, cst.Dict)
_BUILDERS = (cst.Call, cst.ListComp, cst.SetComp, cst.DictComp, cst.BinaryOperation, *_LITERALS)


class HeavyImportUnderSpawn(StartMethodRule):
    """
    ## What it does
    Finds large data built at import time — at module level, outside
    `if __name__ == "__main__":` and outside functions — in a module that
    dispatches its own functions to worker processes without a pinned fork
    context. Large means estimated at or over `large-threshold`
    (`np.zeros((20_000, 5_000))`, `[0] * 10_000_000`) or bulk data of unknown
    size (`np.load(...)`, `pd.read_csv(...)`, `pickle.load(...)`).

    ## Why is this bad?
    A spawned worker starts a fresh interpreter and imports the module of the
    function it runs — for a script, the main module, under the name
    `__mp_main__`. Every statement at module level runs again in every
    worker: each one rebuilds its own copy of the data (memory × the number of
    workers, plus the time to load it), where fork would have shared the
    parent's pages for free. On Linux before Python 3.14 nothing seems wrong;
    on macOS and Windows memory multiplies.

    Linux's default from Python 3.14, forkserver, is different, and is not
    reported: its fork server imports the main script once, before it forks
    the workers, and they inherit that copy (measured: the data is built in
    the server, and a worker that does not read it holds 6 MiB of its own
    against 39 MiB under spawn, for 30 MiB of data). The server's preload of
    `__main__` never worked before 3.14 (the script's path did not reach it),
    so a `forkserver` context there rebuilds the data in every worker, and so
    does a script run with `python -m`, or a
    `set_forkserver_preload([...])` list without `"__main__"`, on any version.
    Reading the inherited data still copies its pages, as under fork (COW303).

    ## Known problems
    Only dispatches in the same module are seen: a library module whose
    functions are dispatched from elsewhere is not reported. Bulk data of
    unknown size (a loaded file) may turn out to be small. A file shipped
    with the code (named from `__file__` or `importlib.resources.files()`,
    up to 256 KiB, in a project) is measured instead: read, never run, and
    the cached result depends on it.

    ## Example
    ```python
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    EMBEDDINGS = np.load("embeddings.npy")


    def nearest(query):
        return int((EMBEDDINGS @ query).argmax())


    def main(queries):
        with ProcessPoolExecutor(max_workers=8) as executor:
            return list(executor.map(nearest, queries))
    ```

    ## Use instead
    ```python
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    _embeddings = None


    def _open(path):
        global _embeddings
        _embeddings = np.load(path, mmap_mode="r")  # pages shared through the page cache


    def nearest(query):
        return int((_embeddings @ query).argmax())


    def main(queries):
        with ProcessPoolExecutor(max_workers=8, initializer=_open, initargs=("embeddings.npy",)) as executor:
            return list(executor.map(nearest, queries))
    ```

    ## Options
    - `large-threshold` (default `1MiB`): data estimated below it is not reported.
    {target_options}

    ## Platform notes
    {platform_table}

    ## Libraries
    Every process pool cowlint knows: `multiprocessing`, `concurrent.futures`,
    joblib (loky's workers import the modules of the functions they run; a
    script's functions, with a main guard or run at module level, travel by
    value through cloudpickle, so its data is not rebuilt),
    pathos's `ProcessPool` and mpire (where they do not fork); not pathos's
    `ParallelPool`, whose ppft servers get the function's source and import
    nothing of the parent's. Python 3.14's `InterpreterPoolExecutor`: a
    function sent by name makes each worker interpreter import the main
    script anew, rebuilding its data (and numpy or torch, which do not import
    in a worker interpreter, fail); a stateless function (no closure, no
    defaults, no globals) is sent as code and imports nothing. See
    docs/libraries.md.

    ## Verify
    `cowlint --verify script.py --compare spawn` measures each worker's
    memory with the default start method forced to spawn.

    ## Fix safety
    No automatic fix.

    ## References
    - https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods
    - https://numpy.org/doc/stable/reference/generated/numpy.load.html
    """

    code = "COW202"
    name = "heavy-import-under-spawn"
    summary = "Large data built at import time is rebuilt by every spawned worker."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        dispatch = self._unpinned_dispatch(module)
        if dispatch is None:
            return
        site, verdict, worker = dispatch
        served = [] if self._main_not_preloaded(module) else [t.label for t in module.start_of(site.start).other if t.preloaded]
        # a Python >= 3.14 fork server imported the script once, and its workers share that copy
        shared = f"; {' and '.join(served)}: the fork server builds it once, and its workers share it" if served else ""
        threshold = module.config.large_threshold
        for binding in self._import_time_assignments(module):
            assert binding.value is not None
            value = module.resolver.eval(binding.value, binding.eval_scope, binding.order)
            if not isinstance(value, Data) or value.memmap:
                continue
            if not value.bulk and (value.size is None or value.size < threshold):
                continue
            if not isinstance(binding.value, _BUILDERS) or (value.bulk and isinstance(binding.value, _LITERALS)):
                continue  # a name, view or container of data built elsewhere: built once, where that is
            count = site.receiver.workers
            size = size_text(value.size, value.bulk, memory="")  # what each worker rebuilds: memory only
            total = f" (~{format_size(value.size * count)} for {count})" if count and value.size else ""
            if site.receiver.api in apis.INTERPRETER_EXECUTORS:
                message = f"{binding.name} ({size}) is built at import: each worker interpreter of {worker} rebuilds it{total}"
                # neither loads in a subinterpreter (measured: numpy 2.5, Python 3.14)
                fails = "; numpy and torch do not import in a worker interpreter (ImportError)" if value.array or value.tensor else ""
                detail = (
                    f"{binding.name} = {module.code(binding.value, 40)}; {worker} is pickled by name ({site.api}), and each worker "
                    f"interpreter imports the module anew to find it{fails}"
                )
            else:
                message = f"{binding.name} ({size}) is built at import: each spawned worker of {worker} rebuilds it{total}"
                detail = (
                    f"{binding.name} = {module.code(binding.value, 40)}; {worker} is dispatched ({site.api}) without a pinned fork context, and every "
                    f"worker that is not forked re-imports the module; happens under {verdict.breaks_text()}{shared}"
                )
            yield Report(
                node=binding.value,
                message=message,
                detail=detail,
                fix=FIX_INTERPRETERS if site.receiver.api in apis.INTERPRETER_EXECUTORS else FIX,
                confidence=value.confidence,
                unsure=doubt_of(value.confidence, value.doubt),
                size_bytes=value.size * count if count and value.size else value.size,
            )

    @staticmethod
    def _unpinned_dispatch(module: ModuleContext) -> tuple[DispatchSite, StartVerdict, str] | None:
        """The first dispatch that makes workers import this module (one of its functions, or
        anything when the module is a script) without forking on every target."""
        unloaded = HeavyImportUnderSpawn._main_not_preloaded(module)
        for site in module.dispatch_sites:
            verdict = module.start_of(site.start)
            if not unloaded:
                verdict = verdict.reimporting()  # a Python 3.14 fork server builds it once, for all
            if verdict.always_forks or site.confidence != "high" or (site.receiver.library is not None and not site.receiver.library.imports_main):
                continue
            if site.receiver.api in apis.JOBLIB_PARALLEL and (module.facts.has_main_guard or site.scope.frame() is module.facts.scope):
                continue  # a script (its guard, or its work done at module level): cloudpickle sends its functions by value, its workers never import it
            interpreters = site.receiver.api in apis.INTERPRETER_EXECUTORS
            for _, worker in module.workers_of(site):
                # a worker interpreter gets a stateless function's code, and imports nothing for it
                if not worker.is_local and not (interpreters and stateless_reason(module.resolver, worker) == ""):
                    return site, verdict, f"{worker.method_of}.{worker.name}" if worker.method_of else worker.name
            if module.facts.has_main_guard and not interpreters:  # a script: spawned workers re-import it whatever they run
                return site, verdict, f"{module.code(site.call.func, 30)}'s work"
        return None

    @staticmethod
    def _main_not_preloaded(module: ModuleContext) -> bool:
        """``multiprocessing.set_forkserver_preload([...])`` with a literal list that leaves out
        ``"__main__"``, not under a condition: the fork server then never imports the script, and
        every worker does."""
        for call in module.facts.calls:
            func = call.node.func
            named = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            if named != "set_forkserver_preload" or not call.node.args or call.conditional:  # a branch may not run
                continue
            if module.resolver.qualname(func, call.scope, call.order) in apis.FORKSERVER_PRELOAD:
                names = call.node.args[0].value
                if isinstance(names, (cst.List, cst.Tuple)) and all(isinstance(e.value, cst.SimpleString) for e in names.elements):
                    if not any(e.value.evaluated_value == "__main__" for e in names.elements):  # type: ignore[attr-defined]
                        return True
        return False

    @staticmethod
    def _import_time_assignments(module: ModuleContext) -> Iterator[Binding]:
        for name in module.facts.scope.bindings:
            for binding in import_time_bindings(module.facts, name):
                if binding.kind == "assign" and binding.value is not None and not binding.loops:
                    yield binding
