"""COW301 fork-without-gc-freeze."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import libcst as cst

from cowlint.engine.module.context import ModuleContext
from cowlint.engine.module.facts import CallSite, Scope
from cowlint.engine.module.fixes import Fix, InsertBefore, lands, leaves_between, out_of_loops, sibling_holding, statement_of
from cowlint.engine.module.heap import Heap, disabled_before
from cowlint.rules.base import Report, Rule

FIX = "call gc.freeze() right before the fork (best with gc.disable() before building the data, and gc.enable() after the freeze)"


WHY_SHORT = {
    "no gc.freeze() in between": "without gc.freeze()",
    "its gc.freeze() undone by gc.unfreeze() before the fork": "its gc.freeze() undone by gc.unfreeze()",
}

FIX_GUNICORN = (
    "define when_ready(server) in the configuration and call gc.freeze() there (the master runs it after preloading the app, "
    "before it forks the workers), with no gc.collect() just before it: what a collection frees leaves holes in the shared pages that the workers fill and copy"
)


FIX_CELERY = (
    "call gc.freeze() in a handler of celery.signals.worker_init (`@worker_init.connect` on `def freeze(**kwargs)`: the master runs it "
    "once the task modules are imported, before the pool forks) or of worker_process_init (each worker, before its first collection)"
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
    re-raises, an early return) is not taken to reach the fork. Quiet too when
    the pool or executor's `initializer` is `gc.freeze` or a function of the
    module that calls it: each worker freezes what it inherited before its
    first collection, which keeps the heap shared as well as a freeze in the
    parent (measured: 1 MiB copied per worker against 127 MiB).

    Also a gunicorn configuration file (a module named `*gunicorn*.py` that sets
    gunicorn settings at module level) with `preload_app` on, or set from the
    environment, and more than one worker, where no hook calls `gc.freeze()`:
    the master imports the whole application, then forks every worker from it.
    The fix belongs in `when_ready(server)` (or `pre_fork`, or `on_starting`,
    which gunicorn runs after the preload too), which the master runs after
    loading the app and before forking; `post_fork(server, worker)` and
    `post_worker_init(worker)` work too: each worker runs them before it
    serves anything, so before its first collection (a freeze in a later
    hook, `pre_request` or `worker_exit`, comes too late). When the file names the app (`wsgi_app =
    "shop.wsgi:application"`), the message names it, and the app module is
    looked for in the project (from `chdir`, `pythonpath` and the file's
    folder): a `gc.freeze()` in its import-time code, which the master runs
    while preloading, is a fix too, and quiets the finding.

    And a uWSGI configuration (an `.ini` file named `*uwsgi*`, or any `.ini`
    named on the command line; a `.yaml`, `.yml`, `.json` or `.xml` file named
    `*uwsgi*`; read as text, never run) whose `uwsgi` section loads an app (`module`, `wsgi`, `wsgi-file`, `file`; found from
    `chdir` or the file's folder) into more than one worker (`processes`,
    `workers`) without `lazy-apps`, when the app module's import-time code
    never calls `gc.freeze()`: uWSGI imports the app once and forks every
    worker from it, and it has no hook a configuration can point at, so the
    fix is `gc.freeze()` at the end of the app module (or `lazy-apps = true`,
    which loads the app in each worker and shares nothing).

    And the same servers started from a command line in a `Procfile`, a
    Dockerfile's `CMD`/`ENTRYPOINT` (shell or exec form, also inside
    `sh -c "..."`), a Compose file's `command:`/`entrypoint:` or a shell script
    (`*.sh`, `*.bash`: every line): `gunicorn --preload -w 4 shop.wsgi:application` (workers
    over one, or from a variable; without `-w`, gunicorn's `WEB_CONCURRENCY`:
    a Dockerfile's `ENV` or a script's `export` of it, and in a Procfile the
    one Heroku sets) and `uwsgi --processes 4 --module
    shop.wsgi`, when the app is found in the project and never freezes at
    import, and no `-c` configuration file given with gunicorn calls
    `gc.freeze()` (an `--ini` file given to uWSGI is read for itself).

    And a Celery app (`app = Celery(...)`, a subclass of it, or a function of the
    module that makes one, called at import) whose module connects no
    `gc.freeze()` to a signal sent in time: Celery's worker imports the app
    and its task modules in its master, then its prefork pool forks
    `worker_concurrency` children from it (one per CPU by default). A freeze
    works in a handler of `celeryd_init`, `worker_init` or `celeryd_after_setup`
    (the master, after the imports, before the pool starts),
    `worker_before_create_process` (the master, before each fork; sent by the
    asynchronous pool an AMQP or Redis worker runs), or `worker_process_init`
    (each child, before its first collection). One in `worker_ready`,
    `task_prerun` and the later signals comes after the children collected.
    Quiet when the module, or the configuration module it loads
    (`app.config_from_object("shop.celeryconfig")`, or Django's settings
    through `DJANGO_SETTINGS_MODULE`, with `namespace="CELERY"` read as
    `CELERY_WORKER_POOL`; read as text, never imported), sets a pool that does
    not fork (`app.conf.worker_pool = "threads"`, `solo`, `gevent`,
    `eventlet`), one child
    (`worker_concurrency = 1`) or spawned children
    (`worker_pool_start_method = "spawn"`), when every `celery -A app worker`
    command line of the project that loads the module (shell scripts,
    Makefiles, Procfiles, Dockerfiles, Compose, Kubernetes, supervisord and
    systemd files, read as text) runs such a pool or `-c 1` (a command with
    `-c 4` gives the message its count), and for the apps of tests, examples and
    benchmarks (their folders), which no one deploys. Measured with Celery 5.7,
    two children, 300,000 small tuples imported by the master: each child holds
    55 MiB privately after a full collection with no freeze or a freeze in
    `worker_ready`, 5.5 MiB with one in `worker_init` or `worker_process_init`.

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
    not known (a small app loses little). gunicorn and uWSGI command lines
    are read in Procfiles, Dockerfiles, Compose files and shell scripts (not
    in systemd units or `GUNICORN_CMD_ARGS`); a gunicorn command without `-w`
    in a Procfile is taken for Heroku's, whose `WEB_CONCURRENCY` is over one,
    though another platform running the Procfile may leave it unset (one
    worker). A `noqa` comment cannot
    be put in a uWSGI JSON or XML file (use `per-file-ignores`). An app that uWSGI
    cannot be seen to find in the project (a `%(...)` placeholder, a module
    outside it) is left alone. A Celery worker's pool set in a way cowlint does
    not read (an object given to `config_from_object`, a value computed at run
    time, a YAML list of arguments, a variable on the command line) is not
    seen; a freeze in a handler of another module is not seen either,
    but a `gc.freeze()` anywhere in the app's module except a late signal's
    handler quiets the finding.

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

    Celery, in the module that makes the app:
    ```python
    import gc

    from celery import Celery
    from celery.signals import worker_init

    app = Celery("shop")


    @worker_init.connect
    def freeze(**kwargs):  # the master, once the task modules are imported, before the pool forks
        gc.freeze()
    ```

    gunicorn, in its configuration file (`gunicorn.conf.py`):
    ```python
    import gc

    preload_app = True
    workers = 8


    def when_ready(server):  # the master, after loading the app, before forking
        gc.freeze()
    ```

    uWSGI, at the end of the app module its `.ini` names (`module =
    shop.wsgi:application`), which the master imports once before forking;
    or `lazy-apps = true` in the `.ini`, which loads the app in each worker:
    ```python
    import gc

    gc.disable()  # no collection while the app is built: no holes to fill
    application = make_app()
    gc.freeze()
    gc.enable()
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
    (`multiprocessing`, `concurrent.futures`, pathos, mpire), gunicorn's
    `preload_app = True` (in its configuration file, or `--preload` in a
    Procfile, Dockerfile or Compose file), and uWSGI's preloaded apps (`.ini`, or its
    options on such a command line), and Celery's prefork pool (billiard) with
    the app's signal handlers and the project's `celery worker` command lines.
    joblib's loky workers are fresh interpreters: their heap is their own.

    ## Verify
    `cowlint --verify script.py --compare freeze` runs the script twice,
    with and without `gc.freeze()` injected right before every fork, and
    shows what each worker copied in each run.

    ## Fix safety
    `cowlint --fix` inserts `gc.disable()` before the statement that builds
    the heap, and `gc.freeze()` then `gc.enable()` before the statement that
    forks, or before the loop of forks, so the heap is frozen once (with
    `import gc` if missing, or through an existing `import gc as name`). The
    collector never runs during the build, so it leaves no holes in the heap's
    pages (COW302 stays quiet); the children start with it enabled, as before,
    and neither they nor the parent visit the frozen objects again. Where a
    `gc.disable()` already runs before the build, only the freeze is inserted.

    The fix is **safe** when the build and the fork are in one block with no
    `return`, `raise`, `yield`, `break` or `continue` between them: every path
    that does not raise enables the collector again. It is **unsafe**
    (`--fix --unsafe-fixes`) when the build is elsewhere: at the module's top
    level with the fork under the main guard (importing the module would leave
    the collector off), in another function, or in an enclosing block. If the
    build raises, the collector stays off while the exception propagates.
    Objects frozen in the parent are never collected there (call
    `gc.unfreeze()` after the children exit if the parent lives on). A fork in a
    one-line body (`if ready: pool = Pool()`) gets no fix, nor does a module
    that binds `gc` to something else and has no `import gc as name`.

    ## References
    - https://docs.python.org/3/library/gc.html#gc.freeze
    - https://instagram-engineering.com/copy-on-write-friendly-python-garbage-collection-ad6ed5233ddf
    """

    code = "COW301"
    name = "fork-without-gc-freeze"
    summary = "A process forks after a large heap was built, without gc.freeze(): each child copies it."
    fix_availability = "sometimes"

    def check(self, module: ModuleContext) -> Iterable[Report]:
        preload = module.gunicorn_preload
        if preload is not None:
            hooks = f"its {' and '.join(preload.freeze_hooks)} hook never calls it" if preload.freeze_hooks else "no when_ready/pre_fork/on_starting/post_fork hook calls it"
            if preload.misplaced:
                hooks += f" ({'; '.join(preload.misplaced)})"
            app = f"the app ({preload.app})" if preload.app else "the app"
            advice = FIX_GUNICORN
            if preload.app_path is not None:
                shown = os.path.relpath(preload.app_path, Path(module.path).resolve().parent)
                hooks += f", nor does the import-time code of {shown}"
                advice += f"; or call gc.freeze() at the end of {shown} (the master imports it once, before forking)"
            yield Report(
                node=preload.node,
                message=f"gunicorn preloads {app} and forks {preload.workers} without gc.freeze(): each worker's first collection copies it",
                detail=f"{hooks}; the first garbage collection in each worker writes the header of every object of the preloaded app and copies its pages",
                fix=advice,
                confidence="medium",
                unsure="how much the app holds is not known from its configuration",
            )
        celery = module.celery_prefork
        if celery is not None:
            if celery.misplaced:
                why = "; ".join(celery.misplaced)
            elif celery.handled:
                why = f"its {' and '.join(celery.handled)} handler never calls it"
            else:
                why = "no handler of worker_init, worker_process_init or another signal sent before the workers' first collection calls it"
            if celery.command is not None:
                why += f" ({celery.command} starts them with the prefork pool)"
            yield Report(
                node=celery.node,
                message=f"Celery forks {celery.workers}, no gc.freeze(): each one's first collection copies the app",
                detail=(
                    f"{why}; the worker's master imports the app ({celery.app}) and its task modules, then its prefork pool forks each worker from it, and the first "
                    "garbage collection in each worker writes the header of every object it inherited and copies its pages"
                ),
                fix=FIX_CELERY,
                confidence="medium",
                unsure="how much the master holds is not known, and its pool may be set elsewhere (-P/--pool on the command line, a configuration module)",
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
            if _frozen_by_initializer(module, site, freezes):
                continue  # each worker freezes what it inherited before its first collection
            # loaded data of unknown size counts only where the fork is meant to share it
            candidates = [heap for heap in heaps if heap.count is not None or deliberate]
            candidates.sort(key=lambda heap: heap.count is None)  # name the heap whose size is known first
            found = next(((heap, why) for heap in candidates if (why := self._unfrozen_before(module, heap, site, freezes, unfreezes))), None)
            if found is None:
                continue
            heap, why = found
            message = f"{what} forks after {heap.name} was built, {WHY_SHORT[why]}: each child's first collection copies it"
            detail = (
                f"{heap.name} holds {heap.what}; the first garbage collection in each child writes the header of every tracked object "
                f"and copies its pages (`cowlint --verify` measures how much, with and without gc.freeze())"
            )
            fix = self._fix(module, heap, site)
            related = ((heap.node, f"{heap.name} is built here ({heap.what})"),)
            yield Report(
                node=site.node,
                message=message,
                detail=detail,
                fix=FIX,
                confidence="high" if heap.count else "medium",
                unsure=f"how many objects {heap.name} holds is not known statically: it may be few",
                autofix=fix,
                related=related,
            )

    @staticmethod
    def _fix(module: ModuleContext, heap: Heap, site: CallSite) -> Fix | None:
        """Freeze once before the fork (before the loop of forks), and keep the collector off
        while the heap is built: ``gc.disable()`` before the statement that builds it,
        ``gc.enable()`` after the freeze. Safe when the build and the fork are in one block
        with nothing between them that leaves it (the collector is on again on every path
        that does not raise); unsafe when the build is elsewhere (another block, function or
        the module's top level: a path that skips the fork would leave the collector off)."""
        name = _gc_name(module)
        tree = module.module
        statement = statement_of(tree, site.node) if lands(tree, site.node) else None
        if name is None or statement is None or _shadowed(name, site.scope) or _shadowed(name, heap.frame):
            return None
        imports = ("gc",) if name == "gc" else ()
        freeze_at = out_of_loops(tree, statement, heap.node)
        # a gc.collect() between the build and the fork frees objects among the heap's pages:
        # the freeze (and the collector back on) goes before it, or there is no fix
        frame = site.scope.frame()
        for call in module.gc_calls:
            collect = call.site
            if call.action != "collect" or collect.scope.frame() is not frame or not heap.order < collect.order < site.order:
                continue
            held = statement_of(tree, collect.node)
            earlier = sibling_holding(tree, freeze_at, held) if held is not None else None
            if earlier is None:
                return None
            freeze_at = earlier
        freeze = InsertBefore(freeze_at, f"{name}.freeze()")
        disables = [call.site for call in module.gc_calls if call.action == "disable"]
        if disabled_before(module.flow, disables, heap):
            return Fix((freeze,), "insert gc.freeze() before the fork", imports)
        build = sibling_holding(tree, freeze_at, heap.node)
        safe = build is not None and not leaves_between(tree, build, freeze_at)
        if build is None:
            own = statement_of(tree, heap.node)
            build = out_of_loops(tree, own, site.node) if own is not None else None
        if build is None or build is freeze_at:
            return None
        description = f"insert gc.disable() before building {heap.name}, and gc.freeze() and gc.enable() before the fork"
        edits = (InsertBefore(build, f"{name}.disable()"), freeze, InsertBefore(freeze_at, f"{name}.enable()"))
        return Fix(edits, description, imports, safe=safe)

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


def _shadowed(name: str, scope: Scope) -> bool:
    """Whether ``name`` is bound in ``scope`` or a function around it: there it is not the module's
    ``gc`` (a parameter, an assignment, a ``with ... as gc``), and a call through it would fail."""
    current: Scope | None = scope
    while current is not None and current.parent is not None:
        if name in current.bindings and name not in current.global_names:
            return True
        current = current.parent
    return False


def _frozen_by_initializer(module: ModuleContext, site: CallSite, freezes: list[CallSite]) -> bool:
    """Whether the pool or executor started at ``site`` runs ``gc.freeze()`` as (or in) its
    ``initializer``: each worker then freezes what it inherited before its first collection,
    which keeps the parent's heap shared as well as a freeze in the parent (measured: 1 MiB
    copied per worker against 127 MiB, for 2M small lists). A freeze the initializer runs only
    under a condition does not count."""
    initializer = next((start.initializer for start in module.process_starts if start.site is site), None)
    if initializer is None:
        return False
    if module.resolver.qualname(initializer, site.scope, site.order) == "gc.freeze":
        return True
    if not isinstance(initializer, cst.Name):
        return False
    functions = {id(b.node) for b in module.facts.scope.bindings.get(initializer.value, ()) if b.kind == "def" and isinstance(b.node, cst.FunctionDef)}
    return any(id(freeze.scope.frame().node) in functions and not freeze.conditional for freeze in freezes)


def _gc_name(module: ModuleContext) -> str | None:
    """The module-level name the fix calls the gc module by: ``gc`` when it is only ever the gc
    module, else a name bound only by ``import gc as name``, else ``gc`` when the name is free
    (the fix imports it); None when ``gc`` is something else and no alias exists."""
    bindings = module.facts.scope.bindings

    def only_gc(name: str) -> bool:
        found = bindings.get(name, ())
        return bool(found) and all(binding.kind == "import" and binding.qualname == "gc" for binding in found)

    if only_gc("gc"):
        return "gc"
    alias = next((name for name in sorted(bindings) if only_gc(name)), None)
    return alias if alias is not None or "gc" in bindings else "gc"
