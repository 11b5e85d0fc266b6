"""Side by side: cowlint against flake8, ruff and fixit on the same files, in one run.

    python benchmarks/compare.py [PATH] [--runs 3]

PATH defaults to the running interpreter's standard library (site-packages is
excluded by every tool: cowlint and ruff by default, flake8 by flag). Each command runs
``--runs`` times; the table shows the median wall time, the peak resident
memory of the whole process tree (the sum over the command and all its
descendants, sampled every 20 ms with psutil: workers started by a forkserver
are grandchildren that getrusage never sees), and the ratio of each peer's
time to cowlint's. A peer that is not installed is listed
as such. ruff comes from the current environment (``pip install ruff``); flake8
(without the cowlint plugin) and fixit get their own virtualenvs under
benchmarks/.venvs/ on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

from peers import environment, flake8_alone

_MEASURE = """
import json, subprocess, sys, time
import psutil

start = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
root = psutil.Process(process.pid)
peak = 0
while process.poll() is None:
    total = 0
    try:
        for member in [root, *root.children(recursive=True)]:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    peak = max(peak, total)
    time.sleep(0.02)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "peak_mib": peak / 2**20, "code": process.returncode}))
"""


def _tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def commands(path: str, with_fixit: bool) -> list[tuple[str, list[str] | None]]:
    """(label, argv or None when not installed)."""
    cowlint, ruff = _tool("cowlint"), _tool("ruff")
    flake8 = str(flake8_alone())
    fixit = str(environment("fixit", "fixit", "fixit")) if with_fixit else None
    jobs = str(os.cpu_count() or 1)
    return [
        ("cowlint", [cowlint, "-q", "--output-format", "concise", path] if cowlint else None),
        ("ruff check --no-cache --select E,F", [ruff, "check", "--no-cache", "--select", "E,F", "--quiet", path] if ruff else None),
        ("ruff check --no-cache --select ALL", [ruff, "check", "--no-cache", "--select", "ALL", "--quiet", path] if ruff else None),
        (f"flake8 -j{jobs}", [flake8, f"-j{jobs}", "--extend-exclude", "site-packages", path] if flake8 else None),
        ("fixit lint", [fixit, "lint", path] if fixit else None),  # ~16 minutes on the stdlib
    ]


def measure(argv: list[str]) -> dict[str, float]:
    """One run of ``argv`` in a fresh process: wall seconds and peak MiB."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fixit", action="store_true", help="also time fixit (slow: ~16 minutes per run on the stdlib)")
    args = parser.parse_args()
    files = sum(1 for p in Path(args.path).rglob("*.py") if "site-packages" not in p.parts)
    print(f"{files} Python files under {args.path} (site-packages excluded by every tool); median of {args.runs} runs; {os.cpu_count()} cores\n")
    rows = []
    for label, argv in commands(args.path, args.fixit):
        if argv is None:
            rows.append((label, None, None))
            continue
        runs = [measure(argv) for _ in range(args.runs)]
        rows.append((label, statistics.median(r["wall"] for r in runs), max(r["peak_mib"] for r in runs)))
    base = rows[0][1] or 1.0
    print(f"{'command':<40} {'wall (s)':>9} {'peak tree (MiB)':>16} {'time / cowlint':>15}")
    for label, wall, peak in rows:
        if wall is None or peak is None:
            print(f"{label:<40} {'skipped (--fixit to include)':>9}")
        else:
            print(f"{label:<40} {wall:>9.2f} {peak:>16.1f} {wall / base:>14.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
