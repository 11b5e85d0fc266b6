"""The byte prefilters of the rules: cheap, and sound for their rules.

A file can only be reported by a rule if, for every group of its prefilter, at least one of the
group's strings occurs in the file (plain substring tests: Python's regex alternation is ~6x
slower here). The table is readable without the rules or libcst: a run decides which files to
parse before it loads either."""

from __future__ import annotations

from cowlint.engine.module import apis

_CONSTRUCTORS = apis.CONSTRUCTOR_NEEDLES

# A dispatch needs a multiprocessing/concurrent import (known receivers) or a
# receiver named like a pool or executor (see apis.POOL_NAME_PARTS), and a call
# of a dispatch method or a pool/process constructor (the engine's pool wrapper
# test asks the same of a module).
DISPATCH = apis.DISPATCH_NEEDLES

# A dispatch, or a PyTorch DataLoader (its workers are processes too).
DISPATCH_OR_LOADER = tuple((*group, b"DataLoader") for group in DISPATCH)

# A fork: os.fork()/os.forkpty(), or a process start through multiprocessing's API (or an alias of
# it), a gunicorn configuration that preloads the app, or a Celery app (the master forks the workers).
FORK = (
    (b"fork(", b"forkpty(", b"multiprocess", b"concurrent", b"billiard", b"preload_app", b"Celery("),
    (b"fork(", b"forkpty(", b"preload_app", b"Celery(", *_CONSTRUCTORS),
)

# gc.freeze() called too early or without gc.disable(): the word is enough
FREEZE = ((b"freeze",),)

BY_CODE: dict[str, tuple[tuple[bytes, ...], ...]] = {
    "COW101": DISPATCH,
    "COW102": DISPATCH,
    "COW201": DISPATCH,
    "COW202": DISPATCH,
    "COW203": DISPATCH_OR_LOADER,
    "COW204": DISPATCH_OR_LOADER,
    "COW205": FORK,
    "COW301": FORK,
    "COW302": FREEZE,
    "COW303": DISPATCH_OR_LOADER,
    "COW304": DISPATCH,
}


def may_report(code: str, data: bytes, found: dict[bytes, bool] | None = None) -> bool:
    """Whether the file's bytes pass the prefilter of rule ``code``. ``found`` remembers, across
    the rules asked about one file, whether each needle occurs: the rules share most needles, and
    each is then searched for once per file instead of once per rule."""
    if found is None:
        found = {}
    for group in BY_CODE.get(code, ()):
        for needle in group:
            present = found.get(needle)
            if present is None:
                present = found[needle] = needle in data
            if present:
                break
        else:
            return False
    return True
