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

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

import libcst as cst

from cowlint.engine.module import apis
from cowlint.engine.module.facts import CallSite, ModuleFacts, Scope
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.values import Const
from cowlint.engine.project.commands import CeleryWorker
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
    functions = _functions(facts)
    return _reached(facts, [functions[name] for name in FREEZING_HOOKS if name in functions])


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


@dataclass(frozen=True)
class CeleryPrefork:
    """A Celery app whose prefork pool forks several workers from a master that never freezes."""

    node: cst.CSTNode  # the ``Celery(...)`` call
    app: str  # the name the module binds it to
    workers: str  # ``4 workers``, ``its workers`` (a setting not literal), ``one worker per CPU``
    handled: tuple[str, ...]  # the signals the module handles where a freeze would work (none of which freezes)
    misplaced: tuple[str, ...] = ()  # where the module does freeze, too late
    command: str | None = None  # where a command line of the project starts the workers (``docker/entrypoint.sh:17``)


# folders whose apps are never deployed: a test's or a tutorial's worker runs a few tasks and ends
_NOT_DEPLOYED = frozenset({"tests", "test", "t", "testing", "examples", "example", "samples", "docs", "doc", "benchmarks", "bench"})


def celery_prefork(
    path: str,
    facts: ModuleFacts,
    resolver: Resolver,
    root: Path | None = None,
    started: Callable[[], list[CeleryWorker]] | None = None,
    depends: dict[str, str | None] | None = None,
) -> CeleryPrefork | None:
    """The module-level ``Celery(...)`` of a module that makes a Celery app, when its workers
    fork from the master (the prefork pool, forked children) and no handler of a signal sent
    before a child's first collection calls ``gc.freeze()``; else None. A freeze at module
    level, or in a function the module does not connect to a signal sent too late, may well
    run in time (a handler in another module calls it): it quiets the finding. So does a module
    of a test, an example or a benchmark (its folders below ``root``, the project's, when known).
    ``started()`` gives the project's ``celery -A app worker`` command lines that load this
    module: when there are some and none of them forks (``--pool threads``, ``-c 1``), neither
    does the app. In a project (``depends`` given, and gets the file read), the configuration
    module the app loads (``app.config_from_object("shop.celeryconfig")``, or Django's settings
    with ``namespace="CELERY"``) is read for the same settings, as text."""
    if _not_deployed(Path(path), root):
        return None
    module = facts.scope
    made = _celery_app(facts, resolver)
    if made is None:
        return None
    settings = {**_configuration_module(facts.module, Path(path), root, depends), **_celery_settings(facts.module)}
    pool = settings.get("worker_pool")
    if settings.get("worker_pool_start_method") == "spawn":
        return None  # each child imports the app anew: nothing is shared
    concurrency = settings.get("worker_concurrency", "")
    commands = started() if started is not None else []
    forking = [command for command in commands if _forks(command.pool or pool, command.concurrency or concurrency)]
    if (commands and not forking) or not _forks(pool, concurrency):
        return None
    if forking and forking[0].concurrency is not None:
        concurrency = int(forking[0].concurrency) if forking[0].concurrency.isdigit() else "?"
    handlers = _signal_handlers(facts, resolver)
    in_time = _reached(facts, [node for node, signal in handlers if signal in apis.CELERY_FREEZING_SIGNALS])
    late: dict[int, str] = {}
    for node, signal in handlers:
        if signal in apis.CELERY_LATE_SIGNALS:
            late.update(dict.fromkeys(_reached(facts, [node]), signal))
    misplaced: list[str] = []
    for site in facts.calls:
        if resolver.qualname(site.node.func, site.scope, site.order) != "gc.freeze":
            continue
        frame = site.scope.frame().node
        too_late = late.get(id(frame))
        if id(frame) in in_time or too_late is None:
            return None
        misplaced.append(f"gc.freeze() in a {too_late} handler runs once the workers have forked and collected")
    if isinstance(concurrency, int):
        workers = f"{concurrency} workers"
    else:
        workers = "its workers" if concurrency != "" else "one worker per CPU"
    target = next((b.name for bindings in module.bindings.values() for b in bindings if b.kind == "assign" and b.value is made), "the app")
    handled = tuple(dict.fromkeys(signal for _, signal in handlers if signal in apis.CELERY_FREEZING_SIGNALS))
    return CeleryPrefork(made, target, workers, handled, tuple(dict.fromkeys(misplaced)), forking[0].where if forking else None)


def _forks(pool: object, concurrency: object) -> bool:
    """Whether a worker with this pool and concurrency forks more than one child."""
    if pool in apis.CELERY_NON_FORKING_POOLS:
        return False
    return not (isinstance(concurrency, int) and concurrency <= 1) and not (isinstance(concurrency, str) and concurrency.isdigit() and int(concurrency) <= 1)


def _not_deployed(path: Path, root: Path | None) -> bool:
    """Whether the module is a test's, an example's or a benchmark's: by its folders as the run
    names it (``examples/django/proj/celery.py``), and below the project's root."""
    folders = path.parts[:-1] if not path.is_absolute() else ()
    if root is not None:
        try:
            folders += path.resolve().relative_to(root).parts[:-1]
        except ValueError:
            pass
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or any(folder.lower() in _NOT_DEPLOYED for folder in folders)


def _celery_app(facts: ModuleFacts, resolver: Resolver) -> cst.Call | None:
    """The first call of the module's import-time code that makes a Celery app: ``Celery(...)``,
    a class of the module derived from it (``class SentryCelery(Celery)``), or a function of the
    module that makes one (``app = _get_celery_app()``)."""
    module = facts.scope
    if not any(b.kind == "import" and (b.qualname or "").split(".", 1)[0] == "celery" for bindings in module.bindings.values() for b in bindings):
        return None  # no module-level import of celery: no call here makes an app (checked before any call is evaluated)
    classes = {info.name for info in facts.classes.values() if info.outer is module and any(resolver.qualname(base.value, module, 0) in apis.CELERY_APPS for base in info.node.bases)}

    def makes_app(site: CallSite) -> bool:
        func = site.node.func
        return resolver.qualname(func, site.scope, site.order) in apis.CELERY_APPS or (type(func) is cst.Name and func.value in classes)

    makers = {id(site.scope.frame().node) for site in facts.calls if site.scope is not module and makes_app(site)}
    functions = _functions(facts)
    for site in facts.calls:
        if site.scope is not module or site.guarded:
            continue
        func = site.node.func
        if makes_app(site) or (type(func) is cst.Name and func.value in functions and id(functions[func.value]) in makers):
            return site.node
    return None


def _configuration_module(tree: cst.Module, path: Path, root: Path | None, depends: dict[str, str | None] | None) -> dict[str, object]:
    """The worker settings of the module ``app.config_from_object("shop.celeryconfig")`` loads
    (found from the project's root and the module's folders; never imported): its top-level
    assignments of literals, ``worker_pool = "threads"``, or with ``namespace="CELERY"``,
    ``CELERY_WORKER_POOL = "threads"``. ``"django.conf:settings"`` is the module the file's
    ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")`` names."""
    if depends is None:
        return {}
    loaded: str | None = None
    django: str | None = None
    namespace = ""
    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            call = small.value if isinstance(small, cst.Expr) else None
            if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute) or not call.args:
                continue
            first = call.args[0].value
            if call.func.attr.value == "config_from_object" and isinstance(first, cst.SimpleString):
                loaded = str(first.evaluated_value)
                for arg in call.args[1:]:
                    if arg.keyword is not None and arg.keyword.value == "namespace" and isinstance(arg.value, cst.SimpleString):
                        namespace = str(arg.value.evaluated_value)
            elif call.func.attr.value == "setdefault" and len(call.args) == 2 and isinstance(first, cst.SimpleString) and first.evaluated_value == "DJANGO_SETTINGS_MODULE":
                named = call.args[1].value
                django = str(named.evaluated_value) if isinstance(named, cst.SimpleString) else None
    if loaded is None:
        return {}
    if loaded == "django.conf:settings":
        loaded = django
    if loaded is None or ":" in loaded:
        return {}
    folder = path.resolve().parent
    found = app_file(loaded, [*([root] if root is not None else []), *[folder, *folder.parents][:4]])
    data = read_app(found) if found is not None else None
    if found is None or data is None:
        return {}
    depends[str(found)] = digest(data)
    return _top_level_settings(data, f"{namespace}_" if namespace else "")


def _top_level_settings(data: bytes, prefix: str) -> dict[str, object]:
    """The worker settings a configuration module assigns literally at top level (read with
    ``ast``, never run); upper-case names with ``prefix`` when a namespace is given."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    found: dict[str, object] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            continue
        name = node.targets[0].id
        if prefix:
            if not name.startswith(prefix):
                continue
            name = name[len(prefix) :]
        key = _SETTING_NAMES.get(name.lower())
        if key is None:
            continue
        value = node.value.value if isinstance(node.value, ast.Constant) else "?"
        found[key] = value if isinstance(value, (str, int)) and not isinstance(value, bool) else "?"
    return found


# the worker settings cowlint reads, by their names old and new (lower case)
_SETTING_NAMES = {
    "worker_pool": "worker_pool",
    "celeryd_pool": "worker_pool",
    "worker_concurrency": "worker_concurrency",
    "celeryd_concurrency": "worker_concurrency",
    "worker_pool_start_method": "worker_pool_start_method",
}


def _celery_settings(tree: cst.Module) -> dict[str, object]:
    """The worker settings the module gives its app at top level: ``app.conf.worker_pool =
    "solo"``, ``app.conf.update(worker_concurrency=1)`` or ``app.conf.update({...})``, a literal
    value as it is, anything else as ``"?"`` (old upper-case names too: ``CELERYD_POOL``)."""
    found: dict[str, object] = {}

    def note(key: str, value: cst.BaseExpression) -> None:
        name = _SETTING_NAMES.get(key.lower().removeprefix("celery_"))
        if name is None:
            return
        if isinstance(value, cst.SimpleString):
            found[name] = str(value.evaluated_value)
        elif isinstance(value, cst.Integer):
            found[name] = int(value.value, 0)
        else:
            found[name] = "?"

    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    held = target.target
                    if isinstance(held, cst.Attribute) and isinstance(held.value, cst.Attribute) and held.value.attr.value == "conf":
                        note(held.attr.value, small.value)
            elif isinstance(small, cst.Expr) and isinstance(call := small.value, cst.Call):
                func = call.func
                if not (isinstance(func, cst.Attribute) and func.attr.value == "update" and isinstance(func.value, cst.Attribute) and func.value.attr.value == "conf"):
                    continue
                for arg in call.args:
                    if arg.keyword is not None:
                        note(arg.keyword.value, arg.value)
                    elif isinstance(arg.value, cst.Dict):
                        for element in arg.value.elements:
                            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                                note(str(element.key.evaluated_value), element.value)
    return found


def _signal_handlers(facts: ModuleFacts, resolver: Resolver) -> list[tuple[cst.FunctionDef, str]]:
    """The module's functions connected to a Celery signal, with the signal's name: decorated
    (``@worker_init.connect``, ``@signals.worker_init.connect(weak=False)``) or passed to
    ``worker_init.connect(handler)``."""
    module = facts.scope
    functions = {name: b for name, bindings in module.bindings.items() for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)}  # with their order

    def signal_of(expr: cst.BaseExpression, scope: Scope, order: int) -> str | None:
        name = resolver.qualname(expr, scope, order)
        if name is None or not name.startswith("celery.signals.") or not name.endswith(".connect"):
            return None
        return name.removeprefix("celery.signals.").removesuffix(".connect")

    found: list[tuple[cst.FunctionDef, str]] = []
    for binding in functions.values():
        node = binding.node
        assert isinstance(node, cst.FunctionDef)
        for decorator in node.decorators:
            expr = decorator.decorator
            signal = signal_of(expr.func if isinstance(expr, cst.Call) else expr, module, binding.order)
            if signal is not None:
                found.append((node, signal))
    for site in facts.calls:
        args = site.node.args
        if args and type(args[0].value) is cst.Name and args[0].value.value in functions and (signal := signal_of(site.node.func, site.scope, site.order)) is not None:
            handler = functions[args[0].value.value].node
            assert isinstance(handler, cst.FunctionDef)
            found.append((handler, signal))
    return found


def _reached(facts: ModuleFacts, starts: list[cst.FunctionDef]) -> set[int]:
    """Ids of ``starts`` and of the module's functions they call, there or further."""
    functions = _functions(facts)
    pending: list[cst.CSTNode] = list(starts)
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


def _functions(facts: ModuleFacts) -> dict[str, cst.FunctionDef]:
    """The module's top-level functions by name (the last definition of each)."""
    return {name: b.node for name, bindings in facts.scope.bindings.items() for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)}
