"""Checking: bytes -> prefilter -> parse -> facts -> rules -> positions -> suppression -> findings.

Nothing here imports or executes the code it reads. Any failure on one file
becomes a finding (COW901/COW902) or an error line for that file; the run goes
on with the others.
"""

from __future__ import annotations

import ast
import functools
import gc
import os
import re
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

from cowlint.config import Config, ConfigError, format_size, with_file_header
from cowlint.engine import apis
from cowlint.engine.cache import Cache
from cowlint.engine.discovery import FileToCheck, PathProblem, discover
from cowlint.engine.finding import Finding
from cowlint.engine.noqa import comments_by_line, suppressed
from cowlint.engine.source import PythonRejects, SourceText, TruncatedRead, UndecodableSource, decode_source, python_verdict, read_file, size_on_disk
from cowlint.engine.source import digest as content_digest
from cowlint.rules import ENGINE_CODES, RULE_NAMES

if TYPE_CHECKING:
    import libcst as cst

    from cowlint.engine.fixes import InsertBefore
    from cowlint.engine.project.index import ProjectIndexes, ProjectView
    from cowlint.rules.base import Report, Rule

# libcst and the rules are imported on the first file that needs a parse: a run
# whose files are all cached or all skipped by the prefilter never loads them.

_ERROR_AT = re.compile(r"error at (\d+):(\d+)")
T = TypeVar("T")


@dataclass
class FileResult:
    """The outcome for one file: findings, the decoded text (when read), internal errors."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    source: SourceText | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parsed: bool = False
    depends: dict[str, str] = field(default_factory=dict)  # other files of the project read for it, with their digests


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


def _engine_finding(code: str, path: str, line: int, column: int, message: str, fix: str) -> Finding:
    return Finding(path, max(line, 1), max(column, 1), max(line, 1), max(column, 1) + 1, code, RULE_NAMES[code], message, fix)


def _enabled_rules(config: Config, path: str) -> list[type[Rule]]:
    from cowlint.rules.registry import ALL_RULES

    return [rule for rule in ALL_RULES if config.rule_enabled(rule.code) and not config.ignored_for_path(rule.code, path)]


def _engine_code_enabled(code: str, config: Config, path: str) -> bool:
    return config.rule_enabled(code) and not config.ignored_for_path(code, path)


@dataclass(frozen=True)
class _Plan:
    """What a file that passed the prefilter is checked with."""

    config: Config
    rules: tuple[type[Rule], ...]
    report_parse_errors: bool
    tiered: bool  # the syntax-tree prefilter applies too
    project: ProjectView | None = None  # the file's project: its layout, the start method its entry points leave in force

def _plan(data: bytes, path: str, config: Config, use_prefilter: bool, project: ProjectView | None = None) -> tuple[FileResult, _Plan | None]:
    """The file's own configuration and rules, or no plan when the prefilter rules the file out."""
    result = FileResult(path)
    try:
        config = with_file_header(config, data)
    except ConfigError as error:
        result.warnings.append(f"{path}: {error}; the header is ignored")
    rules = tuple(rule for rule in _enabled_rules(config, path) if rule.code not in ENGINE_CODES)
    report_parse_errors = _engine_code_enabled("COW901", config, path)
    if use_prefilter and not any(rule.may_report(data) for rule in rules):
        return result, None
    if not rules and not report_parse_errors:
        return result, None
    return result, _Plan(config, rules, report_parse_errors, use_prefilter, project)


def check_bytes(
    data: bytes, path: str, config: Config, *, use_prefilter: bool = True, apply_noqa: bool = True, project: ProjectView | None = None
) -> FileResult:
    """Check one module given as bytes (decoded per PEP 263).

    ``apply_noqa=False`` leaves ``# noqa`` comments to the caller (flake8 reads them itself);
    ``project`` is how the module's project sees it (see :mod:`cowlint.engine.project`).
    """
    result, plan = _plan(data, path, config, use_prefilter, project)
    if plan is not None:
        _check_planned(data, plan, result, apply_noqa)
    return result


def check_in_project(data: bytes, path: str, config: Config, projects: ProjectIndexes, *, apply_noqa: bool = True) -> FileResult:
    """Check the module at ``path`` (a file of some project, or none) given as bytes: like
    :func:`check_bytes`, with the start method its project leaves in force. The project is
    read only when the prefilter lets the file through."""
    result, plan = _plan(data, path, config, use_prefilter=True)
    if plan is not None:
        _check_planned(data, replace(plan, project=projects.view(Path(path))), result, apply_noqa)
    return result


def _check_planned(data: bytes, plan: _Plan, result: FileResult, apply_noqa: bool) -> None:
    path, config, report_parse_errors = result.path, plan.config, plan.report_parse_errors
    if size_on_disk(data) > config.max_file_size or isinstance(data, TruncatedRead):
        if report_parse_errors:
            result.findings.append(
                _engine_finding(
                    "COW901",
                    path,
                    1,
                    1,
                    f"the file is {format_size(size_on_disk(data))}, over max-file-size ({format_size(config.max_file_size)}): not parsed, so not checked",
                    "raise max-file-size in [tool.cowlint] (or --max-file-size) to check it, or exclude it",
                )
            )
        return
    try:
        source = decode_source(data, path)
    except UndecodableSource as error:
        if report_parse_errors:
            line = data[: error.offset].count(b"\n") + 1 if error.offset is not None else 1
            result.findings.append(_engine_finding("COW901", path, line, 1, f"cannot decode the file: {error}", "save the file as UTF-8 or declare its encoding (PEP 263)"))
        return
    result.source = source
    with _gc_paused():
        _with_big_stack(lambda: _check_parsed(source, plan, result, apply_noqa))


def _libcst() -> ModuleType:
    import libcst

    return libcst


def ast_candidate(tree: ast.Module) -> bool:
    """The second prefilter tier: whether the code (not its comments or strings) uses a name
    every finding starts from: a constructor, a dispatch method, a fork, or an import of one."""
    names = apis.CANDIDATE_NAMES
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Attribute:
            if node.attr in names:  # type: ignore[attr-defined]
                return True
        elif kind is ast.Name:
            if node.id in names:  # type: ignore[attr-defined]
                return True
        elif kind is ast.alias and node.name.rsplit(".", 1)[-1] in names:  # type: ignore[attr-defined]
            return True
    return False


def describe_error(error: BaseException, limit: int = 300) -> str:
    """``Type: message`` of an internal error, safe when the message itself fails to render
    (the repr of a deep libcst node recurses) and cut to ``limit`` characters."""
    try:
        detail = str(error)
    except Exception:  # noqa: BLE001 - RecursionError and whatever a broken __str__ raises
        detail = "<the error message could not be rendered>"
    detail = " ".join(detail.split())
    if len(detail) > limit:
        detail = detail[: limit - 1] + "…"
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _libcst_failure(error: Exception) -> tuple[int, int, str, str]:
    """(line, column, message, fix) for a file Python accepts and libcst does not."""
    if isinstance(error, RecursionError):
        return 1, 1, "too deeply nested for libcst's parser (recursion limit reached); the file was not checked", "split the deeply nested expression"
    line, column = 1, 1
    detail = str(error).strip().splitlines()
    message = getattr(error, "message", None) or (detail[1] if len(detail) > 1 else detail[0] if detail else type(error).__name__)
    match = _ERROR_AT.search(str(message))
    if match:
        line, column = int(match.group(1)), int(match.group(2))
    elif isinstance(error, _libcst().ParserSyntaxError):
        line, column = error.raw_line, error.raw_column + 1
    return (
        line,
        column,
        f"libcst cannot parse this file although Python can (a parser limitation, not an error in your code): {message}",
        "rewrite the construct libcst rejects, or exclude the file",
    )


# libcst's parser recurses natively once per nesting level: give it room.
PARSE_STACK_BYTES = 512 * 1024 * 1024
# libcst's visitors and code generation recurse in Python, several frames per
# level: a 500-deep attribute chain Python accepts needs ~2,500. The big stack
# holds far more than this many frames.
CHECK_RECURSION_LIMIT = 20_000


def _with_big_stack(function: Callable[[], T]) -> T:
    """Run ``function`` in a thread with a large stack, re-raising what it raises."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            failure.append(error)

    # the stack size is read when the thread starts, not when it is made
    previous = threading.stack_size(PARSE_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="cowlint-parse", daemon=True)
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


@contextmanager
def _deep_recursion() -> Iterator[None]:
    """Room for libcst's Python-level recursion, inside the big-stack thread only. Not around
    ``ast.parse``: its RecursionError at the normal limit is what keeps libcst's native parser
    away from chains it would crash on."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, CHECK_RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing allocates millions of acyclic nodes: collecting during it only costs time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _FixRequest:
    """Filled by a check that is asked for fixes: the parsed module and the safe fixes of its findings."""

    module: object = None  # the libcst Module
    fixes: list[InsertBefore] = field(default_factory=list)


def _check_parsed(source: SourceText, plan: _Plan, result: FileResult, apply_noqa: bool, request: _FixRequest | None = None) -> None:
    path, report_parse_errors = source.path, plan.report_parse_errors and request is None
    try:
        tree = python_verdict(source)
    except PythonRejects as rejected:
        if report_parse_errors:
            result.findings.append(_engine_finding("COW901", path, rejected.line, rejected.column, rejected.message, "fix the file; it was not checked"))
        return
    if plan.tiered and not ast_candidate(tree):
        return  # nothing any rule starts from: no libcst parse
    del tree
    try:
        module = _libcst().parse_module(source.text)
    except Exception as error:  # noqa: BLE001 - libcst raises ParserSyntaxError, RecursionError and others
        if report_parse_errors:
            line, column, message, fix = _libcst_failure(error)
            result.findings.append(_engine_finding("COW901", path, line, column, message, fix))
        return
    result.parsed = True
    with _deep_recursion():
        _analyse(module, source, plan, result, apply_noqa, request)


def _analyse(module: cst.Module, source: SourceText, plan: _Plan, result: FileResult, apply_noqa: bool, request: _FixRequest | None) -> None:
    from cowlint.engine.context import ModuleContext
    from cowlint.engine.facts import collect_facts
    from cowlint.engine.fixes import is_safe
    from cowlint.engine.positions import locate
    from cowlint.engine.project.linking import ProjectModules
    from cowlint.engine.values import StartMethod

    path, report_parse_errors = source.path, plan.report_parse_errors and request is None
    project = plan.project
    inherited = project.inherited if project is not None else None
    start = StartMethod(inherited.method, inherited.how, inherited.conditional, inherited.note) if inherited is not None else None
    linker = ProjectModules(project, plan.config) if project is not None else None
    try:
        facts = collect_facts(module)
        context = ModuleContext(path, module, facts, plan.config, start, linker)
        reports: list[tuple[type[Rule], Report]] = []
        for rule in plan.rules:
            reports.extend((rule, report) for report in rule().check(context))
        spans = locate(module, [report.node for _, report in reports])
    except RecursionError:
        if report_parse_errors:
            result.findings.append(_engine_finding("COW901", path, 1, 1, "too deeply nested to analyse (recursion limit reached); the file was not checked", "split the deeply nested expression"))
        return
    except Exception as error:  # noqa: BLE001 - one file's internal error must not end the run
        result.errors.append(f"{path}: internal error, please report it: {describe_error(error)}")
        return
    if linker is not None:
        result.depends = dict(linker.depends)
    lines = source.lines
    comments = comments_by_line(source.text) if reports and apply_noqa else None
    seen: set[tuple[str, int, int, str]] = set()
    for rule, report in reports:
        span = spans[report.node]
        if apply_noqa:
            if comments is not None:
                comment = comments.get(span.line, "")
            else:
                comment = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
            if suppressed(comment, rule.code):
                continue
        key = (rule.code, span.line, span.column, report.message)
        if key in seen:
            continue
        seen.add(key)
        autofix = report.autofix if report.autofix is not None and is_safe(module, report.autofix) else None
        if autofix is not None and request is not None:
            request.module = module
            request.fixes.append(autofix)
        result.findings.append(
            Finding(
                path=path,
                line=span.line,
                column=span.column + 1,
                end_line=span.end_line,
                end_column=span.end_column + 1,
                code=rule.code,
                name=rule.name,
                message=report.message,
                fix=report.fix,
                confidence=report.confidence,
                size_bytes=report.size_bytes,
                autofix=autofix.description if autofix is not None else None,
            )
        )
    result.findings.sort(key=Finding.sort_key)


def fix_bytes(data: bytes, path: str, config: Config, project: ProjectView | None = None) -> tuple[bytes, int] | None:
    """The file with the safe fixes of its findings applied, and how many; None when none apply."""
    from cowlint.engine.fixes import apply_fixes

    result, plan = _plan(data, path, config, use_prefilter=True, project=project)
    if plan is None:
        return None
    try:
        source = decode_source(data, path)
    except UndecodableSource:
        return None
    request = _FixRequest()

    def fixed_code() -> str | None:
        _check_parsed(source, plan, result, True, request)
        if not request.fixes:
            return None
        with _deep_recursion():  # the transform and code generation recurse as the analysis does
            return apply_fixes(request.module, request.fixes).code  # type: ignore[arg-type]

    with _gc_paused():
        code = _with_big_stack(fixed_code)
    if code is None:
        return None
    if source.text.endswith(("\n", "\r")) and not code.endswith(("\n", "\r")):
        code += "\r\n" if source.text.endswith("\r\n") else source.text[-1]  # libcst drops a final lone "\r"
    return code.encode(source.encoding), len(request.fixes)


def check_source(source: str | bytes, path: str = "<stdin>", config: Config | None = None, *, use_prefilter: bool = True) -> list[Finding]:
    """Check one module's source and return its findings, sorted by position."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return check_bytes(data, path, config or Config(), use_prefilter=use_prefilter).findings


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
        if _engine_code_enabled("COW902", config, item.display):
            reason = error.strerror or str(error) or type(error).__name__
            result.findings.append(_engine_finding("COW902", item.display, 1, 1, f"cannot read: {reason}", "check that the path exists and is readable"))
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
    from cowlint.engine.parallel import PARALLEL_MIN_FILES, pool_workers
    from cowlint.engine.project.index import ProjectIndexes
    from cowlint.engine.project.linking import MAX_LINKED_BYTES

    config = config or Config()
    outcome = CheckResult()
    projects = ProjectIndexes(config)
    views: dict[str, ProjectView | None] = {}
    digests: dict[str, str | None] = {}

    def view_of(item: FileToCheck) -> ProjectView | None:
        if item.display not in views:
            views[item.display] = projects.view(item.path)
        return views[item.display]

    def project_stamp(item: FileToCheck) -> str:
        view = view_of(item)
        return view.stamp() if view is not None else ""

    def digest_of(path: str) -> str | None:
        """The content key of a file another module's result depends on (None: unreadable)."""
        if path not in digests:
            try:  # read as the linker reads it: its digest is what the cache entry recorded
                digests[path] = content_digest(read_file(Path(path), limit=MAX_LINKED_BYTES))
            except OSError:
                digests[path] = None
        return digests[path]

    # files that need a parse; their bytes and plan are kept only while the
    # count stays below what would go to a pool (workers re-read their files)
    candidates: list[tuple[FileToCheck, bytes | None, FileResult, _Plan, str]] = []
    sizes: dict[str, int] = {}
    for item in discover(paths, config, force_exclude=force_exclude):
        if isinstance(item, PathProblem):
            if item.fatal and _engine_code_enabled("COW902", config, item.display):
                outcome.findings.append(_engine_finding("COW902", item.display, 1, 1, item.message, "check that the path exists and is readable"))
            elif not item.fatal:
                outcome.warnings.append(f"{item.display}: {item.message}")
            continue
        data = _read(item, config)
        if isinstance(data, FileResult):
            _merge(outcome, data)
            continue
        key = content_digest(data) if cache is not None else ""
        if cache is not None:
            hit = cache.get(item.display, key, functools.partial(project_stamp, item), digest_of)
            if hit is not None:
                if hit.findings:
                    hit.source = _decoded(data, item.display)
                _merge(outcome, hit)
                outcome.files_cached += 1
                continue
        result, plan = _plan(data, item.display, config, use_prefilter)
        if plan is None:
            _merge(outcome, result)
            if cache is not None:
                cache.put(item.display, key, result, None)
        else:
            plan = replace(plan, project=view_of(item))
            candidates.append((item, data if len(candidates) < PARALLEL_MIN_FILES else None, result, plan, key))
            sizes[item.display] = len(data)
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
    candidates: list[tuple[FileToCheck, bytes | None, FileResult, _Plan, str]], config: Config, use_prefilter: bool, workers: int, outcome: CheckResult
) -> Iterator[FileResult]:
    """Results from worker processes; if the pool cannot start or breaks (the caller's script
    is not main-guarded, a worker is killed), the rest are checked here, with a warning."""
    from concurrent.futures.process import BrokenProcessPool

    from cowlint.engine.parallel import check_in_pool

    done = 0
    try:
        for result in check_in_pool([(item, plan.project) for item, _, _, plan, _ in candidates], config, use_prefilter=use_prefilter, workers=workers):
            done += 1
            yield result
        return
    except (BrokenProcessPool, OSError, RuntimeError) as error:
        detail = " ".join(str(error).split())[:160] or "no detail"
        outcome.warnings.append(f"worker processes failed ({type(error).__name__}: {detail}); checking the remaining files in this process")
    for item, kept, result, plan, _ in candidates[done:]:
        yield _check_candidate(item, kept, result, plan, config, use_prefilter)


def _check_candidate(item: FileToCheck, kept: bytes | None, result: FileResult, plan: _Plan, config: Config, use_prefilter: bool) -> FileResult:
    if kept is None:  # many files but one job: read again rather than hold them all
        return check_file(item, config, use_prefilter=use_prefilter, project=plan.project)
    _check_planned(kept, plan, result, apply_noqa=True)
    return result


def _decoded(data: bytes, path: str) -> SourceText | None:
    """The text of a cached file with findings, for excerpts in the report."""
    try:
        return decode_source(data, path)
    except UndecodableSource:
        return None


def fix_files(findings: list[Finding], config: Config) -> tuple[int, int, list[str]]:
    """Apply the safe fixes of ``findings`` to their files: (findings fixed, files changed, errors)."""
    from cowlint.engine.project.index import ProjectIndexes

    fixed = changed = 0
    errors = []
    projects = ProjectIndexes(config)
    for path in sorted({finding.path for finding in findings if finding.autofix}):
        try:
            data = Path(path).read_bytes()
            outcome = fix_bytes(data, path, config, projects.view(Path(path)))
            if outcome is None:
                continue
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
    return fixed, changed, errors


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


def _merge(outcome: CheckResult, result: FileResult) -> None:
    outcome.files_checked += 1
    outcome.files_parsed += int(result.parsed)
    outcome.findings.extend(result.findings)
    outcome.errors.extend(result.errors)
    outcome.warnings.extend(result.warnings)
    if result.findings and result.source is not None:
        outcome.sources[result.path] = result.source
