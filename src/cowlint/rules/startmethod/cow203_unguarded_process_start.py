"""COW203 unguarded-process-start."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from cowlint.engine.finding import doubt_of
from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.facts import MODULE, Scope
from cowlint.engine.module.values import StartMethod
from cowlint.engine.module.workers import stateless_reason
from cowlint.rules.base import Report
from cowlint.rules.startmethod.common import StartMethodRule

FIX = 'move the code that starts processes into a function (e.g. main()) and call it under if __name__ == "__main__":'
_KIND = {
    "pool": "a process pool",
    "executor": "a process pool executor",
    "interpreters": "an interpreter pool executor",
    "process": "a process",
    "manager": "a manager's server process",
}


class UnguardedProcessStart(StartMethodRule):
    """
    ## What it does
    Finds a process pool, a `ProcessPoolExecutor` or a `Process` made at
    module level without the `if __name__ == "__main__":` guard — directly,
    or by calling at module level a function of the module that makes one
    (`main()` without the guard). A PyTorch `DataLoader` with
    `num_workers > 0` starts its workers where it is iterated (`for batch in
    loader`, `enumerate(loader)`, `next(iter(loader))`): that loop is what
    must not run at module level. Quiet inside functions and classes, under
    the guard (written `if __name__ == "__main__":` with either quoting, or
    `if "__main__" == __name__:`), and for pools pinned to fork.

    ## Why is this bad?
    A spawned or forkserver child imports the main module again (as
    `__mp_main__`) to find the function it runs; from Python 3.14 the fork
    server imports it once, before it forks any child (measured: the same
    failure, in the server). Module-level code runs again there: it tries to start processes of its own while it is still
    bootstrapping, and fails with "An attempt has been made to start a new
    process before the current process has finished its bootstrapping phase"
    (or, without that check, forks recursively). With fork the child never
    re-imports, so the code seems fine on Linux before Python 3.14.

    ## Known problems
    Only processes the module starts itself, or through functions of the same
    module called at module level, are seen; a helper imported from another
    module that starts a pool is not followed.

    ## Example
    ```python
    from multiprocessing import Pool


    def square(x):
        return x * x


    with Pool(4) as pool:
        print(pool.map(square, range(10)))
    ```

    ## Use instead
    ```python
    from multiprocessing import Pool


    def square(x):
        return x * x


    def main():
        with Pool(4) as pool:
            print(pool.map(square, range(10)))


    if __name__ == "__main__":
        main()
    ```

    ## Options
    {target_options}

    ## Platform notes
    {platform_table}

    ## Libraries
    `multiprocessing`, `concurrent.futures`, pathos and mpire (where they do
    not fork). pathos and mpire pools start their workers on their first map,
    which is reported (making the pool is harmless). joblib's loky backend and
    pathos's `ParallelPool` (ppft servers) do not re-run the main module in
    their workers: not reported. Python 3.14's `InterpreterPoolExecutor`
    is reported on its first `submit` or `map` at module level when it sends
    a function by name: each worker interpreter imports the script anew to
    find it and reaches the executor again (measured: `NotShareableError`);
    a stateless function (no closure, no defaults, no globals) is sent as
    code, nothing is imported, and it is quiet. See docs/libraries.md.

    ## Verify
    `cowlint --verify script.py --compare spawn` runs the script under spawn;
    the bootstrapping error shows in the report.

    ## Fix safety
    No automatic fix.

    ## References
    - https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods
    """

    code = "COW203"
    name = "unguarded-process-start"
    summary = 'Processes are started at module level without the if __name__ == "__main__": guard.'

    def check(self, module: ModuleContext) -> Iterable[Report]:
        starting: dict[int, _Start] = {}  # function node id -> a start inside it
        for start in self._starts(module):
            if module.start_of(start.start).always_forks:
                continue
            if start.frame.kind == MODULE:
                if not start.guarded:
                    yield self._report(module, start, start.node, None)
            elif isinstance(start.frame.node, cst.FunctionDef):
                starting.setdefault(id(start.frame.node), start)
        if not starting:
            return
        module_scope = module.facts.scope
        for site in module.facts.calls:
            if site.scope.frame() is not module_scope or site.guarded:
                continue
            for reached in module.flow.reach(site):
                if reached in starting:
                    yield self._report(module, starting[reached], site.node, module.code(site.node.func, 30))
                    break

    @staticmethod
    def _starts(module: ModuleContext) -> list[_Start]:
        """Where processes start: pools, Processes and managers when made; an executor's
        workers on its first submit or map (making one at module level is harmless); a
        DataLoader's workers where it is first iterated."""
        starts = []
        for made in module.process_starts:
            if made.made.kind != "executor" and made.made.library is None:  # pathos and mpire pools start on their first dispatch
                what = _KIND.get(made.made.kind, "a process")
                how = module.code(made.site.node.func, 30)
                doubt = doubt_of(made.made.confidence, made.made.doubt)
                direct = f"{what} is started at module level"
                starts.append(_Start(made.site.node, made.site.scope.frame(), made.site.guarded, made.start, direct, what, how, made.made.confidence, doubt))
        first: set[tuple[int, str]] = set()  # a lazy pool starts its workers on its first dispatch in a frame
        for site in module.dispatch_sites:
            library = site.receiver.library
            lazy = library is not None and library.lazy and library.imports_main
            interpreters = site.api.startswith("InterpreterPoolExecutor.")
            if interpreters and all(stateless_reason(module.resolver, worker) == "" for _, worker in module.workers_of(site)):
                continue  # a stateless function's code is shared: the worker interpreters import nothing
            executor = site.receiver.kind == "executor" and (site.api.startswith("ProcessPoolExecutor.") or interpreters)
            if (lazy or executor) and site.confidence == "high":
                call_site = module.facts.call_site(site.call)
                receiver = module.code(site.call.func.value, 60) if isinstance(site.call.func, cst.Attribute) else ""
                if call_site is not None and (receiver == "" or (id(call_site.scope.frame()), receiver) not in first):
                    first.add((id(call_site.scope.frame()), receiver))
                    what, how = _KIND["pool" if lazy else "interpreters" if interpreters else "executor"], module.code(site.call.func, 30)
                    children = "worker interpreters" if interpreters else "spawned children"
                    starts.append(_Start(site.call, call_site.scope.frame(), call_site.guarded, site.start, f"{what} starts its workers at module level", what, how, "high", children=children))
        for loader in module.data_loaders:
            if not loader.has_workers:
                continue
            what = f"a DataLoader with {loader.workers_text}"
            direct = f"iterating {what} starts its workers at module level"
            seen: set[int] = set()
            for iteration in loader.iterations:  # the first in each body that iterates it
                if id(iteration.frame) not in seen and not (iteration.frame.kind == MODULE and iteration.guarded):
                    seen.add(id(iteration.frame))
                    starts.append(_Start(iteration.node, iteration.frame, iteration.guarded, loader.start, direct, f"the worker processes of {what}", "by iterating it", "high"))
        return starts

    @staticmethod
    def _report(module: ModuleContext, start: _Start, node: cst.CSTNode, through: str | None) -> Report:
        verdict = module.start_of(start.start)
        where = start.direct if through is None else f"{through}() starts {start.what} and is called at module level"
        message = f"{where}, outside the main guard: {start.children} re-run it and fail"
        started = f"{through}() starts them {start.how}; " if through is not None else ""
        detail = (
            f'{started}not under if __name__ == "__main__": a child that is not forked re-imports this module and runs it again, '
            f"failing while it bootstraps; breaks under {verdict.breaks_text()}"
        )
        return Report(node=node, message=message, detail=detail, fix=FIX, confidence=start.confidence, unsure=start.doubt)


@dataclass(frozen=True)
class _Start:
    """Where processes start, and how to say it."""

    node: cst.CSTNode  # reported when the start is at module level
    frame: Scope
    guarded: bool
    start: StartMethod
    direct: str  # "a process pool is started at module level"
    what: str  # "a process pool"
    how: str  # the call that starts it, as source
    confidence: str
    doubt: str = ""  # with medium confidence: why
    children: str = "spawned children"  # who re-runs the module: "worker interpreters" for an InterpreterPoolExecutor
