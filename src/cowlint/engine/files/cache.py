"""The result cache: a file whose content, cowlint version and configuration are unchanged is
not checked again.

Entries live in ``.cowlint_cache/<version>/<configuration digest>.json`` under the
project root (the folder of the ``pyproject.toml`` with ``[tool.cowlint]``, else
the current folder), keyed by each file's displayed path and the digest of its
bytes. Each entry is signed (HMAC-SHA256) with a key kept outside the checked tree,
so an entry written by anyone else — a cache restored from another branch's CI run,
an edited file — is not believed: the file is checked again (see :func:`signing_key`).
The folder holds a ``.gitignore`` of ``*``, like ruff's. Writes go to a
temporary file renamed over the old one, so a concurrent run or a crash never
leaves a torn file; a cache that cannot be read or parsed is ignored and
rebuilt, and a cache folder that cannot be written only costs the speed-up.
Nothing here imports libcst: a fully cached run never loads the parser.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cowlint._version import __version__
from cowlint.config import Config
from cowlint.engine.finding import Finding

if TYPE_CHECKING:
    from cowlint.engine.module.check import FileResult

CACHE_DIR = ".cowlint_cache"
KEEP_CONFIGURATIONS = 8  # cache files kept per version; older configurations are dropped
_FINDING_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))


def configuration_key(config: Config, use_prefilter: bool) -> str:
    """A digest of everything that changes findings: the configuration (not where it was read
    from) and cowlint's own code (so an edited or reinstalled cowlint never reuses old results)."""
    fields = [(f.name, getattr(config, f.name)) for f in dataclasses.fields(config) if f.compare]
    # the interpreter too: what its parser accepts (PEP 695 syntax...) changes the verdicts
    return hashlib.blake2b(repr((fields, use_prefilter, _code_stamp(), sys.version_info[:2])).encode(), digest_size=12).hexdigest()


def _code_stamp() -> list[tuple[str, int, int]]:
    package = Path(__file__).resolve().parents[2]  # the whole cowlint package: rules included
    stamp = []
    for path in sorted(package.rglob("*.py")):
        try:
            info = path.stat()
        except OSError:
            continue
        stamp.append((str(path.relative_to(package)), info.st_size, info.st_mtime_ns))
    return stamp


KEY_VARIABLE = "COWLINT_CACHE_KEY"


def signing_key() -> bytes:
    """The key cache entries are signed with: ``$COWLINT_CACHE_KEY`` when set (a CI secret, so
    that a cache shared between the runs of one pipeline is reused), else a random key made once
    per user in ``$XDG_CACHE_HOME/cowlint/cache-key`` (``~/.cache``), readable by the user only.
    Without either (no home to write to), a key for this process only: nothing is reused."""
    given = os.environ.get(KEY_VARIABLE)
    if given:
        return hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    if _KEY:
        return _KEY[0]
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(home) / "cowlint" / "cache-key"
    key = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(secrets.token_hex(32))
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text) if len(text) == 64 else None
    except (OSError, ValueError):
        key = None
    _KEY.append(key if key is not None else secrets.token_bytes(32))
    return _KEY[0]


_KEY: list[bytes] = []


def _signature(path: str, entry: dict[str, Any]) -> str:
    body = json.dumps([path, {name: value for name, value in entry.items() if name != "mac"}], sort_keys=True, separators=(",", ":"))
    return hmac.new(signing_key(), body.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


class Cache:
    """Cached results of one configuration, loaded once and saved once per run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        self.changed: dict[str, dict[str, Any]] = {}
        self.entries = self._load()

    @classmethod
    def for_run(cls, config: Config, use_prefilter: bool, root: Path | None = None) -> Cache:
        """The cache of ``config`` under ``root`` (default: the configuration's project root, else the current folder)."""
        base = root or config.root or Path.cwd()
        return cls(base / CACHE_DIR / __version__ / f"{configuration_key(config, use_prefilter)}.json")

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError, RecursionError, MemoryError):
            return {}  # missing, unreadable or corrupt (100,000 nested brackets included): start again
        entries = data.get("files") if isinstance(data, dict) else None
        return entries if isinstance(entries, dict) else {}

    def get(self, path: str, key: str, project: Callable[[], str], unchanged: Callable[[str, str | None], bool]) -> FileResult | None:
        """The cached result of ``path`` if its content digest is ``key`` (not parsed in this run).

        A file that was checked (not ruled out by the prefilter) also depends on its project:
        ``project()`` must give the stamp it had then, and every other file its analysis read
        must still say what it said then (``unchanged(dependency, recorded value)``)."""
        from cowlint.engine.module.check import FileResult

        entry = self.entries.get(path)
        if not isinstance(entry, dict) or entry.get("digest") != key or "inherited" not in entry:
            return None
        try:
            signed = hmac.compare_digest(str(entry.get("mac")), _signature(path, entry))
        except (TypeError, ValueError, RecursionError):
            signed = False
        if not signed:
            return None  # not written by this user's cowlint (or edited since): check the file again
        if entry["inherited"] is not None and entry["inherited"] != project():
            return None
        depends = entry.get("depends")
        if not isinstance(depends, dict) or any(not isinstance(other, str) or not isinstance(value, (str, type(None))) or not unchanged(other, value) for other, value in depends.items()):
            return None
        try:
            # the path is this run's, never the entry's: a crafted entry cannot point --fix elsewhere
            findings = [
                Finding(**{**{name: item[name] for name in _FINDING_FIELDS}, "path": path, "related": tuple(tuple(place) for place in item["related"])})
                for item in entry["findings"]
            ]
            return FileResult(path, findings=findings, warnings=list(entry["warnings"]))
        except (KeyError, TypeError):
            return None  # an entry of another shape: check the file again

    def put(self, path: str, key: str, result: FileResult, inherited: str | None) -> None:
        """Remember ``result`` unless it holds an internal error or ran out of time (those are
        retried); ``inherited``
        is the stamp of the start method it was checked under (None: the prefilter ruled it out)."""
        if result.errors or not result.cacheable:
            return
        entry = {
            "digest": key,
            "inherited": inherited,
            "depends": result.depends,
            "findings": [dataclasses.asdict(finding) for finding in result.findings],
            "warnings": result.warnings,
        }
        entry["mac"] = _signature(path, entry)
        if self.entries.get(path) != entry:
            self.changed[path] = entry

    def save(self) -> None:
        """Merge this run's entries into the file on disk, atomically; never raises."""
        if not self.changed:
            return
        try:
            folder = self.path.parent
            folder.mkdir(parents=True, exist_ok=True)
            _write_new(folder.parent / ".gitignore", b"# Automatically created by cowlint.\n*\n")
            entries = self._load()  # another run may have saved meanwhile: keep its entries too
            entries.update(self.changed)
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump({"version": __version__, "files": entries}, out, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            self._prune(folder)
        except OSError:
            pass  # a read-only tree: run without the speed-up

    def _prune(self, folder: Path) -> None:
        """Forget all but the newest configurations: only files cowlint names itself (a 24-digit
        key), never a link, so a cache folder that is a symlink cannot cost anyone a file."""
        ours = [path for path in folder.iterdir() if _CACHE_FILE.fullmatch(path.name) and not path.is_symlink() and path.is_file()]
        ours.sort(key=lambda path: path.stat().st_mtime, reverse=True)
        for old in ours[KEEP_CONFIGURATIONS:]:
            old.unlink(missing_ok=True)


_CACHE_FILE = re.compile(r"[0-9a-f]{24}\.json")


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` unless something is there already, a dangling symlink
    included: nothing is ever written through a link."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        return
    with os.fdopen(handle, "wb") as out:
        out.write(data)
