"""``.gitignore`` files, read as git reads them, so a walk skips what git ignores (as ruff does).

Read, never run: cowlint does not call git (a repository's configuration can make git run
commands, such as ``core.fsmonitor``). Inside a git work tree (a ``.git`` at or above the
walked folder), the ``.gitignore`` of every folder from the top of the work tree down, and
``.git/info/exclude``, apply; the last matching pattern wins, ``!`` re-includes, a trailing
``/`` matches folders only, a pattern with a ``/`` before its end is anchored to its
``.gitignore``'s folder, ``**`` spans folders. A folder git ignores is not walked, so nothing
inside it can be re-included (git's rule too). Not read: the global ``core.excludesFile``.

Ignoring is for untracked files only, in git as here: a file the repository tracks (listed in
``.git/index``, read as bytes) is checked even where a pattern matches it (``data/`` in
``.gitignore`` and ``pkg/data/loader.py`` committed), and an ignored folder that holds tracked
files is walked for those files alone.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class _Pattern:
    base: str  # the folder of the .gitignore, as an absolute POSIX path
    regex: re.Pattern[str]
    anchored: bool  # matched against the path below ``base``; else against the name alone
    negate: bool
    folders_only: bool


@dataclass(frozen=True)
class Tracked:
    """The paths ``.git/index`` lists, as absolute POSIX paths: files, and every folder above one."""

    files: frozenset[str]
    folders: frozenset[str]
    sparse: tuple[str, ...] = ()  # folders a sparse index keeps as one entry: all below is tracked

    def holds(self, full: str, is_folder: bool) -> bool:
        if (full in self.folders) if is_folder else (full in self.files):
            return True
        return any(full.startswith(folder) or (full + "/") == folder for folder in self.sparse)


class Ignores:
    """The patterns in force in one folder of a walk (each folder adds its own ``.gitignore``)."""

    def __init__(self, patterns: tuple[_Pattern, ...] = (), tracked: Tracked | None = None, inside_ignored: bool = False) -> None:
        self.patterns = patterns
        self.tracked = tracked
        self.inside_ignored = inside_ignored  # a folder git ignores, walked for its tracked files
        self._groups: list[tuple[str, bool, bool, re.Pattern[str]]] | None = None

    @classmethod
    def for_walk(cls, top: Path) -> Ignores | None:
        """The patterns in force at ``top`` (from the work tree's top down to it), or None when
        ``top`` is not inside a git work tree."""
        start = Path(os.path.abspath(top))
        root = next((folder for folder in (start, *start.parents) if (folder / ".git").exists()), None)
        if root is None:
            return None
        patterns: list[_Pattern] = []
        if (root / ".git").is_dir():
            patterns += _read(root / ".git" / "info" / "exclude", root)
        chain = [start, *start.parents]
        for folder in reversed(chain[: chain.index(root) + 1]):
            if folder != start:
                patterns += _read(folder / ".gitignore", folder)
        return cls(tuple(patterns), read_index(root)).entering(start)

    def entering(self, folder: Path) -> Ignores:
        """The patterns in force inside ``folder``: these and its own ``.gitignore``."""
        own = _read(folder / ".gitignore", folder)
        inside = self.inside_ignored or self._matches(Path(os.path.abspath(folder)).as_posix(), True)
        if not own and inside == self.inside_ignored:
            return self
        return Ignores(self.patterns + tuple(own), self.tracked, inside)

    def ignored(self, path: Path, is_folder: bool) -> bool:
        if not self.patterns and not self.inside_ignored:
            return False
        full = Path(os.path.abspath(path)).as_posix()
        if not (self.inside_ignored or self._matches(full, is_folder)):
            return False
        return self.tracked is None or not self.tracked.holds(full, is_folder)

    def _any_match(self, full: str, is_folder: bool) -> bool:
        """Whether any pattern matches ``full``: one regular expression per ``.gitignore`` and kind
        of pattern, not one per pattern (most paths match none, and a big ``.gitignore`` has
        hundreds)."""
        if self._groups is None:
            grouped: dict[tuple[str, bool, bool], list[str]] = {}
            for pattern in self.patterns:
                grouped.setdefault((pattern.base.rstrip("/") + "/", pattern.anchored, pattern.folders_only), []).append(pattern.regex.pattern)
            self._groups = [(base, anchored, folders, re.compile("|".join(f"(?:{regex})" for regex in regexes))) for (base, anchored, folders), regexes in grouped.items()]
        name = full.rsplit("/", 1)[-1]
        for base, anchored, folders_only, regex in self._groups:
            if (is_folder or not folders_only) and full.startswith(base) and regex.fullmatch(full[len(base) :] if anchored else name):
                return True
        return False

    def _matches(self, full: str, is_folder: bool) -> bool:
        if not self._any_match(full, is_folder):
            return False
        verdict = False  # the last matching pattern decides
        for pattern in self.patterns:
            if pattern.folders_only and not is_folder:
                continue
            if not full.startswith(pattern.base.rstrip("/") + "/"):
                continue
            subject = full[len(pattern.base.rstrip("/")) + 1 :] if pattern.anchored else full.rsplit("/", 1)[-1]
            if pattern.regex.fullmatch(subject):
                verdict = not pattern.negate
        return verdict


def _read(path: Path, folder: Path) -> list[_Pattern]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    base = Path(os.path.abspath(folder)).as_posix()
    patterns = []
    for line in text.splitlines():
        pattern = _parse(line, base)
        if pattern is not None:
            patterns.append(pattern)
    return patterns


def _parse(line: str, base: str) -> _Pattern | None:
    if not line.strip() or line.startswith("#"):
        return None
    text = line
    while text.endswith(" ") and not text.endswith("\\ "):  # trailing spaces go, unless escaped
        text = text[:-1]
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    elif text.startswith(("\\!", "\\#")):
        text = text[1:]
    folders_only = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text
    text = text.removeprefix("/")
    return _Pattern(base, re.compile(_regex(text)), anchored, negate, folders_only)


def _regex(glob: str) -> str:
    """A gitignore glob as a regular expression over a POSIX path (``*`` stays within a name)."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[":
            end = glob.find("]", i + 2)
            if end == -1:
                out.append(re.escape("["))
                i += 1
                continue
            body = glob[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif glob[i] == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def read_index(root: Path) -> Tracked | None:
    """The paths the git index of the work tree at ``root`` lists (index versions 2 to 4, SHA-1 or
    SHA-256 object names, a split index with its shared index; read as bytes; a ``.git`` file naming
    the git folder, as in a linked work tree, is followed), or None when there is no index this can
    read (then patterns alone decide)."""
    git = root / ".git"
    try:
        if git.is_file():
            pointer = git.read_text(encoding="utf-8", errors="replace").strip()
            if not pointer.startswith("gitdir:"):
                return None
            git = root / pointer[len("gitdir:") :].strip()
        names = _index_paths((git / "index").read_bytes(), git)
        if names is None:
            return None
        top = Path(os.path.abspath(root)).as_posix().rstrip("/")
        files, folders, sparse = set(), {top}, []
        for name in names:
            full = f"{top}/{os.fsdecode(name)}"
            if full.endswith("/"):  # a sparse index's folder entry
                sparse.append(full)
                full = full.rstrip("/")
            else:
                files.add(full)
            folder = full.rsplit("/", 1)[0]
            while len(folder) > len(top) and folder not in folders:
                folders.add(folder)
                folder = folder.rsplit("/", 1)[0]
    except (OSError, ValueError, IndexError, struct.error, UnicodeError):
        return None
    return Tracked(frozenset(files), frozenset(folders), tuple(sparse))


def _index_paths(data: bytes, git: Path, shared: bool = False) -> list[bytes] | None:
    """The entry paths of a git index file (git's ``Documentation/gitformat-index.txt``), or None
    when it cannot be read whole. Object names are 20 bytes (SHA-1) or 32 (SHA-256): the size is
    the one whose every entry's flags give its path's length. A split index lists only the entries
    changed since its shared index (``link`` extension): the shared index's paths are added."""
    for hash_size in (20, 32):
        parsed = _entries(data, hash_size)
        if parsed is None:
            continue
        names, end = parsed
        link = _extension(data, end, hash_size, b"link")
        if link is not None and not shared:
            shared_name = link[:hash_size].hex()
            base = _index_paths((git / f"sharedindex.{shared_name}").read_bytes(), git, shared=True)
            if base is None:
                return None
            names = base + names
        return [name for name in names if name]
    return None


def _entries(data: bytes, hash_size: int) -> tuple[list[bytes], int] | None:
    """(the entries' paths, where the extensions start), when every entry checks out with object
    names of ``hash_size`` bytes; None otherwise."""
    if len(data) < 12 or data[:4] != b"DIRC":
        return None
    version, count = struct.unpack(">II", data[4:12])
    if version not in (2, 3, 4):
        return None
    fixed = 40 + hash_size  # ten 32-bit stat fields, then the object name
    names: list[bytes] = []
    at, previous = 12, b""
    for _ in range(count):
        (flags,) = struct.unpack(">H", data[at + fixed : at + fixed + 2])
        start = at + fixed + 2 + (2 if version >= 3 and flags & 0x4000 else 0)
        if version == 4:  # the path is the previous one less N bytes, then a NUL-ended suffix
            byte = data[start]
            strip = byte & 0x7F
            start += 1
            while byte & 0x80:
                byte = data[start]
                strip = ((strip + 1) << 7) | (byte & 0x7F)
                start += 1
            end = data.index(b"\0", start)
            if strip > len(previous):
                return None
            name = previous[: len(previous) - strip] + data[start:end]
            at = end + 1
        else:  # NUL-padded so that the entry's length is a multiple of 8
            end = data.index(b"\0", start)
            name = data[start:end]
            at += ((end - at) // 8 + 1) * 8
        if (flags & 0xFFF) != min(len(name), 0xFFF) and not (version == 4 and not name):
            return None  # the wrong object name size (or a damaged index)
        names.append(name)
        previous = name
    return names, at


def _extension(data: bytes, at: int, hash_size: int, signature: bytes) -> bytes | None:
    """The payload of the index extension ``signature`` found after the entries, if there is one."""
    while at + 8 <= len(data) - hash_size:
        (size,) = struct.unpack(">I", data[at + 4 : at + 8])
        if data[at : at + 4] == signature:
            return data[at + 8 : at + 8 + size]
        at += 8 + size
    return None
