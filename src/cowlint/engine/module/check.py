"""Checking: bytes -> prefilter -> parse -> facts -> rules -> positions -> suppression -> findings.

Nothing here imports or executes the code it reads. Any failure on one file
becomes a finding (COW901/COW902) or an error line for that file; the run goes
on with the others.
"""

from __future__ import annotations

import ast
import gc
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

from cowlint.config import Config, ConfigError, format_size, with_file_header
from cowlint.engine.finding import Finding, doubt_of
from cowlint.engine.module import apis, budget
from cowlint.engine.module.noqa import comments_by_line, suppressed
from cowlint.engine.project import commands, uwsgi
from cowlint.engine.source import PythonRejects, SourceText, TruncatedRead, UndecodableSource, decode_source, python_verdict, size_on_disk
from cowlint.rules import ENGINE_CODES, RULE_NAMES, prefilters

if TYPE_CHECKING:
    import libcst as cst

    from cowlint.engine.module.fixes import Fix
    from cowlint.engine.module.reparse import StatementCache
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
    depends: dict[str, str | None] = field(default_factory=dict)  # other files of the project read for it, with their digests
    cacheable: bool = True  # False: the result depends on more than the files (a time limit was reached)


def engine_finding(code: str, path: str, line: int, column: int, message: str, fix: str) -> Finding:
    return Finding(path, max(line, 1), max(column, 1), max(line, 1), max(column, 1) + 1, code, RULE_NAMES[code], message, fix)


def _enabled_codes(config: Config, path: str) -> tuple[str, ...]:
    """The codes of the rules that check ``path`` (the rule classes are loaded only to check it)."""
    return tuple(code for code in RULE_NAMES if code not in ENGINE_CODES and config.rule_enabled(code) and not config.ignored_for_path(code, path))


def engine_code_enabled(code: str, config: Config, path: str) -> bool:
    return config.rule_enabled(code) and not config.ignored_for_path(code, path)


@dataclass(frozen=True)
class Plan:
    """What a file that passed the prefilter is checked with."""

    config: Config
    rules: tuple[str, ...]  # the codes of the rules that check it
    report_parse_errors: bool
    tiered: bool  # the syntax-tree prefilter applies too
    project: ProjectView | None = None  # the file's project: its layout, the start method its entry points leave in force
    # only another module's pool wrapper, called by name, could make the file report: whether it
    # does is told where the file is checked (a worker), not where the run plans
    wrappers_pending: ProjectView | None = None
    passes_alone: bool = True  # the prefilter lets the file through without a wrapper
    statements: StatementCache | None = None  # the trees of the last check's statements, for an editor's re-check

def plan_file(
    data: bytes,
    path: str,
    config: Config,
    use_prefilter: bool,
    project: ProjectView | None = None,
    placed: Callable[[], ProjectView | None] | None = None,
    defer_wrappers: bool = False,
) -> tuple[FileResult, Plan | None]:
    """The file's own configuration and rules, or no plan when the prefilter rules the file out.

    A file of a project (``placed()``, or ``project``) that calls another module's pool wrapper
    passes whatever its own text holds; the files read to tell go to ``result.depends``. With
    ``defer_wrappers``, a file whose text calls a name that may be such a wrapper gets a plan whose
    ``wrappers_pending`` says so, and the wrapper's module is read when the file is checked: a
    run's workers then read the project's wrappers in parallel, not its planning process in turn."""
    if uwsgi.is_uwsgi_config(path) or commands.is_command_file(path):
        return _server_result(data, path, config), None
    result = FileResult(path)
    try:
        config = with_file_header(config, data)
    except ConfigError as error:
        result.warnings.append(f"{path}: {error}; the header is ignored")
    rules = _enabled_codes(config, path)
    report_parse_errors = engine_code_enabled("COW901", config, path)
    tiered = use_prefilter
    if use_prefilter:
        found: dict[bytes, bool] = {}
        passes = any(prefilters.may_report(code, data, found) for code in rules)
        if not passes and rules and declared_apis_named(data, config):  # a call of a declared pool wrapper: read it all
            passes, tiered = True, False
        where = placed() if placed is not None else project
        if rules and where is not None:
            if defer_wrappers:
                from cowlint.engine.project.wrappers import wrapper_candidates

                candidates, result.depends = wrapper_candidates(data, where)  # what the text test read, for the cache
                if candidates:
                    return result, Plan(config, rules, report_parse_errors, tiered, project, wrappers_pending=where, passes_alone=passes)
            elif _calls_wrappers(data, where, config, result):  # ``parallel(self.score, ids)``, the pool in another module
                passes, tiered = True, False
        if not passes:
            return result, None
    if not rules and not report_parse_errors:
        return result, None
    return result, Plan(config, rules, report_parse_errors, tiered, project)


def declared_apis_named(data: bytes, config: Config) -> bool:
    """Whether the text names one of the APIs ``[tool.cowlint] extra-dispatch-apis`` declares
    (its last name: the byte prefilters know none of them)."""
    return any(api.qualname.rsplit(".", 1)[-1].encode() in data for api in config.extra_dispatch_apis)


def _server_result(data: bytes, path: str, config: Config) -> FileResult:
    """A uWSGI configuration, a Procfile or a Dockerfile: COW301 where a server is told to load
    an app once and fork several workers from it, when the app never freezes its heap
    (:mod:`cowlint.engine.project.uwsgi`, :mod:`cowlint.engine.project.commands`). Not cached:
    what it says depends on where the app is, and reading it again costs little."""
    result = FileResult(path, cacheable=False)
    if not engine_code_enabled("COW301", config, path):
        return result
    text = data.decode("utf-8", "replace")
    result.source = SourceText(path, text, "utf-8")  # for the reports' excerpts
    lines = text.splitlines()
    found: list[tuple[int, int, int, str, str, Path, str, str]] = []  # line, column, end, server, app, its file, workers, fix
    if uwsgi.is_uwsgi_config(path):
        preload = uwsgi.preload(text, Path(path))
        if preload is not None:
            option = preload.app
            found.append((option.line, option.column, option.end_column, "uWSGI", option.value, preload.app_path, preload.workers, uwsgi.FIX_UWSGI))
    else:
        for command in commands.preloads(text, Path(path)):
            fix = commands.FIX_GUNICORN_COMMAND if command.server == "gunicorn" else uwsgi.FIX_UWSGI
            found.append((command.line, command.column, command.end_column, command.server, command.app, command.app_path, command.workers, fix))
    for line, column, end_column, server, app, app_path, workers, fix in found:
        if suppressed(lines[line - 1].replace(";", "#"), "COW301"):  # a noqa comment on the line, after ";" in an .ini too
            continue
        shown = os.path.relpath(app_path) if not Path(path).is_absolute() else str(app_path)
        how = "lazy-apps is off" if server == "uWSGI" else "--preload loads it in the master"
        result.findings.append(
            Finding(
                path,
                line,
                column,
                line,
                end_column,
                "COW301",
                RULE_NAMES["COW301"],
                f"{server} preloads the app ({app}) and forks {workers} without gc.freeze(): each worker's first collection copies it",
                fix,
                confidence="medium",
                detail=(
                    f"{shown} never calls gc.freeze() in its import-time code and {how}: the first garbage collection in each worker "
                    "writes the header of every object of the app and copies its pages"
                ),
                unsure="how much the app holds is not known from its configuration",
            )
        )
    return result


def _calls_wrappers(data: bytes, where: ProjectView, config: Config, result: FileResult) -> bool:
    """Whether the module calls another module's pool wrapper with something for a parameter that
    reaches its dispatch; the files read to tell go to ``result.depends``."""
    from cowlint.engine.project.linking import called_wrappers

    try:
        wrappers, result.depends = called_wrappers(data, where, config)
    except budget.OverBudget:  # the wrapper's own analysis ran out of time: check the file, keep no result
        wrappers, result.cacheable = frozenset({"?"}), False
    except Exception as error:  # noqa: BLE001 - reading the project must not end the run
        result.errors.append(f"{result.path}: internal error while reading the project, please report it: {describe_error(error)}")
        wrappers = frozenset()
    return bool(wrappers)


def check_bytes(
    data: bytes,
    path: str,
    config: Config,
    *,
    use_prefilter: bool = True,
    apply_noqa: bool = True,
    project: ProjectView | None = None,
    statements: StatementCache | None = None,
) -> FileResult:
    """Check one module given as bytes (decoded per PEP 263).

    ``apply_noqa=False`` leaves ``# noqa`` comments to the caller (flake8 reads them itself);
    ``project`` is how the module's project sees it (see :mod:`cowlint.engine.project`);
    ``statements`` keeps the trees of the statements for the next check of the same document.
    """
    result, plan = plan_file(data, path, config, use_prefilter, project)
    if plan is not None:
        check_planned(data, replace(plan, statements=statements), result, apply_noqa)
    return result


def check_in_project(
    data: bytes, path: str, config: Config, projects: ProjectIndexes, *, apply_noqa: bool = True, statements: StatementCache | None = None
) -> FileResult:
    """Check the module at ``path`` (a file of some project, or none) given as bytes: like
    :func:`check_bytes`, with the start method its project leaves in force. The project's
    entry points are read only when the prefilter lets the file through (its layout always: a
    file that names no pool may call another module's pool wrapper)."""
    result, plan = plan_file(data, path, config, use_prefilter=True, placed=lambda: projects.place(Path(path)))
    if plan is not None:
        check_planned(data, replace(plan, project=projects.view(Path(path)), statements=statements), result, apply_noqa)
    return result


def check_planned(data: bytes, plan: Plan, result: FileResult, apply_noqa: bool) -> None:
    path, config, report_parse_errors = result.path, plan.config, plan.report_parse_errors
    if plan.wrappers_pending is not None:
        if _calls_wrappers(data, plan.wrappers_pending, config, result):
            plan = replace(plan, wrappers_pending=None, tiered=False)  # the call may be the file's only dispatch
        elif plan.passes_alone:
            plan = replace(plan, wrappers_pending=None)
        else:
            return
    if size_on_disk(data) > config.max_file_size or isinstance(data, TruncatedRead):
        if report_parse_errors:
            result.findings.append(
                engine_finding(
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
            result.findings.append(engine_finding("COW901", path, line, 1, f"cannot decode the file: {error}", "save the file as UTF-8 or declare its encoding (PEP 263)"))
        return
    result.source = source
    with _gc_paused():
        _with_big_stack(lambda: _check_parsed(source, plan, result, apply_noqa))


def _libcst() -> ModuleType:
    import libcst

    return libcst


def ast_candidate(tree: ast.Module) -> bool:
    """The second prefilter tier: whether the code (not its comments or strings) uses a name
    every finding starts from: a constructor, a dispatch method, a fork, or an import of one.

    Read with the module's bindings, as Python resolves them: a bare ``map(f, xs)``, ``Manager()``
    or ``submit(...)`` counts only where the module binds that name itself (an import, an
    assignment, a parameter) or star-imports names it cannot see; otherwise it is a builtin (``map``),
    the module's own class or function (logging's ``Manager``), or a NameError. The module's own
    ``def``/``class`` of such a name is not a pool: what it does inside is walked on its own.
    ``loop.run_in_executor(None, ...)`` runs in the loop's default thread pool and does not count.
    A gunicorn setting (``preload_app = True``) counts where it is assigned."""
    names = apis.CANDIDATE_NAMES
    used: set[str] = set()  # candidate names read bare
    bound: set[str] = set()  # candidate names the module binds other than by its own def or class
    star = False
    default_executor: set[int] = set()  # the ``.run_in_executor`` of calls whose executor is None
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Attribute:
            if node.attr in names and id(node) not in default_executor:  # type: ignore[attr-defined]
                return True
        elif kind is ast.Name:
            if node.id in names:  # type: ignore[attr-defined]
                if node.id in apis.SERVER_SETTINGS:  # type: ignore[attr-defined]
                    return True
                (used if type(node.ctx) is ast.Load else bound).add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Call:
            func, args = node.func, node.args  # type: ignore[attr-defined]
            if type(func) is ast.Attribute and func.attr == apis.RUN_IN_EXECUTOR and args and type(args[0]) is ast.Constant and args[0].value is None:
                default_executor.add(id(func))
        elif kind is ast.alias:
            if node.name.rsplit(".", 1)[-1] in names:  # type: ignore[attr-defined]
                return True
            if node.name == "*":  # type: ignore[attr-defined]
                star = True
            elif node.asname in names:  # type: ignore[attr-defined]
                bound.add(node.asname)  # type: ignore[attr-defined]
        elif kind is ast.arg:
            if node.arg in names:  # type: ignore[attr-defined]
                bound.add(node.arg)  # type: ignore[attr-defined]
    return bool(used) and (star or not used.isdisjoint(bound))


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
    """Filled by a check that is asked for fixes: the parsed module and the fixes of its findings."""

    module: cst.Module | None = None
    fixes: list[Fix] = field(default_factory=list)
    only: frozenset[tuple[str, int, int]] | None = None  # the findings (code, line, column) to fix; None: all
    unsafe: bool = False  # unsafe fixes too


# libcst's tree of a module costs ~2 KiB per node of CPython's tree plus ~150 bytes per source
# byte (long strings), and its parser grows with the square of a nesting depth: ~45 bytes per
# node per level above it (a 1,000-deep `not not ... x` line takes 58 MiB, 46 of them 2.5 GiB).
# Measured within 2x on 1-760 KB files. Past this budget a file is reported (COW901), not parsed.
PARSE_MEMORY_BUDGET = 1024 * 1024 * 1024


def parse_cost(tree: ast.Module, size: int, memo: dict[tuple[str, int, int], tuple[int, int]] | None = None, lines: Sequence[str] = ()) -> int:
    """The memory libcst needs to parse a module of ``size`` characters whose CPython tree is ``tree``.

    With ``memo`` (and the module's ``lines``), each top-level statement's share is kept by its
    text: an editor's re-check walks only the statements that changed. ``memo`` is left holding
    only this module's statements."""
    if memo is None:
        nodes, depths = _subtree_cost(tree)
        return 2048 * nodes + 150 * size + 45 * depths
    nodes, depths = 1 + len(tree.type_ignores), len(tree.type_ignores)
    kept: dict[tuple[str, int, int], tuple[int, int]] = {}
    for statement in tree.body:
        end = statement.end_lineno or statement.lineno
        key = ("\n".join(lines[statement.lineno - 1 : end]), statement.col_offset, statement.end_col_offset or 0)
        share = memo.get(key)
        if share is None:
            share = _subtree_cost(statement)
        kept[key] = share
        nodes += share[0]
        depths += share[1] + share[0]  # one level below the module
    memo.clear()
    memo.update(kept)
    return 2048 * nodes + 150 * size + 45 * depths


def _subtree_cost(root: ast.AST) -> tuple[int, int]:
    """The nodes under ``root`` (itself included) and the sum of their depths below it: the nodes
    ``ast.iter_child_nodes`` yields, read from the fields directly (3x faster than its generators)."""
    nodes = depths = 0
    pending: list[tuple[ast.AST, int]] = [(root, 0)]
    pop, push, node_type = pending.pop, pending.append, ast.AST
    while pending:
        node, depth = pop()
        nodes += 1
        depths += depth
        below = depth + 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                push((value, below))
            elif type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        push((item, below))
    return nodes, depths


def _check_parsed(source: SourceText, plan: Plan, result: FileResult, apply_noqa: bool, request: _FixRequest | None = None) -> None:
    path, report_parse_errors = source.path, plan.report_parse_errors and request is None
    try:
        tree = python_verdict(source)
    except PythonRejects as rejected:
        if rejected.python2:  # no Python 3 runs it, so it has no problem cowlint finds: said, not reported
            result.warnings.append(f"{path}:{rejected.line}:{rejected.column}: not checked: Python 2 code ({rejected.message}); exclude it to silence this")
        elif report_parse_errors:
            result.findings.append(engine_finding("COW901", path, rejected.line, rejected.column, rejected.message, "fix the file; it was not checked"))
        return
    if plan.tiered and not ast_candidate(tree):
        return  # nothing any rule starts from: no libcst parse
    statements = plan.statements
    cost = parse_cost(tree, len(source.text), statements.costs, source.lines) if statements is not None else parse_cost(tree, len(source.text))
    if cost > PARSE_MEMORY_BUDGET:
        if report_parse_errors:
            message = f"analysing it would take ~{format_size(cost)} of memory for libcst's syntax tree (the limit is {format_size(PARSE_MEMORY_BUDGET)}): not checked"
            result.findings.append(engine_finding("COW901", path, 1, 1, message, "split the module into smaller ones, or exclude it"))
        return
    if statements is None:
        del tree  # a whole parse does not need it: free it first
    try:
        module = statements.parse(source.text, tree) if statements is not None else _libcst().parse_module(source.text)
    except Exception as error:  # noqa: BLE001 - libcst raises ParserSyntaxError, RecursionError and others
        if report_parse_errors:
            line, column, message, fix = _libcst_failure(error)
            result.findings.append(engine_finding("COW901", path, line, column, message, fix))
        return
    result.parsed = True
    with _deep_recursion():
        _analyse(module, source, plan, result, apply_noqa, request)


def _analyse(module: cst.Module, source: SourceText, plan: Plan, result: FileResult, apply_noqa: bool, request: _FixRequest | None) -> None:
    from cowlint.engine.module.context import ModuleContext
    from cowlint.engine.module.facts import collect_facts
    from cowlint.engine.module.fixes import applicable
    from cowlint.engine.module.positions import locate
    from cowlint.engine.module.values import StartMethod
    from cowlint.engine.project.linking import ProjectModules
    from cowlint.rules.registry import RULES_BY_CODE

    path, report_parse_errors = source.path, plan.report_parse_errors and request is None
    project = plan.project
    inherited = project.inherited if project is not None else None
    start = StartMethod(inherited.method, inherited.how, inherited.conditional, inherited.note) if inherited is not None else None
    linker = ProjectModules(project, plan.config) if project is not None else None
    seconds = plan.config.max_analysis_seconds
    try:
        with budget.limited(seconds):
            facts = collect_facts(module)
            context = ModuleContext(path, module, facts, plan.config, start, linker)
            reports: list[tuple[type[Rule], Report]] = []
            for code in plan.rules:
                rule = RULES_BY_CODE[code]
                reports.extend((rule, report) for report in rule().check(context))
        nodes = [report.node for _, report in reports] + [node for _, report in reports for node, _ in report.related]
        spans = plan.statements.locate(module, nodes) if plan.statements is not None else locate(module, nodes)
    except budget.OverBudget:
        result.cacheable = False  # the machine may be busy: the next run tries again
        if report_parse_errors:
            message = f"analysing it took longer than max-analysis-seconds ({seconds:g} s): stopped, so not checked"
            result.findings.append(engine_finding("COW901", path, 1, 1, message, "raise max-analysis-seconds in [tool.cowlint] (or --max-analysis-seconds), or split the module"))
        return
    except RecursionError:
        if report_parse_errors:
            result.findings.append(engine_finding("COW901", path, 1, 1, "too deeply nested to analyse (recursion limit reached); the file was not checked", "split the deeply nested expression"))
        return
    except Exception as error:  # noqa: BLE001 - one file's internal error must not end the run
        result.errors.append(f"{path}: internal error, please report it: {describe_error(error)}")
        return
    if linker is not None:
        result.depends.update(linker.depends)
    lines = source.lines
    # only a line that says noqa can suppress: the file is tokenized (to tell comments from strings) only then
    says_noqa = apply_noqa and any(0 < spans[report.node].line <= len(lines) and "noqa" in lines[spans[report.node].line - 1].lower() for _, report in reports)
    comments = comments_by_line(source.text) if says_noqa else None
    seen: set[tuple[str, int, int, str]] = set()
    for rule, report in reports:
        span = spans[report.node]
        if apply_noqa:
            if not says_noqa:
                comment = ""
            elif comments is not None:
                comment = comments.get(span.line, "")
            else:  # the text does not tokenize: the whole line
                comment = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
            if suppressed(comment, rule.code):
                continue
        key = (rule.code, span.line, span.column, report.message)
        if key in seen:
            continue
        seen.add(key)
        autofix = report.autofix if report.autofix is not None and applicable(module, report.autofix) else None
        asked = request is not None and (request.only is None or (rule.code, span.line, span.column + 1) in request.only)
        if autofix is not None and request is not None and asked and (autofix.safe or request.unsafe):
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
                detail=report.detail,
                fix=report.fix,
                confidence=report.confidence,
                unsure=doubt_of(report.confidence, report.unsure),
                size_bytes=report.size_bytes,
                autofix=autofix.description if autofix is not None else None,
                fix_applicability="safe" if autofix is None or autofix.safe else "unsafe",
                related=tuple((spans[node].line, spans[node].column + 1, spans[node].end_line, spans[node].end_column + 1, what) for node, what in report.related),
            )
        )
    result.findings.sort(key=Finding.sort_key)


def fix_bytes(
    data: bytes,
    path: str,
    config: Config,
    project: ProjectView | None = None,
    *,
    only: Iterable[tuple[str, int, int]] | None = None,
    unsafe: bool | None = None,
) -> tuple[bytes, int] | None:
    """The file with the fixes of its findings applied, and how many; None when none apply.

    ``only`` names the findings to fix by code, line and column (as a :class:`Finding` has them);
    unsafe fixes are applied when ``unsafe`` says so (by default: ``config.unsafe_fixes``)."""
    from cowlint.engine.module.fixes import apply_fixes, merge_insertions

    result, plan = plan_file(data, path, config, use_prefilter=True, project=project)
    if plan is None:
        return None
    try:
        source = decode_source(data, path)
    except UndecodableSource:
        return None
    request = _FixRequest(only=frozenset(only) if only is not None else None, unsafe=config.unsafe_fixes if unsafe is None else unsafe)

    def fixed_code() -> str | None:
        _check_parsed(source, plan, result, True, request)
        if not request.fixes:
            return None
        if request.module is None:
            return None
        with _deep_recursion():  # the transform and code generation recurse as the analysis does
            module = request.module
            return merge_insertions(source.text, module.code, apply_fixes(module, request.fixes).code)

    with _gc_paused():
        code = _with_big_stack(fixed_code)
    if code is None:
        return None
    return code.encode(source.encoding), len(request.fixes)


def check_source(source: str | bytes, path: str = "<stdin>", config: Config | None = None, *, use_prefilter: bool = True) -> list[Finding]:
    """Check one module's source and return its findings, sorted by position."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return check_bytes(data, path, config or Config(), use_prefilter=use_prefilter).findings
