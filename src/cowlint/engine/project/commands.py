"""Servers started from a command line: a Procfile's, a Dockerfile's, a Compose file's or a
shell script's ``gunicorn --preload`` and ``uwsgi --module`` (COW301).

The command is read as text, never run: a Procfile's ``name: command`` lines, a Dockerfile's
``CMD`` and ``ENTRYPOINT`` (shell form, or the JSON exec form; ``\\`` continues a line), a
Compose file's ``command:`` and ``entrypoint:`` (a string, a flow list or a block scalar), every line of a shell script. In
each command (``&&``, ``;`` and ``|`` separate commands), a ``gunicorn`` or ``uwsgi`` program
(also ``python -m gunicorn``, after ``exec``, environment assignments, ``poetry run`` and the
like) is read for what the server's own configuration says elsewhere:

- gunicorn with ``--preload`` and ``-w``/``--workers`` over 1 (or from a variable: unknown,
  reported as "its workers"; gunicorn's default is one worker, and none is reported), whose app
  (the last argument that is a module of the project, ``shop.wsgi:application``) never calls
  ``gc.freeze()`` at import, and no ``-c``/``--config`` file with a ``gc.freeze()`` in it;
- uWSGI's options as its ``.ini`` gives them (``--module``/``-w``, ``--wsgi-file``,
  ``--processes``/``-p``, ``--lazy-apps``, ``--chdir``), read by :mod:`cowlint.engine.project.uwsgi`;
  a command with ``--ini`` or another configuration file is left to that file.

An app not found in the project is left alone, as in the configuration files.

Celery's workers are read the other way round (:func:`celery_workers`): the finding is on the
module that makes the app (:mod:`cowlint.engine.module.servers`), and the project's command
lines that start its worker (shell scripts, Makefiles, Procfiles, Dockerfiles, Compose,
Kubernetes, supervisord and systemd files) say whether that worker forks, and how many children.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePath

from cowlint.engine.project.uwsgi import Option, app_file, freezes_at_import, preload_from, read_app
from cowlint.engine.source import digest

FIX_GUNICORN_COMMAND = (
    "call gc.freeze() at the end of the app module's import-time code (the master imports it once, with --preload, before forking), "
    "or in a when_ready(server) or post_fork(server, worker) hook of a configuration file given with -c"
)
_RUNNERS = frozenset({"exec", "poetry", "pipenv", "uv", "run", "pdm", "hatch", "rye", "nohup", "env", "newrelic-admin", "run-program", "ddtrace-run", "opentelemetry-instrument"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", ";;"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_DOCKER_COMMAND = re.compile(r"^\s*(CMD|ENTRYPOINT)\s+(.*)$", re.IGNORECASE)
_PROCFILE_LINE = re.compile(r"^\s*[\w.-]+\s*:\s*(.*)$")
_COMPOSE_LINE = re.compile(r"^\s*(?:command|entrypoint)\s*:\s*(\S.*)$")
_COMPOSE_NAMES = ("docker-compose", "compose")
# uWSGI's one-letter options that matter here, by the long name its .ini uses
_UWSGI_SHORT = {"-w": "module", "-p": "processes", "-M": "master", "-d": "daemonize"}
_UWSGI_CONFIGS = ("--ini", "--yaml", "--yml", "--json", "--xml", "--config")


@dataclass(frozen=True)
class CommandPreload:
    """A server a command line starts, forking several workers from a loaded app that never freezes."""

    server: str  # "gunicorn" or "uWSGI"
    line: int  # 1-based, where the command starts
    column: int  # of the option that turns preloading on (gunicorn) or names the app (uWSGI), 1-based
    end_column: int
    app: str
    app_path: Path
    workers: str
    depends: dict[str, str | None]


def is_command_file(path: str) -> bool:
    """A file the run reads for server command lines: a Procfile, a Dockerfile, a Compose file or
    a shell script."""
    name = PurePath(path).name
    lowered = name.lower()
    return (
        name == "Procfile"
        or lowered == "dockerfile"
        or lowered.startswith("dockerfile.")
        or lowered.endswith(".dockerfile")
        or _compose(name)
        or _shell(name)
    )


def _shell(name: str) -> bool:
    """A shell script: ``entrypoint.sh``, ``start.bash``."""
    return name.lower().endswith((".sh", ".bash"))


def _compose(name: str) -> bool:
    """A Compose file: ``docker-compose.yml``, ``compose.yaml``, ``docker-compose.prod.yml``."""
    lowered = name.lower()
    return lowered.endswith((".yml", ".yaml")) and lowered.split(".", 1)[0] in _COMPOSE_NAMES


def commands(text: str, path: str) -> list[tuple[int, str, str]]:
    """(line, the line's text, command) for each command the file runs at start."""
    found: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    name = PurePath(path).name
    shell = _shell(name)
    docker = name != "Procfile" and not _compose(name) and not shell
    compose = _compose(name)
    number = 0
    while number < len(lines):
        first, raw = number + 1, lines[number]
        number += 1
        if shell:  # every line runs, ``\\`` continues it
            while raw.rstrip().endswith("\\") and number < len(lines):
                raw = raw.rstrip()[:-1] + " " + lines[number]
                number += 1
            if raw.lstrip().startswith("#") or not raw.strip():
                continue
            command = raw.strip()
        elif docker:
            while raw.rstrip().endswith("\\") and number < len(lines):
                raw = raw.rstrip()[:-1] + " " + lines[number]
                number += 1
            match = _DOCKER_COMMAND.match(raw)
            if match is None:
                continue
            command = match.group(2).strip()
            if command.startswith("["):
                try:
                    words = json.loads(command)
                except ValueError:
                    continue
                if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
                    continue
                command = shlex.join(words)
        elif compose:
            match = _COMPOSE_LINE.match(raw)
            if match is None:
                continue
            command = re.split(r"\s#", match.group(1), maxsplit=1)[0].strip()
            if command.startswith("["):  # a flow list: ["gunicorn", "--preload", ...]
                words = [word.strip().strip("\"'") for word in command.strip("[]").split(",")]
                command = shlex.join(word for word in words if word)
            elif command[:1] in "\"'" and command[-1:] == command[:1]:
                command = command[1:-1]
            elif command[:1] in ">|":  # a block scalar: the command is on the more indented lines below
                indent = len(raw) - len(raw.lstrip())
                block = []
                while number < len(lines) and (not lines[number].strip() or len(lines[number]) - len(lines[number].lstrip()) > indent):
                    block.append(lines[number].strip())
                    number += 1
                command = " ".join(line for line in block if line)
        else:
            match = _PROCFILE_LINE.match(raw)
            if match is None or raw.lstrip().startswith("#"):
                continue
            command = match.group(1)
        found.append((first, lines[first - 1], command))
    return found


def _words(command: str) -> list[list[str]]:
    """The command's simple commands, as words (``sh -c "..."`` read inside)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote
        return []
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token in _SEPARATORS or set(token) <= set("&|;()"):
            parts.append([])
        else:
            parts[-1].append(token)
    found: list[list[str]] = []
    for part in parts:
        if len(part) >= 3 and PurePath(part[0]).name in ("sh", "bash", "dash", "ash") and part[1] == "-c":
            found.extend(_words(part[2]))
        elif part:
            found.append(part)
    return found


def _program(words: list[str]) -> tuple[str, list[str]] | None:
    """("gunicorn" or "uwsgi", its arguments) when the simple command runs one of them."""
    index = 0
    while index < len(words):
        word = words[index]
        name = PurePath(word).name
        if name in ("gunicorn", "uwsgi"):
            return name, words[index + 1 :]
        if re.fullmatch(r"python[\d.]*", name) and index + 2 < len(words) and words[index + 1] == "-m" and words[index + 2] in ("gunicorn", "uwsgi"):
            return words[index + 2], words[index + 3 :]
        if _ASSIGNMENT.match(word) or name in _RUNNERS or word.startswith("-"):
            index += 1
            continue
        return None
    return None


def preloads(text: str, path: Path) -> list[CommandPreload]:
    """Each command of the file that starts a server preloading an app that never freezes."""
    found: list[CommandPreload] = []
    environment = _environment(text, path)
    for line, raw, command in commands(text, str(path)):
        for words in _words(command):
            program = _program(words)
            if program is None:
                continue
            name, arguments = program
            hit = _gunicorn(arguments, path, line, raw, environment) if name == "gunicorn" else _uwsgi(arguments, path, line, raw)
            if hit is not None:
                found.append(hit)
    return found


def _environment(text: str, path: Path) -> dict[str, str]:
    """What the file says of ``WEB_CONCURRENCY``, which gunicorn takes for its worker count when
    no ``-w`` is given: a Dockerfile's ``ENV``, a script's ``export``, or, in a Procfile, the
    platform's (Heroku sets it by the dyno's memory: unknown here, but more than one)."""
    if path.name == "Procfile":
        return {"WEB_CONCURRENCY": "$WEB_CONCURRENCY"}
    found = {}
    for match in re.finditer(r"^\s*(?:ENV|ARG|export)\s+WEB_CONCURRENCY[=\s]\s*[\"']?(\w+)", text, re.MULTILINE | re.IGNORECASE):
        found["WEB_CONCURRENCY"] = match.group(1)
    return found


def _value(arguments: list[str], index: int, names: tuple[str, ...]) -> str | None:
    """The value of option ``arguments[index]`` when it is one of ``names`` (``-w 4``, ``-w4``,
    ``--workers=4``, ``--workers 4``)."""
    word = arguments[index]
    for name in names:
        if word == name:
            return arguments[index + 1] if index + 1 < len(arguments) else None
        if name.startswith("--") and word.startswith(name + "="):
            return word[len(name) + 1 :]
        if not name.startswith("--") and word.startswith(name) and len(word) > len(name):
            return word[len(name) :]
    return None


def _place(raw: str, token: str) -> tuple[int, int]:
    """(column, end column), 1-based, of ``token`` on the line (the line's start when not there)."""
    at = raw.find(token)
    return (at + 1, at + 1 + len(token)) if at >= 0 else (1, len(raw.rstrip()) + 1)


def _gunicorn(arguments: list[str], path: Path, line: int, raw: str, environment: dict[str, str] | None = None) -> CommandPreload | None:
    if "--preload" not in arguments:
        return None
    workers: str | None = None
    bases: list[Path] = []
    config: str | None = None
    for index in range(len(arguments)):
        value = _value(arguments, index, ("-w", "--workers"))
        if value is not None:
            workers = value
        for option in ("--chdir", "--pythonpath"):
            folder = _value(arguments, index, (option,))
            if folder is not None:
                bases.extend(path.parent / part for part in folder.split(",") if part and "$" not in part)
        given = _value(arguments, index, ("-c", "--config"))
        if given is not None:
            config = given
    if workers is None:  # gunicorn's default: WEB_CONCURRENCY, else one worker
        workers = (environment or {}).get("WEB_CONCURRENCY")
    if workers is None or (workers.isdigit() and int(workers) <= 1):
        return None  # one worker shares nothing with another
    folders = [*bases, *[path.parent, *path.parent.parents][:4]]
    if config is not None:  # a file, or ``python:package.module``
        found_config = app_file(config.removeprefix("python:"), folders) if "$" not in config else None
        data = read_app(found_config) if found_config is not None else None
        if data is None or b"freeze" in data:
            return None  # its hooks may freeze: the configuration file is checked itself
    app, app_path = _app(arguments, folders)
    if app is None or app_path is None:
        return None
    data = read_app(app_path)
    if data is None or freezes_at_import(data):
        return None
    column, end = _place(raw, "--preload")
    shown = f"{int(workers)} workers" if workers.isdigit() else "its workers"
    return CommandPreload("gunicorn", line, column, end, app, app_path, shown, {str(app_path): digest(data)})


def _app(arguments: list[str], folders: list[Path]) -> tuple[str | None, Path | None]:
    """The last argument that names a module of the project (``shop.wsgi:application``), with its file."""
    for word in reversed(arguments):
        if word.startswith("-") or "$" in word or not re.fullmatch(r"[\w.]+(:.*)?", word):
            continue
        found = app_file(word, folders)
        if found is not None and found.suffix == ".py":
            return word, found
    return None, None


def _uwsgi(arguments: list[str], path: Path, line: int, raw: str) -> CommandPreload | None:
    said: dict[str, Option] = {}
    index = 0
    while index < len(arguments):
        word = arguments[index]
        index += 1
        if word.startswith(_UWSGI_CONFIGS) or not word.startswith("-"):
            if word.startswith(_UWSGI_CONFIGS) or word.endswith((".ini", ".yaml", ".yml", ".xml", ".json")):
                return None  # a configuration file: read for itself
            continue
        name, _, value = word.partition("=")
        if not name.startswith("--"):
            name, value = _UWSGI_SHORT.get(name[:2], name), value or name[2:]
        if not value:
            if index < len(arguments) and not arguments[index].startswith("-"):
                value = arguments[index]
                index += 1
            else:
                value = "true"
        key = name.lstrip("-").lower().replace("_", "-")
        column, end = _place(raw, value if key in ("module", "wsgi", "wsgi-file", "file") else word)
        said[key] = Option(value, line, column, end)
    found = preload_from(said, path)
    if found is None:
        return None
    app = found.app
    return CommandPreload("uWSGI", line, app.column, app.end_column, app.value, found.app_path, found.workers, found.depends)


@dataclass(frozen=True)
class CeleryWorker:
    """A ``celery -A app worker`` command line of the project: which app, pool and concurrency."""

    where: str  # ``docker/entrypoint.sh:17``, relative to the project's root
    app: str  # the ``-A``/``--app`` value, without ``:attribute``
    pool: str | None  # ``-P``/``--pool``; None: Celery's default (prefork), or the app's setting
    concurrency: str | None  # ``-c``/``--concurrency``; None: the app's setting, or one per CPU


# files a project starts its workers from: shell scripts, Makefiles, Procfiles, Dockerfiles,
# Compose and Kubernetes YAML, supervisord and systemd units
_SCRIPT_SUFFIXES = frozenset({".sh", ".bash", ".yml", ".yaml", ".conf", ".ini", ".service", ".cfg", ".toml", ".env", ".mk", ".dockerfile"})
_SCRIPT_NAMES = frozenset({"Makefile", "makefile", "GNUmakefile", "Procfile", "justfile", "Justfile"})
_SKIPPED_FOLDERS = frozenset({".git", ".hg", "node_modules", ".tox", ".nox", ".venv", "venv", "env", "site-packages", "__pycache__", "build", "dist", ".mypy_cache"})
_CELERY_LINE_PREFIX = re.compile(r"^\s*(?:-\s+|(?:command|entrypoint|args|ExecStart|CMD|ENTRYPOINT|RUN)\s*[:=]?\s*)", re.IGNORECASE)
_MAX_SCRIPT_BYTES = 1 << 20
_MAX_SCRIPTS = 20_000


def celery_workers(root: Path, depends: dict[str, str | None] | None = None) -> list[CeleryWorker]:
    """Every ``celery ... worker`` command line in the project's scripts and configuration
    files (read as text, never run; ``\\`` continues a line, ``sh -c`` is read inside, a JSON
    exec form too). ``depends`` gets each file that mentions celery, with its digest."""
    found: list[CeleryWorker] = []
    seen = 0
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in _SKIPPED_FOLDERS and not name.endswith(".egg-info"))
        for name in sorted(files):
            lowered = name.lower()
            if name not in _SCRIPT_NAMES and PurePath(lowered).suffix not in _SCRIPT_SUFFIXES and not lowered.startswith("dockerfile"):
                continue
            seen += 1
            if seen > _MAX_SCRIPTS:
                return found
            path = Path(folder, name)
            try:
                if path.stat().st_size > _MAX_SCRIPT_BYTES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"celery" not in data or b"worker" not in data:
                continue
            if depends is not None:
                depends[str(path.resolve())] = digest(data)
            shown = path.relative_to(root).as_posix()
            found.extend(_celery_lines(data.decode("utf-8", "replace"), shown))
    return found


def _celery_lines(text: str, shown: str) -> list[CeleryWorker]:
    found: list[CeleryWorker] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        first, raw = number + 1, lines[number]
        number += 1
        while raw.rstrip().endswith("\\") and number < len(lines):
            raw = raw.rstrip()[:-1] + " " + lines[number]
            number += 1
        if "celery" not in raw or "worker" not in raw or raw.lstrip().startswith("#"):
            continue
        command = _CELERY_LINE_PREFIX.sub("", raw, count=1).strip()
        if command.startswith("["):
            try:
                listed = json.loads(command)
            except ValueError:
                listed = None
            if isinstance(listed, list) and all(isinstance(word, str) for word in listed):
                command = shlex.join(listed)
        for words in _words(command):
            worker = _celery_worker(words, f"{shown}:{first}")
            if worker is not None:
                found.append(worker)
    return found


def _celery_worker(words: list[str], where: str) -> CeleryWorker | None:
    """The worker a simple command starts: ``celery -A proj worker -P threads -c 4`` (also
    ``python -m celery``, after ``exec``, ``gosu user`` and the like)."""
    start = next((index + 1 for index, word in enumerate(words) if PurePath(word).name == "celery"), None)
    if start is None:
        return None
    arguments = words[start:]
    if "worker" not in arguments:
        return None
    app = pool = concurrency = None
    for index in range(len(arguments)):
        app = _value(arguments, index, ("-A", "--app")) or app
        pool = _value(arguments, index, ("-P", "--pool")) or pool
        concurrency = _value(arguments, index, ("-c", "--concurrency")) or concurrency
    if app is None or "$" in app:
        return None
    return CeleryWorker(where, app.partition(":")[0], pool, concurrency)


def names_module(app: str, module: str) -> bool:
    """Whether ``celery -A app`` loads the module ``module`` (dotted): the module itself, or the
    ``celery`` or ``app`` module of the package it names, as Celery looks for them."""
    return module in (app, f"{app}.celery", f"{app}.app", f"{app}.celery_app")
