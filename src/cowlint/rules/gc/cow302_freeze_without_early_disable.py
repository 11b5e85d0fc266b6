"""COW302 freeze-without-early-disable."""

from __future__ import annotations

from collections.abc import Iterable

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.facts import CallSite
from cowlint.engine.module.heap import Heap, disabled_before
from cowlint.rules.base import Report, Rule

FIX = "call gc.disable() before building the data (and gc.enable() in the children), and do not call gc.collect() between building it and gc.freeze()"


class FreezeWithoutEarlyDisable(Rule):
    """
    ## What it does
    Finds a `gc.freeze()` that comes after a large heap was built while the
    collector was enabled (no `gc.disable()` before the heap), and a
    `gc.collect()` run between the heap and the freeze.

    ## Why is this bad?
    `gc.freeze()` keeps the collector away from the objects it freezes, so the
    children do not write their headers. But collections that ran while the
    heap was being built freed objects in the middle of its pages; the freed
    slots are reused by the first allocations in each child, which writes
    those shared pages and copies them. A `gc.collect()` right before the
    freeze does the same on purpose. CPython's documentation of `gc.freeze()`
    recommends disabling the collector early in the parent, freezing right
    before the fork and enabling it again in the children.

    ## Known problems
    The same heap facts as COW301: a heap built in another module is not seen.

    ## Example
    ```python
    import gc
    import os


    def serve():
        table = [[i] for i in range(1_000_000)]
        gc.collect()
        gc.freeze()
        if os.fork() == 0:
            print(len(table))
            os._exit(0)
    ```

    ## Use instead
    ```python
    import gc
    import os


    def serve():
        gc.disable()
        table = [[i] for i in range(1_000_000)]
        gc.freeze()
        if os.fork() == 0:
            gc.enable()
            print(len(table))
            os._exit(0)
    ```

    ## Options
    None.

    ## Platform notes
    Matters wherever the processes fork: `os.fork()`, pools pinned to fork,
    and unpinned pools on Linux before Python 3.14.

    ## Libraries
    Independent of the pool: it reads the `gc` calls around the heap's build.

    ## Verify
    `cowlint --verify script.py --compare freeze` shows what each worker
    copied as the script is, and with `gc.freeze()` injected right before
    every fork.

    ## Fix safety
    No automatic fix: where the build starts is a judgement call.

    ## References
    - https://docs.python.org/3/library/gc.html#gc.freeze
    """

    code = "COW302"
    name = "freeze-without-early-disable"
    summary = "gc.freeze() after the collector ran during the build (or right before it): children copy the holes."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        calls = module.gc_calls
        freezes = [call.site for call in calls if call.action == "freeze"]
        if not freezes:
            return
        disables = [call.site for call in calls if call.action == "disable"]
        collects = [call.site for call in calls if call.action == "collect"]
        for freeze in freezes:
            built = [heap for heap in module.heaps if self._before(module, heap, freeze)]
            if not built:
                continue
            here = [heap.order for heap in built if heap.frame is freeze.scope.frame()]
            for collect in collects:
                if here and collect.scope.frame() is freeze.scope.frame() and max(here) < collect.order < freeze.order:
                    yield Report(
                        node=collect.node,
                        message=(
                            f"{module.code(collect.node)} between building the data and {module.code(freeze.node)}: "
                            "the children fill and copy the holes it leaves"
                        ),
                        detail="the objects it frees leave holes in the shared pages, which the children's allocations fill, copying those pages",
                        fix=FIX,
                    )
            unguarded = next((heap for heap in built if not disabled_before(module.flow, disables, heap)), None)
            if unguarded is not None:
                yield Report(
                    node=freeze.node,
                    message=f"{module.code(freeze.node)} after {unguarded.name} was built with the collector on: the children fill and copy its holes",
                    detail=(
                        f"{unguarded.name} holds {unguarded.what}; collections during the build freed objects inside the shared pages, "
                        "and the children's allocations fill and copy them"
                    ),
                    fix=FIX,
                )

    @staticmethod
    def _before(module: ModuleContext, heap: Heap, site: CallSite) -> bool:
        return module.flow.precedes(heap.frame, heap.order, heap.guarded, site)
