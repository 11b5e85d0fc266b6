"""Worker processes for a run, as cowlint's own rules would have them.

Only paths travel to the workers (in small chunks, so one slow file does not
hold a whole share of the tree) and the configuration travels once per worker
through ``initializer``/``initargs``. The workers start from a forkserver
that has imported the engine (spawn where there is no forkserver): nothing of
the parent's heap is inherited, so there is no copy-on-write to lose and no
fork after the parent's parse threads have run.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
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


@functools.lru_cache(maxsize=1)
def _glibc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim``, where the C library is glibc (None elsewhere: musl, macOS, Windows)."""
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return None
    try:
        library = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = library.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


def release_memory() -> None:
    """Give the memory of the last file's freed syntax tree back to the system. A tree is freed by
    reference counting when its check ends, but glibc keeps the pages in the worker's heap: a worker
    that parsed one big file would hold that high-water mark (~100 MiB for a 200 KB module) for
    the rest of the run, and the workers' high-water marks add up."""
    trim = _glibc_trim()
    if trim is not None:
        trim()


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


def watch_parent() -> None:
    """Called first by a worker's initializer: a thread that ends the worker when the run that
    started it is gone. A run killed outright (SIGKILL, or SIGTERM, which Python does not turn into
    an exception) never shuts its pool down; its workers would wait for tasks forever (each holds
    both ends of the task queue, so none sees an end of file) and keep the forkserver alive (each
    holds its liveness pipe), ~100 MiB each, until the machine restarts."""
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()  # the run, as multiprocessing tells a worker (not the forkserver)
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is None:
        return

    def watch() -> None:
        # the sentinel becomes ready when the run exits, even while it is an unreaped zombie; no
        # polling of its pid (os.kill(pid, 0) sends a Ctrl-C event on Windows, and a pid is reused)
        wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="cowlint-watch-parent", daemon=True).start()


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
    name), and ``initializer`` calls :func:`watch_parent` first; ``preload`` names the modules the
    forkserver imports once for every worker."""
    chunks = [items[start : start + CHUNK_FILES] for start in range(0, len(items), CHUNK_FILES)]
    context = _context(preload)
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer, initargs=initargs)
    try:
        if context.get_start_method() == "spawn":
            # each spawned worker is a ``python -c`` of its own: start them all in the safe folder
            with _nothing_importable_from_cwd():
                futures = [executor.submit(function, chunk) for chunk in chunks]
        else:
            futures = [executor.submit(function, chunk) for chunk in chunks]
        for future in futures:
            yield from _result(executor, future)
    except BaseException:
        _end_workers(executor)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# how often a wait for a chunk's result looks whether the pool broke under it
POLL_SECONDS = 1.0


def _result(executor: ProcessPoolExecutor, future: Future[list[R]]) -> list[R]:
    """``future.result()``, but an exception, not a wait forever, when the pool broke without it.

    Before Python 3.13 the pool marks itself broken without the lock ``submit`` holds: a chunk
    submitted while a killed worker was being noticed is added after the pending chunks were
    failed, and its future is never resolved (nor run: the pool's threads are gone)."""
    while True:
        try:
            return future.result(timeout=POLL_SECONDS)
        except FutureTimeout:
            broken = getattr(executor, "_broken", False)
            if broken:
                raise BrokenProcessPool(broken) from None


def _end_workers(executor: ProcessPoolExecutor) -> None:
    """Terminate the pool's workers, before the shutdown that waits for them.

    When a worker is killed, the pool terminates the others and then waits for them all; before
    Python 3.13 a worker whose start was under way at that moment is not among those terminated,
    and it lives on: it runs the chunks still queued and blocks on a result pipe nobody reads
    any more, and the wait for it (in the pool's thread, which ``shutdown`` joins) never ends.
    Every worker was started by a ``submit`` of this thread, so all of them are known by now."""
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        try:
            process.terminate()
        except (OSError, ValueError, AttributeError):
            pass  # already reaped, or closed
