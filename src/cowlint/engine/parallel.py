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
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from cowlint.config import Config
from cowlint.engine.discovery import FileToCheck

if TYPE_CHECKING:
    from cowlint.engine.checker import FileResult

# Below this many files to parse, starting workers costs more than it saves
# (a worker imports libcst in ~0.3 s; a typical file parses in ~0.1 s).
PARALLEL_MIN_FILES = 16
CHUNK_FILES = 4

_worker_config: Config | None = None
_worker_prefilter = True


def _init_worker(config: Config, use_prefilter: bool) -> None:
    global _worker_config, _worker_prefilter
    _worker_config, _worker_prefilter = config, use_prefilter


def _check_chunk(items: list[FileToCheck]) -> list[FileResult]:
    from cowlint.engine.checker import check_file

    assert _worker_config is not None
    results = []
    for item in items:
        result = check_file(item, _worker_config, use_prefilter=_worker_prefilter)
        if not result.findings:
            result.source = None  # only reports need the text: do not send it back
        results.append(result)
    return results


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["cowlint.engine.checker", "cowlint.rules.registry", "libcst"])
        return context
    return multiprocessing.get_context("spawn")


def pool_workers(files: int, jobs: int) -> int:
    """How many worker processes ``files`` files to parse are worth (0: check them here)."""
    workers = min(jobs, files // CHUNK_FILES)
    return workers if workers >= 2 and files >= PARALLEL_MIN_FILES else 0


def check_in_pool(items: list[FileToCheck], config: Config, *, use_prefilter: bool, workers: int) -> Iterator[FileResult]:
    """Check ``items`` in ``workers`` processes, in chunks, results in input order."""
    chunks = [items[start : start + CHUNK_FILES] for start in range(0, len(items), CHUNK_FILES)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_worker, initargs=(config, use_prefilter)) as executor:
        for results in executor.map(_check_chunk, chunks):
            yield from results
