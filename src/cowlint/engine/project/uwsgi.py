"""uWSGI configuration files: the fork is the server's, the heap is the app's (COW301).

A uWSGI ``.ini`` file never calls ``fork``: uWSGI does. Unless ``lazy-apps`` (or
``lazy``) is set, it imports the application once, in the first process, and then
forks its ``processes`` workers from it, so every worker starts with the app's
objects on shared pages, and the first garbage collection in each worker writes the
header of every one of them. uWSGI has no hook the configuration can point at for
``gc.freeze()``: the one place is the app module itself, at the end of its
import-time code (the master runs it once, before forking).

The file is read as text, never imported or run: ``[uwsgi]`` options (``module``,
``wsgi``, ``wsgi-file``, ``file``, ``chdir``, ``processes``/``workers``, ``lazy-apps``),
and the app module's syntax tree for a module-level ``gc.freeze()`` call. A
configuration whose app cannot be found in the project is left alone: whether it
freezes is not known.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from cowlint.engine.source import digest, read_file

_OPTION = re.compile(r"^\s*([A-Za-z][\w-]*)\s*[=:]\s*(.*?)\s*$")
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_APP_OPTIONS = ("module", "wsgi", "wsgi-file", "file")
_TRUE = frozenset({"true", "1", "yes", "on", "y"})
FIX_UWSGI = (
    "call gc.freeze() at the end of the app module's import-time code (uWSGI runs it once, in the master, before forking the workers; "
    "best with gc.disable() at its start, so that no collection leaves holes the workers fill), or set lazy-apps = true to load the app in each worker"
)


@dataclass(frozen=True)
class Option:
    value: str
    line: int  # 1-based
    column: int  # where the option's name starts, 1-based
    end_column: int


@dataclass(frozen=True)
class UwsgiPreload:
    """A uWSGI configuration that forks workers from a loaded app that never freezes its heap."""

    app: Option  # the option that names the app
    app_path: Path
    workers: str  # ``4 workers`` or ``its workers``
    depends: dict[str, str | None]  # the app module read, with its digest


_OTHER_FORMATS = (".yaml", ".yml", ".json", ".xml")  # uWSGI reads these too; read only in files whose name says uwsgi


def is_uwsgi_config(path: str) -> bool:
    """A path the run reads as a uWSGI configuration: an ``.ini`` file, or a ``.yaml``, ``.yml``,
    ``.json`` or ``.xml`` file whose name says uwsgi."""
    lowered = PurePath(path).name.lower()
    return lowered.endswith(".ini") or (lowered.endswith(_OTHER_FORMATS) and "uwsgi" in lowered)


def walked_config(name: str) -> bool:
    """A file found while walking a folder that is read as a uWSGI configuration: ``uwsgi.ini``,
    ``app_uwsgi.ini``, ``uwsgi.yaml`` (any such file whose name says uwsgi)."""
    lowered = name.lower()
    return lowered.endswith((".ini", *_OTHER_FORMATS)) and "uwsgi" in lowered


def options(text: str, path: str = "uwsgi.ini") -> dict[str, Option]:
    """The ``uwsgi`` section's options, the last value of each (``_`` spelt as ``-``), in the
    format the file's suffix names: ``[uwsgi]`` of an ``.ini``, the ``uwsgi:`` mapping of a
    YAML file (uWSGI's own reader takes only ``key: value`` lines under it), the ``"uwsgi"``
    object of a JSON file, the ``<uwsgi>`` element's children of an XML file (read line by
    line, never by an XML parser)."""
    lowered = path.lower()
    if lowered.endswith(".json"):
        return _json_options(text)
    if lowered.endswith(".xml"):
        return _xml_options(text)
    yaml = lowered.endswith((".yaml", ".yml"))
    found: dict[str, Option] = {}
    section = ""
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        header = _SECTION.match(raw) if not yaml else re.match(r"^([\w-]+)\s*:\s*(?:#.*)?$", raw)
        if header:
            section = header.group(1).strip().lower()
            continue
        if yaml and not raw[:1].isspace():
            section = ""  # another top-level key: the uwsgi mapping ended
        option = _OPTION.match(raw) if section == "uwsgi" else None
        if option:
            name = option.group(1).lower().replace("_", "-")
            value = re.split(r"\s[#;]", option.group(2), maxsplit=1)[0].strip().strip("\"'")
            start = raw.index(option.group(1)) + 1
            found[name] = Option(value, number, start, len(raw.rstrip()) + 1)
    return found


def _json_options(text: str) -> dict[str, Option]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    section = data.get("uwsgi") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        return {}
    lines = text.splitlines()
    found: dict[str, Option] = {}
    for key, value in section.items():
        if isinstance(value, list):
            value = value[-1] if value else ""
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, (str, int, float)):
            continue
        # the key's line: its last occurrence as a JSON key (a key of another object may come first)
        number, column = next(((index, line.index(f'"{key}"') + 1) for index, line in reversed(list(enumerate(lines, 1))) if f'"{key}"' in line), (1, 1))
        found[str(key).lower().replace("_", "-")] = Option(str(value).strip(), number, column, len(lines[number - 1].rstrip()) + 1 if lines else 1)
    return found


_XML_OPTION = re.compile(r"<([A-Za-z][\w-]*)>\s*([^<]*?)\s*</\1>|<([A-Za-z][\w-]*)\s*/>")


def _xml_options(text: str) -> dict[str, Option]:
    found: dict[str, Option] = {}
    inside = False
    for number, raw in enumerate(text.splitlines(), 1):
        if not inside:
            at = raw.find("<uwsgi")
            if at < 0:
                continue
            inside, raw_from = True, raw.find(">", at) + 1
        else:
            raw_from = 0
        end = raw.find("</uwsgi>", raw_from)
        for match in _XML_OPTION.finditer(raw, raw_from, end if end >= 0 else len(raw)):
            name = (match.group(1) or match.group(3)).lower().replace("_", "-")
            value = match.group(2) if match.group(1) else "true"  # <lazy-apps/>: a flag
            found[name] = Option(value, number, match.start() + 1, match.end() + 1)
        if end >= 0:
            break
    return found


def preload(text: str, path: Path) -> UwsgiPreload | None:
    """The app option of a uWSGI configuration that preloads an app into several workers whose
    module never calls ``gc.freeze()``; else None."""
    return preload_from(options(text, str(path)), path)


def preload_from(said: dict[str, Option], path: Path) -> UwsgiPreload | None:
    """The same for uWSGI's options however given (an ``.ini`` section, a command line):
    ``path`` is the file they are read from, whose folder the app is looked for from."""
    app = next((said[name] for name in _APP_OPTIONS if name in said), None)
    if app is None or any(said[name].value.lower() in _TRUE for name in ("lazy-apps", "lazy") if name in said):
        return None
    count = next((said[name].value for name in ("processes", "workers", "p") if name in said), "1")
    if count.isdigit() and int(count) <= 1:
        return None  # one worker (uWSGI's default) shares nothing with another
    app_path = _app_file(app, said, path)
    if app_path is None:
        return None
    data = read_app(app_path)
    if data is None or freezes_at_import(data):
        return None
    workers = f"{int(count)} workers" if count.isdigit() else "its workers"
    return UwsgiPreload(app, app_path, workers, {str(app_path): digest(data)})


def _app_file(app: Option, said: dict[str, Option], config: Path) -> Path | None:
    """The file of the app the option names, looked for from ``chdir`` and from the
    configuration's folder and its parents (where uWSGI is usually started)."""
    bases = []
    if "chdir" in said and "%" not in said["chdir"].value:
        bases.append(config.parent / said["chdir"].value)
    if "%" in app.value:
        return None  # a uWSGI placeholder (%d, %(var)): not resolved statically
    return app_file(app.value, [*bases, *[config.parent, *config.parent.parents][:4]])


def app_file(value: str, bases: list[Path]) -> Path | None:
    """The file of the app a server's setting names (``shop.wsgi:application``, ``shop.wsgi``,
    ``web/app.py``), the first found under ``bases``; None when it is not there."""
    if not value:
        return None
    if value.endswith(".py") or "/" in value:
        relative = [Path(value)]
    else:
        dotted = value.split(":", 1)[0].split("(", 1)[0].strip().replace(".", "/")
        if not dotted:
            return None
        relative = [Path(f"{dotted}.py"), Path(dotted) / "__init__.py"]
    for base in bases:
        for candidate in relative:
            path = candidate if candidate.is_absolute() else base / candidate
            if path.is_file():
                return path
    return None


def read_app(path: Path) -> bytes | None:
    """The app module's bytes (None: unreadable)."""
    try:
        data = read_file(path)
    except OSError:
        return None
    return bytes(data)


def freezes_at_import(data: bytes) -> bool:
    """Whether the module's import-time code calls ``gc.freeze()`` (``from gc import freeze``
    too), outside any function or class body; a module that does not parse counts as freezing
    (nothing is known of it)."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError):
        return True
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr == "freeze" and isinstance(func.value, ast.Name) and func.value.id == "gc") or (
                isinstance(func, ast.Name) and func.id == "freeze"
            ):
                return True
        pending.extend(ast.iter_child_nodes(node))
    return False
