"""Side by side: cowlint against flake8, ruff and fixit on the same files, in one run.

    python benchmarks/bench_linters.py [PATH] [--runs 3] [--dense 5] [--with-fixit]

PATH defaults to the running interpreter's standard library (site-packages is
excluded by every tool: cowlint and ruff by default, flake8 by flag). ``--dense N``
checks instead a corpus of the files under PATH that mention pools, executors or
forks (those cowlint's byte prefilter lets through), copied N times. The runs are
interleaved (run 1 of every command, then run 2 of every command...), so a busy
moment of the machine falls on all rows alike. The table shows the median wall time
and its spread (min-max), the peak memory of the whole process tree sampled every
20 ms with psutil (workers started by a forkserver are grandchildren that getrusage
never sees) both as the sum of resident sizes (shared pages counted once per process
that maps them) and as the sum of proportional set sizes (PSS: each shared page split
between its processes, what the tree really occupies), and each time as a ratio to
cowlint's cold run. The ratios against flake8 and ruff are also taken run by run
(median and spread). Rows: cowlint cold (``--no-cache``), cowlint warm (every
file cached by an untimed first run), ruff ``--select E,F --no-cache``, flake8
with its default plugins, the same flake8 with the cowlint plugin, and fixit
with ``--with-fixit`` (~16 minutes per run on the standard library).

This script installs nothing. cowlint, ruff and flake8 + the cowlint plugin come
from the running environment (``pip install -e '.[test]' ruff``); flake8 without
the plugin and fixit from the virtualenvs ``python benchmarks/peers.py`` makes
under benchmarks/.venvs/ (or pass ``--flake8`` and ``--fixit`` paths). A missing
tool is listed as such.
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
import tempfile
from pathlib import Path

from peers import VENVS

_MEASURE = """
import json, subprocess, sys, time
import psutil

start = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
root = psutil.Process(process.pid)
peak = peak_pss = 0
while process.poll() is None:
    total = total_pss = 0
    try:
        for member in [root, *root.children(recursive=True)]:
            try:
                total += member.memory_info().rss
                total_pss += getattr(member.memory_full_info(), "pss", 0)
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    peak, peak_pss = max(peak, total), max(peak_pss, total_pss)
    time.sleep(0.02)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "peak_mib": peak / 2**20, "peak_pss_mib": peak_pss / 2**20, "code": process.returncode}))
"""


def _tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def commands(path: str, args: argparse.Namespace) -> list[tuple[str, list[str] | None]]:
    """(label, argv or None when not installed)."""
    cowlint, ruff = _tool("cowlint"), _tool("ruff")
    flake8_plugin = _tool("flake8") if _has_plugin() else None
    flake8 = args.flake8 or _existing(VENVS / "flake8-alone" / "bin" / "flake8")
    fixit = (args.fixit or _existing(VENVS / "fixit" / "bin" / "fixit")) if args.with_fixit else None
    jobs = str(os.cpu_count() or 1)
    return [
        ("cowlint (cold: --no-cache)", [cowlint, "--no-cache", "-q", "--output-format", "concise", path] if cowlint else None),
        ("cowlint (warm: every file cached)", [cowlint, "-q", "--output-format", "concise", path] if cowlint else None),
        ("ruff check --no-cache --select E,F", [ruff, "check", "--no-cache", "--select", "E,F", "--quiet", path] if ruff else None),
        (f"flake8 -j{jobs} (default plugins)", [flake8, f"-j{jobs}", "--extend-exclude", "site-packages", path] if flake8 else None),
        (f"flake8 -j{jobs} + cowlint plugin", [flake8_plugin, f"-j{jobs}", "--extend-exclude", "site-packages", "--extend-select", "COW", path] if flake8_plugin else None),
        ("fixit lint", [fixit, "lint", path] if fixit else None),
    ]


def _existing(path: Path) -> str | None:
    return str(path) if path.exists() else None


def _has_plugin() -> bool:
    """Whether the running environment's flake8 loads the cowlint plugin."""
    from importlib.metadata import entry_points

    return any(ep.name == "COW" for ep in entry_points(group="flake8.extension")) and _tool("flake8") is not None


def measure(argv: list[str], cwd: str) -> dict[str, float]:
    """One run of ``argv`` in a fresh process: wall seconds and peak MiB."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=True, cwd=cwd)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def dense_corpus(path: str, copies: int, into: Path) -> int:
    """The files under ``path`` that cowlint's byte prefilter lets through, ``copies`` times under ``into``."""
    from cowlint import Config
    from cowlint.engine.module.check import plan_file

    count = 0
    for source in sorted(Path(path).rglob("*.py")):
        if "site-packages" in source.parts or not source.is_file():
            continue
        data = source.read_bytes()
        if plan_file(data, str(source), Config(), True)[1] is None:
            continue
        count += 1
        for copy in range(copies):
            target = into / f"copy{copy}" / source.relative_to(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return count


def _spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dense", type=int, default=0, metavar="N", help="check the files that mention pools, executors or forks, copied N times")
    parser.add_argument("--with-fixit", action="store_true", help="also time fixit (slow: ~16 minutes per run on the stdlib)")
    parser.add_argument("--flake8", help="a flake8 without the cowlint plugin (default: benchmarks/.venvs/flake8-alone)")
    parser.add_argument("--fixit", help="the fixit to time (default: benchmarks/.venvs/fixit)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cowlint-bench-") as cwd:  # cowlint's cache goes here
        path = args.path
        if args.dense:
            corpus = Path(cwd) / "dense"
            found = dense_corpus(args.path, args.dense, corpus)
            path = str(corpus)
            print(f"dense corpus: the {found} files under {args.path} that mention pools, executors or forks, x{args.dense}")
        files = sum(1 for p in Path(path).rglob("*.py") if "site-packages" not in p.parts)
        print(f"{files} Python files under {path} (site-packages excluded by every tool); {args.runs} interleaved runs; {os.cpu_count()} cores\n")
        rows = [(label, argv) for label, argv in commands(path, args)]
        for label, argv in rows:
            if argv is not None and "warm" in label:
                measure(argv, cwd)  # fill the cache
        runs: dict[str, list[dict[str, float]]] = {label: [] for label, argv in rows if argv is not None}
        for _ in range(args.runs):
            for label, argv in rows:
                if argv is not None:
                    runs[label].append(measure(argv, cwd))
    cold = runs.get(rows[0][0])
    print(f"{'command':<40} {'wall (s): median (min-max)':>27} {'peak RSS sum':>13} {'peak PSS sum':>13} {'time / cowlint cold':>20}")
    for label, argv in rows:
        if argv is None:
            hint = "--with-fixit to include" if label.startswith("fixit") else "not installed (python benchmarks/peers.py)"
            print(f"{label:<40} {hint}")
            continue
        walls = [r["wall"] for r in runs[label]]
        base = statistics.median(r["wall"] for r in cold) if cold else 1.0
        rss = max(r["peak_mib"] for r in runs[label])
        pss = max(r["peak_pss_mib"] for r in runs[label])
        print(f"{label:<40} {_spread(walls):>27} {rss:>9.1f} MiB {pss:>9.1f} MiB {statistics.median(walls) / base:>19.2f}x")
    if cold:
        print()
        for label, argv in rows[1:]:
            if argv is None or "warm" in label:
                continue
            ratios = [other["wall"] / mine["wall"] for mine, other in zip(cold, runs[label], strict=True)]
            print(f"{label} / cowlint cold, run by run: {_spread(ratios)}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
