"""Whether what a cached result depended on still holds, judged once per run for each file.

A result records the other files of the project its analysis read, each with what it
read of it (see :class:`~cowlint.engine.module.check.FileResult` ``depends``):

- ``<path>``: the file's digest (None: the file was looked for and was absent);
- ``slice:<name>`` and the path: the digest and the fingerprint of the module's slice for
  the name (:mod:`cowlint.engine.project.slices`);
- ``absent:<test>:<name>`` and the path: the module did not define the name the way the
  question needed (and which modules it star-imports), with the file's digest;
- ``wrapper:<name>``, the project root and the path: what the pool-wrapper test read
  (:mod:`cowlint.engine.project.wrappers`), with the file's digest.

A value that holds a digest and a fingerprint (``"<digest> <fingerprint>"``) is judged by
the digest first: only a file that changed is read for what the question read of it, so
an edit elsewhere in a module keeps the results that read another part of it.
Nothing here imports libcst: a fully cached run never loads the parser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cowlint.engine.project import linking, slices, wrappers
from cowlint.engine.project.layout import Layout
from cowlint.engine.source import TruncatedRead, digest, read_file


class Dependencies:
    """The current state of the files a run's cached results depend on."""

    def __init__(self, layout_of: Callable[[Path], Layout]) -> None:
        self.layout_of = layout_of
        self._data: dict[str, bytes | None] = {}
        self._digests: dict[str, str | None] = {}
        self._said: dict[str, str | None] = {}

    def holds(self, key: str, recorded: str | None) -> bool:
        """Whether the dependency ``key`` still has the value ``recorded``."""
        if not key.startswith((slices.SLICE, linking.ABSENT, wrappers.FINGERPRINT)):
            return self.digest(key) == recorded
        was, _, said = (recorded or "").partition(" ")
        if not said:
            return False
        if self.digest(key.rsplit("\n", 1)[-1]) == was:
            return True
        if key not in self._said:
            self._said[key] = self._current(key)
        return self._said[key] == said

    def digest(self, path: str) -> str | None:
        """The file's digest, read as the linker reads it (a big file: of its head; None: absent
        or unreadable)."""
        if path not in self._digests:
            data = self._read(path)
            self._digests[path] = digest(data) if data is not None else None
        return self._digests[path]

    def _read(self, path: str) -> bytes | None:
        if path not in self._data:
            try:
                self._data[path] = read_file(Path(path), limit=linking.MAX_LINKED_BYTES)
            except OSError:
                self._data[path] = None
        return self._data[path]

    def _current(self, key: str) -> str | None:
        if key.startswith(wrappers.FINGERPRINT):
            return wrappers.fingerprint(key, self.layout_of)
        name, path = key.split("\n", 1)
        data = self._read(path)
        if data is None or isinstance(data, TruncatedRead):
            return None  # gone, or grown past what the linker reads: its answers are no longer given
        if key.startswith(slices.SLICE):
            return slices.fingerprint(data, digest(data), name[len(slices.SLICE) :])
        return linking.absence(data, name[len(linking.ABSENT) :])
