"""A run: paths -> discovered files -> cache -> one module's check each (here or in workers) -> results.

Nothing here imports or executes the code it reads. A file that cannot be read
becomes a COW902 finding; the run goes on with the others.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cowlint.config import Config
from cowlint.engine.files.cache import Cache
from cowlint.engine.files.discovery import FileToCheck, PathProblem, discover
from cowlint.engine.files.writing import ChangedWhileFixing, replace_file
from cowlint.engine.finding import Finding
from cowlint.engine.module.check import FileResult, Plan, check_bytes, check_planned, describe_error, engine_code_enabled, engine_finding, fix_bytes, plan_file
from cowlint.engine.source import SourceText, UndecodableSource, decode_source, read_file
from cowlint.engine.source import digest as content_digest

if TYPE_CHECKING:
    from cowlint.engine.project.index import ProjectView

@dataclass
class CheckResult:
    """The outcome of a run over paths."""

    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, SourceText] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files_checked: int = 0
    files_parsed: int = 0
    files_cached: int = 0  # results reused from the cache


# bigger files are read only up to their head (COW901: over max-file-size), unless the run's
# max-file-size is bigger still; libcst needs ~1,000x a file's size in memory to parse it
READ_WHOLE_UP_TO = 16 * 1024 * 1024


def _read(item: FileToCheck, config: Config) -> bytes | FileResult:
    """The file's bytes, or its COW902 result when it cannot be read."""
    try:
        # a header may raise max-file-size for its own file, up to what is worth reading whole
        return read_file(item.path, limit=max(config.max_file_size, READ_WHOLE_UP_TO))
    except OSError as error:
        result = FileResult(item.display)
        if engine_code_enabled("COW902", config, item.display):
            reason = error.strerror or str(error) or type(error).__name__
            result.findings.append(engine_finding("COW902", item.display, 1, 1, f"cannot read: {reason}", "check that the path exists and is readable"))
        return result


def check_file(item: FileToCheck, config: Config, *, use_prefilter: bool = True, project: ProjectView | None = None) -> FileResult:
    """Read and check one discovered file."""
    data = _read(item, config)
    if isinstance(data, FileResult):
        return data
    return check_bytes(data, item.display, config, use_prefilter=use_prefilter, project=project)


def check_paths(
    paths: list[str], config: Config | None = None, *, use_prefilter: bool = True, force_exclude: bool = False, jobs: int = 1, cache: Cache | None = None
) -> CheckResult:
    """Check every Python file under ``paths``; never raises for a bad file.

    Every file is read and prefiltered here; the few that need a parse go to
    ``jobs`` worker processes when there are enough of them to pay for a pool.
    With a ``cache``, files whose content it knows are not checked again.
    """
    from cowlint.engine.files.parallel import PARALLEL_MIN_FILES, pool_workers, start_early
    from cowlint.engine.project.depends import Dependencies
    from cowlint.engine.project.index import ProjectIndexes

    config = config or Config()
    outcome = CheckResult()
    projects = ProjectIndexes(config)
    views: dict[str, ProjectView | None] = {}
    dependencies = Dependencies(projects.layout)

    def view_of(item: FileToCheck) -> ProjectView | None:
        if item.display not in views:
            views[item.display] = projects.view(item.path)
        return views[item.display]

    def place_of(item: FileToCheck) -> ProjectView | None:
        return projects.place(item.path)

    def project_stamp(item: FileToCheck) -> str:
        view = view_of(item)
        return view.stamp() if view is not None else ""

    # files that need a parse; their bytes and plan are kept only while the
    # count stays below what would go to a pool (workers re-read their files)
    candidates: list[tuple[FileToCheck, bytes | None, FileResult, Plan, str]] = []
    sizes: dict[str, int] = {}
    for item in discover(paths, config, force_exclude=force_exclude):
        if isinstance(item, PathProblem):
            if item.fatal and engine_code_enabled("COW902", config, item.display):
                outcome.findings.append(engine_finding("COW902", item.display, 1, 1, item.message, "check that the path exists and is readable"))
            elif not item.fatal:
                outcome.warnings.append(f"{item.display}: {item.message}")
            continue
        data = _read(item, config)
        if isinstance(data, FileResult):
            _merge(outcome, data)
            continue
        key = content_digest(data) if cache is not None else ""
        if cache is not None:
            hit = cache.get(item.display, key, functools.partial(project_stamp, item), dependencies.holds)
            if hit is not None:
                if hit.findings:
                    hit.source = _decoded(data, item.display)
                _merge(outcome, hit)
                outcome.files_cached += 1
                continue
        result, plan = plan_file(data, item.display, config, use_prefilter, placed=functools.partial(place_of, item), defer_wrappers=True)
        if plan is None:
            _merge(outcome, result)
            if cache is not None:
                cache.put(item.display, key, result, None)
        else:
            plan = replace(plan, project=view_of(item))
            candidates.append((item, data if len(candidates) < PARALLEL_MIN_FILES else None, result, plan, key))
            sizes[item.display] = len(data)
            if len(candidates) == PARALLEL_MIN_FILES and pool_workers(PARALLEL_MIN_FILES, jobs):
                start_early(WORKER_PRELOAD)  # this run will use the pool whatever follows
    workers = pool_workers(len(candidates), jobs)
    if workers:
        # biggest files first: the last chunks are small, so the workers finish together
        candidates.sort(key=lambda candidate: -sizes[candidate[0].display])
        results: Iterator[FileResult] = _pooled_or_serial(candidates, config, use_prefilter, workers, outcome)
    else:
        results = (_check_candidate(item, kept, result, plan, config, use_prefilter) for item, kept, result, plan, _ in candidates)
    for (item, _, _, _, key), result in zip(candidates, results, strict=True):
        _merge(outcome, result)
        if cache is not None:
            cache.put(item.display, key, result, project_stamp(item))
    if cache is not None:
        cache.save()
    outcome.findings.sort(key=Finding.sort_key)
    return outcome


def _pooled_or_serial(
    candidates: list[tuple[FileToCheck, bytes | None, FileResult, Plan, str]], config: Config, use_prefilter: bool, workers: int, outcome: CheckResult
) -> Iterator[FileResult]:
    """Results from worker processes; if the pool cannot start or breaks (the caller's script
    is not main-guarded, a worker is killed), the rest are checked here, with a warning."""
    from concurrent.futures.process import BrokenProcessPool

    from cowlint.engine.files.parallel import map_in_pool

    done = 0
    try:
        items = [(item, plan.project) for item, _, _, plan, _ in candidates]
        for result in map_in_pool(_check_chunk, items, workers=workers, initializer=_init_worker, initargs=(config, use_prefilter), preload=WORKER_PRELOAD):
            done += 1
            yield result
        return
    except (BrokenProcessPool, OSError, RuntimeError) as error:
        detail = " ".join(str(error).split())[:160] or "no detail"
        outcome.warnings.append(f"worker processes failed ({type(error).__name__}: {detail}); checking the remaining files in this process")
    for item, kept, result, plan, _ in candidates[done:]:
        yield _check_candidate(item, kept, result, plan, config, use_prefilter)


# what the forkserver imports once, for every worker it forks
WORKER_PRELOAD = ("cowlint.engine.files.run", "cowlint.rules.registry", "libcst")

_worker_config: Config | None = None
_worker_prefilter = True


def _init_worker(config: Config, use_prefilter: bool) -> None:
    from cowlint.engine.files.parallel import watch_parent

    global _worker_config, _worker_prefilter
    watch_parent()  # a killed run leaves no worker behind
    _worker_config, _worker_prefilter = config, use_prefilter


def _check_chunk(items: list[tuple[FileToCheck, ProjectView | None]]) -> list[FileResult]:
    from cowlint.engine.files.parallel import release_memory

    assert _worker_config is not None
    results = []
    for item, project in items:
        result = check_file(item, _worker_config, use_prefilter=_worker_prefilter, project=project)
        if result.parsed:
            release_memory()
        if not result.findings:
            result.source = None  # only reports need the text: do not send it back
        results.append(result)
    return results


def _check_candidate(item: FileToCheck, kept: bytes | None, result: FileResult, plan: Plan, config: Config, use_prefilter: bool) -> FileResult:
    if kept is None:  # many files but one job: read again rather than hold them all
        return check_file(item, config, use_prefilter=use_prefilter, project=plan.project)
    check_planned(kept, plan, result, apply_noqa=True)
    return result


def _decoded(data: bytes, path: str) -> SourceText | None:
    """The text of a cached file with findings, for excerpts in the report."""
    try:
        return decode_source(data, path)
    except UndecodableSource:
        return None


def fixable(finding: Finding, config: Config) -> bool:
    """Whether ``--fix`` applies the finding's fix under ``config`` (unsafe ones need ``unsafe-fixes``)."""
    return finding.autofix is not None and (finding.fix_applicability == "safe" or config.unsafe_fixes)


def fix_files(findings: list[Finding], config: Config, *, write: bool = True) -> tuple[int, int, list[str], list[tuple[str, bytes, bytes]]]:
    """Apply the fixes of ``findings`` to their files (the safe ones; the unsafe ones too with
    ``unsafe-fixes``): (findings fixed, files changed, errors, and each changed file's path with
    its content before and after). ``write=False`` only computes them (``--diff``)."""
    from cowlint.engine.project.index import ProjectIndexes

    fixed = changed = 0
    errors = []
    edits: list[tuple[str, bytes, bytes]] = []
    projects = ProjectIndexes(config)
    for path in sorted({finding.path for finding in findings if fixable(finding, config)}):
        try:
            data = Path(path).read_bytes()
            outcome = fix_bytes(data, path, config, projects.view(Path(path)))
            if outcome is None:
                continue
            if write:
                replace_file(Path(path), data, outcome[0])
        except ChangedWhileFixing:
            errors.append(f"{path}: changed while cowlint was fixing it: left as it is now; run --fix again")
            continue
        except OSError as error:
            errors.append(f"{path}: cannot apply fixes, the file was left as it was: {error.strerror or error}")
            continue
        except Exception as error:  # noqa: BLE001 - one file's failed fix must not end the run or touch the file
            errors.append(f"{path}: internal error while fixing, the file was left as it was; please report it: {describe_error(error)}")
            continue
        fixed += outcome[1]
        changed += 1
        edits.append((path, data, outcome[0]))
    return fixed, changed, errors, edits


def _merge(outcome: CheckResult, result: FileResult) -> None:
    outcome.files_checked += 1
    outcome.files_parsed += int(result.parsed)
    outcome.findings.extend(result.findings)
    outcome.errors.extend(result.errors)
    outcome.warnings.extend(result.warnings)
    if result.findings and result.source is not None:
        outcome.sources[result.path] = result.source
