"""Worker processes for a run, as cowlint's own rules would have them.

Only paths travel to the workers (in small chunks, so one slow file does not
hold a whole share of the tree) and the configuration travels once per worker
through ``initializer``/``initargs``. The workers start from a forkserver
that has imported the engine (spawn where there is no forkserver): nothing of
the parent's heap is inherited, so there is no copy-on-write to lose and no
fork after the parent's parse threads have run.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many files to parse, starting workers costs more than it saves
# (a worker imports libcst in ~0.3 s; a typical file parses in ~0.1 s).
PARALLEL_MIN_FILES = 16
CHUNK_FILES = 4

@contextmanager
def _nothing_importable_from_cwd() -> Iterator[None]:
    """Start helper interpreters where the folder being checked cannot shadow a module.

    multiprocessing starts the forkserver, the resource tracker and spawned
    workers as ``python -c ...``, which puts the current folder first on
    ``sys.path`` before they import ``selectors``, ``random``, ``types``...: a
    ``random.py`` in the checked tree would run. ``PYTHONSAFEPATH`` (3.11+)
    keeps that entry off ``sys.path``; on every version the interpreters start
    in an empty private folder, so the entry names nothing. Workers forked from
    the forkserver then take the parent's folder and ``sys.path`` back, after
    their imports are done.
    """
    previous_dir = os.getcwd()
    previous = {name: os.environ.get(name) for name in ("PYTHONSAFEPATH", "PYTHONPATH")}
    with tempfile.TemporaryDirectory(prefix="cowlint-") as empty:
        os.environ["PYTHONSAFEPATH"] = "1"
        if previous["PYTHONPATH"]:
            # ``PYTHONPATH=src`` means the caller's src/: from the empty folder (and once it is
            # gone, a helper started from there cannot even make the entry absolute) it would not
            os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) if entry else entry for entry in previous["PYTHONPATH"].split(os.pathsep))
        os.chdir(empty)
        try:
            yield
        finally:
            os.chdir(previous_dir)
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        with _nothing_importable_from_cwd():
            forkserver.ensure_running()  # starts the resource tracker too
        return context
    return multiprocessing.get_context("spawn")


def start_early(preload: Sequence[str]) -> None:
    """Start the forkserver now, while the caller is still reading files: it imports ``preload``
    (libcst, the rules: ~0.5 s) in its own process, and the pool asked for later forks from it at once.
    A failure here is left to the pool to meet and report (it falls back to checking in this process)."""
    try:
        _context(preload)
    except (OSError, RuntimeError):
        pass


def pool_workers(files: int, jobs: int) -> int:
    """How many worker processes ``files`` files to parse are worth (0: check them here)."""
    workers = min(jobs, files // CHUNK_FILES)
    return workers if workers >= 2 and files >= PARALLEL_MIN_FILES else 0


def map_in_pool(
    function: Callable[[list[T]], list[R]],
    items: list[T],
    *,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[object, ...],
    preload: Sequence[str],
) -> Iterator[R]:
    """``function`` over ``items`` in ``workers`` processes, in chunks of CHUNK_FILES, results
    in input order. ``function`` and ``initializer`` are module-level functions (pickled by
    name); ``preload`` names the modules the forkserver imports once for every worker."""
    chunks = [items[start : start + CHUNK_FILES] for start in range(0, len(items), CHUNK_FILES)]
    context = _context(preload)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer, initargs=initargs) as executor:
        if context.get_start_method() == "spawn":
            # each spawned worker is a ``python -c`` of its own: start them all in the safe folder
            with _nothing_importable_from_cwd():
                futures = [executor.submit(function, chunk) for chunk in chunks]
        else:
            futures = [executor.submit(function, chunk) for chunk in chunks]
        for future in futures:
            yield from future.result()
