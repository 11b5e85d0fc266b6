"""Render a verify report: a terminal table, JSON, and a self-contained HTML page."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cowlint.engine.finding import Finding
from cowlint.verify.harness import RunResult
from cowlint.verify.report import NOT_OBSERVED, WORKER_NOISE, Report, RunView, Site, copied_objects, difference

MIB = 1 << 20


def mib(amount: int) -> str:
    """A size in MiB with one decimal."""
    return f"{amount / MIB:.1f} MiB"


def where(path: str, line: int | None = None) -> str:
    """A path relative to the working directory when it is under it."""
    try:
        relative = os.path.relpath(path)
        shown = path if relative.startswith("..") else relative
    except ValueError:
        shown = path
    return f"{shown}:{line}" if line is not None else shown


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Columns padded to their widest cell; the ``right`` columns right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [str(cell).rjust(width) if index in right else str(cell).ljust(width) for index, (cell, width) in enumerate(zip(row, widths, strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


@dataclass
class Grid:
    """One table of the report, for the terminal and the HTML page alike."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    right: set[int] = field(default_factory=set)
    keys: list[list[float | None]] = field(default_factory=list)  # per row: a number to sort each cell by (None: its text)
    classes: list[str] = field(default_factory=list)  # per row: a CSS class ("" for none)

    def add(self, cells: list[str], keys: list[float | None] | None = None, css: str = "") -> None:
        self.rows.append(cells)
        self.keys.append(keys or [None] * len(cells))
        self.classes.append(css)

    def text(self) -> list[str]:
        return [self.title, *table(self.header, self.rows, self.right)]

    def html(self) -> str:
        head = "".join(f'<th{" class=num" if index in self.right else ""}>{html.escape(name)}</th>' for index, name in enumerate(self.header))
        body = []
        for cells, keys, css in zip(self.rows, self.keys, self.classes, strict=True):
            tds = "".join(
                f'<td{" class=num" if index in self.right else ""}{"" if key is None else f" data-sort={key:g}"}>{cell if cell.startswith("<a ") else html.escape(cell)}</td>'
                for index, (cell, key) in enumerate(zip(cells, keys, strict=True))
            )
            body.append(f'<tr{f" class={css}" if css else ""}>{tds}</tr>')
        return f'<table class="sortable"><caption>{html.escape(self.title)}</caption><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def describe_run(result: RunResult) -> str:
    """One line: how the run ended."""
    if result.status == "timeout":
        how = "timed out"
    elif result.status == "too-many-processes":
        how = "stopped: too many processes"
    elif result.status == "interrupted":
        how = "interrupted"
    elif result.status == "error":
        how = "could not run"
    elif result.signal_name:
        how = f"killed by {result.signal_name}"
    else:
        how = f"exited {result.exit_code}"
    method = f", default start method {result.start_method}" if result.start_method else ""
    return f"{how} after {result.duration:.1f} s{method}, {result.max_seen_processes} process(es) at most"


def call_sites_grid(report: Report) -> Grid:
    base = report.baseline
    grid = Grid(
        "Call sites (pickled per task; results in all; the largest worker's peak copied memory)",
        ["#", "call site", "api", "start", "tasks", "callable", "args", "results", "workers", "peak copied", "static findings"],
        right={0, 4, 5, 6, 7, 8, 9},
    )
    for index, site in enumerate(base.sites):
        joined = report.joined[index]
        codes = ", ".join(f"{code} {joined.verdicts.get(code, NOT_OBSERVED)}" for code in joined.codes)
        codes = codes or ("none predicted it" if index in report.unpredicted else "no finding")
        workers = base.site_workers(index)
        callable_bytes, args_bytes, peak = site.per_task(site.callable_bytes), site.per_task(site.args_bytes), base.site_peak(index)
        sizes = [mib(callable_bytes), mib(args_bytes), mib(site.results_bytes)]
        grid.add(
            [str(index + 1), _site_label(site), site.api, site.start_method or "?", str(site.tasks), *sizes, str(len(workers)), mib(peak), codes],
            [index + 1, None, None, None, site.tasks, callable_bytes, args_bytes, site.results_bytes, len(workers), peak, None],
        )
    return grid


def processes_grid(run: RunView) -> Grid:
    grid = Grid(
        "Processes (private: not shared with any other process, sampled; copied: private over the post-fork baseline, "
        "or the kernel's high-water mark when a peak fell between samples)",
        ["pid", "site", "start", "baseline private", "peak private", "peak copied"],
        right={0, 3, 4, 5},
    )
    for worker in run.workers:
        tracked = worker.tracked
        site_number = str(worker.site + 1) if worker.site >= 0 else "-"
        grid.add(
            [str(worker.pid), site_number, worker.start_method or "?", mib(tracked.baseline_private), mib(tracked.peak_private), mib(tracked.peak_copied)],
            [worker.pid, worker.site + 1, None, tracked.baseline_private, tracked.peak_private, tracked.peak_copied],
        )
    for tracked in run.others:
        label = "script" if tracked.pid == run.result.root_pid else "helper"
        grid.add([str(tracked.pid), label, "", mib(tracked.baseline_private), mib(tracked.peak_private), ""], [tracked.pid, None, None, tracked.baseline_private, tracked.peak_private, None])
    return grid


def _site_label(site: Site) -> str:
    return where(site.path, site.line)


def text(report: Report) -> str:
    """The terminal report."""
    base = report.baseline
    flag = "--verify-module" if report.target.startswith("-m ") else "--verify"
    out = [f"cowlint {flag} {report.target.removeprefix('-m ')}: {describe_run(base.result)}"]
    out.extend(_problems(base.result))
    out.append("")
    if base.sites:
        out.extend(call_sites_grid(report).text())
    else:
        out.append("No dispatch to a process pool, executor or process was seen.")
    if base.workers or base.others:
        out.append("")
        out.extend(processes_grid(base).text())
    objects = copied_objects_grid(base)
    if objects is not None:
        out.append("")
        out.extend(objects.text())
    if report.variants:
        out.append("")
        out.extend(_counterfactuals(report))
    out.append("")
    out.extend(_findings(report))
    over = report.over_limit()
    if report.fail_over is not None:
        out.append("")
        if over:
            out.append(f"--fail-over {mib(report.fail_over)}: {len(over)} worker(s) copied more: " + ", ".join(f"pid {worker.pid} {mib(worker.tracked.peak_copied)}" for worker in over))
        else:
            out.append(f"--fail-over {mib(report.fail_over)}: no worker copied more.")
    return "\n".join(out) + "\n"


#: a copied object's ``line_is`` -> (its mark in the table, how the evidence says it)
_LINE_WORDS = {"binding": ("bound", "bound at"), "allocation": ("built", "built at"), "process start": ("started", "passed at"), "call site": ("shipped", "shipped at")}

#: rows of the copied-objects table per call site
TOP_OBJECTS = 6


def copied_objects_grid(run: RunView, only: int | None = None, per_worker: bool = False) -> Grid | None:
    """The copied-objects table of every call site (or of call site ``only``); ``per_worker``: a
    column of copied MiB for each of the site's workers instead of the largest one."""
    walked = sum(mapped.walked for mapped in run.result.maps.values())
    seconds = sum(mapped.seconds for mapped in run.result.maps.values())
    truncated = " (the walk stopped at its limit: some objects are not listed)" if any(mapped.truncated for mapped in run.result.maps.values()) else ""
    pids = [worker.pid for worker in run.site_workers(only)] if per_worker and only is not None else []
    grid = Grid(
        "Copied objects (the parent's module-level objects and the started process's arguments at the fork, and the instance behind a bound method a worker unpickled; "
        "the most of their pages one worker held as its own, read from /proc/PID/pagemap; "
        f"the walk took {seconds:.2f} s over {walked:,} objects in the parent){truncated}",
        ["site", "object", "type", "objects", "occupies", "on pages", *([f"copied by {pid}" for pid in pids] or ["copied"]), "workers that copied", "source line"],
        right={0, 3, 4, 5, *range(6, 6 + max(1, len(pids)))},
    )
    for index in range(len(run.sites)) if only is None else [only]:
        objects, outside = copied_objects(run, index)
        if not objects:
            continue
        workers = len(run.site_workers(index))
        for row in objects[:TOP_OBJECTS]:
            share = f"{sum(1 for copied in row.copied.values() if copied >= WORKER_NOISE // 4)} of {workers}"
            built = where(row.path, row.line) if row.path and row.line else (where(row.path) if row.path else "?")
            built += f" ({_LINE_WORDS[row.line_is][0]})" if row.line else ""
            copied = [row.copied.get(pid, 0) for pid in pids] or [row.most]
            grid.add(
                [str(index + 1), row.name, row.type, f"{row.objects:,}", mib(row.bytes), mib(row.page_bytes), *map(mib, copied), share, built],
                [index + 1, None, None, row.objects, row.bytes, row.page_bytes, *copied, None, None],
            )
        rest = [outside.get(pid, 0) for pid in pids] or [max(outside.values(), default=0)]
        grid.add([str(index + 1), "(outside these objects)", "", "", "", "", *map(mib, rest), "", ""], [index + 1, None, None, None, None, None, *rest, None, None])
    return grid if grid.rows else None


def _problems(result: RunResult) -> list[str]:
    lines = [f"  {problem}" for problem in result.problems]
    if result.status in ("failed", "error") or result.signal_name:
        tail = result.stderr_tail.decode("utf-8", "replace").strip().splitlines()[-6:]
        if tail:
            lines.append("  the script's last error output:")
            lines.extend(f"    | {line}" for line in tail)
    return lines


def counterfactuals_grid(report: Report) -> Grid:
    base = report.baseline
    names = list(report.variants)
    grid = Grid(
        "Counterfactual runs (the largest worker's peak copied memory at each call site; change from the baseline in MiB)",
        ["#", "call site", "baseline", *names],
        right={0, 2, *range(3, 3 + len(names))},
    )
    for index, site in enumerate(base.sites):
        row, keys = [str(index + 1), _site_label(site), mib(base.site_peak(index))], [float(index + 1), None, float(base.site_peak(index))]
        for name in names:
            run = report.variants[name]
            other = run.find(site.key)
            if other < 0:
                row.append("not reached")
                keys.append(None)
                continue
            peak = run.site_peak(other)
            delta = peak - base.site_peak(index)
            row.append(f"{mib(peak)} ({'+' if delta >= 0 else '-'}{abs(delta) / MIB:.1f})")
            keys.append(float(peak))
        grid.add(row, keys)
    grid.add(["", "outcome", "", *[report.outcomes[name] for name in names]])
    return grid


def _counterfactuals(report: Report) -> list[str]:
    lines = counterfactuals_grid(report).text()
    for name in report.variants:
        lines.extend(_variant_lines(report, name))
    return lines


def _variant_lines(report: Report, name: str) -> list[str]:
    run = report.variants[name]
    words = _outcome_words(report.outcomes[name], name)
    if report.outcomes[name] == "differs":
        words += f" (first difference: {difference(report.baseline.result, run.result)}; output that changes from run to run, such as timings, differs too)"
    return [f"  {name}: {describe_run(run.result)}; {words}", *(f"  {line}" for line in _problems(run.result))]


_VARIANT_WORDS = {
    "freeze": "gc.freeze() before every fork",
    "spawn": "the default start method forced to spawn (macOS, Windows)",
    "forkserver": "the default start method forced to forkserver (Linux from Python 3.14)",
}


def _outcome_words(outcome: str, name: str) -> str:
    what = _VARIANT_WORDS.get(name, name)
    return {
        "ok": f"with {what} the script ran the same",
        "crashed": f"with {what} the script CRASHED",
        "differs": f"with {what} the script's output DIFFERS from the baseline run",
        "timeout": f"with {what} the script HUNG (timed out)",
        "unchanged": f"NOT EXERCISED: the script chose its own start method at every call site, so {what} changed nothing",
    }[outcome]


def why_unconfirmed(report: Report, finding: Finding) -> str:
    """What the runs say of a finding they did not confirm: not observed, or the run that could
    show it (``needs --compare freeze``), or ``not shown by this script's output``."""
    verdicts = [joined.verdicts[finding.code] for joined in report.joined if finding in joined.findings and finding.code in joined.verdicts]
    return next((verdict for verdict in verdicts if verdict != NOT_OBSERVED), NOT_OBSERVED if verdicts else "its call site did not run")


def _findings(report: Report) -> list[str]:
    base = report.baseline
    lines: list[str] = []
    confirmed = []
    for index, joined in enumerate(report.joined):
        site = base.sites[index]
        for finding in joined.findings:
            if finding.code in joined.confirmed:
                confirmed.append(f"  {where(finding.path, finding.line)}:{finding.column} {finding.code} confirmed at call site {index + 1}: {_evidence(report, index, site, finding.code)}")
    if confirmed:
        lines.append("Static findings confirmed by the run")
        lines.extend(dict.fromkeys(confirmed))
    if report.not_observed:
        if lines:
            lines.append("")
        lines.append(f"Static findings not confirmed (not observed: no cost over --min-cost {mib(report.min_cost)} measured, copies over {mib(WORKER_NOISE)}, or their code did not run)")
        lines.extend(f"  {where(finding.path, finding.line)}:{finding.column} {finding.code} {finding.name}: {why_unconfirmed(report, finding)}" for finding in report.not_observed)
    if report.unpredicted:
        if lines:
            lines.append("")
        lines.append("Measured costs no static rule predicted")
        for index in report.unpredicted:
            site = base.sites[index]
            costs = []
            pickled = site.per_task(site.callable_bytes + site.args_bytes)
            if pickled >= report.min_cost:
                costs.append(f"{mib(pickled)} pickled per task ({site.tasks} task(s))")
            if base.site_peak(index) >= max(report.min_cost, WORKER_NOISE):
                costs.append(f"a worker copied {mib(base.site_peak(index))}")
            lines.append(f"  {_site_label(site)} {site.api}: {', '.join(costs)}")
    if not lines:
        lines.append("No static finding, and no measured cost over --min-cost " + mib(report.min_cost) + ".")
    return lines


def _evidence(report: Report, index: int, site: Site, code: str) -> str:
    base = report.baseline
    if code in ("COW101", "COW102"):
        return f"{mib(site.per_task(site.callable_bytes + site.args_bytes))} pickled per task, {site.tasks} task(s)"
    if code in ("COW201", "COW203", "COW204", "COW202"):
        bad = [f"{name} {report.outcomes[name]}" for name in ("spawn", "forkserver") if name in report.outcomes and report.outcomes[name] not in ("ok", "unchanged")]
        if bad:
            return ", ".join(bad)
        return "the forked run itself failed to pickle it" if code == "COW204" else "spawn workers held more memory"
    text = f"a worker copied {mib(base.site_peak(index))}"
    objects = [row for row in copied_objects(base, index)[0] if row.line_is != "call site" or code not in ("COW303", "COW304")]
    if objects and objects[0].most:
        top = objects[0]
        how = _LINE_WORDS[top.line_is][1]
        text += f", {mib(top.most)} of it in {top.name} ({top.type}, {f'{how} {where(top.path, top.line)}' if top.path and top.line else 'module-level'})"
    frozen = report.variants.get("freeze")
    if frozen is not None and code in ("COW301", "COW302"):
        other = frozen.find(site.key)
        if other >= 0:
            text += f"; {mib(frozen.site_peak(other))} with gc.freeze()"
    return text


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


# -- HTML ---------------------------------------------------------------------

_COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#6e7781"]


def _series(run: RunView, site: Site) -> list[tuple[int, list[tuple[float, float]]]]:
    """(pid, [(seconds since it started, copied MiB)]) of each worker that served ``site`` in ``run``."""
    index = run.find(site.key)
    series = []
    for worker in run.workers:
        if index < 0 or index not in worker.sites or not worker.tracked.samples:
            continue
        tracked = worker.tracked
        start = tracked.samples[0][0]
        base = tracked.baseline_private
        series.append((worker.pid, _thin([(t - start, max(0, private - base) / MIB) for t, private, _ in tracked.samples], 400)))
    return series


def charts(runs: dict[str, RunView], site: Site) -> str:
    """One chart per run at ``site`` (the baseline and each variant), on one scale."""
    every = {name: _series(run, site) for name, run in runs.items()}
    points = [point for series in every.values() for _, line in series for point in line]
    max_t = max((t for t, _ in points), default=1.0) or 1.0
    max_y = (max((v for _, v in points), default=1.0) or 1.0) * 1.1
    return "".join(f'<figure class="run"><figcaption>{html.escape(name)}</figcaption>{chart(name, series, site, max_t, max_y)}</figure>' for name, series in every.items())


def chart(name: str, series: list[tuple[int, list[tuple[float, float]]]], site: Site, max_t: float, max_y: float, width: int = 540, height: int = 240) -> str:
    """An inline SVG: each worker's copied memory over time in one run."""
    pad_left, pad_bottom, pad_top, pad_right = 64, 36, 16, 16
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom

    def x(value: float) -> float:
        return pad_left + value / max_t * plot_w

    def y(value: float) -> float:
        return pad_top + plot_h - value / max_y * plot_h

    parts = [f'<svg class="chart" data-run="{html.escape(name)}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    parts.append(f"<title>Copied memory per worker over time at {html.escape(_site_label(site))}, {html.escape(name)} run</title>")
    parts.append(f'<rect x="{pad_left}" y="{pad_top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" stroke="#d0d7de"/>')
    for step in range(5):
        value = max_y * step / 4
        parts.append(f'<line x1="{pad_left}" x2="{pad_left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{pad_left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11">{value:.{0 if max_y >= 20 else 1}f}</text>')
        seconds = max_t * step / 4
        parts.append(f'<text x="{x(seconds):.1f}" y="{height - 18}" text-anchor="middle" font-size="11">{seconds:.{2 if max_t >= 0.1 else 3}f}</text>')
    parts.append(f'<text x="{pad_left + plot_w / 2}" y="{height - 4}" text-anchor="middle" font-size="11">seconds since the worker started</text>')
    parts.append(f'<text x="12" y="{pad_top + plot_h / 2}" transform="rotate(-90 12 {pad_top + plot_h / 2})" text-anchor="middle" font-size="11">copied MiB</text>')
    for number, (pid, points) in enumerate(series):
        color = _COLORS[number % len(_COLORS)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(v):.1f}" for i, (t, v) in enumerate(points))
        label = f"<title>{html.escape(name)} worker {pid}</title>"
        parts.append(f'<path class="series" data-run="{html.escape(name)}" data-pid="{pid}" d="{path}" fill="none" stroke="{color}" stroke-width="2">{label}</path>')
    if not series:
        parts.append(f'<text x="{pad_left + plot_w / 2}" y="{pad_top + plot_h / 2}" text-anchor="middle" font-size="13">no worker was sampled at this call site</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><svg width="28" height="8"><line x1="0" x2="28" y1="4" y2="4" stroke="{_COLORS[number % len(_COLORS)]}" stroke-width="2"/></svg> worker {pid}</li>'
        for number, (pid, _) in enumerate(series)
    )
    return "".join(parts) + f'<ul class="legend">{legend}</ul>'


def _thin(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most ``limit`` points, keeping each bucket's highest value (peaks stay visible)."""
    if len(points) <= limit:
        return points
    size = len(points) / limit
    thinned = []
    for bucket in range(limit):
        chunk = points[int(bucket * size) : int((bucket + 1) * size)] or [points[-1]]
        thinned.append(max(chunk, key=lambda point: point[1]))
    return thinned


# Click a column's header to sort its table (numbers by their value); the page reads the same without it.
_SORT_SCRIPT = """document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var column = Array.prototype.indexOf.call(th.parentNode.children, th);
    var down = th.getAttribute("aria-sort") !== "descending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var p = a.cells[column].dataset.sort, q = b.cells[column].dataset.sort;
      var order = (p !== undefined && q !== undefined) ? parseFloat(p) - parseFloat(q) : a.cells[column].textContent.localeCompare(b.cells[column].textContent);
      return down ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});"""


def _findings_grid(report: Report) -> Grid:
    from cowlint.report.sarif import DOCS_URI

    def link(finding: Finding) -> str:
        return f'<a href="{html.escape(DOCS_URI.format(code=finding.code))}">{html.escape(finding.code)} {html.escape(finding.name)}</a>'

    grid = Grid("Static findings and what the run showed of them", ["where", "rule", "call site", "verdict", "evidence"])
    for index, joined in enumerate(report.joined):
        site = report.baseline.sites[index]
        for finding in dict.fromkeys(joined.findings):
            confirmed = finding.code in joined.confirmed
            verdict = "confirmed" if confirmed else joined.verdicts.get(finding.code, NOT_OBSERVED)
            evidence = _evidence(report, index, site, finding.code) if confirmed else ""
            grid.add([f"{where(finding.path, finding.line)}:{finding.column}", link(finding), str(index + 1), verdict, evidence], css="confirmed" if confirmed else "unconfirmed")
    seen = {finding for joined in report.joined for finding in joined.findings}
    for finding in report.not_observed:
        if finding not in seen:
            grid.add([f"{where(finding.path, finding.line)}:{finding.column}", link(finding), "-", why_unconfirmed(report, finding), ""], css="unconfirmed")
    return grid


def html_page(report: Report) -> str:
    """One self-contained page (nothing loaded from anywhere; one inline script, allowed by its
    hash, sorts the tables): the tables, and per call site one chart per run and the copied objects
    per worker; rule names link to their pages; the terminal report at the end."""
    import base64
    import hashlib

    base = report.baseline
    runs = {"baseline": base, **report.variants}
    sections = []
    for index, site in enumerate(base.sites):
        objects = copied_objects_grid(base, only=index, per_worker=True)
        sections.append(
            f'<section class="site"><h2>{index + 1}. {html.escape(_site_label(site))} <code>{html.escape(site.api)}</code></h2>'
            f'<div class="runs">{charts(runs, site)}</div>{objects.html() if objects is not None else ""}</section>'
        )
    tables = [call_sites_grid(report).html() if base.sites else "<p>No dispatch to a process pool, executor or process was seen.</p>"]
    if base.workers or base.others:
        tables.append(processes_grid(base).html())
    if report.variants:
        variants = "".join(f"<li>{html.escape(line.strip())}</li>" for name in report.variants for line in _variant_lines(report, name))
        tables.append(counterfactuals_grid(report).html() + f"<ul>{variants}</ul>")
    findings = _findings_grid(report)
    if findings.rows:
        tables.append(findings.html())
    problems = "".join(f"<li>{html.escape(line.strip())}</li>" for line in _problems(base.result))
    digest = base64.b64encode(hashlib.sha256(_SORT_SCRIPT.encode()).digest()).decode()
    body = html.escape(text(report))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'">
<title>cowlint --verify {html.escape(report.target)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1f2328; background: #ffffff; }}
pre {{ background: #f6f8fa; padding: 12px; overflow-x: auto; font-size: 12px; }}
table {{ border-collapse: collapse; margin: 12px 0 20px; font-size: 13px; }}
caption {{ text-align: left; font-weight: 600; padding-bottom: 6px; max-width: 960px; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; cursor: pointer; white-space: nowrap; }}
th[aria-sort=descending]::after {{ content: " \\25BE"; }}
th[aria-sort=ascending]::after {{ content: " \\25B4"; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
tr.confirmed td {{ background: #dafbe1; }}
tr.unconfirmed td {{ background: #fff8c5; }}
.runs {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure.run {{ margin: 0; }}
figcaption {{ font-size: 12px; font-weight: 600; }}
.legend {{ list-style: none; padding: 0; font-size: 12px; display: flex; flex-wrap: wrap; gap: 12px; }}
section.site {{ margin-bottom: 28px; }}
</style></head>
<body>
<h1>cowlint --verify {html.escape(report.target)}</h1>
<p>{html.escape(describe_run(base.result))}</p>
<ul>{problems}</ul>
{''.join(tables)}
{''.join(sections)}
<details><summary>The terminal report</summary><pre>{body}</pre></details>
<script>{_SORT_SCRIPT}</script>
</body></html>
"""
