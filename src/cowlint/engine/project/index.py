"""The project's modules linked: the import graph, its entry points and the start methods they pin.

A module that does not choose its start method runs under whatever the process
that imported it chose before: ``set_start_method("fork")`` in the entry
script, in a ``conftest.py`` for the tests below it, in a package
``__init__.py`` at import time, or in a helper the entry point calls. The
entry points are the scripts (a main guard, ``__main__.py``, a module named by
``[project.scripts]``) and the test modules. A module that only entry points
pinning the same method run is pinned by them; a module that some run pinned
and others not is not pinned, and the finding names the entry point that does
not pin. A module no entry point of the project reaches keeps its own verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cowlint.config import Config
from cowlint.engine.project.layout import Layout, absolute_module, find_root
from cowlint.engine.project.summary import IMPORT_TIME, PIN_NEEDLE, UNDER_MAIN_GUARD, ModuleSummary, Pin, called_names, summarize


@dataclass(frozen=True)
class InheritedStart:
    """The start method the rest of the project leaves in force for one module.

    ``method`` None with a ``note``: some entry points pin a method and others do
    not; the note names one that does not."""

    method: str | None
    how: str
    conditional: bool = False
    note: str = ""

    def stamp(self) -> str:
        """A key for the result cache: findings depend on this as on the file's own bytes."""
        return f"{self.method}|{self.how}|{self.conditional}|{self.note}"


@dataclass(frozen=True)
class _EntryPin:
    pin: Pin
    where: Path  # the file holding the set_start_method call


class ProjectIndex:
    """The summaries of every file of one project, linked; built once per run."""

    def __init__(self, layout: Layout, summaries: dict[Path, ModuleSummary]) -> None:
        self.layout = layout
        self.summaries = summaries
        self.module_of = {path: named for path in summaries if (named := layout.module_name(path)) is not None}
        self.by_name = {name: path for path, (name, _) in sorted(self.module_of.items(), key=lambda item: -len(item[0].parts))}
        self._importers: dict[Path, list[Path]] | None = None
        self._importers_of: dict[Path, frozenset[Path]] = {}
        self._reach_bits: dict[Path, int] | None = None
        self._entry_index: dict[Path, int] = {}
        self._entry_pins: dict[Path, _EntryPin | None] = {}
        self._called: dict[Path, frozenset[str]] = {}
        self._by_folder: dict[Path, list[Path]] | None = None
        self._by_text: dict[str, Path] | None = None
        self._pinned: list[tuple[Path, _EntryPin]] | None = None
        self._imported_pinning: list[Path] | None = None
        self._closures: dict[Path, frozenset[Path]] = {}
        self._imports: dict[Path, set[Path]] = {}
        # modules whose pins can hold for another entry point: only an unconditional call pins
        self.pinning = sorted(path for path, summary in summaries.items() if any(not pin.conditional for pin in summary.pins))
        self.entries = sorted(path for path, summary in summaries.items() if self._is_entry(path, summary))

    @classmethod
    def build(cls, root: Path, config: Config) -> ProjectIndex:
        """Read and summarise every Python file of the project at ``root`` (never executing any).

        Files are read one at a time and only their summaries kept. Until one file mentions
        ``set_start_method`` there is nothing to link, and nothing but that word is searched."""
        from cowlint.engine.source import TruncatedRead, read_file

        order: list[Path] = []
        summaries: dict[Path, ModuleSummary] = {}
        for path, data in _project_files(root, config):  # one walk: the files before the first pin are read again
            order.append(path)
            if summaries or PIN_NEEDLE in data:
                summaries[path] = summarize(data)
        if not summaries:
            return cls(Layout(root, (), ()), {})
        for path in order:
            if path not in summaries:
                try:
                    data = read_file(path, limit=config.max_file_size)
                except OSError:
                    continue
                if not isinstance(data, TruncatedRead):
                    summaries[path] = summarize(data)
        return cls(Layout.of(root), {path: summaries[path] for path in order if path in summaries})

    # ---------------------------------------------------------------- the graph

    def _is_entry(self, path: Path, summary: ModuleSummary) -> bool:
        if summary.main_guard or path.name == "__main__.py" or _is_test(path):
            return True
        named = self.module_of.get(path)
        return named is not None and named[0] in self.layout.scripts

    def imports_of(self, path: Path) -> set[Path]:
        """The project files importing ``path``'s module runs: each module named and every package above it."""
        cached = self._imports.get(path)
        if cached is None:
            cached = self._imports[path] = self._resolve_imports(path)
        return cached

    def _resolve_imports(self, path: Path) -> set[Path]:
        summary = self.summaries[path]
        named = self.module_of.get(path)
        found: set[Path] = set()
        for spec in summary.imports:
            full = absolute_module(spec.level, spec.module, named) if spec.level else spec.module
            if spec.level and full is None:
                continue
            for name in (full, *(f"{full}.{item}" if full else item for item in spec.names)):
                if name:
                    self._add_module(name, path, found, local=spec.level == 0)
        if summary.dynamic_imports:
            # a plugin loader (importlib.import_module(name) over a folder) may import any module
            # of its package: more edges only keep findings
            found.update(other for other in self._package_files(path.parent))
        found.discard(path)
        return found

    def _package_files(self, folder: Path) -> list[Path]:
        if self._by_folder is None:
            self._by_folder = {}
            for file in self.summaries:
                for parent in file.parents:
                    self._by_folder.setdefault(parent, []).append(file)
                    if parent == self.layout.root:
                        break
        return self._by_folder.get(folder, [])

    def _add_module(self, name: str, importer: Path, found: set[Path], *, local: bool) -> None:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            target = self.by_name.get(".".join(parts[:end]))
            if target is not None:
                found.add(target)
        if local:  # a script's own folder comes first on sys.path
            if self._by_text is None:
                self._by_text = {str(path): path for path in self.summaries}
            relative = "/".join(parts)
            folder = str(importer.parent)
            for candidate in (f"{folder}/{relative}.py", f"{folder}/{relative}/__init__.py"):
                target = self._by_text.get(candidate)
                if target is not None:
                    found.add(target)

    def imported_pinning(self) -> list[Path]:
        """The pinning modules some other file imports (a script or test that pins is rarely
        imported: its pin is its own, and no search of the graph is needed for it)."""
        if self._imported_pinning is None:
            direct = self._reverse_graph()
            self._imported_pinning = [module for module in self.pinning if direct.get(module)]
        return self._imported_pinning

    def _reverse_graph(self) -> dict[Path, list[Path]]:
        """Each project file -> the files that import it directly (built once)."""
        if self._importers is None:
            self._importers = {}
            for source in self.summaries:
                for target in self.imports_of(source):
                    self._importers.setdefault(target, []).append(source)
        return self._importers

    def importers_of(self, path: Path) -> frozenset[Path]:
        """Every project file that runs ``path`` by importing it, directly or through others."""
        cached = self._importers_of.get(path)
        if cached is not None:
            return cached
        direct = self._reverse_graph()
        seen: set[Path] = set()
        pending = [path]
        while pending:
            for importer in direct.get(pending.pop(), ()):
                if importer not in seen:
                    seen.add(importer)
                    pending.append(importer)
        seen.discard(path)
        result = frozenset(seen)
        self._importers_of[path] = result
        return result

    def entries_reaching(self, path: Path) -> list[Path]:
        """The entry points whose run imports ``path`` (``path`` itself when it is one)."""
        bits = self._reach().get(path, 0)
        return [entry for index, entry in enumerate(self.entries) if bits >> index & 1]

    def _reaches(self, entry: Path, module: Path) -> bool:
        """Whether running the entry point ``entry`` imports ``module``."""
        reach = self._reach()  # numbers the entry points first
        index = self._entry_index.get(entry)
        return index is not None and bool(reach.get(module, 0) >> index & 1)

    def _reach(self) -> dict[Path, int]:
        """Each file -> the entry points that import it, as bits of ``self.entries`` (built once).

        One pass over the import graph condensed to its strongly connected components, in
        topological order: a breadth-first search per checked file costs seconds on a
        10,000-file tree; this costs one ``or`` of two integers per import."""
        if self._reach_bits is not None:
            return self._reach_bits
        reach: dict[Path, int] = {}
        self._entry_index = {entry: index for index, entry in enumerate(self.entries)}
        components = _components(list(self.summaries), self.imports_of)
        incoming: dict[int, int] = {}
        component_of = {member: number for number, component in enumerate(components) for member in component}
        for number in range(len(components) - 1, -1, -1):  # importers before what they import
            bits = incoming.get(number, 0)
            for member in components[number]:
                index = self._entry_index.get(member)
                if index is not None:
                    bits |= 1 << index
            for member in components[number]:
                reach[member] = bits
            if bits:
                for member in components[number]:
                    for target in self.imports_of(member):
                        other = component_of.get(target)
                        if other is not None and other != number:
                            incoming[other] = incoming.get(other, 0) | bits
        self._reach_bits = reach
        return reach

    # ---------------------------------------------------------------- start methods

    def entry_pin(self, entry: Path) -> _EntryPin | None:
        """The start method running ``entry`` pins (its own call, a conftest's, or one in a module
        it imports that runs at import time or in a function it calls); None when it pins none
        or pins several."""
        if entry in self._entry_pins:
            return self._entry_pins[entry]
        summary = self.summaries[entry]
        found = [_EntryPin(pin, entry) for pin in summary.pins if _test_or_runs(entry, pin, self.called_by(entry))]
        callers = [entry]
        if _is_test(entry):
            for conftest in self._conftests_above(entry):
                found.extend(_EntryPin(pin, conftest) for pin in self.summaries[conftest].pins)
                callers.append(conftest)
        for module in self.imported_pinning():
            if module != entry and self._reaches(entry, module):
                for pin in self.summaries[module].pins:
                    if pin.conditional:
                        continue
                    if pin.when == IMPORT_TIME or (pin.when != UNDER_MAIN_GUARD and any(pin.when in self.called_by(caller) for caller in callers)):
                        found.append(_EntryPin(pin, module))
        methods = {item.pin.method for item in found}
        chosen = found[0] if len(methods) == 1 else None
        if chosen is not None and chosen.pin.conditional:  # an unconditional pin of the same method wins
            chosen = next((item for item in found if not item.pin.conditional), chosen)
        self._entry_pins[entry] = chosen
        return chosen

    def called_by(self, path: Path) -> frozenset[str]:
        """The names ``path`` calls, read from the file when first asked."""
        if path not in self._called:
            try:
                self._called[path] = called_names(path.read_bytes())
            except OSError:
                self._called[path] = frozenset()
        return self._called[path]

    def _conftests_above(self, path: Path) -> Iterable[Path]:
        for folder in path.parents:
            conftest = folder / "conftest.py"
            if conftest in self.summaries:
                yield conftest
            if folder == self.layout.root:
                return

    def inherited_start(self, path: Path) -> InheritedStart | None:
        """The start method the project leaves in force for ``path``, or None (its own verdict stands)."""
        if not self.pinning or path not in self.summaries:
            return None
        named = self.module_of.get(path)
        if named is not None:
            parts = named[0].split(".")
            for end in range(len(parts) - (0 if named[1] else 1), 0, -1):
                package = self.by_name.get(".".join(parts[:end]))
                if package is None or package == path:
                    continue
                pin = next((pin for pin in self.summaries[package].pins if pin.when == IMPORT_TIME and not pin.conditional), None)
                if pin is not None:
                    return InheritedStart(pin.method, f"{pin.call} in {self.shown(package)}, run whenever its package is imported")
        # the few entry points that pin come first: most modules are reached by none of them
        if not any(entry == path or path in self.closure(entry) for entry, _ in self._pinned_entries()):
            return None
        reaching = self.entries_reaching(path)
        if not _is_test(path) and not self._beside_tests(path):
            # library code the tests import is also imported by its users, without the tests' pin
            if not any(not _is_test(entry) for entry in reaching):
                return None
        pins = {entry: self.entry_pin(entry) for entry in reaching}
        pinned = [(entry, pin) for entry, pin in pins.items() if pin is not None and not pin.pin.conditional]
        if not pinned:
            return None
        first_entry, first = pinned[0]
        method = first.pin.method
        set_call = first.pin.call
        other = next((entry for entry, pin in pins.items() if pin is None or pin.pin.conditional or pin.pin.method != method), None)
        if other is not None:
            held = pins[other]
            does = "pins it only under a condition" if held is not None and held.pin.conditional else f"runs this module without the {set_call} that {self.shown(first_entry)} runs"
            if held is not None and held.pin.method != method and not held.pin.conditional:
                does = f"pins {held.pin.call} where {self.shown(first_entry)} pins {set_call}"
            return InheritedStart(None, "the platform default start method", note=f"{self.shown(other)} {does}")
        where = self.shown(first.where)
        how = f"{set_call} in {where}" if first.where == first_entry else f"{set_call} in {where}, run by {self.shown(first_entry)}"
        if len(pinned) > 1:
            how += f" (every one of the {len(pinned)} entry points that run this module pins it)"
        return InheritedStart(method, how)

    def _pinned_entries(self) -> list[tuple[Path, _EntryPin]]:
        """The entry points that pin a method unconditionally, with their pin (computed once)."""
        if self._pinned is None:
            self._pinned = [(entry, pin) for entry in self.entries if (pin := self.entry_pin(entry)) is not None and not pin.pin.conditional]
        return self._pinned

    def closure(self, entry: Path) -> frozenset[Path]:
        """Every project file running ``entry`` imports, directly or through others."""
        cached = self._closures.get(entry)
        if cached is None:
            seen = {entry}
            pending = [entry]
            while pending:
                for target in self.imports_of(pending.pop()):
                    if target not in seen:
                        seen.add(target)
                        pending.append(target)
            cached = self._closures[entry] = frozenset(seen)
        return cached

    def _beside_tests(self, path: Path) -> bool:
        """Whether ``path`` is a test helper: it lives in a ``tests``/``test``/``testing`` folder."""
        try:
            folders = path.relative_to(self.layout.root).parts[:-1]
        except ValueError:
            return False
        return any(folder in ("tests", "test", "testing") for folder in folders)

    def shown(self, path: Path) -> str:
        """``path`` relative to the project root, as a report shows it."""
        try:
            return path.relative_to(self.layout.root).as_posix()
        except ValueError:
            return str(path)


def _project_files(root: Path, config: Config) -> Iterable[tuple[Path, bytes]]:
    """Every Python file of the project with its bytes, one at a time (unreadable and
    oversized files are left out: they pin nothing anyone can see)."""
    from cowlint.engine.files.discovery import FileToCheck, discover
    from cowlint.engine.source import TruncatedRead, read_file

    for item in discover([str(root)], config):
        if isinstance(item, FileToCheck):
            try:
                data = read_file(item.path, limit=config.max_file_size)
            except OSError:
                continue
            if not isinstance(data, TruncatedRead):
                yield Path(item.path), data


def _is_test(path: Path) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py")


def _test_or_runs(entry: Path, pin: Pin, called: frozenset[str]) -> bool:
    """Whether an entry point's own pin runs when it runs: at import, under its main guard, in a
    function it calls, or anywhere in a test module (pytest calls its functions)."""
    return pin.when in (IMPORT_TIME, UNDER_MAIN_GUARD) or pin.when in called or _is_test(entry)


@dataclass(frozen=True)
class ProjectView:
    """What checking one file needs of its project, as plain data: it travels to worker processes."""

    layout: Layout
    path: Path  # the file, resolved
    module: tuple[str, bool] | None  # its dotted name, and whether it is a package's __init__
    inherited: InheritedStart | None

    def stamp(self) -> str:
        """A key for the result cache: findings depend on this as on the file's own bytes."""
        return self.inherited.stamp() if self.inherited is not None else ""


class ProjectIndexes:
    """The projects a run meets: each one's layout and index, built on first use (one per root)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._layouts: dict[Path, Layout] = {}
        self._indexes: dict[Path, ProjectIndex] = {}

    def view(self, path: Path) -> ProjectView | None:
        """How ``path``'s project sees it (None outside any project)."""
        placed = self.place(path)
        if placed is None:
            return None
        if placed.layout.root not in self._indexes:
            self._indexes[placed.layout.root] = ProjectIndex.build(placed.layout.root, self.config)
        return dataclasses.replace(placed, inherited=self._indexes[placed.layout.root].inherited_start(placed.path))

    def place(self, path: Path) -> ProjectView | None:
        """Where ``path`` sits in its project (its layout and module name), without reading the
        project's other files for the start method (``inherited`` is None); None outside any project."""
        try:
            resolved = path.resolve()
        except OSError:
            return None
        root = find_root(resolved.parent)
        if root is None:
            return None
        layout = self.layout(root)
        return ProjectView(layout, resolved, layout.module_name(resolved), None)

    def refresh(self, path: Path) -> None:
        """Read one written (or deleted) file of a project again: only its summary changes (an
        editor saves one file at a time; the other files' summaries are kept)."""
        try:
            resolved = path.resolve()
        except OSError:
            return
        for root, index in list(self._indexes.items()):
            if root not in resolved.parents:
                continue
            try:
                data: bytes | None = resolved.read_bytes()
            except OSError:
                data = None
            if not index.summaries:  # nothing in the project pinned a start method when it was read
                if data is not None and PIN_NEEDLE in data:
                    del self._indexes[root]  # now something may: read the whole project on next use
                continue
            summaries = dict(index.summaries)
            if data is None or resolved.suffix not in (".py", ".pyi"):
                summaries.pop(resolved, None)
            else:
                summaries[resolved] = summarize(data)
            self._indexes[root] = ProjectIndex(index.layout, summaries)

    def layout(self, root: Path) -> Layout:
        """The layout of the project at ``root``, read once."""
        if root not in self._layouts:
            self._layouts[root] = Layout.of(root)
        return self._layouts[root]


def _components(nodes: list[Path], edges: Callable[[Path], Iterable[Path]]) -> list[list[Path]]:
    """The strongly connected components of the graph, in reverse topological order (a
    component comes before every component that has an edge to it), by Tarjan's algorithm
    without recursion."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    on_stack: set[Path] = set()
    stack: list[Path] = []
    found: list[list[Path]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[Path, Iterator[Path]]] = [(start, iter(edges(start)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges(child))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found
