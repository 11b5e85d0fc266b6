"""COW205 fork-after-threads."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.facts import CallSite
from cowlint.engine.module.flow import ThreadStart
from cowlint.rules.base import Report
from cowlint.rules.startmethod.common import StartMethodRule

FIX = (
    "start the processes before any thread, or join the threads first; if the workers need nothing the parent set up at run time, "
    'a start method that does not fork avoids it too: multiprocessing.get_context("forkserver")'
)
FIX_OS = "fork before starting threads (or join them first), or start the child with subprocess or multiprocessing's forkserver/spawn"


class ForkAfterThreads(StartMethodRule):
    """
    ## What it does
    Finds a fork that happens while threads started earlier in the module's
    flow may still run: `os.fork()`, `os.forkpty()`, a process pool, executor
    or `Process` pinned to fork, or one left to the default start method when
    the targets include Linux before Python 3.14 (where the default is fork).
    Threads are `threading.Thread(...).start()`,
    `threading.Timer(...).start()`, a `ThreadPoolExecutor`, a
    `multiprocessing.pool.ThreadPool` or a `logging.handlers.QueueListener`
    (`.start()`), started earlier in the same function or module body, or in a
    function called before; threads joined (`t.join()`, `executor.shutdown()`,
    the end of a `with ThreadPoolExecutor()` block, `listener.stop()`) before
    the fork do not count. A function of another module of the project that
    returns, or yields to a `with` block, while a thread it started still runs
    starts threads where it is called (`with heartbeat():` for a
    `@contextmanager` that starts one before its `yield`; `start_reporter()`
    returning a started `Timer`); one that joins its thread before it returns
    does not.

    ## Why is this bad?
    `fork()` copies only the calling thread. Every lock another thread held at
    that moment — in `logging`, in `malloc`, in an import, in your own code —
    stays locked forever in the child, which then hangs the first time it
    needs that lock. Python 3.12 and later emit a `DeprecationWarning` when a
    process with several threads forks ("use of fork() may lead to
    deadlocks in the child"); that possibility is also why Python 3.14 moved
    Linux to `forkserver`.

    ## Known problems
    Threads started by libraries (a gRPC channel, a database driver, OpenMP
    in numpy) are invisible to a static check; the DeprecationWarning at run
    time catches those.

    ## Example
    ```python
    import threading
    from multiprocessing import Pool


    def heartbeat():
        pass


    def work(x):
        return x + 1


    def main():
        threading.Thread(target=heartbeat, daemon=True).start()
        with Pool(4) as pool:
            return pool.map(work, range(100))
    ```

    ## Use instead
    ```python
    import multiprocessing
    import threading


    def heartbeat():
        pass


    def work(x):
        return x + 1


    def main():
        context = multiprocessing.get_context("forkserver")
        threading.Thread(target=heartbeat, daemon=True).start()
        with context.Pool(4) as pool:
            return pool.map(work, range(100))
    ```

    ## Options
    {target_options}

    ## Platform notes
    {platform_table}

    `os.fork()` forks on every platform that has it.

    ## Libraries
    Forks by `os.fork`, `os.forkpty`, `pty.fork`, `gevent.fork` and by the
    process pools cowlint knows under fork (`multiprocessing`, pathos, mpire);
    joblib's loky workers are not forks of the parent.

    ## Verify
    `cowlint --verify` does not measure this one: a deadlock after a fork is
    a race, not a cost, so the finding is listed as not observed.

    ## Fix safety
    No automatic fix.

    ## References
    - https://docs.python.org/3/library/os.html#os.fork
    - https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods
    - https://discuss.python.org/t/concerns-regarding-deprecation-of-fork-with-alive-threads/33555
    """

    code = "COW205"
    name = "fork-after-threads"
    summary = "A process forks while threads started earlier may hold locks: deadlock risk."
    # a fork (os.fork, or a process start: multiprocessing's API and its aliases); the thread may
    # start in another module of the project (``with heartbeat():``), so its name is not asked for

    def check(self, module: ModuleContext) -> Iterable[Report]:
        forking = [start for start in module.process_starts if module.start_of(start.start).may_fork]
        os_forks = module.flow.os_forks()
        if not forking and not os_forks:
            return  # nothing forks: where threads start need not be asked (nor other modules read)
        threads = module.flow.thread_starts()
        if not threads:
            return
        for start in forking:
            verdict = module.start_of(start.start)
            thread = self._running(module, threads, start.site)
            if thread is not None:
                what = f"{start.made.api.rsplit('.', 1)[-1]}(...)" if start.made.subclass is None else f"{start.made.subclass.name}(...)"
                forks = f"pinned to fork by {start.start.how}" if start.start.method == "fork" else f"fork is the default start method on {verdict.forks_text()}"
                message = f"{what} forks while a thread may run ({self._thread_text(module, thread)} earlier): deadlock risk"
                related = ((thread.site.node, "a thread starts here"),)
                yield Report(node=start.site.node, message=message, detail=f"{self._danger()}; {forks}", fix=FIX, confidence=start.made.confidence, related=related)
        for fork in os_forks:
            thread = self._running(module, threads, fork.site)
            if thread is not None:
                message = f"{module.code(fork.site.node.func, 20)}() while a thread may run ({self._thread_text(module, thread)} earlier): deadlock risk"
                yield Report(node=fork.site.node, message=message, detail=self._danger(), fix=FIX_OS, related=((thread.site.node, "a thread starts here"),))

    @staticmethod
    def _running(module: ModuleContext, threads: list[ThreadStart], site: CallSite) -> ThreadStart | None:
        return next((thread for thread in threads if module.flow.running_before(thread, site)), None)

    @staticmethod
    def _thread_text(module: ModuleContext, thread: ThreadStart) -> str:
        node: cst.CSTNode = thread.site.node
        if thread.inside:
            return f"{module.code(node.func, 30)}() starts {thread.inside}"  # type: ignore[attr-defined]
        text = module.code(node, 60)
        if len(text) <= 40 or not isinstance(node, cst.Call):
            return text
        func = node.func  # keep the callees whole, drop the arguments: threading.Thread(...).start()
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            return f"{module.code(func.value.func, 40)}(...).{func.attr.value}()"
        return f"{module.code(func, 40)}(...)"

    @staticmethod
    def _danger() -> str:
        return "the child keeps only the forking thread, and any lock another thread held stays locked in it (DeprecationWarning since Python 3.12)"
