"""Where a project starts and how its files are named as modules.

The root is the nearest folder at or above a file holding ``pyproject.toml``,
``setup.cfg``, ``setup.py`` or a ``.git`` folder. Modules are named from the
import roots: the root itself, ``src/`` when the project has one, and the
folders ``[tool.setuptools]`` names (``package-dir``, ``packages.find.where``).
A file outside every import root has no module name; namespace packages
(folders without ``__init__.py``) name their modules like regular ones.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


@lru_cache(maxsize=4096)
def find_root(directory: Path) -> Path | None:
    """The project root for files in ``directory`` (resolved), or None outside any project.

    Installed code is no project's source: a folder inside ``site-packages`` or a
    standard library (which a pyenv or conda tree may hold under its own ``.git``)
    has no root, so checking it never reads the whole installation."""
    for folder in (directory, *directory.parents):
        if _installed_code(folder):
            return None
        for marker in ROOT_MARKERS:
            try:
                if (folder / marker).exists():
                    return folder
            except OSError:
                continue
    return None


def _installed_code(folder: Path) -> bool:
    if folder.name in ("site-packages", "dist-packages"):
        return True
    try:
        return (folder / "lib-dynload").is_dir() or ((folder / "os.py").is_file() and (folder / "site.py").is_file())
    except OSError:
        return False


# (import roots, script folder, module parts) -> the module's file, once per process
_MODULE_FILES: dict[tuple[tuple[Path, ...], Path | None, tuple[str, ...]], Path | None] = {}


@dataclass(frozen=True)
class Layout:
    """A project's root, its import roots (deepest first) and its console scripts."""

    root: Path
    import_roots: tuple[Path, ...]
    scripts: tuple[str, ...]  # modules named by [project.scripts] / [project.gui-scripts]

    @classmethod
    def of(cls, root: Path) -> Layout:
        """The layout of the project at ``root``, read from its ``pyproject.toml`` if it has one."""
        data = _pyproject(root)
        roots = {root}
        if (root / "src").is_dir():
            roots.add(root / "src")
        setuptools = _table(_table(data, "tool"), "setuptools")
        package_dir = setuptools.get("package-dir")
        if isinstance(package_dir, dict):
            roots.update(root / value for value in package_dir.values() if isinstance(value, str) and value)
        packages = setuptools.get("packages")
        find = packages.get("find") if isinstance(packages, dict) else None
        where = find.get("where") if isinstance(find, dict) else None
        if isinstance(where, list):
            roots.update(root / value for value in where if isinstance(value, str))
        scripts: list[str] = []
        project = _table(data, "project")
        tables = [project.get("scripts"), project.get("gui-scripts"), _table(project, "entry-points").get("console_scripts")]
        tables.append(_table(_table(data, "tool"), "poetry").get("scripts"))
        for entries in tables:
            if isinstance(entries, dict):
                scripts.extend(value.split(":", 1)[0].strip() for value in entries.values() if isinstance(value, str))
        ordered = tuple(sorted((path for path in roots if path.is_dir()), key=lambda path: -len(path.parts)))
        return cls(root, ordered, tuple(scripts))

    def module_name(self, path: Path) -> tuple[str, bool] | None:
        """``(dotted name, is a package)`` of the file at ``path`` (resolved), or None."""
        for base in self.import_roots:
            try:
                parts = path.relative_to(base).parts
            except ValueError:
                continue
            if not parts or not all(part.isidentifier() for part in parts[:-1]):
                continue
            stem = parts[-1].rsplit(".", 1)[0]
            if stem == "__init__":
                return (".".join(parts[:-1]), True) if len(parts) > 1 else None
            if not stem.isidentifier():
                return None
            return ".".join((*parts[:-1], stem)), False
        return None

    def module_file(self, parts: Sequence[str], script_folder: Path | None = None) -> Path | None:
        """The file (resolved) of the project module ``parts`` (``("app", "io")``), or None when no
        import root holds it: a third-party or standard module. ``script_folder``: the folder of a
        script checked from it, first on ``sys.path`` when the script runs."""
        key = (self.import_roots, script_folder, tuple(parts))
        if key not in _MODULE_FILES:
            found: Path | None = self._find_module_file(parts, script_folder)
            _MODULE_FILES[key] = found
            if len(_MODULE_FILES) > 65536:
                del _MODULE_FILES[next(iter(_MODULE_FILES))]
            return found
        return _MODULE_FILES[key]

    def _search_roots(self, script_folder: Path | None) -> tuple[Path, ...]:
        """Where imports are looked for: the import roots, and a script's own folder."""
        return (*self.import_roots, script_folder) if script_folder is not None else self.import_roots

    def absent_module_files(self, parts: Sequence[str], script_folder: Path | None = None) -> list[str]:
        """Where the missing project module ``parts`` would be written, inside the deepest package
        of the project that holds its name (``app/catalog.py`` and ``app/catalog/__init__.py`` for
        ``app.catalog`` when ``app`` is a package of the project; none for ``numpy``): a result that
        found no such file depends on its staying absent."""
        roots = self._search_roots(script_folder)
        for depth in range(len(parts) - 1, 0, -1):
            found = self.module_file(parts[:depth], script_folder)
            if found is not None and found.name != "__init__.py":
                return []  # ``fairseq.file_io.PathManager``: the rest are names in a module, not modules
            if found is not None:
                folder = str(found.parent)
            else:  # a namespace package: a folder of an import root, with no __init__.py
                folder = next((path for base in roots if os.path.isdir(path := os.path.join(base, *parts[:depth]))), "")
                if not folder or not all(part.isidentifier() for part in parts[:depth]):
                    continue
            stem = os.path.join(folder, parts[depth])
            return [stem + ".py", os.path.join(stem, "__init__.py")]
        return []

    def _find_module_file(self, parts: Sequence[str], script_folder: Path | None) -> Path | None:
        if not parts or not all(part.isidentifier() for part in parts):
            return None
        roots = self._search_roots(script_folder)
        for base in roots:
            stem = os.path.join(base, *parts)
            for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
                if os.path.isfile(candidate):
                    try:
                        return Path(candidate).resolve()
                    except OSError:
                        continue
        return None



def absolute_module(level: int, module: str, named: tuple[str, bool] | None) -> str | None:
    """The absolute dotted name of ``from <level dots><module> import ...`` written in the module
    ``named`` (its dotted name, and whether it is a package's ``__init__``); None when it cannot
    be placed (a relative import in a file outside every import root, or above the top); ""
    for ``from . import x`` in a top-level module."""
    if not level:
        return module
    if named is None:
        return None
    parts = named[0].split(".") if named[1] else named[0].split(".")[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _pyproject(root: Path) -> dict[str, Any]:
    try:
        with open(root / "pyproject.toml", "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
