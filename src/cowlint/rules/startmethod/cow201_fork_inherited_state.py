"""COW201 fork-inherited-state."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.dispatch import DispatchSite
from cowlint.engine.module.facts import MODULE, CallSite, Scope
from cowlint.engine.module.workers import (
    Callee,
    Fill,
    ForeignRead,
    GlobalRead,
    foreign_reads,
    import_time_text,
    project_function,
    reads_of_project_function,
    run_time_fills,
    set_by_workers,
    worker_globals,
)
from cowlint.rules.base import Report
from cowlint.rules.startmethod.common import StartMethodRule

FIX = (
    "pass the data to the workers explicitly (initializer=/initargs= that set the global in each worker, or the task arguments), "
    "or put it in multiprocessing.shared_memory; only if every target has fork (not Windows), pin multiprocessing.get_context(\"fork\")"
)
MAX_NAMED = 3


class ForkInheritedState(StartMethodRule):
    """
    ## What it does
    Finds worker functions that read a module global the parent fills at run
    time — assigned under `if __name__ == "__main__":`, assigned through a
    `global` statement in a function such as `main()`, or mutated there
    (`.update`, `.append`, `.extend`, `CACHE[key] = value`) — when the dispatch
    is not pinned to fork. The worker is the callable of a pool or executor
    call, the `target` of a `Process`, an `initializer`, or the `run` method of
    a `Process` subclass; the globals it reads through one level of helper
    functions of the module count too. State kept on a class of the module
    counts like a global: a worker reading `Registry.handlers` or
    `Cache.table` that the parent fills (`Registry.handlers[name] = handler`
    in `register_all()`, `Cache.table = load()` under the main guard) is
    reported the same way, and so is an attribute the parent sets on an
    object the module creates (`CONF.retries = 3` for `CONF = Config()`) or
    on a module of the project (`settings.SCALE = 10` after `import
    settings`). Globals set without naming them as a target count too:
    `globals()["TABLE"] = ...`, `globals().update(TABLE=...)`,
    `setattr(sys.modules[__name__], "TABLE", ...)`, and an object that
    `parser.parse_args(namespace=FLAGS)` (argparse) or `parse_args(values=...)`
    (optparse) fills in place.

    ## Why is this bad?
    A forked worker inherits the parent's memory, globals included, so the
    code works on Linux before Python 3.14. A spawned worker starts a fresh
    interpreter and re-imports the module; a forkserver worker is forked from
    a server that imported it (from Python 3.14, the main script once, when
    the server started; before, in each worker). Either way it sees the
    import-time value (`None`, an empty dict) instead of what the parent put
    there. The result is a crash (`'NoneType' object is not subscriptable`), a
    hang, or — worse — a silently wrong answer. This is what broke many
    projects when Python 3.14 made `forkserver` the default on Linux; it has
    always been the behaviour on macOS and Windows.

    Globals whose import-time value is the one the worker needs (constants,
    functions, classes, data built unconditionally at import) are fine, and so
    are globals the worker sets itself: in an `initializer`, or lazily on first
    use.

    ## Known problems
    Worker functions are followed through three levels of helper calls of
    their module. Inside a project, calls into the project's other modules are
    followed too (up to four modules deep): a worker calling
    `tmpfiles.get_tmp_filename()`, which reads `tmpfiles.TMPDIR` that
    `tmpfiles.init()` set in the parent, is reported. A fill in another module
    is taken to happen before the dispatch; files over 256 KiB and modules past
    the twelfth one linked for a module are not read.

    ## Example
    ```python
    import multiprocessing

    MODEL = None


    def predict(row):
        return MODEL.score(row)


    def load_model(path):
        return open(path).read()


    if __name__ == "__main__":
        MODEL = load_model("model.bin")
        with multiprocessing.Pool() as pool:
            print(pool.map(predict, range(10)))
    ```

    ## Use instead
    ```python
    import multiprocessing

    MODEL = None


    def load_model(path):
        return open(path).read()


    def init(path):
        global MODEL
        MODEL = load_model(path)


    def predict(row):
        return MODEL.score(row)


    if __name__ == "__main__":
        with multiprocessing.Pool(initializer=init, initargs=("model.bin",)) as pool:
            print(pool.map(predict, range(10)))
    ```

    Or, where fork is what you mean and every target has it, say so:
    `multiprocessing.get_context("fork").Pool()`.

    ## Options
    {target_options}

    ## Platform notes
    {platform_table}

    ## Libraries
    `multiprocessing` and `concurrent.futures` under their start methods;
    joblib's default loky backend, whose workers are fresh interpreters on
    every platform: a function of an importable module travels by reference
    and the worker imports the module anew, without what the parent set at
    run time (a module with a main guard is taken for a script, whose own
    functions cloudpickle sends by value with the globals they read; a thread
    backend shares them); pathos (multiprocess's start method); mpire (fork
    where the platform has it: Windows, or `start_method="spawn"`); Python
    3.14's `InterpreterPoolExecutor`, whose worker interpreters import the
    main module anew for a function sent by name. See docs/libraries.md.

    ## Verify
    `cowlint --verify script.py --compare spawn` runs the script again with
    the default start method forced to spawn and reports whether its output
    differs or it crashes, tied to this finding.

    ## Fix safety
    No automatic fix: moving state into an initializer changes when it is
    built.

    ## References
    - https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods
    - https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods
    - https://docs.python.org/3.14/whatsnew/3.14.html#multiprocessing
    """

    code = "COW201"
    name = "fork-inherited-state"
    summary = "A worker reads a global the parent fills at run time: only a forked worker sees it."

    def check(self, module: ModuleContext) -> Iterable[Report]:
        reported: set[int] = set()
        for site in module.dispatch_sites:
            verdict = module.start_of(site.start)
            if verdict.always_forks or site.confidence != "high":
                continue  # every target forks, or the receiver may be a thread pool
            # cloudpickle (joblib) sends a function of the main script by value, with the globals
            # it reads: a script's workers see the parent's values (copied, not inherited)
            by_value = site.receiver.api in apis.JOBLIB_PARALLEL and site.receiver.dill and module.facts.has_main_guard
            for payload, worker in module.workers_of(site):
                if id(payload.expr) in reported or by_value:
                    continue
                broken = [(read, fills) for read in worker_globals(module.resolver, worker) if (fills := self._fills(module, site, read))]
                whole = {read.name for read, _ in broken}  # FLAGS filled as a whole: FLAGS.depth says nothing more
                broken = [(read, fills) for read, fills in broken if read.name.split(".", 1)[0] not in whole or "." not in read.name]
                # globals of other project modules, read through their functions (the fill there
                # is taken to come first: the dispatch's module cannot order it)
                foreign = foreign_reads(module.resolver, worker)
                if broken or foreign:
                    reported.add(id(payload.expr))
                    yield self._report(module, site, payload.expr, _who(worker), broken, foreign, verdict.breaks_text())
            for payload in site.payloads:  # a worker imported from another module of the project
                if payload.role not in ("callable", "target", "initializer") or id(payload.expr) in reported:
                    continue
                qualname = project_function(module.resolver, payload.expr, site.scope, site.order)
                foreign = reads_of_project_function(module.resolver, qualname) if qualname else []
                if foreign:
                    reported.add(id(payload.expr))
                    yield self._report(module, site, payload.expr, module.code(payload.expr, 40), [], foreign, verdict.breaks_text())

    @staticmethod
    def _fills(module: ModuleContext, site: DispatchSite, read: GlobalRead) -> list[Fill]:
        dispatch = module.facts.call_site(site.call)
        fills = [f for f in run_time_fills(module.resolver, read.name, set(module.worker_side), module.code) if dispatch is None or ForkInheritedState._may_precede(module, f, dispatch)]
        if not fills:
            return []
        # the worker assigns the global itself (lazily, or in its initializer): it does not depend on the parent
        if set_by_workers(module.facts, read.name, module.worker_side):
            return []
        return fills

    @staticmethod
    def _may_precede(module: ModuleContext, fill: Fill, dispatch: CallSite) -> bool:
        """Whether the change can happen before the dispatch. When the change or the dispatch is in a
        function nothing in the module calls (an entry point for importers), it may; otherwise
        the flow must say so."""
        frame = dispatch.scope.frame()
        if fill.frame is not frame and (_unreached(module, fill.frame) or _unreached(module, frame)):
            return True
        return module.flow.precedes(fill.frame, fill.order, fill.frame.kind == MODULE, dispatch)

    @staticmethod
    def _report(
        module: ModuleContext, site: DispatchSite, node: cst.CSTNode, who: str, broken: list[tuple[GlobalRead, list[Fill]]], foreign: list[ForeignRead], breaks: str
    ) -> Report:
        described = []
        names = []
        seen = []
        related: list[tuple[cst.CSTNode, str]] = []
        for read, fills in broken:
            through = f", through {read.helper}()" if read.helper else ""
            names.append(read.name)
            seen.append(import_time_text(module.facts, read.name, module.code))
            described.append(f"{read.name} is {fills[0].how}{through}")
            if fills[0].node is not None:
                related.append((fills[0].node, f"{read.name} {fills[0].how}"))
            related.append((read.node, f"the worker reads {read.name} in {read.reader}()"))
        for item in foreign:
            through = f", through {item.through}()" if item.through.rsplit(".", 1)[-1] != who.rsplit(".", 1)[-1] else ""
            names.append(item.shown)
            seen.append(item.seen)
            described.append(f"{item.shown} is {item.how} in {item.module}{through}")
        more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
        on_attributes = not foreign and all("." in read.name for read, _ in broken)  # ``Registry.handlers``, ``CONF.retries``
        classes = {info.name for info in module.facts.classes.values() if info.outer is module.facts.scope}
        noun = ("class attribute" if all(read.name.split(".", 1)[0] in classes for read, _ in broken) else "attribute") if on_attributes else "global"
        interpreters = site.api.startswith("InterpreterPoolExecutor.")
        workers, one = ("worker interpreters", "a worker interpreter") if interpreters else ("spawned workers", "a spawned worker")
        if len(names) == 1:
            message = f"worker {who} reads {names[0]}, set by the parent at run time ({workers} see {seen[0]})"
        else:
            message = f"worker {who} reads {' and '.join(names[:MAX_NAMED])}{more}, set by the parent at run time"
            described = [f"{text} ({one} sees {value})" for text, value in zip(described, seen, strict=True)]
            noun += "s"
        it = "it" if len(names) == 1 else "them"
        detail = f"the {noun} {'; '.join(described)}; only a forked worker inherits {it} ({site.api}); breaks under {breaks}"
        return Report(node=node, message=message, detail=detail, fix=FIX, confidence=site.confidence, unsure=site.doubt, related=tuple(related))


def _who(worker: Callee) -> str:
    return f"{worker.method_of}.{worker.name}" if worker.method_of else worker.name


def _unreached(module: ModuleContext, frame: Scope) -> bool:
    """A function no call of the module runs."""
    return frame.kind != MODULE and id(frame.node) not in module.flow.reached_anywhere
