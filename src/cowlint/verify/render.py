"""Render a verify report: a terminal table, JSON, and a self-contained HTML page."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence

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
        rows = []
        for index, site in enumerate(base.sites):
            joined = report.joined[index]
            codes = ", ".join(f"{code} {joined.verdicts.get(code, NOT_OBSERVED)}" for code in joined.codes)
            codes = codes or ("none predicted it" if index in report.unpredicted else "no finding")
            workers = base.site_workers(index)
            rows.append(
                [
                    str(index + 1),
                    _site_label(site),
                    site.api,
                    site.start_method or "?",
                    str(site.tasks),
                    mib(site.per_task(site.callable_bytes)),
                    mib(site.per_task(site.args_bytes)),
                    mib(site.results_bytes),
                    str(len(workers)),
                    mib(base.site_peak(index)),
                    codes,
                ]
            )
        out.append("Call sites (pickled per task; results in all; the largest worker's peak copied memory)")
        out.extend(table(["#", "call site", "api", "start", "tasks", "callable", "args", "results", "workers", "peak copied", "static findings"], rows, {0, 4, 5, 6, 7, 8, 9}))
    else:
        out.append("No dispatch to a process pool, executor or process was seen.")
    if base.workers or base.others:
        rows = []
        for worker in base.workers:
            tracked = worker.tracked
            site_number = str(worker.site + 1) if worker.site >= 0 else "-"
            rows.append([str(worker.pid), site_number, worker.start_method or "?", mib(tracked.baseline_private), mib(tracked.peak_private), mib(tracked.peak_copied)])
        for tracked in base.others:
            label = "script" if tracked.pid == base.result.root_pid else "helper"
            rows.append([str(tracked.pid), label, "", mib(tracked.baseline_private), mib(tracked.peak_private), ""])
        out.append("")
        out.append("Processes (private: not shared with any other process, sampled; copied: private over the post-fork baseline, or the kernel's high-water mark when a peak fell between samples)")
        out.extend(table(["pid", "site", "start", "baseline private", "peak private", "peak copied"], rows, {0, 3, 4, 5}))
    out.extend(_copied_objects(base))
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


#: rows of the copied-objects table per call site
TOP_OBJECTS = 6


def _copied_objects(run: RunView) -> list[str]:
    rows = []
    walked = sum(mapped.walked for mapped in run.result.maps.values())
    seconds = sum(mapped.seconds for mapped in run.result.maps.values())
    for index in range(len(run.sites)):
        objects, outside = copied_objects(run, index)
        if not objects:
            continue
        workers = len(run.site_workers(index))
        for row in objects[:TOP_OBJECTS]:
            share = f"{sum(1 for copied in row.copied.values() if copied >= WORKER_NOISE // 4)} of {workers}"
            built = where(row.path, row.line) if row.path and row.line else (where(row.path) if row.path else "?")
            rows.append([str(index + 1), row.name, row.type, f"{row.objects:,}", mib(row.bytes), mib(row.page_bytes), mib(row.most), share, built])
        rows.append([str(index + 1), "(outside these objects)", "", "", "", "", mib(outside), "", ""])
    if not rows:
        return []
    truncated = " (the walk stopped at its limit: some objects are not listed)" if any(mapped.truncated for mapped in run.result.maps.values()) else ""
    return [
        "",
        "Copied objects (the parent's module-level objects at the fork, and the instance behind a bound method a worker unpickled; "
        "the most of their pages one worker held as its own, read from /proc/PID/pagemap; "
        f"the walk took {seconds:.2f} s over {walked:,} objects in the parent){truncated}",
        *table(["site", "object", "type", "objects", "occupies", "on pages", "copied", "workers that copied", "bound at"], rows, {0, 3, 4, 5, 6}),
    ]


def _problems(result: RunResult) -> list[str]:
    lines = [f"  {problem}" for problem in result.problems]
    if result.status in ("failed", "error") or result.signal_name:
        tail = result.stderr_tail.decode("utf-8", "replace").strip().splitlines()[-6:]
        if tail:
            lines.append("  the script's last error output:")
            lines.extend(f"    | {line}" for line in tail)
    return lines


def _counterfactuals(report: Report) -> list[str]:
    base = report.baseline
    names = list(report.variants)
    header = ["#", "call site", "baseline", *names]
    rows = []
    for index, site in enumerate(base.sites):
        row = [str(index + 1), _site_label(site), mib(base.site_peak(index))]
        for name in names:
            run = report.variants[name]
            other = run.find(site.key)
            if other < 0:
                row.append("not reached")
                continue
            peak = run.site_peak(other)
            delta = peak - base.site_peak(index)
            row.append(f"{mib(peak)} ({'+' if delta >= 0 else '-'}{abs(delta) / MIB:.1f})")
        rows.append(row)
    rows.append(["", "outcome", "", *[report.outcomes[name] for name in names]])
    lines = ["Counterfactual runs (the largest worker's peak copied memory at each call site; change from the baseline in MiB)"]
    lines.extend(table(header, rows, {0, 2, *range(3, 3 + len(names))}))
    for name in names:
        run = report.variants[name]
        words = _outcome_words(report.outcomes[name], name)
        if report.outcomes[name] == "differs":
            words += f" (first difference: {difference(report.baseline.result, run.result)}; output that changes from run to run, such as timings, differs too)"
        lines.append(f"  {name}: {describe_run(run.result)}; {words}")
        lines.extend(f"  {line}" for line in _problems(run.result))
    return lines


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
    objects, _ = copied_objects(base, index)
    if objects and objects[0].most:
        top = objects[0]
        text += f", {mib(top.most)} of it in {top.name} ({top.type}, {where(top.path, top.line) if top.path and top.line else 'module-level'})"
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
_VARIANT_DASH = {"baseline": "", "freeze": "6 4", "spawn": "2 3", "forkserver": "10 3 2 3"}


def chart(runs: dict[str, RunView], site: Site, width: int = 720, height: int = 260) -> str:
    """An inline SVG: each worker's copied memory over time, one line style per run."""
    series: list[tuple[str, int, list[tuple[float, float]]]] = []
    for name, run in runs.items():
        index = run.find(site.key)
        for worker in run.workers:
            if index < 0 or index not in worker.sites:
                continue
            tracked = worker.tracked
            if not tracked.samples:
                continue
            start = tracked.samples[0][0]
            base = tracked.baseline_private
            points = [(t - start, max(0, private - base) / MIB) for t, private, _ in tracked.samples]
            series.append((name, worker.pid, _thin(points, 400)))
    pad_left, pad_bottom, pad_top, pad_right = 64, 36, 16, 16
    max_t = max((point[0] for _, _, points in series for point in points), default=1.0) or 1.0
    max_y = max((point[1] for _, _, points in series for point in points), default=1.0) or 1.0
    max_y *= 1.1
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom

    def x(value: float) -> float:
        return pad_left + value / max_t * plot_w

    def y(value: float) -> float:
        return pad_top + plot_h - value / max_y * plot_h

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    parts.append(f"<title>Copied memory per worker over time at {html.escape(_site_label(site))}</title>")
    parts.append(f'<rect x="{pad_left}" y="{pad_top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" stroke="#d0d7de"/>')
    for step in range(5):
        value = max_y * step / 4
        parts.append(f'<line x1="{pad_left}" x2="{pad_left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{pad_left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11">{value:.{0 if max_y >= 20 else 1}f}</text>')
        seconds = max_t * step / 4
        parts.append(f'<text x="{x(seconds):.1f}" y="{height - 18}" text-anchor="middle" font-size="11">{seconds:.{2 if max_t >= 0.1 else 3}f}</text>')
    parts.append(f'<text x="{pad_left + plot_w / 2}" y="{height - 4}" text-anchor="middle" font-size="11">seconds since the worker started</text>')
    parts.append(f'<text x="12" y="{pad_top + plot_h / 2}" transform="rotate(-90 12 {pad_top + plot_h / 2})" text-anchor="middle" font-size="11">copied MiB</text>')
    for number, (name, pid, points) in enumerate(series):
        color = _COLORS[number % len(_COLORS)]
        dash = _VARIANT_DASH.get(name, "")
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(v):.1f}" for i, (t, v) in enumerate(points))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<path class="series" data-run="{name}" data-pid="{pid}" d="{path}" fill="none" stroke="{color}" stroke-width="2"{dash_attr}><title>{name} worker {pid}</title></path>')
    if not series:
        parts.append(f'<text x="{pad_left + plot_w / 2}" y="{pad_top + plot_h / 2}" text-anchor="middle" font-size="13">no worker was sampled at this call site</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><svg width="28" height="8"><line x1="0" x2="28" y1="4" y2="4" stroke="{_COLORS[number % len(_COLORS)]}" stroke-width="2"'
        + (f' stroke-dasharray="{_VARIANT_DASH.get(name, "")}"' if _VARIANT_DASH.get(name) else "")
        + f"/></svg> {html.escape(name)} worker {pid}</li>"
        for number, (name, pid, _) in enumerate(series)
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


def html_page(report: Report) -> str:
    """One self-contained page (no scripts, no network): the tables and a chart per call site."""
    base = report.baseline
    runs = {"baseline": base, **report.variants}
    sections = []
    for index, site in enumerate(base.sites):
        sections.append(f'<section class="site"><h2>{index + 1}. {html.escape(_site_label(site))} <code>{html.escape(site.api)}</code></h2>{chart(runs, site)}</section>')
    body = html.escape(text(report))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>cowlint --verify {html.escape(report.target)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #1f2328; background: #ffffff; }}
pre {{ background: #f6f8fa; padding: 12px; overflow-x: auto; font-size: 12px; }}
.legend {{ list-style: none; padding: 0; font-size: 12px; display: flex; flex-wrap: wrap; gap: 12px; }}
section.site {{ margin-bottom: 28px; }}
</style></head>
<body>
<h1>cowlint --verify {html.escape(report.target)}</h1>
<p>{html.escape(describe_run(base.result))}</p>
{''.join(sections)}
<h2>Report</h2>
<pre>{body}</pre>
</body></html>
"""
