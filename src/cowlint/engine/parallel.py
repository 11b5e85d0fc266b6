"""Checking files in worker processes, as cowlint's own rules would have it.

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
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cowlint.config import Config
from cowlint.engine.discovery import FileToCheck

if TYPE_CHECKING:
    from cowlint.engine.checker import FileResult
    from cowlint.engine.project.index import ProjectView

# Below this many files to parse, starting workers costs more than it saves
# (a worker imports libcst in ~0.3 s; a typical file parses in ~0.1 s).
PARALLEL_MIN_FILES = 16
CHUNK_FILES = 4

_worker_config: Config | None = None
_worker_prefilter = True


def _init_worker(config: Config, use_prefilter: bool) -> None:
    global _worker_config, _worker_prefilter
    _worker_config, _worker_prefilter = config, use_prefilter


def _check_chunk(items: list[tuple[FileToCheck, ProjectView | None]]) -> list[FileResult]:
    from cowlint.engine.checker import check_file

    assert _worker_config is not None
    results = []
    for item, project in items:
        result = check_file(item, _worker_config, use_prefilter=_worker_prefilter, project=project)
        if not result.findings:
            result.source = None  # only reports need the text: do not send it back
        results.append(result)
    return results


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
    previous_dir, previous_safe = os.getcwd(), os.environ.get("PYTHONSAFEPATH")
    with tempfile.TemporaryDirectory(prefix="cowlint-") as empty:
        os.environ["PYTHONSAFEPATH"] = "1"
        os.chdir(empty)
        try:
            yield
        finally:
            os.chdir(previous_dir)
            if previous_safe is None:
                del os.environ["PYTHONSAFEPATH"]
            else:
                os.environ["PYTHONSAFEPATH"] = previous_safe


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["cowlint.engine.checker", "cowlint.rules.registry", "libcst"])
        with _nothing_importable_from_cwd():
            forkserver.ensure_running()  # starts the resource tracker too
        return context
    return multiprocessing.get_context("spawn")


def pool_workers(files: int, jobs: int) -> int:
    """How many worker processes ``files`` files to parse are worth (0: check them here)."""
    workers = min(jobs, files // CHUNK_FILES)
    return workers if workers >= 2 and files >= PARALLEL_MIN_FILES else 0


def check_in_pool(items: list[tuple[FileToCheck, ProjectView | None]], config: Config, *, use_prefilter: bool, workers: int) -> Iterator[FileResult]:
    """Check ``items`` (each with how its project sees it) in ``workers``
    processes, in chunks, results in input order."""
    chunks = [items[start : start + CHUNK_FILES] for start in range(0, len(items), CHUNK_FILES)]
    context = _context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(config, use_prefilter)) as executor:
        if context.get_start_method() == "spawn":
            # each spawned worker is a ``python -c`` of its own: start them all in the safe folder
            with _nothing_importable_from_cwd():
                futures = [executor.submit(_check_chunk, chunk) for chunk in chunks]
        else:
            futures = [executor.submit(_check_chunk, chunk) for chunk in chunks]
        for future in futures:
            yield from future.result()
