"""Preforking servers configured in Python: the fork is the server's, the heap is the app's.

A gunicorn configuration file (``gunicorn.conf.py``, ``gunicorn_config.py``, any
``*gunicorn*.py`` with settings at module level) never calls ``fork``: the
master does, once per worker. With ``preload_app`` the master imports the
whole application first, so every worker starts with the app's objects on
shared pages, and the first garbage collection in each worker writes the
header of every one of them. ``gc.freeze()`` works in a hook the master runs
after loading the app and before forking: ``when_ready``, ``pre_fork``, or
``on_starting`` (gunicorn's Arbiter preloads the app when it is made, before
``start()`` runs ``on_starting``; its documentation's "before the master process
is initialized" does not mean before the preload). It works as well in
``post_fork`` or ``post_worker_init``, which each worker runs before it serves
anything: the fork copies nothing, the worker's first collection does, and a
freeze before it leaves the inherited objects unvisited (measured: a worker
that froze first copied 0 MiB of a million small objects, 125 MiB without).
The hooks a worker runs later (``pre_request``, ``worker_exit``...) come after
collections have run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

import libcst as cst

from cowlint.engine.module.facts import CallSite, ModuleFacts
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.values import Const
from cowlint.engine.project.uwsgi import app_file, freezes_at_import, read_app
from cowlint.engine.source import digest

# settings a gunicorn configuration module sets at module level
_SETTINGS = frozenset({"bind", "workers", "worker_class", "threads", "timeout", "keepalive", "accesslog", "errorlog", "loglevel", "max_requests", "graceful_timeout"})
# hooks the master runs after the app is loaded (with preload_app) and before it forks workers
MASTER_HOOKS = ("when_ready", "pre_fork", "on_starting")
# hooks each worker runs right after its fork, before it serves anything: a freeze there comes before its first collection
EARLY_WORKER_HOOKS = ("post_fork", "post_worker_init")
FREEZING_HOOKS = (*MASTER_HOOKS, *EARLY_WORKER_HOOKS)


@dataclass(frozen=True)
class Preload:
    """``preload_app = ...`` in a gunicorn configuration that never freezes the preloaded heap."""

    node: cst.CSTNode  # the assignment's value
    workers: str  # ``5 workers``, or ``its workers`` when the count is not literal
    freeze_hooks: tuple[str, ...]  # hooks defined in the file where a freeze would work (none of which freezes)
    misplaced: tuple[str, ...] = ()  # where the file does freeze, too early or too late (``pre_request()``)
    app: str | None = None  # the ``wsgi_app`` setting, when the file gives it literally
    app_path: Path | None = None  # that app's module when found in the project (its import-time code never freezes)


def _setting(facts: ModuleFacts, resolver: Resolver, name: str) -> object:
    """The value a module-level setting of the file is last given, when it is a literal."""
    module = facts.scope
    bindings = [b for b in module.bindings.get(name, ()) if b.kind == "assign" and b.eval_scope is module and b.value is not None]
    if not bindings or bindings[-1].value is None:
        return None
    value = resolver.eval(bindings[-1].value, module, bindings[-1].order)
    return value.value if isinstance(value, Const) else None


def gunicorn_preload(path: str, facts: ModuleFacts, resolver: Resolver, depends: dict[str, str | None] | None = None) -> Preload | None:
    """The ``preload_app`` setting of a gunicorn configuration file, when it may be on and no
    hook of the file, nor the app module it names (``wsgi_app``), calls ``gc.freeze()`` before
    the workers fork; else None. ``depends`` gets the app module read."""
    if "gunicorn" not in PurePath(path).name.lower():
        return None
    module = facts.scope
    preload = [b for b in module.bindings.get("preload_app", ()) if b.kind == "assign" and b.eval_scope is module and b.value is not None]
    if not preload or not any(name in module.bindings for name in _SETTINGS):
        return None
    setting = preload[-1].value
    assert setting is not None
    value = resolver.eval(setting, module, preload[-1].order)
    if isinstance(value, Const) and not value.value:
        return None  # preload_app = False: each worker imports the app itself
    count = _setting(facts, resolver, "workers")
    if isinstance(count, int) and count <= 1:
        return None  # one worker shares nothing with another
    freezes = [site for site in facts.calls if resolver.qualname(site.node.func, site.scope, site.order) == "gc.freeze"]
    in_time = _run_by_freezing_hooks(facts)
    if any(id(site.scope.frame().node) in in_time for site in freezes):
        return None
    app, app_path, frozen = _app(path, facts, resolver, depends)
    if frozen:
        return None  # the app module freezes its heap at the end of its import, in the master
    hooks = tuple(name for name in FREEZING_HOOKS if any(b.kind == "def" for b in module.bindings.get(name, ())))
    shown = f"{count} workers" if isinstance(count, int) else "its workers"
    return Preload(setting, shown, hooks, tuple(dict.fromkeys(_where(site) for site in freezes)), app, app_path)


def _app(path: str, facts: ModuleFacts, resolver: Resolver, depends: dict[str, str | None] | None) -> tuple[str | None, Path | None, bool]:
    """The app the file's ``wsgi_app`` names, its module (found from ``chdir``, ``pythonpath``
    and the file's folder and its parents; None when not named or not found), and whether that
    module calls ``gc.freeze()`` in its import-time code (the master runs it while preloading,
    before any fork). Only for a file of a project (``depends`` gets the module read, with its
    digest): checked alone, the configuration says what it says."""
    app = _setting(facts, resolver, "wsgi_app")
    if not isinstance(app, str) or not app.strip():
        return None, None, False
    if depends is None:
        return app.strip(), None, False
    folder = Path(path).resolve().parent
    bases: list[Path] = []
    for name in ("chdir", "pythonpath"):
        value = _setting(facts, resolver, name)
        if isinstance(value, str):
            bases.extend(folder / part.strip() for part in value.split(",") if part.strip())
    found = app_file(app.strip(), [*bases, *[folder, *folder.parents][:4]])
    data = read_app(found) if found is not None else None
    if found is None or data is None:
        return app.strip(), None, False
    depends[str(found)] = digest(data)
    return app.strip(), found, freezes_at_import(data)


def _run_by_freezing_hooks(facts: ModuleFacts) -> set[int]:
    """The functions of the file that run after the app is loaded and before a worker's first
    collection: the master's ``when_ready``/``pre_fork``/``on_starting`` hooks, each worker's
    ``post_fork``/``post_worker_init``, and the module's functions they call, there or further
    (ids of their definitions). A freeze at module level runs before the app is loaded; one in
    ``pre_request`` or ``worker_exit``, in a worker that has collected by then."""
    module = facts.scope
    functions = {name: b.node for name, bindings in module.bindings.items() for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)}
    pending = [functions[name] for name in FREEZING_HOOKS if name in functions]
    reached: set[int] = set()
    while pending:
        function = pending.pop()
        if id(function) in reached:
            continue
        reached.add(id(function))
        for site in facts.calls:
            called = site.node.func
            if type(called) is cst.Name and called.value in functions and site.scope.frame().node is function:
                pending.append(functions[called.value])
    return reached


# hooks gunicorn runs in each worker process once it serves requests, or ends
_LATE_WORKER_HOOKS = frozenset({"worker_int", "worker_abort", "pre_request", "post_request", "worker_exit"})


def _where(site: CallSite) -> str:
    """Why a ``gc.freeze()`` of the configuration does not freeze the preloaded app."""
    frame = site.scope.frame().node
    if not isinstance(frame, cst.FunctionDef):
        return "gc.freeze() at module level runs before the app is loaded"
    name = frame.name.value
    if name in _LATE_WORKER_HOOKS:
        return f"gc.freeze() in {name}() runs in each worker only once it serves requests or ends, after its first collections"
    return f"gc.freeze() in {name}() is not run by when_ready, pre_fork, on_starting, post_fork or post_worker_init"
