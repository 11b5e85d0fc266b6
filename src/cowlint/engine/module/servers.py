"""Preforking servers configured in Python: the fork is the server's, the heap is the app's.

A gunicorn configuration file (``gunicorn.conf.py``, ``gunicorn_config.py``, any
``*gunicorn*.py`` with settings at module level) never calls ``fork``: the
master does, once per worker. With ``preload_app`` the master imports the
whole application first, so every worker starts with the app's objects on
shared pages, and the first garbage collection in each worker writes the
header of every one of them. The one place to call ``gc.freeze()`` is a
hook the master runs after loading the app and before forking:
``when_ready`` or ``pre_fork`` (``on_starting`` runs before the app is
loaded, ``post_fork`` in the worker, after the copy).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import libcst as cst

from cowlint.engine.module.facts import CallSite, ModuleFacts
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.values import Const

# settings a gunicorn configuration module sets at module level
_SETTINGS = frozenset({"bind", "workers", "worker_class", "threads", "timeout", "keepalive", "accesslog", "errorlog", "loglevel", "max_requests", "graceful_timeout"})
# hooks the master runs after the app is loaded (with preload_app) and before it forks workers
MASTER_HOOKS = ("when_ready", "pre_fork")


@dataclass(frozen=True)
class Preload:
    """``preload_app = ...`` in a gunicorn configuration that never freezes the preloaded heap."""

    node: cst.CSTNode  # the assignment's value
    workers: str  # ``5 workers``, or ``its workers`` when the count is not literal
    freeze_hooks: tuple[str, ...]  # master hooks defined in the file (none of which freezes)
    misplaced: tuple[str, ...] = ()  # where the file does freeze, too early or too late (``post_fork()``)


def gunicorn_preload(path: str, facts: ModuleFacts, resolver: Resolver) -> Preload | None:
    """The ``preload_app`` setting of a gunicorn configuration file, when it may be on and no
    hook of the file calls ``gc.freeze()`` before the workers fork; else None."""
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
    workers = [(b.value, b.order) for b in module.bindings.get("workers", ()) if b.kind == "assign" and b.value is not None]
    count = resolver.eval(workers[-1][0], module, workers[-1][1]) if workers and workers[-1][0] is not None else None
    if isinstance(count, Const) and isinstance(count.value, int) and count.value <= 1:
        return None  # one worker shares nothing with another
    freezes = [site for site in facts.calls if resolver.qualname(site.node.func, site.scope, site.order) == "gc.freeze"]
    in_master = _run_by_master_hooks(facts)
    if any(id(site.scope.frame().node) in in_master for site in freezes):
        return None
    hooks = tuple(name for name in MASTER_HOOKS if any(b.kind == "def" for b in module.bindings.get(name, ())))
    shown = f"{count.value} workers" if isinstance(count, Const) and isinstance(count.value, int) else "its workers"
    return Preload(setting, shown, hooks, tuple(dict.fromkeys(_where(site) for site in freezes)))


def _run_by_master_hooks(facts: ModuleFacts) -> set[int]:
    """The functions of the file the master runs between loading the app and forking: the
    ``when_ready``/``pre_fork`` hooks and the module's functions they call, there or further
    (ids of their definitions). A freeze at module level runs before the app is loaded; one in
    ``post_fork`` or ``post_worker_init``, in each worker after the copy."""
    module = facts.scope
    functions = {name: b.node for name, bindings in module.bindings.items() for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)}
    pending = [functions[name] for name in MASTER_HOOKS if name in functions]
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


# hooks gunicorn runs in each worker process, after the fork
_WORKER_HOOKS = frozenset({"post_fork", "post_worker_init", "worker_int", "worker_abort", "pre_request", "post_request", "worker_exit"})


def _where(site: CallSite) -> str:
    """Why a ``gc.freeze()`` of the configuration does not freeze the preloaded app."""
    frame = site.scope.frame().node
    if not isinstance(frame, cst.FunctionDef):
        return "gc.freeze() at module level runs before the app is loaded"
    name = frame.name.value
    if name in _WORKER_HOOKS:
        return f"gc.freeze() in {name}() runs in each worker, after the fork"
    return f"gc.freeze() in {name}() is not run by when_ready or pre_fork"
