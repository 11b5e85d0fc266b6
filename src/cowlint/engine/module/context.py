"""What a rule sees of a module: its facts and the analyses derived from them, each computed once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from cowlint.config import Config
from cowlint.engine.module.dispatch import DispatchSite, Payload, ProcessStart, find_dispatch_sites, find_process_starts
from cowlint.engine.module.facts import CallSite, ModuleFacts
from cowlint.engine.module.flow import Flow
from cowlint.engine.module.heap import GcCall, Heap, find_gc_calls, find_heaps
from cowlint.engine.module.loaders import LoaderSite, find_loaders
from cowlint.engine.module.resolver import Resolver
from cowlint.engine.module.servers import CeleryPrefork, Preload, celery_prefork, gunicorn_preload
from cowlint.engine.module.shipping import Shipped, shipped_objects
from cowlint.engine.module.snippets import snippet
from cowlint.engine.module.targets import StartVerdict, verdict
from cowlint.engine.module.values import StartMethod
from cowlint.engine.module.workers import Callee, callee, worker_functions
from cowlint.engine.project.commands import CeleryWorker, celery_workers, names_module

if TYPE_CHECKING:
    from cowlint.engine.project.linking import ProjectModules


class ModuleContext:
    """One module under check. Rules read its properties; each is computed on first use."""

    def __init__(self, path: str, module: cst.Module, facts: ModuleFacts, config: Config, inherited: StartMethod | None = None, project: ProjectModules | None = None) -> None:
        self.path = path
        self.module = module
        self.facts = facts
        self.config = config
        self.inherited = inherited  # the start method the project's entry points leave in force
        self.project = project  # the other modules of the project, read on demand
        self._workers: dict[int, list[tuple[Payload, Callee]]] = {}

    @cached_property
    def resolver(self) -> Resolver:
        """Evaluates expressions of this module to abstract values."""
        return Resolver(self.facts, self.config.large_threshold, self.inherited, self.project)

    @cached_property
    def dispatch_sites(self) -> list[DispatchSite]:
        """Every process dispatch in the module."""
        return find_dispatch_sites(self.facts, self.resolver, self.config.extra_dispatch_apis)

    @cached_property
    def process_starts(self) -> list[ProcessStart]:
        """Every pool, executor or Process the module makes."""
        return find_process_starts(self.facts, self.resolver)

    @cached_property
    def data_loaders(self) -> list[LoaderSite]:
        """Every PyTorch ``DataLoader(...)``, with where its workers start."""
        return find_loaders(self.facts, self.resolver)

    @cached_property
    def flow(self) -> Flow:
        """Thread starts and the order of calls."""
        return Flow(self.facts, self.resolver)

    @cached_property
    def heaps(self) -> list[Heap]:
        """Statements that build many objects the garbage collector tracks."""
        return find_heaps(self.facts, self.resolver)

    @cached_property
    def gc_calls(self) -> list[GcCall]:
        """``gc.disable/enable/collect/freeze/unfreeze`` calls."""
        return find_gc_calls(self.facts, self.resolver)

    @cached_property
    def forks(self) -> list[tuple[CallSite, str, bool]]:
        """Calls that fork this process on some target: (site, what, deliberate). ``os.fork()``
        and starts pinned to fork are deliberate; pools, executors, Processes and managers
        that fork by default on some target are not."""
        found = [(fork.site, f"{self.code(fork.site.node.func, 20)}()", True) for fork in self.flow.os_forks()]
        for start in self.process_starts:
            if self.start_of(start.start).may_fork:
                what = start.made.api.rsplit(".", 1)[-1] if start.made.subclass is None else start.made.subclass.name
                found.append((start.site, f"{what}(...)", start.start.method == "fork"))
        found.sort(key=lambda item: item[0].order)
        return found

    @cached_property
    def gunicorn_preload(self) -> Preload | None:
        """``preload_app`` in a gunicorn configuration file that never freezes the preloaded app."""
        return gunicorn_preload(self.path, self.facts, self.resolver, self.project.depends if self.project is not None else None)

    @cached_property
    def celery_prefork(self) -> CeleryPrefork | None:
        """A Celery app whose prefork workers fork from a master that never freezes its heap."""
        if self.project is None:
            return celery_prefork(self.path, self.facts, self.resolver)
        view = self.project.view
        module = view.module[0] if view.module is not None else None

        def started() -> list[CeleryWorker]:  # the project's command lines are read only for a module that makes an app
            return [worker for worker in celery_workers(view.layout.root, self.project.depends if self.project else None) if module is not None and names_module(worker.app, module)]

        return celery_prefork(self.path, self.facts, self.resolver, view.layout.root, started, self.project.depends)

    @cached_property
    def shipped(self) -> list[Shipped]:
        """Everything the dispatches pickle that is an instance or data."""
        result: list[Shipped] = []
        for site in self.dispatch_sites:
            result.extend(shipped_objects(self.facts, self.resolver, site, self.start_of(site.start).always_forks))
        return result

    def workers_of(self, site: DispatchSite) -> list[tuple[Payload, Callee]]:
        """The module functions, lambdas and classes a dispatch runs in its workers."""
        cached = self._workers.get(id(site.call))
        if cached is not None:
            return cached
        found: list[tuple[Payload, Callee]] = []
        for payload in site.payloads:
            if payload.role in ("callable", "target", "initializer"):
                made = callee(self.resolver, payload.expr, site.scope, site.order)
                if made is not None:
                    found.append((payload, made))
            elif payload.role in ("args", "initargs") and not payload.items:
                # a function among the arguments (``args=(fn, chunk, queue)``): the target calls it
                # ... or a value of a ``kwds`` dict display (``{"key": lambda row: row[0]}``)
                if isinstance(payload.expr, (cst.Tuple, cst.List)):
                    parts: Sequence[cst.CSTNode] = payload.expr.elements
                elif isinstance(payload.expr, cst.Dict):
                    parts = [element.value for element in payload.expr.elements if isinstance(element, cst.DictElement)]
                else:
                    parts = (payload.expr,)
                for part in parts:
                    value = part.value if isinstance(part, cst.BaseElement) else part
                    if isinstance(part, cst.StarredElement) or not isinstance(value, (cst.Name, cst.Lambda, cst.Attribute)):
                        continue
                    made = callee(self.resolver, value, site.scope, site.order)
                    if made is not None and isinstance(made.node, (cst.FunctionDef, cst.Lambda)):
                        found.append((Payload(payload.role, value, False, payload.frequency), made))
            elif payload.role == "instance" and site.receiver.subclass is not None:
                for info in self.resolver.class_chain(site.receiver.subclass):
                    run = info.methods.get("run")
                    if run is not None:
                        scope = self.facts.scopes.get(run)
                        found.append((payload, Callee(run, scope, info.scope, None, False, info.name)))
                        break
        self._workers[id(site.call)] = found
        return found

    def worker_bodies(self, *, forked_only: bool = False) -> Iterator[tuple[DispatchSite, Callee, Callee]]:
        """(dispatch, worker, function) for every function that runs as a task in worker processes:
        each dispatched callable (not initializers) and the helpers it calls, for dispatches whose
        receiver is known to be a process pool (and forks on some target, with ``forked_only``)."""
        for site in self.dispatch_sites:
            if site.confidence != "high" or (forked_only and not self.start_of(site.start).may_fork):
                continue
            for payload, worker in self.workers_of(site):
                if payload.role == "initializer":
                    continue
                for function in worker_functions(self.resolver, worker):
                    if function.scope is not None:
                        yield site, worker, function

    @cached_property
    def worker_side(self) -> frozenset[int]:
        """Function nodes (by id) that run in worker processes: every dispatched function and
        initializer, and the module functions they call."""
        ids: set[int] = set()
        for site in self.dispatch_sites:
            for _, worker in self.workers_of(site):
                ids.update(id(function.node) for function in worker_functions(self.resolver, worker))
        return frozenset(ids)

    def start_of(self, start: StartMethod) -> StartVerdict:
        """How workers started with ``start`` (a dispatch's, pinned or the default) start on each target."""
        return verdict(start, self.config)

    def code(self, node: cst.CSTNode, limit: int = 60) -> str:
        """The source of ``node`` on one line, tidied and shortened to ``limit`` characters."""
        return snippet(self.module, node, limit)
