"""Join the runs' measurements with the static findings: call sites, workers, counterfactuals.

The report is plain data (``Report.to_json()`` is the ``--output-format
json`` schema, which only ever grows). A call site is where the user's code
dispatched work (``pool.map``, ``executor.submit``, ``Process.start``,
``os.fork``); its workers are the processes that served it, matched through
the worker pids the probe saw at the dispatch.
"""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cowlint.engine.finding import Finding
from cowlint.report.json_format import as_dict
from cowlint.verify.harness import RunResult, Tracked

#: Codes confirmed by bytes pickled per task at their call site.
PICKLE_CODES = frozenset({"COW101", "COW102"})
#: Codes confirmed by memory a worker copied after the fork.
COPY_CODES = frozenset({"COW301", "COW302", "COW303", "COW304"})
#: Codes confirmed by a spawn/forkserver run that crashed, differed or hung.
PORTABILITY_CODES = frozenset({"COW201", "COW203", "COW204"})
SCHEMA_VERSION = 1
#: What the runs say of a static finding at a call site.
CONFIRMED = "confirmed"
NOT_OBSERVED = "not observed"
#: COW301/COW302: a worker's copy alone cannot tell the collector's writes from the unpickled
#: arguments or the work itself; only the run with gc.freeze() before the fork can.
NEEDS_FREEZE = "needs --compare freeze"
#: COW201/COW203/COW204: no spawn or forkserver run was asked for.
NEEDS_SPAWN = "needs --compare spawn"
#: COW201: the spawned run ended as the forked one did, with the same output: the wrong value
#: a spawned worker reads may not reach this script's output (not a false alarm).
NOT_SHOWN = "not shown by this script's output"
#: What any forked worker writes of the interpreter's own state (its first collections, its allocator's
#: pages, the task machinery): copies smaller than this are not evidence of a mistake.
WORKER_NOISE = 4 << 20


@dataclass
class Site:
    """One call site, merged over every process that dispatched from it."""

    path: str
    line: int
    api: str
    start_method: str | None = None
    tasks: int = 0
    callable_bytes: int = 0
    args_bytes: int = 0
    results_bytes: int = 0
    callable_name: str | None = None
    callable_path: str | None = None
    callable_lines: tuple[int, int] | None = None
    dispatch: bool = False
    workers: list[int] = field(default_factory=list)  # pids
    ids: set[str] = field(default_factory=set)  # the probe's site ids merged here
    creates: set[str] = field(default_factory=set)  # ids of the creation sites (Pool(...)) whose workers served it
    built_at: set[tuple[str, int]] = field(default_factory=set)  # where the Process objects it started were constructed
    first_t: float = float("inf")  # when it first dispatched (wall clock)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.path, self.line, self.api)

    def per_task(self, amount: int) -> int:
        return amount // self.tasks if self.tasks else 0


@dataclass
class Worker:
    """One worker process of a run."""

    pid: int
    site: int  # index into the run's call sites (the first it served), -1 when unattributed
    start_method: str | None
    tracked: Tracked
    sites: list[int] = field(default_factory=list)  # every call site it served, in order
    windows: dict[int, tuple[float, float]] = field(default_factory=dict)  # site -> time span, when it served several

    def copied_for(self, index: int) -> int:
        """What this worker copied while it served call site ``index``."""
        if index not in self.sites:
            return 0
        if len(self.sites) == 1 or index not in self.windows:
            return self.tracked.peak_copied
        start, end = self.windows[index]
        inside = [private for t, private, _ in self.tracked.samples if start <= t < end]
        return max(0, max(inside, default=0) - self.tracked.baseline_private)


@dataclass
class RunView:
    """One run's call sites and workers."""

    result: RunResult
    sites: list[Site]
    workers: list[Worker]
    others: list[Tracked]  # the script itself and helpers (resource tracker, forkserver)

    def site_peak(self, index: int) -> int:
        return max((worker.copied_for(index) for worker in self.workers), default=0)

    def site_workers(self, index: int) -> list[Worker]:
        return [worker for worker in self.workers if index in worker.sites]

    def find(self, key: tuple[str, int, str]) -> int:
        for index, site in enumerate(self.sites):
            if site.key == key:
                return index
        return -1


def view(result: RunResult) -> RunView:
    """Merge the probe's events into call sites and attribute each process of the run."""
    by_id: dict[str, Site] = {}
    by_key: dict[tuple[str, int, str], Site] = {}
    pickled: dict[str, dict[str, int]] = {}
    started: dict[int, tuple[str | None, str | None]] = {}  # pid -> (creation site id, start method)
    forked_at: dict[int, str | None] = {}
    for event in result.events:
        kind = event.get("event")
        if kind == "site":
            key = (str(event.get("path")), int(event.get("line") or 0), str(event.get("api")))
            site = by_key.get(key)
            if site is None:
                site = by_key[key] = Site(path=key[0], line=key[1], api=key[2], start_method=event.get("start_method"))
            site.ids.add(str(event["site"]))
            by_id[str(event["site"])] = site
        if kind in ("site", "callable"):
            site = by_id.get(str(event.get("site")))
            if site is not None and event.get("callable_path") and not library_path(str(event["callable_path"])):
                lines = event.get("callable_lines") or [0, 0]
                site.callable_name = event.get("callable")
                site.callable_path = str(event["callable_path"])
                site.callable_lines = (int(lines[0]), int(lines[1]))
        elif kind == "pickled":
            pickled[str(event["site"])] = event
        elif kind == "workers":
            site = by_id.get(str(event.get("site")))
            if site is not None:
                site.dispatch = True
                site.first_t = min(site.first_t, float(event.get("t", 0.0)))
                for pid in event.get("pids", []):
                    if pid not in site.workers:
                        site.workers.append(int(pid))
        elif kind == "created":
            site = by_id.get(str(event.get("site")))
            if site is not None:
                site.built_at.add((str(event.get("path")), int(event.get("line") or 0)))
        elif kind == "process":
            started[int(event.get("child") or 0)] = (event.get("site"), event.get("start_method"))
        elif kind == "fork":
            forked_at[int(event["pid"])] = event.get("site")
    for site_id, counts in pickled.items():
        site = by_id.get(site_id)
        if site is None:
            continue
        site.dispatch = site.dispatch or counts.get("tasks", 0) > 0
        site.tasks += int(counts.get("tasks", 0))
        site.callable_bytes += int(counts.get("callable", 0))
        site.args_bytes += int(counts.get("args", 0))
        site.results_bytes += int(counts.get("results", 0))
    dispatches = sorted((site for site in by_key.values() if site.workers), key=lambda site: site.first_t)
    served: dict[int, list[Site]] = {}
    for site in dispatches:
        for pid in site.workers:
            served.setdefault(pid, []).append(site)
    sites: list[Site] = []
    workers: list[Worker] = []
    others: list[Tracked] = []

    def index_of(site: Site) -> int:
        if site not in sites:
            sites.append(site)
        return sites.index(site)

    for site in by_key.values():
        if site.dispatch and site.tasks:
            index_of(site)
    for pid, tracked in sorted(result.processes.items(), key=lambda item: item[1].first_seen):
        creation_id, method = started.get(pid, (None, None))
        creation_id = creation_id or forked_at.get(pid)
        dispatch = served[pid][0] if pid in served else None
        creation = by_id.get(creation_id) if creation_id else None
        if pid == result.root_pid or (dispatch is None and creation is None and pid not in forked_at):
            others.append(tracked)
            continue
        target = dispatch or creation
        if dispatch is not None and creation_id:
            dispatch.creates.add(creation_id)
        if method is None and pid in forked_at:
            method = "fork"
        if method in ("spawn", "forkserver") and not tracked.baseline_from_fork:
            tracked.baseline = {}  # nothing of a spawned worker is shared: all it holds counts
        worker = Worker(pid=pid, site=index_of(target) if target is not None else -1, start_method=method or (target.start_method if target else None), tracked=tracked)
        chain = served.get(pid) or ([target] if target is not None else [])
        worker.sites = [index_of(site) for site in chain]
        for number, site in enumerate(chain):
            end = chain[number + 1].first_t if number + 1 < len(chain) else float("inf")
            worker.windows[index_of(site)] = (site.first_t if number else float("-inf"), end)
        workers.append(worker)
    for site in by_key.values():
        if site.dispatch and site not in sites and (site.tasks or site.workers):
            index_of(site)
    for site in sites:
        if site.start_method is None:
            site.start_method = next((worker.start_method for worker in workers if sites[worker.site] is site and worker.start_method), None)
    return RunView(result=result, sites=sites, workers=workers, others=others)


@dataclass
class CopiedObject:
    """One of the parent's module-level objects at a call site's forks, and what its workers copied of it."""

    name: str
    type: str
    objects: int  # reachable from it, not from a name listed before it
    bytes: int  # what those objects occupy
    page_bytes: int  # the pages they lie on (which they may share with other objects)
    path: str | None  # the module that holds the name
    line: int | None
    # what ``line`` is: "binding" (where the module binds the name, read from the source), "allocation"
    # (where it was built: traced, with --trace-allocations), "process start" (an argument of the
    # Process started there), "call site" (the instance a worker unpickled with its task there)
    line_is: str = "binding"
    copied: dict[int, int] = field(default_factory=dict)  # worker pid -> bytes of those pages it held as its own, at its peak

    @property
    def most(self) -> int:
        return max(self.copied.values(), default=0)


def copied_objects(run: RunView, index: int) -> tuple[list[CopiedObject], dict[int, int]]:
    """The mapped objects of call site ``index``, most copied first, and what each of its workers
    copied outside them (new allocations, unpickled tasks, the interpreter's own pages)."""
    rows: dict[tuple[tuple[int, str | None], int], CopiedObject] = {}
    outside: dict[int, int] = {}
    for worker in run.site_workers(index):
        key = worker.tracked.map_key
        mapped = run.result.maps.get(key) if key is not None else None
        if key is None or mapped is None or not worker.tracked.objects_peak:
            continue
        for number, (root, copied) in enumerate(zip(mapped.roots, worker.tracked.objects_peak, strict=False)):
            row = rows.get((key, number))
            if row is None:
                name = str(root.get("name"))
                path = root.get("path")
                line = bound_at(path, name.rsplit(".", 1)[-1]) if path else None
                allocated = root.get("allocated")
                line_is = "binding"
                if isinstance(allocated, list) and len(allocated) == 2:
                    path, line, line_is = str(allocated[0]), int(allocated[1]), "allocation"
                elif path is None:  # an argument of the Process started: told at that start
                    path, line, line_is = run.sites[index].path, run.sites[index].line, "process start"
                row = rows[(key, number)] = CopiedObject(
                    name=name,
                    type=str(root.get("type")),
                    objects=int(root.get("objects") or 0),
                    bytes=int(root.get("bytes") or 0),
                    page_bytes=int(root.get("pages") or 0) * mapped.page_size,
                    path=path,
                    line=line,
                    line_is=line_is,
                )
            row.copied[worker.pid] = copied
    site = run.sites[index]
    for worker in run.site_workers(index):
        unpickled = worker.tracked.unpickled
        if not unpickled:
            continue
        kind = ((-1, f"self {unpickled.get('type')}"), 0)  # one row per type of instance, over the site's workers
        row = rows.get(kind)
        if row is None:
            row = rows[kind] = CopiedObject(
                name=f"self ({unpickled.get('type')}, unpickled with each task)",
                type=str(unpickled.get("type")),
                objects=int(unpickled.get("objects") or 0),
                bytes=int(unpickled.get("bytes") or 0),
                page_bytes=int(unpickled.get("page_bytes") or 0),
                path=site.path,
                line=site.line,
                line_is="call site",
            )
        row.copied[worker.pid] = int(unpickled.get("copied") or 0)
    for worker in run.site_workers(index):
        mine = sum(row.copied.get(worker.pid, 0) for row in rows.values())
        if mine or worker.tracked.objects_peak:
            outside[worker.pid] = max(0, worker.tracked.peak_copied - mine)
    return sorted(rows.values(), key=lambda row: (-row.most, -row.bytes)), outside


@functools.lru_cache(maxsize=32)
def _bindings(path: str) -> dict[str, int]:
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    lines: dict[str, int] = {}
    pending: list[ast.stmt | ast.excepthandler] = list(tree.body)
    while pending:  # the module's own statements, also under if/try/with/for (not in functions or classes)
        statement = pending.pop(0)
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = list(statement.targets)
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [statement.target]
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            targets = [item.optional_vars for item in statement.items if item.optional_vars is not None]
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    lines.setdefault(node.id, statement.lineno)
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for name in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(child for child in getattr(statement, name, []) if isinstance(child, (ast.stmt, ast.excepthandler)))
    return lines


def bound_at(path: str, name: str) -> int | None:
    """The line where module ``path`` first binds ``name`` at its top level (None: not found)."""
    return _bindings(path).get(name)


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    import sysconfig

    return tuple({os.path.realpath(sysconfig.get_paths()[name]) + os.sep for name in ("stdlib", "platstdlib", "purelib", "platlib")})


def library_path(path: str) -> bool:
    """A file of the standard library or an installed package (not the user's code)."""
    return os.path.realpath(path).startswith(_library_roots()) or "site-packages" in path.split(os.sep)


@dataclass
class SiteFindings:
    """Static findings tied to one call site."""

    codes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)  # code -> CONFIRMED, NOT_OBSERVED or what would show it


@dataclass
class Report:
    """Everything ``--verify`` found: the baseline run, the variants, and the join."""

    target: str
    baseline: RunView
    variants: dict[str, RunView]
    findings: list[Finding]
    min_cost: int
    joined: list[SiteFindings]
    outcomes: dict[str, str]
    not_observed: list[Finding]
    unpredicted: list[int]  # indexes of call sites with a cost no rule predicted
    fail_over: int | None = None

    def over_limit(self) -> list[Worker]:
        if self.fail_over is None:
            return []
        return [worker for worker in self.baseline.workers if worker.tracked.peak_copied > self.fail_over]

    def to_json(self) -> dict[str, Any]:
        result = self.baseline.result
        return {
            "version": SCHEMA_VERSION,
            "target": self.target,
            "run": _run_json(result),
            "min_cost": self.min_cost,
            "call_sites": [self._site_json(self.baseline, index, self.joined[index]) for index in range(len(self.baseline.sites))],
            "workers": [_worker_json(worker) for worker in self.baseline.workers],
            "processes": [_tracked_json(tracked) for tracked in self.baseline.others],
            "counterfactuals": {name: self._variant_json(name, run) for name, run in self.variants.items()},
            "not_observed": [as_dict(finding) for finding in self.not_observed],
            "unpredicted": [{"call_site_index": index, "path": self.baseline.sites[index].path, "line": self.baseline.sites[index].line} for index in self.unpredicted],
            "fail_over": self.fail_over,
            "over_limit": [worker.pid for worker in self.over_limit()],
        }

    def _site_json(self, run: RunView, index: int, joined: SiteFindings | None) -> dict[str, Any]:
        site = run.sites[index]
        return {
            "path": site.path,
            "line": site.line,
            "api": site.api,
            "start_method": site.start_method,
            "tasks": site.tasks,
            "pickled_bytes": {"callable": site.callable_bytes, "args": site.args_bytes, "results": site.results_bytes},
            "pickled_bytes_per_task": {"callable": site.per_task(site.callable_bytes), "args": site.per_task(site.args_bytes)},
            "callable": site.callable_name,
            "workers": len(run.site_workers(index)),
            "peak_copied_bytes": run.site_peak(index),
            "findings": joined.codes if joined else [],
            "confirmed": joined.confirmed if joined else [],
            "verdicts": dict(joined.verdicts) if joined else {},
            **_objects_json(run, index),
        }

    def _variant_json(self, name: str, run: RunView) -> dict[str, Any]:
        return {
            "outcome": self.outcomes[name],
            "run": _run_json(run.result),
            "call_sites": [self._site_json(run, index, None) for index in range(len(run.sites))],
            "workers": [_worker_json(worker) for worker in run.workers],
        }


def _run_json(result: RunResult) -> dict[str, Any]:
    return {
        "variant": result.variant,
        "status": result.status,
        "exit_code": result.exit_code,
        "signal": result.signal_name,
        "duration_seconds": round(result.duration, 3),
        "start_method": result.start_method,
        "problems": result.problems,
        "stdout_bytes": result.stdout_bytes,
        "stdout_sha256": result.stdout_digest,
        "stderr_tail": result.stderr_tail.decode("utf-8", "replace")[-2000:],
        "max_processes": result.max_seen_processes,
        "shared_memory_released": result.shm_released,
        "object_maps": [
            {"pid": mapped.parent, "objects_walked": mapped.walked, "truncated": mapped.truncated, "seconds": mapped.seconds, "names": len(mapped.roots)}
            for mapped in result.maps.values()
        ],
    }


def _objects_json(run: RunView, index: int) -> dict[str, Any]:
    rows, outside = copied_objects(run, index)
    if not rows:
        return {}
    objects = [
        {
            "name": row.name,
            "type": row.type,
            "objects": row.objects,
            "bytes": row.bytes,
            "page_bytes": row.page_bytes,
            "path": row.path,
            "line": row.line,
            "line_is": row.line_is,
            "copied_bytes": row.most,
            "copied_bytes_per_worker": {str(pid): copied for pid, copied in row.copied.items()},
        }
        for row in rows
    ]
    return {
        "objects": objects,
        "copied_outside_objects_bytes": max(outside.values(), default=0),
        "copied_outside_objects_bytes_per_worker": {str(pid): copied for pid, copied in outside.items()},
    }


def _worker_json(worker: Worker) -> dict[str, Any]:
    return {"call_site_index": worker.site, "call_site_indexes": worker.sites, "start_method": worker.start_method, **_tracked_json(worker.tracked)}


def _tracked_json(tracked: Tracked) -> dict[str, Any]:
    return {
        "pid": tracked.pid,
        "baseline_private_bytes": tracked.baseline_private,
        "baseline_from_fork": tracked.baseline_from_fork,
        "peak_private_bytes": tracked.peak_private,
        "peak_copied_bytes": tracked.peak_copied,
        "peak_rss_bytes": tracked.peak_rss,
        "hwm_bytes": tracked.hwm,
        "peak_uss_bytes": tracked.peak_uss,
        "peak_pss_bytes": tracked.peak_pss,
        "samples": len(tracked.samples),
        "exit_code": tracked.exit_code,
    }


def outcome(baseline: RunResult, variant: RunResult, run: RunView | None = None) -> str:
    """ok, crashed, differs, timeout, or unchanged (the script chose its start method at every call site)."""
    if run is not None and variant.variant in ("spawn", "forkserver"):
        methods = {site.start_method for site in run.sites if site.start_method} | {worker.start_method for worker in run.workers if worker.start_method}
        if methods and variant.variant not in methods:
            return "unchanged"
    if variant.status == "timeout":
        return "timeout"
    if variant.status in ("too-many-processes", "error", "interrupted"):
        return "crashed"
    if variant.exit_code != baseline.exit_code:
        return "crashed"
    if variant.stdout_digest != baseline.stdout_digest:
        return "differs"
    return "ok"


def statement_spans(path: str) -> list[tuple[int, int]]:
    """The line spans of every statement of a file (to tie a finding to a call on its statement)."""
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def join(baseline: RunView, variants: dict[str, RunView], findings: list[Finding], min_cost: int, fail_over: int | None, target: str) -> Report:
    """Tie each static finding to the call sites it concerns and decide what the runs confirmed."""
    outcomes = {name: outcome(baseline.result, run.result, run) for name, run in variants.items()}
    spans: dict[str, list[tuple[int, int]]] = {}
    joined = [SiteFindings() for _ in baseline.sites]
    located = {str(event.get("site")): (str(event.get("path")), int(event.get("line") or 0)) for event in baseline.result.events if event.get("event") == "site"}
    creation_lines = {index: {located[ident] for ident in site.creates if ident in located} | site.built_at for index, site in enumerate(baseline.sites)}
    tied: set[int] = set()
    for number, finding in enumerate(findings):
        for index, site in enumerate(baseline.sites):
            if _ties(finding, site, creation_lines[index], spans):
                joined[index].findings.append(finding)
                if finding.code not in joined[index].codes:
                    joined[index].codes.append(finding.code)
                tied.add(number)
    untied = [finding for number, finding in enumerate(findings) if number not in tied]
    unpredicted = []
    for index, site in enumerate(baseline.sites):
        confirmed = joined[index].confirmed
        for code in joined[index].codes:
            verdict = _verdict(code, index, site, baseline, variants, outcomes, min_cost)
            joined[index].verdicts[code] = verdict
            if verdict == CONFIRMED and code not in confirmed:
                confirmed.append(code)
        pickled = site.per_task(site.callable_bytes + site.args_bytes)
        if not joined[index].codes and (pickled >= min_cost or baseline.site_peak(index) >= max(min_cost, WORKER_NOISE)):
            unpredicted.append(index)
    confirmed_anywhere = [finding for item in joined for finding in item.findings if finding.code in item.confirmed]
    unconfirmed = [finding for item in joined for finding in item.findings if finding.code not in item.confirmed and finding not in confirmed_anywhere]
    not_observed = sorted(set(untied) | set(unconfirmed), key=lambda finding: (finding.path, finding.line, finding.column, finding.code))
    return Report(
        target=target,
        baseline=baseline,
        variants=variants,
        findings=findings,
        min_cost=min_cost,
        joined=joined,
        outcomes=outcomes,
        not_observed=not_observed,
        unpredicted=unpredicted,
        fail_over=fail_over,
    )


def difference(baseline: RunResult, variant: RunResult) -> str:
    """The first line of output that differs between two runs (from the kept tails), for the report."""
    ours, theirs = baseline.stdout_tail.decode("utf-8", "replace").splitlines(), variant.stdout_tail.decode("utf-8", "replace").splitlines()
    for mine, other in zip(ours, theirs, strict=False):
        if mine != other:
            return f"{mine[:80]!r} became {other[:80]!r}"
    if len(ours) != len(theirs):
        return f"{len(ours)} line(s) of output became {len(theirs)}"
    return "the output differs before its last 16 KiB"


def _ties(finding: Finding, site: Site, creations: Iterable[tuple[str, int]], spans: dict[str, list[tuple[int, int]]]) -> bool:
    if _same_file(finding.path, site.path) and _on_statement(finding.line, site.line, spans.setdefault(site.path, statement_spans(site.path))):
        return True
    for path, line in creations:
        if _same_file(finding.path, path) and _on_statement(finding.line, line, spans.setdefault(path, statement_spans(path))):
            return True
    if site.callable_path and site.callable_lines and _same_file(finding.path, site.callable_path):
        first, last = site.callable_lines
        return first <= finding.line <= last
    return False


def _on_statement(finding_line: int, call_line: int, spans: list[tuple[int, int]]) -> bool:
    if finding_line == call_line:
        return True
    around = [span for span in spans if span[0] <= call_line <= span[1]]
    if not around:
        return False
    first, last = min(around, key=lambda span: span[1] - span[0])
    return first <= finding_line <= last


def _verdict(code: str, index: int, site: Site, baseline: RunView, variants: dict[str, RunView], outcomes: dict[str, str], min_cost: int) -> str:
    """What the runs show of ``code`` at a call site, from the evidence that can show it: pickled
    bytes (COW101/COW102), the difference gc.freeze() makes (COW301/COW302), copied memory
    (COW303/COW304), a spawned run that breaks (COW201/COW203/COW204), spawned workers that
    rebuild the data (COW202)."""
    if code in ("COW301", "COW302"):
        copied = baseline.site_peak(index)
        frozen = variants.get("freeze")
        if frozen is None:
            return NEEDS_FREEZE if copied >= max(min_cost, WORKER_NOISE) else NOT_OBSERVED
        other = frozen.find(site.key)
        return CONFIRMED if copied - (frozen.site_peak(other) if other >= 0 else 0) >= max(min_cost, WORKER_NOISE) else NOT_OBSERVED
    if code in PORTABILITY_CODES:
        if code == "COW204" and (baseline.result.exit_code or 0) != 0 and b"pickle" in baseline.result.stderr_tail.lower():
            return CONFIRMED  # a task's lambda fails under fork too: the baseline's own traceback shows it
        # a variant whose every call site chose its own start method ("unchanged") exercised nothing
        ran = [outcomes[name] for name in ("spawn", "forkserver") if name in outcomes and outcomes[name] != "unchanged"]
        if any(result in ("crashed", "differs", "timeout") for result in ran):
            return CONFIRMED
        if not ran:
            return NEEDS_SPAWN
        return NOT_SHOWN if code == "COW201" and "ok" in ran else NOT_OBSERVED
    return CONFIRMED if _confirmed(code, index, site, baseline, variants, min_cost) else NOT_OBSERVED


def _confirmed(code: str, index: int, site: Site, baseline: RunView, variants: dict[str, RunView], min_cost: int) -> bool:
    if code in PICKLE_CODES:
        return site.per_task(site.callable_bytes + site.args_bytes) >= min_cost
    if code in COPY_CODES:
        objects, _ = copied_objects(baseline, index)
        inherited = [row for row in objects if row.line_is != "call site"]
        if inherited:
            # the copy must lie in the parent's objects: a task's unpickled argument or the
            # worker's own allocations are other findings' cost, or none
            return max(row.most for row in inherited) >= max(min_cost, WORKER_NOISE)
        return baseline.site_peak(index) >= max(min_cost, WORKER_NOISE)
    if code == "COW202":
        for name in ("spawn", "forkserver"):
            run = variants.get(name)
            other = run.find(site.key) if run is not None else -1
            spawned = max((w.tracked.peak_private for w in run.site_workers(other)), default=0) if run is not None and other >= 0 else 0
            if spawned - baseline.site_peak(index) >= max(min_cost, WORKER_NOISE):
                return True
    return False
