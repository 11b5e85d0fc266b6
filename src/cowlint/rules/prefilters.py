"""The byte prefilters the rules share (see Rule.prefilter): cheap, and sound for their rules."""

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
# it), or a gunicorn configuration that preloads the app (the master forks).
FORK = (
    (b"fork(", b"forkpty(", b"multiprocess", b"concurrent", b"billiard", b"preload_app"),
    (b"fork(", b"forkpty(", b"preload_app", *_CONSTRUCTORS),
)
