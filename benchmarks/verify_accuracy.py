"""How close ``cowlint --verify`` comes to the truth, on the test scenarios at full size.

    python benchmarks/verify_accuracy.py            # hundreds of MB per scenario (needs ~3 GB free)
    python benchmarks/verify_accuracy.py --small    # the sizes the tests use

Each scenario in ``fixtures/verify/`` prints what it expects (``expect
name=bytes``: the real pickle size, the bytes of the strings or lists a worker
touches); this script runs it under ``cowlint --verify --output-format json``
and prints measured against expected, as a ratio; for the copied-objects table, the share of
each worker's copy it puts in the scenario's global, and what mapping the objects costs (the same
run with ``--no-objects``). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "fixtures" / "verify"
MIB = 1 << 20


def verify(script: str, size: str, *extra: str) -> tuple[dict[str, Any], str]:
    command = [sys.executable, "-m", "cowlint", "--verify", str(SCENARIOS / script), "--output-format", "json", *extra, "--", size]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if not done.stdout.strip():
        raise SystemExit(f"{script}: cowlint printed no report\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), done.stderr


def expect(stderr: str, name: str) -> int:
    match = re.search(rf"expect {name}=(\d+)", stderr)
    if not match:
        raise SystemExit(f"the scenario printed no 'expect {name}=' line:\n{stderr[-2000:]}")
    return int(match.group(1))


def site_workers(report: dict[str, Any], script: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    for index, site in enumerate(report["call_sites"]):
        if site["path"].endswith(script) and "." in site["api"]:
            return site, [worker for worker in report["workers"] if worker["call_site_index"] == index]
    raise SystemExit(f"{script}: no dispatch call site in the report")


def named(site: dict[str, Any], name: str) -> dict[str, Any]:
    """The copied-objects row of ``name`` at a call site."""
    for entry in site.get("objects", []):
        if entry["name"] == name:
            return entry
    raise SystemExit(f"no object {name} in the call site's copied objects: {[entry['name'] for entry in site.get('objects', [])]}")


def script_peak(report: dict[str, Any]) -> int:
    """The script's own (the parent's) peak resident memory."""
    return max(process["peak_rss_bytes"] for process in report["processes"])


def row(scenario: str, metric: str, expected: float, measured: float, unit: str = "MiB") -> list[str]:
    ratio = f"{measured / expected:.2f}x" if expected else "-"
    if unit == "MiB":
        return [scenario, metric, f"{expected / MIB:,.1f}", f"{measured / MIB:,.1f}", ratio]
    if unit == "s":
        return [scenario, metric, f"{expected:,.2f}", f"{measured:,.2f}", ratio]
    return [scenario, metric, str(expected), str(measured), ratio]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="the sizes the tests use (tens of MB)")
    args = parser.parse_args()
    blob_mib, strings, lists = ("32", "1000000", "500000") if args.small else ("400", "5000000", "4000000")
    rows: list[list[str]] = []

    report, stderr = verify("self_method.py", blob_mib)
    site, workers = site_workers(report, "self_method.py")
    per_task = site["pickled_bytes_per_task"]["callable"] + site["pickled_bytes_per_task"]["args"]
    rows.append(row(f"self_method {blob_mib} MiB", "pickled per task", expect(stderr, "pickled_per_task"), per_task))
    blob = int(blob_mib) * MIB
    for worker in workers:
        rows.append(row(f"self_method {blob_mib} MiB", f"worker {worker['pid']} peak copied (1-2x blob)", blob, worker["peak_copied_bytes"]))

    report, stderr = verify("copy_on_read.py", strings)
    site, workers = site_workers(report, "copy_on_read.py")
    labels = named(site, "LABELS")
    for worker in workers:
        rows.append(row(f"copy_on_read {int(strings):,} strings", f"worker {worker['pid']} peak copied", expect(stderr, "strings"), worker["peak_copied_bytes"]))
        rows.append(row(f"copy_on_read {int(strings):,} strings", f"worker {worker['pid']}: of it in LABELS", worker["peak_copied_bytes"], labels["copied_bytes_per_worker"][str(worker["pid"])]))
    # what the object map costs: the same run without it
    plain, _ = verify("copy_on_read.py", strings, "--no-objects")
    walk = sum(entry["seconds"] for entry in report["run"]["object_maps"])
    rows.append(row(f"copy_on_read {int(strings):,} strings", "run seconds: --no-objects / with objects", plain["run"]["duration_seconds"], report["run"]["duration_seconds"], unit="s"))
    rows.append(row(f"copy_on_read {int(strings):,} strings", f"of which the walk ({sum(e['objects_walked'] for e in report['run']['object_maps']):,} objects)", 0, walk, unit="s"))
    rows.append(row(f"copy_on_read {int(strings):,} strings", "script peak RSS: --no-objects / with", script_peak(plain), script_peak(report)))
    traced, _ = verify("copy_on_read.py", strings, "--trace-allocations")
    rows.append(row(f"copy_on_read {int(strings):,} strings", "run seconds: --no-objects / --trace-allocations", plain["run"]["duration_seconds"], traced["run"]["duration_seconds"], unit="s"))
    rows.append(row(f"copy_on_read {int(strings):,} strings", "script peak RSS: --no-objects / --trace-allocations", script_peak(plain), script_peak(traced)))

    report, stderr = verify("gc_collect.py", lists, "--compare", "freeze")
    site, workers = site_workers(report, "gc_collect.py")
    frozen_site, frozen_workers = site_workers(report["counterfactuals"]["freeze"], "gc_collect.py")
    expected_lists = expect(stderr, "lists")
    without = max(worker["peak_copied_bytes"] for worker in workers)
    with_freeze = max(worker["peak_copied_bytes"] for worker in frozen_workers)
    rows.append(row(f"gc_collect {int(lists):,} lists", "largest worker copied, no freeze", expected_lists, without))
    rows.append(row(f"gc_collect {int(lists):,} lists", "largest worker copied, gc.freeze()", 0, with_freeze))
    rows.append(row(f"gc_collect {int(lists):,} lists", "of it in ROWS, no freeze", without, named(site, "ROWS")["copied_bytes"]))
    rows.append(row(f"gc_collect {int(lists):,} lists", "of it in ROWS, gc.freeze()", 0, named(frozen_site, "ROWS")["copied_bytes"]))
    saved = f"{without / with_freeze:.0f}x" if with_freeze >= MIB // 10 else f"all but {with_freeze / MIB:.2f} MiB"
    rows.append([f"gc_collect {int(lists):,} lists", "saved by gc.freeze()", ">= 5x", saved, ""])

    report, _ = verify("main_guard_global.py", "0", "--compare", "spawn,forkserver")
    site, _ = site_workers(report, "main_guard_global.py")
    outcomes = {name: variant["outcome"] for name, variant in report["counterfactuals"].items()}
    rows.append(["main_guard_global", "spawn / forkserver outcome", "differs / differs", f"{outcomes['spawn']} / {outcomes['forkserver']}", ""])
    rows.append(["main_guard_global", "COW201 confirmed", "yes", "yes" if "COW201" in site["confirmed"] else "no", ""])

    header = ["scenario", "measure", "expected (MiB)", "measured (MiB)", "ratio"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, *rows]:
        print("  ".join(cell.ljust(width) if i < 2 else cell.rjust(width) for i, (cell, width) in enumerate(zip(line, widths, strict=True))))


if __name__ == "__main__":
    main()
