"""Values across module boundaries: what another module of the project gives a name.

The checked module's resolver asks, for a qualified name it cannot place
(``data.catalog.CATALOG``, a call of ``data.io.read_rows``), whether a file of
the project defines it. That file is read and parsed (libcst, once per process
for each content), its own resolver evaluates the name, and the answer crosses
the boundary only when it means the same in any module: constants, data with
its size, containers, multiprocessing contexts and pools, imported names.
Functions, classes and their instances stay on their side for now.

Unlike the rest of :mod:`cowlint.engine.project`, this module parses with
libcst: it runs inside the check of one module, for the few names that need it.
Every file read is recorded with its digest, so that a cached result is reused
only while the files it depends on are unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cowlint.config import Config
from cowlint.engine.project.index import ProjectView
from cowlint.engine.project.layout import absolute_module
from cowlint.engine.project.slices import slice_key, slice_value
from cowlint.engine.project.wrappers import Signature, may_wrap, passing_calls, script_folder, wrapper_candidates

if TYPE_CHECKING:
    import libcst as cst

    from cowlint.engine.module.dispatch import DispatchSite, WrappedDispatch
    from cowlint.engine.module.loaders import DatasetHolding, MemberDatasets
    from cowlint.engine.module.resolver import Resolver
    from cowlint.engine.module.values import Value
    from cowlint.engine.module.workers import ForeignRead

# a name re-exported through this many modules is followed; further is unknown
MAX_LINK_DEPTH = 4
# parsed modules kept per process: a libcst tree is ~400x its source
KEEP_MODULES = 4
# answers kept per process: plain values, reused by every module that imports the same name
KEEP_ANSWERS = 4096
# modules one checked module may have parsed for it, and the biggest one worth it: past these
# its imported names stay unknown (a 3.5M-line tree parsed 480 modules for 79 checked files)
PARSES_PER_MODULE = 12
MAX_LINKED_BYTES = 256 * 1024
# constructor calls of a class searched in other modules: the files listed, and the calls read
MAX_SEARCHED_FILES = 2000
MAX_CONSTRUCTIONS = 8


class _NotHere:
    """The name is not defined in that module the way the question needs: look elsewhere."""


_NOT_HERE = _NotHere()


class _Linked:
    """A parsed project module, its resolver, and the files its answers depend on."""

    def __init__(self, module: cst.Module, name: str, resolver: Resolver, linker: ProjectModules) -> None:
        self.module = module
        self.name = name  # its dotted name
        self.resolver = resolver
        self.linker = linker
        self._sites: list[DispatchSite] | None = None

    def dispatch_sites(self) -> list[DispatchSite]:
        """The module's dispatch sites, found once however many of its functions are asked about."""
        if self._sites is None:
            from cowlint.engine.module.dispatch import find_dispatch_sites

            self._sites = find_dispatch_sites(self.resolver.facts, self.resolver)
        return self._sites

    def code(self, node: cst.CSTNode, limit: int = 60) -> str:
        from cowlint.engine.module.snippets import snippet

        return snippet(self.module, node, limit)


# questions answered with plain records of their own (not abstract values), portable as they are
_PLAIN_DATA = frozenset({"reads", "dataset", "members", "wrapper", "threads"})

_PARSED: OrderedDict[tuple[str, str, int], _Linked | None] = OrderedDict()
# (path, digest, threshold, kind, name) -> (the answer, the files it depends on)
_ANSWERS: OrderedDict[tuple[str, str, int, str, str], tuple[Value | None, dict[str, str | None]]] = OrderedDict()


class ProjectModules:
    """The other modules of one checked module's project, as its resolver sees them."""

    def __init__(self, view: ProjectView, config: Config, depth: int = 0, budget: list[int] | None = None) -> None:
        self.view = view
        self.config = config
        self.depth = depth
        self.budget = budget if budget is not None else [PARSES_PER_MODULE]  # shared with the modules it links
        self.depends: dict[str, str | None] = {}  # resolved path -> digest of every project file read (None: looked for, absent)
        self._answers: dict[tuple[str, str], Value | None] = {}

    def absolute(self, name: str) -> str | None:
        """``..pkg.mod`` read from this module, as an absolute dotted name (None when it cannot be placed)."""
        level = len(name) - len(name.lstrip("."))
        return absolute_module(level, name[level:], self.view.module) or None

    def has_module(self, dotted: str) -> bool:
        """Whether the absolute dotted name ``dotted`` is a module (or package) of the project."""
        return self._module_file(dotted.split(".")) is not None

    def global_value(self, qualname: str) -> Value | None:
        """The value module-level code of a project module gives ``module.NAME``, when portable."""
        return self._answer("global", qualname, self._global_value)

    def returned_value(self, qualname: str) -> Value | None:
        """What a call of the project function ``module.function`` returns, when portable."""
        return self._answer("call", qualname, self._returned_value)

    def worker_reads(self, qualname: str) -> tuple[ForeignRead, ...] | None:
        """The globals a worker calling the project function ``module.function`` reads, there or
        further, that the parent fills at run time (None when the function is not found)."""
        return self._answer("reads", qualname, self._worker_reads)  # type: ignore[return-value]

    def _worker_reads(self, qualname: str) -> Value | None:
        value = self._linked_answer(qualname, "reads", _defines)
        return self._through_star(qualname, ProjectModules.worker_reads) if isinstance(value, _NotHere) else value  # type: ignore[arg-type]

    def leaves_threads(self, qualname: str) -> str | None:
        """Where the project function ``module.function`` starts a thread that still runs when it
        returns (``t.start() in app.monitor.heartbeat()``), or None."""
        return self._answer("threads", qualname, self._leaves_threads)  # type: ignore[return-value]

    def _leaves_threads(self, qualname: str) -> Value | None:
        value = self._linked_answer(qualname, "threads", _may_start_threads)
        return None if isinstance(value, _NotHere) else value

    def wrapper_dispatches(self, qualname: str) -> tuple[WrappedDispatch, ...] | None:
        """What a call of the project function ``module.function`` dispatches through its
        parameters, when it is a pool wrapper (None when it is not, or cannot be told)."""
        return self._answer("wrapper", qualname, self._wrapper_dispatches)  # type: ignore[return-value]

    def _wrapper_dispatches(self, qualname: str) -> Value | None:
        return self._passing_on(qualname, "wrapper", ProjectModules.wrapper_dispatches)  # type: ignore[arg-type]

    def process_factory(self, qualname: str) -> Value | None:
        """The ``Process`` a call of the project function ``module.function`` makes when the
        function hands its own ``*args``/``**kwargs`` on to one (None when it does not)."""
        return self._answer("factory", qualname, self._process_factory)

    def _process_factory(self, qualname: str) -> Value | None:
        return self._passing_on(qualname, "factory", ProjectModules.process_factory)

    def _passing_on(self, qualname: str, kind: str, ask: Callable[[ProjectModules, str], Value | None]) -> Value | None:
        """The answer about a function that hands its parameters on (a pool wrapper, a Process
        factory): asked only when the text test says it may, of its module, or of the module it
        is re-exported from (``from .parallel import parallel`` in a package, or a star import)."""
        from cowlint.engine.module.values import Qualified

        if may_wrap(self.view, qualname, self.depends) is None:  # the text tells first: most calls are no wrapper's
            return None
        value = self._linked_answer(qualname, kind, _defines)
        if not isinstance(value, _NotHere):
            return value
        imported = self.global_value(qualname)
        if isinstance(imported, Qualified) and imported.name != qualname:
            return ask(self, imported.name)
        return self._through_star(qualname, ask)

    def dataset_holding(self, qualname: str) -> DatasetHolding | None:
        """What instances of the project class ``module.Class`` keep, for a DataLoader's dataset."""
        return self._answer("dataset", qualname, self._dataset_holding)  # type: ignore[return-value]

    def _dataset_holding(self, qualname: str) -> Value | None:
        value = self._linked_answer(qualname, "dataset", _defines_class)
        return self._through_star(qualname, ProjectModules.dataset_holding) if isinstance(value, _NotHere) else value  # type: ignore[arg-type]

    def member_datasets(self, qualname: str, member: str) -> MemberDatasets | None:
        """The datasets instances of the project class ``module.Class`` keep in ``member`` or make
        there, for a subclass's DataLoader (its own overrides replace the ``deferred`` ones)."""
        kind = f"members:{member}"
        return self._answer(kind, qualname, lambda name: self._member_datasets(name, member))  # type: ignore[return-value]

    def _member_datasets(self, qualname: str, member: str) -> Value | None:
        value = self._linked_answer(qualname, f"members:{member}", _defines_class)
        if not isinstance(value, _NotHere):
            return value
        return self._through_star(qualname, lambda inner, name: inner.member_datasets(name, member))  # type: ignore[arg-type,return-value]

    def constructor_argument(self, qualname: str, positional: tuple[str, ...], param: str) -> Value | None:
        """What the project's other modules pass for ``param`` of ``__init__`` when they call the
        class ``module.Class`` (``positional``: its positional parameters after ``self``; a
        keyword-only one is passed by keyword),
        joined over the calls found; None when none passes anything portable.

        The calls are searched for by name in the files of the class's top-level package (or,
        for a module outside any package, of its folder): the class is usually made next to
        where it is used, and a file that never writes ``Class(`` cannot call it by that name."""
        kind = f"made:{param}:{','.join(positional)}"
        return self._answer(kind, qualname, lambda name: self._constructor_argument(name, positional, param))

    def _constructor_argument(self, qualname: str, positional: tuple[str, ...], param: str) -> Value | None:
        from cowlint.engine.source import TruncatedRead, digest, read_file

        if self.depth >= MAX_LINK_DEPTH or "." not in qualname:
            return None
        module, name = qualname.rsplit(".", 1)
        values: list[Value] = []
        resolver: Resolver | None = None
        for path in self._files_calling(module, name):
            try:
                data = read_file(path, limit=MAX_LINKED_BYTES)
            except OSError:
                continue
            if isinstance(data, TruncatedRead):
                continue
            content = digest(data)
            self.depends[str(path)] = content
            linked = self._parsed(path, data, content)
            if linked is None:
                continue
            resolver = linked.resolver
            values.extend(value for value in _passed_to(linked, qualname, positional, param) if _portable(value))
            self.depends.update(linked.linker.depends)
            if len(values) >= MAX_CONSTRUCTIONS:
                break
        return resolver.join(values) if values and resolver is not None else None

    def _files_calling(self, module: str, name: str) -> list[Path]:
        """The project files, other than the checked one, whose text calls ``name(``: in the
        module's top-level package, or beside a module that is in none. Searched once per process
        for each folder and name: every module of the package asks about the same classes."""
        package = self._module_file([module.split(".")[0]])
        if package is None:
            return []
        key = (package.parent, package.name == "__init__.py", name)
        if key not in _CALLING:
            pattern = re.compile(rb"\b" + re.escape(name.encode("utf-8")) + rb"[ \t]*\(")
            found = []
            for path in _python_files(key[0], key[1]):
                try:
                    with path.open("rb") as handle:
                        data = handle.read(MAX_LINKED_BYTES + 1)
                except OSError:
                    continue
                if len(data) <= MAX_LINKED_BYTES and pattern.search(data):
                    found.append(path)
            _CALLING[key] = found
            while len(_CALLING) > KEEP_ANSWERS:
                del _CALLING[next(iter(_CALLING))]
        return [path for path in _CALLING[key] if path != self.view.path]

    def _answer(self, kind: str, qualname: str, find: Callable[[str], Value | None]) -> Value | None:
        """Each name is asked once per checked module: a module names the same import many times."""
        key = (kind, qualname)
        if key not in self._answers:
            self._answers[key] = None  # a cycle through this name answers "unknown"
            try:
                self._answers[key] = find(qualname)
            except BaseException:
                del self._answers[key]  # stopped (the time budget): not an answer to keep
                raise
        return self._answers[key]

    def _global_value(self, qualname: str) -> Value | None:
        value = self._linked_answer(qualname, "global", _assigns)
        return self._through_star(qualname, ProjectModules.global_value) if isinstance(value, _NotHere) else value

    def instance_value(self, qualname: str) -> Value | None:
        """What calling the project class ``module.Class`` makes: its instance, described by the
        module that defines it (None when it is no class of the project)."""
        return self._answer("instance", qualname, self._instance_value)

    def _instance_value(self, qualname: str) -> Value | None:
        value = self._linked_answer(qualname, "instance", _defines_class)
        return self._through_star(qualname, ProjectModules.instance_value) if isinstance(value, _NotHere) else value

    def _returned_value(self, qualname: str) -> Value | None:
        value = self._linked_answer(qualname, "call", _defines)
        return self._through_star(qualname, ProjectModules.returned_value) if isinstance(value, _NotHere) else value

    def _linked_answer(self, qualname: str, kind: str, may_define: Callable[[bytes, str], bool]) -> Value | None | _NotHere:
        """The answer the module defining ``qualname`` gives (``_NOT_HERE`` when it does not
        define the name that way, or is not a file of the project)."""
        from cowlint.engine.source import TruncatedRead, digest, read_file

        if self.depth >= MAX_LINK_DEPTH or "." not in qualname:
            return _NOT_HERE
        module, name = qualname.rsplit(".", 1)
        parts = module.split(".")
        path = self._module_file(parts)
        if path is None:
            for absent in self.view.layout.absent_module_files(parts, script_folder(self.view)):
                self.depends[absent] = None  # a module of a project package written later changes the answer
            return _NOT_HERE
        if path == self.view.path or not name.isidentifier():
            return _NOT_HERE
        try:
            data = read_file(path, limit=MAX_LINKED_BYTES)
        except OSError:
            return _NOT_HERE
        if isinstance(data, TruncatedRead):
            self.depends[str(path)] = digest(data)  # too big to link: until it shrinks
            return _NOT_HERE
        key = (str(path), digest(data), self.config.large_threshold, kind, name)
        if not may_define(data, name):  # an edit may define it, or star-import it from elsewhere
            self.depends[f"{ABSENT}{_TESTS[may_define]}:{name}\n{key[0]}"] = f"{key[1]} {absence(data, f'{_TESTS[may_define]}:{name}')}"
            return _NOT_HERE
        # what the module says of the name, not the whole file: an edit elsewhere in it keeps the answer
        self.depends[slice_key(name, key[0])] = slice_value(data, key[1], name)
        cached = _ANSWERS.get(key)
        if cached is not None:
            _ANSWERS.move_to_end(key)
            self.depends.update(cached[1])
            return cached[0]
        linked = self._parsed(path, data, key[1])
        if linked is None:
            return None
        value = self._evaluate(linked, kind, name)
        answer = value if value is not None and (kind.split(":")[0] in _PLAIN_DATA or _portable(value)) else None
        depends = dict(linked.linker.depends)
        self.depends.update(depends)
        _ANSWERS[key] = (answer, depends)
        while len(_ANSWERS) > KEEP_ANSWERS:
            _ANSWERS.popitem(last=False)
        return answer

    @staticmethod
    def _evaluate(linked: _Linked, kind: str, name: str) -> Value | None:
        import libcst as cst

        resolver = linked.resolver
        bindings = resolver.facts.scope.bindings.get(name, ())
        if kind == "call":
            defs = [b.node for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)]
            return resolver.returned(defs[-1]) if defs else None
        if kind == "reads":
            from cowlint.engine.module.workers import module_function_reads

            functions = [b for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)]
            return module_function_reads(resolver, functions[-1], linked.name, linked.code) if functions else None  # type: ignore[return-value]
        if kind == "instance":
            return _instance(linked, resolver, name)
        if kind == "threads":
            from cowlint.engine.module.flow import Flow

            defs = [b.node for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)]
            frame = resolver.facts.scopes.get(defs[-1]) if defs else None
            flow = Flow(resolver.facts, resolver)
            for start in flow.thread_starts(frame) if frame is not None else ():
                if start.site.scope.frame() is frame and flow.outlives(start):
                    return f"{linked.code(start.site.node, 40)} in {linked.name}.{name}()"  # type: ignore[return-value]
            return None
        if kind == "factory":
            from cowlint.engine.module.dispatch import forwarded_process

            defs = [b.node for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)]
            return forwarded_process(defs[-1], resolver) if defs else None
        if kind == "wrapper":
            from cowlint.engine.module.dispatch import wrapped_dispatches

            defs = [b.node for b in bindings if b.kind == "def" and isinstance(b.node, cst.FunctionDef)]
            return (wrapped_dispatches(defs[-1], linked.dispatch_sites(), resolver) or None) if defs else None  # type: ignore[return-value]
        if kind == "dataset" or kind.startswith("members:"):
            from cowlint.engine.module.loaders import class_holding, member_datasets

            classes = [b.node for b in bindings if b.kind == "class" and isinstance(b.node, cst.ClassDef)]
            info = resolver.facts.classes.get(classes[-1]) if classes else None
            if info is None:
                return None
            if kind == "dataset":
                return class_holding(resolver.facts, resolver, info)  # type: ignore[return-value]
            return member_datasets(resolver.facts, resolver, info, kind.split(":", 1)[1])  # type: ignore[return-value]
        values = [b for b in bindings if b.kind not in ("def", "class")]
        return resolver.join(resolver.eval_binding(binding) for binding in values) if values else None

    def _through_star(self, qualname: str, ask: Callable[[ProjectModules, str], Value | None]) -> Value | None:
        """``pkg.NAME`` when ``pkg/__init__.py`` re-exports it with ``from .module import *``."""
        if self.depth + 1 >= MAX_LINK_DEPTH or "." not in qualname:
            return None
        module, name = qualname.rsplit(".", 1)
        path = self._module_file(module.split("."))
        if path is None or path == self.view.path:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        inner = ProjectModules(ProjectView(self.view.layout, path, self.view.layout.module_name(path), None), self.config, self.depth + 1, self.budget)
        for match in _STAR_IMPORT.finditer(data):
            source = inner.absolute(match.group(1).decode("ascii", "replace"))
            if source is not None:
                value = ask(inner, f"{source}.{name}")
                self.depends.update(inner.depends)  # also when it is not there (yet)
                if value is not None:
                    return value
        return None

    # ---------------------------------------------------------------- files

    def _module_file(self, parts: list[str]) -> Path | None:
        return self.view.layout.module_file(parts, script_folder(self.view))

    def _parsed(self, path: Path, data: bytes, content: str) -> _Linked | None:
        key = (str(path), content, self.config.large_threshold)
        if key in _PARSED:
            _PARSED.move_to_end(key)
            return _PARSED[key]
        if self.budget[0] <= 0 or len(data) > MAX_LINKED_BYTES:
            return None
        self.budget[0] -= 1
        linked = self._parse(path, data)
        _PARSED[key] = linked
        while len(_PARSED) > KEEP_MODULES:
            _PARSED.popitem(last=False)
        return linked

    def _parse(self, path: Path, data: bytes) -> _Linked | None:
        """The module's resolver, or None when it cannot be read as Python (never an error: the
        name simply stays unknown)."""
        import libcst as cst

        from cowlint.engine.module.facts import collect_facts
        from cowlint.engine.module.resolver import Resolver
        from cowlint.engine.source import PythonRejects, UndecodableSource, decode_source, python_verdict

        if len(data) > self.config.max_file_size:
            return None
        try:
            source = decode_source(data, str(path))
            python_verdict(source)
            module = cst.parse_module(source.text)
        except (UndecodableSource, PythonRejects):
            return None
        except Exception:  # noqa: BLE001 - libcst's parser raises several kinds
            return None
        named = self.view.layout.module_name(path)
        view = ProjectView(self.view.layout, path, named, None)
        linker = ProjectModules(view, self.config, self.depth + 1, self.budget)
        return _Linked(module, named[0] if named else path.stem, Resolver(collect_facts(module), self.config.large_threshold, None, linker), linker)


def called_wrappers(data: bytes, view: ProjectView, config: Config) -> tuple[frozenset[str], dict[str, str | None]]:
    """The names through which the module ``data`` calls another module's pool wrapper with an
    argument for a parameter that reaches one of its dispatches, by that wrapper's own analysis
    (the answer the module's check will get); and the files read to tell (path -> digest). The
    text-level candidates come from :func:`~cowlint.engine.project.wrappers.wrapper_candidates`."""
    from cowlint.engine.module.budget import limited

    candidates, depends = wrapper_candidates(data, view)
    if not candidates:
        return frozenset(), depends
    linker = ProjectModules(view, config)
    exact: dict[str, list[Signature]] = {}
    with limited(config.max_analysis_seconds):  # past it, OverBudget: the caller checks the file anyway
        for name, (qualname, _) in candidates.items():
            found = linker.wrapper_dispatches(qualname)
            if found:
                exact[name] = [Signature(item.positional, item.posonly, frozenset({item.param})) for item in found]
    depends.update(linker.depends)
    return passing_calls(data, exact), depends


def _python_files(folder: Path, recursive: bool) -> list[Path]:
    """The ``.py`` files of ``folder`` (and below it), sorted, at most ``MAX_SEARCHED_FILES``;
    listed once per process."""
    key = (folder, recursive)
    cached = _LISTED.get(key)
    if cached is None:
        found: list[Path] = []
        try:
            for path in folder.rglob("*.py") if recursive else folder.glob("*.py"):
                if len(found) >= MAX_SEARCHED_FILES:
                    break
                if path.is_file():
                    found.append(path.resolve())
        except OSError:
            pass
        cached = _LISTED[key] = sorted(found)
    return cached


_LISTED: dict[tuple[Path, bool], list[Path]] = {}
# (folder, recursive, class name) -> the files there whose text calls it
_CALLING: dict[tuple[Path, bool, str], list[Path]] = {}


def _passed_to(linked: _Linked, qualname: str, positional: tuple[str, ...], param: str) -> list[Value]:
    """What each call of the class ``qualname`` in ``linked`` passes for ``param``, evaluated there."""
    import libcst as cst

    from cowlint.engine.module.values import argument

    name = qualname.rsplit(".", 1)[1]
    package = qualname.rsplit(".", 2)[0] if qualname.count(".") > 1 else ""
    resolver = linked.resolver
    values = []
    for site in resolver.facts.calls:
        func = site.node.func
        if (func.value if type(func) is cst.Name else func.attr.value if type(func) is cst.Attribute else None) != name:
            continue
        called = resolver.qualname(func, site.scope, site.order)
        absolute = linked.linker.absolute(called) if called else None
        # the class itself, or a package above it re-exporting it (``from app.service import Client``)
        if absolute != qualname and not (absolute and absolute.endswith(f".{name}") and package.startswith(absolute.rsplit(".", 1)[0])):
            continue
        passed = argument(site.node, param, positional.index(param) if param in positional else None)
        if passed is not None:
            with resolver.reaching_out():  # ``Client(Registry())``: the instance is the answer
                values.append(resolver.eval(passed, site.scope, site.order))
    return values


_STAR_IMPORT = re.compile(rb"^from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\*", re.MULTILINE)


def _assigns(data: bytes, name: str) -> bool:
    """Whether module-level code may bind ``name`` to a value: an assignment at the start of a
    line, or an import that re-exports it."""
    word = re.escape(name.encode("utf-8"))
    return re.search(rb"^" + word + rb"[ \t]*(?::[^=\n]*)?[-+*/|&]?=|^(?:from|import)[ \t][^\n]*\b" + word + rb"\b", data, re.MULTILINE) is not None


def _defines(data: bytes, name: str) -> bool:
    """Whether the module defines a function ``name`` at module level."""
    return re.search(rb"^(?:async[ \t]+)?def[ \t]+" + re.escape(name.encode("utf-8")) + rb"\b", data, re.MULTILINE) is not None


def _may_start_threads(data: bytes, name: str) -> bool:
    """Whether the module defines a function ``name`` and names a thread or thread pool at all."""
    return any(needle in data for needle in (b"Thread", b"Timer", b"Executor")) and _defines(data, name)


def _defines_class(data: bytes, name: str) -> bool:
    """Whether the module defines a class ``name`` at module level."""
    return re.search(rb"^class[ \t]+" + re.escape(name.encode("utf-8")) + rb"\b", data, re.MULTILINE) is not None


# a module that does not define a name the way a question needs: what the result depends on
ABSENT = "absent:"
_TESTS: dict[Callable[[bytes, str], bool], str] = {_assigns: "assigns", _defines: "defines", _may_start_threads: "threads", _defines_class: "class"}


def absence(data: bytes, test: str) -> str:
    """What a module says of a name it was found not to define (``test``: ``defines:load``,
    one of ``_TESTS`` and the name): ``defined`` once it does, else the modules it star-imports
    (a re-export may come through them)."""
    kind, name = test.split(":", 1)
    if next(check for check, named in _TESTS.items() if named == kind)(data, name):
        return "defined"
    return hashlib.blake2b(b"\n".join(match.group(0) for match in _STAR_IMPORT.finditer(data)), digest_size=12).hexdigest()


def _instance(linked: _Linked, resolver: Resolver, name: str) -> Value | None:
    """What an instance of the module's class ``name`` is, for the module that makes one: its
    size and the attributes it builds, from its own class and the bases of this module. A
    ``Process`` subclass is not described: starting one is a dispatch, which stays on its side."""
    import libcst as cst

    from cowlint.engine.module import apis
    from cowlint.engine.module.values import Foreign, ForeignInstance, Kept

    classes = [b.node for b in resolver.facts.scope.bindings.get(name, ()) if b.kind == "class" and isinstance(b.node, cst.ClassDef)]
    info = resolver.facts.classes.get(classes[-1]) if classes else None
    if info is None or resolver.process_base(info) is not None:
        return None
    if apis.looks_like_pool_class(name):  # the project's own pool class (``ProcessPool``): a pool it may well be
        return Foreign(f"{linked.name}.{name}")
    chain = resolver.class_chain(info)
    methods = frozenset(method for cls in chain for method in cls.methods if method not in cls.plain_functions and method not in cls.properties)
    instance = ForeignInstance(f"{linked.name}.{name}", name, resolver.instance_size(info), tuple(resolver.built_attributes(info)), methods)
    template = resolver.constructor_template(info)
    if template is None:
        return instance
    kept, fixed, init = template
    params = init.params
    positional = tuple(param.name.value for param in (*params.posonly_params, *params.params))[1:]
    named = {param.name.value: param for param in (*params.posonly_params, *params.params, *params.kwonly_params)}
    scope = resolver.facts.scopes.get(init)
    outer = scope.parent if scope is not None and scope.parent is not None else resolver.facts.scope

    def portable(value: Value | None) -> Value | None:
        return value if value is not None and _portable(value) else None

    def default(param: cst.Param) -> Value | None:
        return portable(resolver.eval(param.default, outer, 0)) if param.default is not None else None

    bound = tuple(Kept(attribute, param, default(named[param]), portable(resolver.annotated(named[param], outer, 0))) for attribute, param in kept.items())
    return dataclasses.replace(instance, kept=bound, fixed=fixed, positional=positional, posonly=max(len(params.posonly_params) - 1, 0))


def _portable(value: Value) -> bool:
    from cowlint.engine.module.values import Const, Container, Context, Data, Foreign, ForeignInstance, PoolValue, Qualified

    if isinstance(value, PoolValue):
        return value.subclass is None
    return isinstance(value, (Const, Data, Container, Context, Foreign, ForeignInstance, Qualified))
