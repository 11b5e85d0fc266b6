"""Finding the Python files to check under the paths a user names.

Explicitly named files are always checked (whatever their suffix); folders are
walked for ``*.py`` files (and uWSGI configurations, ``*uwsgi*.ini``), skipping version-control folders, virtualenvs,
build output, what the work tree's ``.gitignore`` files ignore (``respect-gitignore``)
and the configured ``exclude`` patterns. Symlinked folders are
followed once: a symlink loop is reported and skipped, never walked forever.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cowlint.config import Config
from cowlint.engine.files.gitignore import Ignores
from cowlint.engine.project.commands import is_command_file
from cowlint.engine.project.uwsgi import walked_config

PYTHON_SUFFIXES = (".py", ".pyw")


@dataclass(frozen=True)
class FileToCheck:
    """A file to read and check; ``display`` is the path shown in reports."""

    path: Path
    display: str


@dataclass(frozen=True)
class PathProblem:
    """A named or discovered path that cannot be checked.

    ``fatal`` problems (a missing or unreadable path) become COW902 findings;
    the others (a symlink loop, a broken symlink met while walking) are warnings.
    """

    display: str
    message: str
    fatal: bool


def _display(path: Path) -> str:
    text = str(path)
    return text[2:] if text.startswith("./") else text


def discover(paths: list[str], config: Config, *, force_exclude: bool = False) -> Iterator[FileToCheck | PathProblem]:
    """Yield files to check and problems, in a stable order (sorted within each folder).

    Named paths are checked even when ``exclude`` matches them, unless
    ``force_exclude`` (for tools such as pre-commit that name every file).
    """
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if force_exclude and config.is_excluded_anywhere(path):
            continue
        try:
            info = path.stat()
        except FileNotFoundError:
            if path.is_symlink():
                yield PathProblem(_display(path), "cannot read: broken symlink: its target does not exist", fatal=True)
            else:
                yield PathProblem(_display(path), "cannot read: no such file or directory", fatal=True)
            continue
        except OSError as error:
            yield PathProblem(_display(path), f"cannot read: {error.strerror or error}", fatal=True)
            continue
        if stat.S_ISDIR(info.st_mode):
            ignores = Ignores.for_walk(path) if config.respect_gitignore else None
            yield from _walk(path, config, {(info.st_dev, info.st_ino)}, seen, ignores)
        elif _remember(path, seen):
            yield FileToCheck(path, _display(path))


def _remember(path: Path, seen: set[str]) -> bool:
    try:
        key = os.path.realpath(path)
    except OSError:
        key = str(path)
    if key in seen:
        return False
    seen.add(key)
    return True


def _walk(directory: Path, config: Config, ancestors: set[tuple[int, int]], seen: set[str], ignores: Ignores | None) -> Iterator[FileToCheck | PathProblem]:
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        yield PathProblem(_display(directory), f"cannot read directory: {error.strerror or error}", fatal=True)
        return
    for entry in entries:
        path = directory / entry.name
        if config.is_excluded(path):
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        if ignores is not None and ignores.ignored(path, is_dir):
            continue
        if is_dir:
            try:
                info = path.stat()
            except OSError as error:
                yield PathProblem(_display(path), f"cannot read: {error.strerror or error}", fatal=True)
                continue
            key = (info.st_dev, info.st_ino)
            if key in ancestors:
                yield PathProblem(_display(path), "symlink loop: this folder contains itself; skipped", fatal=False)
                continue
            # a folder with its own .git (a submodule, a vendored checkout, one of several checkouts
            # under the folder walked) is a work tree of its own
            if config.respect_gitignore and (path / ".git").exists():
                inside = Ignores.for_walk(path)
            else:
                inside = ignores.entering(path) if ignores is not None else None
            yield from _walk(path, config, ancestors | {key}, seen, inside)
            continue
        if not entry.name.endswith(PYTHON_SUFFIXES) and not walked_config(entry.name) and not is_command_file(entry.name):
            continue
        try:
            regular = entry.is_file()
        except OSError:
            regular = False
        if not regular:
            if entry.is_symlink() and not os.path.exists(path):
                yield PathProblem(_display(path), "broken symlink: its target does not exist; skipped", fatal=False)
            continue
        if _remember(path, seen):
            yield FileToCheck(path, _display(path))
