"""COW301 fork-without-gc-freeze."""

from __future__ import annotations

from collections.abc import Iterable

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.facts import CallSite
from cowlint.engine.module.fixes import InsertBefore
from cowlint.engine.module.heap import Heap
from cowlint.rules.base import Report, Rule
from cowlint.rules.prefilters import FORK

FIX = "call gc.freeze() right before the fork (best with gc.disable() before building the data and gc.enable() in each child)"


FIX_GUNICORN = (
    "define when_ready(server) in the configuration and call gc.freeze() there (the master runs it after preloading the app, "
    "before it forks the workers); gc.collect() first keeps garbage out of the frozen generation"
)


class ForkWithoutGcFreeze(Rule):
    """
    ## What it does
    Finds a fork — `os.fork()`, `os.forkpty()`, or a pool, executor, `Process`
    or manager whose start method forks on some target — that follows code
    building a large heap of objects the garbage collector tracks, with no
    `gc.freeze()` between them (or with a `gc.unfreeze()` after the freeze,
    which puts the objects back under the collector). A large heap is a
    comprehension or an `append` loop making at least 100,000 containers or
    instances (`[(i, [i]) for i in range(2_000_000)]`), or loaded data made of
    them: `json.load`, `pickle.load`, CSV rows, one container per line of a
    file. Loaded data of unknown size counts only before a deliberate fork
    (`os.fork()`, or a pool pinned to fork), where sharing it is the point;
    before a pool left to the default start method it may well be a small
    configuration file. Quiet when the child only replaces itself with another
    program: `pid = os.fork()` then `if pid == 0:` (or `if pid: return`
    followed by the child's code) running nothing but `os`/`signal` calls up
    to an `os.exec*()`. A `gc.unfreeze()` inside a branch (an `except` that
    re-raises, an early return) is not taken to reach the fork.

    Also a gunicorn configuration file (a module named `*gunicorn*.py` that sets
    gunicorn settings at module level) with `preload_app` on, or set from the
    environment, and more than one worker, where no hook calls `gc.freeze()`:
    the master imports the whole application, then forks every worker from it.
    The fix belongs in `when_ready(server)` (or `pre_fork`), which the master
    runs after loading the app and before forking; `post_fork` runs in the
    worker, after the copy.

    ## Why is this bad?
    A forked child shares the parent's memory until it writes to it. CPython's
    cyclic garbage collector writes: every collection touches the header of
    each tracked object it visits, so the first collection in each child copies
    every page holding the parent's heap. Measured on Python 3.11 with two fork
    workers: 2M small inherited lists cost 127 MB per worker once `gc.collect()`
    runs there, 2 MB when the parent called `gc.freeze()` before the fork.
    `gc.freeze()` moves every tracked object to a permanent generation the
    collector never visits.

    ## Known problems
    The order of statements is followed within a function and through calls of
    the module's own functions; a heap built in another module is not seen. A
    loaded file may be small. For gunicorn, the size of the preloaded app is
    not known (a small app loses little), `--preload` on a command line
    (Procfile, Dockerfile) is not read, and neither is uWSGI's `.ini`.

    ## Example
    ```python
    import json
    import os


    def serve(path):
        routes = json.load(open(path))
        for _ in range(4):
            if os.fork() == 0:
                handle_requests(routes)
                os._exit(0)


    def handle_requests(routes):
        pass
    ```

    ## Use instead
    ```python
    import gc
    import json
    import os


    def serve(path):
        gc.disable()  # no collection while the heap is built: no holes for the children to fill
        routes = json.load(open(path))
        gc.freeze()  # tracked objects move to the permanent generation
        for _ in range(4):
            if os.fork() == 0:
                gc.enable()
                handle_requests(routes)
                os._exit(0)


    def handle_requests(routes):
        pass
    ```

    ## Options
    None: a heap counts as large at 100,000 tracked objects, or when its size
    comes from loaded data.

    ## Platform notes
    Only forks copy on write. A pool or process whose start method is spawn or
    forkserver on every target is not reported; an unpinned one is reported
    when a target forks by default (Linux before Python 3.14).

    ## Libraries
    Forks by `os.fork` and by the process pools cowlint knows under fork
    (`multiprocessing`, `concurrent.futures`, pathos, mpire), and gunicorn's
    `preload_app = True`. joblib's loky workers are fresh interpreters: their
    heap is their own.

    ## Verify
    `cowlint --verify script.py --compare freeze` runs the script twice,
    with and without `gc.freeze()` injected right before every fork, and
    shows what each worker copied in each run.

    ## Fix safety
    `cowlint --fix` inserts `gc.freeze()` (and `import gc` if missing)
    immediately before the statement that forks. The fix is safe when that
    statement is in the same block as the fork; a fork in a one-line body
    (`if ready: pool = Pool()`) is left for you to fix. Freezing does not change
    what the program computes; objects frozen in the parent are never
    collected there (call `gc.unfreeze()` after the children exit if the parent
    lives on). The fix does only the freeze: COW302 then reports the freeze
    until `gc.disable()` runs before the build. A module that binds `gc` to
    something else gets no fix.

    ## References
    - https://docs.python.org/3/library/gc.html#gc.freeze
    - https://instagram-engineering.com/copy-on-write-friendly-python-garbage-collection-ad6ed5233ddf
    """

    code = "COW301"
    name = "fork-without-gc-freeze"
    summary = "A process forks after a large heap was built, without gc.freeze(): each child copies it."
    fix_availability = "sometimes"
    prefilter = FORK

    def check(self, module: ModuleContext) -> Iterable[Report]:
        preload = module.gunicorn_preload
        if preload is not None:
            hooks = f"its {' and '.join(preload.freeze_hooks)} hook never calls it" if preload.freeze_hooks else "no when_ready/pre_fork hook calls it"
            yield Report(
                node=preload.node,
                message=(
                    f"gunicorn preloads the app in the master and forks {preload.workers} without gc.freeze() ({hooks}): "
                    "the first garbage collection in each worker writes the header of every object of the preloaded app and copies its pages"
                ),
                fix=FIX_GUNICORN,
                confidence="medium",
            )
        heaps = module.heaps
        if not heaps:
            return
        freezes = [call.site for call in module.gc_calls if call.action == "freeze"]
        # an unfreeze in a branch (an except that re-raises, an early return) may never reach the fork
        unfreezes = [call.site for call in module.gc_calls if call.action == "unfreeze" and not call.site.conditional]
        for site, what, deliberate in module.forks:
            if module.flow.child_only_execs(site):
                continue  # the child replaces itself with another program: nothing of the heap is kept
            # loaded data of unknown size counts only where the fork is meant to share it
            candidates = [heap for heap in heaps if heap.count is not None or deliberate]
            found = next(((heap, why) for heap in candidates if (why := self._unfrozen_before(module, heap, site, freezes, unfreezes))), None)
            if found is None:
                continue
            heap, why = found
            message = (
                f"{what} forks after {heap.name} was built ({heap.what}) with {why}: the first garbage "
                "collection in each child writes the header of every tracked object and copies its pages "
                "(2M small lists: ~127 MB per worker, ~2 MB after gc.freeze())"
            )
            fix = InsertBefore(site.node, "gc.freeze()", ("gc",), "insert gc.freeze() before the fork") if self._gc_is_free(module) else None
            related = ((heap.node, f"{heap.name} is built here ({heap.what})"),)
            yield Report(node=site.node, message=message, fix=FIX, confidence="high" if heap.count else "medium", autofix=fix, related=related)

    @staticmethod
    def _gc_is_free(module: ModuleContext) -> bool:
        """Whether ``gc`` at module level can only be the gc module (the fix imports and calls it)."""
        return all(binding.kind == "import" and binding.qualname == "gc" for binding in module.facts.scope.bindings.get("gc", ()))

    @staticmethod
    def _unfrozen_before(module: ModuleContext, heap: Heap, fork: CallSite, freezes: list[CallSite], unfreezes: list[CallSite]) -> str:
        """Why ``heap`` is not frozen when ``fork`` runs (empty when it is frozen, or built after)."""
        flow = module.flow

        def before(first: CallSite, then: CallSite) -> bool:
            return flow.precedes(first.scope.frame(), first.order, first.guarded, then)

        if not flow.precedes(heap.frame, heap.order, heap.guarded, fork):
            return ""
        between = [freeze for freeze in freezes if flow.precedes(heap.frame, heap.order, heap.guarded, freeze) and before(freeze, fork)]
        undone = [freeze for freeze in between if any(before(freeze, unfreeze) and before(unfreeze, fork) for unfreeze in unfreezes)]
        if not between:
            return "no gc.freeze() in between"
        return "its gc.freeze() undone by gc.unfreeze() before the fork" if len(undone) == len(between) else ""
