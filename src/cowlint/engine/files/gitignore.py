"""``.gitignore`` files, read as git reads them, so a walk skips what git ignores (as ruff does).

Read, never run: cowlint does not call git (a repository's configuration can make git run
commands, such as ``core.fsmonitor``). Inside a git work tree (a ``.git`` at or above the
walked folder), the ``.gitignore`` of every folder from the top of the work tree down, and
``.git/info/exclude``, apply; the last matching pattern wins, ``!`` re-includes, a trailing
``/`` matches folders only, a pattern with a ``/`` before its end is anchored to its
``.gitignore``'s folder, ``**`` spans folders. A folder git ignores is not walked, so nothing
inside it can be re-included (git's rule too). Not read: the global ``core.excludesFile``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class _Pattern:
    base: str  # the folder of the .gitignore, as an absolute POSIX path
    regex: re.Pattern[str]
    anchored: bool  # matched against the path below ``base``; else against the name alone
    negate: bool
    folders_only: bool


class Ignores:
    """The patterns in force in one folder of a walk (each folder adds its own ``.gitignore``)."""

    def __init__(self, patterns: tuple[_Pattern, ...] = ()) -> None:
        self.patterns = patterns

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
        return cls(tuple(patterns)).entering(start)

    def entering(self, folder: Path) -> Ignores:
        """The patterns in force inside ``folder``: these and its own ``.gitignore``."""
        own = _read(folder / ".gitignore", folder)
        return Ignores(self.patterns + tuple(own)) if own else self

    def ignored(self, path: Path, is_folder: bool) -> bool:
        if not self.patterns:
            return False
        full = Path(os.path.abspath(path)).as_posix()
        verdict = False
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
