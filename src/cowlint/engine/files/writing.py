"""Writing a fixed file back: atomically, never truncating it, never over someone else's edit."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from cowlint.engine.source import read_file


class ChangedWhileFixing(Exception):
    """The file's bytes are no longer those the fix was computed from."""


def replace_file(path: Path, original: bytes, fixed: bytes) -> None:
    """Put ``fixed`` in place of ``path``'s ``original`` bytes, atomically.

    The new text goes to a temporary file beside the target, is flushed to disk, takes the
    original's mode (and owner, where allowed), and is renamed over the target only if the
    target still holds ``original``: a kill mid-write, a full disk or a concurrent edit leave
    the file as it was (or as the other writer left it), never truncated. A symlink is
    followed: the file it points to is fixed and the link stays a link. A read-only file is
    refused, and a file with other hard links is rewritten in place so that they all see it.
    """
    target = Path(os.path.realpath(path))
    info = os.stat(target)
    if not os.access(target, os.W_OK):  # a rename would replace a file its owner made read-only
        raise PermissionError(13, "permission denied (the file is read-only)")
    if info.st_nlink > 1:
        _rewrite_in_place(target, original, fixed)  # a rename would split the hard links
        return
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".cowlint-fix", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(fixed)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        try:
            os.chown(temporary, info.st_uid, info.st_gid)
        except OSError:
            pass  # not ours to give away: the fixed file belongs to whoever runs cowlint
        if read_file(target) != original:
            raise ChangedWhileFixing(str(path))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _rewrite_in_place(target: Path, original: bytes, fixed: bytes) -> None:
    """A file with several hard links keeps its inode: all its names see the fix. The fix is
    written only after the file was checked to be unchanged; the write itself is not atomic."""
    with open(target, "r+b") as handle:
        if handle.read() != original:
            raise ChangedWhileFixing(str(target))
        handle.seek(0)
        handle.write(fixed)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
